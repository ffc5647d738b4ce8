"""Figures per interval, checked against a small scenario computed by hand.

Scenario (queue q: voice, service-level threshold 20 s, short abandon 5 s, fixed wrap-up 10 s;
interval 900 s; one agent a of team t1, logged in ready at 0):

=====  =======  ==========================================  =====================================
id     arrives  what happens                                counted
=====  =======  ==========================================  =====================================
c1     100      offered at once, answered 110, hold          wait 10 (within), talk 50, hold 10,
                130–140, ends 170, wrap-up until 180         wrap 10
c2     105      abandons at 108                             abandon after 3 s: short, within
c3     120      offered at 180, answered 185, ends 245,      wait 65 (not within), talk 60,
                wrap-up until 255                            wrap 10
c4     130      abandons at 160                             abandon after 30 s
c5     950      (next interval) offered, answered 952        wait 2
=====  =======  ==========================================  =====================================

Agent a in interval 0: ready 0–100 and 255–900 (745 s), reserved 100–110 and 180–185 (15 s),
busy 110–170 and 185–245 (120 s), wrap-up 170–180 and 245–255 (20 s).
"""

from __future__ import annotations

import pytest

from centrale.core.agent import AgentState
from centrale.core.config import WrapUp, WrapUpMode
from centrale.core.events import (
    AgentLoggedIn,
    CustomerAbandoned,
    HoldEnded,
    HoldStarted,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
)
from centrale.core.stats import Stats, queue_figures, team_figures

from .conftest import Sim, agent, config, queue


@pytest.fixture(scope="module")
def scenario() -> Sim:
    q = queue(sl_threshold=20.0, short_abandon=5.0, wrap_up=WrapUp(WrapUpMode.FIXED, 10.0))
    sim = Sim(config([q], [agent("a", team="t1")], interval_seconds=900))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("c1", "q"), at=100)
    sim.do(InteractionArrived("c2", "q"), at=105)
    sim.do(CustomerAbandoned("c2"), at=108)
    sim.do(OfferAccepted("c1", "a"), at=110)
    sim.do(InteractionArrived("c3", "q"), at=120)
    sim.do(HoldStarted("c1"), at=130)
    sim.do(InteractionArrived("c4", "q"), at=130)
    sim.do(HoldEnded("c1"), at=140)
    sim.do(CustomerAbandoned("c4"), at=160)
    sim.do(InteractionEnded("c1"), at=170)
    sim.run_until(180)  # wrap-up of c1 ends, c3 is offered
    sim.do(OfferAccepted("c3", "a"), at=185)
    sim.do(InteractionEnded("c3"), at=245)
    sim.run_until(255)
    sim.do(InteractionArrived("c5", "q"), at=950)
    sim.do(OfferAccepted("c5", "a"), at=952)
    sim.engine.close_books(1000)
    return sim


def figures(sim: Sim, start: float | None = None, end: float | None = None) -> dict:
    return queue_figures(sim.engine.stats.queue_sum(["q"], start, end), 20.0)


def test_counts_in_the_first_interval(scenario: Sim) -> None:
    f = figures(scenario, 0, 900)
    assert (f["offered"], f["answered"], f["abandoned"], f["short_abandoned"]) == (4, 2, 2, 1)
    assert (f["answered_within_target"], f["abandoned_within_target"]) == (1, 1)
    assert f["handled"] == 2
    assert f["sl_threshold_seconds"] == 20.0


def test_waits_in_the_first_interval(scenario: Sim) -> None:
    f = figures(scenario, 0, 900)
    assert f["asa_seconds"] == pytest.approx((10 + 65) / 2)
    assert f["average_abandon_wait_seconds"] == pytest.approx((3 + 30) / 2)
    assert f["max_wait_seconds"] == 65
    assert f["abandon_rate"] == pytest.approx(0.5)


def test_handle_times_in_the_first_interval(scenario: Sim) -> None:
    f = figures(scenario, 0, 900)
    assert f["talk_seconds"] == pytest.approx((50 + 60) / 2)
    assert f["hold_seconds"] == pytest.approx(10 / 2)
    assert f["wrap_up_seconds"] == pytest.approx(10)
    assert f["aht_seconds"] == pytest.approx((70 + 70) / 2)


def test_service_level_variants(scenario: Sim) -> None:
    f = figures(scenario, 0, 900)
    assert f["service_level"] == pytest.approx(1 / 4)
    assert f["service_level_of_answered"] == pytest.approx(1 / 2)
    assert f["service_level_abandons_met"] == pytest.approx((1 + 1) / 4)
    assert f["service_level_excluding_short_abandons"] == pytest.approx(1 / 3)


def test_interactions_count_in_their_arrival_interval(scenario: Sim) -> None:
    f = figures(scenario, 900, 1800)
    assert (f["offered"], f["answered"], f["asa_seconds"], f["handled"]) == (1, 1, 2, 0)
    assert f["aht_seconds"] is None  # nothing handled yet: no ratio
    whole = figures(scenario)
    assert (whole["offered"], whole["answered"]) == (5, 3)
    assert scenario.engine.stats.intervals() == [0, 1]


def test_agent_time_and_occupancy_per_interval(scenario: Sim) -> None:
    t0 = team_figures(scenario.engine.stats.team_sum(["t1"], 0, 900))
    assert t0["ready_seconds"] == pytest.approx(745)
    assert t0["reserved_seconds"] == pytest.approx(15)
    assert t0["busy_seconds"] == pytest.approx(120)
    assert t0["wrap_up_seconds"] == pytest.approx(20)
    assert t0["staffed_seconds"] == pytest.approx(900)
    assert t0["occupancy"] == pytest.approx(155 / 900)
    t1 = team_figures(scenario.engine.stats.team_sum(["t1"], 900, 1800))
    # ready 900–950, reserved 950–952, busy 952–1000 (close_books)
    assert (t1["ready_seconds"], t1["reserved_seconds"], t1["busy_seconds"]) == (50, 2, 48)
    assert t1["occupancy"] == pytest.approx(0.5)


def test_agent_occupancy_over_the_login(scenario: Sim) -> None:
    a = scenario.agent("a")
    assert a.logged_in_seconds == pytest.approx(1000)
    assert a.busy_seconds == pytest.approx(155 + 50)
    assert a.occupancy() == pytest.approx(205 / 1000)
    assert a.contacts_today == 3


def test_empty_figures_have_no_ratios() -> None:
    f = queue_figures([0.0] * 19)
    assert f["offered"] == 0 and f["service_level"] is None and f["asa_seconds"] is None
    assert team_figures([0.0] * 5)["occupancy"] is None


def test_agent_time_is_split_over_interval_boundaries() -> None:
    s = Stats(900, [])
    s.on_agent_time("t", AgentState.BUSY, 800, 2000)
    assert team_figures(s.team_sum(["t"], 0, 900))["busy_seconds"] == 100
    assert team_figures(s.team_sum(["t"], 900, 1800))["busy_seconds"] == 900
    assert team_figures(s.team_sum(["t"], 1800, 2700))["busy_seconds"] == 200
    s.on_agent_time("t", AgentState.LOGGED_OUT, 0, 100)  # not counted
    assert sum(s.team_sum(["t"])) == 1200


def test_rona_is_counted() -> None:
    sim = Sim(config([queue()], [agent("a")]))
    sim.do(AgentLoggedIn("a", ready=True), at=0)
    sim.do(InteractionArrived("x", "q"), at=1)
    sim.run_until(100)
    assert queue_figures(sim.engine.stats.queue_sum(["q"]))["rona"] == 1
