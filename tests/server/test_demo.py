"""`centrale demo` end to end: the seeded center, the simulated world on a real server, a human agent,
a restart on the same database, and the command's errors."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import phonenumbers
import pytest
import uvicorn

from centrale.server.app import create_app
from centrale.server.demo import DEMO_PASSWORD, DemoWorld, load_demo
from centrale.server.demo_campaign import install_demo
from centrale.server.root import build
from centrale.server.settings import ServerSettings
from centrale.sim.scenario import Scenario
from server.live import LiveServer, free_port, login

SPEED = 80.0  # the world 80× faster than real time: a minute of the center in 0.75 s
SRC = Path(__file__).resolve().parents[2] / "src"
QUEUES = {"zuid-nl", "zuid-chat", "contoso-en", "contoso-nl", "contoso-outbound"}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_demo()


@contextmanager
def demo_server(
    database: Path, scenario: Scenario, speed: float = SPEED
) -> Iterator[tuple[LiveServer, DemoWorld]]:
    """The demo as `centrale demo` runs it (build, the setup hook, uvicorn), in a thread."""
    port = free_port()
    settings = ServerSettings(
        database=str(database), port=port, timezone=scenario.timezone, interval_seconds=scenario.interval
    )
    services = build(settings)
    world = install_demo(services, scenario, speed=speed)
    config = uvicorn.Config(
        create_app(services),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        loops.append(loop)
        loop.run_until_complete(server.serve())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started and world.users_ready, "the demo did not start", thread=thread)
        yield LiveServer(f"http://127.0.0.1:{port}", services, loops[0]), world
        assert services.writer.running, "whatever the world posted, the writer runs on"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert world.pending_timers == 0, "stop() leaves no timer behind"


def wait_for(
    check: Callable[[], Any], what: str, timeout: float = 10.0, thread: threading.Thread | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline or (thread is not None and not thread.is_alive()):
            raise AssertionError(what)
        time.sleep(0.05)


def finished(client: httpx.Client) -> list[dict[str, Any]]:
    r = client.get("/api/interactions", params={"state": "done", "limit": 1000})
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_the_demo_center_lives_and_a_human_takes_a_call(tmp_path: Path, scenario: Scenario) -> None:
    with demo_server(tmp_path / "demo.db", scenario) as (server, world), server.client() as admin:
        login(admin, "admin", DEMO_PASSWORD)
        # The seeded configuration: two client accounts, their queues, 20 agents.
        assert {a["id"] for a in admin.get("/api/accounts").json()} == {"zuid", "contoso"}
        queues = {q["id"]: q for q in admin.get("/api/queues").json()}
        assert set(queues) == QUEUES
        assert queues["contoso-outbound"]["direction"] == "outbound"
        assert queues["zuid-chat"]["channel"] == "chat"
        assert len(admin.get("/api/agents").json()) == 20
        assert world.seeded > 0 and world.users_created == 24

        # The 19 simulated agents work; agent01 waits for the human.
        def states() -> dict[str, str]:
            return {a["id"]: a["state"] for a in admin.get("/api/wallboard").json()["agents"]}

        now = states()
        assert now["agent01"] == "logged_out"
        assert all(state != "logged_out" for agent, state in now.items() if agent != "agent01")

        # Customers call, are answered, and their calls finish with a disposition and a note.
        done = wait_for(lambda: [i for i in finished(admin) if i["disposition"]], "no call done yet")
        assert all(i["notes"].startswith("Demo: ") and i["agent"] != "agent01" for i in done)
        for item in admin.get("/api/interactions", params={"limit": 1000}).json()["items"]:
            number = phonenumbers.parse(item["contact"])
            assert phonenumbers.is_valid_number(number), item["contact"]
            assert item["contact"].startswith("+316" if item["queue"].endswith("-nl") else ("+316", "+447"))
        board = admin.get("/api/wallboard").json()
        assert sum(q["offered"] for q in board["queues"]) > 0
        assert sum(q["answered"] for q in board["queues"]) > 0
        assert states()["agent01"] == "logged_out"

        # The outbound campaign dials through the simulated trunk and shows on the wallboard.
        def campaign() -> dict[str, Any] | None:
            tiles = admin.get("/api/wallboard").json()["campaigns"]
            tile = next((c for c in tiles if c["id"] == "contoso-winter"), None)
            return tile if tile is not None and tile["dialed"] > 0 else None

        tile = wait_for(campaign, "the demo campaign never dialled")
        assert tile["status"] == "running" and tile["account"] == "contoso"

        # The human logs in as agent01, goes ready and gets offers like everyone else.
        with server.client() as me:
            login(me, "agent01", DEMO_PASSWORD)
            assert me.post("/api/desktop/login", json={"ready": True}).status_code == 200
            n = 0

            def offers() -> list[str]:
                items = me.get("/api/desktop").json()["interactions"]
                return [str(i["id"]) for i in items if i["role"] == "offered"]

            def take_a_call() -> str | None:
                nonlocal n
                if not offers():  # a few more callers, so that a call reaches agent01 soon
                    n += 1
                    for k in range(3):
                        body = {"queue": "zuid-nl", "contact": "+31612345678", "id": f"human-{n}-{k}"}
                        admin.post("/api/interactions", json=body)
                    return None
                # Much longer than a simulated agent takes to answer: the world leaves agent01's
                # offers alone. (The customer may hang up meanwhile: then wait for the next one.)
                time.sleep(0.3)
                for offer in offers():
                    if me.post(f"/api/desktop/interactions/{offer}/accept").status_code == 200:
                        return offer
                return None

            call = wait_for(take_a_call, "agent01 got no call")
            desk = me.get("/api/desktop").json()
            assert desk["agent"]["state"] == "busy"
            assert [i["role"] for i in desk["interactions"] if i["id"] == call] == ["connected"]
            assert me.post(f"/api/desktop/interactions/{call}/end").status_code == 200
            body = {"disposition": "information", "notes": "me"}
            r = me.post(f"/api/desktop/interactions/{call}/wrap-up", json=body)
            assert r.status_code == 200, r.text
            detail = admin.get(f"/api/interactions/{call}").json()
            assert detail["agent"] == "agent01"
            assert (detail["disposition"], detail["notes"]) == ("information", "me")
            assert me.post("/api/desktop/logout").status_code == 200


def test_a_restart_continues_without_seeding_again(tmp_path: Path, scenario: Scenario) -> None:
    database = tmp_path / "demo.db"
    with demo_server(database, scenario) as (server, world), server.client() as admin:
        login(admin, "admin", DEMO_PASSWORD)
        first = {i["id"] for i in wait_for(lambda: finished(admin), "nothing finished")}
        assert world.seeded > 0 and world.users_created == 24

    with demo_server(database, scenario) as (server, world), server.client() as admin:
        assert world.seeded == 0 and world.users_created == 0
        engine = server.services.engine
        counts = (len(engine.accounts), len(engine.queues), len(engine.agents), len(engine.dispositions))
        assert counts == (2, 5, 20, 6)  # 5 seeded dispositions and the campaign's do_not_call
        assert len(server.services.users.list()) == 24
        login(admin, "admin", DEMO_PASSWORD)

        def new_ones() -> set[str]:
            return {i["id"] for i in finished(admin) if i["disposition"]} - first

        fresh = wait_for(new_ones, "the restarted world does not go on")
        assert fresh and not fresh & first
        states = {a["id"]: a["state"] for a in admin.get("/api/wallboard").json()["agents"]}
        assert sum(s != "logged_out" for s in states.values()) == 19 and states["agent01"] == "logged_out"


def test_numbers_are_mobile_numbers_and_some_callers_call_again(tmp_path: Path, scenario: Scenario) -> None:
    world = DemoWorld(None, scenario)  # type: ignore[arg-type]  # numbers need no server
    dutch, british = world.numbers("nl", 300), world.numbers("en", 300)
    assert all(n.startswith("+316") and phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in dutch)
    assert all(n.startswith("+447") and phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in british)
    assert len(set(dutch)) < len(dutch) - 30  # regular callers come back: contact history shows
    # One seeded generator: the same seed, the same customers.
    assert DemoWorld(None, scenario).numbers("nl", 300) == dutch  # type: ignore[arg-type]


def _centrale(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, "-c", "from centrale.cli.main import main; main()", "demo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_refuses_a_busy_port_and_an_unusable_database(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _centrale("--port", str(port), "--database", str(tmp_path / "demo.db"), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert r.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ") and "in use" in r.stderr
    assert not (tmp_path / "demo.db").exists()

    missing = tmp_path / "missing" / "demo.db"
    r = _centrale("--port", str(free_port()), "--database", str(missing), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and r.stderr.startswith("error: ")
    assert "missing" in r.stderr
