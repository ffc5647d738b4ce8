#!/usr/bin/env python3
"""Benchmark: the live server's API under an open-loop load of a realistic request mix.

Starts ``centrale serve`` as a subprocess on a fresh SQLite database (and, with ``--pg``, on a fresh
PostgreSQL database too), seeds a center through the API — 2 accounts, 4 queues, 100 agents each
with a user, 3 supervisors (all accounts, one per account) and an API token for the integration
that posts new contacts — logs every agent in ready, and then sends requests at a fixed rate
(default 200/s for 30 s, after 3 s of warm-up that is not counted).

The load is **open-loop**: the send times are computed in advance (one every 1/rate seconds) and
each request goes out at its time whether or not earlier ones have been answered, on as many
connections as needed. Latency is measured from the *scheduled* send time to the end of the
response, so time a request spends queued (in the server or in the client) is counted — no
coordinated omission. ``send_lag`` shows how late the client itself was at sending.

The mix (share of requests):

* 45 % ``GET /api/desktop`` — agents' desktops polling (round-robin over the agents);
* 10 % ``GET /api/wallboard`` — supervisors (three scopes: all, acme, globex);
* 7.5 % ``POST /api/interactions`` — new contacts from the integration, over the 4 queues;
* 25 % agent actions — ``POST /api/desktop/interactions/{id}/accept``, ``…/end`` (after 1.5 s of
  talk) and ``…/wrap-up`` (0.5 s later), for offers the agents' polls discovered; an action slot
  with nothing to do becomes a desktop poll (counted in ``actions_substituted``);
* 7.5 % ``GET /api/interactions?limit=50`` — supervisors searching;
* 5 % ``GET /api/reports/intervals`` — supervisors' reports.

Answers 404 and 409 to agent actions are races the API is designed to report (an offer revoked
between poll and accept) and are counted apart (``races``); any other non-2xx answer, timeout or
connection error is an error. The JSON has p50/p90/p99/max latency overall and per endpoint, p99
per second of the run (``p99_ms_by_second``: stalls show up), the server's CPU time and memory
during the measured phase (from ``/proc/<pid>``), on PostgreSQL the CPU time of the database's
backends, the client's CPU time, how many cores the whole machine kept busy meanwhile
(``machine_during_load``: ``other_processes_cores`` above zero means the run was shared), and the
machine (cores, load average, whether the engine is the compiled build).

After the load, each request kind is sent alone ``--costs`` times (default 300), one after the
other, and the server's CPU time per request is taken from ``/proc`` (``cost_per_request_alone``):
unlike latency, that figure hardly depends on what else a shared machine runs. ``GET /api/health``
(no authentication) is the framework's floor and ``GET /api/me`` adds the session look-up. With
``--py-spy PREFIX`` the server is profiled during the load (collapsed stacks, for a flame graph).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/api_load.py [--pg [URL]] [--quick]``. Setup takes
about a minute per database: every user costs an argon2 hash and every login a verification.
Target: p99 ≤ 50 ms at 200 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (
    DEFAULT_PG,
    PASSWORD,
    ROOT,
    HttpError,
    RawClient,
    Server,
    Session,
    SetupError,
    cpu_delta,
    database_name,
    expect,
    load_average,
    login,
    machine,
    machine_busy,
    machine_cpu_seconds,
    percentile,
    postgres_cpu_seconds,
    say,
    server_on,
    sigterm_as_interrupt,
    summary_ms,
)

TARGET_P99_MS = 50.0
TARGET_RATE = 200.0

MIX: dict[str, float] = {
    "desktop": 0.45,
    "wallboard": 0.10,
    "arrival": 0.075,
    "action": 0.25,
    "interactions": 0.075,
    "reports": 0.05,
}
TALK_SECONDS = 1.5
WRAP_SECONDS = 0.5
ACCOUNTS = ("acme", "globex")
QUEUE_SKILLS = {"acme": ("sales", "service"), "globex": ("sales", "support")}
SUPERVISORS = {"sup": ["*"], "sup-acme": ["acme"], "sup-globex": ["globex"]}
RACE_STATUSES = (404, 409)


# --- seeding ---------------------------------------------------------------------------------------------
@dataclass
class Center:
    agents: dict[str, Session]  # agent id -> its user's session
    supervisors: list[Session]
    token: str
    queues: list[str]


def seed(server: Server, n_agents: int) -> Center:
    root = login(server.url, ROOT)
    queues: list[str] = []
    agent_ids = [f"ag{i:04d}" for i in range(n_agents)]
    with httpx.Client(base_url=server.url, headers=root.headers, timeout=60) as c:
        for account in ACCOUNTS:
            expect(c.post("/api/accounts", json={"id": account, "name": account.title()}), 201)
        expect(c.post("/api/dispositions", json={"code": "sale", "label": "Sale", "category": "sale"}), 201)
        expect(
            c.post("/api/dispositions", json={"code": "info", "label": "Info", "category": "resolved"}), 201
        )
        for i, agent in enumerate(agent_ids):  # agents first: a queue may only require known skills
            account = ACCOUNTS[i % len(ACCOUNTS)]
            skills = {f"{account}_{name}": 5 for name in QUEUE_SKILLS[account]}
            body = {
                "id": agent,
                "account": account,
                "name": f"Agent {i:04d}",
                "team": f"team{i % 10}",
                "skills": skills,
            }
            expect(c.post("/api/agents", json=body), 201)
        for account, names in QUEUE_SKILLS.items():
            for name in names:
                qid = f"{account}-{name}"
                doc = {
                    "id": qid,
                    "name": f"{account.title()} {name}",
                    "account": account,
                    "requires": f"{account}_{name} >= 1",
                    "service_level": {"target": 0.8, "threshold": 20},
                    "wrap_up": {"mode": "agent", "max": 300},
                    "offer_timeout": 60,
                }
                expect(c.post("/api/queues", json=doc), 201)
                queues.append(qid)
        started = time.monotonic()
        for i, agent in enumerate(agent_ids):
            account = ACCOUNTS[i % len(ACCOUNTS)]
            user = {
                "username": agent,
                "password": PASSWORD,
                "role": "agent",
                "accounts": [account],
                "agent": agent,
            }
            expect(c.post("/api/users", json=user), 201)
            if (i + 1) % 25 == 0:
                say(f"  {i + 1} users ({time.monotonic() - started:.0f} s)")
        for username, accounts in SUPERVISORS.items():
            user = {"username": username, "password": PASSWORD, "role": "supervisor", "accounts": accounts}
            expect(c.post("/api/users", json=user), 201)
        token = expect(c.post("/api/tokens", json={"name": "integration"}), 201).json()["token"]
    sessions = {}
    for i, agent in enumerate(agent_ids):
        sessions[agent] = login(server.url, agent)
        if (i + 1) % 25 == 0:
            say(f"  {i + 1} agents logged in ({time.monotonic() - started:.0f} s)")
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for s in sessions.values():
            expect(c.post("/api/desktop/login", json={"ready": True}, headers=s.headers), 200)
    supervisors = [login(server.url, name) for name in SUPERVISORS]
    return Center(sessions, supervisors, token, queues)


# --- the load ----------------------------------------------------------------------------------------------
@dataclass(order=True)
class Todo:
    ready_at: float
    seq: int
    agent: str = field(compare=False)
    interaction: str = field(compare=False)
    action: str = field(compare=False)


@dataclass
class Sample:
    label: str
    latency: float
    status: int  # 0: no answer (timeout, connection error)
    measured: bool
    lag: float
    at: float  # scheduled send time, seconds since the load started


class Load:
    """The open-loop driver: a precomputed schedule, fired on time by one asyncio task."""

    def __init__(
        self, server: Server, center: Center, rate: float, duration: float, warmup: float, seed: int
    ):
        self.server = server
        self.center = center
        self.rate = rate
        self.duration = duration
        self.warmup = warmup
        rng = random.Random(seed)
        self.rng = rng
        total = int((warmup + duration) * rate)
        kinds, weights = zip(*MIX.items(), strict=True)
        self.schedule = [(i / rate, kind) for i, kind in enumerate(rng.choices(kinds, weights, k=total))]
        agents = list(center.agents)
        rng.shuffle(agents)
        self.next_agent = itertools.cycle(agents)
        self.next_supervisor = itertools.cycle(center.supervisors)
        self.next_queue = itertools.cycle(center.queues)
        self.contacts = [f"+3120{rng.randrange(10**7):07d}" for _ in range(2000)]
        self.todo: list[Todo] = []
        self.known: set[tuple[str, str]] = set()  # (interaction, action) planned or done
        self.seq = itertools.count()
        self.samples: list[Sample] = []
        self.errors: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.connections = 0
        self.database = database_name(server.database)
        self.db_before = 0.0
        self.started = 0.0
        self.machine_before = (0.0, 0.0)
        self.retries = 0
        self.load_before: list[float] = []
        self.arrival_ids = itertools.count()
        self.server_before: dict[str, float] = {}
        self.measure_started = 0.0

    # what each slot sends ----------------------------------------------------------------------------
    def request(self, kind: str, now: float) -> tuple[str, str, str, dict[str, str], Any, str | None]:
        """(label, method, path, headers, json body, agent whose desktop answer to learn from)."""
        if kind == "action":
            while self.todo and self.todo[0].ready_at <= now:
                t = heapq.heappop(self.todo)
                s = self.center.agents[t.agent]
                path = f"/api/desktop/interactions/{t.interaction}/{t.action}"
                body = None
                if t.action == "wrap-up":
                    body = {"disposition": self.rng.choice(("sale", "info")), "notes": "benchmark"}
                return (
                    f"POST /api/desktop/interactions/{{id}}/{t.action}",
                    "POST",
                    path,
                    s.headers,
                    body,
                    t.agent,
                )
            self.outcomes["actions_substituted"] += 1
            kind = "desktop"
        if kind == "desktop":
            agent = next(self.next_agent)
            return "GET /api/desktop", "GET", "/api/desktop", self.center.agents[agent].headers, None, agent
        if kind == "arrival":
            body = {
                "queue": next(self.next_queue),
                "contact": self.rng.choice(self.contacts),
                "id": f"load-{next(self.arrival_ids)}",
            }
            headers = {"Authorization": f"Bearer {self.center.token}"}
            return "POST /api/interactions", "POST", "/api/interactions", headers, body, None
        sup = next(self.next_supervisor)
        if kind == "wallboard":
            return "GET /api/wallboard", "GET", "/api/wallboard", sup.headers, None, None
        if kind == "interactions":
            return (
                "GET /api/interactions?limit=50",
                "GET",
                "/api/interactions?limit=50",
                sup.headers,
                None,
                None,
            )
        return "GET /api/reports/intervals", "GET", "/api/reports/intervals", sup.headers, None, None

    def plan(self, agent: str, interaction: str, action: str, at: float) -> None:
        key = (interaction, action)
        if key not in self.known:
            self.known.add(key)
            heapq.heappush(self.todo, Todo(at, next(self.seq), agent, interaction, action))

    def learn(self, agent: str, answer: Any, now: float) -> None:
        """Plan the agent's next actions from its desktop: accept offers, end talks, finish wrap-ups."""
        for ix in answer.get("interactions", ()):
            role = ix.get("role")
            if role == "offered":
                self.plan(agent, ix["id"], "accept", now)
            elif role == "connected":
                self.plan(agent, ix["id"], "end", now + TALK_SECONDS)
            elif role == "wrap_up":
                self.plan(agent, ix["id"], "wrap-up", now + WRAP_SECONDS)

    async def fire(self, client: RawClient, scheduled: float, kind: str, measured: bool) -> None:
        loop = asyncio.get_running_loop()
        sent = loop.time()
        label, method, path, headers, body, agent = self.request(kind, sent)
        status = 0
        answer = b""
        try:
            status, answer = await client.request(
                method, path, headers, None if body is None else json.dumps(body).encode()
            )
        except HttpError as exc:
            self.errors[f"{label}: {exc}"[:200]] += 1
        done = loop.time()
        self.samples.append(
            Sample(label, done - scheduled, status, measured, sent - scheduled, scheduled - self.started)
        )
        if 200 <= status < 300:
            self.outcomes[label] += 1
        if agent is not None and status == 200:
            if label == "GET /api/desktop":
                self.learn(agent, json.loads(answer), done)
            elif path.endswith("/accept"):
                self.plan(agent, path.split("/")[-2], "end", done + TALK_SECONDS)
            elif path.endswith("/end"):
                self.plan(agent, path.split("/")[-2], "wrap-up", done + WRAP_SECONDS)
        elif status and not 200 <= status < 300 and not (agent is not None and status in RACE_STATUSES):
            self.errors[f"{label}: HTTP {status} {answer[:120].decode(errors='replace')}"] += 1

    async def run(self) -> dict[str, Any]:
        client = RawClient("127.0.0.1", self.server.port, timeout=10)
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        rusage_before = resource.getrusage(resource.RUSAGE_SELF)
        start = self.started = loop.time() + 0.2
        measure_from = start + self.warmup
        measuring = False
        try:
            for offset, kind in self.schedule:
                at = start + offset
                if not measuring and at >= measure_from:
                    measuring = True
                    self.server_before = self.server.stats()
                    self.db_before = self.db_cpu()
                    self.machine_before = machine_cpu_seconds()
                    self.measure_started = loop.time()
                    self.load_before = load_average()
                delay = at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = loop.create_task(self.fire(client, at, kind, measuring))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            client.close()
        measured_seconds = loop.time() - self.measure_started
        server_after = self.server.stats()
        db_after = self.db_cpu()
        machine_after = machine_cpu_seconds()
        rusage_after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (rusage_after.ru_utime - rusage_before.ru_utime) + (
            rusage_after.ru_stime - rusage_before.ru_stime
        )
        self.connections = client.connections_opened
        self.retries = client.retries
        result = self.report(measured_seconds, server_after, client_cpu)
        busy = machine_busy(self.machine_before, machine_after, measured_seconds)["machine_busy_cores"]
        ours = result["server"]["cpu_seconds"] + client_cpu + (db_after - self.db_before)
        result["machine_during_load"] = {
            "busy_cores": busy,
            "other_processes_cores": round(max(0.0, busy - ours / measured_seconds), 2),
            "note": "cores busy on the whole machine while measuring; other_processes excludes the "
            "server, this client and the PostgreSQL backends (approximately: the client's figure "
            "includes its setup of the schedule)",
        }
        if self.database is not None:
            cpu = db_after - self.db_before
            result["postgresql_backends"] = {
                "cpu_seconds": round(cpu, 2),
                "cpu_utilisation": round(cpu / measured_seconds, 3),
                "cpu_ms_per_request": round(cpu * 1000 / max(1, result["count"]), 2),
            }
        return result

    @staticmethod
    def by_second(samples: list[Sample]) -> list[float]:
        """p99 latency of the requests scheduled in each second of the measured phase: stalls show up."""
        seconds: dict[int, list[float]] = defaultdict(list)
        for s in samples:
            seconds[int(s.at)].append(s.latency)
        return [round(percentile(v, 99) * 1000, 1) for _, v in sorted(seconds.items())]

    def db_cpu(self) -> float:
        return 0.0 if self.database is None else postgres_cpu_seconds(self.database)

    def report(
        self, measured_seconds: float, server_after: dict[str, float], client_cpu: float
    ) -> dict[str, Any]:
        measured = [s for s in self.samples if s.measured]
        ok = [s for s in measured if 200 <= s.status < 300]
        races = Counter(
            str(s.status) for s in measured if s.status in RACE_STATUSES and "desktop/interactions" in s.label
        )
        errors = [
            s
            for s in measured
            if not (200 <= s.status < 300)
            and not (s.status in RACE_STATUSES and "desktop/interactions" in s.label)
        ]
        per: dict[str, list[Sample]] = defaultdict(list)
        for s in measured:
            per[s.label].append(s)
        per_endpoint = {}
        for label, samples in sorted(per.items(), key=lambda kv: -len(kv[1])):
            entry = summary_ms([s.latency for s in samples])
            entry["statuses"] = dict(sorted(Counter(str(s.status) for s in samples).items()))
            per_endpoint[label] = entry
        latency = summary_ms([s.latency for s in measured])
        server = cpu_delta(self.server_before, server_after, measured_seconds)
        return {
            "count": len(measured),
            "achieved_rate": round(len(measured) / self.duration, 1),
            "ok": len(ok),
            "errors": len(errors),
            "error_kinds": dict(self.errors.most_common(10)),
            "races": dict(races),
            "latency": latency,
            "meets_target": bool(latency.get("p99_ms", 1e9) <= TARGET_P99_MS and not errors),
            "per_endpoint": per_endpoint,
            "send_lag": summary_ms([s.lag for s in measured]),
            "p99_ms_by_second": self.by_second(measured),
            "actions_substituted": self.outcomes["actions_substituted"],
            "contacts": {
                "created": self.outcomes["POST /api/interactions"],
                "accepted": self.outcomes["POST /api/desktop/interactions/{id}/accept"],
                "ended": self.outcomes["POST /api/desktop/interactions/{id}/end"],
                "wrapped_up": self.outcomes["POST /api/desktop/interactions/{id}/wrap-up"],
                "note": "whole run, warm-up included",
            },
            "server": server,
            "server_cpu_ms_per_request": round(server["cpu_seconds"] * 1000 / max(1, len(measured)), 2),
            "client_cpu_seconds": round(client_cpu, 2),
            "client_connections_opened": self.connections,
            "client_retries_on_dropped_keepalive": self.retries,
            "measured_seconds": round(measured_seconds, 2),
            "load_average_before": self.load_before,
            "load_average_after": load_average(),
        }


def measure_costs(server: Server, center: Center, n: int) -> dict[str, Any]:
    """Each request kind alone, `n` times one after the other: the server's CPU time per request.

    CPU time, unlike latency, hardly depends on what else the machine runs. ``GET /api/health``
    (no authentication) is the framework's floor; ``GET /api/me`` adds the session look-up.
    """
    agents = list(center.agents.values())
    sup = center.supervisors[0]
    token = {"Authorization": f"Bearer {center.token}"}
    probes: list[tuple[str, str, str, dict[str, str], Any]] = [
        ("GET /api/health", "GET", "/api/health", {}, None),
        ("GET /api/me", "GET", "/api/me", sup.headers, None),
        ("GET /api/desktop", "GET", "/api/desktop", {}, None),
        ("GET /api/wallboard", "GET", "/api/wallboard", sup.headers, None),
        ("GET /api/interactions?limit=50", "GET", "/api/interactions?limit=50", sup.headers, None),
        ("GET /api/reports/intervals", "GET", "/api/reports/intervals", sup.headers, None),
        ("POST /api/interactions", "POST", "/api/interactions", token, None),
    ]

    async def run() -> dict[str, Any]:
        client = RawClient("127.0.0.1", server.port, timeout=30)
        out: dict[str, Any] = {}
        try:
            for label, method, path, headers, _ in probes:
                await client.request(method, path, headers or agents[0].headers)  # warm the connection
                before = server.stats()
                times = []
                for i in range(n):
                    h = headers or agents[i % len(agents)].headers
                    body = None
                    if label == "POST /api/interactions":
                        body = json.dumps({"queue": center.queues[i % len(center.queues)], "id": f"cost-{i}"})
                    t = time.perf_counter()
                    status, _ = await client.request(method, path, h, None if body is None else body.encode())
                    times.append(time.perf_counter() - t)
                    if not 200 <= status < 300:
                        raise SetupError(f"{label} answered {status} while measuring costs")
                after = server.stats()
                lat = summary_ms(times)
                out[label] = {
                    "server_cpu_ms": round((after["cpu_seconds"] - before["cpu_seconds"]) * 1000 / n, 2),
                    "p50_ms": lat["p50_ms"],
                    "p99_ms": lat["p99_ms"],
                }
        finally:
            client.close()
        return out

    return asyncio.run(run())


def one_run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    say(f"[{backend}] starting the server")
    with server_on(backend, args.pg or DEFAULT_PG) as server:
        say(f"[{backend}] seeding: {args.agents} agents with users (argon2: about 1 s per agent)")
        center = seed(server, args.agents)
        setup = time.monotonic() - started
        say(
            f"[{backend}] seeded in {setup:.0f} s; "
            f"load {args.rate:g}/s for {args.warmup:g} + {args.duration:g} s"
        )
        profiler = None
        if args.py_spy:
            out = Path(f"{args.py_spy}-{backend}.txt")
            spy = Path(sys.executable).with_name("py-spy")
            spy_cmd = str(spy) if spy.exists() else shutil.which("py-spy")
            if spy_cmd is None:
                raise SetupError("py-spy is not installed (.venv/bin/pip install py-spy)")
            profiler = subprocess.Popen(
                [
                    spy_cmd,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--duration",
                    str(int(args.warmup + args.duration + 1)),
                    "--nonblocking",
                    "-o",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            load = Load(server, center, args.rate, args.duration, args.warmup, args.seed)
            result = asyncio.run(load.run())
            server.check_alive()
        finally:
            if profiler is not None:
                try:
                    profiler.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    profiler.kill()
                    profiler.wait()
        if args.costs:
            say(f"[{backend}] the server's CPU time per request, each kind alone ({args.costs} each)")
            try:
                result["cost_per_request_alone"] = measure_costs(server, center, args.costs)
            except (HttpError, SetupError) as exc:
                result["cost_per_request_alone"] = {"error": str(exc)}
                say(f"[{backend}] measuring costs failed: {exc}")
        server.check_alive()
        result["server_total"] = {k: round(v, 2) for k, v in server.stats().items()}
        if args.py_spy:
            result["py_spy_profile"] = f"{args.py_spy}-{backend}.txt"
    result = {"database": backend, "setup_seconds": round(setup, 1), **result}
    lat = result["latency"]
    say(
        f"[{backend}] {result['count']} requests, p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
        f"max {lat['max_ms']} ms, errors {result['errors']}, server CPU {result['server']['cpu_utilisation']}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[1])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="requests per second (default 200)")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds (default 30)")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of load before measuring (default 3)"
    )
    parser.add_argument("--agents", type=int, default=100, help="agents, each with a user (default 100)")
    parser.add_argument(
        "--pg",
        nargs="?",
        const=DEFAULT_PG,
        default=None,
        metavar="URL",
        help=f"also run on PostgreSQL: a fresh database on this server (default {DEFAULT_PG})",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run (with --pg)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--costs",
        type=int,
        default=300,
        metavar="N",
        help="after the load, N sequential requests of each kind: server CPU per request (0: skip)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="PREFIX",
        help="profile the server with py-spy during the load (collapsed stacks in PREFIX-<database>.txt)",
    )
    parser.add_argument("--quick", action="store_true", help="10 s of load (the setup is the same)")
    args = parser.parse_args()
    if args.quick:
        args.duration = 10.0
        args.costs = min(args.costs, 100)
    sigterm_as_interrupt()
    backends = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.pg else [])
    if not backends:
        parser.error("nothing to run: --no-sqlite without --pg")
    out: dict[str, Any] = {
        "benchmark": "api_load",
        "target": {"rate": TARGET_RATE, "p99_ms": TARGET_P99_MS},
        "rate": args.rate,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "center": {
            "accounts": len(ACCOUNTS),
            "queues": sum(map(len, QUEUE_SKILLS.values())),
            "agents": args.agents,
            "supervisors": len(SUPERVISORS),
        },
        "mix": MIX,
        "open_loop": True,
        "machine": machine(),
        "runs": {},
    }
    try:
        for backend in backends:
            out["runs"][backend] = one_run(backend, args)
    except (SetupError, HttpError, httpx.HTTPError) as exc:
        what = str(exc) if isinstance(exc, SetupError) else f"{type(exc).__name__}: {exc}"
        print(f"error: {what}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; the server was stopped and its database removed", file=sys.stderr)
        sys.exit(130)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
