"""The SIP WebSocket listener's admission, against the real listener: the SIP service (sippy on its
thread, the ``websockets`` server on the asyncio loop) started by the server's own ``build``, and
the ``websockets`` client.

* Origin: a page of a foreign origin → HTTP 403 (logged once per origin per interval); an allowed
  origin → 101, and a REGISTER over it gets the registrar's 401 challenge; no Origin (not a
  browser) → accepted;
* all sources together: beyond ``ws_max_connections`` → 503 with Retry-After (exempt sources count
  but are not refused);
* per source address: beyond ``ws_max_connections_per_source`` open connections → 429 while the
  earlier ones stay open and keep working; closing one frees a slot; beyond the connection rate →
  429 with Retry-After; an exempt address is not limited; behind a trusted proxy each client
  counts by its ``X-Forwarded-For`` address (or RFC 7239 ``Forwarded``, when configured: then only
  that header), from any other peer the header is ignored;
* a handshake that never comes is cut after ``ws_handshake_timeout``;
* settings errors, one ``file: field: problem`` line each.

Each test connects from an address of its own (127.0.0.x on loopback), so their counts and
buckets do not mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import free_port, password, readiness, served, settings_error, wait_for

pytestmark = pytest.mark.telephony

ALLOWED = "https://desk.example.com"
MAX_OPEN = 3
BURST = 5
EXEMPT = "127.0.0.9"
PROXY = "127.0.0.7"


class Listener:
    def __init__(self, services: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.services = services
        self.sip = services.extras["sip"]
        self.loop = loop
        self.url = self.sip.settings.websocket_url

    def open_from(self, host: str) -> int:
        async def read() -> int:
            return int(self.sip.websocket.admission.open_from(host))

        return int(asyncio.run_coroutine_threadsafe(read(), self.loop).result(5))


@pytest.fixture(scope="module")
def listener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listener]:
    # sippy's dispatcher registers a signal handler when imported: import it on the main thread.
    import sippy.Core.EventDispatcher  # type: ignore[import-untyped] # noqa: F401

    from centrale.server.settings import ServerSettings
    from centrale.telephony.flood import FloodLimits
    from centrale.telephony.settings import SipAccount, TelephonySettings

    tmp = tmp_path_factory.mktemp("ws-limits")
    settings = ServerSettings(
        database=str(tmp / "centrale.db"),
        webhooks=False,
        telephony=TelephonySettings(
            sip_port=free_port(),
            ws_port=free_port(),
            # No call is made here: nothing needs to answer on rtpengine's control port.
            rtpengine=f"127.0.0.1:{free_port()}",
            ng_timeout=0.5,
            accounts=[SipAccount(user="anna", password=password("anna"))],
            ws_origins=[ALLOWED + "/", "http://127.0.0.1:8000"],
            ws_max_connections_per_source=MAX_OPEN,
            ws_connections_per_second=0.2,
            ws_connection_burst=BURST,
            ws_handshake_timeout=1.0,
            limits=FloodLimits(exempt=[EXEMPT]),
            ws_trusted_proxies=[PROXY],
        ),
    )
    with served(settings) as (services, loop):
        yield Listener(services, loop)


def _connect(
    url: str,
    source: str,
    origin: str | None = None,
    forwarded_for: str | None = None,
    header: str = "X-Forwarded-For",
) -> Any:
    from websockets.sync.client import connect

    return connect(
        url,
        subprotocols=["sip"],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
        open_timeout=5,
        source_address=(source, 0),
        additional_headers={header: forwarded_for} if forwarded_for else None,
    )


def _refused(*args: Any, **kwargs: Any) -> Any:
    """The HTTP response a refused handshake (``_connect``'s arguments) got."""
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused, _connect(*args, **kwargs):
        pass
    return refused.value.response


def _register(user: str, branch: str) -> str:
    return (
        f"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/WSS test.invalid;branch=z9hG4bK{branch}\r\n"
        f"Max-Forwards: 70\r\n"
        f"To: <sip:{user}@127.0.0.1>\r\n"
        f"From: <sip:{user}@127.0.0.1>;tag={branch[:8]}\r\n"
        f"Call-ID: ws-limits-{branch}\r\n"
        f"CSeq: 1 REGISTER\r\n"
        f"Contact: <sip:x@test.invalid;transport=ws>\r\n"
        f"Expires: 60\r\n"
        f"Content-Length: 0\r\n\r\n"
    )


def _challenged(ws: Any) -> bool:
    """A REGISTER without credentials over `ws` gets the registrar's 401 challenge."""
    ws.send(_register("anna", uuid.uuid4().hex))
    answer = str(ws.recv(timeout=5))
    return answer.split(" ", 2)[1] == "401" and 'realm="centrale"' in answer


# --- Origin ----------------------------------------------------------------------------------------
def test_a_foreign_origin_is_refused_and_an_allowed_one_registers(
    listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    source = "127.0.0.2"
    caplog.set_level(logging.WARNING, logger="centrale.telephony.websocket")
    for _ in range(3):
        response = _refused(listener.url, source, "https://evil.example.net")
        assert response.status_code == 403
    lines = [r.getMessage() for r in caplog.records if "evil.example.net" in r.getMessage()]
    assert len(lines) == 1 and "not in ws_origins" in lines[0], lines  # once per origin per interval
    assert listener.open_from(source) == 0  # refused handshakes hold no slot
    # Origins compare without case or trailing slash (RFC 6454 serialises them lower-case).
    with _connect(listener.url, source, "HTTPS://Desk.Example.com") as ws:
        assert ws.response.status_code == 101 and ws.subprotocol == "sip"
        assert _challenged(ws)
    with _connect(listener.url, source, "http://127.0.0.1:8000") as ws:
        assert _challenged(ws)
    # A port is part of the origin.
    assert _refused(listener.url, source, "http://127.0.0.1:8001").status_code == 403
    # No Origin header: not a browser (it could claim any origin), so the check does not apply.
    with _connect(listener.url, source) as ws:
        assert _challenged(ws)


# --- per source address ------------------------------------------------------------------------------
def test_open_connections_per_source_are_limited_and_freed_on_close(listener: Listener) -> None:
    source = "127.0.0.3"
    with contextlib.ExitStack() as stack:
        first = [stack.enter_context(_connect(listener.url, source, ALLOWED)) for _ in range(MAX_OPEN)]
        wait_for(lambda: listener.open_from(source) == MAX_OPEN, 5, "the connections counted")
        response = _refused(listener.url, source, ALLOWED)
        assert response.status_code == 429, response
        assert "too many WebSocket connections" in response.body.decode()
        # The earlier ones stay open and keep working.
        assert all(_challenged(ws) for ws in first)
        # Another address is not affected by this one's count.
        with _connect(listener.url, "127.0.0.4", ALLOWED) as other:
            assert _challenged(other)
        first.pop().close()
        wait_for(lambda: listener.open_from(source) == MAX_OPEN - 1, 5, "the closed slot freed")
        with _connect(listener.url, source, ALLOWED) as again:
            assert _challenged(again)
            assert _refused(listener.url, source, ALLOWED).status_code == 429
    wait_for(lambda: listener.open_from(source) == 0, 5, "every slot freed")


def test_new_connections_per_source_are_rate_limited(listener: Listener) -> None:
    source = "127.0.0.5"
    for _ in range(BURST):  # the burst, one at a time (under the open-connections limit)
        with _connect(listener.url, source, ALLOWED):
            pass
        wait_for(lambda: listener.open_from(source) == 0, 5, "the slot freed")
    response = _refused(listener.url, source, ALLOWED)
    assert response.status_code == 429
    assert "too many new WebSocket connections" in response.body.decode()
    # 0.2 tokens/s: a new connection is possible again in at most 5 s.
    assert 1 <= int(response.headers["Retry-After"]) <= 5


def test_an_exempt_source_is_not_limited(listener: Listener) -> None:
    with contextlib.ExitStack() as stack:
        opened = [
            stack.enter_context(_connect(listener.url, EXEMPT, ALLOWED)) for _ in range(MAX_OPEN + BURST)
        ]
        assert all(_challenged(ws) for ws in opened[-2:])


def test_beyond_the_limit_for_all_sources_a_handshake_gets_503(listener: Listener) -> None:
    admission = listener.sip.websocket.admission
    sources = ["127.0.0.20", "127.0.0.21", "127.0.0.22"]
    limit = admission.max_total
    try:
        with contextlib.ExitStack() as stack:
            admission.max_total = admission.total + 2  # as ws_max_connections would
            for source in sources[:2]:
                stack.enter_context(_connect(listener.url, source, ALLOWED))
            refused = _refused(listener.url, sources[2], ALLOWED)  # a third address, never seen
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == str(listener.sip.settings.limits.retry_after)
            with _connect(listener.url, EXEMPT, ALLOWED) as exempt:  # exempt: counted, not refused
                assert _challenged(exempt)
        # Both closed: the third address gets in.
        wait_for(lambda: listener.open_from(sources[0]) == 0, 5, "the slots freed")
        with _connect(listener.url, sources[2], ALLOWED) as ws:
            assert _challenged(ws)
    finally:
        admission.max_total = limit


def test_the_count_for_all_sources_follows_admissions_and_releases() -> None:
    from centrale.telephony.flood import FloodLimits
    from centrale.telephony.settings import TelephonySettings
    from centrale.telephony.websocket import Admission

    settings = TelephonySettings(
        ws_port=5066, ws_max_connections=2, limits=FloodLimits(exempt=["10.9.9.9"], retry_after=7)
    )
    admission = Admission(settings)
    assert admission.admit("192.0.2.1", None, 0.0) is None
    assert admission.admit("192.0.2.2", None, 0.0) is None
    refusal = admission.admit("192.0.2.3", None, 0.0)
    assert refusal is not None and (refusal.status, refusal.retry_after) == (503, 7)
    assert admission.admit("10.9.9.9", None, 0.0) is None and admission.total == 3
    admission.release("10.9.9.9")
    admission.release("192.0.2.1")
    assert admission.total == 1 and admission.admit("192.0.2.3", None, 0.0) is None
    assert admission.refused["total"] == 1


# --- behind a reverse proxy ---------------------------------------------------------------------------
def test_behind_a_trusted_proxy_each_client_counts_by_its_forwarded_address(listener: Listener) -> None:
    client, neighbour = "198.51.100.1", "198.51.100.2"
    with contextlib.ExitStack() as stack:
        for _ in range(MAX_OPEN):
            stack.enter_context(_connect(listener.url, PROXY, ALLOWED, client))
        wait_for(lambda: listener.open_from(client) == MAX_OPEN, 5, "counted against the client")
        assert listener.open_from(PROXY) == 0
        assert _refused(listener.url, PROXY, ALLOWED, client).status_code == 429
        # Another browser behind the same proxy is not limited by the first one's connections.
        with _connect(listener.url, PROXY, ALLOWED, f"203.0.113.9, {neighbour}") as other:
            assert _challenged(other)
            assert listener.open_from(neighbour) == 1
    wait_for(lambda: listener.open_from(client) == 0, 5, "every slot freed")


def test_forwarded_for_from_an_untrusted_peer_is_ignored(listener: Listener) -> None:
    source = "127.0.0.8"
    with contextlib.ExitStack() as stack:
        for i in range(MAX_OPEN):  # a client that claims a new address each time
            stack.enter_context(_connect(listener.url, source, ALLOWED, f"198.51.100.{10 + i}"))
        wait_for(lambda: listener.open_from(source) == MAX_OPEN, 5, "counted against the peer")
        assert _refused(listener.url, source, ALLOWED, "198.51.100.99").status_code == 429


def test_the_client_behind_proxies_is_the_nearest_untrusted_hop() -> None:
    from centrale.telephony.settings import TelephonySettings
    from centrale.telephony.websocket import Admission

    admission = Admission(TelephonySettings(ws_port=5066, ws_trusted_proxies=["10.0.0.0/8", "2001:db8::/32"]))
    assert admission.client("10.1.1.1", "203.0.113.5") == "203.0.113.5"
    assert admission.client("10.1.1.1", "203.0.113.5, 10.2.2.2") == "203.0.113.5"  # two proxies
    # The client may write anything on the left; the hop the trusted proxy saw counts.
    assert admission.client("10.1.1.1", "198.51.100.9, 203.0.113.5") == "203.0.113.5"
    assert admission.client("10.1.1.1", "10.3.3.3") == "10.3.3.3"  # a client inside the network
    assert admission.client("2001:db8::1", "2001:db8::2, 2001:0DB9::7") == "2001:db9::7"
    assert admission.client("10.1.1.1", "203.0.113.5, not-an-address") == "10.1.1.1"
    assert admission.client("10.1.1.1", None) == "10.1.1.1"
    assert admission.client("192.0.2.1", "203.0.113.5") == "192.0.2.1"  # not a trusted peer
    assert Admission(TelephonySettings(ws_port=5066)).client("10.1.1.1", "203.0.113.5") == "10.1.1.1"


def test_with_forwarded_configured_the_rfc_7239_header_names_the_client(listener: Listener) -> None:
    client = "198.51.100.21"
    admission = listener.sip.websocket.admission
    admission.forwarded_header = "forwarded"  # as ws_forwarded_header: forwarded sets it
    try:
        with contextlib.ExitStack() as stack:
            for port in range(MAX_OPEN):
                value = f'for="{client}:{5000 + port}";proto=https;by=_edge'
                stack.enter_context(_connect(listener.url, PROXY, ALLOWED, value, header="Forwarded"))
            wait_for(lambda: listener.open_from(client) == MAX_OPEN, 5, "counted against the client")
            assert listener.open_from(PROXY) == 0
            refused = _refused(listener.url, PROXY, ALLOWED, f"for={client}", header="Forwarded")
            assert refused.status_code == 429
            # The proxy writes Forwarded; an X-Forwarded-For it passed on from the browser is not read.
            with _connect(listener.url, PROXY, ALLOWED, "198.51.100.22") as other:
                assert _challenged(other)
                assert listener.open_from(PROXY) == 1 and listener.open_from("198.51.100.22") == 0
    finally:
        admission.forwarded_header = "x-forwarded-for"
    wait_for(lambda: listener.open_from(client) == 0 and listener.open_from(PROXY) == 0, 5, "slots freed")


def test_the_forwarded_header_is_read_as_rfc_7239_writes_it() -> None:
    from centrale.telephony.settings import TelephonySettings
    from centrale.telephony.websocket import Admission, forwarded_for

    assert forwarded_for("for=192.0.2.60;proto=http;by=203.0.113.43") == ["192.0.2.60"]
    assert forwarded_for('For="[2001:db8:cafe::17]:4711"') == ["2001:db8:cafe::17"]
    assert forwarded_for('for=192.0.2.43, for="198.51.100.17:8080"') == ["192.0.2.43", "198.51.100.17"]
    assert forwarded_for('for="a,b";proto=https, for=192.0.2.1') == ["a,b", "192.0.2.1"]  # quoted comma
    assert forwarded_for("proto=https") == [""]  # an element without for=
    assert forwarded_for("for 192.0.2.1") == []  # not the grammar

    settings = TelephonySettings(
        ws_port=5066, ws_trusted_proxies=["10.0.0.0/8"], ws_forwarded_header="forwarded"
    )
    admission = Admission(settings)
    assert admission.client("10.1.1.1", 'for="203.0.113.5:1234"') == "203.0.113.5"
    assert admission.client("10.1.1.1", "for=198.51.100.9, for=203.0.113.5;by=10.2.2.2") == "203.0.113.5"
    assert admission.client("10.1.1.1", "for=203.0.113.5, for=10.2.2.2") == "203.0.113.5"  # two proxies
    # A hop the proxy hid, an element without for=, or no grammar at all: the peer counts.
    assert admission.client("10.1.1.1", "for=203.0.113.5, for=_hidden") == "10.1.1.1"
    assert admission.client("10.1.1.1", "for=unknown") == "10.1.1.1"
    assert admission.client("10.1.1.1", "proto=https") == "10.1.1.1"
    assert admission.client("10.1.1.1", "203.0.113.5") == "10.1.1.1"
    assert admission.client("192.0.2.1", "for=203.0.113.5") == "192.0.2.1"  # not a trusted peer


# --- readiness ----------------------------------------------------------------------------------------
def test_readiness_names_rtpengine_when_it_does_not_answer(listener: Listener) -> None:
    r = readiness(listener.services, listener.loop)  # nothing answers on this rtpengine's port
    assert r.status_code == 503 and r.json()["ready"] is False
    checks = r.json()["checks"]
    assert checks["writer"] == checks["database"] == checks["sip"] == "ok"
    assert "did not answer 'ping'" in checks["rtpengine"], checks


# --- timeouts ----------------------------------------------------------------------------------------
def test_a_handshake_that_never_comes_is_cut(listener: Listener) -> None:
    port = listener.sip.settings.ws_port
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.6", 0)) as s:
        started = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
        try:
            data = s.recv(1024)  # the server closes (or resets) the connection
        except ConnectionResetError:
            data = b""
        waited = time.monotonic() - started
    assert data == b"" and 0.8 <= waited < 5, (data, waited)  # ws_handshake_timeout is 1 s
    wait_for(lambda: listener.open_from("127.0.0.6") == 0, 5, "no slot held")


# --- settings ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("yaml", "line"),
    [
        (
            "ws_origins: [desk.example.com]",
            "ws_origins: 'desk.example.com' is not a web origin (such as https://centrale.example.com)",
        ),
        (
            "ws_origins: ['https://desk.example.com/phone']",
            "ws_origins: 'https://desk.example.com/phone' is not a web origin",
        ),
        ("ws_max_connections_per_source: 0", "ws_max_connections_per_source: Input should be greater than"),
        ("ws_max_connections: 0", "ws_max_connections: Input should be greater than or equal to 1"),
        ("ws_connections_per_second: 0", "ws_connections_per_second: Input should be greater than 0"),
        (
            "ws_connections_per_second: 10\nws_connection_burst: 5",
            "(file): ws_connection_burst must be at least ws_connections_per_second",
        ),
        ("ws_handshake_timeout: 500", "ws_handshake_timeout: Input should be less than or equal to 120"),
        (
            "ws_forwarded_header: via",
            "ws_forwarded_header: Input should be 'x-forwarded-for' or 'forwarded'",
        ),
        (
            "ws_trusted_proxies: [proxy.example.com]",
            "ws_trusted_proxies: 'proxy.example.com' is not an IP address or network",
        ),
    ],
)
def test_settings_errors_name_file_and_field(tmp_path: Path, yaml: str, line: str) -> None:
    path, message = settings_error(tmp_path, f"ws_port: 5066\n{yaml}")
    assert message.startswith(f"{path}: {line}"), message


def test_origins_are_normalised() -> None:
    from centrale.telephony.settings import TelephonySettings

    settings = TelephonySettings(ws_port=5066, ws_origins=["HTTPS://Desk.Example.com/", "http://[::1]:8000"])
    assert settings.ws_origins == ["https://desk.example.com", "http://[::1]:8000"]
