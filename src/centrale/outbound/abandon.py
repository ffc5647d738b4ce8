"""Abandoned-call rate over a sliding window, per campaign (Ofcom: 24 hours, FTC TSR: 30 days).

The rate is abandoned calls divided by live calls (calls answered by a person); an abandoned call
is itself a live call. A call is abandoned when no agent is connected within the threshold
(2 seconds) after the end of the called person's greeting. Calls that answering-machine detection
wrongly classified as a machine were answered by a person and dropped: they count in both the
numerator and the denominator — known ones individually, and optionally an estimated share of all
machine-classified calls, as Ofcom asks for a reasoned estimate of false positives.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class WindowRate:
    """The abandoned-call rate over one window ``(start, end]``."""

    start: datetime
    end: datetime
    live: float
    abandoned: float

    @property
    def rate(self) -> float:
        """Abandoned / live, 0 when there were no live calls."""
        return self.abandoned / self.live if self.live else 0.0


def _ts(at: datetime) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware datetimes")
    return at.timestamp()


class AbandonRateTracker:
    """Live and abandoned calls of one campaign, for the regulator's sliding-window rate."""

    def __init__(
        self,
        *,
        window: timedelta,
        max_rate: float = 0.03,
        connect_within_seconds: float = 2.0,
        safety_margin: float = 0.005,
        amd_false_positive_rate: float = 0.0,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("the window must be positive")
        if not 0 <= safety_margin < max_rate <= 1:
            raise ValueError("expected 0 ≤ safety_margin < max_rate ≤ 1")
        if not 0 <= amd_false_positive_rate < 1:
            raise ValueError("the AMD false-positive rate must be in [0, 1)")
        self.window = window
        self.max_rate = max_rate
        self.connect_within_seconds = connect_within_seconds
        self.safety_margin = safety_margin
        self.amd_false_positive_rate = amd_false_positive_rate
        self._live: list[float] = []
        self._abandoned: list[float] = []
        self._machine: list[float] = []

    # -- recording ----------------------------------------------------------------------------------

    def is_abandoned(self, agent_connect_delay: float | None) -> bool:
        """The 2-second rule: no agent at all, or one connected too late after the greeting."""
        return agent_connect_delay is None or agent_connect_delay > self.connect_within_seconds

    def record_live_call(self, at: datetime, *, agent_connect_delay: float | None) -> bool:
        """Record a call answered by a person; returns True if it counts as abandoned.

        ``agent_connect_delay`` is the time from the end of the greeting to the agent's connection,
        ``None`` when no agent was connected.
        """
        abandoned = self.is_abandoned(agent_connect_delay)
        t = _ts(at)
        insort(self._live, t)
        if abandoned:
            insort(self._abandoned, t)
        return abandoned

    def record_amd_false_positive(self, at: datetime) -> None:
        """A person the answering-machine detection took for a machine: live and abandoned."""
        self.record_live_call(at, agent_connect_delay=None)

    def record_machine_detected(self, at: datetime) -> None:
        """A call AMD classified as a machine; a share of these counts via the estimated rate."""
        insort(self._machine, _ts(at))

    # -- reading ------------------------------------------------------------------------------------

    def _window(self, start: float, end: float) -> tuple[float, float]:
        def count(times: list[float]) -> int:
            return bisect_right(times, end) - bisect_right(times, start)

        estimated = self.amd_false_positive_rate * count(self._machine)
        return count(self._live) + estimated, count(self._abandoned) + estimated

    def window_ending(self, now: datetime) -> WindowRate:
        """Counts and rate over the window that ends at ``now``."""
        end = _ts(now)
        live, abandoned = self._window(end - self.window.total_seconds(), end)
        return WindowRate(now - self.window, now, live, abandoned)

    def rate(self, now: datetime) -> float:
        """Abandoned-call rate over the window ending at ``now``."""
        return self.window_ending(now).rate

    def worst_window(self) -> WindowRate | None:
        """The window ``(start, start + window]`` with the highest rate over the recorded history.

        A window's rate only rises when a call enters it that is abandoned (or estimated so: a
        machine-classified call adds to both counts) or when a connected live call leaves it. So
        the maximum is at a window *ending* at an abandoned or machine-classified call, or one
        *starting* just after a live call (that call has just left); both kinds are checked.
        """
        if not self._abandoned and not (self._machine and self.amd_false_positive_rate > 0):
            return None
        span = self.window.total_seconds()
        candidates = [(end - span, end) for end in self._abandoned]
        if self.amd_false_positive_rate > 0:
            candidates += [(end - span, end) for end in self._machine]
        candidates += [(start, start + span) for start in self._live]
        best: tuple[float, float, float, float] | None = None
        for start, end in candidates:
            live, abandoned = self._window(start, end)
            rate = abandoned / live if live else 0.0
            if best is None or rate > best[0]:
                best = (rate, end, live, abandoned)
        assert best is not None
        _, end, live, abandoned = best
        end_at = datetime.fromtimestamp(end, UTC)
        return WindowRate(end_at - self.window, end_at, live, abandoned)

    def predictive_allowed(self, now: datetime) -> bool:
        """True while the rate stays below the cap minus the safety margin."""
        return self.rate(now) < self.max_rate - self.safety_margin
