"""Supervisor monitoring of real calls: listen silently, whisper to the agent, barge in.

Theory of operation
-------------------
A supervisor (a centrale user with a SIP account marked ``supervisor: <username>``) asks to monitor
a connected call (``POST /api/interactions/{id}/monitor``). The SIP service rings the supervisor's
registered phone; once it answers, the call's media run through a :class:`~.mixer.Mixer` with three
parties — customer, agent, supervisor — each anchored in rtpengine:

* the supervisor's phone ↔ rtpengine (a call of its own, ``<id>-sup``) ↔ the mixer's supervisor port;
* the agent's phone is re-INVITEd into another rtpengine call (``<id>-agent``) ↔ the mixer's agent port;
* the customer's call is re-answered on the agent side with the mixer's customer port (the customer
  is re-INVITEd only if rtpengine moved its port).

The mode is only the mixer's routing, so switching is immediate: *listen* — the supervisor hears
both, neither hears the supervisor; *whisper* — the agent hears the supervisor too; *barge* — both
do. Stopping (the API, the supervisor hanging up) reverses the re-anchoring: the agent's phone is
re-INVITEd back to the customer's call and rtpengine re-answered with its SDP. When the call ends
or is transferred the session just ends (nothing to restore).

A session's states and moves (anything else raises ``DomainError("monitor.illegal_transition")``):

========== =========== ===========
state       trigger     next
========== =========== ===========
DIALING     answered    ACTIVE
DIALING     mode        DIALING     (applies once active)
ACTIVE      mode        ACTIVE
DIALING     stop        STOPPED     (also: the phone fails, the call ends)
ACTIVE      stop        STOPPED
========== =========== ===========

One session per call; a second supervisor gets ``monitor.busy``. Errors at the API's edge:
``call.unknown`` (no SIP call for the interaction), ``monitor.not_connected`` (not bridged yet, or
on hold/ending), ``monitor.no_phone`` (the user has no supervisor SIP account or it is not
registered), ``monitor.not_possible`` (the agent uses the browser softphone: its DTLS-SRTP leg is
not re-anchored on the mixer yet), ``monitor.unknown`` (no session to change or stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from centrale.core.errors import DomainError
from centrale.telephony.hold import answer_current
from centrale.telephony.mixer import Mixer
from centrale.telephony.ng import NgError
from centrale.telephony.recording import sdp_address

if TYPE_CHECKING:
    from centrale.telephony.features import Features
    from centrale.telephony.sip import Call

log = logging.getLogger("centrale.telephony.monitor")

MODES = ("listen", "whisper", "barge")
CUSTOMER, AGENT, SUPERVISOR = "customer", "agent", "supervisor"
# Who hears whom in each mode (the mixer never sends anyone their own voice).
ROUTES: dict[str, dict[str, set[str]]] = {
    "listen": {SUPERVISOR: {CUSTOMER, AGENT}, CUSTOMER: {AGENT}, AGENT: {CUSTOMER}},
    "whisper": {SUPERVISOR: {CUSTOMER, AGENT}, CUSTOMER: {AGENT}, AGENT: {CUSTOMER, SUPERVISOR}},
    "barge": {SUPERVISOR: {CUSTOMER, AGENT}, CUSTOMER: {AGENT, SUPERVISOR}, AGENT: {CUSTOMER, SUPERVISOR}},
}
REINVITE_TIMEOUT = 8.0


class State(enum.Enum):
    DIALING = "dialing"
    ACTIVE = "active"
    STOPPED = "stopped"


class Trigger(enum.Enum):
    ANSWERED = "answered"
    MODE = "mode"
    STOP = "stop"


TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (State.DIALING, Trigger.ANSWERED): State.ACTIVE,
    (State.DIALING, Trigger.MODE): State.DIALING,
    (State.ACTIVE, Trigger.MODE): State.ACTIVE,
    (State.DIALING, Trigger.STOP): State.STOPPED,
    (State.ACTIVE, Trigger.STOP): State.STOPPED,
}


def _next(session: Session, trigger: Trigger) -> State:
    state = TRANSITIONS.get((session.state, trigger))
    if state is None:
        raise DomainError(
            "monitor.illegal_transition",
            f"monitoring of {session.call.interaction} is {session.state.value}: cannot {trigger.value}",
        )
    return state


def mixer_sdp(host: str, port: int) -> str:
    """The SDP of one of the mixer's ports (G.711 both laws; it mixes nothing else)."""
    return (
        f"v=0\r\no=centrale-mixer {port} 1 IN IP4 {host}\r\ns=centrale\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )


@dataclass(eq=False)
class Session:
    call: Call
    supervisor: str  # the centrale user
    sip_user: str
    mode: str
    mixer: Mixer
    state: State = State.DIALING
    ua: Any = None  # the supervisor's leg (sippy UA)
    sup_call: str = field(default_factory=lambda: "ctr-mon-" + secrets.token_hex(6))
    agent_call: str = ""
    agent_tag: str = field(default_factory=lambda: "ctr-agent-" + secrets.token_hex(4))
    sup_tag: str = field(default_factory=lambda: "ctr-sup-" + secrets.token_hex(4))
    anchored: bool = False  # the agent's phone and the customer's call go through the mixer
    agent_reanswer: asyncio.Future[str | None] | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "interaction": self.call.interaction,
            "supervisor": self.supervisor,
            "mode": self.mode,
            "state": self.state.value,
        }


class MonitorControl:
    """Monitoring sessions of the SIP service's calls (one per service)."""

    def __init__(self, features: Features) -> None:
        self.features = features
        self.sessions: dict[Call, Session] = {}

    # --- the API (asyncio loop) ---------------------------------------------------------------------------
    def session_for(self, interaction: str) -> Session | None:
        call = self.features.sip.calls.get(interaction)
        return self.sessions.get(call) if call is not None else None

    async def monitor(self, interaction: str, supervisor: str, mode: str) -> dict[str, Any]:
        """Start monitoring `interaction` for `supervisor` in `mode`, or switch the mode of the
        supervisor's running session."""
        from centrale.telephony.sip import CallState

        if mode not in MODES:
            raise DomainError("monitor.invalid", f"mode {mode!r}: use one of {', '.join(MODES)}")
        sip = self.features.sip
        call = sip.calls.get(interaction)
        if call is None:
            raise DomainError("call.unknown", f"no telephone call for interaction {interaction!r}")
        async with call.lock:
            session = self.sessions.get(call)
            if session is not None:
                if session.supervisor != supervisor:
                    raise DomainError(
                        "monitor.busy", f"{session.supervisor} is already monitoring {interaction}"
                    )
                session.state = _next(session, Trigger.MODE)
                session.mode = mode
                if session.state is State.ACTIVE:
                    self._route(session)
                log.info("%s: %s switches monitoring to %s", interaction, supervisor, mode)
                return session.describe()
            if call.state is not CallState.CONNECTED or call.leg is None or call in self.features.hold.held:
                raise DomainError(
                    "monitor.not_connected", f"interaction {interaction} is not in conversation"
                )
            if call.leg.binding.transport == "ws":
                raise DomainError(
                    "monitor.not_possible", "calls answered in the browser softphone cannot be monitored yet"
                )
            account = next((a for a in sip.settings.accounts if a.supervisor == supervisor), None)
            if account is None:
                raise DomainError("monitor.no_phone", f"user {supervisor!r} has no supervisor SIP account")
            binding = sip.registrar.binding_for_user(account.user)
            if binding is None:
                raise DomainError("monitor.no_phone", f"the phone of {account.user!r} is not registered")
            mixer = Mixer(sip.settings.sip_host)
            session = Session(call, supervisor, account.user, mode, mixer)
            try:
                for name in (CUSTOMER, AGENT, SUPERVISOR):
                    await mixer.add(name)
                sdp = await sip.ng.offer(
                    session.sup_call, "mixer", mixer_sdp(mixer.host, mixer.parties[SUPERVISOR].port)
                )
            except (OSError, NgError) as exc:
                await mixer.close()
                raise DomainError("monitor.media", f"cannot set up the monitoring media: {exc}") from None
            self.sessions[call] = session
            call.on_end.append(lambda: self._spawn_stop(call))
            sip._to_sip(self._ring, session, binding, sdp)
            log.info("%s: %s monitors (%s) from phone %s", interaction, supervisor, mode, account.user)
            return session.describe()

    async def stop(self, interaction: str, supervisor: str | None = None) -> dict[str, Any]:
        sip = self.features.sip
        call = sip.calls.get(interaction)
        session = self.sessions.get(call) if call is not None else None
        if call is None or session is None:
            raise DomainError("monitor.unknown", f"interaction {interaction!r} is not being monitored")
        async with call.lock:
            out = session.describe()
            await self.stop_locked(call, restore=True)
        out["state"] = State.STOPPED.value
        return out

    # --- the supervisor's leg (SIP thread) -----------------------------------------------------------------
    def _ring(self, session: Session, binding: Any, sdp: str) -> None:
        from sippy.CCEvents import CCEventTry  # type: ignore[import-untyped]
        from sippy.MsgBody import MsgBody  # type: ignore[import-untyped]
        from sippy.UA import UA  # type: ignore[import-untyped]

        if session.state is State.STOPPED:
            return
        ua = UA(self.features.sip._gc, self._supervisor_event, nh_address=(binding.host, binding.port))
        ua.centrale_session = session
        session.ua = ua
        ua.recvEvent(CCEventTry((None, "monitor", binding.user, MsgBody(sdp), None, "")))

    def _supervisor_event(self, event: Any, ua: Any) -> None:
        from sippy.CCEvents import CCEventConnect, CCEventDisconnect, CCEventFail, CCEventUpdate

        sip = self.features.sip
        session: Session | None = getattr(ua, "centrale_session", None)
        if session is None:
            return
        try:
            if isinstance(event, CCEventConnect):
                if not getattr(ua, "centrale_answered", False):
                    ua.centrale_answered = True
                    body = event.getData()[2]
                    sip._to_loop(self._answered, session, str(body) if body is not None else "")
            elif isinstance(event, CCEventDisconnect | CCEventFail):
                ua.centrale_session = None
                sip._to_loop(self._supervisor_gone, session)
            elif isinstance(event, CCEventUpdate):
                answer_current(ua)
        except Exception:
            sip.failures += 1
            log.exception("supervisor event %s failed", event)

    async def _answered(self, session: Session, sdp: str) -> None:
        call = session.call
        async with call.lock:
            if session.state is not State.DIALING:
                return
            try:
                back = await self.features.sip.ng.answer(session.sup_call, "mixer", session.sup_tag, sdp)
                session.mixer.parties[SUPERVISOR].peer = sdp_address(back)
                await self._anchor(session)
            except (NgError, TimeoutError, RuntimeError) as exc:
                log.error("%s: monitoring failed: %s", call.interaction, exc)
                await self.stop_locked(call, restore=True)
                return
            session.state = _next(session, Trigger.ANSWERED)
            self._route(session)
            session.mixer.start()
            log.info("%s: %s is monitoring (%s)", call.interaction, session.supervisor, session.mode)

    async def _supervisor_gone(self, session: Session) -> None:
        call = session.call
        async with call.lock:
            if self.sessions.get(call) is session:
                session.ua = None
                await self.stop_locked(call, restore=True)

    # --- media (under the call's lock) ------------------------------------------------------------------
    async def _anchor(self, session: Session) -> None:
        """Move the agent's phone and the customer's call onto the mixer."""
        sip = self.features.sip
        call, leg, mixer = session.call, session.call.leg, session.mixer
        if leg is None or leg.ua is None:
            raise RuntimeError("the agent's leg is gone")
        session.agent_call = session.sup_call + "-agent"
        to_agent = await sip.ng.offer(
            session.agent_call, "mixer", mixer_sdp(mixer.host, mixer.parties[AGENT].port)
        )
        agent_sdp = await self._reinvite_agent(session, to_agent)
        back = await sip.ng.answer(session.agent_call, "mixer", session.agent_tag, agent_sdp)
        mixer.parties[AGENT].peer = sdp_address(back)
        leg.sdp = agent_sdp
        session.anchored = True
        await self._reanswer_customer(call, mixer_sdp(mixer.host, mixer.parties[CUSTOMER].port))
        mixer.parties[CUSTOMER].peer = sdp_address(self.features.offered_sdp(leg))
        if call.recording is not None:  # the mixer speaks for the agent in the customer's call now
            call.recording.agent_src.add((mixer.host, mixer.parties[CUSTOMER].port))

    async def _reinvite_agent(self, session: Session, sdp: str) -> str:
        """re-INVITE the agent's phone with `sdp`; its answer's SDP (raises on failure)."""
        sip = self.features.sip
        leg = session.call.leg
        assert leg is not None
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        session.agent_reanswer = future
        sip._to_sip(sip._sip_update, leg.ua, sdp)
        try:
            answer = await asyncio.wait_for(future, REINVITE_TIMEOUT)
        finally:
            session.agent_reanswer = None
        if not answer:
            raise RuntimeError("the agent's phone refused the re-INVITE")
        return answer

    def agent_reanswered(self, call: Call, sdp: str | None) -> None:
        """The agent's phone answered (or refused: None) a re-INVITE we sent."""
        session = self.sessions.get(call)
        if session is not None and session.agent_reanswer is not None and not session.agent_reanswer.done():
            session.agent_reanswer.set_result(sdp)

    async def _reanswer_customer(self, call: Call, agent_side_sdp: str) -> None:
        """rtpengine: the customer's call now talks to `agent_side_sdp`; re-INVITE the customer
        only if its media address moved."""
        from centrale.telephony.sip import _media_lines

        sip = self.features.sip
        caller_sdp = await sip.bridge_media(call, agent_side_sdp)
        if _media_lines(caller_sdp) != _media_lines(call.local_sdp):
            call.local_sdp = caller_sdp
            sip._to_sip(sip._sip_update, call.caller, caller_sdp)

    def _route(self, session: Session) -> None:
        for listener, sources in ROUTES[session.mode].items():
            session.mixer.hears(listener, sources)

    def agent_media(self, call: Call) -> tuple[str, str, str, str] | None:
        """Where the agent's phone's media are negotiated while monitored (rtpengine call, the
        phone's tag, the peer's tag, the peer's SDP), else None."""
        session = self.sessions.get(call)
        if session is None or not session.anchored:
            return None
        mixer = session.mixer
        sdp = mixer_sdp(mixer.host, mixer.parties[AGENT].port)
        return session.agent_call, session.agent_tag, "mixer", sdp

    def _spawn_stop(self, call: Call) -> None:
        """The call ended (run from its end-of-call callbacks, under its lock): tear down later."""
        session = self.sessions.pop(call, None)
        if session is not None:
            self.features.sip._spawn(self._teardown, (session,))

    async def stop_locked(self, call: Call, *, restore: bool) -> None:
        """End the call's session (under the call's lock); put the agent back when `restore`."""
        session = self.sessions.pop(call, None)
        if session is None:
            return
        with contextlib.suppress(DomainError):
            session.state = _next(session, Trigger.STOP)
        leg = call.leg
        if restore and session.anchored and leg is not None and leg.ua is not None and not leg.closing:
            try:
                # The phone goes back to the customer's call (the agent side it had) and rtpengine
                # learns its SDP again.
                agent_sdp = await self._reinvite_agent_back(session, self.features.offered_sdp(leg))
                leg.sdp = agent_sdp
                await self._reanswer_customer(call, agent_sdp)
            except (NgError, TimeoutError, RuntimeError) as exc:
                log.error("%s: could not take the agent back from the mixer: %s", call.interaction, exc)
        await self._teardown(session)
        log.info("%s: monitoring by %s stopped", call.interaction, session.supervisor)

    async def _reinvite_agent_back(self, session: Session, sdp: str) -> str:
        self.sessions[session.call] = session  # reachable for agent_reanswered while we wait
        try:
            return await self._reinvite_agent(session, sdp)
        finally:
            self.sessions.pop(session.call, None)

    async def _teardown(self, session: Session) -> None:
        session.state = State.STOPPED
        sip = self.features.sip
        await session.mixer.close()
        if session.ua is not None:
            sip._to_sip(sip._sip_hangup, session.ua)
            session.ua = None
        for call_id in (session.sup_call, session.agent_call):
            if call_id:
                with contextlib.suppress(NgError):
                    await sip.ng.delete(call_id)


__all__ = ["MODES", "ROUTES", "MonitorControl", "Session", "mixer_sdp"]
