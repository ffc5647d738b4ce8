"""Logging in and out, who am I, and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from centrale.server.deps import SESSION_COOKIE, client_ip, principal, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal
from centrale.server.users import UserError

router = APIRouter(prefix="/api", tags=["auth"])


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    username: str
    role: str
    accounts: list[str]
    agent: str | None
    csrf: str | None = None
    permissions: list[str]


class TokenRequest(BaseModel):
    name: str = Field("", max_length=100)


class TokenCreated(BaseModel):
    token: str
    name: str


def _me(who: Principal, csrf: str | None) -> Me:
    return Me(
        username=who.username,
        role=who.role.value,
        accounts=sorted(who.accounts),
        agent=who.agent,
        csrf=csrf,
        permissions=sorted(p.value for p in Permission if who.can(p)),
    )


@router.post("/login", response_model=Me, responses={401: {}, 429: {}})
async def login(data: Login, request: Request, response: Response) -> Me:
    """Log in with a username and password: sets the session cookie and returns the CSRF token."""
    svc = services(request)
    ip = client_ip(request)
    wait = svc.limiter.check(data.username, ip)
    if wait is not None:
        raise ApiError(
            429,
            "auth.rate_limited",
            f"too many failed logins; try again in {int(wait) + 1} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    who = svc.users.authenticate(data.username, data.password)
    if who is None:
        svc.limiter.failure(data.username, ip)
        raise ApiError(401, "auth.failed", "wrong username or password")
    svc.limiter.success(data.username, ip)
    secret, csrf = svc.users.open_session(who.username)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=svc.settings.secure_cookies,
        max_age=int(svc.settings.session_hours * 3600),
        path="/",
    )
    svc.audit.record(who.username, "auth.login", ip=ip)
    return _me(who, csrf)


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, who: Principal = Depends(principal)) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        services(request).users.close_session(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=Me)
async def me(request: Request, who: Principal = Depends(principal)) -> Me:
    """The logged-in user, the permissions the role gives, and the CSRF token for this session."""
    return _me(who, getattr(request.state, "csrf", None))


@router.post("/tokens", response_model=TokenCreated, status_code=201)
async def create_token(
    data: TokenRequest, request: Request, who: Principal = Depends(principal)
) -> TokenCreated:
    """A new API token for the logged-in user (shown once; only its digest is kept)."""
    svc = services(request)
    try:
        token = svc.users.create_token(who.username, data.name)
    except UserError as exc:
        raise ApiError(422, exc.code, exc.message) from exc
    svc.audit.record(who.username, "token.create", target=data.name, ip=client_ip(request))
    return TokenCreated(token=token, name=data.name)
