"""Webhooks (centrale.server.webhooks): subscriptions, the outbox, signatures, sending and retries.

Every database test runs on SQLite and PostgreSQL (`db_url` / `engine` in conftest.py). Requests
go over real HTTP to a small server in the test (tests/server/http_sink.py); time is a fake
clock that the tests move, so backoffs of minutes take no time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from centrale.core.config import (
    Account,
    AgentConfig,
    Disposition,
    EngineConfig,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.engine import Engine
from centrale.core.eventlog import LoggedEvent
from centrale.core.events import (
    AgentLoggedIn,
    DispositionSet,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    WrapUpCompleted,
)
from centrale.core.expressions import parse
from centrale.server.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    WEBHOOK_KINDS,
    WebhookError,
    WebhookListener,
    WebhookNotFound,
    WebhookSender,
    WebhookStore,
    sign,
    validate_url,
    verify_signature,
)
from centrale.server.writer import Applied, Batch, Listener, Writer, WriterStopped
from centrale.storage import EventStore, StorageError
from centrale.storage.schema import events as events_table
from centrale.storage.schema import webhook_deliveries

from .http_sink import HttpSink, Request

T = TypeVar("T")
START = 1_800_000_000.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run(main: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(main())  # type: ignore[arg-type]


def config() -> EngineConfig:
    return EngineConfig(
        accounts=(Account("acme"), Account("globex")),
        queues=(
            QueueConfig(
                "sales", "acme", "voice", parse("sales >= 1"), wrap_up=WrapUp(WrapUpMode.AGENT, 120.0)
            ),
            QueueConfig("support", "globex", "voice", parse("support >= 1")),
        ),
        agents=(
            AgentConfig("ann", "acme", {"sales": 5}),
            AgentConfig("gus", "globex", {"support": 5}),
        ),
        dispositions=(Disposition("sale", "Sale", "sale"),),
    )


def deliveries(sql: sa.Engine) -> list[dict[str, Any]]:
    d = webhook_deliveries
    with sql.connect() as conn:
        rows = conn.execute(sa.select(d).order_by(d.c.id)).mappings().all()
    return [dict(r) for r in rows]


def add_delivery(sql: sa.Engine, webhook: str, kind: str = "interaction.queued", *, at: float = START) -> int:
    """A pending delivery as the listener writes it, due at `at`."""
    payload = {"kind": kind, "seq": 1, "at": at, "account": "acme", "data": {"interaction": "c1"}}
    with sql.begin() as conn:
        result = conn.execute(
            webhook_deliveries.insert().values(
                webhook=webhook, kind=kind, payload=payload, next_attempt=at, created=at
            )
        )
        return int(result.inserted_primary_key[0])


def sender_for(sql: sa.Engine, clock: FakeClock, **kw: Any) -> WebhookSender:
    options: dict[str, Any] = {"backoff": (10.0, 30.0), "jitter": 0.0, "timeout": 2.0, "poll_interval": 0.02}
    options.update(kw)
    return WebhookSender(sql, clock=clock, **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(request: Request) -> dict[str, Any]:
    value = json.loads(request.body)
    assert isinstance(value, dict)
    return value


# === validation and the store =========================================================================


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://example.com/hook",
        "example.com/hook",
        "http://",
        "https:///path-only",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://example.com:port/",
        "javascript:alert(1)",
        "http://example.com/\nX-Injected: 1",
        "https://example.com/" + "x" * 2100,
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(WebhookError, match="url"):
        validate_url(url)


def test_good_urls_events_and_account_rules(engine: sa.Engine) -> None:
    store = WebhookStore(engine)
    for url in ("https://crm.example.com/hooks?src=centrale", "http://127.0.0.1:8080/h", "http://[::1]:9/h"):
        webhook_id, _ = store.create(f"  {url} ", ["interaction.finished"])
        found = store.get(webhook_id)
        assert found is not None and found.url == url
    for events, message in (
        ([], "at least one"),
        (["interaction.nope"], "unknown kind"),
        (["*", "interaction.queued"], "alone"),
        ("interaction.queued", "a list"),
        ([1], "not an event kind"),
    ):
        with pytest.raises(WebhookError, match=message):
            store.create("https://example.com/h", events)
    before = store.list()
    with pytest.raises(WebhookError, match="url: must start with http"):
        store.create("ftp://example.com/h", ["*"])
    assert store.list() == before
    with pytest.raises(WebhookError, match="account"):
        store.create("https://example.com/h", ["*"], account="")
    webhook_id, _ = store.create("https://example.com/h", ["interaction.queued", "interaction.queued"])
    found = store.get(webhook_id)
    assert found is not None and found.events == ("interaction.queued",)


def test_store_crud_secrets_and_version(engine: sa.Engine) -> None:
    clock = FakeClock()
    store = WebhookStore(engine, clock)
    v0 = store.version
    a, secret_a = store.create("https://crm.example.com/a", ["interaction.finished"], account="acme")
    clock.advance(1)
    b, secret_b = store.create("https://crm.example.com/b", ["*"])
    clock.advance(1)
    c, _ = store.create("https://crm.example.com/c", ["agent.state_changed"], account="globex", active=False)
    assert store.version == v0 + 3
    assert secret_a.startswith("whsec_") and len(secret_a) > 40 and secret_a != secret_b
    assert a != b

    assert [w.id for w in store.list()] == [a, b, c]
    assert [w.id for w in store.list(frozenset({"acme"}))] == [a]  # not the all-accounts one
    assert [w.id for w in store.list({"acme", "globex"})] == [a, c]
    assert store.list(frozenset()) == []
    first = store.get(a)
    assert first is not None
    assert first.to_dict() == {
        "id": a,
        "account": "acme",
        "url": "https://crm.example.com/a",
        "events": ["interaction.finished"],
        "active": True,
        "created": START,
    }
    assert "secret" not in first.to_dict()
    assert store.get("wh_missing") is None

    updated = store.update(a, url="https://crm.example.com/a2", events=["interaction.queued"], active=False)
    assert (updated.url, updated.events, updated.active) == (
        "https://crm.example.com/a2",
        ("interaction.queued",),
        False,
    )
    assert store.update(a).url == "https://crm.example.com/a2"  # nothing to change: still found
    with pytest.raises(WebhookError):
        store.update(a, url="ftp://nope")
    with pytest.raises(WebhookNotFound):
        store.update("wh_missing", active=True)

    version = store.version
    new_secret = store.rotate_secret(b)
    assert new_secret != secret_b and new_secret.startswith("whsec_")
    assert store.version == version + 1
    with pytest.raises(WebhookNotFound):
        store.rotate_secret("wh_missing")

    add_delivery(engine, b)
    assert store.delete(b) is True
    assert store.delete(b) is False
    assert store.get(b) is None
    assert deliveries(engine) == []  # its deliveries went with it


def test_delivery_listing_newest_first_retry_and_purge(engine: sa.Engine) -> None:
    clock = FakeClock()
    store = WebhookStore(engine, clock)
    webhook_id, _ = store.create("https://example.com/h", ["*"])
    other, _ = store.create("https://example.com/o", ["*"])
    ids = [add_delivery(engine, webhook_id) for _ in range(3)]
    add_delivery(engine, other)
    with engine.begin() as conn:
        conn.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id == ids[0])
            .values(status=FAILED, attempts=8, last_error="HTTP 500")
        )
    listed = store.deliveries(webhook_id)
    assert [d.id for d in listed] == ids[::-1]
    assert [d.id for d in store.deliveries(webhook_id, limit=2)] == ids[:0:-1]
    assert [d.id for d in store.deliveries(webhook_id, before=ids[2])] == ids[1::-1]
    oldest = store.deliveries(webhook_id, status=FAILED)
    assert [(d.id, d.status, d.attempts, d.last_error) for d in oldest] == [(ids[0], FAILED, 8, "HTTP 500")]
    assert oldest[0].payload["id"] == str(ids[0]) and oldest[0].payload["kind"] == "interaction.queued"
    assert oldest[0].to_dict()["status"] == FAILED

    clock.advance(5)
    assert store.retry(ids[0]) is True
    assert store.retry(ids[1]) is False  # pending, not failed
    again = store.deliveries(webhook_id, status=PENDING)
    assert {d.id for d in again} == set(ids)
    assert next(d for d in again if d.id == ids[0]).next_attempt == START + 5

    with engine.begin() as conn:
        conn.execute(
            webhook_deliveries.update().where(webhook_deliveries.c.id == ids[1]).values(status=DELIVERED)
        )
    assert store.purge_deliveries(START + 1) == 1
    assert [d.id for d in store.deliveries(webhook_id)] == [ids[2], ids[0]]


# === the outbox ======================================================================================


async def drive(writer: Writer) -> None:
    """A little day: two agents log in; a sales call is answered, registered and wrapped up; a
    support call arrives."""
    await writer.submit(AgentLoggedIn("ann", ready=True))
    await writer.submit(AgentLoggedIn("gus", ready=True))
    await writer.submit(InteractionArrived("c1", "sales", contact="+3225550100", attributes={"vip": True}))
    await writer.submit(OfferAccepted("c1", "ann"))
    await writer.submit(DispositionSet("c1", disposition="sale", notes="two units", fields={"order": "A-1"}))
    await writer.submit(InteractionEnded("c1"))
    await writer.submit(WrapUpCompleted("c1", notes="shipped"))
    await writer.submit(InteractionArrived("g1", "support", contact="+3225550199"))


def test_deliveries_follow_subscriptions_by_kind_and_account(db_url: str) -> None:
    async def main() -> None:
        clock = FakeClock()
        store_ = EventStore(db_url)
        try:
            sql = store_.sql
            hooks = WebhookStore(sql, clock)
            acme, _ = hooks.create(
                "https://crm.example.com/acme", ["interaction.registered", "interaction.finished"], "acme"
            )
            every, _ = hooks.create("https://bus.example.com/all", ["*"])
            globex, _ = hooks.create(
                "https://globex.example.com/h", ["agent.state_changed", "interaction.queued"], "globex"
            )
            off, _ = hooks.create("https://crm.example.com/off", ["*"], "acme", active=False)
            engine = Engine(config())
            listener = WebhookListener(engine, hooks)
            writer = Writer(engine, store_, clock=clock, listeners=[listener])
            writer.start()
            await drive(writer)
            await writer.stop()
        finally:
            store_.close()

        rows = deliveries(sql)
        by_hook: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_hook.setdefault(r["webhook"], []).append(r)
        assert off not in by_hook
        assert all(r["status"] == PENDING and r["attempts"] == 0 and r["next_attempt"] == START for r in rows)

        mine = by_hook[acme]
        assert [r["kind"] for r in mine] == [
            "interaction.registered",
            "interaction.registered",
            "interaction.finished",
        ]
        assert all(r["payload"]["account"] == "acme" for r in mine)
        during, wrap, finished = (r["payload"]["data"] for r in mine)
        assert during == {
            "interaction": "c1",
            "queue": "sales",
            "agent": "ann",
            "disposition": "sale",
            "notes": "two units",
            "fields": {"order": "A-1"},
            "wrap_up_completed": False,
        }
        # The wrap-up's registration resolves account, queue and agent though c1 is closed by now.
        assert wrap == {
            "interaction": "c1",
            "queue": "sales",
            "agent": "ann",
            "disposition": None,
            "notes": "shipped",
            "fields": {},
            "wrap_up_completed": True,
        }
        assert finished == {
            "interaction": "c1",
            "queue": "sales",
            "outcome": "done",
            "reason": None,
            "agent": "ann",
            "disposition": "sale",
            "notes": "shipped",
        }

        theirs = by_hook[globex]
        assert {r["kind"] for r in theirs} == {"agent.state_changed", "interaction.queued"}
        assert all(r["payload"]["account"] == "globex" for r in theirs)
        assert [r["payload"]["data"]["state"] for r in theirs if r["kind"] == "agent.state_changed"] == [
            "ready",
            "reserved",
        ]
        queued = next(r["payload"] for r in theirs if r["kind"] == "interaction.queued")
        assert queued["data"] == {
            "interaction": "g1",
            "queue": "support",
            "parent": None,
            "channel": "voice",
            "direction": "inbound",
            "priority": 0,
            "contact": "+3225550199",
            "attributes": {},
        }

        everything = by_hook[every]
        kinds = [r["kind"] for r in everything]
        assert set(kinds) == set(WEBHOOK_KINDS)
        assert {r["payload"]["account"] for r in everything} == {"acme", "globex"}
        c1 = [r["kind"] for r in everything if r["payload"]["data"].get("interaction") == "c1"]
        assert c1 == [
            "interaction.queued",
            "interaction.offered",
            "interaction.connected",
            "interaction.registered",
            "interaction.registered",
            "interaction.finished",
        ]
        seqs = [r["payload"]["seq"] for r in everything]
        assert seqs == sorted(seqs) and all(r["payload"]["at"] == START for r in everything)
        offered = next(r["payload"]["data"] for r in everything if r["kind"] == "interaction.offered")
        assert offered["interaction"] == "c1" and offered["agent"] == "ann" and offered["queue"] == "sales"
        arrived = next(r["payload"]["data"] for r in everything if r["kind"] == "interaction.queued")
        assert arrived["contact"] == "+3225550100" and arrived["attributes"] == {"vip": True}

    run(main)


class Boom(Listener):
    armed = False

    def in_transaction(self, conn: sa.Connection, batch: Batch) -> None:
        if self.armed:
            raise RuntimeError("boom")


def test_outbox_rows_are_written_in_the_events_transaction(db_url: str) -> None:
    async def main() -> None:
        clock = FakeClock()
        store_ = EventStore(db_url)
        sql = store_.sql
        try:
            hooks = WebhookStore(sql, clock)
            hooks.create("https://bus.example.com/all", ["*"])
            engine = Engine(config())
            boom = Boom()
            writer = Writer(engine, store_, clock=clock, listeners=[WebhookListener(engine, hooks), boom])
            writer.start()
            await writer.submit(AgentLoggedIn("ann", ready=True))
            stored = deliveries(sql)
            assert [r["kind"] for r in stored] == ["agent.state_changed"]
            boom.armed = True  # the next batch's transaction fails after the deliveries were inserted
            with pytest.raises(WriterStopped):
                await writer.submit(InteractionArrived("c1", "sales"))
            with pytest.raises(StorageError, match="boom"):
                await writer.stop()  # the writer stopped on the failure
            assert deliveries(sql) == stored
            with sql.connect() as conn:
                assert conn.execute(sa.select(sa.func.count()).select_from(events_table)).scalar() == 1
        finally:
            store_.close()

    run(main)


def test_no_subscriber_costs_no_query_and_changes_are_picked_up(engine: sa.Engine) -> None:
    clock = FakeClock()
    hooks = WebhookStore(engine, clock)
    core = Engine(config())
    listener = WebhookListener(core, hooks, refresh_every=None)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    seq = iter(range(1, 100))

    def batch(event: Any) -> Batch:
        b = Batch(clock())
        b.applied.append(Applied(LoggedEvent(next(seq), clock(), event), core.handle(event, clock())))
        return b

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.begin() as conn:
            listener.in_transaction(conn, batch(AgentLoggedIn("ann", ready=True)))  # loads: nobody subscribed
        loaded = len(statements)
        with engine.begin() as conn:
            listener.in_transaction(conn, batch(AgentLoggedIn("gus", ready=True)))
        assert not [s for s in statements[loaded:] if "webhook" in s]  # no query at all for the batch
        hook, _ = hooks.create("https://example.com/h", ["agent.state_changed"], account="globex")
        with engine.begin() as conn:
            listener.in_transaction(conn, batch(InteractionArrived("g1", "support")))  # reserves gus
        assert listener.subscriptions == 1
        assert [(r["webhook"], r["payload"]["data"]["state"]) for r in deliveries(engine)] == [
            (hook, "reserved")
        ]
        hooks.update(hook, active=False)
        with engine.begin() as conn:
            listener.in_transaction(conn, batch(OfferAccepted("g1", "gus")))  # gus: busy
        assert listener.subscriptions == 0
        assert len(deliveries(engine)) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


# === signatures =====================================================================================


def test_signature_scheme() -> None:
    secret, payload = "whsec_test", b'{"id":"1","kind":"interaction.queued"}'
    header = sign(secret, 1_800_000_000, payload)
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    now = 1_800_000_000 + 10
    assert verify_signature(secret, "1800000000", payload, header, now=now)
    assert verify_signature(secret, 1_800_000_000, payload.decode(), header, now=now)
    assert verify_signature(secret, "1800000000", payload, f"sha256=deadbeef, {header}", now=now)
    assert not verify_signature("whsec_wrong", "1800000000", payload, header, now=now)
    assert not verify_signature(secret, "1800000000", payload.replace(b"queued", b"offered"), header, now=now)
    assert not verify_signature(secret, "1800000001", payload, header, now=now)  # the timestamp is signed
    assert not verify_signature(secret, "1800000000", payload, header, now=1_800_000_000 + 301)  # stale
    assert not verify_signature(secret, "1800000000", payload, header, now=1_800_000_000 - 301)  # future
    assert verify_signature(secret, "1800000000", payload, header, now=1_800_000_000 + 301, tolerance=600)
    assert not verify_signature(secret, "soon", payload, header, now=now)
    assert not verify_signature(secret, "1800000000", payload, "", now=now)
    assert not verify_signature(secret, "1800000000", payload, header.removeprefix("sha256="), now=now)


# === sending =========================================================================================


def check_request(
    request: Request, secret: str, clock: FakeClock, delivery: int, kind: str
) -> dict[str, Any]:
    h = request.headers
    assert request.method == "POST" and request.path == "/hook"
    assert h["content-type"] == "application/json"
    assert h["x-centrale-event"] == kind
    assert h["x-centrale-delivery"] == str(delivery)
    assert verify_signature(
        secret, h["x-centrale-timestamp"], request.body, h["x-centrale-signature"], now=clock()
    )
    data = body(request)
    assert data["id"] == str(delivery) and data["kind"] == kind
    return data


def test_retry_after_500_then_delivered(engine: sa.Engine) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        async with HttpSink([500, 503]) as sink:
            hook, secret = hooks.create(sink.url, ["*"])
            delivery = add_delivery(engine, hook)
            sender = sender_for(engine, clock)
            try:
                assert await sender.run_once() == 1
                (row,) = deliveries(engine)
                assert (row["status"], row["attempts"], row["last_error"]) == (PENDING, 1, "HTTP 500")
                assert row["next_attempt"] == START + 10
                clock.advance(9)
                assert await sender.run_once() == 0  # not due yet
                clock.advance(1)
                assert await sender.run_once() == 1
                (row,) = deliveries(engine)
                assert (row["status"], row["attempts"], row["last_error"]) == (PENDING, 2, "HTTP 503")
                assert row["next_attempt"] == START + 10 + 30
                clock.advance(30)
                assert await sender.run_once() == 1
                (row,) = deliveries(engine)
                assert (row["status"], row["attempts"]) == (DELIVERED, 3)
                assert await sender.run_once() == 0
            finally:
                await sender.stop()
        assert len(sink.requests) == 3
        for request in sink.requests:
            check_request(request, secret, clock, delivery, "interaction.queued")
        assert len({r.headers["x-centrale-timestamp"] for r in sink.requests}) == 3  # signed afresh
        assert {r.body for r in sink.requests} == {sink.requests[0].body}  # the same body each time

    run(main)


def test_retry_after_connection_refused_then_delivered(engine: sa.Engine) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        port = free_port()
        hook, secret = hooks.create(f"http://127.0.0.1:{port}/hook", ["*"])
        delivery = add_delivery(engine, hook)
        sender = sender_for(engine, clock)
        try:
            assert await sender.run_once() == 1
            (row,) = deliveries(engine)
            assert (row["status"], row["attempts"], row["last_error"]) == (PENDING, 1, "connection refused")
            async with HttpSink(port=port) as sink:  # the receiver is back
                clock.advance(10)
                assert await sender.run_once() == 1
            (row,) = deliveries(engine)
            assert (row["status"], row["attempts"], row["last_error"]) == (DELIVERED, 2, "connection refused")
            check_request(sink.requests[0], secret, clock, delivery, "interaction.queued")
        finally:
            await sender.stop()

    run(main)


def test_a_new_url_is_tried_at_once(engine: sa.Engine) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        hook, _ = hooks.create(f"http://127.0.0.1:{free_port()}/hook", ["*"])
        first = add_delivery(engine, hook)
        second = add_delivery(engine, hook)
        sender = sender_for(engine, clock)
        woken: list[Any] = []
        hooks.on_deliveries(woken.append)
        try:
            assert await sender.run_once() == 1
            assert await sender.run_once() == 0  # waiting 10 s
            async with HttpSink() as sink:
                hooks.update(hook, url=sink.url)  # the administrator fixes the URL
                assert woken == [None]
                assert await sender.run_once() == 2  # no need to wait for the retry
        finally:
            await sender.stop()
        assert [int(body(r)["id"]) for r in sink.requests] == [first, second]
        assert {r["status"] for r in deliveries(engine)} == {DELIVERED}

    run(main)


def test_timeout_is_a_failed_attempt(engine: sa.Engine) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        async with HttpSink(delay=2.0) as sink:
            hook, _ = hooks.create(sink.url, ["*"])
            add_delivery(engine, hook)
            sender = sender_for(engine, clock, timeout=0.2)
            try:
                assert await sender.run_once() == 1
            finally:
                await sender.stop()
        (row,) = deliveries(engine)
        assert (row["status"], row["attempts"], row["last_error"]) == (PENDING, 1, "timeout after 0.2 s")

    run(main)


def test_gives_up_after_max_attempts(engine: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        async with HttpSink(default=500) as sink:
            hook, _ = hooks.create(sink.url, ["*"])
            first = add_delivery(engine, hook)
            second = add_delivery(engine, hook, "interaction.finished")
            sender = sender_for(
                engine, clock, max_attempts=3, backoff=(5.0,), jitter=0.5, rng=random.Random(7)
            )
            try:
                for _ in range(2):
                    assert await sender.run_once() == 1  # only the first: the second waits behind it
                    clock.advance(8)  # more than 5 s + 50 % jitter
                    rows = {r["id"]: r for r in deliveries(engine)}
                    assert (rows[second]["status"], rows[second]["attempts"]) == (PENDING, 0)
                # The third attempt fails the first for good, and the second goes at once behind it.
                assert await sender.run_once() == 2
                rows = {r["id"]: r for r in deliveries(engine)}
                assert (rows[first]["status"], rows[first]["attempts"]) == (FAILED, 3)
                assert rows[first]["last_error"] == "HTTP 500"
                assert (rows[second]["status"], rows[second]["attempts"]) == (PENDING, 1)
                assert START + 2 * 8 + 2.5 <= rows[second]["next_attempt"] <= START + 2 * 8 + 7.5
            finally:
                await sender.stop()
        assert [body(r)["id"] for r in sink.requests] == [str(first)] * 3 + [str(second)]

    caplog.set_level(logging.INFO, logger="centrale.webhooks")
    run(main)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "failed after 3 attempts: HTTP 500" in warnings[0].getMessage()


def test_backoff_schedule_with_jitter(engine: sa.Engine) -> None:
    sender = WebhookSender(engine, rng=random.Random(1))
    schedule = [sender._backoff(n) for n in range(1, 10)]
    nominal = [10, 30, 90, 270, 810, 2430, 3600, 3600, 3600]
    assert all(0.9 * b <= s <= 1.1 * b for s, b in zip(schedule, nominal, strict=True))
    assert len(set(schedule)) == len(schedule)  # jittered
    exact = WebhookSender(engine, jitter=0.0)
    assert [exact._backoff(n) for n in (1, 2, 3, 7, 8, 20)] == [10, 30, 90, 3600, 3600, 3600]
    with pytest.raises(ValueError):
        WebhookSender(engine, max_attempts=0)
    with pytest.raises(ValueError):
        WebhookSender(engine, backoff=())


def test_deliveries_of_one_webhook_are_sent_in_order(engine: sa.Engine) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        async with HttpSink([500]) as slow, HttpSink() as fine:
            s_hook, _ = hooks.create(slow.url, ["*"])
            f_hook, _ = hooks.create(fine.url, ["*"])
            s_ids, f_ids = [], []
            for _ in range(3):
                s_ids.append(add_delivery(engine, s_hook))
                f_ids.append(add_delivery(engine, f_hook))
            sender = sender_for(engine, clock)
            try:
                assert await sender.run_once() == 4  # slow: 1 (failed), fine: 3
                assert await sender.run_once() == 0  # slow's later deliveries wait behind its first
                s_ids.append(add_delivery(engine, s_hook))  # a new one, due now: still waits
                assert await sender.run_once() == 0
                clock.advance(10)
                assert await sender.run_once() == 4
            finally:
                await sender.stop()
        assert [int(body(r)["id"]) for r in fine.requests] == f_ids
        assert [int(body(r)["id"]) for r in slow.requests] == [s_ids[0], *s_ids]
        assert {r["status"] for r in deliveries(engine)} == {DELIVERED}

    run(main)


def test_inactive_webhooks_hold_their_deliveries(engine: sa.Engine) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        async with HttpSink() as sink:
            hook, _ = hooks.create(sink.url, ["*"], active=False)
            add_delivery(engine, hook)
            sender = sender_for(engine, clock)
            try:
                assert await sender.run_once() == 0
                hooks.update(hook, active=True)
                assert await sender.run_once() == 1
            finally:
                await sender.stop()
        assert len(sink.requests) == 1

    run(main)


def test_bad_payloads_fail_without_stopping_the_sender(engine: sa.Engine) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        async with HttpSink() as sink:
            hook, _ = hooks.create(sink.url, ["*"])
            with engine.begin() as conn:
                conn.execute(
                    webhook_deliveries.insert().values(
                        webhook=hook,
                        kind="interaction.queued",
                        payload=[1, 2],
                        next_attempt=START,
                        created=START,
                    )
                )
            good = add_delivery(engine, hook)
            sender = sender_for(engine, clock)
            try:
                assert await sender.run_once() == 2
            finally:
                await sender.stop()
        rows = deliveries(engine)
        assert [(r["status"], r["last_error"]) for r in rows] == [
            (FAILED, "bad payload: not a JSON object"),
            (DELIVERED, ""),
        ]
        assert [body(r)["id"] for r in sink.requests] == [str(good)]

    run(main)


def test_database_errors_are_logged_and_retried(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        sql = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no schema: every query fails
        sender = WebhookSender(sql, poll_interval=0.01)
        sender.start()
        try:
            await asyncio.sleep(0.1)
            assert sender.running
        finally:
            await sender.stop()
            sql.dispose()
        assert not sender.running

    caplog.set_level(logging.WARNING, logger="centrale.webhooks")
    run(main)
    assert len([r for r in caplog.records if "cannot read deliveries" in r.getMessage()]) >= 2


def test_stop_abandons_attempts_in_flight(engine: sa.Engine) -> None:
    async def main() -> None:
        clock = FakeClock()
        hooks = WebhookStore(engine, clock)
        async with HttpSink(delay=30.0) as sink:
            hook, _ = hooks.create(sink.url, ["*"])
            add_delivery(engine, hook)
            sender = WebhookSender(hooks, clock=clock, poll_interval=60.0, timeout=30.0)
            sender.start()
            await sink.wait_for(1)  # the attempt is in flight
            await asyncio.wait_for(sender.stop(), 5.0)
            assert not sender.running
        (row,) = deliveries(engine)
        assert (row["status"], row["attempts"]) == (PENDING, 0)  # sent again after a restart

    run(main)


# === end to end ======================================================================================


@pytest.mark.parametrize("wiring", ["through the store", "explicit sender"])
def test_writer_listener_and_running_sender_deliver_signed_events(db_url: str, wiring: str) -> None:
    async def main() -> None:
        clock = FakeClock()
        store_ = EventStore(db_url)
        sql = store_.sql
        async with HttpSink([500]) as sink:
            try:
                hooks = WebhookStore(sql, clock)
                hook, secret = hooks.create(sink.url, ["interaction.queued", "interaction.finished"], "acme")
                # A long poll interval: only the wake-ups make this test finish in time.
                options: dict[str, Any] = {
                    "clock": clock,
                    "poll_interval": 60.0,
                    "backoff": (0.0,),
                    "jitter": 0.0,
                }
                engine = Engine(config())
                if wiring == "through the store":  # as the composition root wires it
                    sender = WebhookSender(hooks, **options)
                    listener = WebhookListener(engine, hooks, clock=clock)
                else:
                    sender = WebhookSender(sql, **options)
                    listener = WebhookListener(engine, hooks, sender=sender)
                writer = Writer(engine, store_, clock=clock, listeners=[listener])
                writer.start()
                sender.start()
                await drive(writer)
                await writer.submit(InteractionArrived("c2", "sales"))
                requests = await sink.wait_for(4)  # queued (500, then again), finished, queued c2
                await writer.stop()
                for _ in range(500):
                    listed = hooks.deliveries(hook)
                    if all(d.status == DELIVERED for d in listed):
                        break
                    await asyncio.sleep(0.01)
                await sender.stop()
            finally:
                store_.close()
        assert [d.status for d in listed] == [DELIVERED] * 3
        assert [d.attempts for d in listed] == [1, 1, 2]
        received = [
            check_request(
                r, secret, clock, int(r.headers["x-centrale-delivery"]), r.headers["x-centrale-event"]
            )
            for r in requests
        ]
        assert [(b["kind"], b["data"]["interaction"]) for b in received] == [
            ("interaction.queued", "c1"),
            ("interaction.queued", "c1"),
            ("interaction.finished", "c1"),
            ("interaction.queued", "c2"),
        ]
        assert all(
            b["account"] == "acme" and isinstance(b["seq"], int) and b["at"] == START for b in received
        )
        assert received[2]["data"]["outcome"] == "done"
        assert listed[-1].payload == received[0]

    run(main)
