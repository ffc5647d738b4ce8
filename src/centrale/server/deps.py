"""Who is asking: the request's principal, from an API token or a session cookie (with CSRF).

* ``Authorization: Bearer ctr_…`` — an API token, for integrations. No cookie, so no CSRF check.
* the ``centrale_session`` cookie — the browser. Every request that changes something (any method
  but GET, HEAD and OPTIONS) must also carry the session's CSRF token in ``X-CSRF-Token``; the
  cookie is ``HttpOnly`` and ``SameSite=Lax``, the token is read by the page from ``/api/me``.

Routes state what they need with ``Depends(need(Permission.X))``; account scoping is the route's
job, with :func:`check_account` and the principal's ``account_filter()``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request

from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal, tokens_equal
from centrale.server.services import Services

SESSION_COOKIE = "centrale_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def principal(request: Request) -> Principal:
    """The authenticated principal; 401 when there is none."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        p: Principal = cached
        return p
    svc = services(request)
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, secret = auth.partition(" ")
        if scheme.lower() != "bearer" or not secret:
            raise ApiError(401, "auth.invalid", "the Authorization header must be 'Bearer <token>'")
        found = svc.users.token(secret.strip())
        if found is None:
            raise ApiError(401, "auth.invalid", "the API token is unknown or revoked")
        request.state.principal = found
        return found
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise ApiError(401, "auth.required", "log in first")
    session = svc.users.session(cookie)
    if session is None:
        raise ApiError(401, "auth.expired", "the session has expired; log in again")
    who, csrf = session
    if request.method not in _SAFE:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not tokens_equal(sent, csrf):
            raise ApiError(403, "auth.csrf", f"missing or wrong {CSRF_HEADER} header")
    request.state.principal = who
    request.state.csrf = csrf
    return who


def need(permission: Permission) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency: the principal, who must hold `permission` (403 otherwise)."""

    async def dependency(request: Request) -> Principal:
        who = await principal(request)
        if not who.can(permission):
            raise ApiError(
                403, "auth.forbidden", f"the {who.role.value} role may not do this ({permission.value})"
            )
        return who

    return dependency


def check_account(who: Principal, account: str) -> None:
    """404 rather than 403 for another account's data: its existence is not disclosed."""
    if not who.sees_account(account):
        raise ApiError(404, "not_found", "no such resource")


def plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A result row as a dict with plain `str` keys. SQLAlchemy's keys are a `str` subclass that
    pydantic serialises very slowly (half the time of a 50-row page)."""
    return {str(k): v for k, v in row.items()}


def client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else ""
