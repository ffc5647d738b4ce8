#!/usr/bin/env python3
"""Benchmark: routing decisions of the engine with many agents, queues and waiting interactions.

Builds an engine with 200 queues (each requiring 1–2 of 50 skills with a minimum proficiency),
N agents (3–8 skills each, proficiency 1–10) and 5,000 interactions waiting, spread over the
queues while every agent is not ready. Then it measures two kinds of decision:

* **agent → interaction** (the headline figure): one agent goes ``AgentReady`` and the engine picks
  the best waiting interaction among every target the agent matches (an ``Offer``). Only that
  ``handle`` call is timed. Untimed, the agent then asks for not-ready (pending), accepts, ends the
  call (it goes not ready), and a new arrival in the same queue replaces the taken interaction, so
  every queue keeps its line and ~5,000 keep waiting;
* **interaction → agent** (``arrival_*`` keys): on a second engine where every agent is ready and
  nothing waits, one ``InteractionArrived`` is timed (the engine pops the best ready agent of the
  queue's pool); untimed, the call is accepted and ended and the agent is ready again.

Prints one JSON object (a list with ``--all``)::

    {"benchmark": "routing", "agents": 10000, "decisions_per_second": …, "p50_ms": …, "p99_ms": …}

Run: ``.venv/bin/python benchmarks/routing.py --agents 10000`` or ``--all`` (1,000, 10,000 and
50,000 agents). Target at 10,000 agents: ≥ 50,000 decisions/s on one core, p99 ≤ 1 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from centrale.core.commands import Command, Offer
from centrale.core.config import Account, AgentConfig, EngineConfig, QueueConfig
from centrale.core.engine import Engine
from centrale.core.events import (
    AgentLoggedIn,
    AgentNotReady,
    AgentReady,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
)
from centrale.core.expressions import parse

ALL_SIZES = (1_000, 10_000, 50_000)


@dataclass
class Model:
    """The generated contact center: queue requirements and agent skills."""

    config: EngineConfig
    queue_ids: list[str]
    agent_ids: list[str]
    eligible: dict[str, list[str]]  # queue → agents that match it
    targets_per_agent: list[int]  # how many queues each agent matches


def build_model(agents: int, queues: int, skills: int, seed: int) -> Model:
    rng = random.Random(seed)
    skill_names = [f"s{i:02d}" for i in range(skills)]
    queue_cfgs: list[QueueConfig] = []
    needs: list[list[tuple[str, int]]] = []
    for i in range(queues):
        # 70 % of the queues need one skill, 30 % two; minimum proficiency 1–5.
        need = [(s, rng.randint(1, 5)) for s in rng.sample(skill_names, 1 if rng.random() < 0.7 else 2)]
        needs.append(need)
        text = " and ".join(f"{s} >= {m}" for s, m in need)
        queue_cfgs.append(QueueConfig(id=f"q{i:03d}", account="main", channel="voice", requires=parse(text)))
    agent_cfgs = [
        AgentConfig(
            id=f"a{i:05d}",
            account="main",
            skills={s: rng.randint(1, 10) for s in rng.sample(skill_names, rng.randint(3, 8))},
            team=f"t{i % 100:02d}",
        )
        for i in range(agents)
    ]
    # Who matches what, computed from the plain requirements (the engine works it out itself).
    eligible: dict[str, list[str]] = {q.id: [] for q in queue_cfgs}
    per_agent: list[int] = []
    for a in agent_cfgs:
        n = 0
        sk = a.skills
        for q, need in zip(queue_cfgs, needs, strict=True):
            if all(sk.get(s, 0) >= m for s, m in need):
                eligible[q.id].append(a.id)
                n += 1
        per_agent.append(n)
    config = EngineConfig(
        accounts=(Account("main"),),
        queues=tuple(queue_cfgs),
        agents=tuple(agent_cfgs),
        skills=frozenset(skill_names),
    )
    return Model(config, [q.id for q in queue_cfgs], [a.id for a in agent_cfgs], eligible, per_agent)


def _offer(commands: list[Command]) -> Offer | None:
    for c in commands:
        if type(c) is Offer:
            return c
    return None


def _percentile(sorted_ns: list[int], p: float) -> float:
    if not sorted_ns:
        return float("nan")
    k = min(len(sorted_ns) - 1, max(0, round(p / 100 * len(sorted_ns)) - 1))
    return sorted_ns[k] / 1e6


def _clock_overhead_ns() -> int:
    """What a thread-CPU-time reading around two perf_counter_ns readings costs by itself."""
    tclock, clock = time.thread_time_ns, time.perf_counter_ns
    samples = []
    for _ in range(20_000):
        c = tclock()
        clock()
        clock()
        samples.append(tclock() - c)
    samples.sort()
    return samples[len(samples) // 2]


def _cpu_figures(prefix: str, cpu: list[int], overhead: int) -> dict[str, Any]:
    """Per-call thread CPU time: immune to the preemption of a shared machine (unlike wall time)."""
    net = sorted(max(0, c - overhead) for c in cpu)
    total = sum(net)
    return {
        f"{prefix}cpu_decisions_per_second": round(len(net) / (total / 1e9), 1) if total else None,
        f"{prefix}cpu_p50_ms": round(_percentile(net, 50), 5),
        f"{prefix}cpu_p99_ms": round(_percentile(net, 99), 5),
        f"{prefix}cpu_p999_ms": round(_percentile(net, 99.9), 5),
    }


def _per_target_fit(cpu: list[int], targets: list[int]) -> dict[str, Any]:
    """Least squares: CPU µs per decision = fixed + per_target × (targets the agent matches)."""
    cap = sorted(cpu)[int(len(cpu) * 0.99)]  # leave out the slowest 1 % (GC pauses)
    pairs = [(t, c / 1e3) for t, c in zip(targets, cpu, strict=True) if c <= cap]
    fit = statistics.linear_regression([t for t, _ in pairs], [c for _, c in pairs])
    return {
        "cpu_us_fixed": round(fit.intercept, 2),
        "cpu_us_per_matched_target": round(fit.slope, 3),
    }


def _figures(prefix: str, timings: list[int], batches: int = 10) -> dict[str, Any]:
    total = sum(timings)
    s = sorted(timings)
    size = max(1, len(timings) // batches)
    best_batch = max(
        (
            len(timings[i : i + size]) / (sum(timings[i : i + size]) / 1e9)
            for i in range(0, len(timings), size)
        ),
        default=float("nan"),
    )
    return {
        f"{prefix}decisions_per_second": round(len(timings) / (total / 1e9), 1) if total else None,
        f"{prefix}best_batch_decisions_per_second": round(best_batch, 1),
        f"{prefix}mean_ms": round(total / len(timings) / 1e6, 5) if timings else None,
        f"{prefix}p50_ms": round(_percentile(s, 50), 5),
        f"{prefix}p99_ms": round(_percentile(s, 99), 5),
        f"{prefix}p999_ms": round(_percentile(s, 99.9), 5),
        f"{prefix}max_ms": round(s[-1] / 1e6, 3) if s else None,
    }


def agent_ready_decisions(
    model: Model, waiting: int, decisions: int, seed: int, notify: bool
) -> tuple[dict[str, Any], Engine]:
    """The headline figure: an agent becomes ready and the engine picks its interaction."""
    rng = random.Random(seed + 1)
    t0 = time.perf_counter()
    engine = Engine(model.config, notify=notify)
    handle = engine.handle
    now = 1_000.0
    for a in model.agent_ids:
        handle(AgentLoggedIn(a, ready=False), now)
    # Waiting interactions go to queues that some agent can serve (others would only sit there).
    served = [q for q in model.queue_ids if model.eligible[q]]
    queue_of: dict[str, str] = {}
    seq = 0
    for i in range(waiting):
        q = served[i % len(served)] if i < len(served) else rng.choice(served)
        seq += 1
        iid = f"i{seq}"
        queue_of[iid] = q
        now += 0.01
        handle(InteractionArrived(iid, q), now)
    setup = time.perf_counter() - t0
    candidates = [a for a, n in zip(model.agent_ids, model.targets_per_agent, strict=True) if n > 0]
    rng.shuffle(candidates)
    matched = dict(zip(model.agent_ids, model.targets_per_agent, strict=True))
    chosen: list[int] = []  # targets matched by the agent of each decision
    timings: list[int] = []
    append = timings.append
    clock, tclock = time.perf_counter_ns, time.thread_time_ns
    cpu: list[int] = []
    cpu_append = cpu.append
    missed = 0
    loop_cpu = time.process_time()
    for k in range(decisions):
        agent = candidates[k % len(candidates)]
        chosen.append(matched[agent])
        now += 0.01
        ev = AgentReady(agent)
        c = tclock()
        t = clock()
        out = handle(ev, now)
        t2 = clock()
        c2 = tclock()
        append(t2 - t)
        cpu_append(c2 - c)
        offer = _offer(out)
        if offer is None:  # nothing this agent may take (cannot happen while lines are kept full)
            missed += 1
            handle(AgentNotReady(agent), now)
            continue
        handle(AgentNotReady(agent), now)  # pending: not ready after this call
        handle(OfferAccepted(offer.interaction, agent), now)
        handle(InteractionEnded(offer.interaction), now)
        q = queue_of.pop(offer.interaction)
        seq += 1
        iid = f"i{seq}"
        queue_of[iid] = q
        handle(InteractionArrived(iid, q), now)
    loop_cpu = time.process_time() - loop_cpu
    still = sum(engine.waiting(q) for q in model.queue_ids)
    figures = _figures("", timings)
    overhead = _clock_overhead_ns()
    figures.update(_cpu_figures("", cpu, overhead))
    figures.update(_per_target_fit([max(0, c - overhead) for c in cpu], chosen))
    figures.update(
        {
            "decisions": len(timings),
            "missed": missed,
            "waiting_at_end": still,
            "setup_seconds": round(setup, 3),
            "loop_cpu_seconds_incl_untimed_steps": round(loop_cpu, 3),
        }
    )
    return figures, engine


def arrival_decisions(model: Model, arrivals: int, seed: int, notify: bool) -> dict[str, Any]:
    """The other direction: an arrival is offered straight to the best ready agent."""
    rng = random.Random(seed + 2)
    t0 = time.perf_counter()
    engine = Engine(model.config, notify=notify)
    handle = engine.handle
    now = 1_000.0
    for a in model.agent_ids:
        handle(AgentLoggedIn(a, ready=True), now)
    served = [q for q in model.queue_ids if model.eligible[q]]
    seq = 0
    # Warm up: create every queue's routing target (one pass over the agents each) untimed.
    for q in served:
        seq += 1
        now += 0.01
        offer = _offer(handle(InteractionArrived(f"w{seq}", q), now))
        if offer is not None:
            handle(OfferAccepted(offer.interaction, offer.agent), now)
            handle(InteractionEnded(offer.interaction), now)
    setup = time.perf_counter() - t0
    timings: list[int] = []
    append = timings.append
    clock, tclock = time.perf_counter_ns, time.thread_time_ns
    cpu: list[int] = []
    cpu_append = cpu.append
    missed = 0
    for _ in range(arrivals):
        q = rng.choice(served)
        seq += 1
        now += 0.01
        ev = InteractionArrived(f"x{seq}", q)
        c = tclock()
        t = clock()
        out = handle(ev, now)
        t2 = clock()
        c2 = tclock()
        append(t2 - t)
        cpu_append(c2 - c)
        offer = _offer(out)
        if offer is None:
            missed += 1
            continue
        handle(OfferAccepted(offer.interaction, offer.agent), now)
        handle(InteractionEnded(offer.interaction), now)  # the agent is ready again
    ready_entries = sum(p.entries() for p in engine.pools.values())
    members = sum(len(p.members) for p in engine.pools.values())
    figures = _figures("arrival_", timings)
    figures.update(_cpu_figures("arrival_", cpu, _clock_overhead_ns()))
    figures.update(
        {
            "arrival_decisions": len(timings),
            "arrival_missed": missed,
            "arrival_setup_seconds": round(setup, 3),
            "arrival_ready_heap_entries_per_member": round(ready_entries / max(1, members), 2),
        }
    )
    return figures


def run(args: argparse.Namespace, agents: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = build_model(agents, args.queues, args.skills, args.seed)
    build = time.perf_counter() - t0
    gc.collect()
    result: dict[str, Any] = {
        "benchmark": "routing",
        "agents": agents,
        "queues": args.queues,
        "skills": args.skills,
        "waiting": args.waiting,
    }
    figures, engine = agent_ready_decisions(model, args.waiting, args.decisions, args.seed, args.notify)
    result.update(figures)
    result["setup_seconds"] = round(figures["setup_seconds"] + build, 3)
    per_agent = model.targets_per_agent
    result["targets_per_agent_mean"] = round(statistics.fmean(per_agent), 2)
    result["targets_per_agent_max"] = max(per_agent)
    result["agents_without_target"] = sum(1 for n in per_agent if n == 0)
    result["queues_without_agents"] = sum(1 for q in model.queue_ids if not model.eligible[q])
    waiting_entries = sum(len(t.waiting) for t in engine.targets.values())
    result["waiting_heap_entries"] = waiting_entries
    del engine
    gc.collect()
    if args.arrivals > 0:
        result.update(arrival_decisions(model, args.arrivals, args.seed, args.notify))
    result["notify"] = args.notify
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    result["python"] = sys.version.split()[0]
    result["engine_compiled"] = not _pure_python()
    return result


def _pure_python() -> bool:
    import centrale.core.engine as mod

    return (mod.__file__ or "").endswith(".py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000, help="number of agents (default 10,000)")
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--waiting", type=int, default=5_000, help="interactions kept waiting")
    parser.add_argument("--decisions", type=int, default=200_000, help="timed agent-ready decisions")
    parser.add_argument(
        "--arrivals", type=int, default=50_000, help="timed arrival-to-ready-agent decisions (0: skip)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--notify", action="store_true", help="engine with notifications on (as a live server runs it)"
    )
    parser.add_argument("--all", action="store_true", help="run 1,000, 10,000 and 50,000 agents")
    args = parser.parse_args()
    if args.all:
        out: list[dict[str, Any]] = []
        for n in ALL_SIZES:
            out.append(run(args, n))
            print(json.dumps(out[-1]), file=sys.stderr)
        print(json.dumps(out, indent=1))
    else:
        print(json.dumps(run(args, args.agents), indent=1))


if __name__ == "__main__":
    main()
