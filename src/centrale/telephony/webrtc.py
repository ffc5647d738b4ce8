"""WebRTC media for browser phones: rtpengine bridges the plain-RTP caller and the browser.

Theory of operation
-------------------
A browser speaks only DTLS-SRTP with ICE and RTCP multiplexed on one port
(``UDP/TLS/RTP/SAVPF``); callers and hard phones speak plain ``RTP/AVP``. rtpengine converts
between the two when the *offer* towards the browser asks for it: the caller's SDP is offered
again (same call id, the caller's tag) with :data:`WEBRTC_OFFER` — transport protocol
``UDP/TLS/RTP/SAVPF``, ICE forced (rtpengine gathers candidates and answers connectivity checks),
DTLS on (rtpengine the client: :func:`dtls_active`), rtcp-mux offered and required, SDES off,
a ``mid`` generated — and the SDP rtpengine returns goes in the INVITE to the browser. The
browser's answer then goes to rtpengine's ``answer`` as any phone's does (``SipService._connect``),
with :data:`PLAIN_ANSWER` so that the caller's side stays plain RTP while the browser talks SRTP.

The SDP for an agent's phone is therefore chosen per ring (:meth:`AgentMedia.sdp_for`): a browser
binding gets a fresh WebRTC offer; a hard phone the plain one from the call's arrival — and if the
previous ring went to a browser (RONA, then a hard phone), the plain offer is made again with
:data:`PLAIN_OFFER` first, because rtpengine remembers the last offer's protocol.

Outbound calls (:mod:`centrale.telephony.trunk`) have the agent side as the first offerer. For a
browser agent the direction is turned: the customer's answer is offered to the browser with the
WebRTC flags, so the bridge can answer it from the customer's tag like an inbound call
(:meth:`AgentMedia.answers_like_inbound`).
"""

from __future__ import annotations

import weakref
from typing import Any

from centrale.telephony.ng import NgClient
from centrale.telephony.registrar import Binding

# rtpengine NG flags for an offer to a browser (its names, as rtpengine documents them).
WEBRTC_OFFER: dict[str, Any] = {
    "transport_protocol": "UDP/TLS/RTP/SAVPF",
    "ICE": "force",
    "rtcp_mux": ["offer", "require"],
    "SDES": ["off"],
    "flags": ["generate mid", "port latching"],
}
# ... and back to plain RTP for a hard phone after a browser was offered the call.
PLAIN_OFFER: dict[str, Any] = {
    "transport_protocol": "RTP/AVP",
    "ICE": "remove",
    "DTLS": "off",
    "rtcp_mux": ["demux"],
    "SDES": ["off"],
    "flags": ["port latching"],
}
# ... and for the browser's answer: what goes back to the caller is plain RTP without ICE or DTLS.
PLAIN_ANSWER: dict[str, Any] = {
    "transport_protocol": "RTP/AVP",
    "ICE": "remove",
    "DTLS": "off",
    "rtcp_mux": ["demux"],
    "SDES": ["off"],
}


def dtls_active(sdp: str) -> str:
    """Offer the browser ``a=setup:active``: rtpengine opens the DTLS handshake.

    rtpengine 10.5 offers ``actpass`` yet sets itself up as the DTLS client; a browser offered
    ``actpass`` chooses the client role too and sends its ClientHello as soon as ICE connects —
    before its answer has reached rtpengine — and the two clients break the handshake for good.
    Saying ``active`` (allowed to an offerer, RFC 5763 §5) makes the browser the server, which
    waits for rtpengine's ClientHello; rtpengine sends it once it has the browser's answer.
    """
    return sdp.replace("a=setup:actpass", "a=setup:active")


class AgentMedia:
    """Chooses, and asks rtpengine for, the SDP each agent's phone is offered."""

    def __init__(self, ng: NgClient) -> None:
        self.ng = ng
        # calls whose current offer towards the agent side is WebRTC
        self._webrtc: weakref.WeakSet[Any] = weakref.WeakSet()
        # outbound calls offered again from the customer's tag (bridged like inbound ones)
        self._turned: weakref.WeakSet[Any] = weakref.WeakSet()

    def is_webrtc(self, call: Any) -> bool:
        return call in self._webrtc

    def answers_like_inbound(self, call: Any) -> bool:
        """An outbound call offered from the customer's tag is bridged by answering from it."""
        return bool(call.outbound and call in self._turned)

    def answer_flags(self, call: Any) -> dict[str, Any]:
        """Flags for rtpengine's ``answer`` with the agent phone's SDP: after a WebRTC offer the
        caller's side is said to stay plain RTP (rtpengine would otherwise keep SRTP towards it)."""
        return dict(PLAIN_ANSWER) if call in self._webrtc else {}

    async def sdp_for(self, call: Any, binding: Binding) -> str:
        """The SDP to INVITE `binding` with for `call` (raises NgError when rtpengine refuses)."""
        if binding.webrtc:
            sdp = await self.ng.offer(call.call_id, call.caller_tag, call.caller_sdp, **WEBRTC_OFFER)
            sdp = dtls_active(sdp)
            self._webrtc.add(call)
            if call.outbound:
                self._turned.add(call)
            return sdp
        if call in self._webrtc:
            self._webrtc.discard(call)
            sdp = await self.ng.offer(call.call_id, call.caller_tag, call.caller_sdp, **PLAIN_OFFER)
            if call.outbound:
                return sdp  # still turned: bridged from the customer's tag
            call.agent_offer_sdp = sdp
        return str(call.agent_offer_sdp)


__all__ = ["PLAIN_ANSWER", "PLAIN_OFFER", "WEBRTC_OFFER", "AgentMedia", "dtls_active"]
