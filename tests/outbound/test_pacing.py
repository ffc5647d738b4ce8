"""Pacing policies: the interface, hand-checkable cases, the margin and its guard, the fallbacks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrale.outbound.pacing import (
    AdaptMode,
    BusyAgent,
    DialResult,
    FixedRatio,
    PacingSnapshot,
    Phase,
    Predictive,
    PredictiveSettings,
    Progressive,
    VicidialStyle,
    variance_aware_rate,
)


@given(
    free=st.integers(0, 50),
    ringing=st.lists(st.floats(0, 25), max_size=60),
    waiting=st.integers(0, 5),
    inbound=st.integers(0, 5),
)
def test_progressive_never_rings_more_calls_than_free_agents(
    free: int, ringing: list[float], waiting: int, inbound: int
) -> None:
    snap = PacingSnapshot(agents_free=free, ringing=ringing, waiting=waiting, inbound_waiting=inbound)
    lines = Progressive().lines_to_dial(snap, 0.0)
    assert lines >= 0
    if len(ringing) + waiting <= free:
        assert len(ringing) + waiting + lines <= free
    else:
        assert lines == 0


def test_fixed_ratio_dials_two_lines_per_free_agent() -> None:
    assert FixedRatio(2.0).lines_to_dial(PacingSnapshot(agents_free=3, ringing=[1.0]), 0.0) == 5


def test_variance_aware_rate() -> None:
    # r·L + z·√(r·L) = cap·L
    for lives in (50.0, 200.0, 1000.0):
        r = variance_aware_rate(0.03, lives, 3.0)
        assert r * lives + 3.0 * math.sqrt(r * lives) == pytest.approx(0.03 * lives)
    assert variance_aware_rate(0.03, 50, 3) < variance_aware_rate(0.03, 1000, 3) < 0.03


def _warm(policy: Predictive, dials: int = 400, live_every: int = 4) -> None:
    for i in range(dials):
        policy.observe(DialResult(8.0 if i % live_every == 0 else 25.0, i % live_every == 0))


def test_predictive_falls_back_to_progressive_when_the_margin_is_spent() -> None:
    policy = Predictive()
    _warm(policy)
    busy = [BusyAgent(Phase.WRAP, 10.0)] * 10
    healthy = PacingSnapshot(
        agents_free=2, busy=busy, window_live=400, window_abandoned=2, window_elapsed=3600.0
    )
    spent = PacingSnapshot(
        agents_free=2, busy=busy, window_live=400, window_abandoned=12, window_elapsed=3600.0
    )
    assert policy.lines_to_dial(healthy, 1.0) > 2  # dials ahead for the agents finishing wrap-up
    before = policy.fallbacks
    assert policy.lines_to_dial(spent, 2.0) == 2  # 3 % of 400 = 12 abandons: margin spent
    assert policy.fallbacks == before + 1


def test_predictive_takes_its_margin_from_the_regulators_window() -> None:
    def snapshot(hour_abandoned: int, day_live: int, day_abandoned: int) -> PacingSnapshot:
        return PacingSnapshot(
            agents_free=2,
            busy=[BusyAgent(Phase.WRAP, 10.0)] * 10,
            window_live=400,
            window_abandoned=hour_abandoned,
            window_elapsed=3600.0,
            regulated_live=day_live,
            regulated_abandoned=day_abandoned,
        )

    policy = Predictive()
    _warm(policy)
    # The last hour is at the cap, but the regulator's 24 hours have room: predictive.
    hour_spent = snapshot(12, 3000, 30)
    assert policy.margin(hour_spent) == pytest.approx(60.0)
    assert policy.lines_to_dial(hour_spent, 1.0) > 2
    # The other way round: the regulator's window is spent, so progressive.
    assert policy.lines_to_dial(snapshot(0, 1000, 30), 2.0) == 2


def test_predictive_dials_more_carefully_as_the_margin_runs_out() -> None:
    s = PredictiveSettings(guard_z=3.0, guard_span=6.0, guard_span_per_agent=0.06, min_margin=1.0)
    policy = Predictive(s)
    assert policy.guard(1.0) == pytest.approx(3.0)
    assert policy.guard(4.0) == pytest.approx(1.5)
    assert policy.guard(7.0) == 0.0
    assert policy.guard(50.0) == 0.0
    assert policy.guard(7.0, agents=100) == pytest.approx(3.0 * (1 - 6.0 / 12.0))  # span 6 + 0.06 × 100
    assert Predictive(PredictiveSettings(guard_span=0.0, guard_span_per_agent=0.0)).guard(1.0, 50) == 0.0

    def lines(abandoned: int) -> int:
        p = Predictive(s)
        _warm(p)
        snap = PacingSnapshot(
            agents_free=3,
            busy=[BusyAgent(Phase.WRAP, 12.0)] * 4 + [BusyAgent(Phase.TALK, 30.0)] * 40,
            window_live=400,
            window_elapsed=3600.0,
            regulated_live=400,
            regulated_abandoned=abandoned,
        )
        return p.lines_to_dial(snap, 1.0)

    comfortable, tight = lines(0), lines(10)  # margins 12 and 2 abandons
    assert 3 <= tight < comfortable


def test_predictive_is_progressive_until_warm() -> None:
    policy = Predictive()
    snap = PacingSnapshot(agents_free=5, busy=[BusyAgent(Phase.WRAP, 14.0)] * 5, window_live=500)
    assert policy.lines_to_dial(snap, 0.0) == 5


def test_blended_inbound_waiting_calls_reduce_the_lines() -> None:
    base = dict(
        agents_free=2,
        busy=[BusyAgent(Phase.TALK, 60.0)] * 60 + [BusyAgent(Phase.WRAP, 10.0)] * 6,
        window_live=400,
        window_abandoned=1,
        window_elapsed=3600.0,
    )
    policy = Predictive()
    _warm(policy)
    alone = policy.lines_to_dial(PacingSnapshot(**base), 1.0)  # type: ignore[arg-type]
    policy = Predictive()
    _warm(policy)
    blended = policy.lines_to_dial(PacingSnapshot(**base, inbound_waiting=3), 1.0)  # type: ignore[arg-type]
    assert blended < alone
    assert Progressive().lines_to_dial(PacingSnapshot(agents_free=6, inbound_waiting=3), 0.0) == 3
    policy = Predictive()
    _warm(policy)
    arriving = policy.lines_to_dial(PacingSnapshot(**base, inbound_rate=0.2), 1.0)  # type: ignore[arg-type]
    assert arriving < alone


@settings(max_examples=50, deadline=None)
@given(
    free=st.integers(0, 20),
    busy=st.lists(st.tuples(st.booleans(), st.floats(0, 600)), max_size=30),
    ringing=st.lists(st.floats(0, 24), max_size=40),
    live=st.integers(0, 2000),
    abandoned=st.integers(0, 60),
)
def test_predictive_answers_are_sane(
    free: int, busy: list[tuple[bool, float]], ringing: list[float], live: int, abandoned: int
) -> None:
    policy = Predictive()
    _warm(policy)
    snap = PacingSnapshot(
        agents_free=free,
        busy=[BusyAgent(Phase.TALK if t else Phase.WRAP, e) for t, e in busy],
        ringing=ringing,
        window_live=live,
        window_abandoned=min(abandoned, live),
        window_elapsed=3600.0,
    )
    lines = policy.lines_to_dial(snap, 1.0)
    agents = free + len(busy)
    assert 0 <= lines <= max(Progressive().lines_to_dial(snap, 0.0), int(0.5 * agents), 1)


def test_vicidial_level_rises_with_idle_agents_and_resets_on_drops() -> None:
    policy = VicidialStyle()
    idle = PacingSnapshot(agents_free=5, busy=[BusyAgent(Phase.TALK, 10.0)] * 5)
    for t in range(0, 31):
        policy.lines_to_dial(idle, float(t))
    assert policy.level > 1.0
    dropping = PacingSnapshot(agents_free=5, shift_live=100, shift_abandoned=5, shift_elapsed=3600.0)
    for t in range(31, 61):
        policy.lines_to_dial(dropping, float(t))
    assert policy.level == 1.0


def test_vicidial_tapered_allows_more_early_and_halves() -> None:
    policy = VicidialStyle(mode=AdaptMode.TAPERED, shift_seconds=8 * 3600.0)
    assert policy.allowed_drop_rate(0.0) == pytest.approx(0.06)
    assert policy.allowed_drop_rate(4 * 3600.0) == pytest.approx(0.03)
    policy.level = 2.8
    policy.lines_to_dial(PacingSnapshot(agents_free=1), 0.0)
    over = PacingSnapshot(agents_free=1, shift_live=100, shift_abandoned=5, shift_elapsed=6 * 3600.0)
    policy.lines_to_dial(over, 15.0)
    assert 1.0 <= policy.level <= 1.5


def test_predictive_settings_defaults_keep_a_margin() -> None:
    s = PredictiveSettings()
    assert s.target_rate < s.max_rate


def test_ring_estimate_learns_the_answer_time_distribution() -> None:
    # Every fourth dial answered by a person after 8 s, the others ring out at 25 s.
    policy = Predictive()
    _warm(policy, dials=2000)
    ring = policy.ring
    assert ring.answer_by(0, 25) == pytest.approx(0.25, abs=0.02)
    assert ring.answer_by(0, 8) == pytest.approx(0.0, abs=0.02)  # answers come in second 8
    assert ring.answer_by(0, 9) == pytest.approx(0.25, abs=0.02)
    assert ring.answer_by(9, 10) == pytest.approx(0.0, abs=0.01)  # past 8 s nobody answers
    # Calls still ringing count as censored: a census of many young calls leaves it unbiased.
    ring.census([3.5] * 300)
    assert ring.answer_by(0, 25) == pytest.approx(0.25, abs=0.02)


def test_predictive_dials_ahead_for_agents_finishing_wrap_up_and_not_for_certain_abandons() -> None:
    policy = Predictive()
    _warm(policy)
    # Ten agents free in 1 s (wrap-up of 15 s, 14 s done): dial ahead (answers come after 8 s).
    soon = PacingSnapshot(
        agents_free=0, busy=[BusyAgent(Phase.WRAP, 14.0)] * 10, window_live=400, window_elapsed=3600.0
    )
    ahead = policy.lines_to_dial(soon, 1.0)
    assert ahead > 0
    # With two answered calls already waiting and nobody free soon, nothing is dialled.
    jammed = PacingSnapshot(
        agents_free=0,
        busy=[BusyAgent(Phase.TALK, 5.0)] * 10,
        waiting=2,
        window_live=400,
        window_elapsed=3600.0,
    )
    assert policy.lines_to_dial(jammed, 2.0) == 0


def test_feedback_raises_z_when_the_window_runs_over_target() -> None:
    policy = Predictive()
    _warm(policy)
    snap = PacingSnapshot(agents_free=2, window_live=1000, window_abandoned=29, window_elapsed=3600.0)
    z0 = policy.z
    for t in range(600):
        policy.update_feedback(snap, float(t))
    assert policy.z > z0
    calm = PacingSnapshot(agents_free=2, window_live=1000, window_abandoned=0, window_elapsed=3600.0)
    for t in range(600, 4000):
        policy.update_feedback(calm, float(t))
    assert policy.z < z0
    s = policy.settings
    assert s.z_min <= policy.z <= s.z_max
