"""The compliance engine: may this number be dialled now, and which rules say so?

:func:`evaluate` is called before every dial. It runs every rule of the campaign (none is skipped
once one blocks, so the decision shows the full picture), appends the
:class:`~centrale.outbound.decision.Decision` to the audit log and returns it. The current time is
an argument — the engine never reads a clock — so simulations and tests are exact and replayable.

Typical use by a dialer::

    decision = evaluate(contact, settings, now, state)
    if decision.allowed:
        state.record_attempt(decision)
        ...  # dial; afterwards
        state.record_call(settings, contact.phone, answered_at, answered_by_person=True,
                          agent_connect_delay=0.8)
"""

from __future__ import annotations

from datetime import datetime

from centrale.outbound.contact import Contact
from centrale.outbound.decision import Decision, RuleOutcome, Verdict
from centrale.outbound.phone import is_e164, time_zones_for
from centrale.outbound.rules import DialContext, ObligationRule, build_rules
from centrale.outbound.settings import CampaignCompliance
from centrale.outbound.state import ComplianceState, requires_information_message

__all__ = ["evaluate", "requires_information_message"]


def evaluate(
    target: Contact | str,
    settings: CampaignCompliance,
    now: datetime,
    state: ComplianceState,
    *,
    agent_reserved: bool = False,
) -> Decision:
    """Decide whether ``target`` (a contact, or an E.164 number) may be dialled at ``now``.

    ``agent_reserved`` tells that an agent is already waiting for this call (progressive or
    preview dialling, or a predictive dialer guaranteeing an agent), so it cannot be abandoned.
    The decision is appended to ``state.audit``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("evaluate() needs a timezone-aware 'now'")
    if isinstance(target, Contact):
        number, zones, contact, key = target.phone, target.time_zones, target, target.key
    else:
        number, zones, contact, key = target, time_zones_for(target), None, target
    outcomes: list[RuleOutcome] = []
    obligations: list[str] = []
    if not is_e164(number):
        outcomes.append(
            RuleOutcome(
                "engine.number",
                "number",
                Verdict.BLOCK,
                f"{number!r} is not a valid number in E.164 form",
                "centrale: only normalised numbers are dialled",
            )
        )
    else:
        ctx = DialContext(number, zones, contact, key, settings, now, state, agent_reserved)
        for rule in build_rules(settings):
            outcomes.append(rule.check(ctx))
            if isinstance(rule, ObligationRule):
                obligations.append(rule.obligation)
    decision = Decision(
        sequence=state.next_sequence(),
        campaign_id=settings.campaign_id,
        account_id=settings.account_id,
        preset_id=settings.preset.id,
        number=number,
        contact_key=key,
        at=now,
        allowed=all(o.verdict is Verdict.ALLOW for o in outcomes),
        outcomes=tuple(outcomes),
        obligations=tuple(obligations),
    )
    state.audit.append(decision)
    return decision
