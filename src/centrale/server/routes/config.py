"""Configuration: accounts, dispositions, queues, agents and skills.

Every change is an engine event (``AccountConfigured``, ``QueueConfigured``, ``AgentAdded``, …)
submitted through the writer, so it is validated by the engine, stored in the log before it takes
effect, replayed after a restart, and audited. Reads come from the engine: what it routes with is
what the API shows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, Request, Response

from centrale.core import events as E
from centrale.core.config import Account, Disposition
from centrale.server.center import (
    AccountBody,
    AgentBody,
    ConfigProblem,
    DispositionBody,
    queue_config,
    queue_document,
)
from centrale.server.deps import audit, check_account, need, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal
from centrale.storage.schema import accounts as accounts_table

router = APIRouter(prefix="/api", tags=["configuration"])

_READ = Depends(need(Permission.CONFIG_READ))
_WRITE = Depends(need(Permission.CONFIG_WRITE))


# --- accounts -------------------------------------------------------------------------------------
def _account_out(a: Account, settings: dict[str, Any] | None) -> dict[str, Any]:
    settings = settings or {}
    return {
        "id": a.id,
        "name": a.name,
        "retention_days": settings.get("retention_days"),
        "weekly_sales_target": settings.get("weekly_sales_target"),
    }


@router.get("/accounts")
async def list_accounts(request: Request, who: Principal = _READ) -> list[dict[str, Any]]:
    svc = services(request)
    with svc.store.sql.connect() as conn:
        rows = conn.execute(sa.select(accounts_table.c.id, accounts_table.c.settings)).all()
    settings = {account: value for account, value in rows}
    return [
        _account_out(a, settings.get(a.id))
        for a in sorted(svc.engine.accounts.values(), key=lambda a: a.id)
        if who.sees_account(a.id)
    ]


@router.post("/accounts", status_code=201)
async def create_account(body: AccountBody, request: Request, who: Principal = _WRITE) -> dict[str, Any]:
    svc = services(request)
    if body.id in svc.engine.accounts:
        raise ApiError(409, "account.exists", f"account {body.id!r} exists already")
    return await _save_account(body, request, who, "account.create")


@router.put("/accounts/{account}")
async def update_account(
    account: str, body: AccountBody, request: Request, who: Principal = _WRITE
) -> dict[str, Any]:
    if body.id != account:
        raise ApiError(422, "request.invalid", "id: the id in the body must match the URL")
    if account not in services(request).engine.accounts:
        raise ApiError(404, "account.unknown", f"no account {account!r}")
    return await _save_account(body, request, who, "account.update")


async def _save_account(body: AccountBody, request: Request, who: Principal, action: str) -> dict[str, Any]:
    svc = services(request)
    await svc.writer.submit(E.AccountConfigured(Account(body.id, body.name)))
    with svc.store.sql.begin() as conn:
        current = (
            conn.execute(sa.select(accounts_table.c.settings).where(accounts_table.c.id == body.id)).scalar()
            or {}
        )
        current = {
            **current,
            "retention_days": body.retention_days,
            "weekly_sales_target": body.weekly_sales_target,
        }
        conn.execute(accounts_table.update().where(accounts_table.c.id == body.id).values(settings=current))
    audit(request, who, action, body.id, body.id, body.model_dump())
    return _account_out(svc.engine.accounts[body.id], current)


# --- dispositions ---------------------------------------------------------------------------------
def _disposition_out(d: Disposition) -> dict[str, Any]:
    return {"code": d.code, "label": d.label, "category": d.category, "account": d.account}


@router.get("/dispositions")
async def list_dispositions(
    request: Request, who: Principal = Depends(need(Permission.REPORTS_READ))
) -> list[dict[str, Any]]:
    engine = services(request).engine
    return [
        _disposition_out(d)
        for d in sorted(engine.dispositions.values(), key=lambda d: d.code)
        if d.account is None or who.sees_account(d.account)
    ]


@router.post("/dispositions", status_code=201)
async def create_disposition(
    body: DispositionBody, request: Request, who: Principal = _WRITE
) -> dict[str, Any]:
    if body.code in services(request).engine.dispositions:
        raise ApiError(409, "disposition.exists", f"disposition {body.code!r} exists already")
    return await _save_disposition(body, request, who, "disposition.create")


@router.put("/dispositions/{code}")
async def update_disposition(
    code: str, body: DispositionBody, request: Request, who: Principal = _WRITE
) -> dict[str, Any]:
    if body.code != code:
        raise ApiError(422, "request.invalid", "code: the code in the body must match the URL")
    if code not in services(request).engine.dispositions:
        raise ApiError(404, "disposition.unknown", f"no disposition {code!r}")
    return await _save_disposition(body, request, who, "disposition.update")


async def _save_disposition(
    body: DispositionBody, request: Request, who: Principal, action: str
) -> dict[str, Any]:
    d = Disposition(body.code, body.label or body.code, body.category, body.account)
    await services(request).writer.submit(E.DispositionConfigured(d))
    audit(request, who, action, d.code, d.account, body.model_dump())
    return _disposition_out(d)


@router.delete("/dispositions/{code}", status_code=204)
async def delete_disposition(code: str, request: Request, who: Principal = _WRITE) -> Response:
    await services(request).writer.submit(E.DispositionRemoved(code))
    audit(request, who, "disposition.delete", code, None, {})
    return Response(status_code=204)


# --- queues ---------------------------------------------------------------------------------------
@router.get("/queues")
async def list_queues(
    request: Request, who: Principal = Depends(need(Permission.REPORTS_READ))
) -> list[dict[str, Any]]:
    engine = services(request).engine
    return [
        queue_document(rt.config)
        for q, rt in sorted(engine.queues.items())
        if who.sees_account(rt.config.account)
    ]


@router.get("/queues/{queue}")
async def get_queue(
    queue: str, request: Request, who: Principal = Depends(need(Permission.REPORTS_READ))
) -> dict[str, Any]:
    rt = services(request).engine.queues.get(queue)
    if rt is None or not who.sees_account(rt.config.account):
        raise ApiError(404, "queue.unknown", f"no queue {queue!r}")
    return queue_document(rt.config)


QUEUE_EXAMPLE = {
    "id": "sales-nl",
    "name": "Sales NL",
    "account": "acme",
    "channel": "voice",
    "requires": "sales >= 3 and nl >= 5",
    "service_level": {"target": 0.8, "threshold": 20},
    "wrap_up": {"mode": "agent", "max": 120},
    "hours": {"weekly": {"mon-fri": "08:00-20:00", "sat": "10:00-16:00"}, "holidays": "NL"},
}


async def _save_queue(body: dict[str, Any], request: Request, who: Principal, action: str) -> dict[str, Any]:
    svc = services(request)
    try:
        cfg = queue_config(body, svc.engine, svc.settings.timezone, svc.writer.now())
    except ConfigProblem as exc:
        raise ApiError(422, "config.invalid", str(exc)) from None
    check_account(who, cfg.account)
    await svc.writer.submit(E.QueueConfigured(cfg))
    audit(request, who, action, cfg.id, cfg.account, body)
    return queue_document(svc.engine.queues[cfg.id].config)


@router.post("/queues", status_code=201)
async def create_queue(
    request: Request,
    who: Principal = _WRITE,
    body: dict[str, Any] = Body(openapi_examples={"voice": {"value": QUEUE_EXAMPLE}}),
) -> dict[str, Any]:
    """Create a queue. The document is a queue as in a scenario file (docs/simulator.md)."""
    if isinstance(body.get("id"), str) and body["id"] in services(request).engine.queues:
        raise ApiError(409, "queue.exists", f"queue {body['id']!r} exists already")
    return await _save_queue(body, request, who, "queue.create")


@router.put("/queues/{queue}")
async def update_queue(
    queue: str,
    request: Request,
    who: Principal = _WRITE,
    body: dict[str, Any] = Body(openapi_examples={"voice": {"value": QUEUE_EXAMPLE}}),
) -> dict[str, Any]:
    """Replace a queue's settings; routing changes wait until no interaction is open (409 queue.busy)."""
    rt = services(request).engine.queues.get(queue)
    if rt is None:
        raise ApiError(404, "queue.unknown", f"no queue {queue!r}")
    if body.get("id", queue) != queue:
        raise ApiError(422, "request.invalid", "id: the id in the body must match the URL")
    return await _save_queue({**body, "id": queue}, request, who, "queue.update")


@router.delete("/queues/{queue}", status_code=204)
async def delete_queue(queue: str, request: Request, who: Principal = _WRITE) -> Response:
    await services(request).writer.submit(E.QueueRemoved(queue))
    audit(request, who, "queue.delete", queue, None, {})
    return Response(status_code=204)


# --- agents and skills ----------------------------------------------------------------------------
def _agent_out(engine: Any, agent_id: str) -> dict[str, Any]:
    a = engine.agents[agent_id]
    return {
        "id": a.id,
        "account": a.account,
        "name": a.name,
        "team": a.team,
        "site": a.site,
        "skills": dict(a.skills),
        "capacity": dict(a.capacity),
        "state": a.state.name.lower(),
    }


@router.get("/agents")
async def list_agents(
    request: Request, who: Principal = Depends(need(Permission.REPORTS_READ))
) -> list[dict[str, Any]]:
    engine = services(request).engine
    return [
        _agent_out(engine, a) for a in sorted(engine.agents) if who.sees_account(engine.agents[a].account)
    ]


@router.post("/agents", status_code=201)
async def create_agent(body: AgentBody, request: Request, who: Principal = _WRITE) -> dict[str, Any]:
    svc = services(request)
    if body.account not in svc.engine.accounts:
        raise ApiError(422, "config.invalid", f"account: unknown account {body.account!r}")
    await svc.writer.submit(E.AgentAdded(body.config()))
    audit(request, who, "agent.create", body.id, body.account, body.model_dump())
    return _agent_out(svc.engine, body.id)


@router.put("/agents/{agent}")
async def update_agent(
    agent: str, body: AgentBody, request: Request, who: Principal = _WRITE
) -> dict[str, Any]:
    svc = services(request)
    if body.id != agent:
        raise ApiError(422, "request.invalid", "id: the id in the body must match the URL")
    if agent not in svc.engine.agents:
        raise ApiError(404, "agent.unknown", f"no agent {agent!r}")
    if body.account not in svc.engine.accounts:
        raise ApiError(422, "config.invalid", f"account: unknown account {body.account!r}")
    await svc.writer.submit(E.AgentUpdated(body.config()))
    audit(request, who, "agent.update", agent, body.account, body.model_dump())
    return _agent_out(svc.engine, agent)


@router.delete("/agents/{agent}", status_code=204)
async def delete_agent(agent: str, request: Request, who: Principal = _WRITE) -> Response:
    svc = services(request)
    a = svc.engine.agents.get(agent)
    if a is None:
        raise ApiError(404, "agent.unknown", f"no agent {agent!r}")
    await svc.writer.submit(E.AgentRemoved(agent))
    audit(request, who, "agent.delete", agent, a.account, {})
    return Response(status_code=204)


@router.get("/skills")
async def list_skills(
    request: Request, who: Principal = Depends(need(Permission.REPORTS_READ))
) -> list[dict[str, Any]]:
    """Every skill an agent of your accounts has, with how many agents have it."""
    engine = services(request).engine
    counts: dict[str, int] = {}
    for a in engine.agents.values():
        if who.sees_account(a.account):
            for s, level in a.skills.items():
                if level > 0:
                    counts[s] = counts.get(s, 0) + 1
    return [{"name": s, "agents": n} for s, n in sorted(counts.items())]
