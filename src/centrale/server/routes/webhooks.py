"""Webhooks: subscribe an external system (a CRM, a ticketing tool) to events, see its deliveries.

Administrators manage them (`config.write`). A webhook for one account gets only that account's
events; one without an account gets every account's. The secret is shown on creation and on
rotation only; the signing scheme is described in `centrale.server.webhooks`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from centrale.server.deps import MAX_SQL_INT, audit, need, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal
from centrale.server.webhooks import WEBHOOK_KINDS, WebhookError, WebhookStore

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
_WRITE = Depends(need(Permission.CONFIG_WRITE))


class WebhookBody(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=50, description='event kinds, or ["*"] for all')
    account: str | None = Field(None, max_length=64)
    active: bool = True


class WebhookChange(BaseModel):
    url: str | None = Field(None, min_length=1, max_length=2000)
    events: list[str] | None = Field(None, min_length=1, max_length=50)
    active: bool | None = None


def _store(request: Request) -> WebhookStore:
    store = services(request).webhooks
    if store is None:
        raise ApiError(404, "webhooks.disabled", "webhooks are switched off on this server")
    return store


def _found(request: Request, webhook: str) -> Any:
    hook = _store(request).get(webhook)
    if hook is None:
        raise ApiError(404, "webhook.unknown", f"no webhook {webhook!r}")
    return hook


@router.get("/kinds")
async def kinds(request: Request, who: Principal = _WRITE) -> list[dict[str, str]]:
    """The event kinds a webhook can subscribe to."""
    return [{"kind": k.name, "description": k.description} for k in WEBHOOK_KINDS.values()]


@router.get("")
async def list_webhooks(request: Request, who: Principal = _WRITE) -> list[dict[str, Any]]:
    return [h.to_dict() for h in _store(request).list(who.account_filter())]


@router.post("", status_code=201)
async def create_webhook(body: WebhookBody, request: Request, who: Principal = _WRITE) -> dict[str, Any]:
    """Subscribe a URL; the answer holds the signing secret — the only time it is shown."""
    store = _store(request)
    if body.account is not None and body.account not in services(request).engine.accounts:
        raise ApiError(422, "config.invalid", f"account: unknown account {body.account!r}")
    try:
        ident, secret = store.create(body.url, body.events, body.account, active=body.active)
    except WebhookError as exc:
        raise ApiError(422, "webhook.invalid", str(exc)) from exc
    audit(request, who, "webhook.create", ident, body.account, {"url": body.url, "events": body.events})
    return {**_found(request, ident).to_dict(), "secret": secret}


@router.get("/{webhook}")
async def get_webhook(webhook: str, request: Request, who: Principal = _WRITE) -> dict[str, Any]:
    result: dict[str, Any] = _found(request, webhook).to_dict()
    return result


@router.patch("/{webhook}")
async def change_webhook(
    webhook: str, body: WebhookChange, request: Request, who: Principal = _WRITE
) -> dict[str, Any]:
    hook = _found(request, webhook)
    try:
        _store(request).update(webhook, url=body.url, events=body.events, active=body.active)
    except WebhookError as exc:
        raise ApiError(422, "webhook.invalid", str(exc)) from exc
    audit(request, who, "webhook.update", webhook, hook.account, body.model_dump(exclude_none=True))
    result: dict[str, Any] = _found(request, webhook).to_dict()
    return result


@router.delete("/{webhook}", status_code=204)
async def delete_webhook(webhook: str, request: Request, who: Principal = _WRITE) -> Response:
    hook = _found(request, webhook)
    _store(request).delete(webhook)
    audit(request, who, "webhook.delete", webhook, hook.account, None)
    return Response(status_code=204)


@router.post("/{webhook}/rotate-secret")
async def rotate_secret(webhook: str, request: Request, who: Principal = _WRITE) -> dict[str, str]:
    hook = _found(request, webhook)
    secret = _store(request).rotate_secret(webhook)
    audit(request, who, "webhook.rotate_secret", webhook, hook.account, None)
    return {"id": webhook, "secret": secret}


@router.get("/{webhook}/deliveries")
async def deliveries(
    webhook: str,
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    status: str | None = Query(None, pattern="^(pending|delivered|failed)$"),
    before: int | None = Query(None, ge=1, le=MAX_SQL_INT),
    who: Principal = _WRITE,
) -> list[dict[str, Any]]:
    """The webhook's deliveries, newest first: status, attempts, last error."""
    _found(request, webhook)
    return [
        d.to_dict() for d in _store(request).deliveries(webhook, limit=limit, status=status, before=before)
    ]


@router.post("/{webhook}/deliveries/{delivery}/retry")
async def retry(webhook: str, delivery: int, request: Request, who: Principal = _WRITE) -> dict[str, Any]:
    """Send a failed delivery again."""
    _found(request, webhook)
    if not _store(request).retry(delivery):
        raise ApiError(409, "delivery.not_failed", "only a failed delivery can be retried")
    return {"ok": True}
