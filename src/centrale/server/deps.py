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
from typing import TYPE_CHECKING, Any

from fastapi import Request

from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal, tokens_equal
from centrale.server.services import Services

if TYPE_CHECKING:
    from centrale.core.engine import Engine

SESSION_COOKIE = "centrale_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


# The largest integer SQLite and PostgreSQL (BIGINT) hold: the upper bound of every id or offset a
# request may pass to a query, so an absurd value is a 422 rather than an overflow in the database.
MAX_SQL_INT = 2**63 - 1


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


def agent_of(who: Principal, engine: Engine) -> str:
    """The agent the principal works as: 403 for a user who is no agent, 404 when not configured."""
    if who.agent is None:
        raise ApiError(403, "desktop.no_agent", "this user does not work as an agent")
    if who.agent not in engine.agents:
        raise ApiError(404, "agent.unknown", f"agent {who.agent!r} is not configured")
    return who.agent


def audit(
    request: Request, who: Principal, action: str, target: str, account: str | None, detail: Any
) -> None:
    """Record `who`'s `action` on `target` in the audit log, with the client's address."""
    services(request).audit.record(
        who.username, action, target=target, account=account, detail=detail, ip=client_ip(request)
    )
