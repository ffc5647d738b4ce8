"""An outbound (SIP trunk) call answered in the browser softphone, against real components: the live
server (uvicorn) with its SIP service, WebSocket listener and live dialer, a real rtpengine, Debian's
Chromium running the agent desktop with JsSIP (fake microphone), and a sipp "carrier" the trunk's
`routes` send the lead's number to.

A progressive campaign dials the lead; the carrier answers and echoes what it hears (and is
re-INVITEd to rtpengine's new port when the call is bridged); the dialer
queues the call and the engine offers it to Anna, whose phone is this browser: the customer's answer
is offered to the browser with WebRTC flags (centrale.telephony.webrtc) and the bridge answers from
the customer's side. The test answers in the page (within the dialer's 2 s, or the call counts as
abandoned), rtpengine counts RTP from the browser *and* from the customer, the desktop's *end* hangs
up both legs, and the wrap-up's disposition lands on the lead, which ends ``answered``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from centrale.core.config import QueueConfig, WrapUp, WrapUpMode
from centrale.core.events import AgentLoggedOut, QueueConfigured
from centrale.core.expressions import parse
from server.outbound_fixtures import campaign_document

from .conftest import Center, finish, free_port, password, sipp_stats, wait_for
from .test_softphone import MEDIA_ARGS, _is, _why_not, audio_both_ways, live_phone_center

pytestmark = pytest.mark.telephony

QUEUE = "acme-out"  # an outbound queue for the small center's acme agents (Anna, a1)
LEAD = "+447911123490"  # the customer's (UK mobile) number: routed to the sipp carrier


@pytest.fixture(scope="module")
def trunk_center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Center, Any]]:
    why = _why_not()
    if why is not None:
        pytest.skip(f"outbound softphone test: {why}")
    import sippy.Core.EventDispatcher  # type: ignore[import-untyped] # noqa: F401  (main thread)

    from centrale.telephony.settings import SipAccount, TelephonySettings, TrunkSettings

    tmp = tmp_path_factory.mktemp("softphone-outbound")
    ng_port = free_port()
    carrier = free_port()
    telephony = TelephonySettings(
        sip_port=free_port(),
        ws_port=free_port(),
        rtpengine=f"127.0.0.1:{ng_port}",
        accounts=[SipAccount(user="anna", password=password("anna"), agent="a1")],
        ng_timeout=5.0,
        trunk=TrunkSettings(
            host="127.0.0.1",
            port=free_port(),  # nobody there: only the lead's number, which has a route, is dialled
            caller_id="+442079460000",
            max_calls=2,
            routes={LEAD: f"127.0.0.1:{carrier}"},
        ),
    )
    with live_phone_center(tmp, telephony, ng_port, carriers={"answered": carrier}) as running:
        yield running


def _document() -> dict[str, Any]:
    return campaign_document(
        "browser-out",
        queue=QUEUE,
        campaign={"id": "browser-out", "name": "Browser agent"},
        ring_timeout="15s",  # the UK preset's minimum (Ofcom)
        dispositions=[
            {"code": "sale", "label": "Sale", "category": "sale"},
            {"code": "not_interested", "label": "Not interested", "category": "not_interested"},
            {"code": "do_not_call", "label": "Do not call", "category": "do_not_call"},
        ],
    )


def _start_campaign(center: Center) -> Any:
    from centrale.server.dialer import parse_document

    runner = center.services.extras["dialer"]

    async def make() -> Any:
        run = await runner.create(parse_document(_document()))
        csv = f"Name;Phone\nCustomer;{LEAD}\n".encode()
        await runner.import_list(run, "customers", "customers.csv", csv, mapping=None, region=None)
        runner.set_status(run, "running")
        return run

    return center.run(make())


def test_browser_agent_takes_an_outbound_call_with_audio_both_ways(
    trunk_center: tuple[Center, Any],
) -> None:
    from centrale.server.dialer import lead_rows
    from centrale.telephony.trunk import SipTrunk
    from server.browser import Browser, real_errors

    center, live = trunk_center
    runner = center.services.extras["dialer"]
    assert isinstance(runner.trunk, SipTrunk)
    center.submit(
        QueueConfigured(
            QueueConfig(
                QUEUE, "acme", "voice", parse("acme >= 1", known_skills=frozenset({"acme", "globex"})),
                direction="outbound", offer_timeout=15.0, wrap_up=WrapUp(WrapUpMode.AGENT, 120.0),
            )
        )
    )  # fmt: skip
    if center.agent_state("a2")[0] != "logged_out":  # only Anna takes calls
        center.submit(AgentLoggedOut("a2"))
    # The carrier answers, echoes what it hears, and expects one re-INVITE: the WebRTC offer from
    # the customer's side gives it a new rtpengine port (trunk_answer.xml fails without it).
    customer = center.sipp(
        "trunk_answer.xml", port=center.carriers["answered"], extra=["-rtp_echo"], name="carrier"
    )
    browser = Browser(live.url, extra_args=MEDIA_ARGS)
    try:
        with browser.tab() as tab:
            page = tab.page
            tab.login("anna", expect="/agent")
            page.wait_for_selector("#sp-phone option[value='anna']", state="attached")
            page.select_option("#sp-phone", "anna")
            assert page.is_checked("#sp-browser")
            page.click("#sp-login")
            tab.wait_js(_is("#sp-status", "status", "registered"), timeout=15_000)
            binding = center.sip.registrar.binding_for_user("anna")
            assert binding is not None and binding.transport == "ws" and binding.webrtc
            page.click("#btn-login-ready")
            wait_for(lambda: center.agent_state("a1")[0] == "ready", 10, "Anna ready")

            run = _start_campaign(center)
            # The carrier answers; the dialer has 2 s to connect an agent: answer as soon as the
            # softphone rings (Playwright clicks the moment the button is shown).
            page.click("#sp-answer", timeout=30_000)
            ix = wait_for(lambda: center.interactions_for(QUEUE), 10, "the answered call in acme-out")[0]
            call = center.sip.calls[ix]
            assert call.outbound
            assert LEAD in page.inner_text("#sp-caller")
            wait_for(lambda: center.recorder.of("Connect", ix), 15, "the engine's Connect")
            assert center.recorder.of("OfferAccepted", ix)[0].agent == "a1"
            assert not center.recorder.of("CustomerAbandoned", ix)
            assert center.sip.agent_media.answers_like_inbound(call)  # the WebRTC path, turned
            tab.wait_js(_is("#sp-call", "state", "talking"), timeout=10_000)
            # Audio both ways through rtpengine's WebRTC bridge: SRTP from the browser's fake
            # microphone to the customer, and the customer's (plain RTP) echo of it back.
            audio_both_ways(center, call, "customer")

            # The desktop's *end*: both legs hung up, the conversation goes to wrap-up.
            card = f".ix-card[data-ix='{ix}']"
            page.click(f"{card} button[data-action='end']")
            assert finish(customer, 30) == 0  # the customer got the BYE
            stats = sipp_stats(customer)
            assert stats["SuccessfulCall(C)"] == "1" and stats["FailedCall(C)"] == "0"
            wait_for(lambda: ix not in center.sip.calls, 10, "the call cleaned up")
            tab.wait_js(_is("#sp-call", "state", "idle"), timeout=10_000)
            # Wrap-up in the desktop: the campaign's disposition, then *finish*.
            page.select_option(f"{card} select[name='disposition']", "sale")
            page.click(f"{card} button[data-action='finish']")
            wait_for(lambda: center.recorder.of("WrapUpCompleted", ix), 10, "WrapUpCompleted")
            assert center.recorder.of("WrapUpCompleted", ix)[0].disposition == "sale"

            def settled() -> dict[str, Any] | None:
                rows = {row["phone"]: row for row in lead_rows(run, None, 10)}
                row = rows.get(LEAD)
                return row if row is not None and row["last_outcome"] == "answered" else None

            lead = wait_for(settled, 10, "the lead to end answered")
            assert lead["disposition"] == "sale"
            assert runner.trunk.outcomes.get("answered") == 1
            assert center.sip.failures == 0
            assert not real_errors(tab), real_errors(tab)
    finally:
        browser.close()
