"""Scheduled callbacks: those agents agreed with customers at wrap-up (see server/callbacks.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response

from centrale.server.deps import check_account, client_ip, need, plain, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal
from centrale.storage.schema import scheduled_callbacks

router = APIRouter(prefix="/api/callbacks", tags=["interactions"])


@router.get("")
async def list_callbacks(
    request: Request,
    status: str | None = Query(None, pattern="^(scheduled|queued|cancelled)$"),
    limit: int = Query(100, ge=1, le=1000),
    who: Principal = Depends(need(Permission.INTERACTIONS_READ)),
) -> list[dict[str, Any]]:
    """Callbacks of your accounts, soonest first."""
    where: list[sa.ColumnElement[bool]] = []
    scope = who.account_filter()
    if scope is not None:
        where.append(scheduled_callbacks.c.account.in_(sorted(scope)))
    if status is not None:
        where.append(scheduled_callbacks.c.status == status)
    with services(request).store.sql.connect() as conn:
        rows = conn.execute(
            sa.select(scheduled_callbacks).where(*where).order_by(scheduled_callbacks.c.due).limit(limit)
        ).mappings()
        return [plain(r) for r in rows]


@router.delete("/{callback}", status_code=204)
async def cancel_callback(
    callback: str, request: Request, who: Principal = Depends(need(Permission.AGENT_CONTROL))
) -> Response:
    """Cancel a callback that is still scheduled."""
    svc = services(request)
    with svc.store.sql.connect() as conn:
        row = conn.execute(sa.select(scheduled_callbacks).where(scheduled_callbacks.c.id == callback)).first()
    if row is None:
        raise ApiError(404, "callback.unknown", f"no callback {callback!r}")
    check_account(who, row.account)
    if not svc.extras["callbacks"].cancel(callback):
        raise ApiError(409, "callback.not_scheduled", f"the callback is {row.status} already")
    svc.audit.record(
        who.username, "callback.cancel", target=callback, account=row.account, ip=client_ip(request)
    )
    return Response(status_code=204)
