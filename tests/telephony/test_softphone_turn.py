"""The browser softphone's media through a TURN server, against real components: coturn on
127.0.0.1 (``use-auth-secret``), the live server whose softphones must relay (``ice_servers`` with
coturn's shared secret, ``ice_transport_policy: relay``), rtpengine, Chromium and a sipp caller.

A module of its own: its center must not run beside test_softphone's (sippy's event dispatcher is
one per process, so one SIP service at a time).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Center, free_port, password, stop, wait_for
from .test_softphone import (
    MEDIA_ARGS,
    NUMBER,
    _only,
    _why_not,
    answered_in_browser,
    audio_both_ways,
    hang_up_in_browser,
    live_phone_center,
)

pytestmark = pytest.mark.telephony

TURN_SECRET = "turn-shared-secret-for-tests"


@pytest.fixture(scope="module")
def turn_center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Center, Any, Path]]:
    """A center whose softphone must send its media through coturn (``ice_transport_policy:
    relay``), with TURN credentials from coturn's shared secret; yields the center, the live server
    and coturn's log."""
    why = _why_not() or (None if shutil.which("turnserver") else "needs turnserver (apt: coturn)")
    if why is not None:
        pytest.skip(f"TURN softphone test: {why}")
    import sippy.Core.EventDispatcher  # noqa: F401  (main thread)

    from centrale.telephony.settings import IceServer, SipAccount, TelephonySettings

    tmp = tmp_path_factory.mktemp("turn")
    turn_port, relay = free_port(), free_port(50)
    log = tmp / "turn.log"
    turn = subprocess.Popen(
        [
            "turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            f"--listening-port={turn_port}", f"--min-port={relay}", f"--max-port={relay + 49}",
            "--use-auth-secret", f"--static-auth-secret={TURN_SECRET}", "--realm=centrale.test",
            "--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli", "--fingerprint",
            f"--log-file={log}", "--simple-log", "--verbose", f"--pidfile={tmp / 'turn.pid'}",
            f"--userdb={tmp / 'turndb'}",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: _stun_answers(turn_port), 10, "coturn's answer to a STUN binding request")
        ng_port = free_port()
        telephony = TelephonySettings(
            sip_port=free_port(),
            ws_port=free_port(),
            rtpengine=f"127.0.0.1:{ng_port}",
            numbers={NUMBER: "acme-nl"},
            accounts=[SipAccount(user="anna", password=password("anna"), agent="a1")],
            ng_timeout=5.0,
            ice_servers=[
                IceServer(urls=[f"turn:127.0.0.1:{turn_port}?transport=udp"], secret=TURN_SECRET, ttl=600)
            ],
            ice_transport_policy="relay",
        )
        with live_phone_center(tmp, telephony, ng_port) as (center, live):
            yield center, live, log
    finally:
        stop(turn)


def _stun_answers(port: int) -> bool:
    """A STUN binding request (RFC 5389: type 1, no attributes, the magic cookie) to 127.0.0.1:`port`
    gets a binding success response."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + uuid.uuid4().bytes[:12]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(request, ("127.0.0.1", port))
        try:
            answer = probe.recv(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == request[8:20]


def test_with_relay_policy_the_softphone_media_flows_through_turn(
    turn_center: tuple[Center, Any, Path],
) -> None:
    from server.browser import Browser, real_errors

    center, live, log = turn_center
    _only(center, None)
    browser = Browser(live.url, extra_args=MEDIA_ARGS)
    try:
        with browser.tab() as tab:
            caller, ix, call = answered_in_browser(center, tab, "softphone-turn")
            # The browser offered only relay candidates: its media reaches rtpengine from coturn.
            sdp = call.leg.sdp if call.leg else ""
            candidates = [line for line in sdp.splitlines() if line.startswith("a=candidate:")]
            assert candidates and all(" typ relay " in c for c in candidates), candidates
            audio_both_ways(center, call, "caller")
            # coturn took the session credential (derived from its secret, for SIP user anna).
            allocated = re.compile(r"user <\d+:anna>: incoming packet ALLOCATE processed, success")
            wait_for(lambda: allocated.search(log.read_text(errors="replace")), 5, "coturn's allocation")
            hang_up_in_browser(center, tab, caller, ix)
            assert not real_errors(tab), real_errors(tab)
    finally:
        browser.close()
