"""Call features of the SIP service beyond the basic call: hold, transfer, supervisor monitoring.

The SIP service (:mod:`centrale.telephony.sip`) owns the calls; this hub receives the few hooks it
needs — the engine's stored batches (before and after their commands are carried out), the agent's
phone re-INVITEing or answering a re-INVITE of ours, a REFER — and hands them to
:mod:`.hold`, :mod:`.transfer` and :mod:`.monitor`. It runs on the server's asyncio loop except
where a method says it runs on the SIP thread.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from centrale.core.commands import Connect
from centrale.core.events import HoldEnded, HoldStarted, TransferToAgent, TransferToQueue
from centrale.telephony.hold import HoldControl
from centrale.telephony.monitor import MonitorControl
from centrale.telephony.transfer import TransferControl, agent_ua

if TYPE_CHECKING:
    from centrale.server.writer import Batch
    from centrale.telephony.sip import AgentLeg, Call, SipService


class Features:
    def __init__(self, sip: SipService) -> None:
        self.sip = sip
        self.hold = HoldControl(self)
        self.transfer = TransferControl(self)
        self.monitor = MonitorControl(self)
        # the SDP each agent's leg was INVITEd with: rtpengine's address for that agent's side
        self.offered: weakref.WeakKeyDictionary[AgentLeg, str] = weakref.WeakKeyDictionary()

    # --- the engine's batches -------------------------------------------------------------------------
    def before(self, batch: Batch) -> None:
        """Before the batch's commands: transfers re-file calls (so the new segment's Offer finds
        its call), hold changes are queued on the call's lock in event order."""
        for applied in batch.applied:
            event = applied.entry.event
            if isinstance(event, TransferToQueue | TransferToAgent):
                self.transfer.on_transfer(event, applied.commands)
            elif isinstance(event, HoldStarted | HoldEnded):
                call = self.sip.calls.get(event.interaction)
                if call is not None:
                    self.sip._spawn(self.hold.on_event, (call, event))

    def after(self, batch: Batch) -> None:
        """After the batch's commands were queued: a transferred call's next bridge."""
        for command in batch.commands:
            if isinstance(command, Connect):
                call = self.sip.calls.get(command.interaction)
                if call is not None and call in self.transfer.blocked:
                    self.sip._spawn(self.transfer.on_connect, (call,))

    # --- the agent's leg --------------------------------------------------------------------------------
    def agent_ua(self, *args: Any, **kwargs: Any) -> Any:
        """On the SIP thread: the UA of an agent's leg (it accepts REFER)."""
        return agent_ua(*args, **kwargs)

    def ringing(self, leg: AgentLeg, ua: Any, sdp: str) -> None:
        """On the SIP thread: the agent's leg was created with `sdp` (rtpengine's agent side);
        REFERs on it go to the transfer."""
        ua.on_refer = lambda req: self.transfer.refer(leg, req)
        self.offered[leg] = sdp

    async def agent_update(self, leg: AgentLeg, sdp: str) -> None:
        """The agent's phone re-INVITEd (hold, resume, a new address)."""
        await self.hold.agent_reinvite(leg, sdp)

    def offered_sdp(self, leg: AgentLeg) -> str:
        return self.offered.get(leg) or leg.call.agent_offer_sdp

    async def agent_reanswered(self, leg: AgentLeg, sdp: str | None) -> None:
        """The agent's phone answered a re-INVITE of ours (None: refused it)."""
        self.monitor.agent_reanswered(leg.call, sdp)
        await self.hold.agent_followed(leg, sdp)

    async def caller_update(self, call: Call, sdp: str) -> None:
        """The customer's phone re-INVITEd (their hold, a new address or codec)."""
        await self.hold.customer_reinvite(call, sdp)

    def agent_media(self, call: Call) -> tuple[str, str, str, str]:
        """Where the agent's media are negotiated: (rtpengine call, agent's tag, peer's tag, peer's SDP)."""
        monitored = self.monitor.agent_media(call)
        if monitored is not None:
            return monitored
        return call.call_id, call.media_tag, call.caller_tag, call.caller_sdp


__all__ = ["Features"]
