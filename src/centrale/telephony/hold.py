"""Hold and resume on real calls: music for the customer, silence between the parties.

Theory of operation
-------------------
Hold is the engine's business (``HoldStarted`` / ``HoldEnded`` move the interaction between
CONNECTED and HELD and count hold time for AHT); the media follow the engine. Whoever asks — the
desktop's hold button or the agent's phone — the event goes to the engine first, and the SIP
service acts on it when it comes back in a stored batch (:meth:`HoldControl.on_event`):

* **held** → rtpengine ``block media`` for both parties' tags (neither hears the other any more) and
  ``play media`` of the music on hold to the customer (the player's packets are not blocked);
* **resumed** → ``unblock media`` for both and ``stop media``: the conversation goes on.

The agent's phone puts a call on hold with a re-INVITE whose SDP says ``a=sendonly`` or
``a=inactive`` (or the old ``c=0.0.0.0``), and resumes with ``a=sendrecv`` (:func:`holding`). Such
a re-INVITE is answered with SDP through rtpengine, as a re-offer from the agent's side (``offer``
with from-tag = the agent side, to-tag = the customer; ``answer`` with the customer's SDP); the
direction in the answer is made the RFC 3264 counterpart of the offer (sendonly → recvonly,
inactive → inactive, recvonly → sendonly). A change of hold state is then told to the engine; if
the engine refuses (the interaction is already in wrap-up, say) the media stay as they are.
Ports do not move on such a reverse re-offer (rtpengine keeps both sides' ports), so the customer
is not re-INVITEd.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from centrale.core.events import Event, HoldEnded, HoldStarted
from centrale.telephony.ng import NgError

if TYPE_CHECKING:
    from centrale.telephony.features import Features
    from centrale.telephony.sip import AgentLeg, Call

log = logging.getLogger("centrale.telephony.hold")

_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_COUNTERPART = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


def direction(sdp: str) -> str:
    """The audio direction an SDP states: the first audio section's attribute, else the
    session-level one, else ``sendrecv``; ``c=0.0.0.0`` (RFC 2543 hold) counts as ``inactive``."""
    session, audio, in_audio, seen_media = None, None, False, False
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if seen_media and in_audio:
                break
            seen_media, in_audio = True, line.startswith("m=audio")
            continue
        if line.startswith("c=") and line.split()[-1:] == ["0.0.0.0"] and (in_audio or not seen_media):
            return "inactive"
        if line.startswith("a=") and line[2:] in _DIRECTIONS:
            if not seen_media:
                session = line[2:]
            elif in_audio and audio is None:
                audio = line[2:]
    return audio or session or "sendrecv"


def holding(sdp: str) -> bool:
    """Whether an SDP offer puts the other side on hold (it stops receiving from it)."""
    return direction(sdp) in ("sendonly", "inactive")


def answer_direction(offer: str, answer: str) -> str:
    """`answer` with its direction attribute(s) made the counterpart of `offer`'s (RFC 3264 §6.1)."""
    wanted = _COUNTERPART[direction(offer)]
    out: list[str] = []
    placed = False
    for line in answer.split("\r\n"):
        if line.startswith("a=") and line[2:] in _DIRECTIONS:
            if not placed:
                out.append(f"a={wanted}")
                placed = True
            continue
        out.append(line)
    if not placed:  # no attribute: add one at the end of the (first) audio section
        at = next((i for i, line in enumerate(out) if line.startswith("m=audio")), None)
        if at is not None:
            end = next((i for i in range(at + 1, len(out)) if out[i].startswith("m=")), len(out))
            while end > at + 1 and out[end - 1] == "":
                end -= 1
            out.insert(end, f"a={wanted}")
    return "\r\n".join(out)


class HoldControl:
    """Hold media for the SIP service's calls (one per service)."""

    def __init__(self, features: Features) -> None:
        self.features = features
        self.held: set[Call] = set()  # calls whose media are on hold now

    # --- the engine said so (a stored HoldStarted / HoldEnded) ------------------------------------------
    async def on_event(self, call: Call, event: Event) -> None:
        from centrale.telephony.sip import CallState

        async with call.lock:
            if call.state is not CallState.CONNECTED:
                return
            if isinstance(event, HoldStarted):
                await self.hold(call)
            elif isinstance(event, HoldEnded):
                await self.resume(call)

    async def hold(self, call: Call) -> None:
        """Put the call's media on hold (under the call's lock)."""
        if call in self.held:
            return
        ng = self.features.sip.ng
        try:
            for tag in (call.caller_tag, call.media_tag):
                await ng.request("block media", call_id=call.call_id, from_tag=tag)
            await ng.play_media(call.call_id, call.caller_tag, self.features.sip.music)
        except NgError as exc:
            log.error("%s: cannot put the media on hold: %s", call.interaction, exc)
            return
        self.held.add(call)
        call.on_end.append(lambda: self.held.discard(call))
        log.info("%s: on hold", call.interaction)

    async def resume(self, call: Call) -> None:
        """Take the call's media off hold (under the call's lock); harmless when not held."""
        if call not in self.held:
            return
        self.held.discard(call)
        ng = self.features.sip.ng
        with contextlib.suppress(NgError):  # the music may have ended by itself
            await ng.stop_media(call.call_id, call.caller_tag)
        try:
            for tag in (call.caller_tag, call.media_tag):
                await ng.request("unblock media", call_id=call.call_id, from_tag=tag)
        except NgError as exc:
            log.error("%s: cannot take the media off hold: %s", call.interaction, exc)
            return
        log.info("%s: resumed", call.interaction)

    # --- the agent's phone sent a re-INVITE ---------------------------------------------------------------
    async def agent_reinvite(self, leg: AgentLeg, sdp: str) -> None:
        """Answer the phone's re-INVITE through rtpengine; tell the engine when it holds or resumes."""
        from centrale.telephony.sip import CallState

        sip = self.features.sip
        call = leg.call
        async with call.lock:
            if call.leg is not leg or leg.closing or call.state is not CallState.CONNECTED:
                sip._to_sip(_fail_update, leg.ua, 491, "Request Pending")
                return
            if leg.binding.transport == "ws":
                # A browser's leg is DTLS-SRTP, negotiated with WebRTC flags (centrale.telephony.
                # webrtc): keep its media and answer with the current SDP in the right direction.
                current = str(leg.ua.lSDP) if leg.ua is not None and leg.ua.lSDP is not None else ""
                sip._to_sip(sip._sip_answer, leg.ua, answer_direction(sdp, current))
            elif not await self._through_rtpengine(leg, sdp):
                return
            interaction = sip.writer.engine.interactions.get(call.interaction)
            is_held = interaction is not None and interaction.state.name == "HELD"
        wants_hold = holding(sdp)
        if wants_hold and not is_held:
            log.info("%s: agent %s put the call on hold from the phone", call.interaction, leg.agent)
            await sip._tell(HoldStarted(call.interaction))
        elif not wants_hold and is_held:
            log.info("%s: agent %s resumed the call from the phone", call.interaction, leg.agent)
            await sip._tell(HoldEnded(call.interaction))

    async def _through_rtpengine(self, leg: AgentLeg, sdp: str) -> bool:
        """Re-offer the phone's SDP from its side, answer it with the peer's, answer the phone."""
        sip = self.features.sip
        call = leg.call
        call_id, own_tag, peer_tag, peer_sdp = self.features.agent_media(call)
        try:
            await sip.ng.offer(call_id, own_tag, sdp, to_tag=peer_tag)
            answer = await sip.ng.answer(call_id, own_tag, peer_tag, peer_sdp)
        except NgError as exc:
            log.error("%s: the agent's re-INVITE fails (488): %s", call.interaction, exc)
            sip._to_sip(_fail_update, leg.ua, 488, "Not Acceptable Here")
            return False
        leg.sdp = sdp
        sip._to_sip(sip._sip_answer, leg.ua, answer_direction(sdp, answer))
        return True


def _fail_update(ua: object, code: int, reason: str) -> None:
    """On the SIP thread: refuse a re-INVITE (the dialog and its media stay as they were)."""
    from sippy.CCEvents import CCEventFail  # type: ignore[import-untyped]

    if ua is not None and not ua.isDead():  # type: ignore[attr-defined]
        ua.recvEvent(CCEventFail((code, reason)))  # type: ignore[attr-defined]


__all__ = ["HoldControl", "answer_direction", "direction", "holding"]
