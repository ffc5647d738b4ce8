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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from typing import Any

from centrale.telephony.settings import TelephonySettings

log = logging.getLogger("centrale.telephony.websocket")

MAX_FRAME = 64 * 1024


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
            )
        except OSError as exc:
            where = f"{self.host}:{self.port}"
            raise OSError(f"cannot listen for SIP over WebSocket on {where}: {exc.strerror}") from None
        scheme = "wss" if context is not None else "ws"
        log.info("SIP over WebSocket on %s://%s:%d", scheme, self.host, self.port)

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


__all__ = ["MAX_FRAME", "SipWebSocket"]
