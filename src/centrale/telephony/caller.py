"""The caller's experience, carried out: the SIP service's driver for :mod:`centrale.telephony.ivr`.

Each inbound call gets a :class:`~centrale.telephony.ivr.CallerFlow` (configured from its service
number, :class:`~centrale.telephony.settings.ServiceNumber`, and the recording mode of each
account its queues belong to). :class:`CallerSide` feeds it inputs — keypad digits from rtpengine's
DTMF log or SIP INFO (:mod:`.dtmf`), the end of a wait, the engine's ``OfferCallback``, the
announcement timer — always under the call's lock, and carries out the actions it returns:

* control actions at once: ``Route`` submits ``InteractionArrived`` (the recording decision in the
  interaction's ``attributes["recording"]``); ``AcceptCallback`` submits ``CallbackAccepted`` and
  feeds the engine's verdict back;
* media actions as one task per call (``play media`` of a prompt from :mod:`.prompts`, then a sleep
  for its length; a wait; music on hold; an announcement of position and expected wait read from
  the engine by :mod:`.waiting`; the hang-up), cancelled when the next non-empty list of actions
  arrives or the call is bridged or ended. The end of a wait is fed back as a new step (a task does
  not cancel itself); a generation counter drops a wait that was overtaken.

A call whose flow starts with ``Route`` (no greeting, no menu, nothing to announce) is queued before
it is answered, exactly as without this module (``480`` when the engine refuses); any other call is
answered first, and a refusal then ends it with a BYE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from centrale.core.errors import DomainError
from centrale.core.events import CallbackAccepted, InteractionArrived
from centrale.server.writer import WriterStopped
from centrale.telephony import ivr, waiting
from centrale.telephony.dtmf import DtmfLogListener
from centrale.telephony.ng import NgError
from centrale.telephony.prompts import PromptError, Prompts, menu_text, position_text, seconds, wait_text
from centrale.telephony.settings import ServiceNumber

if TYPE_CHECKING:
    from centrale.telephony.sip import Call, SipService

log = logging.getLogger("centrale.telephony.caller")


class CallerSide:
    """Greeting, menu, recording notice/consent, announcements and the callback offer for the SIP
    service's inbound calls (see the module's docstring)."""

    def __init__(self, service: SipService) -> None:
        self.service = service
        self.settings = service.settings
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.prompts: Prompts | None = None
        self.dtmf: DtmfLogListener | None = None
        self._by_call_id: dict[str, Call] = {}
        # Calls of the trunk whose digits someone else reads (an agentless survey): call id → (the
        # customer's tag, what to call with each digit).
        self._listeners: dict[str, tuple[str, Callable[[str], None]]] = {}
        # Counters (the tests and the log read them)
        self.digits = 0  # keypad digits fed to flows
        self.played = 0  # prompts started with rtpengine
        self.announcements = 0  # position/wait announcements played
        self.heard: dict[str, str] = {}  # interaction → the words of its latest announcement

    # --- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        cache = self.settings.prompt_cache
        if cache is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="centrale-prompts-")
            cache = self._tmpdir.name
        self.prompts = Prompts(cache)
        if self.settings.dtmf_listen is not None:
            host, _, port = self.settings.dtmf_listen.rpartition(":")
            self.dtmf = DtmfLogListener(host, int(port), self._rtp_digit)
            await self.dtmf.start()
        # Speak the fixed prompts now, so the first caller does not wait for espeak-ng.
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self._prepare)
        except PromptError as exc:
            log.error("announcements will be silent: %s", exc)

    def _prepare(self) -> None:
        assert self.prompts is not None
        for service in self.settings.numbers.values():
            for name in ivr.PROMPTS:
                if name == "greeting" and service.greeting is None and "greeting" not in service.files:
                    continue
                if name == "menu" and not service.menu:
                    continue
                self._prompt_file(service, name)

    def calls(self) -> list[Call]:
        """Every inbound call this side knows (also those still in the menu, not yet queued)."""
        return list(self._by_call_id.values())

    def close(self) -> None:
        if self.dtmf is not None:
            self.dtmf.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    # --- a call's flow -----------------------------------------------------------------------------
    def recording_mode(self, queue: str) -> ivr.RecordingMode:
        """The recording mode of the account `queue` belongs to (``off`` when nothing is recorded)."""
        if self.settings.recordings_dir is None:
            return "off"
        q = self.service.writer.engine.queues.get(queue)
        account = q.config.account if q is not None else ""
        return self.settings.recording.get(account, "on")

    def may_record(self, call: Call) -> bool:
        """Whether the bridged call may be recorded: its account's mode and the caller's consent."""
        mode = self.recording_mode(call.queue)
        if mode == "consent":
            return call.flow is not None and call.flow.recording == "consented"
        return mode in ("on", "announce")

    def flow_for(self, service: ServiceNumber) -> ivr.CallerFlow:
        menu = {
            digit: ivr.Choice(option.callback or option.queue or service.queue, option.callback is not None)
            for digit, option in service.menu.items()
        }
        return ivr.CallerFlow(
            ivr.FlowConfig(
                default=ivr.Choice(service.queue),
                menu=menu,
                greeting=service.greeting is not None or "greeting" in service.files,
                tries=service.tries,
                input_timeout=service.input_timeout,
                recording={q: self.recording_mode(q) for q in service.queues()},
            )
        )

    async def begin(self, call: Call, caller_sdp: str) -> bool:
        """Under the call's lock, media set up: start the flow. False when the call is to be queued
        before it is answered (the flow has nothing to say first); True when this took the call."""
        from centrale.telephony.sip import CallState

        assert call.service is not None  # inbound calls have their number's settings
        call.flow = self.flow_for(call.service)
        self._by_call_id[call.call_id] = call
        actions = call.flow.handle(ivr.Begin())
        if actions and isinstance(actions[0], ivr.Route):
            return False  # the SIP service queues it, answers and starts the music (as ever)
        call.state = CallState.IVR
        self.service._to_sip(self.service._sip_answer, call.caller, caller_sdp)
        log.info("%s: call from %s to %s answered; flow starts", call.interaction, call.contact, call.number)
        await self._run(call, actions)
        return True

    def queued(self, call: Call) -> None:
        """The call is in line: start the periodic announcements (when the number has them)."""
        every = call.service.announce_every if call.service is not None else None
        if every is not None and call.announcer is None:
            call.announcer = asyncio.get_running_loop().create_task(self._announcer(call, every))

    def quiet(self, call: Call) -> None:
        """An agent has the call (or it ends): no more prompts, waits or announcements."""
        for task in (call.flow_task, call.announcer):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        call.flow_task = call.announcer = None
        call.flow_gen += 1
        if call.flow is not None and call.flow.state is not ivr.FlowState.DONE:
            with contextlib.suppress(ivr.IvrError):
                call.flow.handle(ivr.Bridged())

    def ended(self, call: Call) -> None:
        self.quiet(call)
        if self._by_call_id.get(call.call_id) is call:
            del self._by_call_id[call.call_id]
        self.heard.pop(call.interaction, None)

    # --- inputs --------------------------------------------------------------------------------------
    def listen(self, call_id: str, tag: str, on_digit: Callable[[str], None]) -> None:
        """Hand the digits `tag` presses in rtpengine's call `call_id` to `on_digit` (an outbound
        call's survey) until :meth:`unlisten`."""
        self._listeners[call_id] = (tag, on_digit)

    def unlisten(self, call_id: str) -> None:
        self._listeners.pop(call_id, None)

    def _rtp_digit(self, call_id: str, tag: str, digit: str) -> None:
        """From rtpengine's DTMF log (on the loop)."""
        listener = self._listeners.get(call_id)
        if listener is not None:
            if tag == listener[0]:
                self.digits += 1
                listener[1](digit)
            return
        call = self._by_call_id.get(call_id)
        if call is None or tag != call.caller_tag:
            log.debug("DTMF %s for unknown call %s / tag %s ignored", digit, call_id, tag)
            return
        self.service._spawn(self.feed, (call, ivr.Digit(digit)))

    def info_digit(self, call: Call, digit: str) -> None:
        """From a SIP INFO of the caller's (on the loop)."""
        self.service._spawn(self.feed, (call, ivr.Digit(digit)))

    async def offer_callback(self, call: Call) -> None:
        """The engine's ``OfferCallback`` (under the call's lock)."""
        from centrale.telephony.sip import CallState

        if call.flow is not None and call.state is CallState.QUEUED:
            await self._step(call, ivr.CallbackOffered())

    async def feed(self, call: Call, event: ivr.Input, gen: int | None = None) -> None:
        async with call.lock:
            if gen is not None and gen != call.flow_gen:
                return  # a wait that something else overtook
            await self._step(call, event)

    async def _step(self, call: Call, event: ivr.Input) -> None:
        from centrale.telephony.sip import CallState

        if call.flow is None or call.state is CallState.ENDED:
            return
        if isinstance(event, ivr.Digit):
            self.digits += 1
            log.info("%s: caller pressed %s (%s)", call.interaction, event.digit, call.flow.state)
        try:
            actions = call.flow.handle(event)
        except ivr.IvrError as exc:
            log.warning("%s: %s", call.interaction, exc)
            return
        await self._run(call, actions)

    # --- actions -------------------------------------------------------------------------------------
    async def _run(self, call: Call, actions: list[ivr.Action]) -> None:
        """Carry out one list of actions (under the call's lock): control now, media as a task."""
        if not actions:
            return
        self.quiet_media(call)
        gen = call.flow_gen
        i = 0
        while i < len(actions) and isinstance(actions[i], ivr.CONTROL):
            if not await self._control(call, actions[i]):
                return
            i += 1
        media = actions[i:]
        if media and gen == call.flow_gen:
            call.flow_task = asyncio.get_running_loop().create_task(self._media(call, media, gen))

    def quiet_media(self, call: Call) -> None:
        task, call.flow_task = call.flow_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        call.flow_gen += 1

    async def _control(self, call: Call, action: ivr.Action) -> bool:
        from centrale.telephony.sip import CallState

        service = self.service
        if isinstance(action, ivr.Route):
            call.queue = action.queue
            service.calls[call.interaction] = call  # before the engine may offer it (same tick)
            attributes = {"recording": action.recording} if action.recording else None
            try:
                await service.writer.submit(
                    InteractionArrived(
                        call.interaction,
                        call.queue,
                        attributes=attributes,
                        contact=call.contact,
                        direction="inbound",
                    )
                )
            except (DomainError, WriterStopped) as exc:
                log.warning("%s: the engine refused the call (%s); hanging up", call.interaction, exc)
                await service._end(call, hangup_caller=True)
                return False
            call.state = CallState.QUEUED
            if action.recording:
                log.info("%s: recording %s", call.interaction, action.recording)
            log.info("%s: call from %s queued in %s", call.interaction, call.contact, call.queue)
            self.queued(call)
            return True
        if isinstance(action, ivr.AcceptCallback):
            try:
                await service.writer.submit(CallbackAccepted(call.interaction))
            except (DomainError, WriterStopped) as exc:
                log.info("%s: callback not taken (%s); the caller stays in line", call.interaction, exc)
                await self._run(call, call.flow.handle(ivr.CallbackRefused()) if call.flow else [])
                return False
            # The engine finished this interaction (callback requested); the confirmation plays,
            # then we hang up. CLOSING keeps the engine's InteractionFinished and the caller's own
            # BYE from being taken as anything else.
            call.state = CallState.CLOSING
            if call.announcer is not None:
                call.announcer.cancel()
                call.announcer = None
            log.info("%s: callback accepted for %s; it keeps its place", call.interaction, call.contact)
            if call.flow is not None:
                await self._run(call, call.flow.handle(ivr.CallbackConfirmed()))
            return False
        raise AssertionError(f"not a control action: {action!r}")

    async def _media(self, call: Call, actions: list[ivr.Action], gen: int) -> None:
        service = self.service
        try:
            for action in actions:
                if isinstance(action, ivr.Play) and call.service is not None:
                    await self._play(call, await self._prompt(call.service, action.prompts))
                elif isinstance(action, ivr.Wait):
                    await asyncio.sleep(action.seconds)
                    service._spawn(self.feed, (call, ivr.Timeout(), gen))
                    return
                elif isinstance(action, ivr.Music):
                    await service.ng.play_media(call.call_id, call.caller_tag, service.music)
                elif isinstance(action, ivr.Announce):
                    await self._announce(call)
                elif isinstance(action, ivr.Hangup):
                    service._spawn(self._hangup, (call,))
                    return
        except NgError as exc:
            log.warning("%s: media step failed: %s", call.interaction, exc)

    async def _play(self, call: Call, path: Path | None) -> None:
        if path is None:
            return
        await self.service.ng.play_media(call.call_id, call.caller_tag, str(path), repeat_times=1)
        self.played += 1
        await asyncio.sleep(seconds(path))

    async def _announce(self, call: Call) -> None:
        engine = self.service.writer.engine
        place = waiting.position(engine, call.queue, call.interaction)
        if place is None:
            return  # not waiting (being offered): nothing to say
        service = call.service
        if service is None:
            return
        texts = []
        if "position" in service.announce:
            texts.append(position_text(service.language, place))
        if "wait" in service.announce:
            wait = waiting.expected_wait(engine, call.queue, place, time.time())
            if wait is not None:
                texts.append(wait_text(service.language, waiting.minutes(wait)))
        if not texts:
            return
        assert self.prompts is not None
        prompts = self.prompts
        loop = asyncio.get_running_loop()
        try:
            path = await loop.run_in_executor(
                None, lambda: prompts.join([prompts.speech(service.language, t) for t in texts])
            )
        except PromptError as exc:
            log.error("%s: announcement not made: %s", call.interaction, exc)
            return
        words = " ".join(texts)
        log.info("%s: announced %s", call.interaction, words)
        self.announcements += 1
        self.heard[call.interaction] = words
        await self._play(call, path)

    async def _hangup(self, call: Call) -> None:
        async with call.lock:
            await self.service._end(call, hangup_caller=True)

    async def _announcer(self, call: Call, every: float) -> None:
        from centrale.telephony.sip import CallState

        while True:
            await asyncio.sleep(every)
            if call.state is CallState.ENDED:
                return
            if call.state is CallState.QUEUED:
                await self.feed(call, ivr.AnnounceDue())

    # --- prompts -------------------------------------------------------------------------------------
    async def _prompt(self, service: ServiceNumber, names: tuple[str, ...]) -> Path | None:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, self._prompt_files, service, names)
        except PromptError as exc:
            log.error("prompt %s not played: %s", "+".join(names), exc)
            return None

    def _prompt_files(self, service: ServiceNumber, names: tuple[str, ...]) -> Path:
        assert self.prompts is not None
        return self.prompts.join([self._prompt_file(service, name) for name in names])

    def _prompt_file(self, service: ServiceNumber, name: str) -> Path:
        assert self.prompts is not None
        texts: dict[str, str] = {}
        if service.greeting is not None:
            texts["greeting"] = service.greeting
        if service.menu:
            texts["menu"] = service.menu_prompt or menu_text(
                service.language,
                [
                    (digit, option.queue or option.callback or "", option.callback is not None)
                    for digit, option in sorted(service.menu.items())
                ],
            )
        files: dict[str, str] = {str(k): v for k, v in service.files.items()}
        return self.prompts.fixed(service.language, name, texts, files)


__all__ = ["CallerSide"]
