"""Crash test: `centrale serve` killed with SIGKILL under traffic, then restarted on the same database.

Everything a client was told happened must still be there afterwards: every interaction the API
acknowledged, every agent's state, the figures; and the restarted server goes on working.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from server.live import PASSWORD, free_port, login

CLI = [sys.executable, "-c", "from centrale.cli.main import main; main()"]
QUEUE = {
    "id": "sales",
    "name": "Sales",
    "account": "acme",
    "requires": "sales >= 1",
    "wrap_up": {"mode": "agent", "max": 300},
    "offer_timeout": 60,
}
AGENTS = [f"ag{i}" for i in range(6)]


@contextmanager
def server_process(database: str, port: int, log: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`centrale serve` (with `extra` options) in a process of its own, once it answers /api/health."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*CLI, "serve", "--database", database, "--port", str(port), *extra], stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@contextmanager
def _admin(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as c:
        login(c, "root")
        yield c


def _setup(url: str) -> None:
    with _admin(url) as c:
        assert c.post("/api/accounts", json={"id": "acme", "name": "ACME"}).status_code == 201
        assert (
            c.post(
                "/api/dispositions", json={"code": "done", "label": "Done", "category": "resolved"}
            ).status_code
            == 201
        )
        r = c.post("/api/queues", json=QUEUE)
        assert r.status_code == 201, r.text
        for a in AGENTS:
            r = c.post("/api/agents", json={"id": a, "account": "acme", "skills": {"sales": 5}})
            assert r.status_code == 201, r.text
            r = c.post(
                "/api/users",
                json={"username": a, "password": PASSWORD, "role": "agent", "accounts": ["acme"], "agent": a},
            )
            assert r.status_code == 201, r.text


def _agent_loop(c: httpx.Client, stop: threading.Event) -> None:
    """A scripted agent: take whatever is offered, talk briefly, wrap up, now and then a break."""
    n = 0
    agent = c.headers["X-Agent"]
    try:  # the test closes the client
        c.post("/api/desktop/login", json={"ready": True})
        while not stop.is_set():
            n += 1
            desk = c.get("/api/desktop").json()
            for ix in desk["interactions"]:
                path = f"/api/desktop/interactions/{ix['id']}"
                if ix["role"] == "offered":
                    c.post(path + "/accept")
                elif ix["role"] == "connected":
                    c.post(path + "/end")
                else:
                    c.post(path + "/wrap-up", json={"disposition": "done", "notes": f"by {agent}"})
            if n % 25 == 0 and desk["agent"]["state"] == "ready":
                c.post("/api/desktop/not-ready", json={"reason": "break"})
            elif desk["agent"]["state"] == "not_ready":
                c.post("/api/desktop/ready")
            time.sleep(0.02)
    except httpx.HTTPError:
        return  # the server was killed under us: that is the test


def _customers(c: httpx.Client, acknowledged: list[str], stop: threading.Event) -> None:
    i = 0
    try:
        while not stop.is_set():
            i += 1
            r = c.post(
                "/api/interactions", json={"queue": "sales", "contact": f"+3120{i:07d}", "id": f"c{i}"}
            )
            if r.status_code == 201:
                acknowledged.append(r.json()["id"])
            time.sleep(0.01)
    except httpx.HTTPError:
        return


def _state(url: str) -> dict[str, Any]:
    with _admin(url) as c:
        agents = {a["id"]: a["state"] for a in c.get("/api/agents").json()}
        board = c.get("/api/wallboard").json()
        (tile,) = board["queues"]
        return {
            "agents": agents,
            "offered": tile["offered"],
            "answered": tile["answered"],
            "waiting": tile["waiting"],
        }


def test_kill_9_under_traffic_loses_nothing(tmp_path: Path) -> None:
    database = str(tmp_path / "centrale.db")
    log = tmp_path / "server.log"
    env_ok = subprocess.run(
        [*CLI, "admin", "create", "root", "--database", database],
        input=PASSWORD.encode(),
        capture_output=True,
        timeout=60,
    )
    assert env_ok.returncode == 0, env_ok.stderr.decode()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    with server_process(database, port, log) as proc:
        _setup(url)
        stop = threading.Event()
        clients = []
        for user in [*AGENTS, "root"]:  # log in first: argon2 takes its time on a busy machine
            c = httpx.Client(base_url=url, timeout=5, headers={"X-Agent": user})
            login(c, user)
            clients.append(c)
        threads = [threading.Thread(target=_agent_loop, args=(c, stop)) for c in clients[:-1]]
        threads.append(threading.Thread(target=_customers, args=(clients[-1], acknowledged, stop)))
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # mid-traffic: requests are in flight
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
        for c in clients:
            c.close()
    assert len(acknowledged) > 30, "too little traffic to mean anything"

    with server_process(database, port, log):
        with _admin(url) as c:
            stored = set()
            offset = 0
            while True:
                page = c.get("/api/interactions", params={"limit": 1000, "offset": offset}).json()["items"]
                stored |= {i["id"] for i in page}
                if len(page) < 1000:
                    break
                offset += 1000
        missing = set(acknowledged) - stored
        assert not missing, f"acknowledged interactions lost in the crash: {sorted(missing)[:10]}"
        # Quiesce, then a clean kill at rest: the restarted server must show exactly the same state.
        before = _state(url)
        assert before["offered"] >= len(acknowledged)
        with _admin(url) as c:
            r = c.post(
                "/api/interactions", json={"queue": "sales", "contact": "+31209999999", "id": "after-restart"}
            )
            assert r.status_code == 201  # the restarted server goes on working
        before = _state(url)
        proc2_state = before
    with server_process(database, port, log):
        assert _state(url) == proc2_state
