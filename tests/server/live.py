"""A real server for tests: uvicorn on a free port in a thread, with a small seeded center."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from centrale.core.config import (
    Account,
    AgentConfig,
    Disposition,
    EngineConfig,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.expressions import parse
from centrale.server.app import create_app
from centrale.server.root import build
from centrale.server.seed import config_events
from centrale.server.services import Services
from centrale.server.settings import ServerSettings

PASSWORD = "correct horse battery"
WEBHOOKS = True


def small_center() -> EngineConfig:
    """Two client accounts (acme, globex), a queue each, four agents, two dispositions."""
    skills = frozenset({"acme", "globex"})
    return EngineConfig(
        accounts=(Account("acme", "ACME"), Account("globex", "Globex")),
        dispositions=(Disposition("sale", "Sale", "sale"), Disposition("info", "Information", "resolved")),
        queues=(
            QueueConfig(
                "acme-nl",
                "acme",
                "voice",
                parse("acme >= 1", known_skills=skills),
                name="ACME NL",
                wrap_up=WrapUp(WrapUpMode.AGENT, 120.0),
                offer_timeout=30.0,
            ),
            QueueConfig(
                "globex-en",
                "globex",
                "voice",
                parse("globex >= 1", known_skills=skills),
                name="Globex EN",
                wrap_up=WrapUp(WrapUpMode.AGENT, 120.0),
                offer_timeout=30.0,
            ),
        ),
        agents=(
            AgentConfig("a1", "acme", {"acme": 5}, name="Anna"),
            AgentConfig("a2", "acme", {"acme": 5}, name="Bram"),
            AgentConfig("g1", "globex", {"globex": 5}, name="Grace"),
            AgentConfig("g2", "globex", {"globex": 5}, name="Gus"),
        ),
        skills=skills,
    )


@dataclass
class Seeder:
    """A worker that submits configuration events once the writer runs, and creates users."""

    services: Services
    events: Sequence[Any]
    users: Sequence[tuple[str, str, Sequence[str], str | None]]

    async def start(self) -> None:
        for event in self.events:
            await self.services.writer.submit(event)
        for username, role, accounts, agent in self.users:
            if self.services.users.get(username) is None:
                self.services.users.create(username, PASSWORD, role, accounts, agent)

    def stop(self) -> None:
        return None


USERS = (
    ("admin", "administrator", (), None),
    ("sup", "supervisor", ("*",), None),
    ("anna", "agent", ("acme",), "a1"),
    ("bram", "agent", ("acme",), "a2"),
    ("grace", "agent", ("globex",), "g1"),
    ("acmeview", "viewer", ("acme",), None),
    ("acmesup", "supervisor", ("acme",), None),
    ("globexview", "viewer", ("globex",), None),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    services: Services
    loop: asyncio.AbstractEventLoop

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the server's event loop (the engine's thread) and return its result."""

        async def run() -> Any:
            result = fn()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    @contextmanager
    def client(self, username: str | None = None) -> Iterator[httpx.Client]:
        """An HTTP client for the server, logged in as `username` when given."""
        with httpx.Client(base_url=self.url, timeout=10) as c:
            if username is not None:
                login(c, username)
            yield c


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    r = client.post("/api/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    me: dict[str, Any] = r.json()
    client.headers["X-CSRF-Token"] = me["csrf"]
    return me


@contextmanager
def serve(
    database: str,
    *,
    config: EngineConfig | None = None,
    users: Sequence[Any] = USERS,
    settings: dict[str, Any] | None = None,
    seed: bool = True,
) -> Iterator[LiveServer]:
    port = free_port()
    s = ServerSettings(database=database, port=port, **{"webhooks": WEBHOOKS, **(settings or {})})
    services = build(s)
    events = config_events(config or small_center(), services.engine) if seed else []
    services.workers.insert(0, Seeder(services, events, users if seed else ()))
    app = create_app(services)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
    )
    loops: list[asyncio.AbstractEventLoop] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        loops.append(loop)
        loop.run_until_complete(server.serve())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", services, loops[0])
    finally:
        server.should_exit = True
        thread.join(timeout=20)
