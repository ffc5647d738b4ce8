"""The single writer: the one asyncio task that owns the engine.

Theory of operation
-------------------
Everything that changes the contact center is an engine event, and every event goes through
:meth:`Writer.submit` (or :meth:`Writer.post` when nobody waits for the answer): HTTP handlers,
the agent desktop, timers, the demo's simulated world and, later, telephony all post to the same
inbox. One task drains it in **ticks**:

1. Every event waiting in the inbox is applied to the engine at one time stamp. A refused event
   (:class:`~centrale.core.errors.DomainError`) changes nothing; its error goes back to its sender.
2. The tick's accepted events are **persisted in one transaction**, together with the read models
   they imply (:class:`~centrale.server.projection.Projector`) and anything a listener wants in the
   same transaction (webhook deliveries). If that fails the writer stops: the engine is ahead of
   the database, and the only safe way on is a restart that recovers from what was stored.
3. Only then are the commands carried out: timers armed or cancelled, and the batch handed to the
   listeners (live updates, webhooks, channel adapters). So nothing anyone sees has happened
   unless it is stored, and a crash at any moment loses at most events nobody was told about.

Reads (the wallboard, the API's GETs) look at the engine directly: they run on the same event
loop, between ticks, so they always see a state that is stored.

Time is the injected clock's (epoch seconds; never earlier than the previous tick), so the same
writer runs on the real clock in production and on a controlled one in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from centrale.core.commands import CancelTimer, Command, StartTimer
from centrale.core.engine import Engine
from centrale.core.errors import DomainError
from centrale.core.eventlog import EventLog, LoggedEvent
from centrale.core.events import Event, TimerFired
from centrale.storage import EventStore, StorageError

log = logging.getLogger("centrale.writer")

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Applied:
    """One accepted event of a tick and the commands it produced."""

    entry: LoggedEvent
    commands: list[Command]


@dataclass(slots=True)
class Batch:
    """What one tick changed, in order, as handed to listeners after it is stored."""

    at: float
    applied: list[Applied] = field(default_factory=list)

    @property
    def commands(self) -> list[Command]:
        return [c for a in self.applied for c in a.commands]


class Listener:
    """Something that reacts to stored batches. `in_transaction` runs inside the batch's transaction
    (keep it quick and never let it fail for a reason a retry would not fix); `after` runs once the
    batch is stored."""

    def in_transaction(self, conn: sa.Connection, batch: Batch) -> None:  # pragma: no cover - default
        return None

    def after(self, batch: Batch) -> Awaitable[None] | None:  # pragma: no cover - default
        return None


class WriterStopped(Exception):
    """The writer is not running (stopped, or stopped after a storage failure)."""


_Item = tuple[Any, "asyncio.Future[list[Command]] | None"]


class Writer:
    """Owns the engine and the event store; applies events in ticks; persists before effects."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        *,
        clock: Clock = time.time,
        listeners: Sequence[Listener] = (),
    ) -> None:
        if engine.log is None:
            engine.log = EventLog(keep=False)
        engine.log.keep = False
        self.engine = engine
        self.store = store
        self.clock = clock
        self.listeners: list[Listener] = list(listeners)
        self._pending: list[LoggedEvent] = []
        engine.log.sink = self._pending.append
        self._inbox: list[_Item] = []
        self._wake = asyncio.Event()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_now = 0.0
        self.failure: BaseException | None = None
        self.ticks = 0
        self.stored_seq = engine.log.last_seq
        self._idle = asyncio.Event()
        self._idle.set()

    # --- the way in ----------------------------------------------------------------------------
    async def submit(self, event: Event) -> list[Command]:
        """Apply `event` in the next tick; return its commands once they are stored.

        Raises the engine's :class:`DomainError` when the event is refused, and
        :class:`WriterStopped` when the writer is not running.
        """
        if self._task is None or self._task.done():
            raise WriterStopped("the writer is not running") from self.failure
        future: asyncio.Future[list[Command]] = asyncio.get_running_loop().create_future()
        self._inbox.append((event, future))
        self._wake.set()
        return await future

    def post(self, event: Event) -> None:
        """Queue `event` for the next tick without waiting; a refusal is logged, not raised."""
        self._inbox.append((event, None))
        self._wake.set()

    def now(self) -> float:
        return max(self._last_now, self.clock())

    # --- running ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer task on the running loop, and arm the engine's pending timers."""
        for timer in self.engine.pending_timers():
            self._arm(timer)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="centrale-writer")

    async def stop(self) -> None:
        """Finish the events already posted, then stop."""
        if self._task is None:
            return
        await self.drained()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def drained(self) -> None:
        """Wait until everything posted so far is applied, stored and handed to listeners."""
        while self._inbox or not self._idle.is_set():
            if not self.running:
                return
            await asyncio.sleep(0.001)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._inbox:
                continue
            self._idle.clear()
            try:
                await self._tick()
            except BaseException as exc:  # a storage failure: stop and refuse everything after
                self.failure = exc
                self._fail_inbox(exc)
                if not isinstance(exc, asyncio.CancelledError):
                    log.critical("the writer stopped: %s", exc)
                raise
            finally:
                self._idle.set()

    async def _tick(self) -> None:
        items, self._inbox = self._inbox, []
        now = self.now()
        self._last_now = now
        batch = Batch(now)
        answers: list[tuple[asyncio.Future[list[Command]] | None, list[Command] | BaseException]] = []
        handle = self.engine.handle
        pending = self._pending
        for event, future in items:
            before = len(pending)
            try:
                commands = handle(event, now)
            except DomainError as exc:
                if future is None and not isinstance(event, TimerFired):
                    log.info("refused %s: %s", type(event).__name__, exc)
                answers.append((future, exc))
                continue
            if len(pending) > before:
                batch.applied.append(Applied(pending[-1], commands))
            answers.append((future, commands))
        if pending:
            entries = list(pending)
            pending.clear()
            try:
                self._persist(entries, batch)
            except StorageError as exc:
                for future, _ in answers:
                    if future is not None and not future.done():
                        future.set_exception(WriterStopped(str(exc)))
                raise
            self.stored_seq = entries[-1].seq
        self.ticks += 1
        for future, answer in answers:
            if future is None or future.done():
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
        for applied in batch.applied:
            for command in applied.commands:
                if type(command) is StartTimer:
                    self._arm(command)
                elif type(command) is CancelTimer:
                    handle_ = self._timers.pop(command.timer, None)
                    if handle_ is not None:
                        handle_.cancel()
        for listener in self.listeners:
            try:
                result = listener.after(batch)
                if result is not None:
                    await result
            except Exception:  # a listener's bug must not stop the contact center
                log.exception("listener %s failed", type(listener).__name__)

    def _persist(self, entries: list[LoggedEvent], batch: Batch) -> None:
        listeners = self.listeners

        def extra(conn: sa.Connection) -> None:
            for listener in listeners:
                listener.in_transaction(conn, batch)

        self.store.append(entries, extra=extra)

    def _fail_inbox(self, exc: BaseException) -> None:
        items, self._inbox = self._inbox, []
        for _, future in items:
            if future is not None and not future.done():
                future.set_exception(WriterStopped(f"the writer stopped: {exc}"))

    # --- timers ----------------------------------------------------------------------------------
    def _arm(self, timer: StartTimer) -> None:
        old = self._timers.pop(timer.timer, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, timer.at - self.clock())
        loop = asyncio.get_running_loop()
        self._timers[timer.timer] = loop.call_later(delay, self._fire, timer.timer)

    def _fire(self, timer: int) -> None:
        self._timers.pop(timer, None)
        self.post(TimerFired(timer))
