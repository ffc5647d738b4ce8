"""The outbound campaign simulation on the real engine."""

from __future__ import annotations

from centrale.outbound.dialer_sim import (
    CampaignSpec,
    run_campaign,
    talk_distribution,
    worst_prefix,
    worst_window,
)
from centrale.outbound.pacing import FixedRatio, Predictive, PredictiveSettings, Progressive


def _spec(agents: int, hours: float, rate: float = 0.15, talk: float = 120.0) -> CampaignSpec:
    return CampaignSpec(agents=agents, live_rate=rate, talk=talk_distribution(talk), duration=hours * 3600)


def test_deterministic_for_a_seed() -> None:
    a = run_campaign(_spec(5, 0.5), Predictive(), 3).summary()
    b = run_campaign(_spec(5, 0.5), Predictive(), 3).summary()
    c = run_campaign(_spec(5, 0.5), Predictive(), 4).summary()
    for r in (a, b, c):
        r.pop("cpu_seconds")
    assert a == b
    assert a != c


def test_progressive_never_abandons_nor_overdials() -> None:
    r = run_campaign(_spec(10, 0.5), Progressive(), 1)
    assert r.max_overdial <= 0
    assert r.abandoned == 0 and r.live > 0 and r.connected == r.live


def test_overdialling_abandons_and_every_abandon_gets_the_message() -> None:
    # Five lines per free agent at a 30 % answer rate: about 1.5 people per free agent answer.
    r = run_campaign(_spec(5, 0.5, rate=0.3), FixedRatio(5.0), 2)
    assert r.abandoned > 0
    assert r.information_messages == r.abandoned
    assert sorted(r.message_ids) == sorted(r.abandoned_ids)
    assert r.connected + r.abandoned <= r.live


def test_short_predictive_run_stays_under_three_percent() -> None:
    r = run_campaign(_spec(20, 1.0), Predictive(PredictiveSettings(talk_prior=120.0)), 1)
    progressive = run_campaign(_spec(20, 1.0), Progressive(), 1)
    assert r.abandon_rate <= 0.03
    assert r.worst_window_rate <= 0.03
    assert r.worst_prefix_rate <= 0.03  # every moment of the shift, not only its end
    assert r.information_messages == r.abandoned
    assert r.talk_seconds > progressive.talk_seconds


def test_worst_window_sees_calls_leaving_the_window() -> None:
    # Window 100 s, connected call at 10, abandoned one at 50: the first full window (0, 100]
    # is at 1/2; once the call at 10 has left, (10, 110] holds the abandoned call alone. No window
    # *ending at the abandoned call* lies within the run, so only the exit point finds it.
    assert worst_window([10.0, 50.0], [50.0], 100.0, 0.0, 300.0) == (1.0, 1, 1)
    # The whole run when it is shorter than the window.
    assert worst_window([10.0, 50.0, 60.0, 70.0], [50.0], 1000.0, 0.0, 300.0) == (0.25, 4, 1)


def test_worst_prefix_is_the_highest_rate_of_the_shift_so_far() -> None:
    lives = [float(t) for t in range(1, 11)]
    assert worst_prefix(lives, []) == 0.0
    # After the third live call two of three were abandoned; by the end two of ten.
    assert worst_prefix(lives, [2.0, 3.0]) == 2 / 3
    assert worst_prefix(lives, [9.0, 10.0]) == 2 / 10
