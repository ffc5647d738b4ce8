"""The SIP service: inbound calls into the engine's queues, agents' phones, media through rtpengine.

Theory of operation
-------------------
Two threads, each with its own loop, and nothing shared but messages:

* **The SIP thread** runs sippy's event dispatcher (``ED2.loop()``): its transaction manager, one
  ``UA`` per call leg, the registrar. Sippy callbacks only translate SIP into small calls handed to
  the asyncio loop with ``loop.call_soon_threadsafe``. Every callback is wrapped: an exception is
  logged once and the request is answered (``500``) or the leg hung up, never left without a final
  answer (sippy would print and drop it).
* **The asyncio loop** (the server's) owns the call state (:class:`Call`), talks to rtpengine over NG
  (:mod:`centrale.telephony.ng`) and to the engine through the writer (``submit``), and hears the
  engine's commands as a writer :class:`~centrale.server.writer.Listener`. Work for sippy goes back
  with ``ED2.callFromThread``. Each call's steps run one at a time under the call's lock, in the
  order they were asked for (``asyncio.Lock`` is fair), so an engine command and a SIP event about
  the same call never interleave.

A call, inbound (the caller's Call-ID is rtpengine's call id; the caller's From-tag its side):

1. INVITE to a service number (``numbers``; anything else ``404``) → rtpengine ``offer`` with the
   caller's SDP gives the SDP to offer agents; an ``answer`` with a placeholder SDP gives the SDP
   for the caller. ``InteractionArrived(direction="inbound", contact=<caller>)`` goes to the engine
   (refused → ``480``); the caller gets ``200 OK`` and music on hold (``play media`` to its tag).
   A number with a greeting or keypad menu, or a queue whose account announces or asks consent for
   recording, is answered first instead (state ``IVR``): :mod:`.caller` runs the caller's flow
   (:mod:`.ivr`) and sends ``InteractionArrived`` for the chosen queue when it is done. The same
   flow plays position announcements while the call is queued and the engine's ``OfferCallback``.
2. ``Offer`` for an agent → INVITE the agent's registered phone (:mod:`.registrar`) with the
   agent-side SDP. No registered phone → ``OfferRejected`` at once.
3. The phone answers → ``OfferAccepted``; the engine's ``Connect`` → ``stop media``, ``answer`` with
   the phone's SDP, re-INVITE the caller with the SDP rtpengine returns (its port may move).
4. The phone rejects (any final failure: 486, 603, 480 …) → ``OfferRejected``. It rings past the
   offer time-out → the engine's RONA sends ``RevokeOffer`` → CANCEL.
5. The caller hangs up before the bridge → ``CustomerAbandoned`` (the engine revokes any offer; the
   phone's INVITE is cancelled). Either side hangs up while connected → ``InteractionEnded`` and a
   BYE to the other. The engine's ``Disconnect`` hangs the caller up. rtpengine's call is deleted
   when the call ends.

Outbound calls (:mod:`centrale.telephony.trunk`) become ``Call(outbound=True)`` once the customer
answers and then go through steps 2–5 like inbound ones, except that the bridge re-offers the agent
side to rtpengine (we made the first offer) and ``InteractionFinished`` leaves the customer's leg to
the trunk's ``hangup`` (the dialer plays the information message to an abandoned call first).

Hold, transfer (also by REFER) and supervisor monitoring live in :mod:`.features` and the modules
it names; this service calls its hooks for stored batches, the agent's re-INVITEs and REFERs.

Sippy quirks handled here: a ``transport=UDP`` (upper case) in a Contact breaks in-dialog requests,
so every parsed URL's transport is lower-cased; sippy's stderr message log is replaced by a
``logging`` logger (DEBUG); its exception dumps become one WARNING line each. Sippy's transport
sets ``SO_REUSEPORT`` and does a dry-run bind first; :meth:`SipService.start` additionally refuses
to start when another socket already holds the port without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from centrale.core.commands import (
    AgentStateChanged,
    Command,
    Connect,
    Disconnect,
    InteractionFinished,
    Offer,
    OfferCallback,
    RevokeOffer,
    WrapUpStarted,
)
from centrale.core.errors import DomainError
from centrale.core.events import (
    CustomerAbandoned,
    Event,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    OfferRejected,
)
from centrale.server.writer import Batch, Listener, Writer, WriterStopped
from centrale.telephony.caller import CallerSide
from centrale.telephony.dtmf import digit_from_info
from centrale.telephony.features import Features
from centrale.telephony.flood import SipGuard
from centrale.telephony.ivr import CallerFlow
from centrale.telephony.music import write_tone_sequence
from centrale.telephony.ng import NgClient, NgError
from centrale.telephony.recording import Sides, find_pcap, pcap_to_wav, sdp_address
from centrale.telephony.registrar import Binding, Registrar
from centrale.telephony.settings import ServiceNumber, TelephonySettings
from centrale.telephony.webrtc import AgentMedia

log = logging.getLogger("centrale.telephony.sip")
_running: list[SipService] = []  # the SIP service started in this process (one at most: sippy's globals)
siplog = logging.getLogger("centrale.telephony.sip.messages")

# What the agent side looks like to rtpengine until a phone answers: media to a discard port.
PLACEHOLDER_SDP = (
    "v=0\r\no=centrale 1 1 IN IP4 127.0.0.1\r\ns=centrale\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 9 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)


class CallState(StrEnum):
    SETUP = "setup"  # INVITE received, not yet queued
    QUEUED = "queued"  # answered, music on hold, waiting for an agent
    RINGING = "ringing"  # an agent's phone rings
    ANSWERED = "answered"  # the agent's phone answered; waiting for the engine's Connect
    CONNECTED = "connected"  # bridged
    IVR = "ivr"  # answered, greeting / keypad menu / consent before the queue (centrale.telephony.ivr)
    CLOSING = "closing"  # a last message plays before our BYE (outbound: information; callback: thanks)
    ENDED = "ended"


@dataclass(eq=False)
class AgentLeg:
    call: Call
    agent: str
    binding: Binding
    ua: Any = None
    sdp: str | None = None
    closing: bool = False  # we cancelled or hung it up: its failure/disconnect is not news
    sip_connected: bool = False  # SIP thread: the phone answered; later 200s answer our re-INVITEs


@dataclass(eq=False)
class Call:
    interaction: str
    queue: str
    number: str
    caller: Any  # sippy UA
    call_id: str
    caller_tag: str
    caller_sdp: str
    contact: str | None
    media_tag: str = field(default_factory=lambda: "ctr-" + secrets.token_hex(6))
    state: CallState = CallState.SETUP
    agent_offer_sdp: str = ""
    leg: AgentLeg | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    media: bool = False  # rtpengine knows the call
    outbound: bool = False  # placed through the trunk (centrale.telephony.trunk): media offered by us
    local_sdp: str = ""  # outbound: the SDP the customer has from us (its INVITE's offer)
    on_end: list[Callable[[], None]] = field(default_factory=list)  # run once when the call ends
    recording: Sides | None = None  # rtpengine records it (from the bridge on); who is who in its pcap
    recording_started: float = 0.0
    service: ServiceNumber | None = None  # what the number's callers hear (None: outbound)
    flow: CallerFlow | None = None  # the caller's flow (centrale.telephony.caller)
    flow_task: asyncio.Task[None] | None = None  # its prompts, waits and music now
    flow_gen: int = 0  # bumped whenever that task is replaced: an overtaken wait is dropped
    announcer: asyncio.Task[None] | None = None  # periodic position/wait announcements


# --- sippy integration ------------------------------------------------------------------------------
_patched = False


class _SipLogger:
    """Stands in for sippy's SipLogger: every message at DEBUG on a `logging` logger."""

    def write(self, *args: Any, **kwargs: Any) -> None:
        if siplog.isEnabledFor(logging.DEBUG):
            siplog.debug("%s", "".join(str(a) for a in args).rstrip())

    def shutdown(self) -> None:
        return None


def _dump_exception(msg: str, f: Any = None, extra: Any = None) -> None:
    exc = sys.exc_info()[1]
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "no exception"
    log.warning("sippy: %s: %s", msg.strip(), text)
    if extra is not None and log.isEnabledFor(logging.DEBUG):
        log.debug("offending message: %r", str(extra)[:2000])


def _patch_sippy() -> None:
    """Process-wide adjustments to sippy (once): one-line exception logging, lower-case transports."""
    global _patched
    if _patched:
        return
    import sippy.SipURL  # type: ignore[import-untyped]

    for name, module in list(sys.modules.items()):
        if name.startswith("sippy") and module is not None and hasattr(module, "dump_exception"):
            module.dump_exception = _dump_exception  # type: ignore[attr-defined]
    original = sippy.SipURL.SipURL.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        transport = self.transport
        if isinstance(transport, str) and transport != transport.lower():
            self.transport = transport.lower()

    sippy.SipURL.SipURL.__init__ = init
    # Sippy reads the clock through ctypes (a structure and a pointer per call) for every timer and
    # timestamp it makes — about a fifth of the SIP thread's time under load. The standard library
    # reads the same clocks (sippy's clock ids are the kernel's) without that overhead.
    import sippy.Security.SipNonce  # type: ignore[import-untyped]
    import sippy.Time.MonoTime  # type: ignore[import-untyped]

    sippy.Time.MonoTime.clock_getdtime = time.clock_gettime
    sippy.Security.SipNonce.clock_getntime = time.clock_gettime_ns
    _patched = True


def _port_taken(host: str, port: int) -> bool:
    """True when some other socket holds the UDP port (sippy's SO_REUSEPORT would share it silently)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind((host, port))
    except OSError:
        return True
    finally:
        probe.close()
    return False


class SipService(Listener):
    """The SIP service: a worker (``start``/``stop``) and a writer listener (engine commands)."""

    def __init__(self, settings: TelephonySettings, writer: Writer) -> None:
        self.settings = settings
        self.writer = writer
        self.registrar = Registrar(
            settings.accounts, realm=settings.realm, max_expires=settings.register_max_expires
        )
        self.ng = NgClient(*settings.ng_address, timeout=settings.ng_timeout)
        self.guard = SipGuard(settings)  # per-source flood limits (centrale.telephony.flood)
        self.agent_media = AgentMedia(self.ng)  # WebRTC offers for browser phones (telephony.webrtc)
        self.websocket: Any = None  # SIP over WebSocket (centrale.telephony.websocket), when ws_port
        self.calls: dict[str, Call] = {}
        self.features = Features(self)  # hold, transfer, monitoring (centrale.telephony.features)
        self.music: str = settings.music or ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._gc: dict[str, Any] = {}
        self._by_ua: dict[Any, Call | AgentLeg] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.started = False
        self.failures = 0  # callbacks that raised (each logged once)
        self.caller_side = CallerSide(self)  # greeting, menu, DTMF, announcements, callback offer

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        # sippy keeps its dispatcher and its own address in globals: a second service in the same
        # process would share one event loop and overwrite the first one's address.
        if _running and _running[0] is not self:
            raise OSError(f"a SIP service already runs in this process (udp:{_running[0].settings.sip_port})")
        self._loop = asyncio.get_running_loop()
        host, port = self.settings.sip_host, self.settings.sip_port
        if _port_taken(host, port):
            raise OSError(f"SIP port {host}:{port} is in use (another SIP service still running?)")
        await self.ng.connect()
        try:
            await self.ng.ping()
        except NgError as exc:
            log.error("rtpengine is not answering (%s); calls will fail until it does", exc)
        if not self.music:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="centrale-moh-")
            self.music = str(write_tone_sequence(Path(self._tmpdir.name) / "hold.wav"))
        await self.caller_side.start()  # prompts spoken, DTMF log listened to
        # sippy's dispatcher is created at import and registers a signal handler: import here, on
        # the main thread, then run its loop on a thread of its own.
        from sippy.Core.EventDispatcher import ED2  # type: ignore[import-untyped]
        from sippy.SipConf import SipConf  # type: ignore[import-untyped]

        _running[:] = [self]
        _patch_sippy()
        SipConf.my_address = host
        SipConf.my_port = port
        SipConf.my_uaname = "centrale"
        ready: asyncio.Future[BaseException | None] = self._loop.create_future()

        def signal_ready(error: BaseException | None) -> None:
            assert self._loop is not None

            def settle() -> None:
                if not ready.done():
                    ready.set_result(error)

            self._loop.call_soon_threadsafe(settle)

        def run() -> None:
            ED2.my_ident = threading.get_ident()
            try:
                self._gc = {"_sip_address": host, "_sip_port": port, "_sip_logger": _SipLogger()}
                self._gc["_sip_tm"] = self.guard.transaction_manager(self._gc, self._recv_request)
            except BaseException as exc:  # the port, mostly
                signal_ready(exc)
                return
            signal_ready(None)
            ED2.loop()

        self._thread = threading.Thread(target=run, name="centrale-sip", daemon=True)
        self._thread.start()
        error = await ready
        if error is not None:
            _running.clear()
            raise OSError(f"cannot start the SIP service on {host}:{port}: {error}")
        self.started = True
        if self.settings.ws_port is not None:  # browser softphones (centrale.telephony.websocket)
            from centrale.telephony.websocket import SipWebSocket

            try:
                self.websocket = await SipWebSocket.open(self.settings, self._gc)
            except OSError:
                await self.stop()
                raise
        log.info("SIP service on udp:%s:%d, rtpengine at %s", host, port, self.settings.rtpengine)

    async def readiness(self) -> dict[str, str]:
        """What a readiness probe reports: ``ok`` or the problem, for the SIP thread and rtpengine
        (an NG ping, at most ``ng_timeout``)."""
        checks = {"sip": "ok" if self.started and self._thread and self._thread.is_alive() else "not running"}
        try:
            await self.ng.ping()
            checks["rtpengine"] = "ok"
        except NgError as exc:
            checks["rtpengine"] = str(exc)
        return checks

    async def stop(self) -> None:
        if not self.started:
            self.ng.close()
            self.caller_side.close()
            return
        from sippy.Core.EventDispatcher import ED2

        for call in {*self.calls.values(), *self.caller_side.calls()}:
            with contextlib.suppress(Exception):
                await self._end(call, hangup_caller=True)
        if self.websocket is not None:
            await self.websocket.close()
            self.websocket = None

        def shutdown() -> None:
            tm = self._gc.get("_sip_tm")
            if tm is not None:
                tm.shutdown()
            ED2.breakLoop()

        ED2.callFromThread(shutdown)
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 5.0)
        for task in list(self._tasks):
            task.cancel()
        self.ng.close()
        self.caller_side.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
        self.started = False
        if _running and _running[0] is self:
            _running.clear()

    # --- thread hand-over ----------------------------------------------------------------------------
    def _to_loop(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """From the SIP thread: run the coroutine function on the asyncio loop."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._spawn, fn, args)

    def _spawn(self, fn: Callable[..., Awaitable[None]], args: tuple[Any, ...]) -> None:
        async def guarded() -> None:
            try:
                await fn(*args)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("telephony step %s failed", getattr(fn, "__name__", fn))

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _to_sip(self, fn: Callable[..., None], *args: Any) -> None:
        """From the asyncio loop: run `fn` on the SIP thread."""
        from sippy.Core.EventDispatcher import ED2

        ED2.callFromThread(self._sip_guard, fn, args)

    def _sip_guard(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception:
            self.failures += 1
            log.exception("SIP step %s failed", getattr(fn, "__name__", fn))

    # --- SIP thread: requests outside a dialog ---------------------------------------------------------
    def _recv_request(self, req: Any, sip_t: Any) -> Any:
        try:
            return self._route(req, sip_t)
        except Exception:
            self.failures += 1
            log.exception("%s from %s failed; answered 500", _method(req), _source(req))
            return (req.genResponse(500, "Server Internal Error"), None, None)

    def _route(self, req: Any, sip_t: Any) -> Any:
        from sippy.UA import UA  # type: ignore[import-untyped]

        method = req.getMethod()
        limited = self.guard.check(req)  # over the source's request rate: 503 + Retry-After
        if limited is not None:
            return (limited, None, None)
        if req.getHFBody("to").getTag() is not None:
            return (req.genResponse(481, "Call Leg/Transaction Does Not Exist"), None, None)
        if method == "REGISTER":
            resp = self.registrar.handle(req)
            self.guard.registered(req, resp)  # failed authentications count towards a block
            return (resp, None, None)
        if method == "OPTIONS":
            return (req.genResponse(200, "OK"), None, None)
        if method != "INVITE":
            return (req.genResponse(405, "Method Not Allowed"), None, None)
        number = req.getRURI().username
        service = self.settings.numbers.get(number or "")
        if service is None:
            log.info("INVITE from %s to unknown number %r: 404", _source(req), number)
            return (req.genResponse(404, "Not Found"), None, None)
        if req.countHFs("contact") == 0:
            log.info("INVITE from %s without Contact: 400", _source(req))
            return (req.genResponse(400, "Missing Contact"), None, None)
        body = req.getBody()
        if body is None or "sdp" not in str(body.mtype).lower():
            log.info("INVITE from %s without an SDP offer: 488", _source(req))
            return (req.genResponse(488, "Not Acceptable Here"), None, None)
        overloaded = self.guard.overload(req)  # too many calls in set-up: 503 + Retry-After
        if overloaded is not None:
            return (overloaded, None, None)
        ua = UA(self._gc, self._caller_event)
        ua.pending_number = (number, service)
        return ua.recvRequest(req, sip_t)

    # --- SIP thread: the caller's leg ------------------------------------------------------------------
    def _caller_event(self, event: Any, ua: Any) -> None:
        try:
            self._caller_event_(event, ua)
        except Exception:
            self.failures += 1
            log.exception("caller event %s failed; hanging up", event)
            self._sip_fail(ua, 500, "Server Internal Error")

    def _caller_event_(self, event: Any, ua: Any) -> None:
        from sippy.CCEvents import (  # type: ignore[import-untyped]
            CCEventDisconnect,
            CCEventFail,
            CCEventInfo,
            CCEventTry,
            CCEventUpdate,
        )

        if isinstance(event, CCEventTry):
            call_id, cli, _cld, body, _auth, _name = event.getData()
            number, service = ua.pending_number
            call = Call(
                interaction=f"sip-{secrets.token_hex(6)}",
                queue=service.queue,
                service=service,
                number=number,
                caller=ua,
                call_id=str(call_id),
                caller_tag=str(ua.rUri.getTag()),
                caller_sdp=str(body),
                contact=str(cli) if cli else None,
            )
            self._by_ua[ua] = call
            self.guard.setups_started += 1  # done when _arrive has finished, whatever its outcome
            self._to_loop(self._arrive, call)
            return
        found = self._by_ua.get(ua)
        if not isinstance(found, Call):
            return
        call = found
        if isinstance(event, CCEventDisconnect | CCEventFail):
            self._by_ua.pop(ua, None)
            self._to_loop(self._caller_gone, call)
        elif isinstance(event, CCEventInfo):  # keypad digits out of band (sippy has answered 200)
            body = event.getData()
            if body is not None:
                digit = digit_from_info(str(body.mtype), str(body))
                if digit is not None:
                    self._to_loop(self._info_digit, call, digit)
        elif isinstance(event, CCEventUpdate):  # the caller's hold, new address or codec: rtpengine
            body = event.getData()
            self._to_loop(self.features.caller_update, call, str(body) if body is not None else "")

    # --- SIP thread: agents' legs ----------------------------------------------------------------------
    def _agent_event(self, event: Any, ua: Any) -> None:
        try:
            self._agent_event_(event, ua)
        except Exception:
            self.failures += 1
            log.exception("agent event %s failed; hanging up the agent's leg", event)
            self._sip_hangup(ua)

    def _agent_event_(self, event: Any, ua: Any) -> None:
        from sippy.CCEvents import (
            CCEventConnect,
            CCEventDisconnect,
            CCEventFail,
            CCEventUpdate,
        )

        leg = self._by_ua.get(ua)
        if not isinstance(leg, AgentLeg):
            return
        if isinstance(event, CCEventConnect):
            _code, _reason, body = event.getData()
            if leg.sip_connected:  # the answer to a re-INVITE of ours (monitoring moves the media)
                self._to_loop(self.features.agent_reanswered, leg, str(body) if body is not None else None)
                return
            leg.sip_connected = True
            self._to_loop(self._agent_answered, leg, str(body) if body is not None else "")
        elif isinstance(event, CCEventFail) and leg.sip_connected and ua.isConnected():
            self._to_loop(self.features.agent_reanswered, leg, None)  # our re-INVITE refused
        elif isinstance(event, CCEventFail):
            self._by_ua.pop(ua, None)
            code = event.getData()[0] if event.getData() else 0
            self._to_loop(self._agent_failed, leg, int(code or 0))
        elif isinstance(event, CCEventDisconnect):
            self._by_ua.pop(ua, None)
            self._to_loop(self._agent_hung_up, leg)
        elif isinstance(event, CCEventUpdate):  # hold/resume from the phone: through rtpengine
            body = event.getData()
            self._to_loop(self.features.agent_update, leg, str(body) if body is not None else "")

    def _ring(self, leg: AgentLeg, sdp: str, caller: str) -> None:
        from sippy.CCEvents import CCEventTry
        from sippy.MsgBody import MsgBody  # type: ignore[import-untyped]

        if leg.closing:
            return
        ua = self.features.agent_ua(  # sippy's UA, taking REFER (centrale.telephony.transfer)
            self._gc,
            self._agent_event,
            nh_address=(leg.binding.host, leg.binding.port),
            nh_transport=leg.binding.transport,  # "ws": over the softphone's WebSocket
        )
        self.features.ringing(leg, ua, sdp)
        leg.ua = ua
        self._by_ua[ua] = leg
        ua.recvEvent(CCEventTry((None, caller or "anonymous", leg.binding.user, MsgBody(sdp), None, "")))

    def _sip_answer(self, ua: Any, sdp: str) -> None:
        from sippy.CCEvents import CCEventConnect
        from sippy.MsgBody import MsgBody

        if ua is not None and not ua.isDead():
            ua.recvEvent(CCEventConnect((200, "OK", MsgBody(sdp))))

    def _sip_update(self, ua: Any, sdp: str) -> None:
        from sippy.CCEvents import CCEventUpdate
        from sippy.MsgBody import MsgBody

        if ua is not None and ua.isConnected():
            ua.recvEvent(CCEventUpdate(MsgBody(sdp)))

    def _sip_fail(self, ua: Any, code: int, reason: str) -> None:
        from sippy.CCEvents import CCEventFail

        self._by_ua.pop(ua, None)
        if ua is None or ua.isDead():
            return
        if ua.isConnected():
            self._sip_hangup(ua)
        else:
            ua.recvEvent(CCEventFail((code, reason)))

    def _sip_hangup(self, ua: Any) -> None:
        from sippy.CCEvents import CCEventDisconnect

        self._by_ua.pop(ua, None)
        if ua is not None and not ua.isDead():
            ua.recvEvent(CCEventDisconnect())

    # --- asyncio: the engine's commands ----------------------------------------------------------------
    def after(self, batch: Batch) -> None:
        self.features.before(batch)  # transfers re-file calls before the new segment's Offer
        for command in batch.commands:
            if isinstance(command, AgentStateChanged) and command.state == "logged_out":
                self.registrar.phones.agent_logged_out(command.agent)  # the phone is free again
            interaction = getattr(command, "interaction", None)
            if interaction is None:
                continue
            call = self.calls.get(interaction)
            if call is not None:
                self._spawn(self._command, (call, command))
        self.features.after(batch)

    async def _command(self, call: Call, command: Command) -> None:
        async with call.lock:
            if isinstance(command, Offer):
                await self._offer(call, command)
            elif isinstance(command, RevokeOffer):
                self._revoke(call, command.agent)
            elif isinstance(command, Connect):
                await self._connect(call, command)
            elif isinstance(command, Disconnect):
                log.info("%s: the engine ends the call (%s)", call.interaction, command.reason)
                await self._end(call, hangup_caller=True)
            elif isinstance(command, OfferCallback):
                await self.caller_side.offer_callback(call)  # "press 1 to be called back"
            elif isinstance(command, InteractionFinished) and call.outbound:
                # The dialer hangs an outbound call up through the trunk (SipTrunk.hangup), with
                # the information message when the call was abandoned: leave the customer's leg.
                self._drop_leg(call)
                if call.state in (CallState.RINGING, CallState.ANSWERED):
                    call.state = CallState.QUEUED
            elif isinstance(command, WrapUpStarted | InteractionFinished) and call.state not in (
                CallState.ENDED,
                CallState.CLOSING,  # the callback's confirmation plays; we hang up after it
            ):
                await self._end(call, hangup_caller=True)  # ended elsewhere (the agent's desktop)

    async def _offer(self, call: Call, offer: Offer) -> None:
        if call.state is not CallState.QUEUED:
            return
        binding = self.registrar.binding_for_agent(offer.agent)
        if binding is None:
            log.warning("%s: agent %s has no registered phone; offer rejected", call.interaction, offer.agent)
            await self._tell(OfferRejected(call.interaction, offer.agent))
            return
        try:  # a browser phone is offered WebRTC media (centrale.telephony.webrtc)
            sdp = await self.agent_media.sdp_for(call, binding)
        except NgError as exc:
            log.error("%s: no media offer for agent %s's phone: %s", call.interaction, offer.agent, exc)
            await self._tell(OfferRejected(call.interaction, offer.agent))
            return
        leg = AgentLeg(call, offer.agent, binding)
        call.leg = leg
        call.state = CallState.RINGING
        self._to_sip(self._ring, leg, sdp, call.contact or "")

    def _revoke(self, call: Call, agent: str) -> None:
        leg = call.leg
        if leg is None or leg.agent != agent:
            return
        self._drop_leg(call)
        if call.state in (CallState.RINGING, CallState.ANSWERED):
            call.state = CallState.QUEUED

    def _drop_leg(self, call: Call) -> None:
        leg, call.leg = call.leg, None
        if leg is not None and not leg.closing:
            leg.closing = True
            self._to_sip(self._sip_hangup_leg, leg)  # on the SIP thread, after any pending _ring

    def _sip_hangup_leg(self, leg: AgentLeg) -> None:
        if leg.ua is not None:
            self._sip_hangup(leg.ua)

    async def _connect(self, call: Call, connect: Connect) -> None:
        leg = call.leg
        if call.state is not CallState.ANSWERED or leg is None or leg.agent != connect.agent:
            log.warning("%s: Connect for %s in state %s ignored", call.interaction, connect.agent, call.state)
            return
        self.caller_side.quiet(call)  # no prompt or announcement may start over the conversation
        try:
            caller_sdp = await self.bridge_media(call, leg.sdp or "", stop_music=True)
        except NgError as exc:
            log.error("%s: cannot bridge the media: %s", call.interaction, exc)
            await self._end(call, hangup_caller=True, tell=InteractionEnded(call.interaction))
            return
        call.state = CallState.CONNECTED
        if self.settings.recordings_dir is not None:
            if self.caller_side.may_record(call):  # the account's mode, the caller's consent
                await self._start_recording(call, leg, caller_sdp)
            else:
                log.info("%s: not recorded (the account's recording mode or the caller)", call.interaction)
        # an outbound customer whose media address did not move needs no re-INVITE
        if not call.outbound or _media_lines(caller_sdp) != _media_lines(call.local_sdp):
            call.local_sdp = caller_sdp
            self._to_sip(self._sip_update, call.caller, caller_sdp)
        log.info("%s: connected to agent %s", call.interaction, leg.agent)

    async def bridge_media(self, call: Call, agent_sdp: str, *, stop_music: bool = False) -> str:
        """rtpengine: the customer's side of `call` talks to `agent_sdp` now; the SDP for the
        customer (raises NgError). `stop_music`: end what plays to an inbound caller first."""
        if call.outbound and not self.agent_media.answers_like_inbound(call):
            # We offered first (agent side = media_tag, a placeholder): re-offer that side with
            # the agent's SDP (keeping rtpengine's ports), and confirm the customer's answer.
            caller_sdp = await self.ng.offer(call.call_id, call.media_tag, agent_sdp, flags=["port latching"])
            await self.ng.answer(call.call_id, call.media_tag, call.caller_tag, call.caller_sdp)
            return caller_sdp
        if stop_music:
            with contextlib.suppress(NgError):  # nothing playing is fine
                await self.ng.stop_media(call.call_id, call.caller_tag)
        return await self.ng.answer(
            call.call_id,
            call.caller_tag,
            call.media_tag,
            agent_sdp,
            **self.agent_media.answer_flags(call),  # a browser's answer: plain RTP to the caller
        )

    # --- asyncio: SIP events ---------------------------------------------------------------------------
    async def _arrive(self, call: Call) -> None:
        try:
            await self._arrive_(call)
        finally:
            self.guard.setups_done += 1

    async def _arrive_(self, call: Call) -> None:
        async with call.lock:
            if call.state is CallState.ENDED:
                return
            try:
                call.agent_offer_sdp = await self.ng.offer(call.call_id, call.caller_tag, call.caller_sdp)
                call.media = True
                caller_sdp = await self.ng.answer(
                    call.call_id, call.caller_tag, call.media_tag, PLACEHOLDER_SDP
                )
            except NgError as exc:
                log.error("call from %s to %s refused (503): media: %s", call.contact, call.number, exc)
                await self._end(call, hangup_caller=True, code=503, reason="Service Unavailable")
                return
            if call.service is not None and await self.caller_side.begin(call, caller_sdp):
                return  # answered: greeting, menu or recording notice first (centrale.telephony.caller)
            self.calls[call.interaction] = call  # before the engine may offer it (same tick)
            try:
                await self.writer.submit(
                    InteractionArrived(
                        call.interaction, call.queue, contact=call.contact, direction="inbound"
                    )
                )
            except (DomainError, WriterStopped) as exc:
                log.warning("call from %s to %s refused (480): %s", call.contact, call.number, exc)
                await self._end(call, hangup_caller=True, code=480, reason="Temporarily Unavailable")
                return
            call.state = CallState.QUEUED
            self._to_sip(self._sip_answer, call.caller, caller_sdp)
            try:
                await self.ng.play_media(call.call_id, call.caller_tag, self.music)
            except NgError as exc:  # the call goes on without music
                log.warning("%s: no music on hold: %s", call.interaction, exc)
            log.info("%s: call from %s queued in %s", call.interaction, call.contact, call.queue)
            self.caller_side.queued(call)  # position / expected-wait announcements, if configured

    async def _info_digit(self, call: Call, digit: str) -> None:
        self.caller_side.info_digit(call, digit)

    async def _caller_gone(self, call: Call) -> None:
        async with call.lock:
            state = call.state
            if state is CallState.ENDED:
                return
            if state in (CallState.QUEUED, CallState.RINGING, CallState.ANSWERED):
                log.info("%s: the caller hung up while waiting", call.interaction)
                await self._end(call, hangup_caller=False, tell=CustomerAbandoned(call.interaction))
            elif state is CallState.CONNECTED:
                log.info("%s: the caller hung up", call.interaction)
                await self._end(call, hangup_caller=False, tell=InteractionEnded(call.interaction))
            else:  # SETUP: the engine never heard of it
                await self._end(call, hangup_caller=False)

    async def _agent_answered(self, leg: AgentLeg, sdp: str) -> None:
        call = leg.call
        async with call.lock:
            if call.leg is not leg or call.state is not CallState.RINGING:
                leg.closing = True  # answered too late: revoked, or the caller left
                self._to_sip(self._sip_hangup_leg, leg)
                return
            leg.sdp = sdp
            call.state = CallState.ANSWERED
            try:
                await self.writer.submit(OfferAccepted(call.interaction, leg.agent))
            except (DomainError, WriterStopped) as exc:
                log.warning(
                    "%s: agent %s answered but the engine refused: %s", call.interaction, leg.agent, exc
                )
                self._drop_leg(call)
                call.state = CallState.QUEUED

    async def _agent_failed(self, leg: AgentLeg, code: int) -> None:
        call = leg.call
        async with call.lock:
            if leg.closing or call.leg is not leg:
                return
            call.leg = None
            leg.closing = True
            if call.state in (CallState.RINGING, CallState.ANSWERED):
                call.state = CallState.QUEUED
                log.info(
                    "%s: agent %s's phone answered %d: offer rejected", call.interaction, leg.agent, code
                )
                await self._tell(OfferRejected(call.interaction, leg.agent))

    async def _agent_hung_up(self, leg: AgentLeg) -> None:
        call = leg.call
        async with call.lock:
            if leg.closing or call.leg is not leg:
                return
            leg.closing = True
            if call.state in (CallState.CONNECTED, CallState.ANSWERED):
                log.info("%s: agent %s hung up", call.interaction, leg.agent)
                call.leg = None
                await self._end(call, hangup_caller=True, tell=InteractionEnded(call.interaction))
            elif call.state is CallState.RINGING:
                call.leg = None
                call.state = CallState.QUEUED
                await self._tell(OfferRejected(call.interaction, leg.agent))

    # --- asyncio: helpers ------------------------------------------------------------------------------
    async def _end(
        self,
        call: Call,
        *,
        hangup_caller: bool,
        tell: Event | None = None,
        code: int = 500,
        reason: str = "Server Internal Error",
    ) -> None:
        """End the call everywhere: the engine (`tell`), both legs, rtpengine. Call under its lock."""
        if call.state is CallState.ENDED:
            return
        call.state = CallState.ENDED
        self.caller_side.ended(call)
        self._drop_leg(call)
        callbacks, call.on_end = call.on_end, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("%s: end-of-call callback failed", call.interaction)
        if hangup_caller:
            self._to_sip(self._sip_fail, call.caller, code, reason)
        if tell is not None:
            await self._tell(tell)
        self.calls.pop(call.interaction, None)
        sides, call.recording = call.recording, None
        if sides is not None:
            with contextlib.suppress(NgError):  # the delete below ends it as well
                await self.ng.stop_recording(call.call_id)
        if call.media:
            call.media = False
            try:
                await self.ng.delete(call.call_id)
            except NgError as exc:
                log.warning("%s: rtpengine delete failed: %s", call.interaction, exc)
        if sides is not None:
            self._spawn(self._save_recording, (call, sides, call.recording_started, time.time()))

    # --- asyncio: recordings (centrale.telephony.recording) ------------------------------------------
    async def _start_recording(self, call: Call, leg: AgentLeg, customer_sdp: str) -> None:
        """Ask rtpengine to record the bridged call; note which addresses are whose."""
        sides = Sides()
        for target, sdp in (
            (sides.customer_src, call.caller_sdp),
            (sides.customer_dst, customer_sdp),
            (sides.agent_src, leg.sdp or ""),
            (sides.agent_dst, "" if call.outbound else call.agent_offer_sdp),
        ):
            address = sdp_address(sdp)
            if address is not None:
                target.add(address)
        try:
            await self.ng.start_recording(call.call_id)
        except NgError as exc:
            log.error("%s: the call is not recorded: %s", call.interaction, exc)
            return
        call.recording = sides
        call.recording_started = time.time()

    async def _save_recording(self, call: Call, sides: Sides, started: float, ended: float) -> None:
        """Turn rtpengine's pcap of the call into ``<recordings_dir>/<interaction>.wav`` and a row."""
        from centrale.storage.schema import recordings

        assert self.settings.recordings_dir is not None and self.settings.recording_spool is not None
        spool = Path(self.settings.recording_spool)
        pcap = None
        for _ in range(50):  # rtpengine closes the file as it deletes the call: give it a moment
            pcap = find_pcap(spool, call.call_id)
            if pcap is not None and _pcap_closed(spool, pcap):
                break
            await asyncio.sleep(0.05)
        if pcap is None:
            log.error("%s: no recording from rtpengine in %s", call.interaction, spool)
            return
        wav = Path(self.settings.recordings_dir) / f"{_safe_name(call.interaction)}.wav"
        loop = asyncio.get_running_loop()
        seconds = await loop.run_in_executor(None, pcap_to_wav, pcap, wav, sides)
        queue = self.writer.engine.queues.get(call.queue)
        account = queue.config.account if queue is not None else ""
        with self.writer.store.sql.begin() as conn:
            conn.execute(recordings.delete().where(recordings.c.interaction == call.interaction))
            conn.execute(
                recordings.insert().values(
                    interaction=call.interaction,
                    account=account,
                    path=str(wav),
                    started=started,
                    ended=ended,
                    bytes=wav.stat().st_size,
                    created=time.time(),
                )
            )
        for spooled in [pcap, *_metadata_for(spool, pcap)]:  # the WAV is the recording now
            with contextlib.suppress(OSError):
                spooled.unlink()
        log.info("%s: recorded %.1f s to %s", call.interaction, seconds, wav)

    async def _tell(self, event: Event) -> None:
        try:
            await self.writer.submit(event)
        except DomainError as exc:  # the engine moved on (a race with a timer): nothing to undo
            log.info("engine refused %s: %s", type(event).__name__, exc)
        except WriterStopped as exc:
            log.error("engine unavailable for %s: %s", type(event).__name__, exc)


def _metadata_for(spool: Path, pcap: Path) -> list[Path]:
    """rtpengine's metadata files naming `pcap` (their first line is its path)."""
    out = []
    for meta in (spool / "metadata").glob("*"):
        with contextlib.suppress(OSError):
            if meta.read_text(errors="replace").startswith(str(pcap)):
                out.append(meta)
    return out


def _pcap_closed(spool: Path, pcap: Path) -> bool:
    """rtpengine has finished the call's pcap: its metadata says when the call ended."""
    metas = _metadata_for(spool, pcap)
    return not metas or any("call end time" in m.read_text(errors="replace") for m in metas)


def _safe_name(interaction: str) -> str:
    """An interaction id as a file name (ids are [A-Za-z0-9_.:-] mostly; anything else escaped)."""
    return "".join(c if c.isalnum() or c in "_.-" else f"%{ord(c):02X}" for c in interaction)


def _media_lines(sdp: str) -> list[str]:
    """The lines of an SDP that say where media goes (c=, m=, a=rtcp), without the origin's version."""
    return [line.strip() for line in sdp.splitlines() if line.startswith(("c=", "m=", "a=rtcp"))]


def _method(req: Any) -> str:
    try:
        return str(req.getMethod())
    except Exception:
        return "request"


def _source(req: Any) -> str:
    try:
        host, port = req.getSource()
        return f"{host}:{port}"
    except Exception:
        return "?"


__all__ = ["Call", "CallState", "SipService"]
