"""Blind transfer of real calls: to a queue or to an agent, from the desktop or with SIP REFER.

Theory of operation
-------------------
A transfer is the engine's business: ``TransferToQueue`` / ``TransferToAgent`` end the agent's
interaction (wrap-up follows) and continue the customer's contact in a new one, a *segment* whose
``parent`` is the old one (``InteractionQueued(new, queue, parent=old)`` in the same batch, often
followed by the ``Offer`` for the next agent). The SIP service follows the stored batch
(:meth:`TransferControl.on_transfer`, called before that batch's commands are carried out):

1. at once, on the listener's call: the call is filed under the new interaction (``calls`` and
   ``Call.interaction``), so the old interaction's ``WrapUpStarted`` does not hang the customer up
   and the new one's ``Offer`` finds the call;
2. under the call's lock, before that ``Offer``: monitoring stops, hold ends, the agent's leg is
   hung up (BYE), the media between the customer and the old agent's phone are blocked both ways
   (a phone reuses its RTP port for its next call; a late packet from it must not reach the
   customer) and the customer hears music on hold — the call is QUEUED again;
3. the next ``Offer`` rings the new agent's phone with the same agent-side SDP and the usual
   ``Connect`` re-answers rtpengine with it (:meth:`on_connect` unblocks the media).

A transfer the engine turns down (a closed queue: no segment) leaves the old interaction's
wrap-up to end the call as usual.

**REFER from the agent's phone** (RFC 3515): sippy's connected state answers every REFER with 202
and hangs the referrer up, so agents' legs use :class:`AgentUA`, whose connected state hands the
REFER to :meth:`TransferControl.refer` on the SIP thread. ``Refer-To``'s user part is resolved at
once: a service number → ``TransferToQueue`` to its queue; an agent's SIP user → ``TransferToAgent``;
anything else (or no ``Refer-To``) → ``404`` / ``400`` and the call goes on. A resolved target is
answered ``202 Accepted`` and the transfer is submitted to the engine; the result is reported in
one NOTIFY (``Event: refer``, ``Subscription-State: terminated;reason=noresource``, a
``message/sipfrag`` body: ``SIP/2.0 200 OK``, or ``SIP/2.0 503 Service Unavailable`` when the
engine refuses — the call then stays with the agent). The NOTIFY goes out before the BYE of step 2.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from centrale.core.commands import Command, InteractionQueued
from centrale.core.errors import DomainError
from centrale.core.events import Event, TransferToAgent, TransferToQueue
from centrale.server.writer import WriterStopped
from centrale.telephony.ng import NgError

if TYPE_CHECKING:
    from centrale.telephony.features import Features
    from centrale.telephony.sip import AgentLeg, Call

log = logging.getLogger("centrale.telephony.transfer")


def _agent_ua_class() -> Any:
    """sippy's UA with a connected state that hands REFER to the service (built on first use:
    sippy is imported on the main thread by the SIP service)."""
    global _AgentUA
    if _AgentUA is not None:
        return _AgentUA
    from sippy.UA import UA  # type: ignore[import-untyped]
    from sippy.UaStateConnected import UaStateConnected  # type: ignore[import-untyped]

    def recv_refer(state: Any, req: Any) -> None:
        handler = getattr(state.ua, "on_refer", None)
        if handler is None:
            req.sendResponse(405, "Method Not Allowed")
            return None
        code, reason = handler(req)
        req.sendResponse(code, reason)
        return None  # the dialog stays up: the service hangs the agent up once transferred

    connected = type(
        "AgentUaStateConnected",
        (UaStateConnected,),
        {"recv_request_handlers": {**UaStateConnected.recv_request_handlers, "REFER": recv_refer}},
    )
    _AgentUA = type("AgentUA", (UA,), {"UaStateConnected": connected, "on_refer": None})
    return _AgentUA


_AgentUA: Any = None


def agent_ua(*args: Any, **kwargs: Any) -> Any:
    """A UA for an agent's leg (same arguments as sippy's ``UA``) that accepts REFER."""
    return _agent_ua_class()(*args, **kwargs)


class TransferControl:
    """Transfers of the SIP service's calls (one per service)."""

    def __init__(self, features: Features) -> None:
        self.features = features
        self.blocked: set[Call] = set()  # customer's media blocked until the next agent is bridged

    # --- the engine transferred (a stored TransferToQueue / TransferToAgent) -------------------------
    def on_transfer(self, event: Event, commands: list[Command]) -> None:
        """Synchronously, as the batch arrives: re-file the call under its new segment."""
        sip = self.features.sip
        old = getattr(event, "interaction", "")
        call = sip.calls.get(old)
        if call is None:
            return
        new = next(
            (c.interaction for c in commands if isinstance(c, InteractionQueued) and c.parent == old), None
        )
        if new is None:
            return  # refused (closed or full): the old interaction's wrap-up ends the call
        sip.calls.pop(old, None)
        call.interaction = new
        sip.calls[new] = call
        log.info("%s: transferred, continues as %s", old, new)
        sip._spawn(self._requeue, (call, new))

    async def _requeue(self, call: Call, new: str) -> None:
        from centrale.telephony.sip import CallState

        sip = self.features.sip
        async with call.lock:
            if call.state is CallState.ENDED or call.interaction != new:
                return
            await self.features.monitor.stop_locked(call, restore=False)
            await self.features.hold.resume(call)
            sip._drop_leg(call)
            call.state = CallState.QUEUED
            try:
                for tag in (call.caller_tag, call.media_tag):
                    await sip.ng.request("block media", call_id=call.call_id, from_tag=tag)
                self.blocked.add(call)
                call.on_end.append(lambda: self.blocked.discard(call))
            except NgError as exc:
                log.warning("%s: the customer's media could not be blocked: %s", new, exc)
            try:
                await sip.ng.play_media(call.call_id, call.caller_tag, sip.music)
            except NgError as exc:
                log.warning("%s: no music on hold: %s", new, exc)

    async def on_connect(self, call: Call) -> None:
        """After the next agent is bridged: let the customer's media through again."""
        async with call.lock:
            if call not in self.blocked:
                return
            self.blocked.discard(call)
            for tag in (call.caller_tag, call.media_tag):
                with contextlib.suppress(NgError):
                    await self.features.sip.ng.request("unblock media", call_id=call.call_id, from_tag=tag)

    # --- REFER from the agent's phone (SIP thread) ------------------------------------------------------
    def refer(self, leg: AgentLeg, req: Any) -> tuple[int, str]:
        """Resolve ``Refer-To`` at once (404 for an unknown target); transfer in the background."""
        sip = self.features.sip
        if req.countHFs("refer-to") == 0:
            return 400, "Missing Refer-To"
        try:
            target = str(req.getHFBody("refer-to").getUrl().username or "")
        except Exception:
            return 400, "Bad Refer-To"
        service = sip.settings.numbers.get(target)
        queue = service.queue if service is not None else None
        agent = None
        if queue is None:
            account = next((a for a in sip.settings.accounts if a.user == target), None)
            if account is None or account.agent is None:
                log.info("REFER from agent %s to unknown target %r: 404", leg.agent, target)
                return 404, "Not Found"
            agent = account.agent
        sip._to_loop(self._refer, leg, queue, agent)
        return 202, "Accepted"

    async def _refer(self, leg: AgentLeg, queue: str | None, agent: str | None) -> None:
        sip = self.features.sip
        call = leg.call
        async with call.lock:
            if call.leg is not leg or leg.closing:
                sip._to_sip(_notify, leg.ua, "SIP/2.0 481 Call Leg/Transaction Does Not Exist")
                return
            event: Event = (
                TransferToQueue(call.interaction, queue)
                if queue is not None
                else TransferToAgent(call.interaction, agent or "")
            )
            try:
                await sip.writer.submit(event)
            except (DomainError, WriterStopped) as exc:
                log.warning("%s: REFER from agent %s refused: %s", call.interaction, leg.agent, exc)
                sip._to_sip(_notify, leg.ua, "SIP/2.0 503 Service Unavailable")
                return
            log.info("%s: agent %s transferred the call with REFER", call.interaction, leg.agent)
            # Before the BYE that the transfer's own step (waiting for this lock) sends.
            sip._to_sip(_notify, leg.ua, "SIP/2.0 200 OK")


def _notify(ua: Any, sipfrag: str) -> None:
    """On the SIP thread: the REFER's outcome as the implicit subscription's last NOTIFY."""
    from sippy.MsgBody import MsgBody  # type: ignore[import-untyped]
    from sippy.SipContentType import SipContentType  # type: ignore[import-untyped]
    from sippy.SipHeader import SipHeader  # type: ignore[import-untyped]

    if ua is None or not ua.isConnected():
        return
    mtype = SipContentType("message/sipfrag")
    mtype.parse()
    req = ua.genRequest(
        "NOTIFY",
        body=MsgBody(sipfrag + "\r\n", mtype=mtype),
        extra_headers=(
            SipHeader(name="event", bodys="refer"),
            SipHeader(name="subscription-state", bodys="terminated;reason=noresource"),
        ),
    )
    ua.newTransaction(req)


__all__ = ["TransferControl", "agent_ua"]
