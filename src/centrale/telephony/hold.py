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

The customer's own re-INVITE (their hold, a new address or codec) goes through rtpengine the same
way from the other side (:meth:`HoldControl.customer_reinvite`): ``offer`` from the customer's tag
with their new SDP, ``answer`` with what the agent side has now (the agent phone's SDP when bridged,
the monitor's mixer when monitored, the placeholder while queued), and the customer is answered
with the SDP rtpengine returns, its direction the counterpart of theirs. When bridged, the agent's
phone is re-INVITEd with rtpengine's new agent-side SDP if its address or direction changed, so the
phone knows it is on hold; its answer is given to rtpengine if the phone's media moved. A customer's
hold is not the agent's hold: the engine is not told (no HoldStarted, no hold time in AHT), it is
logged. rtpengine's player keeps playing through such a re-offer (tested: the queued customer's
music follows them to their new port), so music on hold is not restarted; nor is ``block media``
re-applied when the agent holds the call: rtpengine keeps it on the tags through the re-offer (tested:
the music reaches the customer's new port and neither party hears the other until the resume).
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from typing import TYPE_CHECKING

from centrale.core.events import Event, HoldEnded, HoldStarted
from centrale.telephony.ng import NgError
from centrale.telephony.webrtc import WEBRTC_OFFER, dtls_active

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
        # agents' legs re-INVITEd after their customer's re-INVITE, until the phone answers
        self.following: weakref.WeakSet[AgentLeg] = weakref.WeakSet()

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

    # --- the customer's phone sent a re-INVITE ------------------------------------------------------------
    async def customer_reinvite(self, call: Call, sdp: str) -> None:
        """Answer the customer's re-INVITE through rtpengine; follow it on the agent's leg."""
        from centrale.telephony.sip import PLACEHOLDER_SDP, CallState, _media_lines

        sip = self.features.sip
        if not sdp.strip():  # an offerless re-INVITE: our offer is the SDP the customer has
            sip._to_sip(answer_current, call.caller)
            return
        async with call.lock:
            if call.state is CallState.ENDED or not call.media:
                sip._to_sip(_fail_update, call.caller, 491, "Request Pending")
                return
            leg = call.leg
            bridged = call.state is CallState.CONNECTED and leg is not None and not leg.closing
            mixer = self.features.monitor.agent_media(call) if bridged else None
            if mixer is not None:  # monitored: the customer's call talks to the mixer's port
                from centrale.telephony.monitor import CUSTOMER, mixer_sdp

                m = self.features.monitor.sessions[call].mixer
                peer_sdp = mixer_sdp(m.host, m.parties[CUSTOMER].port)
            elif bridged and leg is not None:
                peer_sdp = leg.sdp or PLACEHOLDER_SDP
            else:
                peer_sdp = PLACEHOLDER_SDP  # nobody bridged yet: the discard placeholder
            webrtc = sip.agent_media.is_webrtc(call)
            try:
                agent_side = await sip.ng.offer(
                    call.call_id,
                    call.caller_tag,
                    sdp,
                    to_tag=call.media_tag,
                    **(WEBRTC_OFFER if webrtc else {}),  # the agent side stays a browser's
                )
                answer = await sip.ng.answer(
                    call.call_id,
                    call.caller_tag,
                    call.media_tag,
                    answer_direction(sdp, peer_sdp),
                    **sip.agent_media.answer_flags(call),
                )
            except NgError as exc:
                log.error("%s: the customer's re-INVITE fails (488): %s", call.interaction, exc)
                sip._to_sip(_fail_update, call.caller, 488, "Not Acceptable Here")
                return
            was = direction(call.caller_sdp)
            call.caller_sdp = sdp  # later offers to agents start from the customer's media now
            call.local_sdp = answer
            sip._to_sip(sip._sip_answer, call.caller, answer_direction(sdp, answer))
            now = direction(sdp)
            if now != was:
                log.info("%s: the customer's phone is %s now (was %s)", call.interaction, now, was)
            if bridged and mixer is None and leg is not None and leg.ua is not None:
                offered = self.features.offered_sdp(leg)
                if _media_lines(agent_side) != _media_lines(offered) or direction(agent_side) != direction(
                    offered
                ):
                    if leg.binding.transport == "ws":
                        agent_side = dtls_active(agent_side)
                    self.features.offered[leg] = agent_side
                    self.following.add(leg)
                    sip._to_sip(sip._sip_update, leg.ua, agent_side)

    async def agent_followed(self, leg: AgentLeg, sdp: str | None) -> None:
        """The agent's phone answered the re-INVITE that followed the customer's: if its media
        moved, rtpengine's agent side is told."""
        from centrale.telephony.sip import _media_lines

        if leg not in self.following:
            return
        self.following.discard(leg)
        call = leg.call
        async with call.lock:
            if sdp is None or call.leg is not leg or leg.closing:
                return
            if leg.sdp is not None and _media_lines(sdp) == _media_lines(leg.sdp):
                leg.sdp = sdp
                return
            leg.sdp = sdp
            try:
                await self.features.sip.ng.answer(
                    call.call_id, call.caller_tag, call.media_tag, sdp,
                    **self.features.sip.agent_media.answer_flags(call),
                )  # fmt: skip
            except NgError as exc:
                log.error("%s: the agent phone's new media are not bridged: %s", call.interaction, exc)


def answer_current(ua: object) -> None:
    """On the SIP thread: answer a re-INVITE with the SDP the other side already has."""
    from sippy.CCEvents import CCEventConnect  # type: ignore[import-untyped]

    if ua is not None and not ua.isDead():  # type: ignore[attr-defined]
        ua.recvEvent(CCEventConnect((200, "OK", ua.lSDP)))  # type: ignore[attr-defined]


def _fail_update(ua: object, code: int, reason: str) -> None:
    """On the SIP thread: refuse a re-INVITE (the dialog and its media stay as they were)."""
    from sippy.CCEvents import CCEventFail

    if ua is not None and not ua.isDead():  # type: ignore[attr-defined]
        ua.recvEvent(CCEventFail((code, reason)))  # type: ignore[attr-defined]


__all__ = ["HoldControl", "answer_current", "answer_direction", "direction", "holding"]
