"""An outbound campaign, sans-I/O: which lead to dial next, and what an outcome does to it.

Theory of operation
-------------------
A :class:`Campaign` holds one :class:`~centrale.outbound.leads.Lead` per imported contact and is
driven by its dialer with explicit times, like the engine (``Engine.handle(event, now)``): it
reads no clock, does no I/O and draws random numbers only from the generator it is given.

* **Selection.** :meth:`Campaign.next_leads` (progressive, predictive, agentless) and
  :meth:`Campaign.preview` (preview) take the next leads in order: due callbacks first (earliest
  first; a personal callback only for its agent), then the due leads of the lists interleaved by
  the list mix, each list in the campaign's lead order. Leads not due yet (retry delay, callback
  time), in progress, done or exhausted are skipped. Every candidate is put to the compliance
  engine (:func:`~centrale.outbound.compliance.evaluate`) right before it is dialled; an allowed
  dial is recorded with ``record_attempt``, a blocked lead keeps the reason and is looked at again
  ``blocked_recheck`` later (calling hours open, a frequency cap runs out) — it is never lost.
* **Outcomes.** :meth:`Campaign.record_outcome` settles a dial: unanswered outcomes follow the
  retry rules, an answered call its disposition's category (a sale or a refusal ends the lead, a
  do-not-call request goes to the do-not-call list at once, a callback is scheduled).
* **Position.** :meth:`Campaign.to_state` is the whole position — every lead's state, the list
  mix's running weights, the disposition log — as JSON-ready values; :meth:`Campaign.from_state`
  restores it exactly. Leads that were in progress stay in progress after a restore, so a restart
  never dials them a second time: the server reports their outcome when it learns it.

The compliance state (do-not-call lists, attempt history, audit) belongs to the deployment, not
to one campaign, and is passed in; persisting it is the storage issue's concern. The pacing
policy's learnt estimates are not part of the position either: after a restart it learns again,
starting cautiously (progressive) as it does at the start of a shift.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from centrale.outbound.answering_machine import MachineAction, MachineHandling, recorded_message_law
from centrale.outbound.callbacks import Callback
from centrale.outbound.campaign_config import (
    CampaignMode,
    CampaignSettings,
    PreviewTimeout,
    pacing_policy,
)
from centrale.outbound.campaign_errors import CampaignError, FormInvalid
from centrale.outbound.compliance import evaluate
from centrale.outbound.contact import Contact
from centrale.outbound.decision import Decision
from centrale.outbound.dispositions import DispositionCategory, DispositionRecord
from centrale.outbound.dnc import DncLevel, DncScope
from centrale.outbound.fields import CONTACT_TEXT_FIELDS, contact_value
from centrale.outbound.leads import Lead, LeadStatus, ListMix, OrderBy
from centrale.outbound.mapping import CUSTOM_PREFIX
from centrale.outbound.pacing import Observation, PacingPolicy, PacingSnapshot
from centrale.outbound.results import ContactResult, export_results
from centrale.outbound.retry import Outcome, RetryKind, retry_kind
from centrale.outbound.rules import prior_consent
from centrale.outbound.state import ComplianceState, MessageLeft
from centrale.outbound.survey import AgentlessPlan
from centrale.outbound.targets import IsoWeek, Progress, progress

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Dial:
    """A dial the dialer must place now: the compliance decision allowed it and it is recorded.

    ``attempt`` is the dial's number within the lead's current cycle. ``agent_id`` is set when
    an agent is already assigned (preview, a personal callback). ``agentless`` carries the message
    and survey of an agentless campaign.
    """

    lead_id: str
    contact: Contact
    number: str
    caller_id: str
    ring_timeout_seconds: float
    attempt: int
    callback: bool
    agent_id: str | None
    decision: Decision
    agentless: AgentlessPlan | None = None

    @property
    def obligations(self) -> tuple[str, ...]:
        """Duties the call carries (offer the right to object, information message on abandon)."""
        return self.decision.obligations


@dataclass(frozen=True, slots=True)
class Blocked:
    """A dial the compliance engine refused; the lead is looked at again from ``retry_at``."""

    lead_id: str
    reasons: tuple[str, ...]
    retry_at: datetime


@dataclass(frozen=True, slots=True)
class PreviewOffer:
    """A lead shown to an agent, who starts the call (:meth:`Campaign.start_call`) before ``deadline``."""

    lead_id: str
    agent_id: str
    contact: Contact
    script: str
    deadline: datetime
    callback: bool


@dataclass(frozen=True, slots=True)
class PreviewExpired:
    """A preview whose agent did not start the call in time: taken back, or dialled (``result``)."""

    lead_id: str
    agent_id: str
    result: Dial | Blocked | None


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    """What an outcome did to its lead."""

    lead_id: str
    status: LeadStatus
    due_at: datetime | None
    reason: str
    category: DispositionCategory | None = None
    information_message_required: bool = False
    """The call was abandoned and the preset requires the information message on it."""
    message_left: bool = False
    """A recorded message was left on an answering machine (recorded in ``messages_left``)."""


class Campaign:
    """One outbound campaign's leads and position (see the module docstring)."""

    def __init__(
        self,
        settings: CampaignSettings,
        contacts: Mapping[str, Sequence[Contact]],
        compliance: ComplianceState,
        *,
        rng: random.Random | None = None,
    ) -> None:
        names = [source.name for source in settings.lists]
        if set(contacts) != set(names):
            raise CampaignError(
                f"contacts given for lists {sorted(contacts)}, the campaign has {sorted(names)}",
                code="campaign.lists",
            )
        if settings.lead_order.by is OrderBy.RANDOM and rng is None:
            raise CampaignError("random lead order needs a seeded random.Random", code="campaign.rng")
        self.settings = settings
        self.compliance = compliance
        self.leads: dict[str, Lead] = {}
        self._by_list: dict[str, list[Lead]] = {}
        for name in names:
            members = []
            for position, contact in enumerate(contacts[name]):
                # Shuffling by a key drawn per lead (rather than shuffling a list) keeps the order
                # in the lead state, so a restored campaign continues in the same order.
                key = rng.random() if settings.lead_order.by is OrderBy.RANDOM and rng is not None else 0.0
                lead = Lead(f"{name}:{contact.row}", name, contact, position, key)
                if lead.id in self.leads:
                    raise CampaignError(f"list {name!r} has row {contact.row} twice", code="campaign.lists")
                self.leads[lead.id] = lead
                members.append(lead)
            self._by_list[name] = members
        self.mix = ListMix({source.name: source.weight for source in settings.lists})
        self.records: list[DispositionRecord] = []
        self.pacing: PacingPolicy | None = (
            pacing_policy(settings.pacing)
            if settings.mode in (CampaignMode.PROGRESSIVE, CampaignMode.PREDICTIVE)
            else None
        )

    # -- pacing -------------------------------------------------------------------------------------

    @property
    def mode(self) -> CampaignMode:
        return self.settings.mode

    def lines_to_dial(self, snapshot: PacingSnapshot, now_seconds: float) -> int:
        """How many leads to ask :meth:`next_leads` for now.

        Progressive and predictive campaigns ask their pacing policy; an agentless campaign keeps
        up to ``max_lines`` calls going; a preview campaign dials when its agents say so (0).
        """
        if self.pacing is not None:
            return self.pacing.lines_to_dial(snapshot, now_seconds)
        if self.settings.agentless is not None:
            return max(0, self.settings.agentless.max_lines - len(self.in_progress()))
        return 0

    def observe(self, observation: Observation) -> None:
        """Pass a finished dial, talk or wrap-up on to the pacing policy."""
        if self.pacing is not None:
            self.pacing.observe(observation)

    # -- selection ----------------------------------------------------------------------------------

    def active(self, now: datetime) -> bool:
        """True inside the campaign's active dates and hours."""
        return self.settings.active.active(now)

    def next_leads(self, n: int, now: datetime, *, agent_id: str | None = None) -> list[Dial]:
        """Take up to ``n`` leads to dial now, in order, each allowed by compliance and recorded.

        ``agent_id`` names the agent the calls are for when one is known (a progressive dialer
        serving a free agent): only then are that agent's personal callbacks included.
        """
        _require_aware(now)
        if self.mode is CampaignMode.PREVIEW:
            raise CampaignError(
                "a preview campaign dials through preview() and start_call()", code="campaign.mode"
            )
        dials: list[Dial] = []
        if n <= 0 or not self.active(now):
            return dials
        candidates = self._candidates(now, agent_id)
        for lead, decision in candidates:
            dials.append(self._dial(lead, decision, now, agent_id))
            if len(dials) >= n:
                break
        candidates.close()
        return dials

    def preview(self, agent_id: str, now: datetime) -> PreviewOffer | None:
        """Show the next lead to ``agent_id`` (preview mode), or None if nothing is callable now."""
        _require_aware(now)
        self._require_mode(CampaignMode.PREVIEW)
        if not self.active(now):
            return None
        candidates = self._candidates(now, agent_id)
        for lead, _ in candidates:
            candidates.close()
            lead.status = LeadStatus.PREVIEWING
            lead.agent_id = agent_id
            lead.preview_deadline = now + self.settings.preview_timeout
            return PreviewOffer(
                lead.id,
                agent_id,
                lead.contact,
                self.script_for(lead.id),
                lead.preview_deadline,
                lead.callback is not None,
            )
        return None

    def start_call(self, lead_id: str, agent_id: str, now: datetime) -> Dial | Blocked:
        """The agent starts the call of a lead they preview: check compliance again and dial."""
        _require_aware(now)
        lead = self._lead(lead_id)
        if lead.status is not LeadStatus.PREVIEWING or lead.agent_id != agent_id:
            raise CampaignError(
                f"lead {lead_id} is not previewed by agent {agent_id}", code="campaign.not_previewed"
            )
        lead.preview_deadline = None
        # Time has passed since the preview was offered: the calling hours may have closed.
        decision = self._evaluate(lead, now, agent_id)
        if not decision.allowed:
            lead.status = LeadStatus.READY
            lead.agent_id = None
            return self._blocked(lead, decision, now)
        return self._dial(lead, decision, now, agent_id)

    def expire_previews(self, now: datetime) -> list[PreviewExpired]:
        """Handle previews whose deadline has passed: take the lead back, or dial it for the agent."""
        _require_aware(now)
        expired = sorted(
            (
                lead
                for lead in self.leads.values()
                if lead.status is LeadStatus.PREVIEWING
                and lead.preview_deadline is not None
                and lead.preview_deadline <= now
            ),
            key=lambda lead: (lead.preview_deadline, lead.id),
        )
        out: list[PreviewExpired] = []
        for lead in expired:
            agent = lead.agent_id or ""
            if self.settings.on_preview_timeout is PreviewTimeout.DIAL:
                out.append(PreviewExpired(lead.id, agent, self.start_call(lead.id, agent, now)))
            else:
                lead.status = LeadStatus.READY
                lead.agent_id = None
                lead.preview_deadline = None
                lead.reason = f"preview by {agent} timed out"
                out.append(PreviewExpired(lead.id, agent, None))
        return out

    def in_progress(self) -> list[str]:
        """Leads dialled whose outcome is not known yet (after a restore: to be resolved)."""
        return [lead.id for lead in self.leads.values() if lead.status is LeadStatus.IN_PROGRESS]

    def _candidates(
        self, now: datetime, agent_id: str | None
    ) -> Generator[tuple[Lead, Decision], None, None]:
        """Callable leads in dialling order, lazily: each is evaluated only when asked for."""
        self._recycle(now)
        callbacks = sorted(
            (
                lead
                for lead in self.leads.values()
                if lead.callback is not None
                and lead.due(now)
                and lead.callback.due(now)
                and lead.callback.for_agent(agent_id)
            ),
            key=lambda lead: (lead.callback.at if lead.callback else now, lead.id),
        )
        for lead in callbacks:
            decision = self._check(lead, now, agent_id)
            if decision is not None:
                yield lead, decision
        order = self.settings.lead_order
        queues = {
            name: iter(
                sorted(
                    (lead for lead in members if lead.callback is None and lead.due(now)),
                    key=lambda lead: order.key(lead, now),
                )
            )
            for name, members in self._by_list.items()
        }
        eligible = set(queues)
        while eligible:
            before = self.mix.to_state()
            name = self.mix.pick(eligible)
            for lead in queues[name]:
                decision = self._check(lead, now, agent_id)
                if decision is not None:
                    yield lead, decision
                    break
            else:
                # Nothing callable left in this list now: the pick did not happen, for the mix.
                self.mix.restore(before)
                eligible.discard(name)

    def _recycle(self, now: datetime) -> None:
        recycling = self.settings.recycling
        if recycling is None:
            return
        for lead in self.leads.values():
            if (
                lead.status is LeadStatus.EXHAUSTED
                and lead.cycle < recycling.max_cycles
                and lead.exhausted_at is not None
                and lead.exhausted_at + recycling.after <= now
            ):
                lead.status = LeadStatus.READY
                lead.cycle += 1
                lead.attempts = lead.callback_dials = lead.callbacks_scheduled = 0
                lead.outcomes = {}
                lead.due_at = lead.exhausted_at = None
                lead.reason = f"recycled (cycle {lead.cycle + 1})"

    def _evaluate(self, lead: Lead, now: datetime, agent_id: str | None) -> Decision:
        # Only a predictive dial without a known agent can find no agent when answered.
        reserved = self.mode is not CampaignMode.PREDICTIVE or agent_id is not None
        return evaluate(lead.contact, self.settings.compliance, now, self.compliance, agent_reserved=reserved)

    def _check(self, lead: Lead, now: datetime, agent_id: str | None) -> Decision | None:
        decision = self._evaluate(lead, now, agent_id)
        if decision.allowed:
            return decision
        self._blocked(lead, decision, now)
        return None

    def _blocked(self, lead: Lead, decision: Decision, now: datetime) -> Blocked:
        reasons = tuple(f"{o.rule_id}: {o.reason}" for o in decision.blocked_by)
        lead.reason = "blocked by " + "; ".join(reasons)
        lead.due_at = now + self.settings.blocked_recheck
        return Blocked(lead.id, reasons, lead.due_at)

    def _dial(self, lead: Lead, decision: Decision, now: datetime, agent_id: str | None) -> Dial:
        self.compliance.record_attempt(decision)
        callback = lead.callback is not None
        if lead.callback is not None and lead.callback.agent_id is not None:
            agent_id = lead.callback.agent_id
        lead.status = LeadStatus.IN_PROGRESS
        lead.attempts += 1
        lead.total_attempts += 1
        lead.callback_dials += int(callback)
        lead.dialled_callback = callback
        lead.callback = None
        lead.due_at = None
        lead.last_attempt_at = now
        lead.agent_id = agent_id
        lead.reason = ""
        compliance = self.settings.compliance
        return Dial(
            lead.id,
            lead.contact,
            lead.contact.phone,
            compliance.caller_id or "",
            compliance.ring_timeout_seconds,
            lead.attempts,
            callback,
            agent_id,
            decision,
            self.settings.agentless,
        )

    # -- outcomes -----------------------------------------------------------------------------------

    def record_outcome(
        self,
        lead_id: str,
        outcome: Outcome | str,
        at: datetime,
        *,
        disposition: str | None = None,
        agent_id: str | None = None,
        callback_at: datetime | None = None,
        personal_callback: bool = False,
        form: Mapping[str, str] | None = None,
        keys: Mapping[str, str] | None = None,
        agent_connect_delay: float | None = 0.0,
        machine: bool = False,
    ) -> OutcomeResult:
        """Settle the dial of ``lead_id``.

        An answered call needs a ``disposition`` (one of the campaign's codes), except in an
        agentless campaign, which reports the survey ``keys`` pressed instead (question id → key).
        A callback disposition schedules a callback at ``callback_at`` (default: the callback
        rule's delay), for ``agent_id`` alone if ``personal_callback``. ``form`` holds the form's
        values as typed; invalid values raise :class:`FormInvalid` with one error per field. The
        report is checked completely before anything changes: a rejected report changes nothing.

        The call is also reported to the compliance engine (``record_call``) for the abandoned-call
        rate: ``agent_connect_delay`` is the seconds an answered caller waited for the agent.

        Answering machines (see :meth:`machine_handling`): ``machine`` — the dial ended as
        ``machine`` (hung up), or as ``machine_message`` (the recorded message was left; the lead is
        done unless ``answering_machine.retry``), or as ``answered`` with ``machine=True`` (passed to
        an agent; the disposition settles it, and it is no live call for the abandoned-call rate).
        """
        _require_aware(at)
        lead = self._lead(lead_id)
        if lead.status is not LeadStatus.IN_PROGRESS:
            raise CampaignError(
                f"lead {lead_id} is not being dialled ({lead.status.value})", code="campaign.not_in_progress"
            )
        outcome = Outcome(outcome)
        agent = agent_id or lead.agent_id
        consent = self._check_machine_report(lead, outcome, machine, at)
        category = self._category(outcome, disposition)
        if callback_at is not None:
            _require_aware(callback_at)
            if category is not DispositionCategory.CALLBACK:
                raise CampaignError("callback_at goes with a callback disposition", code="campaign.callback")
        if personal_callback and (category is not DispositionCategory.CALLBACK or agent is None):
            raise CampaignError(
                "a personal callback needs a callback disposition and an agent", code="campaign.callback"
            )
        form_values = self._form(form)
        answers = self._answers(keys)

        assessment = None
        compliance = self.settings.compliance
        phone = lead.contact.phone
        if outcome is Outcome.ANSWERED and machine:
            # A machine passed to an agent: nobody waits in silence, it is no live call.
            self.compliance.record_call(compliance, phone, at, answered_by_person=False)
        elif outcome is Outcome.ANSWERED:
            assessment = self.compliance.record_call(
                compliance, phone, at, answered_by_person=True, agent_connect_delay=agent_connect_delay
            )
        elif outcome is Outcome.ABANDONED:
            assessment = self.compliance.record_call(compliance, phone, at, answered_by_person=True)
        elif outcome in (Outcome.MACHINE, Outcome.MACHINE_MESSAGE):
            assessment = self.compliance.record_call(compliance, phone, at, answered_by_person=False)
        if outcome is Outcome.MACHINE_MESSAGE:
            plan = self.settings.answering_machine
            self.compliance.record_message_left(
                MessageLeft(
                    at,
                    phone,
                    lead.contact.key,
                    self.settings.id,
                    self.settings.account_id,
                    plan.message,
                    consent,
                )
            )

        lead.last_outcome = "machine_to_agent" if machine else outcome.value
        lead.agent_id = None
        lead.form.update(form_values)
        lead.answers.update(answers)
        if outcome is Outcome.MACHINE_MESSAGE and not self.settings.answering_machine.retry:
            lead.status = LeadStatus.DONE
            lead.due_at = None
            lead.reason = "message left on the answering machine"
        elif outcome is Outcome.MACHINE_MESSAGE:
            self._retry(lead, retry_kind(outcome), at)
            lead.reason = f"message left on the answering machine; {lead.reason}"
        elif category is None:
            self._retry(lead, retry_kind(outcome), at)
        else:
            lead.disposition = disposition or category.value
            if disposition is not None:
                self.records.append(DispositionRecord(at, lead.id, agent or "", disposition, category))
            self._settle(lead, category, at, callback_at, agent if personal_callback else None)
        return OutcomeResult(
            lead.id,
            lead.status,
            lead.due_at,
            lead.reason,
            category,
            assessment is not None and assessment.information_message_required,
            outcome is Outcome.MACHINE_MESSAGE,
        )

    # -- answering machines -------------------------------------------------------------------------

    def machine_handling(self, lead_id: str, at: datetime) -> MachineHandling:
        """What to do now that an answering machine picked up the dial of ``lead_id``.

        The campaign's ``answering_machine.action``, except that a recorded message is left only
        for a lead whose consent covers the campaign at ``at`` (recorded messages need it under
        every preset's law); without it the answer is ``hang_up``, with the reason. Changes nothing.
        """
        _require_aware(at)
        lead = self._lead(lead_id)
        if lead.status is not LeadStatus.IN_PROGRESS:
            raise CampaignError(
                f"lead {lead_id} is not being dialled ({lead.status.value})", code="campaign.not_in_progress"
            )
        plan = self.settings.answering_machine
        if plan.action is not MachineAction.LEAVE_MESSAGE:
            return MachineHandling(lead_id, plan.action)
        if self._recorded_message_consent(lead, at) is None:
            law = recorded_message_law(self.settings.compliance.preset.jurisdiction)
            return MachineHandling(
                lead_id,
                MachineAction.HANG_UP,
                reason=f"no message left: no consent to recorded messages ({law})",
            )
        return MachineHandling(lead_id, MachineAction.LEAVE_MESSAGE, plan.message)

    def _recorded_message_consent(self, lead: Lead, at: datetime) -> str | None:
        """The consent that allows a recorded message to the lead at ``at``, in words, or None."""
        contact = lead.contact
        return prior_consent(self.compliance, contact.phone, contact, self.settings.compliance, at)

    def _check_machine_report(self, lead: Lead, outcome: Outcome, machine: bool, at: datetime) -> str:
        """Refuse a machine report the campaign's setting does not allow; the consent relied on."""
        action = self.settings.answering_machine.action
        if machine and (outcome is not Outcome.ANSWERED or action is not MachineAction.PASS_TO_AGENT):
            raise CampaignError(
                f"machine=True reports a machine passed to an agent (answered, action pass_to_agent), "
                f"not {outcome.value} with action {action.value}",
                code="campaign.machine",
            )
        if outcome is not Outcome.MACHINE_MESSAGE:
            return ""
        if action is not MachineAction.LEAVE_MESSAGE:
            raise CampaignError(
                "outcome machine_message needs answering_machine.action leave_message "
                f"(it is {action.value})",
                code="campaign.machine",
            )
        consent = self._recorded_message_consent(lead, at)
        if consent is None:
            raise CampaignError(
                f"lead {lead.id} has no consent to recorded messages; hang up instead (machine)",
                code="campaign.machine",
            )
        return consent

    def _category(self, outcome: Outcome, disposition: str | None) -> DispositionCategory | None:
        if disposition is not None:
            found = self.settings.dispositions.get(disposition)
            if found is None:
                known = ", ".join(self.settings.dispositions) or "none"
                raise CampaignError(
                    f"unknown disposition {disposition!r} (known: {known})", code="campaign.disposition"
                )
            if outcome is not Outcome.ANSWERED:
                raise CampaignError(
                    f"disposition {disposition!r} needs an answered call, not {outcome.value}",
                    code="campaign.disposition",
                )
            return DispositionCategory(found.category)
        if outcome is not Outcome.ANSWERED:
            return None
        if self.mode is CampaignMode.AGENTLESS:
            return DispositionCategory.COMPLETED
        raise CampaignError("an answered call needs a disposition", code="campaign.disposition")

    def _form(self, submitted: Mapping[str, str] | None) -> dict[str, str]:
        if submitted is None:
            return {}
        if self.settings.form is None:
            raise CampaignError("the campaign has no form", code="campaign.form")
        result = self.settings.form.validate(submitted)
        if not result.valid:
            raise FormInvalid(result.errors)
        return {
            name: value if isinstance(value, str) else str(value) for name, value in result.values.items()
        }

    def _answers(self, keys: Mapping[str, str] | None) -> dict[str, str]:
        if keys is None:
            return {}
        plan = self.settings.agentless
        if plan is None or plan.survey is None:
            raise CampaignError("the campaign has no keypad survey", code="campaign.survey")
        try:
            return plan.survey.answers(keys)
        except ValueError as exc:
            raise CampaignError(str(exc), code="campaign.survey") from None

    def _settle(
        self,
        lead: Lead,
        category: DispositionCategory,
        at: datetime,
        callback_at: datetime | None,
        callback_agent: str | None,
    ) -> None:
        if category is DispositionCategory.CALLBACK:
            rule = self.settings.retry.rule(RetryKind.CALLBACK)
            if lead.callbacks_scheduled >= rule.max_attempts:
                self._exhaust(lead, at, f"callback asked for again after {rule.max_attempts} callbacks")
                return
            lead.callbacks_scheduled += 1
            lead.callback = Callback(callback_at or at + rule.delay, callback_agent)
            lead.status = LeadStatus.READY
            lead.due_at = lead.callback.at
            who = f"agent {callback_agent}" if callback_agent else "any agent"
            lead.reason = f"callback at {lead.callback.at.isoformat()} for {who}"
            return
        if category is DispositionCategory.NO_CONTACT:
            self._retry(lead, RetryKind.NO_ANSWER, at)
            return
        if category is DispositionCategory.DO_NOT_CALL:
            scope = self._dnc_scope()
            # The objection is the person's: every number of the contact goes on the list.
            for number in dict.fromkeys((lead.contact.phone, *lead.contact.alt_phones)):
                self.compliance.record_objection(
                    number, scope, at, reason="do-not-call request", source=f"campaign {self.settings.id}"
                )
        lead.status = LeadStatus.DONE
        lead.due_at = None
        lead.reason = category.value

    def _dnc_scope(self) -> DncScope:
        level = self.settings.do_not_call_scope
        if level is DncLevel.GLOBAL:
            return DncScope.everywhere()
        if level is DncLevel.ACCOUNT:
            return DncScope.account(self.settings.account_id)
        return DncScope.campaign(self.settings.id)

    def _retry(self, lead: Lead, kind: RetryKind, at: datetime) -> None:
        rules = self.settings.retry
        rule = rules.rule(kind)
        count = lead.outcomes.get(kind.value, 0) + 1
        lead.outcomes[kind.value] = count
        if count >= rule.max_attempts:
            self._exhaust(lead, at, f"{kind.value} {count} times (rule maximum {rule.max_attempts})")
        elif lead.regular_attempts >= rules.max_attempts:
            self._exhaust(
                lead, at, f"{lead.regular_attempts} attempts (campaign maximum {rules.max_attempts})"
            )
        else:
            lead.status = LeadStatus.READY
            lead.due_at = at + rule.delay
            lead.reason = f"retry after {kind.value}"

    def _exhaust(self, lead: Lead, at: datetime, why: str) -> None:
        lead.status = LeadStatus.EXHAUSTED
        lead.exhausted_at = at
        lead.due_at = None
        lead.callback = None
        lead.reason = f"exhausted: {why}"

    # -- script, results, targets -------------------------------------------------------------------

    def script_for(self, lead_id: str, *, agent_name: str = "") -> str:
        """The campaign's script for a lead, fields filled in ("" without a script)."""
        script = self.settings.script
        if script is None:
            return ""
        contact = self._lead(lead_id).contact
        values = {
            name: contact_value(contact, name)
            for name in script.fields
            if name in CONTACT_TEXT_FIELDS or name.startswith(CUSTOM_PREFIX)
        }
        values["agent_name"] = agent_name
        values["campaign_name"] = self.settings.name or self.settings.id
        return script.render(values)

    def results(self) -> list[ContactResult]:
        """One result per lead, in list order."""
        return [
            ContactResult(
                lead.contact, lead.total_attempts, lead.last_attempt_at, lead.last_outcome, lead.disposition
            )
            for members in self._by_list.values()
            for lead in members
        ]

    def export_results(self, stream: TextIO) -> int:
        """Write the per-contact results as CSV (see :func:`~centrale.outbound.results.export_results`)."""
        return export_results(self.results(), stream, custom_fields=self.settings.custom_fields)

    def progress(
        self, now: datetime, *, week: IsoWeek | None = None, agents: Mapping[str, str] | None = None
    ) -> list[Progress]:
        """Target figures for ``week`` (default: the week of ``now``) per agent, team and campaign.

        ``agents`` maps the campaign's agents to their teams (e.g. from ``AgentConfig.team``).
        """
        tz = self.settings.time_zone
        return progress(
            self.records,
            self.settings.targets,
            campaign_id=self.settings.id,
            week=week or IsoWeek.of(now, tz),
            now=now,
            tz=tz,
            agents=agents,
        )

    def summary(self, now: datetime, state: ComplianceState) -> Counter[str]:
        """Why each lead is or is not callable at ``now``, counted — a dry run for ``campaign check``.

        Evaluates compliance against ``state`` without recording attempts or changing any lead;
        pass a scratch state, since each evaluation is appended to its audit log.
        """
        counts: Counter[str] = Counter()
        active = self.active(now)
        for lead in self.leads.values():
            if not lead.due(now):
                counts[
                    lead.status.value
                    if lead.status is not LeadStatus.READY
                    else "waiting (retry or callback)"
                ] += 1
            elif not active:
                counts["campaign not active now"] += 1
            else:
                decision = evaluate(
                    lead.contact,
                    self.settings.compliance,
                    now,
                    state,
                    agent_reserved=self.mode is not CampaignMode.PREDICTIVE,
                )
                if decision.allowed:
                    counts["callable now"] += 1
                else:
                    counts["blocked by " + " + ".join(o.rule_id for o in decision.blocked_by)] += 1
        return counts

    # -- position -----------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The campaign position as JSON-ready values (see the module docstring)."""
        return {
            "version": STATE_VERSION,
            "campaign_id": self.settings.id,
            "leads": [lead.to_state() for lead in self.leads.values()],
            "mix": self.mix.to_state(),
            "records": [
                {
                    "at": r.at.isoformat(),
                    "lead_id": r.lead_id,
                    "agent_id": r.agent_id,
                    "code": r.code,
                    "category": r.category.value,
                }
                for r in self.records
            ],
        }

    @classmethod
    def from_state(
        cls,
        settings: CampaignSettings,
        contacts: Mapping[str, Sequence[Contact]],
        compliance: ComplianceState,
        state: Mapping[str, Any],
    ) -> Campaign:
        """Rebuild a campaign at the position ``state`` (from :meth:`to_state`) over the same lists."""
        if state.get("version") != STATE_VERSION:
            raise CampaignError(
                f"unsupported campaign state version {state.get('version')!r}", code="campaign.state"
            )
        if state.get("campaign_id") != settings.id:
            raise CampaignError(
                f"the state is of campaign {state.get('campaign_id')!r}, not {settings.id!r}",
                code="campaign.state",
            )
        # The random keys come from the state; the generator only satisfies the constructor.
        campaign = cls(settings, contacts, compliance, rng=random.Random(0))
        saved = {entry["id"]: entry for entry in state["leads"]}
        if set(saved) != set(campaign.leads):
            missing = sorted(set(campaign.leads) - set(saved))[:3]
            extra = sorted(set(saved) - set(campaign.leads))[:3]
            raise CampaignError(
                "the lists changed since the state was saved "
                f"(not in state: {missing}, not in lists: {extra})",
                code="campaign.state",
            )
        for lead_id, lead in campaign.leads.items():
            lead.restore(saved[lead_id])
        campaign.mix.restore(state["mix"])
        campaign.records = [
            DispositionRecord(
                datetime.fromisoformat(r["at"]),
                r["lead_id"],
                r["agent_id"],
                r["code"],
                DispositionCategory(r["category"]),
            )
            for r in state["records"]
        ]
        return campaign

    # -- helpers ------------------------------------------------------------------------------------

    def _lead(self, lead_id: str) -> Lead:
        lead = self.leads.get(lead_id)
        if lead is None:
            raise CampaignError(
                f"no lead {lead_id!r} in campaign {self.settings.id}", code="campaign.unknown_lead"
            )
        return lead

    def _require_mode(self, mode: CampaignMode) -> None:
        if self.mode is not mode:
            raise CampaignError(
                f"only for {mode.value} campaigns (this one is {self.mode.value})", code="campaign.mode"
            )


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("campaign times must be timezone-aware datetimes")
