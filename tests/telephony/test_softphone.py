"""The browser softphone and agents logging in to a phone, against real components: the live server
(uvicorn) with its SIP service and WebSocket listener, a real rtpengine, Debian's Chromium running
the agent desktop with JsSIP (fake microphone), and sipp callers and desk phones.

* an agent chooses the browser as phone; JsSIP registers over WebSocket (the registrar has a ``ws``
  binding made with the session credential); a sipp caller calls the queue; the desktop rings; the
  test clicks *answer*; rtpengine counts RTP from the browser *and* from the caller (audio both ways
  through the WebRTC bridge); *hang up* ends both legs and the interaction;
* REGISTER over WebSocket without credentials → 401, wrong or unknown → 403; no ``sip`` subprotocol
  → the connection is closed;
* a phone held by one agent is refused to another (``phone.taken``); leaving it frees it;
* offers ring the phone the agent logged in to, not the fixed account mapping; logging out of the
  ACD releases the phone.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from centrale.core.events import AgentLoggedIn, AgentLoggedOut

from .conftest import (
    MISSING,
    Center,
    Recorder,
    finish,
    free_port,
    password,
    sipp_stats,
    start_rtpengine,
    stop,
    wait_for,
    wait_pong,
)

pytestmark = pytest.mark.telephony

VENDOR = Path(__file__).resolve().parents[2] / "src/centrale/server/web/static/vendor/jssip.js"
NUMBER = "2001"  # the service number of the queue acme-nl (tests/server/live.py's small center)
MEDIA_ARGS = (
    "--use-fake-ui-for-media-stream",  # grant the microphone without asking
    "--use-fake-device-for-media-stream",  # a generated tone as microphone
    "--allow-loopback-in-peer-connection",  # everything here is on 127.0.0.1
)


def _why_not() -> str | None:
    from server.browser import chromium_missing

    if MISSING:
        return f"needs {' and '.join(MISSING)} (apt: sip-tester, rtpengine-daemon)"
    missing = chromium_missing()
    if missing is not None:
        return missing
    if not VENDOR.exists():
        return f"{VENDOR.name} is not built: run ./dev setup (npm ci in web/)"
    return None


@pytest.fixture(scope="module")
def phone_center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Center, Any]]:
    why = _why_not()
    if why is not None:
        pytest.skip(f"softphone tests: {why}")
    import sippy.Core.EventDispatcher  # type: ignore[import-untyped] # noqa: F401  (main thread)

    from centrale.telephony.settings import SipAccount, TelephonySettings

    tmp = tmp_path_factory.mktemp("softphone")
    ng_port = free_port()
    sip_port, ws_port = free_port(), free_port()
    telephony = TelephonySettings(
        sip_port=sip_port,
        ws_port=ws_port,
        rtpengine=f"127.0.0.1:{ng_port}",
        numbers={NUMBER: "acme-nl"},
        accounts=[
            SipAccount(user="anna", password=password("anna"), agent="a1"),  # Anna's own phone
            SipAccount(user="bram", password=password("bram"), agent="a2"),  # Bram's own (never registered)
            SipAccount(user="desk-7", password=password("desk-7")),  # a shared desk phone
        ],
        ng_timeout=5.0,
    )
    with live_phone_center(tmp, telephony, ng_port) as running:
        yield running


def audio_both_ways(center: Center, call: Any, other: str) -> None:
    """Wait for > 20 RTP packets from the browser's side *and* from the other party's (rtpengine's
    per-tag counters); on failure print what rtpengine saw."""
    seen: dict[str, int] = {}

    def both_ways() -> dict[str, int] | None:
        seen.update(center.packets(call.call_id))
        return seen if seen.get(call.caller_tag, 0) > 20 and seen.get(call.media_tag, 0) > 20 else None

    try:
        counts = wait_for(both_ways, 20, f"RTP from the {other} and from the browser")
    except AssertionError:
        print("packets per tag:", seen, other, call.caller_tag, "browser", call.media_tag)
        log = (center.tmp / "rtpengine.log").read_text(errors="replace").splitlines()
        print("rtpengine:", "\n".join(x for x in log if "'query'" not in x)[-8000:])
        print("browser's SDP:", call.leg.sdp if call.leg else None)
        raise
    assert counts[call.caller_tag] > 20 and counts[call.media_tag] > 20


@contextlib.contextmanager
def live_phone_center(tmp: Path, telephony: Any, ng_port: int, **center: Any) -> Iterator[tuple[Center, Any]]:
    """rtpengine (its NG on `ng_port`) and the live server with `telephony`, as a Center; everything
    started here is stopped afterwards. `center`: extra Center fields (e.g. `carriers`)."""
    from server.live import serve

    rtpengine = start_rtpengine(tmp, ng_port, free_port(100), 100, 6)
    try:
        with serve(f"sqlite:///{tmp / 'centrale.db'}", settings={"telephony": telephony}) as live:
            recorder = Recorder()
            live.services.writer.listeners.append(recorder)
            sip = live.services.extras["sip"]
            running = Center(
                live.loop, live.services, sip, telephony.sip_port, ng_port, recorder, tmp, **center
            )
            if not wait_pong(running, rtpengine, 15):
                raise RuntimeError("rtpengine did not answer NG pings")
            try:
                yield running, live
            finally:
                running.stop_sipps()
    finally:
        stop(rtpengine)


def _only(center: Center, ready: str | None) -> None:
    """Every agent logged out except `ready` (logged in and ready), so offers go where the test says."""
    for agent in ("a1", "a2"):
        state = center.services.engine.agents[agent].state.value
        if agent == ready and state == "logged_out":
            center.submit(AgentLoggedIn(agent, ready=True))
        elif agent != ready and state != "logged_out":
            center.submit(AgentLoggedOut(agent))


def _new_call(center: Center, before: set[str]) -> str:
    found = wait_for(
        lambda: [i for i in center.interactions_for("acme-nl") if i not in before], 20, "a call in acme-nl"
    )
    assert len(found) == 1, found
    return str(found[0])


def _is(selector: str, key: str, value: str) -> str:
    return f"document.querySelector('{selector}').dataset.{key} === '{value}'"


# --- SIP over WebSocket: the registrar's answers ---------------------------------------------------------
def _register(user: str, ws_port: int, branch: str, cseq: int, auth: str = "") -> str:
    call_id = f"ws-test-{user}"
    return (
        f"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/WSS test.invalid;branch=z9hG4bK{branch}\r\n"
        f"Max-Forwards: 70\r\n"
        f"To: <sip:{user}@127.0.0.1>\r\n"
        f"From: <sip:{user}@127.0.0.1>;tag=t{cseq}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:x@test.invalid;transport=ws>\r\n"
        f"Expires: 60\r\n"
        f"{auth}"
        f"Content-Length: 0\r\n\r\n"
    )


def _status(answer: str) -> int:
    return int(answer.split(" ", 2)[1])


def test_register_over_websocket_refuses_bad_credentials(phone_center: tuple[Center, Any]) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from centrale.telephony.registrar import digest_response

    center, _live = phone_center
    settings = center.sip.settings
    url = settings.websocket_url
    with connect(url, subprotocols=["sip"], open_timeout=5) as ws:  # type: ignore[list-item]
        ws.send(_register("anna", settings.ws_port, uuid.uuid4().hex, 1))
        challenge = str(ws.recv(timeout=5))
        assert _status(challenge) == 401, challenge
        nonce = re.search(r'nonce="([^"]+)"', challenge)
        assert nonce is not None and 'realm="centrale"' in challenge
        for user, pw in (("anna", "not the password"), ("nobody", "whatever secret")):
            uri = "sip:127.0.0.1"
            response = digest_response(
                username=user, realm="centrale", password=pw, method="REGISTER", uri=uri,
                nonce=nonce.group(1), qop="auth", nc="00000001", cnonce="abc",
            )  # fmt: skip
            auth = (
                f'Authorization: Digest username="{user}", realm="centrale", nonce="{nonce.group(1)}", '
                f'uri="{uri}", response="{response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="abc"\r\n'
            )
            ws.send(_register(user, settings.ws_port, uuid.uuid4().hex, 2, auth))
            answer = str(ws.recv(timeout=5))
            assert _status(answer) == 403, answer
    assert center.sip.registrar.binding_for_user("anna") is None
    # RFC 7118: the handshake must ask for the "sip" subprotocol.
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=5)
    assert refused.value.response.status_code == 400


# --- agents log in to a phone ----------------------------------------------------------------------------
def test_a_phone_is_held_by_one_agent_at_a_time(phone_center: tuple[Center, Any]) -> None:
    _center, live = phone_center
    with live.client("anna") as anna, live.client("bram") as bram:
        # Anna's own phone is hers (the fixed mapping): Bram cannot take it.
        r = bram.post("/api/desktop/phone", json={"phone": "anna"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "phone.taken", r.text
        r = anna.post("/api/desktop/phone", json={"phone": "desk-7"})
        assert r.status_code == 200, r.text
        assert r.json()["phone"] == "desk-7" and r.json()["chosen"] and r.json()["sip"] is None
        r = bram.post("/api/desktop/phone", json={"phone": "desk-7"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "phone.taken", r.text
        phones = {p["user"]: p for p in bram.get("/api/desktop/phone").json()["phones"]}
        assert phones["desk-7"] == {"user": "desk-7", "held_by": "a1", "available": False}
        r = bram.post("/api/desktop/phone", json={"phone": "no-such-phone"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "phone.unknown"
        assert anna.delete("/api/desktop/phone").status_code == 200
        r = anna.delete("/api/desktop/phone")
        assert r.status_code == 409 and r.json()["error"]["code"] == "phone.not_held"
        r = bram.post("/api/desktop/phone", json={"phone": "desk-7"})
        assert r.status_code == 200, r.text
        assert bram.delete("/api/desktop/phone").status_code == 200
    with live.client("admin") as admin:  # no agent: no phone
        assert admin.get("/api/desktop/phone").status_code == 403


def test_offers_ring_the_phone_the_agent_logged_in_to(phone_center: tuple[Center, Any]) -> None:
    center, live = phone_center
    _only(center, "a2")
    phone = center.phone("desk-7", "answer.xml")  # a desk phone that answers (and echoes)
    with live.client("bram") as bram:
        r = bram.post("/api/desktop/phone", json={"phone": "desk-7"})
        assert r.status_code == 200 and r.json()["registered"] is True, r.text
        before = set(center.interactions_for("acme-nl"))
        # Bram's own account "bram" has no registered phone: with the fixed mapping this offer
        # would be rejected at once; it rings desk-7 instead.
        caller = center.sipp("caller.xml", service=NUMBER, extra=["-d", "1500"], name="chosen")
        ix = _new_call(center, before)
        accepted = wait_for(lambda: center.recorder.of("OfferAccepted", ix), 20, "OfferAccepted")
        assert accepted[0].agent == "a2"
        assert not center.recorder.of("OfferRejected", ix)
        assert finish(caller, 30) == 0
        assert finish(phone, 30) == 0
        wait_for(lambda: center.recorder.of("InteractionEnded", ix), 10, "InteractionEnded")
        # Logging out of the ACD releases the phone (once the wrap-up is done).
        r = bram.post(f"/api/desktop/interactions/{ix}/wrap-up", json={"disposition": "info"})
        assert r.status_code == 200, r.text
        assert bram.post("/api/desktop/logout", json={}).status_code == 200
        wait_for(lambda: center.sip.registrar.phones.session_of("a2") is None, 5, "the phone released")
        assert bram.get("/api/desktop/phone").json()["chosen"] is False


# --- the browser softphone -------------------------------------------------------------------------------
def answered_in_browser(center: Center, tab: Any, label: str) -> tuple[Any, str, Any]:
    """Anna logs in to the browser as her phone, gets ready, a sipp caller calls the queue and she
    answers in the desktop: (the caller's sipp, the interaction, the SIP service's call)."""
    page = tab.page
    tab.login("anna", expect="/agent")
    page.wait_for_selector("#sp-phone option[value='anna']", state="attached")
    page.select_option("#sp-phone", "anna")
    assert page.is_checked("#sp-browser")  # the browser is the default when softphones are on
    page.click("#sp-login")
    # JsSIP registers over WebSocket with the session credential.
    tab.wait_js("document.querySelector('#sp-status').dataset.status === 'registered'", timeout=15_000)
    binding = center.sip.registrar.binding_for_user("anna")
    assert binding is not None and binding.transport == "ws" and binding.by_session
    assert binding.host.endswith(".invalid")
    page.click("#btn-login-ready")
    wait_for(lambda: center.agent_state("a1")[0] == "ready", 10, "Anna ready")

    before = set(center.interactions_for("acme-nl"))
    caller = center.sipp("caller_bye.xml", service=NUMBER, name=label)
    ix = _new_call(center, before)
    tab.wait_js(_is("#sp-call", "state", "ringing"), timeout=15_000)
    assert "+31201234567" in page.inner_text("#sp-caller")
    tab.screenshot(f"{label}-ringing", full_page=False)
    page.click("#sp-answer")
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    assert center.recorder.of("OfferAccepted", ix)[0].agent == "a1"
    tab.wait_js(_is("#sp-call", "state", "talking"), timeout=10_000)
    return caller, ix, center.sip.calls[ix]


def hang_up_in_browser(center: Center, tab: Any, caller: Any, ix: str) -> None:
    """Anna hangs up (the caller gets the BYE, the interaction ends) and leaves the phone."""
    page = tab.page
    page.click("#sp-hangup")
    assert finish(caller, 30) == 0  # the caller got the BYE
    stats = sipp_stats(caller)
    assert stats["SuccessfulCall(C)"] == "1" and stats["FailedCall(C)"] == "0"
    wait_for(lambda: center.recorder.of("InteractionEnded", ix), 10, "InteractionEnded")
    wait_for(lambda: ix not in center.sip.calls, 10, "the call cleaned up")
    tab.wait_js(_is("#sp-call", "state", "idle"), timeout=10_000)
    # Leaving the phone unregisters the softphone's session binding.
    page.click("#sp-logout")
    wait_for(lambda: center.sip.registrar.binding_for_user("anna") is None, 10, "the binding gone")


def test_browser_softphone_answers_a_queued_call_with_audio_both_ways(
    phone_center: tuple[Center, Any],
) -> None:
    from server.browser import ARTIFACTS, Browser, real_errors

    center, live = phone_center
    _only(center, None)
    browser = Browser(live.url, extra_args=MEDIA_ARGS)
    try:
        with browser.tab() as tab:
            caller, ix, call = answered_in_browser(center, tab, "softphone")
            # Audio both ways through rtpengine's WebRTC bridge: SRTP from the browser's fake
            # microphone, G.711 from the caller.
            audio_both_ways(center, call, "caller")
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot("softphone-talking", full_page=False)
            hang_up_in_browser(center, tab, caller, ix)
            assert not real_errors(tab), real_errors(tab)
    finally:
        browser.close()


# --- the phone desk on its own (no peers) ------------------------------------------------------------------
def _desk() -> Any:
    from centrale.telephony.phones import PhoneDesk
    from centrale.telephony.settings import SipAccount

    released: list[Any] = []
    desk = PhoneDesk(
        [
            SipAccount(user="anna", password="x" * 8, agent="a1"),
            SipAccount(user="desk-7", password="y" * 8),
        ],
        clock=lambda: 100.0,
        on_release=released.append,
    )
    desk.released = released  # type: ignore[attr-defined]
    return desk


def test_phone_desk_moves_and_refusals() -> None:
    from centrale.telephony.phones import PhoneError, PhoneState

    desk = _desk()
    assert desk.user_for("a1") == "anna" and desk.user_for("a2") is None  # the fixed mapping
    assert desk.state("desk-7") is PhoneState.FREE and desk.state("anna") is PhoneState.HELD
    session = desk.login("a2", "desk-7", softphone=True)
    assert desk.user_for("a2") == "desk-7" and desk.secret_for("desk-7") == session.secret
    assert session.secret and len(session.secret) >= 24
    for agent, user, code in (
        ("a1", "desk-7", "phone.taken"),
        ("a2", "anna", "phone.taken"),
        ("a1", "x", "phone.unknown"),
    ):
        with pytest.raises(PhoneError) as refused:
            desk.login(agent, user, softphone=False)
        assert refused.value.code == code
    assert desk.user_for("a2") == "desk-7"  # nothing changed
    again = desk.login("a2", "desk-7", softphone=True)  # retake: a fresh credential
    assert again.secret != session.secret and desk.secret_for("desk-7") == again.secret
    # Anna takes her own phone in the browser; Bram leaves desk-7 and Anna switches to it, which
    # releases her own.
    desk.login("a1", "anna", softphone=True)
    desk.logout("a2")
    assert desk.secret_for("desk-7") is None and desk.user_for("a2") is None
    desk.login("a1", "desk-7", softphone=False)
    assert [s.user for s in desk.released] == ["desk-7", "anna"]
    assert desk.user_for("a1") == "desk-7" and desk.holder("anna") is None  # her own is free now
    with pytest.raises(PhoneError) as refused:
        desk.logout("a2")
    assert refused.value.code == "phone.not_held"
    desk.agent_logged_out("a1")
    assert desk.user_for("a1") == "anna"  # back to the default
