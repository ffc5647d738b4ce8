"""Interactions: search, detail with the full timeline, CSV export, and creating one (integrations)."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from centrale.core import events as E
from centrale.server.deps import check_account, client_ip, need, plain, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal
from centrale.storage.schema import interactions, timeline

router = APIRouter(prefix="/api/interactions", tags=["interactions"])

COLUMNS = (
    "id",
    "account",
    "queue",
    "channel",
    "direction",
    "contact",
    "parent",
    "state",
    "arrived",
    "answered",
    "ended",
    "agent",
    "disposition",
    "notes",
)


class NewInteraction(BaseModel):
    queue: str = Field(min_length=1, max_length=100)
    contact: str | None = Field(None, max_length=200)
    priority: int | None = Field(None, ge=-1000, le=1000)
    attributes: dict[str, str | int | float | bool | None] | None = None
    id: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")


def _filters(
    who: Principal,
    account: str | None,
    queue: str | None,
    agent: str | None,
    contact: str | None,
    state: str | None,
    since: float | None,
    until: float | None,
) -> list[Any]:
    where: list[Any] = []
    scope = who.account_filter()
    if scope is not None:
        where.append(interactions.c.account.in_(sorted(scope)))
    if account is not None:
        where.append(interactions.c.account == account)
    for column, value in (("queue", queue), ("agent", agent), ("contact", contact), ("state", state)):
        if value is not None:
            where.append(interactions.c[column] == value)
    if since is not None:
        where.append(interactions.c.arrived >= since)
    if until is not None:
        where.append(interactions.c.arrived < until)
    return where


@router.get("")
async def search(
    request: Request,
    account: str | None = None,
    queue: str | None = None,
    agent: str | None = None,
    contact: str | None = None,
    state: str | None = None,
    since: float | None = Query(None, description="arrived at or after (epoch seconds)"),
    until: float | None = Query(None, description="arrived before (epoch seconds)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000),
    who: Principal = Depends(need(Permission.INTERACTIONS_READ)),
) -> dict[str, Any]:
    """Interactions of your accounts, newest first, filtered."""
    where = _filters(who, account, queue, agent, contact, state, since, until)
    sql = services(request).store.sql
    with sql.connect() as conn:
        rows = conn.execute(
            sa.select(*(interactions.c[c] for c in COLUMNS))
            .where(*where)
            .order_by(interactions.c.arrived.desc(), interactions.c.id)
            .limit(limit)
            .offset(offset)
        ).mappings()
        items = [plain(r) for r in rows]
    return {"items": items, "limit": limit, "offset": offset}


@router.get(".csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def export_csv(
    request: Request,
    account: str | None = None,
    queue: str | None = None,
    agent: str | None = None,
    since: float | None = None,
    until: float | None = None,
    who: Principal = Depends(need(Permission.EXPORT)),
) -> Response:
    """Every matching interaction as CSV (times in ISO 8601, UTC). The export is audited."""
    where = _filters(who, account, queue, agent, None, None, since, until)
    svc = services(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    with svc.store.sql.connect() as conn:
        rows = conn.execute(
            sa.select(*(interactions.c[c] for c in COLUMNS)).where(*where).order_by(interactions.c.arrived)
        )
        for row in rows:
            writer.writerow(
                [
                    _iso(v) if c in ("arrived", "answered", "ended") else v
                    for c, v in zip(COLUMNS, row, strict=True)
                ]
            )
            count += 1
    svc.audit.record(
        who.username,
        "export.interactions",
        account=account,
        detail={"rows": count, "queue": queue, "agent": agent, "since": since, "until": until},
        ip=client_ip(request),
    )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="interactions.csv"'},
    )


def _iso(value: Any) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(float(value)).astimezone().isoformat(timespec="seconds")


@router.get("/{interaction}")
async def detail(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.INTERACTIONS_READ))
) -> dict[str, Any]:
    """One interaction with its whole timeline (every event and routing step, in order)."""
    sql = services(request).store.sql
    with sql.connect() as conn:
        row = conn.execute(sa.select(interactions).where(interactions.c.id == interaction)).mappings().first()
        if row is None:
            raise ApiError(404, "interaction.unknown", f"no interaction {interaction!r}")
        check_account(who, row["account"])
        lines = conn.execute(
            sa.select(timeline.c.seq, timeline.c.at, timeline.c.kind, timeline.c.detail)
            .where(timeline.c.interaction == interaction)
            .order_by(timeline.c.seq, timeline.c.pos)
        ).mappings()
        return {**plain(row), "timeline": [plain(x) for x in lines]}


@router.post("", status_code=201)
async def create(
    body: NewInteraction, request: Request, who: Principal = Depends(need(Permission.CONFIG_WRITE))
) -> dict[str, Any]:
    """Put a new interaction in a queue (an e-mail, chat or call an integration received)."""
    svc = services(request)
    queue = svc.engine.queues.get(body.queue)
    if queue is None:
        raise ApiError(404, "queue.unknown", f"no queue {body.queue!r}")
    check_account(who, queue.config.account)
    ident = body.id or f"api-{secrets.token_hex(8)}"
    if body.id is not None:
        with svc.store.sql.connect() as conn:
            taken = conn.execute(sa.select(interactions.c.id).where(interactions.c.id == ident)).first()
        if taken is not None or ident in svc.engine.interactions:
            raise ApiError(409, "interaction.duplicate", f"interaction {ident!r} exists already")
    await svc.writer.submit(
        E.InteractionArrived(
            ident, body.queue, body.priority, dict(body.attributes or {}) or None, body.contact, None
        )
    )
    return {"id": ident, "queue": body.queue, "state": "queued"}
