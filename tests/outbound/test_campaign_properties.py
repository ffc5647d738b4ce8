"""Properties of lead selection over random dialling sessions (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from centrale.outbound.campaign import Campaign
from centrale.outbound.leads import LeadStatus, ListMix
from centrale.outbound.retry import Outcome, RetryKind
from centrale.outbound.state import ComplianceState

from .campaign_helpers import MONDAY, make, people
from .campaign_helpers import settings as campaign_settings

SETTINGS = campaign_settings(
    retry={
        "max_attempts": 4,
        "no_answer": {"delay": "20m", "max_attempts": 3},
        "busy": {"delay": "5m", "max_attempts": 3},
        "machine": {"delay": "1h", "max_attempts": 2},
        "failed": {"delay": "10m", "max_attempts": 2},
        "abandoned": {"delay": "1h", "max_attempts": 2},
        "callback": {"delay": "30m", "max_attempts": 2},
    },
    recycle={"after_days": 1, "max_cycles": 1},
)
RESULTS = [o.value for o in Outcome if o not in (Outcome.ANSWERED, Outcome.MACHINE_MESSAGE)] + [
    "sale",
    "no_thanks",
    "callback",
    "personal",
    "absent",
]

step = st.tuples(
    st.integers(0, 5),  # leads asked for
    st.sampled_from([None, "eva", "bob"]),  # agent asking
    st.integers(0, 90),  # minutes that pass
    st.lists(st.tuples(st.integers(0, 50), st.sampled_from(RESULTS)), max_size=4),  # outcomes to report
)


def report(c: Campaign, lead_id: str, result: str, at: datetime) -> datetime | None:
    if result in {o.value for o in Outcome}:
        return c.record_outcome(lead_id, result, at).due_at
    personal = result == "personal"
    disposition = "callback" if personal else result
    return c.record_outcome(
        lead_id, Outcome.ANSWERED, at, disposition=disposition, agent_id="eva", personal_callback=personal
    ).due_at


@settings(max_examples=60, deadline=None)
@given(st.lists(step, min_size=1, max_size=25), st.integers(0, 24))
def test_caps_delays_and_no_concurrent_dials(
    steps: list[tuple[int, str | None, int, list[tuple[int, str]]]], save_at: int
) -> None:
    state = ComplianceState()
    contacts = people(6)
    c = make(SETTINGS, contacts, state)
    now = MONDAY
    due: dict[str, datetime] = {}
    for index, (n, agent, minutes, results) in enumerate(steps):
        if index == save_at:
            # A restart mid-session changes nothing.
            c = Campaign.from_state(SETTINGS, {"a": contacts}, state, c.to_state())
        busy_before = set(c.in_progress())
        dials = c.next_leads(n, now, agent_id=agent)
        dialled = [d.lead_id for d in dials]
        assert len(dialled) == len(set(dialled)), "a lead dialled twice in one batch"
        assert not busy_before & set(dialled), "a lead dialled while in progress"
        for d in dials:
            assert now >= due.get(d.lead_id, MONDAY), "dialled before its retry delay"
            lead = c.leads[d.lead_id]
            assert lead.regular_attempts <= SETTINGS.retry.max_attempts
            assert lead.callback_dials <= SETTINGS.retry.rule(RetryKind.CALLBACK).max_attempts
            if d.callback and d.agent_id is not None:
                assert agent == d.agent_id, "a personal callback handed to someone else"
        in_progress = c.in_progress()
        for pick, result in results:
            if not in_progress:
                break
            lead_id = in_progress.pop(pick % len(in_progress))
            next_due = report(c, lead_id, result, now)
            if next_due is not None:
                due[lead_id] = next_due
            lead = c.leads[lead_id]
            for kind, count in lead.outcomes.items():
                assert count <= SETTINGS.retry.rule(RetryKind(kind)).max_attempts
            if lead.status is LeadStatus.EXHAUSTED:
                due.pop(lead_id, None)  # a recycled lead starts afresh
        now += timedelta(minutes=minutes)
    assert all(lead.total_attempts <= 2 * (4 + 2) for lead in c.leads.values())


@given(st.lists(st.integers(1, 9), min_size=1, max_size=5), st.integers(1, 300))
def test_list_mix_shares_stay_within_one_pick(weights: list[int], picks: int) -> None:
    names = [f"l{i}" for i in range(len(weights))]
    mix = ListMix(dict(zip(names, weights, strict=True)))
    counts = dict.fromkeys(names, 0)
    total = sum(weights)
    for k in range(1, picks + 1):
        counts[mix.pick(names)] += 1
        for name, weight in zip(names, weights, strict=True):
            assert abs(counts[name] - k * weight / total) < 1 + 1e-9
