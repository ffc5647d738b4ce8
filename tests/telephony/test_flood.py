"""SIP flood limiting (centrale.telephony.flood): the limiter's rules on a fake clock, the settings'
checks, and real floods of UDP datagrams against the running SIP service while a legitimate caller
from another source address (127.0.0.1; the floods come from 127.0.0.9 and 127.0.0.7, which Linux
routes over the loopback as well) still gets through."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from centrale.core.events import AgentLoggedIn
from centrale.telephony.flood import FloodLimiter, FloodLimits, Verdict
from centrale.telephony.registrar import digest_response

from .conftest import Center, finish, free_port, password, readiness, sipp_stats, wait_for

FLOODER, GUESSER = "127.0.0.9", "127.0.0.7"


# --- the limiter on a fake clock (pure) ---------------------------------------------------------------
def test_request_bucket_answers_503_beyond_the_rate_and_refills() -> None:
    lim = FloodLimiter(FloodLimits(requests_per_second=10, burst=20, retry_after=7))
    now = 100.0
    verdicts = []
    for _ in range(25):
        assert lim.datagram("192.0.2.1", now)
        verdicts.append(lim.request("192.0.2.1", "OPTIONS", now))
    assert verdicts[:20] == [(Verdict.PASS, 0)] * 20
    assert verdicts[20:] == [(Verdict.LIMITED, 7)] * 5
    # another source is not affected
    assert lim.datagram("192.0.2.2", now) and lim.request("192.0.2.2", "INVITE", now) == (Verdict.PASS, 0)
    # half a second later five tokens are back
    now += 0.5
    results = []
    for _ in range(6):
        lim.datagram("192.0.2.1", now)
        results.append(lim.request("192.0.2.1", "INVITE", now)[0])
    assert results == [Verdict.PASS] * 5 + [Verdict.LIMITED]
    assert lim.limited == 6


def test_datagrams_beyond_the_hard_limit_are_dropped() -> None:
    lim = FloodLimiter(FloodLimits(datagrams_per_second=100, datagram_burst=150))
    admitted = sum(lim.datagram("198.51.100.4", 5.0) for _ in range(400))
    assert admitted == 150 and lim.dropped == 250
    assert sum(lim.datagram("198.51.100.4", 6.0) for _ in range(400)) == 100  # one second refills 100


def test_exempt_sources_are_never_limited() -> None:
    lim = FloodLimiter(
        FloodLimits(
            requests_per_second=1, burst=1, datagrams_per_second=1, datagram_burst=1, exempt=["10.0.0.0/8"]
        ),
        exempt=["192.0.2.10"],
    )
    for host in ("10.1.2.3", "192.0.2.10"):
        for _ in range(50):
            assert lim.datagram(host, 1.0)
            assert lim.request(host, "INVITE", 1.0) == (Verdict.PASS, 0)
    assert not (lim.datagram("192.0.2.11", 1.0) and lim.datagram("192.0.2.11", 1.0))


def test_failed_registrations_block_the_source_and_the_block_expires() -> None:
    lim = FloodLimiter(FloodLimits(register_failures=3, register_window=60, register_block=100))
    host = "203.0.113.5"
    for t in (0.0, 10.0):
        lim.register_failed(host, t)
    assert lim.request(host, "REGISTER", 11.0) == (Verdict.PASS, 0)
    lim.register_failed(host, 65.0)  # the first failure left the window: two in it, no block
    assert lim.request(host, "REGISTER", 66.0) == (Verdict.PASS, 0)
    lim.register_failed(host, 69.0)  # three within 60 s (10, 65, 69): blocked until 169
    assert lim.request(host, "REGISTER", 80.0) == (Verdict.BLOCKED, 89)
    assert lim.request(host, "INVITE", 80.0) == (Verdict.PASS, 0)  # only REGISTERs are blocked
    assert lim.request(host, "REGISTER", 169.5) == (Verdict.PASS, 0)


def test_a_limited_source_is_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    lim = FloodLimiter(FloodLimits(requests_per_second=1, burst=1, log_interval=60))
    caplog.set_level(logging.WARNING, "centrale.telephony.flood")
    for i in range(200):
        now = i * 0.5  # 100 s of two requests per second: one of each two is limited
        lim.datagram("192.0.2.77", now)
        lim.request("192.0.2.77", "OPTIONS", now)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "192.0.2.77" in lines[0] and "503" in lines[0] and "once per 60 s" in lines[0]
    assert re.search(r"still over its limit: \d+ requests limited in the last 60 s", lines[1])


def test_new_calls_beyond_the_set_up_limit_get_503_and_the_overload_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sippy.SipRequest import SipRequest  # type: ignore[import-untyped]

    from centrale.telephony.flood import SipGuard
    from centrale.telephony.settings import TelephonySettings

    invite = SipRequest(
        buf="INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.5:5070;branch=z9hG4bK-1\r\n"
        "From: <sip:a@192.0.2.5>;tag=1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: x1\r\nCSeq: 1 INVITE\r\n"
        "Contact: <sip:a@192.0.2.5:5070>\r\nContent-Length: 0\r\n\r\n"
    )
    now = [0.0]
    guard = SipGuard(
        TelephonySettings(numbers={"1001": "q"}, limits=FloodLimits(max_calls_in_setup=2, retry_after=9)),
        clock=lambda: now[0],
    )
    assert guard.overload(invite) is None
    guard.setups_started = 2  # two INVITEs being set up
    with caplog.at_level(logging.WARNING, logger="centrale.telephony.flood"):
        refusals = [guard.overload(invite) for _ in range(5)]
    assert all(r is not None and r.getSCode()[0] == 503 for r in refusals)
    assert all(r.getHFBody("retry-after").__str__() == "9" for r in refusals)
    assert guard.overloaded == 5
    assert len([r for r in caplog.records if "overload" in r.getMessage()]) == 1
    guard.setups_done = 1  # one finished: room for one more
    assert guard.overload(invite) is None
    # switched off with the other limits
    off = SipGuard(
        TelephonySettings(numbers={"1001": "q"}, limits=FloodLimits(enabled=False, max_calls_in_setup=1))
    )
    off.setups_started = 50
    assert off.overload(invite) is None


def test_the_sources_remembered_are_bounded() -> None:
    lim = FloodLimiter(FloodLimits(max_sources=100))
    for i in range(5000):
        lim.datagram(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", i * 0.001)
    assert lim.snapshot()["sources"] <= 100


def test_limits_settings_are_checked(tmp_path: Path) -> None:
    from centrale.telephony.settings import load

    bad = tmp_path / "telephony.yaml"
    bad.write_text("limits:\n  requests_per_second: 50\n  burst: 10\n  exempt: [not-an-address]\n")
    with pytest.raises(ValueError) as err:
        load(bad)
    text = str(err.value)
    assert f"{bad}: limits.exempt: 'not-an-address' is not an IP address or network" in text
    bad.write_text("limits:\n  requests_per_second: 50\n  burst: 10\n")
    with pytest.raises(ValueError, match=r"limits: burst must be at least requests_per_second"):
        load(bad)
    bad.write_text("limits:\n  retry_aftr: 3\n")
    with pytest.raises(ValueError, match=r"limits.retry_aftr: Extra inputs are not permitted"):
        load(bad)


# --- real floods against the running service ------------------------------------------------------------
def _options(port: int, n: int, host: str = "127.0.0.1") -> bytes:
    return (
        f"OPTIONS sip:centrale@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bKfl{n}\r\n"
        f"From: <sip:flood@{host}>;tag=f{n}\r\nTo: <sip:centrale@127.0.0.1>\r\nCall-ID: flood-{port}-{n}\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _udp(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    return sock


@pytest.mark.telephony
def test_a_flood_from_one_source_leaves_the_service_to_everybody_else(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "centrale.telephony.flood")
    limits = center.sip.settings.limits
    before = center.sip.guard.limiter.snapshot()
    flood = _udp(FLOODER)
    flood.settimeout(0.2)
    answers: list[bytes] = []
    stop = threading.Event()
    sent = 0

    def receive() -> None:
        while not stop.is_set():
            try:
                answers.append(flood.recvfrom(65535)[0])
            except TimeoutError:
                continue
            except OSError:
                return

    def send() -> None:  # about 2,000 OPTIONS a second from one source, for 4 s
        nonlocal sent
        port = flood.getsockname()[1]
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            for _ in range(20):
                flood.sendto(_options(port, sent, FLOODER), ("127.0.0.1", center.sip_port))
                sent += 1
            time.sleep(0.01)

    receiver = threading.Thread(target=receive, daemon=True)
    sender = threading.Thread(target=send, daemon=True)
    receiver.start()
    sender.start()
    try:
        time.sleep(0.5)  # the flood is on: a legitimate call from 127.0.0.1 goes through it
        phone = center.phone("ann", "answer.xml")
        center.submit(AgentLoggedIn("ann", ready=True))
        calls_before = set(center.interactions_for("bridge"))
        caller = center.sipp("caller.xml", service="1001", extra=["-d", "1000"], name="flood-bridge")
        # …and the service answers an OPTIONS from 127.0.0.1 promptly
        probe = _udp("127.0.0.1")
        probe.settimeout(2)
        t0 = time.monotonic()
        probe.sendto(_options(probe.getsockname()[1], 1), ("127.0.0.1", center.sip_port))
        reply = probe.recvfrom(65535)[0]
        latency = time.monotonic() - t0
        probe.close()
        assert reply.startswith(b"SIP/2.0 200"), reply[:60]
        assert latency < 1.0
        assert sender.is_alive(), "the flood ended before the legitimate traffic was checked"
        assert finish(caller, 30) == 0
        assert finish(phone, 30) == 0
        stats = sipp_stats(caller)
        assert stats["SuccessfulCall(C)"] == "1" and stats["FailedCall(C)"] == "0"
        ix = [i for i in center.interactions_for("bridge") if i not in calls_before]
        assert len(ix) == 1 and center.recorder.of("OfferAccepted", ix[0])[0].agent == "ann"
    finally:
        sender.join(10)
        time.sleep(0.5)
        stop.set()
        receiver.join(5)
        flood.close()

    ok = [a for a in answers if a.startswith(b"SIP/2.0 200")]
    limited = [a for a in answers if a.startswith(b"SIP/2.0 503")]
    # The burst and the sustained rate are answered; the rest over the request rate gets 503 with
    # Retry-After; beyond the datagram limit nothing is answered at all.
    assert limits.burst <= len(ok) <= limits.burst + limits.requests_per_second * 6
    assert limited and all(
        f"Retry-After: {limits.retry_after}\r\n".lower() in a.decode().lower() for a in limited
    )
    after = center.sip.guard.limiter.snapshot()
    assert after["dropped"] - before["dropped"] > 1000
    assert len(answers) < sent - 1000
    assert center.sip._thread.is_alive()
    # Logged once per kind of limit for the flooding source, nothing about 127.0.0.1.
    mine = [
        r.getMessage()
        for r in caplog.records
        if r.name == "centrale.telephony.flood" and FLOODER in r.getMessage()
    ]
    assert len([m for m in mine if "datagrams/s" in m]) == 1, mine
    assert len([m for m in mine if "out-of-dialog requests/s" in m]) == 1, mine
    assert not [r for r in caplog.records if "source 127.0.0.1 " in r.getMessage()]


def _register(sock: socket.socket, sip_port: int, user: str, pw: str, n: int) -> bytes:
    """One REGISTER with digest authentication from `sock` (challenge, then credentials): the final
    answer's first line and headers."""
    host, port = sock.getsockname()

    def request(cseq: int, auth: str = "") -> bytes:
        return (
            f"REGISTER sip:127.0.0.1:{sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bKrg{n}x{cseq}\r\n"
            f"From: <sip:{user}@127.0.0.1>;tag=r{n}\r\nTo: <sip:{user}@127.0.0.1>\r\n"
            f"Call-ID: reg-{host}-{n}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@{host}:{port}>\r\nExpires: 60\r\n{auth}"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()

    sock.sendto(request(1), ("127.0.0.1", sip_port))
    first = sock.recvfrom(65535)[0].decode()
    if not first.startswith("SIP/2.0 401"):
        return first.encode()
    realm = re.search(r'realm="([^"]+)"', first)
    nonce = re.search(r'nonce="([^"]+)"', first)
    assert realm and nonce
    uri = f"sip:127.0.0.1:{sip_port}"
    response = digest_response(
        username=user, realm=realm[1], password=pw, method="REGISTER", uri=uri, nonce=nonce[1],
        qop="auth", nc="00000001", cnonce="abc",
    )  # fmt: skip
    auth = (
        f'Authorization: Digest username="{user}", realm="{realm[1]}", nonce="{nonce[1]}", uri="{uri}", '
        f'response="{response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="abc"\r\n'
    )
    sock.sendto(request(2, auth), ("127.0.0.1", sip_port))
    return sock.recvfrom(65535)[0]


@pytest.mark.telephony
def test_password_guessing_blocks_the_source_but_not_the_phone(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "centrale.telephony.flood")
    limits = center.sip.settings.limits
    guesser = _udp(GUESSER)
    guesser.settimeout(3)
    phone = _udp("127.0.0.1")
    phone.settimeout(3)
    try:
        for n in range(limits.register_failures):
            answer = _register(guesser, center.sip_port, "rex", f"guess-{n}-wrong", n)
            assert answer.startswith(b"SIP/2.0 403"), answer[:40]
        # Blocked now: even the right password is refused without being checked, with Retry-After.
        answer = _register(guesser, center.sip_port, "rex", password("rex"), 100).decode()
        assert answer.startswith("SIP/2.0 503"), answer[:40]
        retry = re.search(r"(?im)^retry-after:\s*(\d+)", answer)
        assert retry and 0 < int(retry[1]) <= limits.register_block
        # The real phone, from its own address, registers as always.
        answer = _register(phone, center.sip_port, "rex", password("rex"), 200).decode()
        assert answer.startswith("SIP/2.0 200"), answer[:40]
        assert center.sip.registrar.binding_for_agent("rex") is not None
        # Other requests from the blocked source are still answered.
        guesser.sendto(_options(guesser.getsockname()[1], 300, GUESSER), ("127.0.0.1", center.sip_port))
        assert guesser.recvfrom(65535)[0].startswith(b"SIP/2.0 200")
    finally:
        guesser.close()
        phone.close()
    blocks = [
        r.getMessage()
        for r in caplog.records
        if r.name == "centrale.telephony.flood" and GUESSER in r.getMessage()
    ]
    assert len(blocks) == 1 and "failed REGISTER authentications" in blocks[0], blocks
    wait_for(lambda: center.sip._thread.is_alive(), 1, "the SIP thread")


def test_the_sip_socket_has_one_sender_and_one_receiver(center: Center) -> None:
    """sippy's default of three sender threads on one queue reorders what the SIP thread sends (a
    REFER's NOTIFY went out before its 202); the guarded transaction manager runs one of each."""
    servers = list(center.sip._gc["_sip_tm"].l4r.cache_l2s.values())
    assert servers
    for server in servers:
        assert len(server.asenders) == 1 and len(server.areceivers) == 1


def test_the_metrics_carry_the_sip_services_counters(center: Center) -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from centrale.server.metrics import registry_for

    async def scrape() -> str:  # on the server's loop, as GET /metrics runs
        return generate_latest(registry_for(center.services)).decode()

    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(center.run(scrape()))
        for sample in family.samples
        if not sample.labels
    }
    snapshot = center.sip.guard.limiter.snapshot()
    assert samples["centrale_sip_datagrams_dropped_total"] == snapshot["dropped"]
    assert samples["centrale_sip_requests_limited_total"] == snapshot["limited"]
    assert samples["centrale_sip_sources_blocked_total"] == snapshot["blocked"]
    assert samples["centrale_sip_invites_refused_overload_total"] == center.sip.guard.overloaded


def test_a_second_sip_service_in_the_same_process_is_refused(center: Center) -> None:
    from centrale.telephony.settings import TelephonySettings
    from centrale.telephony.sip import SipService

    other = SipService(
        TelephonySettings(sip_port=free_port(), rtpengine=f"127.0.0.1:{free_port()}"), center.services.writer
    )

    async def start() -> None:
        try:
            await other.start()
        finally:
            await other.stop()

    with pytest.raises(OSError, match="a SIP service already runs in this process"):
        center.run(start())
    assert center.sip._thread.is_alive() and center.sip.started  # the running one is untouched


def test_readiness_with_the_sip_service_and_rtpengine_up(center: Center) -> None:
    r = readiness(center.services, center.loop)
    assert r.status_code == 200
    assert r.json()["checks"] == {"writer": "ok", "database": "ok", "sip": "ok", "rtpengine": "ok"}
