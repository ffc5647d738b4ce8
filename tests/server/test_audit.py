"""AuditLog on SQLite and PostgreSQL: recording, paging, filtering and account scoping."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from centrale.server.audit import AuditEntry, AuditLog
from centrale.server.security import Principal, Role
from centrale.storage.schema import audit_log


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def log(engine: sa.Engine) -> AuditLog:
    return AuditLog(engine, clock=Clock())


@pytest.fixture
def filled(log: AuditLog) -> AuditLog:
    log.record("root", "user.create", target="sue", ip="10.0.0.1")  # no account
    log.record("sue", "queue.update", target="sales", account="acme", detail={"priority": [1, 2]})
    log.record("sue", "export.interactions", account="acme", detail={"rows": 120})
    log.record("root", "queue.update", target="support", account="globex")
    log.record("client", "export.interactions", account="initech")
    return log


def test_record_returns_ids_and_stores_everything(log: AuditLog, engine: sa.Engine) -> None:
    first = log.record("root", "user.create", target="sue", ip="10.0.0.1")
    second = log.record("sue", "queue.update", "sales", "acme", {"before": {"a": 1}, "after": None}, "::1")
    assert second > first
    (entry, older) = log.query(None)
    assert entry == AuditEntry(
        id=second,
        at=1_800_000_002.0,
        username="sue",
        action="queue.update",
        target="sales",
        account="acme",
        detail={"before": {"a": 1}, "after": None},
        ip="::1",
    )
    assert older.id == first and older.account is None and older.detail == {} and older.target == "sue"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 2


def test_newest_first_and_paging(filled: AuditLog) -> None:
    everything = filled.query(None)
    assert [e.action for e in everything] == [
        "export.interactions",
        "queue.update",
        "export.interactions",
        "queue.update",
        "user.create",
    ]
    ids = [e.id for e in everything]
    assert ids == sorted(ids, reverse=True)
    page1 = filled.query(None, limit=2)
    page2 = filled.query(None, limit=2, before_id=page1[-1].id)
    page3 = filled.query(None, limit=2, before_id=page2[-1].id)
    assert [e.id for e in page1 + page2 + page3] == ids
    assert filled.query(None, before_id=ids[-1]) == []
    assert len(filled.query(None, limit=0)) == 1  # at least one
    assert len(filled.query(None, limit=10**6)) == 5


def test_action_filter(filled: AuditLog) -> None:
    assert [(e.username, e.account) for e in filled.query(None, action="queue.update")] == [
        ("root", "globex"),
        ("sue", "acme"),
    ]
    assert filled.query(None, action="gdpr.erase") == []
    assert [e.account for e in filled.query(frozenset({"acme"}), action="export.interactions")] == ["acme"]


def test_scoping_follows_the_principal(filled: AuditLog) -> None:
    admin = Principal("root", Role.ADMINISTRATOR)
    supervisor = Principal("sue", Role.SUPERVISOR, frozenset({"acme", "globex"}))
    viewer = Principal("client", Role.VIEWER, frozenset({"initech"}))
    agent = Principal("bob", Role.AGENT, frozenset(), agent="a1")
    star = Principal("boss", Role.SUPERVISOR, frozenset({"*"}))

    assert len(filled.query(admin.account_filter())) == 5
    assert len(filled.query(star.account_filter())) == 5  # unrestricted also sees entries of no account
    seen = filled.query(supervisor.account_filter())
    assert {e.account for e in seen} == {"acme", "globex"} and len(seen) == 3
    assert [e.account for e in filled.query(viewer.account_filter())] == ["initech"]
    assert filled.query(agent.account_filter()) == []
    assert filled.query(frozenset({"nowhere"})) == []
    # An account-less entry is never visible to a restricted principal.
    assert all(e.account is not None for e in filled.query(frozenset({"acme", "globex", "initech"})))


def test_record_in_joins_the_callers_transaction(log: AuditLog, engine: sa.Engine) -> None:
    with engine.begin() as conn:
        log.record_in(conn, "root", "skill.create", target="french")
    assert [e.target for e in log.query(None)] == ["french"]

    class Boom(Exception):
        pass

    with pytest.raises(Boom), engine.begin() as conn:
        log.record_in(conn, "root", "skill.delete", target="french")
        raise Boom
    assert [e.action for e in log.query(None)] == ["skill.create"]  # rolled back with the change


def test_bad_entries_are_refused_before_writing(log: AuditLog) -> None:
    with pytest.raises(ValueError):
        log.record("root", "")
    with pytest.raises(ValueError):
        log.record("root", "x.y", detail={"ratio": math.nan})
    with pytest.raises(TypeError):
        log.record("root", "x.y", detail={"when": object()})
    assert log.query(None) == []


def test_unicode_and_nested_detail_round_trip(log: AuditLog) -> None:
    detail = {"name": "Zoë — 東京", "list": [1, 2.5, True, None, {"k": "v"}]}
    log.record("zoë", "account.update", target="tōkyō", account="acme", detail=detail)
    (entry,) = log.query(frozenset({"acme"}))
    assert entry.detail == detail and entry.username == "zoë" and entry.target == "tōkyō"
