"""Registration (dispositions with categories, notes and custom fields), wrap-up modes, and handled
time per account."""

from __future__ import annotations

import pytest

from centrale.core.commands import InteractionFinished, StartTimer, WrapUpStarted
from centrale.core.config import WrapUp, WrapUpMode
from centrale.core.errors import DISPOSITION_REQUIRED, UNKNOWN_DISPOSITION
from centrale.core.events import (
    AgentLoggedIn,
    DispositionSet,
    HoldEnded,
    HoldStarted,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    WrapUpCompleted,
)

from .conftest import Sim, agent, config, disposition, of_type, queue

DISPOSITIONS = [
    disposition("sale", "sale"),
    disposition("no_sale", "no_sale"),
    disposition("wrong_number", "wrong_number"),
    disposition("globex_only", "resolved", account="globex"),
]


AGENT_WRAP = WrapUp(WrapUpMode.AGENT, 120.0)


def registration(wrap: WrapUp = AGENT_WRAP, *, required: bool = True, allowed: object = None) -> Sim:
    q = queue(wrap_up=wrap, require_disposition=required, dispositions=allowed)
    sim = Sim(config([q], [agent("a")], dispositions=DISPOSITIONS))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.do(OfferAccepted("x", "a"), at=2)
    return sim


def test_disposition_notes_and_fields_during_the_conversation() -> None:
    sim = registration()
    sim.do(DispositionSet("x", "sale", notes="2 seats", fields={"order": "A1"}), at=10)
    sim.do(DispositionSet("x", fields={"amount": 250}), at=11)  # fields are merged
    ix = sim.ix("x")
    assert (ix.disposition, ix.notes, ix.fields) == ("sale", "2 seats", {"order": "A1", "amount": 250})
    assert sim.engine.snapshot()["interactions"]["x"][-1] == "sale"
    assert sim.engine.dispositions["sale"].category == "sale"


def test_disposition_can_be_changed_in_wrap_up() -> None:
    sim = registration()
    sim.do(DispositionSet("x", "sale"), at=10)
    sim.do(InteractionEnded("x"), at=20)
    sim.do(DispositionSet("x", "no_sale", notes="changed mind"), at=25)
    assert (sim.ix("x").disposition, sim.ix("x").notes) == ("no_sale", "changed mind")


def test_require_disposition_refuses_wrap_up_completed_without_a_code_and_changes_nothing() -> None:
    sim = registration()
    sim.do(InteractionEnded("x"), at=20)
    err = sim.refused(WrapUpCompleted("x", notes="forgot the code"), DISPOSITION_REQUIRED)
    assert err.context == {"interaction": "x"}
    assert sim.ix_state("x") == "wrap_up" and sim.ix("x").notes == ""
    out = sim.do(WrapUpCompleted("x", "sale", notes="ok", fields={"k": 1}), at=30)
    assert InteractionFinished("x", "q", "done", None, "a", "sale", "ok") in out
    assert sim.state("a") == "ready"


def test_code_set_earlier_satisfies_the_requirement() -> None:
    sim = registration()
    sim.do(DispositionSet("x", "wrong_number"), at=10)
    sim.do(InteractionEnded("x"), at=20)
    out = sim.do(WrapUpCompleted("x"), at=30)
    assert InteractionFinished("x", "q", "done", None, "a", "wrong_number") in out


def test_without_the_requirement_no_code_is_needed() -> None:
    sim = registration(required=False)
    sim.do(InteractionEnded("x"), at=20)
    sim.do(WrapUpCompleted("x"), at=30)
    assert "x" not in sim.engine.interactions


@pytest.mark.parametrize("code", ["nonsense", "globex_only"])
def test_unknown_or_other_accounts_codes_are_refused(code: str) -> None:
    sim = registration()
    sim.refused(DispositionSet("x", code, notes="n"), UNKNOWN_DISPOSITION)
    sim.do(InteractionEnded("x"), at=20)
    sim.refused(WrapUpCompleted("x", code), UNKNOWN_DISPOSITION)


def test_codes_outside_the_queues_list_are_refused() -> None:
    sim = registration(allowed=frozenset({"sale", "no_sale"}))
    sim.refused(DispositionSet("x", "wrong_number"), UNKNOWN_DISPOSITION)
    sim.do(DispositionSet("x", "sale"), at=5)


def test_fixed_wrap_up_ends_by_its_timer() -> None:
    sim = registration(WrapUp(WrapUpMode.FIXED, 30.0), required=False)
    out = sim.do(InteractionEnded("x"), at=20)
    assert WrapUpStarted("x", "a", "q", "fixed", 30.0) in out
    assert StartTimer(sim.timer_for(out), 50.0) in out
    sim.run_until(49.9)
    assert sim.state("a") == "wrap_up"
    out = sim.run_until(50)
    assert InteractionFinished("x", "q", "done", None, "a") in out
    assert sim.state("a") == "ready"


def test_agent_ended_wrap_up_ends_by_event_before_the_maximum() -> None:
    sim = registration(WrapUp(WrapUpMode.AGENT, 120.0), required=False)
    out = sim.do(InteractionEnded("x"), at=20)
    timer = sim.timer_for(out)
    out = sim.do(WrapUpCompleted("x"), at=40)
    assert sim.state("a") == "ready"
    assert timer not in sim.timers  # the maximum was cancelled
    assert sim.run_until(500) == []


def test_agent_ended_wrap_up_ends_at_the_maximum() -> None:
    sim = registration(WrapUp(WrapUpMode.AGENT, 120.0), required=True)
    sim.do(InteractionEnded("x"), at=20)
    out = sim.run_until(140)
    assert InteractionFinished("x", "q", "done", None, "a") in out
    assert sim.state("a") == "ready"


def test_agent_ended_wrap_up_without_maximum_waits_for_the_agent() -> None:
    sim = registration(WrapUp(WrapUpMode.AGENT, 0.0), required=False)
    out = sim.do(InteractionEnded("x"), at=20)
    assert of_type(out, StartTimer) == []
    sim.run_until(10_000)
    assert sim.state("a") == "wrap_up"
    sim.do(WrapUpCompleted("x"), at=10_001)
    assert sim.state("a") == "ready"


# --- accounts ------------------------------------------------------------------------------------
def test_handled_time_is_attributed_per_account() -> None:
    queues = [
        queue("acme_q", account="acme", wrap_up=WrapUp(WrapUpMode.FIXED, 10.0)),
        queue("globex_q", account="globex"),
    ]
    sim = Sim(config(queues, [agent("a"), agent("b", account="globex")]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(AgentLoggedIn("b", ready=True), at=0)
    # acme: talk 100 - 10 hold, hold 10, wrap 10 → 110
    sim.do(InteractionArrived("x", "acme_q"), at=0)
    x_agent = sim.ix("x").agent
    sim.do(OfferAccepted("x", x_agent), at=5)
    sim.do(HoldStarted("x"), at=50)
    sim.do(HoldEnded("x"), at=60)
    sim.do(InteractionEnded("x"), at=105)
    sim.run_until(115)
    # globex: talk 40, no wrap-up
    sim.do(InteractionArrived("y", "globex_q"), at=200)
    y_agent = sim.ix("y").agent
    sim.do(OfferAccepted("y", y_agent), at=210)
    sim.do(InteractionEnded("y"), at=250)
    assert sim.engine.stats.account_handled == {"acme": 110.0, "globex": 40.0}
