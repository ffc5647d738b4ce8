"""The Erlang A model (M/M/n+M) in SimPy, with the figures centrale's simulator reports.

Used by ``benchmarks/simulate.py`` as the reference: one ``simpy.Resource`` of agents, a Poisson
source, each customer a process that requests an agent and gives up after an exponential patience
(``req | env.timeout(patience)``), exponential service. It keeps the same counters per interval as
the engine's statistics (calls counted in the interval in which they *arrived*; agent time split at
interval boundaries) and produces the same per-interval table, so the comparison is like for like.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

# Bucket fields, as in centrale.core.stats.
OFFERED, ANSWERED, ABANDONED, WITHIN, WAIT_ANSWERED, HANDLED, TALK = range(7)


@dataclass(frozen=True)
class ErlangA:
    agents: int
    rate_per_second: float
    handle_mean: float
    patience_mean: float
    threshold: float
    duration: float  # arrivals during [0, duration)
    drain: float  # agents keep serving this long after
    interval: float


def run(model: ErlangA, seed: int) -> dict[str, Any]:
    """One run: totals and per-interval rows (offered, answered, abandoned, within, ASA, AHT, occupancy)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=model.agents)
    step = model.interval
    end = model.duration
    n_int = int(-(-end // step))
    buckets = [[0.0] * 7 for _ in range(n_int)]
    busy = [0.0] * n_int  # busy agent-seconds per interval, within [0, end)
    expo = rng.expovariate
    rate = model.rate_per_second
    inv_h, inv_p = 1.0 / model.handle_mean, 1.0 / model.patience_mean
    threshold = model.threshold

    def add_busy(s: float, e: float) -> None:
        if e > end:
            e = end
        while s < e:
            idx = int(s // step)
            boundary = (idx + 1) * step
            part = (e if e < boundary else boundary) - s
            busy[idx] += part
            s = boundary

    def customer(arrived: float) -> Generator[Any, Any, None]:
        b = buckets[int(arrived // step)]
        b[OFFERED] += 1
        patience = expo(inv_p)
        with agents.request() as req:
            got = yield req | env.timeout(patience)
            if req not in got:
                b[ABANDONED] += 1
                return
            wait = env.now - arrived
            b[ANSWERED] += 1
            b[WAIT_ANSWERED] += wait
            if wait <= threshold:
                b[WITHIN] += 1
            talk = expo(inv_h)
            yield env.timeout(talk)
            b[HANDLED] += 1
            b[TALK] += talk
            add_busy(env.now - talk, env.now)

    def source() -> Generator[Any, Any, None]:
        t = 0.0
        while True:
            t += expo(rate)
            if t >= end:
                return
            yield env.timeout(t - env.now)
            env.process(customer(t))

    env.process(source())
    env.run(until=end + model.drain)

    staffed_per_interval = [model.agents * (min(end, (i + 1) * step) - i * step) for i in range(n_int)]
    rows = []
    for i, b in enumerate(buckets):
        rows.append(
            {
                "interval": i,
                "offered": int(b[OFFERED]),
                "answered": int(b[ANSWERED]),
                "abandoned": int(b[ABANDONED]),
                "answered_within_target": int(b[WITHIN]),
                "service_level": b[WITHIN] / b[OFFERED] if b[OFFERED] else None,
                "asa_seconds": b[WAIT_ANSWERED] / b[ANSWERED] if b[ANSWERED] else None,
                "aht_seconds": b[TALK] / b[HANDLED] if b[HANDLED] else None,
                "abandon_rate": b[ABANDONED] / b[OFFERED] if b[OFFERED] else None,
                "occupancy": busy[i] / staffed_per_interval[i],
                "wait_answered_seconds": b[WAIT_ANSWERED],
                "talk_seconds": b[TALK],
                "handled": int(b[HANDLED]),
            }
        )
    tot = [sum(b[k] for b in buckets) for k in range(7)]
    totals = {
        "offered": int(tot[OFFERED]),
        "answered": int(tot[ANSWERED]),
        "abandoned": int(tot[ABANDONED]),
        "answered_within_target": int(tot[WITHIN]),
        "service_level": tot[WITHIN] / tot[OFFERED],
        "asa_seconds": tot[WAIT_ANSWERED] / tot[ANSWERED],
        "aht_seconds": tot[TALK] / tot[HANDLED],
        "abandon_rate": tot[ABANDONED] / tot[OFFERED],
        "occupancy": sum(busy) / sum(staffed_per_interval),
    }
    return {"totals": totals, "intervals": rows}
