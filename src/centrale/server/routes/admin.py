"""Administration: users and roles, the audit log, and GDPR requests (export and erase a customer)."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from centrale.server.deps import MAX_SQL_INT, client_ip, need, plain, services
from centrale.server.deps import audit as audit_entry  # this module's /audit route is `audit`
from centrale.server.errors import ApiError
from centrale.server.privacy import erase_interactions
from centrale.server.security import Permission, Principal
from centrale.server.users import UNSET, UserError, UserRecord
from centrale.storage.schema import interactions, timeline

router = APIRouter(prefix="/api", tags=["administration"])


class UserOut(BaseModel):
    username: str
    role: str
    accounts: list[str]
    agent: str | None
    disabled: bool


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: str
    accounts: list[str] = Field(default_factory=list)
    agent: str | None = None


class UserChange(BaseModel):
    role: str | None = None
    accounts: list[str] | None = None
    agent: str | None = Field(None, description="the agent this user works as; empty string clears it")
    disabled: bool | None = None
    password: str | None = Field(None, min_length=1, max_length=1024)


def _out(u: UserRecord) -> UserOut:
    return UserOut(
        username=u.username, role=u.role.value, accounts=list(u.accounts), agent=u.agent, disabled=u.disabled
    )


def _user_error(exc: UserError) -> ApiError:
    suffix = exc.code.rsplit(".", 1)[-1]
    status = 404 if suffix == "not_found" else 409 if suffix == "exists" else 422
    return ApiError(status, exc.code, str(exc))


@router.get("/users", response_model=list[UserOut])
async def list_users(
    request: Request, who: Principal = Depends(need(Permission.CONFIG_WRITE))
) -> list[UserOut]:
    return [_out(u) for u in services(request).users.list()]


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(
    body: NewUser, request: Request, who: Principal = Depends(need(Permission.CONFIG_WRITE))
) -> UserOut:
    svc = services(request)
    try:
        svc.users.create(body.username, body.password, body.role, body.accounts, body.agent)
    except UserError as exc:
        raise _user_error(exc) from exc
    audit_entry(
        request,
        who,
        "user.create",
        body.username,
        None,
        {"role": body.role, "accounts": body.accounts, "agent": body.agent},
    )
    record = svc.users.get(body.username)
    assert record is not None
    return _out(record)


@router.patch("/users/{username}", response_model=UserOut)
async def change_user(
    username: str, body: UserChange, request: Request, who: Principal = Depends(need(Permission.CONFIG_WRITE))
) -> UserOut:
    svc = services(request)
    try:
        record = svc.users.update(
            username,
            role=body.role,
            accounts=body.accounts,
            agent=UNSET if body.agent is None else (body.agent or None),
            disabled=body.disabled,
        )
        if body.password is not None:
            svc.users.set_password(username, body.password)
    except UserError as exc:
        raise _user_error(exc) from exc
    detail = body.model_dump(exclude_none=True, exclude={"password"})
    if body.password is not None:
        detail["password"] = "changed"
    audit_entry(request, who, "user.update", username, None, detail)
    return _out(svc.users.get(username) or record)


@router.delete("/users/{username}", status_code=204)
async def delete_user(
    username: str, request: Request, who: Principal = Depends(need(Permission.CONFIG_WRITE))
) -> Response:
    svc = services(request)
    if username == who.username:
        raise ApiError(409, "user.self", "you cannot delete yourself")
    try:
        svc.users.delete(username)
    except UserError as exc:
        raise _user_error(exc) from exc
    audit_entry(request, who, "user.delete", username, None, None)
    return Response(status_code=204)


@router.get("/audit")
async def audit(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(None, ge=1, le=MAX_SQL_INT),
    action: str | None = None,
    who: Principal = Depends(need(Permission.AUDIT_READ)),
) -> dict[str, Any]:
    """Configuration changes, exports, logins and GDPR requests, newest first."""
    entries = services(request).audit.query(
        who.account_filter(), limit=limit, before_id=before, action=action
    )
    return {"items": [dataclasses.asdict(e) for e in entries]}


# --- GDPR -----------------------------------------------------------------------------------------
# A customer is found by their contact (phone number in E.164, e-mail address or customer id);
# erasure is centrale.server.privacy.erase_interactions.


class ErasureRequest(BaseModel):
    contact: str = Field(min_length=1, max_length=200)
    account: str | None = None


def _customer_rows(
    conn: sa.Connection, who: Principal, contact: str, account: str | None
) -> list[dict[str, Any]]:
    where = [interactions.c.contact == contact]
    scope = who.account_filter()
    if scope is not None:
        where.append(interactions.c.account.in_(sorted(scope)))
    if account is not None:
        where.append(interactions.c.account == account)
    return [
        plain(r)
        for r in conn.execute(
            sa.select(interactions).where(*where).order_by(interactions.c.arrived)
        ).mappings()
    ]


def _with_segments(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[str]:
    """The interactions and every segment continuing them (transfers keep the contact anyway)."""
    ids = {r["id"] for r in rows}
    frontier = set(ids)
    while frontier:
        children = {
            r[0]
            for r in conn.execute(
                sa.select(interactions.c.id).where(interactions.c.parent.in_(sorted(frontier)))
            )
        }
        frontier = children - ids
        ids |= children
    return sorted(ids)


@router.get("/gdpr/customer")
async def gdpr_export(
    request: Request,
    contact: str = Query(min_length=1, max_length=200),
    account: str | None = None,
    who: Principal = Depends(need(Permission.GDPR)),
) -> dict[str, Any]:
    """Everything stored about one customer: interactions with notes, dispositions and timelines."""
    svc = services(request)
    with svc.store.sql.connect() as conn:
        rows = _customer_rows(conn, who, contact, account)
        for row in rows:
            row["timeline"] = [
                plain(t)
                for t in conn.execute(
                    sa.select(timeline.c.at, timeline.c.kind, timeline.c.detail)
                    .where(timeline.c.interaction == row["id"])
                    .order_by(timeline.c.seq, timeline.c.pos)
                ).mappings()
            ]
    audit_entry(request, who, "gdpr.export", contact, account, {"interactions": len(rows)})
    return {"contact": contact, "interactions": rows}


@router.post("/gdpr/erase")
async def gdpr_erase(
    body: ErasureRequest, request: Request, who: Principal = Depends(need(Permission.GDPR))
) -> dict[str, Any]:
    """Erase one customer: interactions, timelines and the personal fields of their stored events."""
    svc = services(request)
    await svc.writer.drained()  # nothing of theirs half-way through a batch
    with svc.store.sql.begin() as conn:
        rows = _customer_rows(conn, who, body.contact, body.account)
        ids = _with_segments(conn, rows)
        still_open = [i for i in ids if i in svc.engine.interactions]
        if still_open:
            raise ApiError(
                409,
                "gdpr.open_interactions",
                f"{len(still_open)} of this customer's interactions are still going on; erase when they end",
            )
        erased_events = erase_interactions(conn, ids)
        svc.audit.record_in(
            conn,
            who.username,
            "gdpr.erase",
            target="(erased customer)",
            account=body.account,
            detail={"interactions": len(ids), "events": erased_events},
            ip=client_ip(request),
        )
    return {"interactions": len(ids), "events": erased_events}
