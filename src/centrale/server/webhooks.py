"""Webhooks: signed HTTP notifications to external systems (a CRM, a ticketing tool), retried.

Theory of operation
-------------------
An integrator subscribes a URL to some of the :data:`WEBHOOK_KINDS` (or to ``"*"``: all of them),
optionally for one account only (:class:`WebhookStore`). Three pieces then work together:

1. **The outbox** — :class:`WebhookListener` is a writer :class:`~centrale.server.writer.Listener`.
   Inside each event batch's transaction it turns the batch's events and commands into one
   ``webhook_deliveries`` row (status ``pending``, due now) per subscribed, active webhook and
   matching item. The deliveries are therefore stored with the events or not at all: a crash
   never loses a notification for something that was stored, nor sends one for something that
   was not. The active subscriptions are cached in memory and reloaded only when the store says
   they changed (:attr:`WebhookStore.version`), so a batch nobody subscribed to costs nothing.
2. **The sender** — :class:`WebhookSender` is an asyncio worker that picks due deliveries (in
   ``id`` order, a bounded number at a time), POSTs them, and records the outcome: ``delivered``
   on a 2xx answer; otherwise the attempt is counted, ``last_error`` says why in one line
   (``HTTP 500``, ``timeout after 5 s``, ``connection refused``) and the next attempt is scheduled
   with exponential backoff (10 s, 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min, then hourly, each
   ±10 % jitter) until ``max_attempts`` (8: about two hours), after which the delivery is
   ``failed`` (logged once, as a warning). Redirects are not followed (a 3xx is a failure).
3. **The receiver** verifies each request's signature (below) and answers 2xx quickly.

Delivery is **at least once**: if the process stops between a receiver's 2xx and the database
update, the delivery is sent again after the restart. ``X-Centrale-Delivery`` (the same as the
body's ``id``) is stable across retries; receivers de-duplicate on it.

Order
-----
Deliveries of one webhook are sent **in order, one at a time**: while a delivery of a webhook
waits for a retry, the later deliveries of that webhook wait behind it, until it is delivered or
has failed for good. A CRM thus never sees ``interaction.finished`` before ``interaction.queued``,
and an endpoint that is down receives one request per backoff step, not one per waiting delivery;
when it comes back the backlog drains in order at once. The price is head-of-line blocking: an
endpoint that stays down for longer than the backoff schedule gives each held-back delivery a
schedule of its own in turn — deactivate such a webhook (its deliveries stay pending and resume
when it is activated again). Changing a webhook's URL makes its waiting delivery due at once, and
:meth:`WebhookStore.retry` sends a failed one again. Different webhooks do not wait for each other.

Request and signature
---------------------
Each attempt is ``POST <url>`` with the JSON body::

    {"id": "<delivery id>", "kind": "interaction.finished", "seq": <event seq>,
     "at": <event time, epoch seconds>, "account": "<account id>" or null, "data": {...}}

and the headers::

    Content-Type: application/json
    X-Centrale-Event: interaction.finished
    X-Centrale-Delivery: <delivery id>
    X-Centrale-Timestamp: <unix seconds of this attempt>
    X-Centrale-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The key is the webhook's secret exactly as handed out by :meth:`WebhookStore.create` (its UTF-8
bytes, ``whsec_`` prefix included); the message is the timestamp header's value, a dot, and the
body's raw bytes. To verify, a receiver:

1. reads the raw body bytes *before* parsing the JSON (re-serialising changes them);
2. computes ``HMAC-SHA256(secret, timestamp + "." + body)`` and compares its hex digest with the
   header's value after ``sha256=`` in constant time (``hmac.compare_digest``);
3. rejects the request if the timestamp is more than 5 minutes from its own clock, so that a
   captured request cannot be replayed later (each retry is signed afresh with a new timestamp).

:func:`verify_signature` does all three; in Python::

    ok = verify_signature(secret, request.headers["X-Centrale-Timestamp"], raw_body,
                          request.headers["X-Centrale-Signature"], now=time.time())

After :meth:`WebhookStore.rotate_secret` every later attempt is signed with the new secret only.

Operation
---------
One sender per database (the live server's). Its database work is short, indexed statements
run on the event loop, like the writer's, so the two never contend for SQLite's write lock. The
sender never stops on bad data (a payload it cannot send fails that delivery) and never on
database errors (logged; it tries again a poll interval later).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import math
import random
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from centrale.core import commands as C
from centrale.core import events as E
from centrale.core.engine import Engine
from centrale.server.writer import Batch, Listener
from centrale.storage.db import describe_failure
from centrale.storage.schema import webhook_deliveries, webhooks

log = logging.getLogger("centrale.webhooks")

Clock = Callable[[], float]

ALL_KINDS: Final = "*"
PENDING: Final = "pending"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
DEFAULT_BACKOFF: Final[tuple[float, ...]] = (10.0, 30.0, 90.0, 270.0, 810.0, 2430.0, 3600.0)
"""Seconds to wait after the 1st, 2nd, … failed attempt; the last value repeats."""
SIGNATURE_TOLERANCE: Final = 300.0
MAX_URL_LENGTH: Final = 2000
_MAX_ERROR_LENGTH = 300
_MAX_RESPONSE_BYTES = 64 * 1024


# === kinds and payloads ==============================================================================


class _Context:
    """What a payload builder may look at: the engine (state after the batch), the applied event and
    its commands, and the listener's memory of which account each interaction belongs to."""

    __slots__ = ("accounts", "commands", "engine", "event")

    def __init__(self, engine: Engine, accounts: _AccountMemory) -> None:
        self.engine = engine
        self.accounts = accounts
        self.event: object = None
        self.commands: Sequence[object] = ()

    def queue_account(self, queue: str | None) -> str | None:
        q = self.engine.queues.get(queue) if queue is not None else None
        return q.config.account if q is not None else None

    def interaction_account(self, interaction: str, queue: str | None = None) -> str | None:
        account = self.queue_account(queue)
        if account is not None:
            return account
        ix = self.engine.interactions.get(interaction)
        if ix is not None:
            return ix.account
        return self.accounts.get(interaction)

    def agent_account(self, agent: str | None) -> str | None:
        a = self.engine.agents.get(agent) if agent is not None else None
        return a.account if a is not None else None

    def finished(self, interaction: str) -> C.InteractionFinished | None:
        """The InteractionFinished command of `interaction` among the current event's commands."""
        for command in self.commands:
            if type(command) is C.InteractionFinished and command.interaction == interaction:
                return command
        return None


Built = tuple[str | None, dict[str, Any]]
"""A builder's result: the account the item belongs to (None: unknown) and the payload's `data`."""
Builder = Callable[[Any, _Context], Built | None]


def _queued(cmd: C.InteractionQueued, ctx: _Context) -> Built:
    engine = ctx.engine
    ix = engine.interactions.get(cmd.interaction)
    q = engine.queues.get(cmd.queue)
    cfg = q.config if q is not None else None
    ev = ctx.event
    arrival = (
        ev if type(ev) is E.InteractionArrived and ev.interaction in (cmd.interaction, cmd.parent) else None
    )
    own = arrival if arrival is not None and arrival.interaction == cmd.interaction else None
    contact = arrival.contact if arrival is not None else (ix.contact if ix is not None else None)
    attributes: dict[str, Any] = {}
    if arrival is not None and arrival.attributes:
        attributes = dict(arrival.attributes)
    elif ix is not None:
        attributes = dict(ix.attributes)
    priority: int | None
    if own is not None and own.priority is not None:
        priority = own.priority
    else:
        priority = ix.priority if ix is not None else (cfg.priority if cfg is not None else None)
    direction: str | None
    if ix is not None:
        direction = ix.direction
    else:
        direction = (own.direction if own is not None else None) or (
            cfg.direction if cfg is not None else None
        )
    data = {
        "interaction": cmd.interaction,
        "queue": cmd.queue,
        "parent": cmd.parent,
        "channel": ix.channel if ix is not None else (cfg.channel if cfg else None),
        "direction": direction,
        "priority": priority,
        "contact": contact,
        "attributes": attributes,
    }
    return ctx.interaction_account(cmd.interaction, cmd.queue), data


def _offered(cmd: C.Offer, ctx: _Context) -> Built:
    ix = ctx.engine.interactions.get(cmd.interaction)
    data = {
        "interaction": cmd.interaction,
        "agent": cmd.agent,
        "channel": cmd.channel,
        "queue": ix.queue if ix is not None else None,
        "timeout": cmd.timeout,
    }
    account = ctx.interaction_account(cmd.interaction) or ctx.agent_account(cmd.agent)
    return account, data


def _connected(cmd: C.Connect, ctx: _Context) -> Built:
    data = {"interaction": cmd.interaction, "agent": cmd.agent, "channel": cmd.channel, "queue": cmd.queue}
    return ctx.interaction_account(cmd.interaction, cmd.queue), data


def _finished(cmd: C.InteractionFinished, ctx: _Context) -> Built:
    data = {
        "interaction": cmd.interaction,
        "queue": cmd.queue,
        "outcome": cmd.outcome,
        "reason": cmd.reason,
        "agent": cmd.agent,
        "disposition": cmd.disposition,
        "notes": cmd.notes,
    }
    return ctx.interaction_account(cmd.interaction, cmd.queue), data


def _registered(ev: E.DispositionSet | E.WrapUpCompleted, ctx: _Context) -> Built | None:
    completed = type(ev) is E.WrapUpCompleted
    if completed and ev.disposition is None and ev.notes is None and not ev.fields:
        return None  # wrap-up ended without registering anything
    ix = ctx.engine.interactions.get(ev.interaction)
    finished = ctx.finished(ev.interaction) if ix is None else None
    queue = ix.queue if ix is not None else (finished.queue if finished is not None else None)
    data = {
        "interaction": ev.interaction,
        "queue": queue,
        "agent": ix.agent if ix is not None else (finished.agent if finished is not None else None),
        "disposition": ev.disposition,
        "notes": ev.notes,
        "fields": dict(ev.fields) if ev.fields else {},
        "wrap_up_completed": completed,
    }
    return ctx.interaction_account(ev.interaction, queue), data


def _agent_state(cmd: C.AgentStateChanged, ctx: _Context) -> Built:
    data = {"agent": cmd.agent, "state": cmd.state, "reason": cmd.reason, "since": cmd.at}
    return ctx.agent_account(cmd.agent), data


@dataclass(frozen=True, slots=True)
class WebhookKind:
    """A kind of notification: its stable dotted name, what it means, and the engine events or
    commands it is built from (type → builder of ``(account, data)``, or None to skip one)."""

    name: str
    description: str
    sources: Mapping[type, Builder]


def _kinds(*kinds: WebhookKind) -> Mapping[str, WebhookKind]:
    return MappingProxyType({k.name: k for k in kinds})


WEBHOOK_KINDS: Final[Mapping[str, WebhookKind]] = _kinds(
    WebhookKind(
        "interaction.queued",
        "An interaction entered a queue: a new arrival, or a transfer or overflow segment (parent set). "
        "data: interaction, queue, parent, channel, direction, priority, contact, attributes.",
        {C.InteractionQueued: _queued},
    ),
    WebhookKind(
        "interaction.offered",
        "An interaction is offered to an agent (the phone rings). "
        "data: interaction, agent, channel, queue, timeout.",
        {C.Offer: _offered},
    ),
    WebhookKind(
        "interaction.connected",
        "The agent accepted: customer and agent are connected. data: interaction, agent, channel, queue.",
        {C.Connect: _connected},
    ),
    WebhookKind(
        "interaction.finished",
        "An interaction reached its outcome (handled, abandoned, overflowed, expired, …). "
        "data: interaction, queue, outcome, reason, agent, disposition, notes.",
        {C.InteractionFinished: _finished},
    ),
    WebhookKind(
        "interaction.registered",
        "The agent registered a disposition, notes or custom fields, during the conversation or when "
        "ending wrap-up. data: interaction, queue, agent, disposition, notes, fields, wrap_up_completed.",
        {E.DispositionSet: _registered, E.WrapUpCompleted: _registered},
    ),
    WebhookKind(
        "agent.state_changed",
        "An agent's state changed (logged_out, ready, reserved, busy, wrap_up, not_ready). "
        "data: agent, state, reason, since.",
        {C.AgentStateChanged: _agent_state},
    ),
)
"""Every kind an integrator can subscribe to, by name. Names are part of the public API: stable."""

_SOURCES: dict[type, tuple[tuple[str, Builder], ...]] = {}
for _kind in WEBHOOK_KINDS.values():
    for _type, _builder in _kind.sources.items():
        _SOURCES[_type] = (*_SOURCES.get(_type, ()), (_kind.name, _builder))
del _kind, _type, _builder


# === signatures =====================================================================================


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The ``X-Centrale-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``f"{timestamp}.{body}"``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + raw, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    header: str,
    *,
    now: float,
    tolerance: float = SIGNATURE_TOLERANCE,
) -> bool:
    """Whether `header` (``X-Centrale-Signature``) signs `body` at `timestamp` with `secret`, and the
    timestamp is within `tolerance` seconds of `now`. Never raises on malformed input."""
    try:
        ts = int(str(timestamp).strip())
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    except (TypeError, ValueError, UnicodeError):
        return False
    if not math.isfinite(now) or abs(now - ts) > tolerance:
        return False
    expected = sign(secret, ts, raw).encode("ascii")
    ok = False
    for candidate in str(header).replace(",", " ").split():
        # Several signatures may be sent (a future overlap of old and new secret): one must match.
        ok |= hmac.compare_digest(expected, candidate.strip().encode("utf-8", "replace"))
    return ok


# === the store ======================================================================================


class WebhookError(ValueError):
    """A webhook definition that cannot be accepted (bad URL, unknown event kind, …)."""


class WebhookNotFound(LookupError):
    """No webhook with that id."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription, as shown to administrators (the secret is shown only on create/rotate)."""

    id: str
    account: str | None
    url: str
    events: tuple[str, ...]
    active: bool
    created: float

    def subscribes(self, kind: str) -> bool:
        return ALL_KINDS in self.events or kind in self.events

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account": self.account,
            "url": self.url,
            "events": list(self.events),
            "active": self.active,
            "created": self.created,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification to one webhook and where it stands."""

    id: int
    webhook: str
    kind: str
    status: str  # pending, delivered, failed
    attempts: int
    next_attempt: float
    last_error: str
    created: float
    payload: Any  # the body sent (with its "id"); whatever is stored if it is not an object

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook": self.webhook,
            "kind": self.kind,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt": self.next_attempt,
            "last_error": self.last_error,
            "created": self.created,
            "payload": self.payload,
        }


WebhookList = list[Webhook]
DeliveryList = list[Delivery]


def validate_url(url: object) -> str:
    """`url` stripped, if it is an absolute http(s) URL with a host; else :class:`WebhookError`."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookError("url: required")
    text = url.strip()
    if len(text) > MAX_URL_LENGTH:
        raise WebhookError(f"url: longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise WebhookError("url: must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not a number in 0–65535
    except ValueError as exc:
        raise WebhookError(f"url: not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise WebhookError("url: must start with http:// or https://")
    if not parts.hostname:
        raise WebhookError("url: must name a host")
    if port == 0:
        raise WebhookError("url: port 0 is not a valid port")
    return text


def validate_events(events: object) -> tuple[str, ...]:
    """The subscribed kinds, de-duplicated in order: known kinds, or ``["*"]`` alone."""
    if isinstance(events, str) or not isinstance(events, Iterable):
        raise WebhookError('events: a list of event kinds, or ["*"]')
    kinds: list[str] = []
    for kind in events:
        if not isinstance(kind, str):
            raise WebhookError(f"events: {kind!r} is not an event kind")
        if kind != ALL_KINDS and kind not in WEBHOOK_KINDS:
            raise WebhookError(f"events: unknown kind {kind!r}; known: {', '.join(WEBHOOK_KINDS)}")
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        raise WebhookError('events: subscribe to at least one kind (or ["*"] for all)')
    if ALL_KINDS in kinds and len(kinds) > 1:
        raise WebhookError('events: "*" already means every kind; give it alone')
    return tuple(kinds)


def _validate_account(account: object) -> str | None:
    if account is None:
        return None
    if not isinstance(account, str) or not account.strip():
        raise WebhookError("account: a non-empty account id, or null for every account")
    return account


def _parse_events(value: object) -> tuple[str, ...]:
    """Stored `events` (JSON text or already decoded), leniently: anything unreadable subscribes to
    nothing rather than failing."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    if not isinstance(value, list):
        return ()
    return tuple(k for k in value if isinstance(k, str))


def _parse_payload(value: object, delivery: int) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {"id": str(delivery), **value}
    return value


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookStore:
    """Webhook subscriptions (table ``webhooks``) and their deliveries (``webhook_deliveries``).

    Every change bumps :attr:`version`, which :class:`WebhookListener` watches to reload its cached
    subscriptions; a change made to the table some other way must call :meth:`invalidate`. The
    store is also where listener and sender meet: a :class:`WebhookSender` made from the store is
    woken whenever the listener has stored deliveries (:meth:`deliveries_written`).

    URLs are not limited to public addresses — a CRM on the local network is the normal case —
    so creating and changing webhooks must stay an administrator's right (``config.write``).
    """

    def __init__(self, sql: sa.Engine, clock: Clock = time.time) -> None:
        self.sql = sql
        self.clock = clock
        self.version = 0
        self._wakers: list[Callable[[Iterable[str] | None], None]] = []

    def invalidate(self) -> None:
        """Tell the listener the subscriptions changed (done by every method that changes them)."""
        self.version += 1

    def on_deliveries(self, wake: Callable[[Iterable[str] | None], None]) -> None:
        """Call `wake(webhook ids)` whenever deliveries were stored (None: look at all of them)."""
        self._wakers.append(wake)

    def deliveries_written(self, webhook_ids: Iterable[str] | None = None) -> None:
        """Deliveries for `webhook_ids` were stored (or made due again): wake the senders."""
        ids = None if webhook_ids is None else frozenset(webhook_ids)
        for wake in self._wakers:
            wake(ids)

    # --- subscriptions -----------------------------------------------------------------------------
    def create(
        self, url: str, events: Iterable[str], account: str | None = None, *, active: bool = True
    ) -> tuple[str, str]:
        """A new webhook; returns ``(id, secret)``. The secret is shown this once (or on rotation)."""
        webhook_id, secret = "wh_" + secrets.token_hex(8), _new_secret()
        row = {
            "id": webhook_id,
            "account": _validate_account(account),
            "url": validate_url(url),
            "secret": secret,
            "events": list(validate_events(events)),
            "active": bool(active),
            "created": float(self.clock()),
        }
        with self.sql.begin() as conn:
            conn.execute(webhooks.insert().values(**row))
        self.invalidate()
        return webhook_id, secret

    def list(self, account_filter: Collection[str] | None = None) -> WebhookList:
        """Webhooks in creation order. `account_filter` (a principal's ``account_filter()``): None
        for all of them; else only those of the given accounts (not the ones for every account)."""
        stmt = self._select().order_by(webhooks.c.created, webhooks.c.id)
        if account_filter is not None:
            stmt = stmt.where(webhooks.c.account.in_(sorted(account_filter)))
        with self.sql.connect() as conn:
            return [self._webhook(r) for r in conn.execute(stmt)]

    def get(self, webhook_id: str) -> Webhook | None:
        with self.sql.connect() as conn:
            row = conn.execute(self._select().where(webhooks.c.id == webhook_id)).first()
        return None if row is None else self._webhook(row)

    def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: Iterable[str] | None = None,
        active: bool | None = None,
    ) -> Webhook:
        """Change the URL, the subscribed kinds and/or whether it is active; returns the result.
        Pending deliveries keep their kind but go to the new URL; a new URL is tried at once (a
        delivery waiting for a retry is due now). Raises :class:`WebhookNotFound`."""
        values: dict[str, Any] = {}
        if url is not None:
            values["url"] = validate_url(url)
        if events is not None:
            values["events"] = list(validate_events(events))
        if active is not None:
            values["active"] = bool(active)
        d = webhook_deliveries
        with self.sql.begin() as conn:
            if values:
                found = conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(**values))
                missing = found.rowcount == 0
            else:
                missing = (
                    conn.execute(sa.select(webhooks.c.id).where(webhooks.c.id == webhook_id)).first() is None
                )
            if url is not None and not missing:
                now = float(self.clock())
                conn.execute(
                    d.update()
                    .where(d.c.webhook == webhook_id, d.c.status == PENDING, d.c.next_attempt > now)
                    .values(next_attempt=now)
                )
        if missing:
            raise WebhookNotFound(webhook_id)
        self.invalidate()
        if active or url is not None:
            self.deliveries_written()  # its waiting or held deliveries may go now
        result = self.get(webhook_id)
        if result is None:  # deleted in between
            raise WebhookNotFound(webhook_id)
        return result

    def delete(self, webhook_id: str) -> bool:
        """Remove a webhook and all its deliveries; False if there was none."""
        with self.sql.begin() as conn:
            conn.execute(webhook_deliveries.delete().where(webhook_deliveries.c.webhook == webhook_id))
            gone = conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id)).rowcount > 0
        self.invalidate()
        return gone

    def rotate_secret(self, webhook_id: str) -> str:
        """A new secret for the webhook (returned); every later attempt is signed with it."""
        secret = _new_secret()
        with self.sql.begin() as conn:
            result = conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(secret=secret))
        if result.rowcount == 0:
            raise WebhookNotFound(webhook_id)
        self.invalidate()
        return secret

    # --- deliveries ---------------------------------------------------------------------------------
    def deliveries(
        self, webhook_id: str, *, limit: int = 50, status: str | None = None, before: int | None = None
    ) -> DeliveryList:
        """The webhook's deliveries, newest first: at most `limit`, optionally only one `status`,
        and only ids below `before` (to page on)."""
        d = webhook_deliveries
        stmt = (
            sa.select(
                d.c.id,
                d.c.webhook,
                d.c.kind,
                d.c.status,
                d.c.attempts,
                d.c.next_attempt,
                d.c.last_error,
                d.c.created,
                sa.cast(d.c.payload, sa.Text),
            )
            .where(d.c.webhook == webhook_id)
            .order_by(d.c.id.desc())
            .limit(max(1, min(int(limit), 1000)))
        )
        if status is not None:
            stmt = stmt.where(d.c.status == status)
        if before is not None:
            stmt = stmt.where(d.c.id < before)
        with self.sql.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            Delivery(
                id=int(r[0]),
                webhook=r[1],
                kind=r[2],
                status=r[3],
                attempts=int(r[4]),
                next_attempt=float(r[5]),
                last_error=r[6],
                created=float(r[7]),
                payload=_parse_payload(r[8], int(r[0])),
            )
            for r in rows
        ]

    def retry(self, delivery_id: int) -> bool:
        """Send a failed delivery again (as pending, due now, attempts reset); False if it is not
        a failed delivery. It goes out ahead of the webhook's later pending deliveries."""
        d = webhook_deliveries
        with self.sql.begin() as conn:
            result = conn.execute(
                d.update()
                .where(d.c.id == delivery_id, d.c.status == FAILED)
                .values(status=PENDING, attempts=0, next_attempt=float(self.clock()))
            )
        if result.rowcount > 0:
            self.deliveries_written()
            return True
        return False

    def purge_deliveries(self, older_than: float) -> int:
        """Delete delivered and failed deliveries created before `older_than`; returns how many."""
        d = webhook_deliveries
        with self.sql.begin() as conn:
            result = conn.execute(d.delete().where(d.c.status != PENDING, d.c.created < older_than))
        return int(result.rowcount)

    # --- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def _select() -> sa.Select[Any]:
        w = webhooks
        return sa.select(w.c.id, w.c.account, w.c.url, sa.cast(w.c.events, sa.Text), w.c.active, w.c.created)

    @staticmethod
    def _webhook(row: Sequence[Any]) -> Webhook:
        return Webhook(
            id=row[0],
            account=row[1],
            url=row[2],
            events=_parse_events(row[3]),
            active=bool(row[4]),
            created=float(row[5]),
        )


# === the outbox: deliveries written with the events ===============================================


class _AccountMemory:
    """Interaction → account, learnt from arrivals: open interactions, plus the most recently
    finished ones so that anything still said about them resolves."""

    def __init__(self, keep_finished: int = 4096) -> None:
        self.open: dict[str, str] = {}
        self.finished: OrderedDict[str, str] = OrderedDict()
        self.keep_finished = keep_finished

    def get(self, interaction: str) -> str | None:
        return self.open.get(interaction) or self.finished.get(interaction)

    def learn(self, interaction: str, account: str | None) -> None:
        if account is not None:
            self.open[interaction] = account

    def finish(self, interaction: str) -> None:
        account = self.open.pop(interaction, None)
        if account is not None:
            self.finished[interaction] = account
            if len(self.finished) > self.keep_finished:
                self.finished.popitem(last=False)


@dataclass(frozen=True, slots=True)
class _Subscription:
    id: str
    account: str | None
    kinds: frozenset[str] | None  # None: every kind


class WebhookListener(Listener):
    """Writes the deliveries a batch calls for inside the batch's transaction (the outbox), then
    wakes the sender. See the module docstring.

    ``interaction.queued``, ``interaction.finished`` and ``agent.state_changed`` are built from the
    engine's notifications: the engine must run with ``notify=True`` (its default)."""

    def __init__(
        self,
        engine: Engine,
        store: WebhookStore,
        *,
        sender: WebhookSender | None = None,
        clock: Clock | None = None,
        refresh_every: float | None = 60.0,
    ) -> None:
        """`engine` is the writer's (for accounts and interaction details); `store` says when the
        subscriptions change; `sender` is woken after a batch that stored deliveries; `clock`
        stamps the rows (default: the store's); subscriptions are also reloaded at least every
        `refresh_every` seconds, to pick up changes made by another process (None: never).
        Without `sender`, the senders made from `store` are woken."""
        self.engine = engine
        self.store = store
        self.sender = sender
        self.clock = clock or store.clock
        self.refresh_every = refresh_every
        self._subscriptions: list[_Subscription] = []
        self._every_kind = False
        self._kinds: frozenset[str] = frozenset()
        self._version: int | None = None
        self._loaded_at = -math.inf
        self._accounts = _AccountMemory()
        self._woken: set[str] = set()

    @property
    def subscriptions(self) -> int:
        """How many active webhooks the cache holds."""
        return len(self._subscriptions)

    def _load(self, conn: sa.Connection) -> None:
        version = self.store.version
        rows = conn.execute(
            sa.select(webhooks.c.id, webhooks.c.account, sa.cast(webhooks.c.events, sa.Text))
            .where(webhooks.c.active)
            .order_by(webhooks.c.created, webhooks.c.id)
        ).all()
        subscriptions: list[_Subscription] = []
        for webhook_id, account, events_text in rows:
            events = _parse_events(events_text)
            kinds = None if ALL_KINDS in events else frozenset(k for k in events if k in WEBHOOK_KINDS)
            if kinds is not None and not kinds:
                continue
            subscriptions.append(_Subscription(webhook_id, account, kinds))
        self._subscriptions = subscriptions
        self._every_kind = any(s.kinds is None for s in subscriptions)
        self._kinds = frozenset(k for s in subscriptions for k in (s.kinds or ()))
        self._version = version
        self._loaded_at = self.clock()

    def in_transaction(self, conn: sa.Connection, batch: Batch) -> None:
        if self._version != self.store.version or (
            self.refresh_every is not None and self.clock() - self._loaded_at >= self.refresh_every
        ):
            self._load(conn)
        if not self._subscriptions or not batch.applied:
            return
        now = float(self.clock())
        every, wanted = self._every_kind, self._kinds
        ctx = _Context(self.engine, self._accounts)
        memory = self._accounts
        rows: list[dict[str, Any]] = []
        for applied in batch.applied:
            seq, at, event = applied.entry
            ctx.event = event
            ctx.commands = applied.commands
            if type(event) is E.InteractionArrived:
                memory.learn(event.interaction, ctx.queue_account(event.queue))
            items: list[object] = [event, *applied.commands]
            for item in items:
                sources = _SOURCES.get(type(item))
                if type(item) is C.InteractionQueued:
                    memory.learn(item.interaction, ctx.queue_account(item.queue))
                if sources is not None:
                    for kind, build in sources:
                        if every or kind in wanted:
                            self._add(rows, kind, build, item, ctx, seq, at, now)
                if type(item) is C.InteractionFinished:
                    memory.finish(item.interaction)
        if rows:
            conn.execute(webhook_deliveries.insert(), rows)
            self._woken.update(r["webhook"] for r in rows)

    def _add(
        self,
        rows: list[dict[str, Any]],
        kind: str,
        build: Builder,
        item: object,
        ctx: _Context,
        seq: int,
        at: float,
        now: float,
    ) -> None:
        try:
            built = build(item, ctx)
            if built is None:
                return
            account, data = built
            payload = _json_safe({"kind": kind, "seq": seq, "at": at, "account": account, "data": data})
        except Exception:  # a builder's bug must not fail the batch's transaction
            log.exception("webhook payload %s for event %s could not be built", kind, seq)
            return
        for s in self._subscriptions:
            if (s.kinds is None or kind in s.kinds) and (s.account is None or s.account == account):
                rows.append(
                    {
                        "webhook": s.id,
                        "kind": kind,
                        "payload": payload,
                        "status": PENDING,
                        "attempts": 0,
                        "next_attempt": now,
                        "last_error": "",
                        "created": now,
                    }
                )

    def after(self, batch: Batch) -> None:
        if self._woken:
            woken, self._woken = self._woken, set()
            if self.sender is not None:
                self.sender.wake(woken)
            else:
                self.store.deliveries_written(woken)


def _json_safe(value: Any) -> Any:
    """`value` as plain JSON data that both databases accept: anything else becomes a string and
    non-finite numbers null (PostgreSQL's json type refuses NaN), so a payload never fails a batch."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return _clean(value)


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return str(value)


# === the sender =====================================================================================


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    webhook: str
    kind: str
    payload: str | None
    attempts: int
    url: str
    secret: str = field(repr=False)


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_ERROR_LENGTH else line[: _MAX_ERROR_LENGTH - 1] + "…"


def _describe_http_error(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timeout after {timeout:g} s"
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return _one_line(f"connection failed: {exc}")
    return _one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


class WebhookSender:
    """Sends due deliveries, records the outcome, retries with backoff. See the module docstring.

    `source` is the database: a :class:`WebhookStore` (the sender is then woken whenever the
    listener stores deliveries) or a SQLAlchemy engine.

    Everything that decides timing is injectable: `clock` (epoch seconds, used for due times and
    the signature timestamp), `poll_interval` (the longest it sleeps between looks at the table,
    in real seconds; it also wakes when a retry falls due, when :meth:`wake` is called, and when
    a webhook's sends finish), `backoff` (seconds after the 1st, 2nd, … failure; the last
    repeats), `jitter` (± fraction) drawn from `rng`. `timeout` bounds each attempt as a whole.
    """

    def __init__(
        self,
        source: sa.Engine | WebhookStore,
        *,
        clock: Clock = time.time,
        poll_interval: float = 5.0,
        timeout: float = 5.0,
        max_attempts: int = 8,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        jitter: float = 0.1,
        rng: random.Random | None = None,
        batch_size: int = 100,
        max_concurrency: int = 16,
        client: httpx.AsyncClient | None = None,
        user_agent: str = "centrale-webhooks/1",
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not backoff or any(not math.isfinite(b) or b < 0 for b in backoff):
            raise ValueError("backoff must be a non-empty sequence of non-negative seconds")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.sql = source.sql if isinstance(source, WebhookStore) else source
        self.clock = clock
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = tuple(float(b) for b in backoff)
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.batch_size = max(1, batch_size)
        self.max_concurrency = max(1, max_concurrency)
        self.user_agent = user_agent
        self._client = client
        self._own_client = client is None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._inflight: dict[str, asyncio.Task[int]] = {}
        self._blocked: dict[str, float] = {}  # webhook → when its waiting head is due again (a hint)
        self.attempts = 0  # attempts made by this sender (for tests and metrics)
        if isinstance(source, WebhookStore):
            source.on_deliveries(self.wake)

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker on the running loop."""
        if self.running:
            return
        self._stopping = False
        self._wake.set()  # look at the table at once: deliveries may be waiting from before a restart
        self._task = asyncio.get_running_loop().create_task(self._run(), name="centrale-webhooks")

    async def stop(self) -> None:
        """Stop the worker; attempts in flight are abandoned (they stay pending and are sent again)."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:  # the loop first, so that nothing new is started
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        inflight = list(self._inflight.values())
        for t in inflight:
            t.cancel()
        await asyncio.gather(*inflight, return_exceptions=True)
        self._inflight.clear()
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if the sender made it (:meth:`stop` does this too)."""
        if self._own_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self, webhooks: Iterable[str] | None = None) -> None:
        """Look for due deliveries now. With `webhooks` (those that just got deliveries), only if
        one of them is neither sending nor waiting for a retry — a new delivery behind a waiting
        one is not due, and looking would cost a query for nothing."""
        if webhooks is not None:
            now = self.clock()
            if all(w in self._inflight or self._blocked.get(w, -math.inf) > now for w in webhooks):
                return
        self._wake.set()

    # --- the loop -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                delay = self._dispatch()
            except Exception as exc:  # the database is down or locked: try again later
                log.warning("webhook sender: cannot read deliveries: %s", describe_failure(exc))
                delay = self.poll_interval
            if delay > 0:
                # asyncio.timeout, not wait_for: on 3.11 wait_for loses a cancellation that arrives
                # just as the event is set, and stop() would then wait for ever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
            else:
                await asyncio.sleep(0)

    def _dispatch(self) -> float:
        """Start sending what is due (one task per webhook); return how long to sleep."""
        now = self.clock()
        room = self.max_concurrency - len(self._inflight)
        full = False
        if room > 0:
            groups, full = self._due(now, exclude=set(self._inflight))
            for webhook, rows in list(groups.items())[:room]:
                task = asyncio.get_running_loop().create_task(
                    self._send_group(rows), name=f"webhook {webhook}"
                )
                self._inflight[webhook] = task
                task.add_done_callback(functools.partial(self._done, webhook))
            full = full or len(groups) > room
        if full and len(self._inflight) < self.max_concurrency:
            return 0.0
        return self._sleep_for(now)

    def _done(self, webhook: str, _task: object = None) -> None:
        self._inflight.pop(webhook, None)
        self._wake.set()

    def _sleep_for(self, now: float) -> float:
        d = webhook_deliveries
        with self.sql.connect() as conn:
            nxt = conn.execute(
                sa.select(sa.func.min(d.c.next_attempt)).where(d.c.status == PENDING, d.c.next_attempt > now)
            ).scalar()
        if nxt is None:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, float(nxt) - now))

    async def run_once(self) -> int:
        """Send everything due now (each webhook's deliveries in order, stopping at its first
        failure) and wait for the outcome; return the number of attempts made. For tests and
        tools; the worker started by :meth:`start` does the same continuously."""
        groups, _ = self._due(self.clock(), exclude=set(self._inflight))
        counts = await asyncio.gather(*(self._send_group(rows) for rows in groups.values()))
        return sum(counts)

    def _due(self, now: float, exclude: set[str]) -> tuple[dict[str, list[_Due]], bool]:
        """Due deliveries of active webhooks, grouped by webhook in id order, leaving out every
        delivery that has an earlier pending one of the same webhook waiting for a retry."""
        d = webhook_deliveries
        e = webhook_deliveries.alias("earlier")
        w = webhooks
        held_back = (
            sa.exists()
            .where(e.c.webhook == d.c.webhook, e.c.status == PENDING, e.c.next_attempt > now, e.c.id < d.c.id)
            .correlate(d)
        )
        stmt = (
            sa.select(
                d.c.id,
                d.c.webhook,
                d.c.kind,
                sa.cast(d.c.payload, sa.Text),
                d.c.attempts,
                w.c.url,
                w.c.secret,
            )
            .join_from(d, w, w.c.id == d.c.webhook)
            .where(d.c.status == PENDING, d.c.next_attempt <= now, w.c.active, ~held_back)
            .order_by(d.c.id)
            .limit(self.batch_size)
        )
        if exclude:
            stmt = stmt.where(d.c.webhook.not_in(sorted(exclude)))
        with self.sql.connect() as conn:
            rows = conn.execute(stmt).all()
        groups: dict[str, list[_Due]] = {}
        for r in rows:
            groups.setdefault(r[1], []).append(
                _Due(int(r[0]), r[1], str(r[2]), r[3], int(r[4] or 0), str(r[5]), str(r[6]))
            )
        return groups, len(rows) >= self.batch_size

    async def _send_group(self, rows: list[_Due]) -> int:
        """One webhook's due deliveries, in order; stop at the first that is not delivered."""
        made = 0
        for row in rows:
            try:
                made += 1
                if not await self._attempt(row):
                    break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # recording the outcome failed: the row stays as it was
                log.warning(
                    "webhook %s: cannot record delivery %s: %s", row.webhook, row.id, describe_failure(exc)
                )
                break
        return made

    def _body(self, row: _Due) -> bytes | None:
        try:
            payload = json.loads(row.payload) if row.payload is not None else None
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        try:
            text = json.dumps({"id": str(row.id), **payload}, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):
            return None
        return text.encode("utf-8")

    async def _attempt(self, row: _Due) -> bool:
        """Send one delivery and record what happened. True if the webhook's next delivery may go
        now (this one was delivered, or failed for good); False if this one waits for a retry."""
        self.attempts += 1
        body = self._body(row)
        if body is None:
            return self._record(row, "bad payload: not a JSON object", retry=False)
        error = await self._post(row, body)
        return self._record(row, error, retry=True)

    async def _post(self, row: _Due, body: bytes) -> str | None:
        """POST `body`; None when the answer is 2xx, else one line saying what went wrong."""
        timestamp = int(self.clock())
        try:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": self.user_agent,
                "X-Centrale-Event": row.kind,
                "X-Centrale-Delivery": str(row.id),
                "X-Centrale-Timestamp": str(timestamp),
                "X-Centrale-Signature": sign(row.secret, timestamp, body),
            }
            async with asyncio.timeout(self.timeout):
                async with self._http().stream("POST", row.url, content=body, headers=headers) as response:
                    read = 0
                    async for chunk in response.aiter_raw():  # drain a little, so the connection is reused
                        read += len(chunk)
                        if read > _MAX_RESPONSE_BYTES:
                            break
                    status = response.status_code
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return _describe_http_error(exc, self.timeout)
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                headers={"User-Agent": self.user_agent},
            )
        return self._client

    def _record(self, row: _Due, error: str | None, *, retry: bool) -> bool:
        """Store an attempt's outcome (`error` None: delivered); False if a retry was scheduled."""
        d = webhook_deliveries
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": d.c.attempts + 1}
        due: float | None = None
        if error is None:
            values["status"] = DELIVERED
        else:
            values["last_error"] = _one_line(error)
            if retry and attempts < self.max_attempts:
                due = self.clock() + self._backoff(attempts)
                values["next_attempt"] = due
            else:
                values["status"] = FAILED
        with self.sql.begin() as conn:
            conn.execute(d.update().where(d.c.id == row.id, d.c.status == PENDING).values(**values))
        if due is not None:
            self._blocked[row.webhook] = due
            log.info("webhook %s: delivery %s attempt %d failed (%s)", row.webhook, row.id, attempts, error)
            return False
        self._blocked.pop(row.webhook, None)
        if error is not None:
            log.warning(
                "webhook %s: delivery %s (%s) to %s failed after %d attempt%s: %s",
                row.webhook,
                row.id,
                row.kind,
                row.url,
                attempts,
                "" if attempts == 1 else "s",
                error,
            )
        return True

    def _backoff(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed attempts."""
        base = self.backoff[min(attempts, len(self.backoff)) - 1]
        if self.jitter:
            base *= 1 + self.rng.uniform(-self.jitter, self.jitter)
        return max(0.0, base)
