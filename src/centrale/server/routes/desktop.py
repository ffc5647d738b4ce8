"""The agent desktop's API: the agent's own state and interactions, and what the agent does.

Every action is an engine event submitted through the writer, so it is stored before the answer
comes back; a refused action (accepting an offer that was just revoked, say) answers 409 with the
engine's code and changes nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from centrale.core import events as E
from centrale.core.engine import Engine
from centrale.server.deps import agent_of, need, plain, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal
from centrale.storage.schema import accounts, interactions

router = APIRouter(prefix="/api/desktop", tags=["agent desktop"])

NOT_READY_REASONS = ("break", "lunch", "training", "meeting", "coaching", "other")


class LoginBody(BaseModel):
    ready: bool = False


class NotReadyBody(BaseModel):
    reason: str = Field("break", min_length=1, max_length=40)


class Registration(BaseModel):
    disposition: str | None = Field(None, max_length=64)
    notes: str | None = Field(None, max_length=10000)
    fields: dict[str, Any] | None = None


class TransferBody(BaseModel):
    queue: str | None = None
    agent: str | None = None


def desktop_state(
    engine: Engine, agent_id: str, now: float, history: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    a = engine.agents[agent_id]
    items = []
    for ix_id, role in (
        *((i, "offered") for i in a.offered),
        *((i, "connected") for i in a.connected),
        *((i, "wrap_up") for i in a.wrapping),
    ):
        ix = engine.interactions.get(ix_id)
        if ix is None:
            continue
        queue = engine.queues[ix.queue].config
        allowed = [
            {"code": d.code, "label": d.label, "category": d.category}
            for d in engine.dispositions.values()
            if (d.account is None or d.account == queue.account)
            and (queue.dispositions is None or d.code in queue.dispositions)
        ]
        items.append(
            {
                "id": ix.id,
                "role": role,
                "state": ix.state.name.lower(),
                "queue": ix.queue,
                "queue_name": queue.name or queue.id,
                "account": ix.account,
                "channel": ix.channel,
                "direction": ix.direction,
                "contact": ix.contact,
                "attributes": dict(ix.attributes),
                "offered_at": ix.offered_at,
                "offer_timeout": queue.offer_timeout,
                "answered_at": ix.answered_at,
                "wrap_started": ix.wrap_started,
                "wrap_up_seconds": queue.wrap_up.seconds,
                "disposition": ix.disposition,
                "notes": ix.notes,
                "require_disposition": queue.require_disposition,
                "dispositions": sorted(allowed, key=lambda d: d["label"]),
                "history": history.get(ix.contact or "", []),
            }
        )
    return {
        "agent": {
            "id": a.id,
            "name": a.name or a.id,
            "state": a.state.name.lower(),
            "reason": a.reason,
            "since": a.state_since,
            "pending_reason": a.pending_reason,
            "pending_logout": a.pending_logout,
            "contacts_today": a.contacts_today,
            "skills": dict(a.skills),
        },
        "interactions": items,
        "reasons": list(NOT_READY_REASONS),
        "queues": sorted(
            (
                {"id": q.config.id, "name": q.config.name or q.config.id}
                for q in engine.queues.values()
                if q.config.account == a.account
            ),
            key=lambda q: q["name"],
        ),
        "agents": sorted(
            (
                {"id": o.id, "name": o.name or o.id, "state": o.state.name.lower()}
                for o in engine.agents.values()
                if o.account == a.account and o.id != a.id and o.state.name != "LOGGED_OUT"
            ),
            key=lambda o: o["name"],
        ),
        "at": now,
    }


def contact_history(
    request: Request, contacts: list[str], account: str, limit: int = 10
) -> dict[str, list[dict[str, Any]]]:
    """The customer's earlier contacts (same account), newest first: what the agent needs to know."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not contacts:
        return out
    sql = services(request).store.sql
    cols = [
        interactions.c[n]
        for n in (
            "id",
            "queue",
            "channel",
            "direction",
            "state",
            "arrived",
            "agent",
            "disposition",
            "notes",
            "contact",
        )
    ]
    with sql.connect() as conn:
        for contact in contacts:
            rows = conn.execute(
                sa.select(*cols)
                .where(
                    interactions.c.contact == contact,
                    interactions.c.account == account,
                    interactions.c.ended.is_not(None),
                )
                .order_by(interactions.c.arrived.desc())
                .limit(limit)
            ).mappings()
            out[contact] = [plain(r) for r in rows]
    return out


@router.get("")
async def get_desktop(request: Request, who: Principal = Depends(need(Permission.DESKTOP))) -> dict[str, Any]:
    """The agent's state, its interactions (offered, connected, in wrap-up) with the customer's history."""
    svc = services(request)
    agent = agent_of(who, svc.engine)
    a = svc.engine.agents[agent]
    contacts = []
    for ix_id in (*a.offered, *a.connected, *a.wrapping):
        ix = svc.engine.interactions.get(ix_id)
        if ix is not None and ix.contact:
            contacts.append(ix.contact)
    history = contact_history(request, contacts, a.account)
    state = desktop_state(svc.engine, agent, svc.writer.now(), history)
    state["targets"] = _targets(request, agent, a.account)
    runner = svc.extras.get("dialer")
    for item in state["interactions"]:
        item["campaign"] = runner.material(item["id"], a.name or a.id) if runner is not None else None
    return state


def _targets(request: Request, agent: str, account: str) -> list[dict[str, Any]]:
    """The agent's own target progress: sales this ISO week against the account's weekly target."""
    from centrale.server.routes.reports import week_sales

    with services(request).store.sql.connect() as conn:
        settings = conn.execute(sa.select(accounts.c.settings).where(accounts.c.id == account)).scalar() or {}
    target = settings.get("weekly_sales_target")
    if not target:
        return []
    return [{"label": "sales_this_week", "done": week_sales(request, agent), "target": int(target)}]


@router.get("/events")
async def desktop_events(
    request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> StreamingResponse:
    """Server-sent events: a nudge whenever something about this agent changed."""
    svc = services(request)
    agent = agent_of(who, svc.engine)
    return StreamingResponse(
        svc.hub.desktop_stream(agent),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _do(request: Request, event: Any) -> dict[str, Any]:
    svc = services(request)
    await svc.writer.submit(event)
    return {"ok": True, "seq": svc.writer.stored_seq}


def _own(who: Principal, request: Request, interaction: str) -> str:
    svc = services(request)
    agent = agent_of(who, svc.engine)
    a = svc.engine.agents[agent]
    if interaction not in a.offered and interaction not in a.connected and interaction not in a.wrapping:
        raise ApiError(404, "interaction.unknown", f"interaction {interaction!r} is not yours")
    return agent


@router.post("/login")
async def agent_login(
    body: LoginBody, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    return await _do(request, E.AgentLoggedIn(agent_of(who, services(request).engine), body.ready))


@router.post("/logout")
async def agent_logout(
    request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    return await _do(request, E.AgentLoggedOut(agent_of(who, services(request).engine)))


@router.post("/ready")
async def ready(request: Request, who: Principal = Depends(need(Permission.DESKTOP))) -> dict[str, Any]:
    return await _do(request, E.AgentReady(agent_of(who, services(request).engine)))


@router.post("/not-ready")
async def not_ready(
    body: NotReadyBody, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    return await _do(request, E.AgentNotReady(agent_of(who, services(request).engine), body.reason))


@router.post("/interactions/{interaction}/accept")
async def accept(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    return await _do(request, E.OfferAccepted(interaction, _own(who, request, interaction)))


@router.post("/interactions/{interaction}/reject")
async def reject(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    return await _do(request, E.OfferRejected(interaction, _own(who, request, interaction)))


@router.post("/interactions/{interaction}/hold")
async def hold(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    _own(who, request, interaction)
    return await _do(request, E.HoldStarted(interaction))


@router.post("/interactions/{interaction}/resume")
async def resume(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    _own(who, request, interaction)
    return await _do(request, E.HoldEnded(interaction))


@router.post("/interactions/{interaction}/end")
async def end(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    """End the conversation (hang up, close the chat); wrap-up follows if the queue has one."""
    _own(who, request, interaction)
    return await _do(request, E.InteractionEnded(interaction))


def _check_form(request: Request, interaction: str, body: Registration, *, finishing: bool) -> None:
    """A campaign call's form values must be what the campaign's form accepts (422 otherwise)."""
    runner = services(request).extras.get("dialer")
    if runner is None:
        return
    errors = runner.check_form(interaction, body.fields or {}, finishing=finishing)
    if errors:
        problems = [{"where": f"fields.{k}", "problem": v} for k, v in sorted(errors.items())]
        text = "; ".join(f"{p['where']}: {p['problem']}" for p in problems)
        raise ApiError(422, "form.invalid", text, problems=problems)


def _check_callback(request: Request, body: Registration) -> None:
    """A callback date in the fields must be readable and not in the past (422 otherwise)."""
    from centrale.server.callbacks import FIELD, parse_due

    if body.fields is None or FIELD not in body.fields:
        return
    svc = services(request)
    try:
        due = parse_due(body.fields[FIELD], svc.settings.timezone)
    except ValueError as exc:
        raise ApiError(422, "request.invalid", f"fields.{exc}") from None
    if due < svc.writer.now() - 60:
        raise ApiError(422, "request.invalid", f"fields.{FIELD}: the callback time lies in the past")


@router.post("/interactions/{interaction}/register")
async def register(
    interaction: str, body: Registration, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    """Register a disposition, notes and form fields during the conversation or wrap-up.

    ``fields.callback_at`` (ISO date and time, center time when without offset) schedules a callback."""
    _own(who, request, interaction)
    _check_callback(request, body)
    _check_form(request, interaction, body, finishing=False)
    return await _do(request, E.DispositionSet(interaction, body.disposition, body.notes, body.fields))


@router.post("/interactions/{interaction}/wrap-up")
async def wrap_up(
    interaction: str, body: Registration, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    """Finish wrap-up, registering the disposition and notes (and a callback, as in register)."""
    _own(who, request, interaction)
    _check_callback(request, body)
    _check_form(request, interaction, body, finishing=True)
    return await _do(request, E.WrapUpCompleted(interaction, body.disposition, body.notes, body.fields))


@router.post("/interactions/{interaction}/transfer")
async def transfer(
    interaction: str, body: TransferBody, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    """Blind transfer to a queue or to another agent."""
    _own(who, request, interaction)
    if (body.queue is None) == (body.agent is None):
        raise ApiError(422, "request.invalid", "give exactly one of queue and agent")
    if body.queue is not None:
        return await _do(request, E.TransferToQueue(interaction, body.queue))
    assert body.agent is not None
    return await _do(request, E.TransferToAgent(interaction, body.agent))
