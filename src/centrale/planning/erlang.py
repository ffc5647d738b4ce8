"""Erlang B, C and A: the classic queueing formulas behind contact-centre staffing.

Notation (see ``docs/erlang.md``): λ arrivals per second, h the average handle time (AHT) in seconds,
A = λh the offered load in Erlang, n agents, T the service-level threshold, θ = 1/(mean patience).

* **Erlang B** (M/M/n/n) – the probability that a call finds every agent busy and is lost.
* **Erlang C** (M/M/n) – callers wait as long as it takes; needs n > A.
* **Erlang A** (M/M/n+M, Palm 1943; Garnett, Mandelbaum & Reiman 2002) – callers abandon after an
  exponential patience; stable for every n ≥ 1, even when the load exceeds the agents.

Every figure is computed without factorials or powers that could overflow, so the functions stay exact
at tens of thousands of agents and huge loads.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy import special  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "MAX_AGENTS",
    "ErlangAResult",
    "ErlangBResult",
    "ErlangCResult",
    "ErlangError",
    "Staffing",
    "blocking_probability",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "offered_load",
    "positions_for",
    "staff",
]

#: The most agents :func:`staff` will consider before it gives up.
MAX_AGENTS = 100_000

# The Erlang B recursion costs one step per agent; above this many agents the closed form through the
# Poisson distribution (two special-function calls) is cheaper and just as accurate.
_RECURSION_LIMIT = 64

# Targets are compared with this slack so that a figure that meets its target exactly in real arithmetic
# is not rejected because of the last bit of a float.
_TARGET_SLACK = 1e-12


class ErlangError(ValueError):
    """Inputs for which an Erlang model has no meaningful answer; the message says why."""


# --------------------------------------------------------------------------------------------- inputs


def _check_non_negative(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ErlangError(f"{name} must be a finite number ≥ 0, got {value:g}")
    return value


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ErlangError(f"{name} must be a finite number > 0, got {value:g}")
    return value


def _check_agents(agents: int, minimum: int = 0) -> int:
    if isinstance(agents, bool):
        raise ErlangError(f"agents must be a whole number, got {agents!r}")
    try:
        n = operator.index(agents)
    except TypeError:
        raise ErlangError(f"agents must be a whole number, got {agents!r}") from None
    if n < minimum:
        raise ErlangError(f"agents must be at least {minimum}, got {n}")
    return n


def offered_load(calls: float, interval_seconds: float, aht_seconds: float) -> float:
    """The offered load A = λ·h in Erlang: ``calls`` arriving per ``interval_seconds``, each held ``aht``."""
    calls = _check_non_negative("calls", calls)
    interval_seconds = _check_positive("interval length", interval_seconds)
    aht_seconds = _check_positive("average handle time", aht_seconds)
    return calls / interval_seconds * aht_seconds


# ------------------------------------------------------------------------------------------- Erlang B


def _erlang_b_recursive(agents: int, load: float) -> float:
    # B(k) = A·B(k−1) / (k + A·B(k−1)): every term is positive, so nothing cancels and nothing overflows.
    b = 1.0
    for k in range(1, agents + 1):
        ab = load * b
        b = ab / (k + ab)
    return b


def _erlang_b_closed(agents: int, load: float) -> float | None:
    """B(n, A) = Poisson pmf(n; A) / Poisson cdf(n; A), both in log space; None when the cdf underflows."""
    # cdf(n; A) = Q(n + 1, A), the regularised upper incomplete gamma function.
    cdf = float(special.gammaincc(agents + 1, load))
    if not cdf > 1e-280:
        return None
    log_pmf = agents * math.log(load) - load - float(special.gammaln(agents + 1))
    return min(1.0, math.exp(log_pmf - math.log(cdf)))


def blocking_probability(agents: int, load: float) -> float:
    """Erlang B: the probability that a call offered ``load`` Erlang finds all ``agents`` busy.

    Stable for any size: the recursion for small ``agents``, the Poisson ratio in log space above that.
    """
    n = _check_agents(agents)
    load = _check_non_negative("offered load", load)
    if load == 0.0:
        return 1.0 if n == 0 else 0.0
    if n > _RECURSION_LIMIT:
        closed = _erlang_b_closed(n, load)
        if closed is not None:
            return closed
    # Heavy overload (n far below A) underflows the closed form; the recursion has no such problem.
    return _erlang_b_recursive(n, load)


@dataclass(frozen=True, slots=True)
class ErlangBResult:
    """Erlang B (blocked calls cleared) at a given staffing."""

    agents: int
    offered_load: float
    #: Fraction of offered calls that find every agent busy and are lost.
    blocking_probability: float
    #: Carried load per agent: A·(1 − B)/n.
    occupancy: float


def erlang_b(calls: float, interval_seconds: float, aht_seconds: float, agents: int) -> ErlangBResult:
    """Erlang B metrics for ``calls`` per ``interval_seconds`` with the given AHT and agents."""
    load = offered_load(calls, interval_seconds, aht_seconds)
    n = _check_agents(agents)
    b = blocking_probability(n, load)
    occupancy = load * (1.0 - b) / n if n else 0.0
    return ErlangBResult(agents=n, offered_load=load, blocking_probability=b, occupancy=occupancy)


# ------------------------------------------------------------------------------------------- Erlang C


@dataclass(frozen=True, slots=True)
class ErlangCResult:
    """Erlang C (callers wait indefinitely) at a given staffing."""

    agents: int
    offered_load: float
    #: P(W > 0): the fraction of callers who find every agent busy and queue.
    wait_probability: float
    #: Fraction of offered (= answered, nobody abandons) calls answered within the threshold.
    service_level: float
    #: Mean wait of all callers (all of them are answered), seconds.
    asa_seconds: float
    #: A/n: the fraction of time an agent is busy.
    occupancy: float


def _unstable(n: int, load: float) -> ErlangError:
    return ErlangError(
        f"Erlang C needs more agents ({n}) than the offered load ({load:.1f} Erlang): "
        "the queue would grow without bound"
    )


def _wait_probability_c(n: int, load: float, b: float) -> float:
    return n * b / (n - load * (1.0 - b))


def _c_metrics(n: int, load: float, aht: float, threshold: float, b: float) -> ErlangCResult:
    if load == 0.0:
        return ErlangCResult(n, 0.0, 0.0, 1.0, 0.0, 0.0)
    pw = _wait_probability_c(n, load, b)
    service_level = 1.0 - pw * math.exp(-(n - load) * threshold / aht)
    asa = pw * aht / (n - load)
    return ErlangCResult(n, load, pw, service_level, asa, load / n)


def erlang_c(
    calls: float, interval_seconds: float, aht_seconds: float, agents: int, threshold_seconds: float
) -> ErlangCResult:
    """Erlang C metrics; raises :class:`ErlangError` unless agents exceed the offered load."""
    load = offered_load(calls, interval_seconds, aht_seconds)
    threshold = _check_non_negative("service-level threshold", threshold_seconds)
    n = _check_agents(agents, minimum=1 if load else 0)
    if load and n <= load:
        raise _unstable(n, load)
    if n == 0:
        return ErlangCResult(0, 0.0, 0.0, 1.0, 0.0, 0.0)
    return _c_metrics(n, load, aht_seconds, threshold, blocking_probability(n, load))


# ------------------------------------------------------------------------------------------- Erlang A


@dataclass(frozen=True, slots=True)
class ErlangAResult:
    """Erlang A (callers abandon after an exponential patience) at a given staffing."""

    agents: int
    offered_load: float
    #: P(W > 0): the fraction of callers who find every agent busy and queue.
    wait_probability: float
    #: Fraction of *offered* calls answered within the threshold (abandoned calls count as misses).
    service_level: float
    #: Mean wait of *answered* callers only, seconds.
    asa_seconds: float
    #: Carried load per agent: λ·(1 − P(Ab))·h/n.
    occupancy: float
    #: Fraction of offered calls that hang up before an agent answers.
    abandon_probability: float
    #: Mean time in queue of *all* callers, answered or not (= P(Ab)·mean patience), seconds.
    average_wait_seconds: float


def _queue_window(x: float, y: float) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """The queue a waiting caller finds, in Erlang A: ``(k, weights, log 𝒜)``.

    A caller who has to wait finds k others already queued with probability t_k/𝒜 where
    t_k = y^k/((x+1)(x+2)…(x+k)) and 𝒜(x, y) = Σ t_k = x·e^y·γ(x, y)/y^x (GMR 2002). The terms rise to a
    mode at k* = ⌊y − x⌋ (or 0) and then fall at least geometrically, so a window around the mode holds
    all the mass that a double can see. Logs are accumulated from the mode outwards with ``log1p`` so that
    no factorial is ever formed.
    """
    log_y = math.log(y)
    mode = max(0, math.floor(y - x))
    # log t at the mode, for 𝒜 itself (only P(W > 0) needs the absolute size).
    log_t_mode = mode * log_y - float(special.gammaln(x + mode + 1.0) - special.gammaln(x + 1.0))
    # Around the mode log t falls like −m²/(2·max(x, y)); 10 standard deviations reach e^−50.
    width = int(10.0 * math.sqrt(max(x, y)) + 32.0)
    if y < x:
        # Below the mode the terms fall at least like (y/x)^k; no need for the √x-wide window.
        width = min(width, int(60.0 / math.log(x / y)) + 64)
    while True:
        hi = mode + width
        up_k = np.arange(mode + 1, hi + 1, dtype=float)
        # log(t_k / t_{k−1}) = log(y/(x+k)) = −log1p((x + k − y)/y)
        up = np.cumsum(-np.log1p((x + up_k - y) / y))
        ratio_end = y / (x + hi + 1.0)
        # The tail beyond the window is at most t_hi·r/(1 − r) with r the (falling) ratio of terms.
        tail_ok = up[-1] < -40.0 and ratio_end < 1.0 and up[-1] - math.log1p(-ratio_end) < -38.0
        lo = max(0, mode - width)
        down_k = np.arange(mode, lo, -1, dtype=float)
        # log(t_{k−1} / t_k) = log((x+k)/y)
        down = np.cumsum(np.log1p((x + down_k - y) / y))
        head_ok = lo == 0 or down[-1] < -40.0
        if tail_ok and head_ok:
            break
        width *= 2
    log_rel = np.concatenate((down[::-1], [0.0], up))
    ks = np.arange(lo, hi + 1, dtype=float)
    weights = np.exp(log_rel)
    total = float(weights.sum())
    # Drop the terms too small to matter so that later per-term work (betainc, digamma) stays short.
    keep = log_rel > -46.0
    return ks[keep], weights[keep] / total, log_t_mode + math.log(total)


@dataclass(frozen=True, slots=True)
class _ACore:
    """What every Erlang A figure is built from, for one staffing level."""

    n: int
    load: float
    aht: float
    patience: float
    wait_probability: float
    abandon_given_wait: float
    x: float
    ks: NDArray[np.float64]
    weights: NDArray[np.float64]

    @property
    def abandon_probability(self) -> float:
        return self.wait_probability * self.abandon_given_wait

    @property
    def occupancy(self) -> float:
        # Never above 1: at heavy overload rounding in P(Ab) could otherwise show 100.0000000003 %.
        return min(1.0, self.load * (1.0 - self.abandon_probability) / self.n)

    def service_level(self, threshold: float) -> float:
        # A waiting caller who finds k ahead reaches an agent after V = Σ_{j=0..k} Exp(θ(x+j)); e^{−θV}
        # is Beta(x, k+1). They are answered within T iff V ≤ T and patience > V, which has probability
        # E[e^{−θV}; V ≤ T] = x/(x+k+1) · P(Beta(x+1, k+1) ≥ e^{−θT}) = x/(x+k+1) · I_{1−e^{−θT}}(k+1, x+1).
        if self.wait_probability == 0.0:
            return 1.0
        u = -math.expm1(-threshold / self.patience)
        answered = self.x / (self.x + self.ks + 1.0) * special.betainc(self.ks + 1.0, self.x + 1.0, u)
        return 1.0 - self.wait_probability + self.wait_probability * float(np.dot(self.weights, answered))

    def asa_seconds(self) -> float:
        # Mean wait of answered callers: E[V e^{−θV}] / P(answered) per queue length k, where
        # E[V e^{−θV}] = x/(x+k+1) · (ψ(x+k+2) − ψ(x+1)) / θ  (the mean of −log of a Beta(x+1, k+1)).
        if self.wait_probability == 0.0:
            return 0.0
        x, ks = self.x, self.ks
        # ψ(x+k+2) − ψ(x+1) = Σ_{j=1..k+1} 1/(x+j). Summed directly, it keeps its precision when patience is
        # long and x huge, where the two digammas would agree in almost every digit.
        first = ks[0]
        base = float(special.digamma(x + first + 1.0) - special.digamma(x + 1.0)) if first > 0 else 0.0
        harmonic = (
            base + np.cumsum(1.0 / (x + np.arange(first + 1.0, ks[-1] + 2.0)))[(ks - first).astype(int)]
        )
        per_k = x / (x + ks + 1.0) * harmonic
        waited_and_served = self.wait_probability * float(np.dot(self.weights, per_k)) * self.patience
        return waited_and_served / (1.0 - self.abandon_probability)

    def result(self, threshold: float) -> ErlangAResult:
        pab = self.abandon_probability
        return ErlangAResult(
            agents=self.n,
            offered_load=self.load,
            wait_probability=self.wait_probability,
            service_level=self.service_level(threshold),
            asa_seconds=self.asa_seconds(),
            occupancy=self.occupancy,
            abandon_probability=pab,
            average_wait_seconds=pab * self.patience,
        )


def _a_core(n: int, load: float, aht: float, patience: float, b: float | None = None) -> _ACore:
    if load == 0.0:
        empty = np.zeros(0)
        return _ACore(n, 0.0, aht, patience, 0.0, 0.0, 0.0, empty, empty)
    x = n * patience / aht  # nμ/θ
    y = load * patience / aht  # λ/θ
    ks, weights, log_a = _queue_window(x, y)
    if b is None:
        b = blocking_probability(n, load)
    # P(W > 0) = 𝒜B / (1 + (𝒜 − 1)B) = 1 / (1 + (1 − B)/(𝒜B)), written so that a huge 𝒜 gives 1, not inf/inf.
    pw = 1.0 / (1.0 + (1.0 - b) / b * math.exp(-log_a)) if b > 0.0 else 0.0
    # P(Ab | wait) = Σ_k w_k (k+1)/(x+k+1): a caller with k ahead abandons with probability (k+1)/(x+k+1).
    # This equals 1/(ρ𝒜) + 1 − 1/ρ (GMR 2002) but has no cancellation when ρ < 1 and is finite at ρ = 1.
    abandon_given_wait = float(np.dot(weights, (ks + 1.0) / (x + ks + 1.0)))
    return _ACore(n, load, aht, patience, pw, abandon_given_wait, x, ks, weights)


def erlang_a(
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    agents: int,
    threshold_seconds: float,
    patience_seconds: float,
) -> ErlangAResult:
    """Erlang A metrics with exponential patience of mean ``patience_seconds``; needs at least one agent.

    ``patience_seconds=math.inf`` gives the Erlang C figures (nobody abandons), which need n > A.
    """
    load = offered_load(calls, interval_seconds, aht_seconds)
    threshold = _check_non_negative("service-level threshold", threshold_seconds)
    n = _check_agents(agents, minimum=1)
    patience = float(patience_seconds)
    if math.isnan(patience) or patience <= 0:
        raise ErlangError(f"mean patience must be > 0 seconds, got {patience_seconds!r}")
    if math.isinf(patience):
        c = erlang_c(calls, interval_seconds, aht_seconds, n, threshold)
        return ErlangAResult(
            c.agents,
            c.offered_load,
            c.wait_probability,
            c.service_level,
            c.asa_seconds,
            c.occupancy,
            0.0,
            c.asa_seconds,
        )
    return _a_core(n, load, aht_seconds, patience).result(threshold)


# ------------------------------------------------------------------------------------------- staffing


def positions_for(agents: int, shrinkage: float) -> int:
    """Scheduled positions so that ``agents`` remain after ``shrinkage``: ⌈agents / (1 − shrinkage)⌉.

    A small tolerance absorbs float error so that 14/(1 − 0.3) gives 20, not 21.
    """
    shrinkage = float(shrinkage)
    if not 0.0 <= shrinkage < 1.0:
        raise ErlangError(f"shrinkage must be a fraction in [0, 1), got {shrinkage:g}")
    return math.ceil(agents / (1.0 - shrinkage) - 1e-9)


@dataclass(frozen=True, slots=True)
class Staffing:
    """The fewest agents meeting every target, the positions to schedule, and the metrics at that level."""

    agents: int
    positions: int
    metrics: ErlangCResult | ErlangAResult


def _meets(
    metrics: ErlangCResult | ErlangAResult,
    service_level: float | None,
    max_occupancy: float | None,
    max_asa: float | None,
    max_abandon: float | None,
) -> bool:
    if service_level is not None and metrics.service_level < service_level - _TARGET_SLACK:
        return False
    if max_occupancy is not None and metrics.occupancy > max_occupancy + _TARGET_SLACK:
        return False
    if max_asa is not None and metrics.asa_seconds > max_asa + _TARGET_SLACK:
        return False
    return not (
        max_abandon is not None
        and isinstance(metrics, ErlangAResult)
        and metrics.abandon_probability > max_abandon + _TARGET_SLACK
    )


def _describe(
    service_level: float | None,
    threshold: float,
    max_occupancy: float | None,
    max_asa: float | None,
    max_abandon: float | None,
) -> str:
    parts = []
    if service_level is not None:
        parts.append(f"{service_level:.0%} within {threshold:g}s")
    if max_occupancy is not None:
        parts.append(f"occupancy ≤ {max_occupancy:.0%}")
    if max_asa is not None:
        parts.append(f"ASA ≤ {max_asa:g}s")
    if max_abandon is not None:
        parts.append(f"abandonment ≤ {max_abandon:.1%}")
    return ", ".join(parts) or "stability"


def _staff_c(
    load: float,
    aht: float,
    threshold: float,
    service_level: float | None,
    max_occupancy: float | None,
    max_asa: float | None,
    max_agents: int,
) -> ErlangCResult | None:
    # Linear scan from the smallest stable staffing, ⌊A⌋ + 1, carrying Erlang B up one agent at a time:
    # each step is O(1) and no monotonicity has to be assumed.
    n = math.floor(load) + 1
    if max_occupancy is not None:
        # occupancy = A/n ≤ max  ⇔  n ≥ A/max: skip straight there.
        n = max(n, math.ceil(load / max_occupancy - 1e-9))
    if n > max_agents:
        return None
    b = blocking_probability(n, load)
    while True:
        metrics = _c_metrics(n, load, aht, threshold, b)
        if _meets(metrics, service_level, max_occupancy, max_asa, None):
            return metrics
        if n >= max_agents:
            return None
        n += 1
        ab = load * b
        b = ab / (n + ab)


def _staff_a(
    load: float,
    aht: float,
    threshold: float,
    patience: float,
    service_level: float | None,
    max_occupancy: float | None,
    max_asa: float | None,
    max_abandon: float | None,
    max_agents: int,
) -> ErlangAResult | None:
    # n agents answer at most nμ calls per second, so the fraction answered (within T or not) is at most n/A:
    # a service level α needs n ≥ αA and an abandonment cap p needs n ≥ (1 − p)A. Below that nothing works.
    need = 0.0
    if service_level is not None:
        need = max(need, service_level * load)
    if max_abandon is not None:
        need = max(need, (1.0 - max_abandon) * load)
    lo = max(1, math.ceil(need - 1e-9))
    if lo > max_agents:
        return None

    def check(n: int) -> ErlangAResult | None:
        core = _a_core(n, load, aht, patience)
        # Cheap figures first, and each of the others only if a target needs it.
        if max_abandon is not None and core.abandon_probability > max_abandon + _TARGET_SLACK:
            return None
        if max_occupancy is not None and core.occupancy > max_occupancy + _TARGET_SLACK:
            return None
        if service_level is not None and core.service_level(threshold) < service_level - _TARGET_SLACK:
            return None
        if max_asa is not None and core.asa_seconds() > max_asa + _TARGET_SLACK:
            return None
        return core.result(threshold)

    # Square-root staffing, A + √A, is usually within a few agents of the answer: start there.
    guess = min(max(lo, round(load + math.sqrt(load))), max_agents)
    return _first_feasible(check, lo, guess, max_agents)


_T = TypeVar("_T")


def _first_feasible(check: Callable[[int], _T | None], lo: int, guess: int, hi: int) -> _T | None:
    """The result of ``check`` at the smallest n in [lo, hi] where it is not None.

    Assumes feasibility is monotone in n (more agents never hurt; the property tests check this for every
    Erlang A figure). Gallops from ``guess`` to bracket the boundary, then bisects: O(log) probes.
    """
    found = check(guess)
    if found is None:
        # Infeasible at the guess: gallop up.
        bad, step = guess, 1
        while True:
            good = min(bad + step, hi)
            found = check(good)
            if found is not None:
                break
            if good == hi:
                return None
            bad, step = good, step * 2
    else:
        # Feasible at the guess: gallop down until infeasible or at the lower bound.
        good, step = guess, 1
        while True:
            if good == lo:
                return found
            probe_n = max(good - step, lo)
            probe = check(probe_n)
            if probe is None:
                bad = probe_n
                break
            good, found, step = probe_n, probe, step * 2
    while good - bad > 1:
        mid = (bad + good) // 2
        probe = check(mid)
        if probe is None:
            bad = mid
        else:
            good, found = mid, probe
    return found


def staff(
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    *,
    threshold_seconds: float,
    service_level: float | None = None,
    patience_seconds: float | None = None,
    max_occupancy: float | None = None,
    max_asa_seconds: float | None = None,
    max_abandon: float | None = None,
    shrinkage: float = 0.0,
    max_agents: int = MAX_AGENTS,
) -> Staffing:
    """The fewest agents meeting every target given, and the positions to schedule for ``shrinkage``.

    Erlang C unless ``patience_seconds`` is given, then Erlang A. ``service_level`` is the fraction of
    offered calls to answer within ``threshold_seconds``. Raises :class:`ErlangError` for impossible
    targets or when more than ``max_agents`` would be needed.
    """
    load = offered_load(calls, interval_seconds, aht_seconds)
    threshold = _check_non_negative("service-level threshold", threshold_seconds)
    if service_level is not None and not 0.0 < service_level <= 1.0:
        raise ErlangError(f"the service-level target must be a fraction in (0, 1], got {service_level:g}")
    if max_occupancy is not None and not 0.0 < max_occupancy <= 1.0:
        raise ErlangError(f"the maximum occupancy must be a fraction in (0, 1], got {max_occupancy:g}")
    if max_asa_seconds is not None and not max_asa_seconds >= 0.0:
        raise ErlangError(f"the maximum ASA must be ≥ 0 seconds, got {max_asa_seconds:g}")
    if max_abandon is not None:
        if not 0.0 <= max_abandon <= 1.0:
            raise ErlangError(f"the maximum abandonment must be a fraction in [0, 1], got {max_abandon:g}")
        if patience_seconds is None:
            raise ErlangError("an abandonment target needs a mean patience (Erlang A): give patience")
    if patience_seconds is not None and not patience_seconds > 0.0:
        raise ErlangError(f"mean patience must be > 0 seconds, got {patience_seconds:g}")
    _check_agents(max_agents, minimum=1)
    positions_for(0, shrinkage)  # validates shrinkage before any work

    if load == 0.0:
        metrics: ErlangCResult | ErlangAResult
        if patience_seconds is None:
            metrics = ErlangCResult(0, 0.0, 0.0, 1.0, 0.0, 0.0)
        else:
            metrics = ErlangAResult(0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
        return Staffing(0, 0, metrics)

    # With calls arriving, some caller always has a chance of waiting longer than T, of abandoning, or of
    # waiting at all: these targets cannot be met by any number of agents, however large.
    if service_level is not None and service_level >= 1.0:
        raise ErlangError("a 100% service level can never be guaranteed: some caller may always wait longer")
    if max_asa_seconds is not None and max_asa_seconds <= 0.0:
        raise ErlangError("an ASA of 0 s can never be guaranteed: some caller may always have to wait")
    if max_abandon is not None and max_abandon <= 0.0:
        raise ErlangError("an abandonment of 0% can never be guaranteed while callers are impatient")

    found: ErlangCResult | ErlangAResult | None
    if patience_seconds is None or math.isinf(patience_seconds):
        found = _staff_c(
            load, aht_seconds, threshold, service_level, max_occupancy, max_asa_seconds, max_agents
        )
    else:
        found = _staff_a(
            load,
            aht_seconds,
            threshold,
            patience_seconds,
            service_level,
            max_occupancy,
            max_asa_seconds,
            max_abandon,
            max_agents,
        )
    if found is None:
        targets = _describe(service_level, threshold, max_occupancy, max_asa_seconds, max_abandon)
        raise ErlangError(
            f"no staffing up to {max_agents} agents meets {targets} for {load:.1f} Erlang of offered load"
        )
    return Staffing(found.agents, positions_for(found.agents, shrinkage), found)
