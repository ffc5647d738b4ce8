"""Shared by the live-server benchmarks: a `centrale serve` subprocess on a throw-away database.

:func:`running_server` makes a fresh database (a SQLite file in a temporary folder, or a new
PostgreSQL database on the given server, dropped afterwards), creates the administrator ``root``
with ``centrale admin create`` and starts ``centrale serve`` as a subprocess on a free port, with
this process's environment (so ``PYTHONPATH=src`` reaches it). Whatever happens — an error, Ctrl-C,
SIGTERM — the server is stopped and the database removed.

Also here: logging in through the API, reading the server's CPU time and memory from ``/proc``,
percentiles, and a description of the machine for the JSON. Files whose name starts with ``_`` are
not run by ``./dev bench``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"
ROOT = "root"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CLI = [sys.executable, "-c", "from centrale.cli.main import main; main()"]
SESSION_COOKIE = "centrale_session"


class SetupError(Exception):
    """The benchmark could not be set up (server did not start, seeding refused, database down)."""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sigterm_as_interrupt() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so that `finally` blocks clean up on either."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


# --- databases ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="centrale-bench-") as folder:
        yield str(Path(folder) / "centrale.db")


@contextlib.contextmanager
def postgresql_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server of `admin_url`, dropped (with FORCE) afterwards."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"centrale_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise SetupError(f"cannot create a database on {admin_url}: {first}") from exc
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except Exception as exc:
            say(f"warning: could not drop the database {name}: {exc}")
        admin.dispose()


# --- the server --------------------------------------------------------------------------------------
@dataclass
class Server:
    url: str
    port: int
    pid: int
    database: str
    log: Path

    proc: subprocess.Popen[bytes] | None = None

    def stats(self) -> dict[str, float]:
        return proc_stats(self.pid)

    def check_alive(self) -> None:
        """Raise :class:`SetupError` (with the end of its log) if the server has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            raise SetupError(f"the server exited (code {self.proc.returncode}):\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _run_cli(args: list[str], *, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )


@contextlib.contextmanager
def running_server(database: str, *, startup_timeout: float = 60) -> Iterator[Server]:
    """``admin create root`` on `database`, then ``centrale serve`` on a free port until the block ends."""
    done = _run_cli(["admin", "create", ROOT, "--database", database], stdin=PASSWORD + "\n")
    if done.returncode != 0:
        raise SetupError(f"`centrale admin create` failed: {(done.stderr or done.stdout).strip()[-2000:]}")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="centrale-bench-log-") as folder:
        log = Path(folder) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*CLI, "serve", "--database", database, "--port", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
                start_new_session=True,  # Ctrl-C reaches us only; we stop the server ourselves
                preexec_fn=_die_with_parent,
            )
        server = Server(f"http://127.0.0.1:{port}", port, proc.pid, database, log, proc)
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                try:
                    if httpx.get(server.url + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise SetupError(f"the server exited with code {proc.returncode}:\n{server.log_tail()}")
                if time.monotonic() > deadline:
                    raise SetupError(
                        f"the server did not answer within {startup_timeout:.0f} s:\n{server.log_tail()}"
                    )
                time.sleep(0.1)
            yield server
        finally:
            _stop(proc)


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark itself is killed (SIGKILL leaves no `finally`)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown: the writer drains, the store closes
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def server_on(backend: str, pg_url: str) -> Iterator[Server]:
    """A running server on a fresh database of `backend` ("sqlite" or "postgresql")."""
    databases = sqlite_database() if backend == "sqlite" else postgresql_database(pg_url)
    with databases as database, running_server(database) as server:
        yield server


# --- the API -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    username: str
    cookie: str
    csrf: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.cookie}", "X-CSRF-Token": self.csrf}


def login(url: str, username: str, password: str = PASSWORD) -> Session:
    """Log in through the API (one argon2 verification on the server): the session's cookie and CSRF token."""
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/api/login", json={"username": username, "password": password})
        if r.status_code != 200:
            raise SetupError(f"login as {username!r} failed: {r.status_code} {r.text[:300]}")
        cookie = r.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise SetupError(f"login as {username!r} set no session cookie")
        return Session(username, cookie, r.json()["csrf"])


def expect(r: httpx.Response, *statuses: int) -> httpx.Response:
    if r.status_code not in (statuses or (200, 201)):
        raise SetupError(f"{r.request.method} {r.request.url.path} answered {r.status_code}: {r.text[:500]}")
    return r


# --- measuring -----------------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def proc_stats(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) and memory of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    status: dict[str, str] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()

    def mb(key: str) -> float:
        return round(int(status.get(key, "0 kB").split()[0]) / 1024, 1)

    return {
        "cpu_user_seconds": utime / _TICK,
        "cpu_system_seconds": stime / _TICK,
        "cpu_seconds": (utime + stime) / _TICK,
        "rss_mb": mb("VmRSS"),
        "peak_rss_mb": mb("VmHWM"),
        "threads": int(status.get("Threads", "0")),
    }


def cpu_delta(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    cpu = after["cpu_seconds"] - before["cpu_seconds"]
    return {
        "cpu_seconds": round(cpu, 2),
        "cpu_user_seconds": round(after["cpu_user_seconds"] - before["cpu_user_seconds"], 2),
        "cpu_system_seconds": round(after["cpu_system_seconds"] - before["cpu_system_seconds"], 2),
        "cpu_utilisation": round(cpu / seconds, 3) if seconds > 0 else None,  # 1.0 = one core busy
        "rss_mb": after["rss_mb"],
        "peak_rss_mb": after["peak_rss_mb"],
    }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted-or-not values (p in 0–100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    """count, p50/p90/p99/max (and min) in milliseconds."""
    if not seconds:
        return {"count": 0}
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "min_ms": round(ordered[0] * 1000, 2),
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p90_ms": round(percentile(ordered, 90) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(sum(ordered) / len(ordered) * 1000, 2),
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, memory, load, Python, the engine build, versions."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    import centrale.core.engine as engine_module

    info["engine_compiled"] = not (engine_module.__file__ or "").endswith(".py")
    from importlib import metadata

    versions = {}
    for dist in ("fastapi", "starlette", "uvicorn", "httpx", "sqlalchemy", "psycopg", "uvloop", "httptools"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    info["versions"] = versions
    return info


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- a lean HTTP/1.1 client ------------------------------------------------------------------------------
class HttpError(Exception):
    """No answer: the connection failed, closed early, or the request timed out."""


class RawClient:
    """A minimal asyncio HTTP/1.1 client with keep-alive connections, for load generation.

    httpx costs a few milliseconds of CPU per request; on a 2-core machine the load generator would
    take CPU from the server it measures. This one writes the request bytes and reads a
    ``Content-Length`` (or chunked) answer, nothing more: about a tenth of the CPU.
    """

    IDLE_SECONDS = 3.0  # below uvicorn's keep-alive timeout (5 s): never reuse a connection it closed

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._idle: list[tuple[Any, Any, float]] = []
        self._host_header = f"Host: {host}:{port}\r\n".encode()
        self.connections_opened = 0
        self.retries = 0  # requests sent again because a kept-alive connection had been dropped

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> tuple[int, bytes]:
        """(status, body); raises :class:`HttpError` when there is no answer."""
        try:
            return await asyncio.wait_for(self._request(method, path, headers, body), self.timeout)
        except TimeoutError as exc:
            raise HttpError("timeout") from exc

    async def _request(
        self, method: str, path: str, headers: dict[str, str] | None, body: bytes | None
    ) -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1\r\n".encode(), self._host_header]
        for key, value in (headers or {}).items():
            head.append(f"{key}: {value}\r\n".encode())
        if body is not None:
            head.append(b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        if body is not None:
            head.append(body)
        payload = b"".join(head)
        loop_time = asyncio.get_running_loop().time
        while True:
            reused = False
            conn = None
            while self._idle:
                reader, writer, last = self._idle.pop()
                if loop_time() - last < self.IDLE_SECONDS and not reader.at_eof():
                    conn, reused = (reader, writer), True
                    break
                writer.close()
            if conn is None:
                try:
                    conn = await asyncio.open_connection(self.host, self.port, limit=1 << 24)
                except OSError as exc:
                    raise HttpError(f"connect: {exc}") from exc
                self.connections_opened += 1
            reader, writer = conn
            try:
                writer.write(payload)
                status, answer, keep = await self._read(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                writer.close()
                dropped = isinstance(exc, ConnectionError) or (
                    isinstance(exc, asyncio.IncompleteReadError) and not exc.partial
                )
                if reused and dropped:
                    self.retries += 1
                    continue  # the server closed an idle connection: once more on a fresh one
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                writer.close()  # cancelled (timeout): the connection's state is unknown
                raise
            if keep:
                self._idle.append((reader, writer, loop_time()))
            else:
                writer.close()
            return status, answer

    @staticmethod
    async def _read(reader: Any) -> tuple[int, bytes, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        keep = b"\r\nconnection: close" not in lower
        i = lower.find(b"\r\ncontent-length:")
        if i >= 0:
            n = int(lower[i + 17 : lower.index(b"\r\n", i + 2)])
            return status, (await reader.readexactly(n) if n else b""), keep
        if b"\r\ntransfer-encoding: chunked" in lower:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    return status, b"".join(parts), keep
                parts.append(chunk[:-2])
        return status, b"", keep

    def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()


def database_name(url: str) -> str | None:
    """The PostgreSQL database of a server URL; None for SQLite."""
    if not url.startswith("postgresql"):
        return None
    from sqlalchemy.engine import make_url

    return make_url(url).database


def postgres_cpu_seconds(database: str) -> float:
    """CPU time of the PostgreSQL backends serving `database` (``postgres: … <database> …``), from /proc.

    Backends that ended in between are not counted; the server's pool keeps its connections open.
    """
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if cmdline.startswith("postgres:") and f" {database} " in cmdline:
                total += proc_stats(int(entry.name))["cpu_seconds"]
        except (OSError, ValueError, IndexError):
            continue
    return total


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat (all cores)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return (total - idle) / _TICK, total / _TICK


def machine_busy(before: tuple[float, float], after: tuple[float, float], seconds: float) -> dict[str, float]:
    """Cores the whole machine kept busy between two :func:`machine_cpu_seconds` readings."""
    busy = after[0] - before[0]
    return {"machine_busy_cores": round(busy / seconds, 2) if seconds > 0 else 0.0}
