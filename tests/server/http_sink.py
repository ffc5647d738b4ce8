"""A tiny HTTP/1.1 server for tests: records every request and answers with scripted statuses.

Built on ``asyncio.start_server`` (no web framework): it understands exactly what an HTTP client
such as httpx sends — a request line, headers, a ``Content-Length`` body — and keeps the
connection open for the next request. Runs on the test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 500: "Server Error"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class HttpSink:
    """``async with HttpSink([500, 200]) as sink``: answers 500, then 200, then `default` forever.

    `delay` holds every answer back that many seconds (to make a client time out). `port` 0 picks
    a free one; pass a former sink's port to come back on the same address.
    """

    def __init__(
        self, statuses: Iterable[int] = (), *, default: int = 200, delay: float = 0.0, port: int = 0
    ):
        self.script: deque[int] = deque(statuses)
        self.default = default
        self.delay = delay
        self.port = port
        self.requests: list[Request] = []
        self.arrived = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> HttpSink:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> HttpSink:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Request]:
        """Wait until at least `count` requests arrived; return them all."""
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.requests

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Request(method, path, headers, body))
                self.arrived.set()
                status = self.script.popleft() if self.script else self.default
                if self.delay:
                    await asyncio.sleep(self.delay)
                answer = b"ok"
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
                    f"Content-Type: text/plain\r\nContent-Length: {len(answer)}\r\n\r\n".encode("latin-1")
                    + answer
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            with contextlib.suppress(Exception):
                writer.close()
