"""Privacy: erasing a customer's data (GDPR) and purging data past an account's retention period.

Erasure removes the read-model rows (interactions, timelines) and blanks the personal fields —
contact, notes and form fields — in the stored events of those interactions. The events themselves
stay, so the log still replays to the same engine: those fields never influence routing.
(Interaction attributes do influence routing and stay; they must not hold personal data.)

Retention: an account may set ``retention_days``; :class:`RetentionWorker` purges, once an hour,
that account's interactions that ended longer ago than that, the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from centrale.storage import codec
from centrale.storage.schema import accounts, events, interactions, recordings, timeline

log = logging.getLogger("centrale.privacy")

PERSONAL_FIELDS = ("contact", "notes", "fields")
DAY = 86400.0


def erase_interactions(conn: sa.Connection, ids: list[str]) -> int:
    """Delete the read-model rows of `ids` and blank personal fields in their events; returns the
    number of events changed. Used by GDPR erasure and by retention purges."""
    if not ids:
        return 0
    changed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        seqs = sorted(
            {r[0] for r in conn.execute(sa.select(timeline.c.seq).where(timeline.c.interaction.in_(chunk)))}
        )
        for seq_start in range(0, len(seqs), 500):
            part = seqs[seq_start : seq_start + 500]
            rows = conn.execute(
                sa.select(events.c.seq, events.c.type, events.c.payload).where(events.c.seq.in_(part))
            ).all()  # read all before writing: an update on the same connection resets a cursor
            for seq, type_name, payload in rows:
                data = json.loads(payload) if isinstance(payload, str) else dict(payload)
                if data.get("interaction") not in chunk:
                    continue
                if not any(data.get(k) for k in PERSONAL_FIELDS):
                    continue
                for key in PERSONAL_FIELDS:
                    if key in data:
                        data[key] = None
                codec.decode(type_name, data)  # still a valid event
                conn.execute(events.update().where(events.c.seq == seq).values(payload=data))
                changed += 1
        conn.execute(timeline.delete().where(timeline.c.interaction.in_(chunk)))
        # Call recordings (centrale.telephony): the WAV files and their rows.
        files = conn.execute(sa.select(recordings.c.path).where(recordings.c.interaction.in_(chunk))).all()
        for (path,) in files:
            Path(path).unlink(missing_ok=True)
        conn.execute(recordings.delete().where(recordings.c.interaction.in_(chunk)))
        conn.execute(interactions.delete().where(interactions.c.id.in_(chunk)))
    return changed


def purge_expired(conn: sa.Connection, now: float) -> dict[str, int]:
    """Erase every account's interactions that ended more than its ``retention_days`` ago.

    Returns the number of interactions purged per account (accounts without a period are kept
    forever)."""
    out: dict[str, int] = {}
    for account, settings in conn.execute(sa.select(accounts.c.id, accounts.c.settings)):
        days = (settings or {}).get("retention_days")
        if not days:
            continue
        cutoff = now - float(days) * DAY
        ids = [
            r[0]
            for r in conn.execute(
                sa.select(interactions.c.id).where(
                    interactions.c.account == account,
                    interactions.c.ended.is_not(None),
                    interactions.c.ended < cutoff,
                )
            )
        ]
        if ids:
            erase_interactions(conn, ids)
            out[account] = len(ids)
    return out


class RetentionWorker:
    """Purges expired data at start and then every `every` seconds (a ``Services`` worker)."""

    def __init__(
        self, sql: sa.Engine, *, clock: Callable[[], float] = time.time, every: float = 3600.0
    ) -> None:
        self.sql = sql
        self.clock = clock
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self.last: dict[str, int] = {}

    def run_once(self) -> dict[str, int]:
        with self.sql.begin() as conn:
            self.last = purge_expired(conn, self.clock())
        if self.last:
            log.info("retention: purged %s", ", ".join(f"{n} of {a}" for a, n in sorted(self.last.items())))
        return self.last

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="centrale-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:  # a database hiccup: try again next time
                log.exception("retention purge failed")
            await asyncio.sleep(self.every)
