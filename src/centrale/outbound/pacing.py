"""Pacing: how many numbers a dialer should dial right now, sans-I/O.

Theory of operation
-------------------
A dialer asks its policy, about once a second and whenever an agent becomes free,
``policy.lines_to_dial(snapshot, now)``. The :class:`PacingSnapshot` is a picture of the campaign
at ``now``: agents free, agents busy (talking or in wrap-up, with how long they have been so),
calls in progress (ringing, with how long), answered calls waiting for an agent, the inbound work
blended agents must take first, and the abandoned/live counts over the regulator's evaluation
window. Results come back through ``policy.observe(...)`` (a dial's ring outcome, a talk time, a
wrap-up time). Policies read no clock and draw no random numbers: the same snapshots and
observations always give the same answers.

Four policies share that interface:

* :class:`Progressive` — one call per free agent, minus calls already ringing; never abandons a
  call that finds its agent still free.
* :class:`FixedRatio` — ``ratio`` lines per free agent.
* :class:`VicidialStyle` — a baseline written from VICIdial's *published description* of its
  adaptive dial methods (see ``docs/dialer.md``): a dial level (lines per active agent) nudged
  every 15 s from the recent average of ready agents minus waiting calls, clamped to 1.0–3.0, reset
  (ADAPT_HARD_LIMIT) or halved (ADAPT_TAPERED, whose allowed drop rate tapers over the shift)
  when the drop rate exceeds its target.
* :class:`Predictive` — model based: online estimates of the live-answer rate, the answer-time
  distribution (a censored product-limit hazard table), talk and wrap-up times; at checkpoints 1 to
  25 s ahead, live answers by then (calls in flight, each by its hazard given its ring time so far,
  plus a binomial for new lines) against agents free 2 s later; the largest line count whose next
  answer finds an agent with probability ≈ Φ(z) at every checkpoint, ``z`` moved by a PI loop on
  the measured window rate; ``z`` raised while the regulator's window has little margin left
  under the cap, and progressive once that margin is spent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, Protocol


class Phase(Enum):
    """What a busy agent of the campaign is doing."""

    TALK = "talk"
    WRAP = "wrap"


class BusyAgent(NamedTuple):
    """An agent who is not free now, and since when (seconds in the current phase)."""

    phase: Phase
    elapsed: float


@dataclass(frozen=True, slots=True)
class PacingSnapshot:
    """The campaign as the dialer sees it at one moment.

    ``ringing`` holds the seconds each call in progress has been ringing (dialled, not yet
    answered or failed). ``waiting`` counts answered calls that wait for an agent now (they
    abandon if none comes within 2 s). ``inbound_waiting`` and ``inbound_rate`` (arrivals per
    second) describe the inbound work blended agents take first. ``window_*`` are the measured
    live and abandoned calls over the evaluation window (``window_elapsed`` seconds of it have
    been observed so far); ``shift_*`` the same since the start of the shift. ``regulated_*`` are
    the live and abandoned calls over the regulator's own window (24 hours for the UK preset,
    30 days for the US one; estimated answering-machine false positives included, hence floats):
    the margin under the cap is what that window can still afford. ``None`` lets the evaluation
    window stand in for it.
    """

    agents_free: int
    busy: Sequence[BusyAgent] = ()
    ringing: Sequence[float] = ()
    waiting: int = 0
    inbound_waiting: int = 0
    inbound_rate: float = 0.0
    window_live: int = 0
    window_abandoned: int = 0
    window_elapsed: float = 0.0
    shift_live: int = 0
    shift_abandoned: int = 0
    shift_elapsed: float = 0.0
    regulated_live: float | None = None
    regulated_abandoned: float | None = None

    @property
    def agents_logged_in(self) -> int:
        return self.agents_free + len(self.busy)

    @property
    def talking(self) -> int:
        return sum(1 for b in self.busy if b.phase is Phase.TALK)


# --- observations --------------------------------------------------------------------------------


class DialResult(NamedTuple):
    """A dial stopped ringing after ``ring_seconds``: answered by a person (``live``) or not."""

    ring_seconds: float
    live: bool


class TalkEnded(NamedTuple):
    seconds: float


class WrapEnded(NamedTuple):
    seconds: float


Observation = DialResult | TalkEnded | WrapEnded


class PacingPolicy(Protocol):
    """The one interface every pacing policy has."""

    name: str

    def lines_to_dial(self, snapshot: PacingSnapshot, now: float) -> int:
        """How many new numbers to dial at ``now`` (≥ 0)."""
        ...

    def observe(self, observation: Observation) -> None:
        """Learn from a finished dial, conversation or wrap-up."""
        ...


def inbound_claim(snapshot: PacingSnapshot, horizon: float = 0.0) -> float:
    """Agents that inbound work takes first: waiting inbound calls plus arrivals within ``horizon``."""
    return snapshot.inbound_waiting + snapshot.inbound_rate * horizon


def progressive_lines(snapshot: PacingSnapshot) -> int:
    """One line per free agent, minus the calls in flight and the inbound work waiting."""
    claimed = len(snapshot.ringing) + snapshot.waiting + snapshot.inbound_waiting
    return max(0, snapshot.agents_free - claimed)


class Progressive:
    """One call per free agent: an answered call always finds its agent (bar blended inbound)."""

    name = "progressive"

    def lines_to_dial(self, snapshot: PacingSnapshot, now: float) -> int:
        return progressive_lines(snapshot)

    def observe(self, observation: Observation) -> None:
        pass


class FixedRatio:
    """``ratio`` lines per free agent (a fixed dial level on ready agents)."""

    def __init__(self, ratio: float = 2.0) -> None:
        if ratio < 1.0:
            raise ValueError("a dial ratio below 1 leaves free agents without calls")
        self.ratio = ratio
        self.name = f"ratio({ratio:g})"

    def lines_to_dial(self, snapshot: PacingSnapshot, now: float) -> int:
        free = max(0.0, snapshot.agents_free - snapshot.inbound_waiting)
        goal = math.floor(self.ratio * free + 1e-9)
        return max(0, goal - len(snapshot.ringing) - snapshot.waiting)

    def observe(self, observation: Observation) -> None:
        pass


# --- the VICIdial-style baseline ------------------------------------------------------------------


class AdaptMode(Enum):
    HARD_LIMIT = "adapt_hard_limit"
    """Over the drop target: back to 1:1 (dial level 1.0) until the rate comes down."""
    TAPERED = "adapt_tapered"
    """The drop target is looser early in the shift and tightens to the limit; over it: halve."""


class VicidialStyle:
    """An adaptive dial level in the manner VICIdial describes its ADAPT_* dial methods.

    Every ``update_every`` seconds the level moves by ``intensity × (mean ready agents − mean
    waiting calls) / active agents`` over the samples since the last update, and is clamped to
    ``[min_level, max_level]``. The dialer keeps ``level × active agents`` lines, counting calls
    ringing, waiting and talking (VICIdial's default tally counts ready and in-call agents).
    The drop rate is the shift's abandoned over live calls; above the (tapered) limit the level
    is reset to the minimum (hard limit) or halved (tapered).
    """

    def __init__(
        self,
        *,
        mode: AdaptMode = AdaptMode.HARD_LIMIT,
        drop_limit: float = 0.03,
        shift_seconds: float = 8 * 3600.0,
        update_every: float = 15.0,
        intensity: float = 1.0,
        min_level: float = 1.0,
        max_level: float = 3.0,
        start_level: float = 1.0,
    ) -> None:
        self.mode = mode
        self.drop_limit = drop_limit
        self.shift_seconds = shift_seconds
        self.update_every = update_every
        self.intensity = intensity
        self.min_level = min_level
        self.max_level = max_level
        self.level = start_level
        self.name = "vicidial" if mode is AdaptMode.HARD_LIMIT else "vicidial_tapered"
        self._last_update: float | None = None
        self._ready_sum = 0.0
        self._waiting_sum = 0.0
        self._samples = 0

    def allowed_drop_rate(self, shift_elapsed: float) -> float:
        """The drop target now: ADAPT_TAPERED allows up to twice the limit at the start of the
        shift, tapering linearly to the limit at mid-shift; the hard limit is flat."""
        if self.mode is AdaptMode.HARD_LIMIT:
            return self.drop_limit
        half = self.shift_seconds / 2
        return self.drop_limit * (1.0 + max(0.0, 1.0 - shift_elapsed / half))

    def _update(self, snapshot: PacingSnapshot, now: float) -> None:
        active = max(1, snapshot.agents_free + snapshot.talking)
        if self._samples:
            diff = (self._ready_sum - self._waiting_sum) / self._samples
            self.level += self.intensity * diff / active
        self.level = min(self.max_level, max(self.min_level, self.level))
        live = snapshot.shift_live
        drop = snapshot.shift_abandoned / live if live else 0.0
        if drop > self.allowed_drop_rate(snapshot.shift_elapsed):
            if self.mode is AdaptMode.HARD_LIMIT:
                self.level = self.min_level
            else:
                self.level = max(self.min_level, self.level / 2)
        self._ready_sum = self._waiting_sum = 0.0
        self._samples = 0
        self._last_update = now

    def lines_to_dial(self, snapshot: PacingSnapshot, now: float) -> int:
        self._ready_sum += snapshot.agents_free
        self._waiting_sum += snapshot.waiting
        self._samples += 1
        if self._last_update is None:
            self._last_update = now
        elif now - self._last_update >= self.update_every:
            self._update(snapshot, now)
        free = max(0, snapshot.agents_free - snapshot.inbound_waiting)
        talking = snapshot.talking
        goal = math.floor(self.level * (free + talking) + 1e-9)
        in_progress = len(snapshot.ringing) + snapshot.waiting + talking
        return max(0, goal - in_progress)

    def observe(self, observation: Observation) -> None:
        pass


# --- estimators -----------------------------------------------------------------------------------


def _norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


class LogNormalEstimate:
    """A duration's distribution as a log-normal, its log-mean and log-variance exponentially
    weighted (``weight`` per observation), starting from a prior mean and coefficient of variation.

    Talk times are skewed and their remaining time depends on how long a call has lasted, which
    an exponential would ignore; the log-normal keeps that with two numbers.
    """

    def __init__(
        self,
        mean: float,
        cv: float,
        *,
        weight: float = 0.02,
        prior_count: float = 20.0,
        min_sigma: float = 0.05,
    ) -> None:
        var = math.log1p(cv * cv)
        self.mu = math.log(mean) - var / 2
        self.var = var
        self.weight = weight
        self.prior_count = prior_count
        self.count = 0
        self.min_sigma = min_sigma

    def observe(self, seconds: float) -> None:
        x = math.log(max(seconds, 0.01))
        # The prior counts as ``prior_count`` observations: the first durations to end — early in
        # a shift, the short ones — move it only partly.
        self.count += 1
        w = max(self.weight, 1.0 / (self.count + self.prior_count))
        delta = x - self.mu
        self.mu += w * delta
        self.var = (1 - w) * (self.var + w * delta * delta)

    @property
    def sigma(self) -> float:
        return max(self.min_sigma, math.sqrt(self.var))

    @property
    def mean(self) -> float:
        s = self.sigma
        return math.exp(self.mu + s * s / 2)

    def cdf(self, t: float) -> float:
        if t <= 0:
            return 0.0
        return _norm_cdf((math.log(t) - self.mu) / self.sigma)

    def ends_within(self, elapsed: float, horizon: float) -> float:
        """P(duration ≤ elapsed + horizon | duration > elapsed)."""
        if horizon <= 0:
            return 0.0
        survived = 1.0 - self.cdf(elapsed)
        if survived <= 1e-12:
            return 1.0
        return min(1.0, max(0.0, (self.cdf(elapsed + horizon) - self.cdf(elapsed)) / survived))


class RingEstimate:
    """The answer-time distribution and live-answer rate, from dials that stopped ringing.

    One-second buckets up to ``max_ring``: ``at_risk[k]`` weighs the dials still ringing at second
    ``k``, ``live[k]`` those answered by a person during second ``k``. Recent dials weigh more (each
    new one by ``1 / decay`` times the previous). A prior of ``prior_weight`` dials with live-answer
    rate ``prior_live`` and answers spread evenly over ``prior_answer_by`` seconds starts it off.
    """

    def __init__(
        self,
        *,
        max_ring: float = 30.0,
        prior_live: float = 0.2,
        prior_answer_by: float = 20.0,
        prior_weight: float = 50.0,
        decay: float = 0.998,
    ) -> None:
        self.buckets = math.ceil(max_ring) + 1
        self.live = [0.0] * self.buckets
        self._w = 1.0
        self._growth = 1.0 / decay
        spread = max(1, min(self.buckets - 1, int(prior_answer_by)))
        for k in range(spread):
            self.live[k] = prior_weight * prior_live / spread
        # Prior dials nobody answers ring to the last bucket (a ring time-out).
        self.at_risk = []
        answered = 0.0
        for k in range(self.buckets):
            self.at_risk.append(prior_weight - answered)
            answered += self.live[k]
        # Tables of answer_within by horizon (whole seconds); rebuilt after `refresh` new dials, as
        # a few dials barely move the estimate and the dialer asks many times a second.
        self._tables: dict[int, list[float]] = {}
        self._cumulative: tuple[list[float], list[float]] | None = None
        self._censored: tuple[list[float], list[float]] | None = None
        self.observed = 0
        self._since = 0
        self.refresh = 25

    def observe(self, ring_seconds: float, live: bool) -> None:
        k = min(self.buckets - 1, max(0, int(ring_seconds)))
        w = self._w
        at_risk = self.at_risk
        for i in range(k + 1):
            at_risk[i] += w
        if live:
            self.live[k] += w
        self._w *= self._growth
        if self._w > 1e6:  # rescale so the weights stay finite
            scale = 1.0 / self._w
            self.at_risk = [x * scale for x in self.at_risk]
            self.live = [x * scale for x in self.live]
            self._w = 1.0
        self.observed += 1
        self._since += 1
        if self._since >= self.refresh:
            self._tables.clear()
            self._cumulative = None
            self._since = 0

    @property
    def live_rate(self) -> float:
        return sum(self.live) / self.at_risk[0] if self.at_risk[0] > 0 else 0.0

    @property
    def mean_answer_seconds(self) -> float:
        total = sum(self.live)
        if total <= 0:
            return 0.0
        return sum((k + 0.5) * x for k, x in enumerate(self.live)) / total

    def census(self, ringing: Sequence[float]) -> None:
        """Count the calls still ringing as at risk up to their elapsed second (censored).

        Without them the estimate would see only the dials that already ended — early in a shift
        the quick ones (busy, failed, fast answers) — and overstate early answers.
        """
        # A call ringing for e seconds has been at risk in every second before int(e) and for a
        # fraction of the current one (counting the current second whole would dilute the hazard).
        whole = [0.0] * self.buckets
        partial = [0.0] * self.buckets
        top = self.buckets - 1
        for e in ringing:
            k = min(top, max(0, int(e)))
            whole[k] += 1.0
            partial[k] += min(1.0, e - k)
        self._censored = (whole, partial)
        self._tables.clear()
        self._cumulative = None

    def answer_by(self, elapsed: int, horizon: int) -> float:
        """P(a person answers within ``horizon`` whole seconds | rung ``elapsed`` whole seconds),
        from the product-limit cumulative table (rebuilt with the hazard tables)."""
        cum = self._cumulative
        if cum is None:
            cum = self._cumulative = self._build_cumulative()
        survive, answered = cum
        n = self.buckets
        if elapsed >= n or survive[elapsed] <= 1e-12:
            return 0.0
        end = min(n, elapsed + horizon)
        return min(1.0, max(0.0, (answered[end] - answered[elapsed]) / survive[elapsed]))

    def _build_cumulative(self) -> tuple[list[float], list[float]]:
        """``survive[k]`` = P(still ringing at second k); ``answered[k]`` = P(live answer before k)."""
        hazard_all, hazard_live = self._hazards()
        survive, answered = [1.0], [0.0]
        for k in range(self.buckets):
            answered.append(answered[-1] + survive[-1] * hazard_live[k])
            survive.append(survive[-1] * (1.0 - hazard_all[k]))
        return survive, answered

    def answer_within(self, elapsed: float, horizon: float) -> float:
        """P(a person answers within ``horizon`` | the call has rung ``elapsed`` s unanswered)."""
        steps = max(1, round(horizon))
        table = self._tables.get(steps)
        if table is None:
            table = self._tables[steps] = self._build(steps)
        k = int(elapsed)
        return table[k] if k < len(table) else 0.0

    def _hazards(self) -> tuple[list[float], list[float]]:
        """Product-limit (Kaplan–Meier) hazards per second — of ending, of a live answer —
        with the censored calls still ringing counted as at risk."""
        n = self.buckets
        at_risk = list(self.at_risk)
        censored = self._censored
        if censored is not None:
            whole, partial = censored
            w, later = self._w, 0.0
            for k in range(n - 1, -1, -1):
                at_risk[k] += w * (later + partial[k])
                later += whole[k]
        ended = [self.at_risk[k] - (self.at_risk[k + 1] if k + 1 < n else 0.0) for k in range(n)]
        hazard_all = [min(1.0, ended[k] / at_risk[k]) if at_risk[k] > 1e-12 else 1.0 for k in range(n)]
        hazard_live = [min(1.0, self.live[k] / at_risk[k]) if at_risk[k] > 1e-12 else 0.0 for k in range(n)]
        return hazard_all, hazard_live

    def _build(self, steps: int) -> list[float]:
        """``answer_within`` for every whole second of elapsed ring time, for one horizon."""
        n = self.buckets
        hazard_all, hazard_live = self._hazards()
        table = []
        for e in range(n):
            survive, total = 1.0, 0.0
            for j in range(e, min(n, e + steps)):
                total += survive * hazard_live[j]
                survive *= 1.0 - hazard_all[j]
                if survive <= 1e-9:
                    break
            table.append(min(1.0, total))
        return table


# --- the predictive policy ----------------------------------------------------------------------


def variance_aware_rate(cap: float, window_lives: float, z: float) -> float:
    """The expected abandon rate r whose Poisson count over a window of ``window_lives`` live
    calls stays ``z`` standard deviations under the cap: r·L + z·√(r·L) = cap·L.

    A campaign of 50 live calls an hour may abandon one call an hour, one of 1,000 about 25; the
    same average rate would breach the small campaign's window far more often.
    """
    if window_lives <= 0:
        return 0.0
    allowed = cap * window_lives
    root = (math.sqrt(z * z + 4 * allowed) - z) / 2
    return root * root / window_lives


@dataclass
class PredictiveSettings:
    """Tuning of :class:`Predictive`; the defaults are those the benchmark uses."""

    max_rate: float = 0.03
    """The regulator's cap on abandoned / live calls."""
    target_rate: float = 0.02
    """The highest window rate the feedback aims for (the cap less a safety margin)."""
    window_seconds: float = 3600.0
    """The evaluation window the measured rate is kept over."""
    z_window: float = 2.0
    """Poisson standard deviations of window noise kept under the cap: the feedback's target is
    ``min(target_rate, variance_aware_rate(max_rate, expected window lives, z_window))``."""
    z_start: float = 1.5
    """Initial safety factor of the balance rule (see :meth:`Predictive.lines_to_dial`)."""
    z_min: float = -0.5
    z_max: float = 4.0
    kp: float = 0.5
    """Proportional gain on the relative error (measured − target) / target of the window rate."""
    ki: float = 3.0
    """Integral gain, per window length, on the same relative error."""
    min_margin: float = 1.0
    """Abandons still affordable in the regulator's window (under ``max_rate``) below which the
    policy dials progressively (at the start of a shift: until the window holds enough live calls
    to afford one abandon)."""
    guard_z: float = 4.0
    guard_span: float = 6.0
    guard_span_per_agent: float = 0.06
    """While the margin is within ``guard_span + guard_span_per_agent × agents`` abandons of
    ``min_margin``, ``z`` is raised by up to ``guard_z`` (linearly, all of it at ``min_margin``):
    a shift's first minutes, or a window that a run of bad luck has nearly filled, spend the
    margin slowly instead of running into the progressive fallback, which idles far more agents
    (at 15 % live answers an agent waits about 100 s per contact). The span grows with the
    campaign because so do the bursts of abandons the calls already ringing can bring. With a
    fixed span of 6 and a raise of 3, 2 of 16 first hours at 100 agents went over 3 % for a
    while; with these defaults none of 64 (20 and 100 agents) did, at the same talk time."""
    warmup_dials: int = 100
    """Dials that must have ended before the model is trusted; progressive until then."""
    warmup_seconds: float = 30.0
    """…and seconds of dialling: until a full cohort of dials has rung out, only the short ones
    have ended."""
    max_step_per_agent: float = 0.5
    """At most this many new lines per logged-in agent in one decision."""
    max_lines_per_agent: float = 6.0
    """At most this many calls ringing per logged-in agent."""
    census_every: float = 2.0
    """Seconds between updates of the ringing calls counted (censored) in the ring estimate."""
    checkpoints: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 10, 13, 16, 20, 25)
    """Seconds ahead at which answers by then are balanced against agents free 2 s later."""
    connect_within: float = 2.0
    talk_prior: float = 180.0
    wrap_prior: float = 15.0
    live_prior: float = 0.2
    count_talkers: bool = False
    """Count agents still talking whose call may end (plus wrap-up) within the checkpoint. Off by
    default: in the benchmark it added risk (the remaining-talk estimate is noisy) and lowered the
    talk time reached at a given abandon rate."""
    refresh_talk_every: int = 20
    """Talk/wrap observations between rebuilds of the cached supply probabilities."""


class Predictive:
    """The model-based predictive policy (see the module docstring and ``docs/dialer.md``).

    For each checkpoint ``t`` seconds ahead it forms ``X_t(n) = D_t(n) − S_t``: live answers by
    ``t`` (answered calls waiting, one Bernoulli per call ringing — the hazard of a live answer
    given its ring time so far — and a binomial for ``n`` new lines) minus agents free by
    ``t + 2`` (free now, one Bernoulli per busy agent given the time in talk or wrap-up). An
    answer abandons when the cumulative demand outruns the cumulative supply, so the policy dials
    the largest ``n`` with ``E[X_t(n)] + z·sd[X_t(n)] ≤ ½`` at every checkpoint (normal
    approximation, continuity-corrected): the next answer at ``t`` finds an agent with probability
    about ``Φ(z)``. That is the marginal rule — a line is worth dialling while the chance that its
    answer is abandoned stays under a threshold — and ``z`` is the one knob: a PI loop moves it
    so that the measured window rate tracks a variance-aware target under 3 %.
    """

    name = "predictive"

    def __init__(self, settings: PredictiveSettings | None = None) -> None:
        self.settings = s = settings or PredictiveSettings()
        self.talk = LogNormalEstimate(s.talk_prior, 1.0)
        self.wrap = LogNormalEstimate(s.wrap_prior, 0.2)
        self.ring = RingEstimate(prior_live=s.live_prior)
        self.z = s.z_start
        self.integral = 0.0
        self._last: float | None = None
        self._census_at: float | None = None
        self._supply_cache: dict[tuple[bool, int, int], float] = {}
        self._since_refresh = 0
        self.last_target = 0.0
        self.fallbacks = 0

    def observe(self, observation: Observation) -> None:
        if isinstance(observation, DialResult):
            self.ring.observe(observation.ring_seconds, observation.live)
            return
        if isinstance(observation, TalkEnded):
            self.talk.observe(observation.seconds)
        else:
            self.wrap.observe(observation.seconds)
        self._since_refresh += 1
        if self._since_refresh >= self.settings.refresh_talk_every:
            self._supply_cache.clear()
            self._since_refresh = 0

    def free_within(self, agent: BusyAgent, within: float) -> float:
        """P(a busy agent is free within ``within`` seconds), from its phase and elapsed time
        (cached by half-second of elapsed time and whole second of ``within``)."""
        key = (agent.phase is Phase.TALK, int(agent.elapsed * 2), round(within))
        p = self._supply_cache.get(key)
        if p is None:
            elapsed = key[1] / 2
            if key[0]:
                p = self.talk.ends_within(elapsed, key[2] - self.wrap.mean)
            else:
                p = self.wrap.ends_within(elapsed, key[2])
            self._supply_cache[key] = p
        return p

    def margin(self, snapshot: PacingSnapshot) -> float:
        """Abandons the regulator's window (or, without one, the evaluation window) can still
        afford under the cap."""
        if snapshot.regulated_live is not None and snapshot.regulated_abandoned is not None:
            return self.settings.max_rate * snapshot.regulated_live - snapshot.regulated_abandoned
        return self.settings.max_rate * snapshot.window_live - snapshot.window_abandoned

    def guard(self, margin: float, agents: int = 0) -> float:
        """The extra safety added to ``z`` at this margin (0 when the margin is comfortable)."""
        s = self.settings
        span = s.guard_span + s.guard_span_per_agent * agents
        if span <= 0:
            return 0.0
        return s.guard_z * max(0.0, 1.0 - (margin - s.min_margin) / span)

    def window_target(self, snapshot: PacingSnapshot) -> float:
        """The window rate aimed at: low enough that Poisson noise rarely lifts a window over
        the cap (a campaign of 50 live calls an hour can afford one abandon, not 1.25)."""
        s = self.settings
        seen = max(snapshot.window_elapsed, 300.0)
        expected_lives = snapshot.window_live * s.window_seconds / seen
        return min(s.target_rate, variance_aware_rate(s.max_rate, expected_lives, s.z_window))

    def update_feedback(self, snapshot: PacingSnapshot, now: float) -> float:
        """Move ``z`` from the measured window rate against its target; returns ``z``."""
        s = self.settings
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        target = self.window_target(snapshot)
        self.last_target = target
        if snapshot.window_live <= 0 or target <= 0:
            return self.z
        measured = snapshot.window_abandoned / snapshot.window_live
        error = (measured - target) / max(target, 0.005)
        error = max(-1.0, min(2.0, error))
        self.integral += s.ki * error * dt / s.window_seconds
        base = s.z_start + self.integral
        # Anti-windup: the integral stops where z would leave its range.
        if base > s.z_max or base < s.z_min:
            base = max(s.z_min, min(s.z_max, base))
            self.integral = base - s.z_start
        self.z = max(s.z_min, min(s.z_max, base + s.kp * error))
        return self.z

    def checkpoint_terms(self, snapshot: PacingSnapshot) -> list[tuple[float, float, float]]:
        """For each checkpoint ``t``: the mean and variance of demand by ``t`` minus supply by
        ``t + 2`` before any new line, and ``g`` = P(a new line is answered live by ``t``)."""
        s = self.settings
        ring = self.ring
        top = ring.buckets - 1
        ringing_hist: dict[int, int] = {}
        for e in snapshot.ringing:
            k = min(top, int(e))
            ringing_hist[k] = ringing_hist.get(k, 0) + 1
        out = []
        wrap_mean = self.wrap.mean
        for t in s.checkpoints:
            mean = float(snapshot.waiting)
            var = 0.0
            for k, count in ringing_hist.items():
                p = ring.answer_by(k, t)
                mean += count * p
                var += count * p * (1.0 - p)
            within = t + s.connect_within
            mean -= snapshot.agents_free - inbound_claim(snapshot, within)
            for b in snapshot.busy:
                if b.phase is Phase.TALK and (within <= wrap_mean or not s.count_talkers):
                    continue
                q = self.free_within(b, within)
                mean -= q
                var += q * (1.0 - q)
            out.append((mean, var, ring.answer_by(0, t)))
        return out

    def lines_to_dial(self, snapshot: PacingSnapshot, now: float) -> int:
        s = self.settings
        inbound_soon = round(snapshot.inbound_rate * (self.ring.mean_answer_seconds + s.connect_within))
        progressive = max(0, progressive_lines(snapshot) - inbound_soon)
        z = self.update_feedback(snapshot, now)
        warm = (
            self.ring.observed >= s.warmup_dials
            and max(snapshot.shift_elapsed, snapshot.window_elapsed) >= s.warmup_seconds
        )
        margin = self.margin(snapshot)
        if not warm or margin < s.min_margin:
            self.fallbacks += 1
            return progressive
        agents = snapshot.agents_logged_in
        cap = min(
            int(s.max_lines_per_agent * agents) - len(snapshot.ringing),
            max(1, int(s.max_step_per_agent * agents)),
        )
        if cap <= progressive:
            return progressive
        if self._census_at is None or now - self._census_at >= s.census_every:
            self.ring.census(snapshot.ringing)
            self._census_at = now
        terms = self.checkpoint_terms(snapshot)
        z += self.guard(margin, agents)

        def ok(n: int) -> bool:
            for mean, var, g in terms:
                m = mean + n * g
                v = var + n * g * (1.0 - g)
                if m + z * math.sqrt(v) > 0.5:
                    return False
            return True

        if not ok(0):
            return progressive
        good, step = 0, 1
        bad = cap + 1
        while good + step <= cap:
            if ok(good + step):
                good += step
                step *= 2
            else:
                bad = good + step
                break
        else:
            # The doubling stopped short of the cap: try the cap itself.
            if ok(cap):
                return max(progressive, cap)
            bad = cap
        while bad - good > 1:
            mid = (good + bad) // 2
            if ok(mid):
                good = mid
            else:
                bad = mid
        return max(progressive, good)


__all__ = [
    "AdaptMode",
    "BusyAgent",
    "DialResult",
    "FixedRatio",
    "LogNormalEstimate",
    "Observation",
    "PacingPolicy",
    "PacingSnapshot",
    "Phase",
    "Predictive",
    "PredictiveSettings",
    "Progressive",
    "RingEstimate",
    "TalkEnded",
    "VicidialStyle",
    "WrapEnded",
    "inbound_claim",
    "progressive_lines",
    "variance_aware_rate",
]
