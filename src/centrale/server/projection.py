"""Read models: the interactions table and each interaction's timeline, kept by the writer.

The event log is the truth, but nobody searches a log. After every tick the projector turns the
tick's events and commands into rows — one row per interaction (its current state, agent,
disposition, notes, times) and one timeline row per thing that happened to it — and writes them
in the same transaction as the events (:meth:`Projector.in_transaction`), so the read models are
exactly as current as the log and survive a crash with it.

Account and channel come from the engine's queue configuration at the moment of arrival; segments
created by a transfer or an overflow inherit the contact and attributes of the segment they
continue.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from centrale.core import commands as C
from centrale.core import events as E
from centrale.core.engine import Engine
from centrale.server.writer import Batch, Listener
from centrale.storage import codec, schema
from centrale.storage.db import dialect_insert
from centrale.storage.schema import interactions, timeline

# Event types that only name an interaction and go to its timeline under this kind.
_EVENT_KINDS: dict[type, str] = {
    E.CustomerAbandoned: "abandoned",
    E.OfferAccepted: "accepted",
    E.OfferRejected: "rejected",
    E.InteractionEnded: "ended",
    E.HoldStarted: "held",
    E.HoldEnded: "resumed",
    E.CallbackAccepted: "callback_accepted",
}


class Projector(Listener):
    """Keeps `interactions` and `timeline` in step with the log, inside the batch's transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def in_transaction(self, conn: sa.Connection, batch: Batch) -> None:
        inserts: list[dict[str, Any]] = []
        inserted: dict[str, dict[str, Any]] = {}
        updates: dict[str, dict[str, Any]] = {}
        lines: list[dict[str, Any]] = []
        engine = self.engine

        def change(ix: str, **values: Any) -> None:
            row = inserted.get(ix)
            if row is not None:
                row.update(values)
            else:
                updates.setdefault(ix, {}).update(values)

        # Where the timeline rows of the current event go: its seq and time, and the next position.
        cursor: dict[str, Any] = {"seq": 0, "at": 0.0, "pos": 0}

        def line(ix: str, kind: str, detail: dict[str, Any] | None = None) -> None:
            lines.append(
                {
                    "interaction": ix,
                    "seq": cursor["seq"],
                    "pos": cursor["pos"],
                    "at": cursor["at"],
                    "kind": kind,
                    "detail": detail or {},
                }
            )
            cursor["pos"] += 1

        for applied in batch.applied:
            seq, at, event = applied.entry
            cursor.update(seq=seq, at=at, pos=0)
            et = type(event)
            if isinstance(event, E.InteractionArrived):
                queue = engine.queues.get(event.queue)
                cfg = queue.config if queue is not None else None
                row = {
                    "id": event.interaction,
                    "account": cfg.account if cfg else "",
                    "queue": event.queue,
                    "channel": cfg.channel if cfg else "voice",
                    "direction": event.direction or (cfg.direction if cfg else "inbound"),
                    "contact": event.contact,
                    "parent": None,
                    "state": "queued",
                    "arrived": at,
                    "answered": None,
                    "ended": None,
                    "agent": None,
                    "disposition": None,
                    "notes": "",
                    "attributes": dict(event.attributes or {}),
                    "updated_seq": seq,
                }
                inserts.append(row)
                inserted[event.interaction] = row
                line(event.interaction, "arrived", {"queue": event.queue, "contact": event.contact})
            elif et in _EVENT_KINDS:
                ev: Any = event
                detail = {"agent": ev.agent} if hasattr(ev, "agent") else {}
                line(ev.interaction, _EVENT_KINDS[et], detail)
            elif isinstance(event, (E.DispositionSet, E.WrapUpCompleted)):
                detail = {"disposition": event.disposition, "notes": event.notes, "fields": event.fields}
                line(
                    event.interaction,
                    "registered" if isinstance(event, E.DispositionSet) else "wrap_up_completed",
                    detail,
                )
                values: dict[str, Any] = {"updated_seq": seq}
                if event.disposition is not None:
                    values["disposition"] = event.disposition
                if event.notes is not None:
                    values["notes"] = event.notes
                change(event.interaction, **values)
            elif isinstance(event, E.TransferToQueue):
                line(event.interaction, "transfer", {"queue": event.queue})
            elif isinstance(event, E.TransferToAgent):
                line(event.interaction, "transfer", {"agent": event.agent})

            for command in applied.commands:
                if isinstance(command, C.Offer):
                    line(command.interaction, "offered", {"agent": command.agent})
                    change(command.interaction, state="offered", agent=command.agent, updated_seq=seq)
                elif isinstance(command, C.RevokeOffer):
                    line(command.interaction, "offer_revoked", {"agent": command.agent})
                    change(command.interaction, state="queued", agent=None, updated_seq=seq)
                elif isinstance(command, C.Connect):
                    line(command.interaction, "connected", {"agent": command.agent})
                    change(
                        command.interaction,
                        state="connected",
                        agent=command.agent,
                        answered=at,
                        updated_seq=seq,
                    )
                elif isinstance(command, C.WrapUpStarted):
                    line(command.interaction, "wrap_up", {"agent": command.agent, "mode": command.mode})
                    change(command.interaction, state="wrap_up", updated_seq=seq)
                elif isinstance(command, C.OfferCallback):
                    line(command.interaction, "callback_offered")
                elif isinstance(command, C.SendToVoicemail):
                    line(command.interaction, "voicemail")
                elif isinstance(command, C.InteractionQueued):
                    if command.parent is not None and command.interaction not in inserted:
                        row = self._segment(conn, command, inserted, at, seq)
                        inserts.append(row)
                        inserted[command.interaction] = row
                        line(
                            command.interaction, "arrived", {"queue": command.queue, "parent": command.parent}
                        )
                elif isinstance(command, C.InteractionFinished):
                    line(
                        command.interaction,
                        "finished",
                        {"outcome": command.outcome, "reason": command.reason, "agent": command.agent},
                    )
                    values = {"state": command.outcome, "ended": at, "updated_seq": seq}
                    if command.agent is not None:
                        values["agent"] = command.agent
                    if command.disposition is not None:
                        values["disposition"] = command.disposition
                    if command.notes:
                        values["notes"] = command.notes
                    change(command.interaction, **values)
            if isinstance(event, E.HoldStarted):
                change(event.interaction, state="held", updated_seq=seq)
            elif isinstance(event, E.HoldEnded):
                change(event.interaction, state="connected", updated_seq=seq)

        if inserts:
            # An id may come back after its interaction finished (an integration reusing ids): the
            # new contact replaces the old row rather than failing the batch and stopping the writer.
            conn.execute(_insert_or_replace(conn, interactions, "id"), inserts)
        # One executemany per set of changed columns (a handful per tick), not one statement per row.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for ix, values in updates.items():
            groups.setdefault(tuple(sorted(values)), []).append({"_id": ix, **values})
        for columns, rows in groups.items():
            conn.execute(_update_columns(columns), rows)
        if lines:
            conn.execute(timeline.insert(), lines)

    def _segment(
        self,
        conn: sa.Connection,
        cmd: C.InteractionQueued,
        inserted: dict[str, dict[str, Any]],
        at: float,
        seq: int,
    ) -> dict[str, Any]:
        """A transfer or overflow segment: a new row that inherits its parent's customer data."""
        parent: dict[str, Any] | None = inserted.get(cmd.parent or "")
        if parent is None:
            found = (
                conn.execute(sa.select(interactions).where(interactions.c.id == cmd.parent))
                .mappings()
                .first()
            )
            parent = dict(found) if found is not None else None
        queue = self.engine.queues.get(cmd.queue)
        cfg = queue.config if queue is not None else None
        return {
            "id": cmd.interaction,
            "account": cfg.account if cfg else (parent or {}).get("account", ""),
            "queue": cmd.queue,
            "channel": cfg.channel if cfg else (parent or {}).get("channel", "voice"),
            "direction": (parent or {}).get("direction", "inbound"),
            "contact": (parent or {}).get("contact"),
            "parent": cmd.parent,
            "state": "queued",
            "arrived": at,
            "answered": None,
            "ended": None,
            "agent": None,
            "disposition": None,
            "notes": "",
            "attributes": (parent or {}).get("attributes") or {},
            "updated_seq": seq,
        }


class ConfigProjector(Listener):
    """Keeps the configuration tables (accounts, queues, agents, dispositions) in step with the
    configuration events of the log, in the batch's transaction. The engine holds the configuration
    that counts; these tables let SQL (reports, exports, foreign keys of users) see it too."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def in_transaction(self, conn: sa.Connection, batch: Batch) -> None:
        for applied in batch.applied:
            event = applied.entry.event
            if type(event) not in _CONFIG_EVENTS:
                continue  # nearly every event: skip it at the cost of one set look-up
            if isinstance(event, E.AccountConfigured):
                a = event.account
                _upsert(conn, schema.accounts, {"id": a.id, "name": a.name}, "id")
            elif isinstance(event, E.QueueConfigured):
                q = event.config
                _, payload = codec.encode(event)
                settings = {
                    k: v
                    for k, v in payload["config"].items()
                    if k not in ("id", "account", "channel", "name", "direction", "requires")
                }
                _upsert(
                    conn,
                    schema.queues,
                    {
                        "id": q.id,
                        "account": q.account,
                        "channel": q.channel,
                        "name": q.name,
                        "direction": q.direction,
                        "requires": q.requires.text,
                        "settings": settings,
                    },
                    "id",
                )
            elif isinstance(event, E.QueueRemoved):
                conn.execute(schema.queues.delete().where(schema.queues.c.id == event.queue))
            elif isinstance(event, E.DispositionConfigured):
                d = event.disposition
                _upsert(
                    conn,
                    schema.dispositions,
                    {"code": d.code, "label": d.label, "category": d.category, "account": d.account},
                    "code",
                )
            elif isinstance(event, E.DispositionRemoved):
                conn.execute(schema.dispositions.delete().where(schema.dispositions.c.code == event.code))
            elif isinstance(event, (E.AgentAdded, E.AgentUpdated)):
                c = event.config
                _upsert(
                    conn,
                    schema.agents,
                    {
                        "id": c.id,
                        "account": c.account,
                        "name": c.name,
                        "team": c.team,
                        "site": c.site,
                        "skills": dict(c.skills),
                        "capacity": dict(c.capacity),
                        "settings": {},
                    },
                    "id",
                )
            elif isinstance(event, E.AgentSkillsChanged):
                conn.execute(
                    schema.agents.update()
                    .where(schema.agents.c.id == event.agent)
                    .values(skills=dict(event.skills))
                )
            elif isinstance(event, E.AgentRemoved):
                conn.execute(
                    schema.users.update().where(schema.users.c.agent == event.agent).values(agent=None)
                )
                conn.execute(schema.agents.delete().where(schema.agents.c.id == event.agent))


_CONFIG_EVENTS = frozenset(
    {
        E.AccountConfigured,
        E.QueueConfigured,
        E.QueueRemoved,
        E.DispositionConfigured,
        E.DispositionRemoved,
        E.AgentAdded,
        E.AgentUpdated,
        E.AgentSkillsChanged,
        E.AgentRemoved,
    }
)


def _insert_or_replace(conn: sa.Connection, table: sa.Table, key: str) -> Any:
    """An INSERT that replaces the row with the same `key`."""
    return _insert_or_replace_for(conn.dialect.name, table, key)


# Statements are immutable and the same few are built on every tick: build each once (building an
# upsert with its `excluded` columns cost more than executing it on a quiet server).
@functools.cache
def _insert_or_replace_for(dialect: str, table: sa.Table, key: str) -> Any:
    stmt = dialect_insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != key}
    )


@functools.cache
def _update_columns(columns: tuple[str, ...]) -> Any:
    """UPDATE interactions SET <columns> WHERE id = :_id, for executemany."""
    return (
        interactions.update()
        .where(interactions.c.id == sa.bindparam("_id"))
        .values({c: sa.bindparam(c) for c in columns})
    )


def _upsert(conn: sa.Connection, table: sa.Table, row: dict[str, Any], key: str) -> None:
    """Insert `row`, or update the given columns of the row with the same `key`."""
    stmt = dialect_insert(conn, table).values(**row)
    changes = {k: v for k, v in row.items() if k != key}
    conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=changes))
