"""SIP over WebSocket (RFC 7118): the listener browser softphones (JsSIP) connect to.

Theory of operation
-------------------
Sippy's transaction manager is transport-neutral: it takes datagrams from a *server* object
(``handleIncoming(data, remote_address, server, time)``) and sends with ``server.send_to(data,
address)``. :class:`SipWebSocket` is such a server (sippy's ``Network_server`` interface), built on
the ``websockets`` package and running on the SIP service's asyncio loop — so one loop owns every
connection, TLS is the standard library's, and nothing prints to stdout (sippy's own ``Wss_server``
runs a private loop in a thread of its own and prints each connection).

* **In:** every text or binary frame is one SIP message (RFC 7118 §5); it is handed to the SIP
  thread with ``ED2.callFromThread``. The remote address carries the connection's name,
  ``<uuid>.invalid``, as ``received``: sippy's transaction manager puts that name into the
  Contact of requests and responses arriving over a transport called ``wss``, so a REGISTER's
  binding (and a dialog's remote target) names the connection, not an unreachable host.
* **Out:** a request or response for host ``<uuid>.invalid`` (transport ``ws``/``wss``; sippy looks
  the server up as ``global_config["_wss_server"]``) is handed back to the asyncio loop and sent
  on that connection; a connection that is gone drops it (the transaction times out as over UDP).
* The handshake must offer the ``sip`` subprotocol (``websockets`` refuses others with HTTP
  400). Frames are at most 64 KiB. A closed connection only forgets its name: its binding
  expires as any other, or is replaced when the browser registers again over a new connection.

Sippy calls the transport ``wss`` whether or not TLS is used; the URL browsers are given says
``ws://`` or ``wss://`` (:attr:`TelephonySettings.websocket_url`).

Admission (:class:`Admission`, sans-I/O: time comes with every call) decides on each handshake in
``websockets``' ``process_request`` hook, before the connection is accepted:

* **Origin.** A browser always says which page opened the socket (``Origin``); with ``ws_origins``
  set, a page from any other origin is refused with HTTP 403 — another site's script cannot use a
  visitor's browser as a SIP client here. A handshake without ``Origin`` is no browser's (a desk
  client, a test tool): it is let through, as it could send any ``Origin`` it liked. Registration is
  by digest, never by cookie, so an open listener gives away nothing without a password; that is why
  the default (no ``ws_origins``) is *open* rather than guessed from the web server's address, which
  is wrong behind any proxy — the listener says so once at start.
* **Per source IP address** (the port is the client's to choose, as in ``flood``): at most
  ``ws_max_connections_per_source`` connections at once, handshakes under way included, and new
  ones taken from a token bucket (``ws_connections_per_second``, up to ``ws_connection_burst``
  saved up). Beyond either the handshake gets HTTP 429 (the rate one with ``Retry-After``) and no
  SIP state. The flood limits' ``enabled`` and ``exempt`` apply, and so does their ``log_interval``.
  A reverse proxy in front carries every browser's connection from one address: list it in
  ``ws_trusted_proxies`` and each connection counts against the client address the proxy puts in
  ``X-Forwarded-For``, or in the ``for=`` of RFC 7239's ``Forwarded`` when
  ``ws_forwarded_header`` says the proxies write that one. Only the configured header is read: a
  proxy passes the other one on as the browser wrote it. From any other peer the header is ignored
  (anyone can send it). Each refused origin, and each limited source and kind of limit, is logged
  once per interval, then with the number refused since — a flood does not become a log flood.
  The sources and origins remembered are bounded, so spoofed variety cannot grow memory without
  end.
* **All sources together** at most ``ws_max_connections`` at once (each one holds a socket, a
  sippy connection and some memory): beyond it a handshake gets HTTP 503 with the limits'
  ``retry_after`` — the browser's phone tries again — whatever its address, so a flood from
  many addresses cannot take the process's file descriptors. Exempt sources count but are not
  refused. Logged once per interval, then with the number refused since.
* **Timeouts.** A handshake not finished within ``ws_handshake_timeout`` (TLS included) is cut
  (``websockets``' ``open_timeout``); an open connection is pinged every 20 s and closed when a
  pong is 20 s late, so a vanished browser frees its slot within a minute. A registered softphone
  that is quiet between REGISTER refreshes is *not* idle in any sense that should close it.

Why not :class:`~centrale.telephony.flood.FloodLimiter` itself: it counts datagrams and
requests on the SIP thread, with log lines that say so; here connections are counted on the asyncio
loop and also *released*, which its buckets have no notion of.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import re
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from centrale.telephony.flood import in_networks, log_due
from centrale.telephony.settings import TelephonySettings

log = logging.getLogger("centrale.telephony.websocket")

MAX_FRAME = 64 * 1024
MAX_SOURCES = 10_000  # sources remembered at most (idle ones are forgotten first)
MAX_ORIGINS = 1_000  # refused origins remembered for logging at most


# One forwarded-pair of RFC 7239: a token name, "=", a token or a quoted string; then the separator.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PAIR = re.compile(
    rf"""\s*({_TOKEN})=(  # name=
        "(?:[^"\\]|\\.)*"  # a quoted string, or
        | [!#$%&'*+.^_`|~0-9A-Za-z:\[\]-]*  # a token (ports and brackets let through unquoted)
    )\s*([;,]|$)""",
    re.VERBOSE,
)


def forwarded_for(value: str) -> list[str]:
    """The ``for=`` node of each element of an RFC 7239 ``Forwarded`` value, as addresses (quotes,
    brackets and ports taken off), oldest first. An element without ``for=``, or one the proxy
    hid (``unknown``, ``_secret``), gives ``""``, which no address parses as. A value that does not
    follow the grammar gives ``[]``.
    """
    hops: list[str] = []
    node: str | None = None
    at = 0
    while at < len(value):
        match = _PAIR.match(value, at)
        if match is None or match.end() == at:
            return []
        name, raw, sep = match.groups()
        if name.lower() == "for":
            node = raw[1:-1].replace("\\", "") if raw.startswith('"') else raw
        at = match.end()
        if sep != ";":  # "," or the end: the element is complete
            hops.append(_node_address(node))
            node = None
    return hops


def _node_address(node: str | None) -> str:
    if not node:
        return ""
    if node.startswith("["):  # "[2001:db8::1]" or "[2001:db8::1]:4711"
        return node[1 : node.find("]")] if "]" in node else ""
    return node.rsplit(":", 1)[0] if node.count(":") == 1 else node  # "192.0.2.43:47011"


@dataclass(slots=True)
class Refusal:
    """A refused handshake: the HTTP status, its text, and Retry-After seconds (0: none)."""

    status: int
    reason: str
    retry_after: int = 0


@dataclass(slots=True)
class _Source:
    seen: float
    tokens: float
    open: int = 0
    logged: dict[str, float] = field(default_factory=dict)  # kind of limit → when last logged
    counts: dict[str, int] = field(default_factory=dict)  # kind of limit → refused since


class Admission:
    """Which handshakes the listener accepts (see the module docstring). One thread (the asyncio
    loop); ``now`` is monotonic seconds."""

    def __init__(self, settings: TelephonySettings) -> None:
        self.origins = frozenset(settings.ws_origins)
        self.max_open = settings.ws_max_connections_per_source
        self.max_total = settings.ws_max_connections
        self.retry_after = settings.limits.retry_after
        self.total = 0  # open connections from every source (exempt ones included)
        self._total_logged: dict[str, float] = {}
        self._total_counts: dict[str, int] = {}
        self.rate = settings.ws_connections_per_second
        self.burst = float(settings.ws_connection_burst)
        self.enabled = settings.limits.enabled
        self.log_interval = settings.limits.log_interval
        self._exempt = [ipaddress.ip_network(n, strict=False) for n in settings.limits.exempt]
        self._proxies = [ipaddress.ip_network(n, strict=False) for n in settings.ws_trusted_proxies]
        self.forwarded_header = settings.ws_forwarded_header
        self._sources: dict[str, _Source] = {}
        self._origin_logged: dict[str, float] = {}  # refused origin → when last logged
        self._origin_counts: dict[str, int] = {}  # refused origin → refused since
        self.refused = {"origin": 0, "connections": 0, "rate": 0, "total": 0}

    def admit(self, host: str, origin: str | None, now: float) -> Refusal | None:
        """A handshake from `host` (with `origin`, if any): None to accept it — it then counts as
        open until :meth:`release` — or why not."""
        if origin is not None and self.origins and origin.rstrip("/").lower() not in self.origins:
            self.refused["origin"] += 1
            self._note_origin(host, origin, now)
            return Refusal(403, "this origin may not use the SIP WebSocket")
        if not self.enabled or self._is_exempt(host):
            self.total += 1
            return None
        if self.total >= self.max_total:
            self.refused["total"] += 1
            self._note_total(now)
            return Refusal(503, "the SIP WebSocket is at its connection limit", self.retry_after)
        src = self._sources.get(host)
        if src is None:
            if len(self._sources) >= MAX_SOURCES:
                self._sweep(now)
            src = self._sources[host] = _Source(now, self.burst)
        else:
            src.tokens = min(self.burst, src.tokens + (now - src.seen) * self.rate)
            src.seen = now
        if src.open >= self.max_open:
            self.refused["connections"] += 1
            self._note(host, src, "connections", now)
            return Refusal(429, "too many WebSocket connections from this address")
        if src.tokens < 1.0:
            self.refused["rate"] += 1
            self._note(host, src, "rate", now)
            return Refusal(
                429, "too many new WebSocket connections", math.ceil((1.0 - src.tokens) / self.rate)
            )
        src.tokens -= 1.0
        src.open += 1
        self.total += 1
        return None

    def client(self, peer: str, forwarded: str | None) -> str:
        """The address a handshake counts against: the peer itself, or, when the peer is one of
        ``ws_trusted_proxies``, the nearest address in its forwarding header (``forwarded``, all
        of its lines joined with commas) that is not a trusted proxy. Hops are read from the right
        (each proxy appends the address it saw); anything left of a malformed or hidden hop could be
        made up, so the count falls back to the peer.
        """
        if not self._proxies or not forwarded or not in_networks(peer, self._proxies):
            return peer
        if self.forwarded_header == "forwarded":
            hops = forwarded_for(forwarded)
        else:
            hops = [item.strip() for item in forwarded.split(",")]
        if not hops:
            return peer
        for hop in reversed(hops):
            try:
                address = ipaddress.ip_address(hop)
            except ValueError:
                return peer
            if not any(address in net for net in self._proxies):
                return str(address)
        return str(ipaddress.ip_address(hops[0]))  # a client inside the proxies' own networks

    def release(self, host: str) -> None:
        """An admitted connection from `host` is closed (or its handshake failed)."""
        self.total = max(0, self.total - 1)
        src = self._sources.get(host)
        if src is not None and src.open > 0:
            src.open -= 1

    def open_from(self, host: str) -> int:
        src = self._sources.get(host)
        return 0 if src is None else src.open

    def _is_exempt(self, host: str) -> bool:
        return bool(self._exempt) and in_networks(host, self._exempt)

    def _sweep(self, now: float) -> None:
        """Forget sources with nothing open and a full bucket again; then, if still too many, the
        least recently seen half of those with nothing open (open ones must stay: they release)."""
        refill = self.burst / self.rate
        keep = {h: s for h, s in self._sources.items() if s.open or now - s.seen < refill}
        if len(keep) >= MAX_SOURCES:
            idle = sorted((s.seen, h) for h, s in keep.items() if not s.open)
            for _, h in idle[: len(idle) // 2 + 1]:
                del keep[h]
        self._sources = keep

    def _note(self, host: str, src: _Source, kind: str, now: float) -> None:
        due = log_due(src.logged, src.counts, kind, now, self.log_interval)
        if due is None:
            return
        last, count = due
        if last is None:
            what = (
                f"more than {self.max_open} WebSocket connections at once"
                if kind == "connections"
                else f"more than {self.rate:g} new WebSocket connections/s (burst {self.burst:g})"
            )
            log.warning(
                "SIP over WebSocket: source %s opened %s: refusing its handshakes with 429 "
                "(logged once per %g s)", host, what, self.log_interval,
            )  # fmt: skip
        else:
            log.warning(
                "SIP over WebSocket: source %s still over its %s limit: %d handshakes refused in "
                "the last %.0f s", host, kind, count, now - last,
            )  # fmt: skip

    def _note_total(self, now: float) -> None:
        due = log_due(self._total_logged, self._total_counts, "total", now, self.log_interval)
        if due is None:
            return
        last, count = due
        if last is None:
            log.warning(
                "SIP over WebSocket: %d connections open, the limit for all sources together: "
                "refusing new handshakes with 503 (logged once per %g s)", self.total, self.log_interval,
            )  # fmt: skip
        else:
            log.warning(
                "SIP over WebSocket: still at the connection limit (%d): %d handshakes refused in the "
                "last %.0f s", self.max_total, count, now - last,
            )  # fmt: skip

    def _note_origin(self, host: str, origin: str, now: float) -> None:
        origin = origin[:200]  # the client's text: keep log lines bounded
        if origin not in self._origin_logged and len(self._origin_logged) >= MAX_ORIGINS:
            self._origin_logged.clear()
            self._origin_counts.clear()
        due = log_due(self._origin_logged, self._origin_counts, origin, now, self.log_interval)
        if due is None:
            return
        last, count = due
        if last is None:
            log.warning(
                "SIP over WebSocket: refused a handshake from a page of %r (from %s): not in "
                "ws_origins (logged once per %g s per origin)", origin, host, self.log_interval,
            )  # fmt: skip
        else:
            log.warning(
                "SIP over WebSocket: origin %r still refused: %d handshakes in the last %.0f s",
                origin, count, now - last,
            )  # fmt: skip


class SipWebSocket:
    """The WebSocket listener; :meth:`open` binds it and registers it with sippy."""

    transport = "wss"  # sippy's name for SIP over WebSocket, TLS or not

    def __init__(self, settings: TelephonySettings, global_config: dict[str, Any]) -> None:
        assert settings.ws_port is not None
        from sippy.Network_server import Network_server_opts  # type: ignore[import-untyped]

        self.settings = settings
        self.global_config = global_config
        self.host = settings.sip_host
        self.port = settings.ws_port
        tm = global_config["_sip_tm"]
        self.uopts = Network_server_opts((self.host, self.port), tm.handleIncoming)
        self.stats = [0, 0, 0]
        self.connections: dict[str, Any] = {}
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.admission = Admission(settings)
        self.clock: Callable[[], float] = time.monotonic

    @classmethod
    async def open(cls, settings: TelephonySettings, global_config: dict[str, Any]) -> SipWebSocket:
        transport = cls(settings, global_config)
        await transport.start()
        global_config["_wss_server"] = transport
        return transport

    # --- lifecycle (asyncio loop) ---------------------------------------------------------------------
    async def start(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        context = None
        if self.settings.ws_cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            try:
                context.load_cert_chain(self.settings.ws_cert, self.settings.ws_key)
            except (OSError, ssl.SSLError) as exc:
                raise OSError(f"ws_cert/ws_key: cannot load the certificate: {exc}") from None
        try:
            self._server = await serve(
                self._serve,
                self.host,
                self.port,
                ssl=context,
                subprotocols=["sip"],  # type: ignore[list-item]
                max_size=MAX_FRAME,
                ping_interval=20,
                ping_timeout=20,
                open_timeout=self.settings.ws_handshake_timeout,
                process_request=self._admit,
            )
        except OSError as exc:
            where = f"{self.host}:{self.port}"
            raise OSError(f"cannot listen for SIP over WebSocket on {where}: {exc.strerror}") from None
        scheme = "wss" if context is not None else "ws"
        log.info("SIP over WebSocket on %s://%s:%d", scheme, self.host, self.port)
        if not self.settings.ws_origins:
            log.warning(
                "SIP over WebSocket accepts pages from any web origin (ws_origins is empty); "
                "registration still needs a SIP password or a softphone session's credential"
            )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        # Stays in global_config: BYEs queued on the SIP thread as the service stops still find
        # it (and are dropped, their connections being gone).

    # --- sippy's Network_server interface (called on the SIP thread) -------------------------------------
    def getSIPaddr(self) -> tuple[tuple[str, int], str]:  # sippy's name
        return ((self.host, self.port), self.transport)

    def addr2str(self, address: Any) -> str:
        return f"{self.transport}:{address[0]}"

    def send_to(self, data: bytes | str, address: Any, delayed: bool = False) -> None:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._send, text, str(address[0]))

    def handle_read(self, data: bytes, address: Any, rtime: Any, delayed: bool = False) -> None:
        callback = self.uopts.data_callback
        if callback is None or not data:
            return
        self.stats[2] += 1
        try:
            callback(data, address, self, rtime)
        except Exception as exc:  # one line, as for UDP (sippy would print a dump)
            log.warning("SIP over WebSocket from %s: %s: %s", address, type(exc).__name__, exc)

    def join(self) -> None:
        return None

    def shutdown(self) -> None:
        self.uopts.data_callback = None

    # --- connections (asyncio loop) -----------------------------------------------------------------
    def _send(self, text: str, name: str) -> None:
        ws = self.connections.get(name)
        if ws is None:
            log.info("SIP over WebSocket: connection %s is gone; message dropped", name)
            return

        async def send() -> None:
            with contextlib.suppress(Exception):  # closing under way: the transaction times out
                await ws.send(text)

        task = asyncio.get_running_loop().create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _admit(self, connection: Any, request: Any) -> Any:
        """``websockets``' ``process_request``: None to go on with the handshake, or the refusal."""
        peer = str(connection.remote_address[0]) if connection.remote_address else "0.0.0.0"
        forwarded = ", ".join(request.headers.get_all(self.admission.forwarded_header)) or None
        host = self.admission.client(peer, forwarded)
        refusal = self.admission.admit(host, request.headers.get("Origin"), self.clock())
        if refusal is not None:
            response = connection.respond(refusal.status, refusal.reason + "\n")
            if refusal.retry_after:
                response.headers["Retry-After"] = str(refusal.retry_after)
            return response
        # Counted from here until the TCP connection is gone, whether the handshake then succeeds
        # or not (a missing subprotocol, a timeout): the slot is freed exactly once either way.
        task = asyncio.get_running_loop().create_task(self._release_when_closed(connection, host))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def _release_when_closed(self, connection: Any, host: str) -> None:
        try:
            await connection.wait_closed()
        finally:
            self.admission.release(host)

    async def _serve(self, ws: Any) -> None:
        from sippy.Core.EventDispatcher import ED2  # type: ignore[import-untyped]
        from sippy.Network_server import Remote_address
        from sippy.Time.MonoTime import MonoTime  # type: ignore[import-untyped]
        from websockets.exceptions import ConnectionClosed

        peer = ws.remote_address[:2] if ws.remote_address else ("0.0.0.0", 0)
        if ws.subprotocol != "sip":
            log.info("WebSocket from %s:%s without the 'sip' subprotocol: closed", *peer)
            await ws.close(1002, "the sip subprotocol is required (RFC 7118)")
            return
        name = f"{uuid.uuid4().hex}.invalid"
        self.connections[name] = ws
        address = Remote_address(tuple(peer), self.transport)
        address.received = name
        log.info("softphone connected from %s:%s as %s", peer[0], peer[1], name)
        try:
            async for message in ws:
                data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
                ED2.callFromThread(self.handle_read, data, address, MonoTime())
        except ConnectionClosed:
            pass
        finally:
            self.connections.pop(name, None)
            log.info("softphone %s (%s:%s) disconnected", name, peer[0], peer[1])


__all__ = ["MAX_FRAME", "Admission", "Refusal", "SipWebSocket"]
