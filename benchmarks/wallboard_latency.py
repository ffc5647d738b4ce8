#!/usr/bin/env python3
"""Benchmark: how soon a change reaches wallboards — 1,000 agents, 50 screens on the SSE stream.

Starts ``centrale serve`` as a subprocess on a fresh SQLite database, seeds through the API a center
of 2 accounts, 4 queues and ``--agents`` agents (default 1,000; no users for them: logging 1,000
agents in would cost 1,000 argon2 verifications) and one supervisor, and puts 70 % of the agents
in a state with the supervisor API (``POST /api/agents/{id}/state``: half of them ready, a fifth not
ready). Then ``--clients`` wallboards (default 50) connect to ``GET /api/wallboard/events`` as that
supervisor; each receives ``event: wallboard`` with the full JSON snapshot whenever it changes
(≤ 4 per second).

Then, at a steady ``--rate`` (default 5 changes/s for 30 s), the benchmark changes one agent's
state (each change a different agent, to a state it is not in: ready, not ready or logged out) and
measures, for every wallboard, the time from the change's HTTP response to the arrival of the first
snapshot in which that agent shows the new state. Reported: p50/p99/max over all (change,
wallboard) pairs (a few can be slightly negative: the snapshot may overtake the HTTP response),
the snapshot's size, snapshots per second per wallboard, the delivery delay (server's build time
stamp ``at`` to arrival), and the server's CPU time and memory during the changes.

The wallboards run in a **separate process** (this script with ``--sse-worker``, on asyncio with a
minimal HTTP/1.1 reader: one JSON parse per distinct snapshot, not one per screen), so the process
that makes changes and takes their response times is not slowed by parsing 50 streams. Both use
``time.monotonic()`` (CLOCK_MONOTONIC, the same clock in every process).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/wallboard_latency.py [--quick]`` (``--quick``:
10 s of changes). Target: a change is on every wallboard ≤ 1 s after it happened.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (
    DEFAULT_PG,
    PASSWORD,
    ROOT,
    SESSION_COOKIE,
    HttpError,
    RawClient,
    Server,
    Session,
    SetupError,
    cpu_delta,
    load_average,
    login,
    machine,
    machine_busy,
    machine_cpu_seconds,
    say,
    server_on,
    sigterm_as_interrupt,
    summary_ms,
)

TARGET_SECONDS = 1.0
ACCOUNTS = ("acme", "globex")
QUEUE_SKILLS = {"acme": ("sales", "service"), "globex": ("sales", "support")}
STATES = ("ready", "not_ready", "logged_out")


# --- seeding ---------------------------------------------------------------------------------------------
async def _all(
    client: RawClient, requests: list[tuple[str, str, dict[str, str], Any]], width: int = 16
) -> None:
    """Send the requests `width` at a time (the writer stores what arrives together in one transaction)."""
    it = iter(requests)

    async def worker() -> None:
        for method, path, headers, body in it:
            status, answer = await client.request(method, path, headers, json.dumps(body).encode())
            if not 200 <= status < 300:
                raise SetupError(
                    f"{method} {path} answered {status}: {answer[:300].decode(errors='replace')}"
                )

    await asyncio.gather(*(worker() for _ in range(width)))


def seed(server: Server, n_agents: int, rng: random.Random) -> tuple[Session, dict[str, str]]:
    """The center, the supervisor's session, and every agent's state."""
    root = login(server.url, ROOT)
    agents = [f"ag{i:04d}" for i in range(n_agents)]
    states: dict[str, str] = {}
    for agent in agents:
        x = rng.random()
        states[agent] = "ready" if x < 0.5 else "not_ready" if x < 0.7 else "logged_out"

    async def run() -> None:
        client = RawClient("127.0.0.1", server.port, timeout=60)
        h = root.headers
        try:
            await _all(
                client, [("POST", "/api/accounts", h, {"id": a, "name": a.title()}) for a in ACCOUNTS], 1
            )
            await _all(client, [("POST", "/api/dispositions", h, {"code": "done", "label": "Done"})], 1)
            bodies = []
            for i, agent in enumerate(agents):
                account = ACCOUNTS[i % len(ACCOUNTS)]
                skills = {f"{account}_{name}": rng.randint(1, 9) for name in QUEUE_SKILLS[account]}
                body = {
                    "id": agent,
                    "account": account,
                    "name": f"Agent {i:04d}",
                    "team": f"team{i % 40:02d}",
                    "site": ("Amsterdam", "Utrecht")[i % 2],
                    "skills": skills,
                }
                bodies.append(("POST", "/api/agents", h, body))
            await _all(client, bodies)
            say(f"  {n_agents} agents added")
            queues = []
            for account, names in QUEUE_SKILLS.items():
                for name in names:
                    doc = {
                        "id": f"{account}-{name}",
                        "name": f"{account.title()} {name}",
                        "account": account,
                        "requires": f"{account}_{name} >= 1",
                        "wrap_up": {"mode": "agent", "max": 300},
                    }
                    queues.append(("POST", "/api/queues", h, doc))
            await _all(client, queues, 1)
            sup = {"username": "sup", "password": PASSWORD, "role": "supervisor", "accounts": ["*"]}
            await _all(client, [("POST", "/api/users", h, sup)], 1)
        finally:
            client.close()

    asyncio.run(run())
    supervisor = login(server.url, "sup")

    async def set_states() -> None:
        client = RawClient("127.0.0.1", server.port, timeout=60)
        try:
            await _all(
                client,
                [
                    (
                        "POST",
                        f"/api/agents/{agent}/state",
                        supervisor.headers,
                        {"state": state, "reason": "break"},
                    )
                    for agent, state in states.items()
                    if state != "logged_out"
                ],
            )
        finally:
            client.close()

    asyncio.run(set_states())
    say(f"  {sum(s != 'logged_out' for s in states.values())} agents logged in")
    return supervisor, states


# --- the wallboards (a separate process) -------------------------------------------------------------------
class Wallboards:
    """`n` SSE clients; records when each snapshot arrived at each, and parses each distinct snapshot once."""

    def __init__(self, port: int, cookie: str, n: int) -> None:
        self.port = port
        self.cookie = cookie
        self.n = n
        self.arrivals: list[list[tuple[float, float, bytes]]] = [
            [] for _ in range(n)
        ]  # (monotonic, wall, key)
        self.snapshots: dict[bytes, tuple[float, int, dict[str, str]]] = {}  # key -> (at, bytes, states)
        self.connected = 0
        self.all_connected = asyncio.Event()
        self.failures: list[str] = []

    async def client(self, i: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 24)
        except OSError as exc:
            self.failures.append(f"connect: {exc}")
            return
        try:
            writer.write(
                f"GET /api/wallboard/events HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Cookie: {SESSION_COOKIE}={self.cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if int(head[9:12]) != 200 or b"chunked" not in head.lower():
                self.failures.append(f"wallboard {i}: {head[:200]!r}")
                return
            buf = b""
            mine = self.arrivals[i]
            first = True
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    return
                buf += chunk[:-2]
                while True:
                    end = buf.find(b"\n\n")
                    if end < 0:
                        break
                    message, buf = buf[:end], buf[end + 2 :]
                    if message.startswith(b"event: wallboard\ndata: "):
                        now, wall = time.monotonic(), time.time()
                        data = message[23:]
                        key = data[6 : data.index(b",")]  # {"at":<build time>,…: one per build
                        if key not in self.snapshots:
                            board = json.loads(data)
                            states = {row["id"]: row["state"] for row in board["agents"]}
                            self.snapshots[key] = (float(board["at"]), len(data), states)
                        mine.append((now, wall, key))
                        if first:
                            first = False
                            self.connected += 1
                            if self.connected == self.n:
                                self.all_connected.set()
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.failures.append(f"wallboard {i}: {type(exc).__name__}: {exc}")
        finally:
            writer.close()

    def results(self, changes: list[dict[str, Any]], window: tuple[float, float]) -> dict[str, Any]:
        latencies: list[float] = []
        missed = 0
        per_change_worst: list[float] = []
        for change in changes:
            worst = None
            for mine in self.arrivals:
                start = bisect.bisect_left(mine, (change["sent"],))
                for now, _, key in mine[start:]:
                    if self.snapshots[key][2].get(change["agent"]) == change["state"]:
                        latency = now - change["answered"]
                        latencies.append(latency)
                        worst = latency if worst is None else max(worst, latency)
                        break
                else:
                    missed += 1
            if worst is not None:
                per_change_worst.append(worst)
        lo, hi = window
        rates = [sum(1 for now, _, _ in mine if lo <= now < hi) / (hi - lo) for mine in self.arrivals]
        delivery = [
            wall - self.snapshots[key][0]
            for mine in self.arrivals
            for now, wall, key in mine
            if lo <= now < hi
        ]
        sizes = [size for _, size, _ in self.snapshots.values()]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "pairs": len(latencies),
            "missed_pairs": missed,
            "latency": summary_ms(latencies),
            "latency_worst_wallboard_per_change": summary_ms(per_change_worst),
            "snapshot_bytes": {"min": min(sizes), "mean": round(sum(sizes) / len(sizes)), "max": max(sizes)},
            "snapshots_per_second_per_wallboard": {
                "min": round(min(rates), 2),
                "mean": round(sum(rates) / len(rates), 2),
                "max": round(max(rates), 2),
            },
            "distinct_snapshots": len(self.snapshots),
            "delivery_from_build": summary_ms(delivery),
            "wallboard_process_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "wallboard_failures": self.failures[:5],
        }


async def sse_worker() -> None:
    """Read the set-up line from stdin, connect, say ready, wait for the changes, print the results."""
    loop = asyncio.get_running_loop()
    setup = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    boards = Wallboards(setup["port"], setup["cookie"], setup["clients"])
    tasks = [loop.create_task(boards.client(i)) for i in range(boards.n)]
    try:
        await asyncio.wait_for(boards.all_connected.wait(), 60)
    except TimeoutError:
        print(json.dumps({"error": f"only {boards.connected} wallboards connected: {boards.failures[:3]}"}))
        return
    print(json.dumps({"ready": True}), flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if not line:
        return  # the benchmark went away
    done = json.loads(line)
    print(json.dumps(boards.results(done["changes"], tuple(done["window"]))), flush=True)


# --- the changes -------------------------------------------------------------------------------------------
def make_changes(
    server: Server,
    supervisor: Session,
    states: dict[str, str],
    rate: float,
    duration: float,
    rng: random.Random,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One state change every 1/rate s, on schedule; each on an agent not changed before."""
    agents = list(states)
    rng.shuffle(agents)
    count = int(rate * duration)
    if count > len(agents):
        raise SetupError(f"{count} changes need as many agents; there are {len(agents)}")

    async def run() -> tuple[list[dict[str, Any]], list[float], list[str]]:
        client = RawClient("127.0.0.1", server.port, timeout=10)
        changes: list[dict[str, Any]] = []
        http: list[float] = []
        errors: list[str] = []
        start = time.monotonic() + 0.1
        try:
            for i, agent in zip(range(count), itertools.cycle(agents), strict=False):
                at = start + i / rate
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                new = rng.choice([s for s in STATES if s != states[agent]])
                sent = time.monotonic()
                try:
                    status, answer = await client.request(
                        "POST",
                        f"/api/agents/{agent}/state",
                        supervisor.headers,
                        json.dumps({"state": new, "reason": "break"}).encode(),
                    )
                except HttpError as exc:
                    errors.append(f"{agent}: {exc}")
                    continue
                answered = time.monotonic()
                http.append(answered - sent)
                if status != 200:
                    errors.append(f"{agent}: HTTP {status} {answer[:200].decode(errors='replace')}")
                    continue
                shown = json.loads(answer)["state"]
                states[agent] = shown
                changes.append({"agent": agent, "state": shown, "sent": sent, "answered": answered})
        finally:
            client.close()
        return changes, http, errors

    changes, http, errors = asyncio.run(run())
    return changes, {"changes": len(changes), "change_errors": errors[:10], "change_http": summary_ms(http)}


def run_wallboards(
    server: Server,
    supervisor: Session,
    states: dict[str, str],
    args: argparse.Namespace,
    rng: random.Random,
    out: dict[str, Any],
) -> None:
    """Connect the wallboards (a separate process), make the changes, and put the figures in `out`.

    The wallboard process is always stopped here, before the server: a server stopping gracefully
    waits for its open event streams.
    """
    backend = out["database"]
    worker: subprocess.Popen[str] | None = None
    try:
        say(f"[{backend}] connecting {args.clients} wallboards (a separate process)")
        worker = subprocess.Popen(
            [sys.executable, __file__, "--sse-worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(
            json.dumps({"port": server.port, "cookie": supervisor.cookie, "clients": args.clients}) + "\n"
        )
        worker.stdin.flush()
        hello = json.loads(worker.stdout.readline() or '{"error": "the wallboard process exited"}')
        if "error" in hello:
            raise SetupError(hello["error"])
        time.sleep(1.0)  # let the connection burst settle
        say(f"[{backend}] {args.rate:g} changes/s for {args.duration:g} s")
        before, load_before, t0 = server.stats(), load_average(), time.monotonic()
        machine_before = machine_cpu_seconds()
        changes, figures = make_changes(server, supervisor, states, args.rate, args.duration, rng)
        t1 = time.monotonic()
        server.check_alive()
        after = server.stats()
        machine_after = machine_cpu_seconds()
        time.sleep(2.0)  # the last changes' snapshots
        worker.stdin.write(json.dumps({"changes": changes, "window": [t0, t1]}) + "\n")
        worker.stdin.flush()
        line = worker.stdout.readline()
        if not line:
            raise SetupError("the wallboard process gave no results")
        boards = json.loads(line)
        out.update(figures)
        out.update(boards)
        out["meets_target"] = bool(
            boards["latency"].get("p99_ms", 1e9) <= TARGET_SECONDS * 1000 and not boards["missed_pairs"]
        )
        out["server"] = cpu_delta(before, after, t1 - t0)
        busy = machine_busy(machine_before, machine_after, t1 - t0)["machine_busy_cores"]
        out["machine_during_changes"] = {
            "busy_cores": busy,
            "other_processes_cores_approx": round(
                max(
                    0.0,
                    busy
                    - out["server"]["cpu_utilisation"]
                    - boards["wallboard_process_cpu_seconds"] / (t1 - t0),
                ),
                2,
            ),
        }
        out["load_average_before"] = load_before
        out["load_average_after"] = load_average()
    finally:
        if worker is not None:
            if worker.poll() is None:
                worker.kill()
            worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[1])
    parser.add_argument("--agents", type=int, default=1000, help="agents (default 1,000)")
    parser.add_argument("--clients", type=int, default=50, help="wallboards on the SSE stream (default 50)")
    parser.add_argument("--rate", type=float, default=5.0, help="state changes per second (default 5)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of changes (default 30)")
    parser.add_argument(
        "--pg",
        nargs="?",
        const=DEFAULT_PG,
        default=None,
        metavar="URL",
        help="run on PostgreSQL (a fresh database on this server) instead of SQLite",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="10 s of changes")
    parser.add_argument("--sse-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sse_worker:
        with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
            asyncio.run(sse_worker())
        return
    if args.quick:
        args.duration = 10.0
    sigterm_as_interrupt()
    backend = "postgresql" if args.pg else "sqlite"
    rng = random.Random(args.seed)
    out: dict[str, Any] = {
        "benchmark": "wallboard_latency",
        "target_seconds": TARGET_SECONDS,
        "database": backend,
        "agents": args.agents,
        "wallboards": args.clients,
        "change_rate": args.rate,
        "duration_seconds": args.duration,
        "wallboards_in_separate_process": True,
        "machine": machine(),
    }
    try:
        started = time.monotonic()
        with server_on(backend, args.pg or DEFAULT_PG) as server:
            say(f"[{backend}] seeding {args.agents} agents")
            supervisor, states = seed(server, args.agents, rng)
            out["setup_seconds"] = round(time.monotonic() - started, 1)
            run_wallboards(server, supervisor, states, args, rng, out)
    except (SetupError, HttpError, httpx.HTTPError) as exc:
        what = str(exc) if isinstance(exc, SetupError) else f"{type(exc).__name__}: {exc}"
        print(f"error: {what}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; the server was stopped and its database removed", file=sys.stderr)
        sys.exit(130)
    lat = out["latency"]
    say(
        f"[{backend}] {out['pairs']} (change, wallboard) pairs: p50 {lat.get('p50_ms')} ms, "
        f"p99 {lat.get('p99_ms')} ms, max {lat.get('max_ms')} ms; missed {out['missed_pairs']}"
    )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
