"""The audit log: who changed or looked at what, stored in the ``audit_log`` table.

Every configuration change, export, GDPR request, login and user change is recorded with the
acting username, an ``action`` (``queue.update``, ``export.interactions``, ``gdpr.erase``,
``user.login``, …), a ``target`` (the object's id), the account it belongs to (None for things of
no single account: users, skills, the center's settings), a JSON ``detail`` object and the client IP.

:meth:`AuditLog.record` writes in its own transaction; :meth:`AuditLog.record_in` writes on the
caller's connection, so a change and its audit entry commit or roll back together.

:meth:`AuditLog.query` returns entries newest first, limited to an account filter as given by
:meth:`centrale.server.security.Principal.account_filter`: None sees everything; a set sees only
entries of those accounts — entries without an account are visible only to unrestricted principals.
Paging: pass the smallest ``id`` seen as ``before_id``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from centrale.storage.schema import audit_log

__all__ = ["MAX_QUERY_LIMIT", "AuditEntry", "AuditLog"]

MAX_QUERY_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float  # epoch seconds
    username: str
    action: str
    target: str
    account: str | None
    detail: dict[str, Any]
    ip: str


class AuditLog:
    """Append and read audit entries on a SQLAlchemy engine (SQLite or PostgreSQL, migrated)."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def record(
        self,
        username: str,
        action: str,
        target: str = "",
        account: str | None = None,
        detail: Mapping[str, Any] | None = None,
        ip: str = "",
    ) -> int:
        """Write one entry in its own transaction; returns its id."""
        with self._engine.begin() as conn:
            return self.record_in(conn, username, action, target, account, detail, ip)

    def record_in(
        self,
        conn: sa.Connection,
        username: str,
        action: str,
        target: str = "",
        account: str | None = None,
        detail: Mapping[str, Any] | None = None,
        ip: str = "",
    ) -> int:
        """Write one entry on `conn`, inside the caller's transaction; returns its id.

        `detail` must be a JSON object of plain data (no NaN); anything else is a ValueError or
        TypeError before anything is written.
        """
        if not action:
            raise ValueError("an audit entry needs an action")
        payload = dict(detail or {})
        json.dumps(payload, allow_nan=False)  # refuse what would not survive the JSON column
        result = conn.execute(
            audit_log.insert().values(
                at=self._clock(),
                username=username,
                action=action,
                target=target,
                account=account,
                detail=payload,
                ip=ip,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def query(
        self,
        account_filter: frozenset[str] | None,
        limit: int = 100,
        before_id: int | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        """Entries newest first (at most `limit`, capped at 1000), scoped by `account_filter`.

        `before_id` pages backwards (entries with a smaller id); `action` keeps one action only.
        """
        if account_filter is not None and not account_filter:
            return []
        limit = max(1, min(int(limit), MAX_QUERY_LIMIT))
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if account_filter is not None:
            query = query.where(audit_log.c.account.in_(sorted(account_filter)))
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(
                id=int(r.id),
                at=float(r.at),
                username=r.username,
                action=r.action,
                target=r.target,
                account=r.account,
                detail=dict(r.detail or {}),
                ip=r.ip,
            )
            for r in rows
        ]
