"""Callbacks agreed with a customer: scheduled at wrap-up, dialled as a new interaction when due.

An agent who agrees to call a customer back registers ``fields.callback_at`` (an ISO 8601 date
and time; without an offset it is the center's local time) with the disposition. The scheduler
keeps it in ``scheduled_callbacks``, written in the same transaction as the event that agreed it,
so a stored registration always has its callback. When it is due, the scheduler puts a new
outbound interaction in the same queue for the same contact (attribute ``callback_for`` names the
callback), and that arrival marks the callback ``queued`` in the arrival's own transaction: after
a crash a callback is either still scheduled (and put in the queue again) or queued — never both,
never lost.

(Callbacks a waiting customer accepts from the queue keep their place in line; that is the
engine's ``OfferCallback``/``CallbackAccepted``, not this.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from centrale.core import events as E
from centrale.core.engine import Engine
from centrale.server.writer import Batch, Listener, Writer
from centrale.storage.schema import interactions, scheduled_callbacks

log = logging.getLogger("centrale.callbacks")

FIELD = "callback_at"
ATTRIBUTE = "callback_for"


_WATCHED = frozenset({E.WrapUpCompleted, E.DispositionSet, E.InteractionArrived})


def parse_due(value: object, timezone: str) -> float:
    """Epoch seconds of a ``callback_at`` value; ValueError with a readable message otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{FIELD} must be a date and time like 2026-12-01T14:30")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{FIELD}: expected a date and time like 2026-12-01T14:30, got {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return when.timestamp()


class CallbackScheduler(Listener):
    """Records agreed callbacks (a writer listener) and queues them when due (a worker)."""

    def __init__(
        self,
        engine: Engine,
        writer: Writer,
        sql: sa.Engine,
        *,
        timezone: str,
        clock: Callable[[], float] = time.time,
        poll: float = 5.0,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.sql = sql
        self.timezone = timezone
        self.clock = clock
        self.poll = poll
        self._task: asyncio.Task[None] | None = None
        self._posted: set[str] = set()  # callbacks put in the queue by this process, not stored yet
        self._wake = asyncio.Event()

    # --- the writer's side ---------------------------------------------------------------------
    def in_transaction(self, conn: sa.Connection, batch: Batch) -> None:
        for applied in batch.applied:
            _, at, event = applied.entry
            if type(event) not in _WATCHED:
                continue
            if (
                isinstance(event, (E.WrapUpCompleted, E.DispositionSet))
                and event.fields
                and FIELD in event.fields
            ):
                self._schedule(conn, event.interaction, event.fields, event.notes, at)
            elif (
                isinstance(event, E.InteractionArrived) and event.attributes and ATTRIBUTE in event.attributes
            ):
                ident = str(event.attributes[ATTRIBUTE])
                conn.execute(
                    scheduled_callbacks.update()
                    .where(scheduled_callbacks.c.id == ident)
                    .values(status="queued", interaction=event.interaction)
                )
                self._posted.discard(ident)

    def _schedule(
        self, conn: sa.Connection, origin: str, fields: dict[str, Any], notes: str | None, at: float
    ) -> None:
        try:
            due = parse_due(fields[FIELD], self.timezone)
        except ValueError:
            return  # the API refused it already; an event from elsewhere with a bad value is ignored
        row = conn.execute(
            sa.select(
                interactions.c.account, interactions.c.queue, interactions.c.contact, interactions.c.agent
            ).where(interactions.c.id == origin)
        ).first()
        if row is None:
            return
        ident = f"{origin}:callback"
        values = {
            "origin": origin,
            "account": row.account,
            "queue": row.queue,
            "contact": row.contact,
            "agent": row.agent,
            "due": due,
            "status": "scheduled",
            "interaction": None,
            "notes": notes or "",
            "created": at,
        }
        done = conn.execute(
            scheduled_callbacks.update().where(scheduled_callbacks.c.id == ident).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(scheduled_callbacks.insert().values(id=ident, **values))
        self._wake.set()

    # --- the worker's side -----------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="centrale-callbacks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database hiccup: try again at the next poll
                log.exception("queuing due callbacks failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()

    async def run_once(self) -> int:
        """Put every due callback in its queue; returns how many were put."""
        now = self.clock()
        with self.sql.connect() as conn:
            due = conn.execute(
                sa.select(scheduled_callbacks)
                .where(scheduled_callbacks.c.status == "scheduled", scheduled_callbacks.c.due <= now)
                .order_by(scheduled_callbacks.c.due)
                .limit(200)
            ).all()
        count = 0
        for row in due:
            if row.id in self._posted:
                continue
            if row.queue not in self.engine.queues:
                with self.sql.begin() as conn:
                    conn.execute(
                        scheduled_callbacks.update()
                        .where(scheduled_callbacks.c.id == row.id)
                        .values(status="cancelled", notes=f"queue {row.queue} no longer exists")
                    )
                continue
            self._posted.add(row.id)
            interaction = f"{row.id}:{int(now)}"
            self.writer.post(
                E.InteractionArrived(
                    interaction, row.queue, None, {ATTRIBUTE: row.id}, row.contact, "outbound"
                )
            )
            count += 1
        return count

    def cancel(self, ident: str) -> bool:
        with self.sql.begin() as conn:
            done = conn.execute(
                scheduled_callbacks.update()
                .where(scheduled_callbacks.c.id == ident, scheduled_callbacks.c.status == "scheduled")
                .values(status="cancelled")
            )
        return done.rowcount > 0
