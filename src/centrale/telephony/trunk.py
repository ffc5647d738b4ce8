"""The outbound SIP trunk: the live dialer's calls placed through a carrier's SIP gateway.

Theory of operation
-------------------
:class:`SipTrunk` implements :class:`centrale.server.trunk.Trunk` on top of the running
:class:`~centrale.telephony.sip.SipService` (its sippy thread, rtpengine client and call machinery).

``dial(dial_id, number, caller_id, ring_timeout)``:

1. Waits for a free line (``max_calls``; a line is held until the call ends).
2. rtpengine ``offer`` from our side (the agent side: a placeholder SDP, tag ``media_tag``) gives
   the SDP of the INVITE; a sippy UAC sends it to the gateway (``routes`` may pick another gateway
   by number prefix), answering 401/407 challenges with the trunk's credentials.
3. Call progress, from the UAC's events: 100/180/183 → ringing (keep waiting); 200 → rtpengine
   ``answer`` with the customer's SDP (ACK by sippy) → **answered**; 486/600 → **busy**;
   408/480/487 → **no_answer**; 300/301/302 with a Contact → the same INVITE (same media offer,
   same ring time-out) goes to the first Contact instead, up to three times; any other final
   response → **failed**. The ring time-out CANCELs
   the INVITE → **no_answer** (or **failed** when the gateway never answered anything: a transport
   problem). rtpengine's call is deleted for every outcome but ``answered``.
4. An answered call becomes an outbound :class:`~centrale.telephony.sip.Call` of the SIP service
   under the dial id (the engine's interaction id), in state ``QUEUED``: when the engine offers it,
   the agent's registered phone rings with the agent-side SDP; on ``Connect`` rtpengine is re-offered
   the phone's SDP from the agent side and the customer is re-INVITEd if its SDP changed — the same
   steps as inbound bridging, mirrored. A hang-up on either side ends both (``InteractionEnded``);
   the customer hanging up before an agent is connected is ``CustomerAbandoned``.

``hangup(dial_id, play_message)``: a call still ringing is cancelled; an answered one is hung up
(BYE) — first, with ``play_message``, playing the information message to the customer (rtpengine
``play media`` to the customer's tag, waiting for its length). The dialer calls it after every
answered call finishes; for an outbound call the SIP service leaves the customer's leg to it
(``InteractionFinished`` does not hang up), so an abandoned call hears the message before the BYE.
``hangup(dial_id, False, message, language)`` plays ``message`` instead — one left on an answering
machine, or an agentless campaign's: a WAV file as it is, or text spoken by espeak-ng in
``language`` (the caller side's prompt cache, so a campaign's text is spoken once).

Threads: SIP events reach this module on the asyncio loop, in order, through the service's
hand-over (``_to_loop``); SIP actions go back with ``_to_sip``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from centrale.outbound.survey import Survey
from centrale.server.trunk import CallProgress
from centrale.telephony.hold import answer_current
from centrale.telephony.music import wav_seconds, write_information_message
from centrale.telephony.ng import NgError
from centrale.telephony.prompts import PromptError
from centrale.telephony.settings import TrunkSettings
from centrale.telephony.sip import PLACEHOLDER_SDP, Call, CallState, SipService

log = logging.getLogger("centrale.telephony.trunk")
SURVEY_TRIES = 2  # a survey question is asked at most twice (a wrong key, or none)
SURVEY_INPUT_SECONDS = 6.0  # how long a question waits for its key after its prompt

__all__ = ["SipTrunk", "progress_for"]

BUSY_CODES = frozenset({486, 600})
NO_ANSWER_CODES = frozenset({408, 480, 487})
MAX_REDIRECTS = 3
"""3xx redirects followed per dial (a loop of redirects between two gateways ends there)."""


def progress_for(code: int, *, responded: bool) -> CallProgress:
    """The call-progress outcome of a final failure response (``responded``: the gateway sent
    anything at all before it; a 408 without that is our own transaction time-out)."""
    if code in BUSY_CODES:
        return CallProgress.BUSY
    if code in NO_ANSWER_CODES:
        return CallProgress.NO_ANSWER if (responded or code != 408) else CallProgress.FAILED
    return CallProgress.FAILED


@dataclass(eq=False)
class _Dial:
    """One dial while it is set up (until its outcome is known)."""

    dial_id: str
    number: str
    call_id: str
    media_tag: str
    final: asyncio.Future[tuple[str, int, str, str]]  # (connect|fail|gone, code, sdp, remote tag)
    offer: str = ""  # the SDP of our INVITE
    ua: Any = None
    responded: bool = False  # any response (100 Trying included) came back
    over: bool = False  # the outcome is settled: later setup events are not news
    gone: bool = False  # the customer hung up before the answered call was handed over
    call: Call | None = None
    amd: str | None = None  # the carrier's answering-machine header in its 183/200, if any
    caller_id: str = ""  # the From of our INVITEs (kept for a redirect)
    redirects: int = 0  # 3xx redirects followed so far


class SipTrunk:
    """The SIP trunk (see the module docstring). ``sip`` must be started before dialling."""

    def __init__(self, sip: SipService, settings: TrunkSettings) -> None:
        self.sip = sip
        self.settings = settings
        self._lines = asyncio.Semaphore(settings.max_calls)
        self._dials: dict[str, _Dial] = {}
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._message: str | None = settings.message
        self.outcomes: dict[str, int] = {}
        self.messages_played = 0
        self.messages_left = 0  # messages played before a hang-up (answering machines, agentless)

    # --- the information message ------------------------------------------------------------------
    @property
    def message(self) -> str:
        if self._message is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="centrale-msg-")
            self._message = str(write_information_message(Path(self._tmpdir.name) / "message.wav"))
        return self._message

    def close(self) -> None:
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    # --- Trunk: dial ------------------------------------------------------------------------------
    async def dial(self, dial_id: str, number: str, caller_id: str, ring_timeout: float) -> CallProgress:
        await self._lines.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._lines.release()

        try:
            progress, call = await self._dial(dial_id, number, caller_id or "", ring_timeout)
        except BaseException:
            release()
            raise
        if call is None:
            release()
        else:
            call.on_end.append(release)
        self.outcomes[progress.value] = self.outcomes.get(progress.value, 0) + 1
        log.info("dial %s to %s: %s", dial_id, number, progress.value)
        return progress

    async def _dial(
        self, dial_id: str, number: str, caller_id: str, ring_timeout: float
    ) -> tuple[CallProgress, Call | None]:
        sip = self.sip
        if not sip.started:
            log.error("dial %s: the SIP service is not running", dial_id)
            return CallProgress.FAILED, None
        token = secrets.token_hex(8)
        d = _Dial(
            dial_id,
            number,
            f"ctr-out-{token}",
            f"ctr-{token[:12]}",
            asyncio.get_running_loop().create_future(),
        )
        try:
            offer = await sip.ng.offer(d.call_id, d.media_tag, PLACEHOLDER_SDP)
        except NgError as exc:
            log.error("dial %s: media: %s", dial_id, exc)
            return CallProgress.FAILED, None
        d.offer = offer
        d.caller_id = caller_id or self.settings.caller_id or ""
        host, port = self.settings.gateway_for(number)
        self._dials[dial_id] = d
        try:
            sip._to_sip(self._sip_invite, d, host, port, d.caller_id, offer)
            try:
                kind, code, sdp, tag = await asyncio.wait_for(asyncio.shield(d.final), ring_timeout)
            except TimeoutError:
                d.over = True
                sip._to_sip(self._sip_hangup_dial, d)
                outcome = CallProgress.NO_ANSWER if d.responded else CallProgress.FAILED
                if not d.responded:
                    log.warning("dial %s: no response from %s:%d", dial_id, host, port)
                await self._forget(d)
                return outcome, None
            d.over = True
            if kind != "connect":
                await self._forget(d)
                if kind == "gone":
                    return CallProgress.FAILED, None
                return progress_for(code, responded=d.responded), None
            return await self._answered(d, sdp, tag)
        except asyncio.CancelledError:  # the dialer stops while the call rings: CANCEL it
            if not d.over:
                d.over = True
                sip._to_sip(self._sip_hangup_dial, d)
                sip._spawn(self._forget, (d,))
            raise
        finally:
            self._dials.pop(dial_id, None)

    async def _answered(self, d: _Dial, sdp: str, tag: str) -> tuple[CallProgress, Call | None]:
        sip = self.sip
        try:
            agent_sdp = await sip.ng.answer(d.call_id, d.media_tag, tag, sdp)
        except NgError as exc:
            log.error("dial %s: answered, but media failed: %s", d.dial_id, exc)
            sip._to_sip(self._sip_hangup_dial, d)
            await self._forget(d)
            return CallProgress.FAILED, None
        call = Call(
            interaction=d.dial_id,
            queue="",
            number=d.number,
            caller=d.ua,
            call_id=d.call_id,
            caller_tag=tag,
            caller_sdp=sdp,
            contact=d.number,
            media_tag=d.media_tag,
            state=CallState.QUEUED,
            agent_offer_sdp=agent_sdp,
            media=True,
            outbound=True,
            local_sdp=d.offer,
        )
        if d.gone:  # answered and hung up at once
            log.info("dial %s: the customer hung up as soon as it answered", d.dial_id)
            async with call.lock:
                await sip._end(call, hangup_caller=False)
            return CallProgress.FAILED, None
        d.call = call
        sip.calls[d.dial_id] = call  # before the dialer's InteractionArrived (the engine may offer it)
        progress = self.answered_by(d.amd)
        if d.amd is not None:
            log.info("dial %s: the carrier's AMD says %r: %s", d.dial_id, d.amd, progress.value)
        return progress, call

    def answered_by(self, amd: str | None) -> CallProgress:
        """Who answered, by the carrier's AMD header value (``trunk.amd``): a machine → ``machine``
        (the call stays up: the campaign's answering_machine setting decides); a person, no header or
        no AMD configured → ``answered``; any other value (NOTSURE …) → ``amd.unsure``."""
        amd_settings = self.settings.amd
        if amd_settings is None or amd is None:
            return CallProgress.ANSWERED
        value = amd.split(";", 1)[0].strip().upper()
        if value in {v.upper() for v in amd_settings.machine}:
            return CallProgress.MACHINE
        if value in {v.upper() for v in amd_settings.human}:
            return CallProgress.ANSWERED
        return CallProgress.MACHINE if amd_settings.unsure == "machine" else CallProgress.ANSWERED

    async def _forget(self, d: _Dial) -> None:
        try:
            await self.sip.ng.delete(d.call_id)
        except NgError as exc:
            log.warning("dial %s: rtpengine delete failed: %s", d.dial_id, exc)

    # --- Trunk: hangup ----------------------------------------------------------------------------
    async def hangup(
        self, dial_id: str, play_message: bool, message: str | None = None, language: str = "en"
    ) -> None:
        # `message`: what to play before the BYE (a message left on an answering machine, or an
        # agentless campaign's): a WAV file as it is, text spoken by espeak-ng in `language`.
        sip = self.sip
        d = self._dials.get(dial_id)
        if d is not None and not d.over:  # still ringing (the dialer stops): cancel
            d.over = True
            sip._to_sip(self._sip_hangup_dial, d)
            if not d.final.done():
                d.final.set_result(("fail", 487, "", ""))
            return
        call = sip.calls.get(dial_id)
        if call is None or not call.outbound:
            return
        played = 0.0
        recording = self.message if play_message else await self._recording(dial_id, message, language)
        async with call.lock:
            if call.state is CallState.ENDED:
                return
            if recording is not None:
                sip._drop_leg(call)
                call.state = CallState.CLOSING
                what = "information message" if play_message else "message"
                length = await self._play(call, recording, what)
                if length is not None:
                    played = length
                    if play_message:
                        self.messages_played += 1
                    else:
                        self.messages_left += 1
                    log.info("%s: %s playing (%.1f s)", dial_id, what, played)
            else:
                await sip._end(call, hangup_caller=True)
                return
        if played:
            await asyncio.sleep(played + 0.3)
        async with call.lock:
            await sip._end(call, hangup_caller=True)  # nothing if the customer hung up meanwhile

    # --- Trunk: survey (agentless campaigns) --------------------------------------------------------
    async def survey(
        self, dial_id: str, survey: Survey, language: str = "en", intro: str | None = None
    ) -> dict[str, str]:
        """Play `intro` (the campaign's message, if any), then ask each question of `survey` on the
        answered call `dial_id` and collect one allowed key per question from the customer's RFC 2833
        digits (rtpengine's DTMF log). A question is
        spoken (or its WAV played), then waits ``SURVEY_INPUT_SECONDS`` after the prompt for a key;
        a key it does not allow, or none, asks it once more; a key pressed while it plays counts
        (people answer before the end). The call stays up; a customer who hangs up ends the
        survey with the answers so far."""
        call = self.sip.calls.get(dial_id)
        if call is None or not call.outbound:
            return {}
        digits: asyncio.Queue[str] = asyncio.Queue()
        side = self.sip.caller_side
        side.listen(call.call_id, call.caller_tag, digits.put_nowait)
        keys: dict[str, str] = {}
        try:
            opening = await self._recording(dial_id, intro, language)
            await asyncio.sleep(await self._play(call, opening) or 0.0)  # the message, whole
            for question in survey.questions:
                for _ in range(SURVEY_TRIES):
                    while not digits.empty():  # keys pressed before this question was asked
                        digits.get_nowait()
                    prompt = await self._recording(dial_id, question.prompt, language)
                    length = await self._play(call, prompt, "survey question") or 0.0
                    if call.state is CallState.ENDED:
                        return keys
                    try:
                        key = await asyncio.wait_for(digits.get(), length + SURVEY_INPUT_SECONDS)
                    except TimeoutError:
                        key = ""
                    if key in question.keys:
                        keys[question.id] = key
                        break
                    log.info(
                        "%s: survey question %s: %s", dial_id, question.id, f"key {key}" if key else "no key"
                    )
                if call.state is CallState.ENDED:
                    return keys
        finally:
            side.unlisten(call.call_id)
        log.info("%s: survey answered: %s", dial_id, keys)
        return keys

    async def _play(self, call: Call, recording: str | None, what: str = "message") -> float | None:
        """Start `recording` to the customer (not waited for): its length in seconds, or None when
        nothing plays (no recording, the call ended, rtpengine refused: logged)."""
        if recording is None or call.state is CallState.ENDED:
            return None
        try:
            await self.sip.ng.play_media(call.call_id, call.caller_tag, recording, repeat_times=1)
        except NgError as exc:
            log.error("%s: the %s could not be played: %s", call.interaction, what, exc)
            return None
        return wav_seconds(recording)

    async def _recording(self, dial_id: str, message: str | None, language: str) -> str | None:
        """The WAV file of `message`: a WAV file's name as it is, text spoken in `language` (cached
        by the caller side's prompts); None for no message, or when it cannot be had (logged)."""
        if message is None:
            return None
        if message.lower().endswith(".wav"):
            if Path(message).is_file():
                return message
            log.error("%s: the recording %s is missing: not played", dial_id, message)
            return None
        prompts = self.sip.caller_side.prompts
        if prompts is None:
            log.error("%s: no prompts (the SIP service is not started): not played", dial_id)
            return None
        loop = asyncio.get_running_loop()
        try:  # espeak-ng runs as a process: off the loop (a cached text costs nothing)
            return str(await loop.run_in_executor(None, prompts.speech, language, message))
        except PromptError as exc:
            log.error("%s: %r could not be spoken (%s): not played", dial_id, message[:60], exc)
            return None

    # --- SIP thread ---------------------------------------------------------------------------------
    def _sip_invite(self, d: _Dial, host: str, port: int, caller_id: str, sdp: str) -> None:
        from sippy.CCEvents import CCEventTry  # type: ignore[import-untyped]
        from sippy.MsgBody import MsgBody  # type: ignore[import-untyped]
        from sippy.SipCallId import SipCallId  # type: ignore[import-untyped]

        if d.over:
            return
        s = self.settings

        def event_cb(event: Any, ua: Any) -> None:
            try:
                self._event(d, event, ua)
            except Exception:
                self.sip.failures += 1
                log.exception("trunk event %s for %s failed; hanging up", event, d.dial_id)
                self.sip._sip_hangup(ua)

        ua = _trunk_ua_class()(self.sip._gc, event_cb, s.username, s.password, nh_address=(host, port))
        ua.amd_header = s.amd.header.lower() if s.amd is not None else ""
        d.ua = ua
        ua.recvEvent(
            CCEventTry((SipCallId(d.call_id), caller_id or "anonymous", d.number, MsgBody(sdp), None, ""))
        )

    def _event(self, d: _Dial, event: Any, ua: Any) -> None:
        """A sippy event for the customer's leg (SIP thread): everything is decided on the loop."""
        from sippy.CCEvents import (
            CCEventConnect,
            CCEventDisconnect,
            CCEventFail,
            CCEventRedirect,
            CCEventRing,
            CCEventUpdate,
        )

        if ua is not d.ua:
            return  # a leg a redirect has replaced: its last words are not news
        if isinstance(event, CCEventRing):
            self.sip._to_loop(self._on_ring, d)
        elif isinstance(event, CCEventConnect):
            _code, _reason, body = event.getData()
            tag = str(ua.rUri.getTag() or "")
            amd = getattr(ua, "amd_value", None)
            self.sip._to_loop(self._on_connect, d, str(body) if body is not None else "", tag, amd)
        elif isinstance(event, CCEventRedirect):
            data = event.getData()
            urls = [address.url for address in (data[3] if len(data) > 3 else ())]  # SipAddress → SipURL
            targets = [
                (str(url.username or ""), str(url.host), int(url.port or 5060)) for url in urls if url.host
            ]
            d.ua = None  # that leg is over (sippy ACKed the 3xx)
            self.sip._to_loop(self._on_redirect, d, int(data[0]), targets)
        elif isinstance(event, CCEventFail):
            data = event.getData()
            code = int(data[0]) if data else 0
            if code in (401, 403, 407):  # sippy answers one challenge; this is the carrier's verdict
                log.warning(
                    "dial %s: the carrier refused our credentials (%d%s)",
                    d.dial_id,
                    code,
                    "" if self.settings.username else "; the trunk has no username/password",
                )
            self.sip._to_loop(self._on_end, d, code)
        elif isinstance(event, CCEventDisconnect):
            self.sip._to_loop(self._on_end, d, 0)
        elif isinstance(event, CCEventUpdate):
            answer_current(ua)  # a re-INVITE from the customer's side: keep the media as it is

    def _sip_hangup_dial(self, d: _Dial) -> None:
        if d.ua is not None:
            self.sip._sip_hangup(d.ua)  # CANCEL while trying/ringing, BYE once it answered

    # --- asyncio: SIP events --------------------------------------------------------------------------
    async def _on_ring(self, d: _Dial) -> None:
        if not d.responded:
            d.responded = True
            log.debug("dial %s: ringing", d.dial_id)

    async def _on_connect(self, d: _Dial, sdp: str, tag: str, amd: str | None = None) -> None:
        d.responded = True
        if not d.final.done():
            d.amd = amd
            if d.over:  # answered after the CANCEL (or hangup) went out: hang that leg up
                self.sip._to_sip(self._sip_hangup_dial, d)
                return
            d.final.set_result(("connect", 200, sdp, tag))
        elif d.final.result()[0] != "connect":
            self.sip._to_sip(self._sip_hangup_dial, d)  # a 200 racing our CANCEL (ring time-out)
        # else: the answer to our re-INVITE (bridging): nothing to do

    async def _on_redirect(self, d: _Dial, code: int, targets: list[tuple[str, str, int]]) -> None:
        """A 3xx with a Contact: INVITE the first target instead, within the same ring time-out
        and with the same media offer (its user part, when there is one, is the number to ask for)."""
        d.responded = True
        if d.final.done() or d.over:
            return
        if not targets or d.redirects >= MAX_REDIRECTS:
            log.warning(
                "dial %s: %d redirect%s not followed", d.dial_id, code, "" if targets else " without a target"
            )
            d.final.set_result(("fail", code, "", ""))
            return
        d.redirects += 1
        user, host, port = targets[0]
        d.number = user or d.number
        log.info("dial %s: %d, redirected to %s@%s:%d", d.dial_id, code, d.number, host, port)
        self.sip._to_sip(self._sip_invite, d, host, port, d.caller_id, d.offer)

    async def _on_end(self, d: _Dial, code: int) -> None:
        if code:
            d.responded = d.responded or code != 408
        if not d.final.done():
            d.final.set_result(("fail", code, "", "") if code else ("gone", 0, "", ""))
            return
        call = d.call
        if call is None:
            d.gone = True  # answered, not handed over yet: _answered sees it
            return
        await self.sip._caller_gone(call)


_ua_class: Any = None


def _trunk_ua_class() -> Any:
    """sippy's UA, reading the carrier's AMD header from the INVITE's 18x/2xx responses (sippy's
    call-control events carry no headers) and acknowledging a 3xx where the INVITE went. Made once,
    on first use (sippy is imported lazily)."""
    global _ua_class
    if _ua_class is None:
        from sippy.UA import UA  # type: ignore[import-untyped]

        class TrunkUA(UA):  # type: ignore[misc]
            amd_header = ""  # lower case (sippy's header names are); "" = AMD off
            amd_value: str | None = None

            def recvResponse(self, resp: Any, tr: Any) -> None:
                name = self.amd_header
                code = resp.getSCode()[0]
                if name and resp.countHFs(name) > 0 and 180 <= code < 300:
                    self.amd_value = str(resp.getHFBody(name)).strip()
                super().recvResponse(resp, tr)
                if 300 <= code < 400:
                    # The UA has read the redirect's Contact. sippy's transaction layer would send
                    # the ACK there too; RFC 3261 (17.1.1.3) wants it where the INVITE went.
                    resp.delHFs("contact")

        _ua_class = TrunkUA
    return _ua_class
