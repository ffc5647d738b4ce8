"""The supervisor's live view: the wallboard as JSON and as a stream, and actions on agents."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from centrale.core import events as E
from centrale.server.deps import check_account, client_ip, need, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal

router = APIRouter(prefix="/api", tags=["live"])


@router.get("/wallboard")
async def get_wallboard(
    request: Request, who: Principal = Depends(need(Permission.REPORTS_READ))
) -> dict[str, Any]:
    """Queue tiles, agents with state and time in state, today's intervals and alerts, for your accounts."""
    return services(request).hub.snapshot(who.account_filter())


@router.get("/wallboard/events")
async def wallboard_events(
    request: Request, who: Principal = Depends(need(Permission.REPORTS_READ))
) -> StreamingResponse:
    """Server-sent events: a `wallboard` event with the full snapshot whenever it changes (≤ 4 per second)."""
    return StreamingResponse(
        services(request).hub.wallboard_stream(who.account_filter()),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class AgentStateBody(BaseModel):
    state: Literal["ready", "not_ready", "logged_out"]
    reason: str = Field("supervisor", min_length=1, max_length=40)


class SkillsBody(BaseModel):
    skills: dict[str, int]


def _agent(request: Request, who: Principal, agent: str) -> None:
    engine = services(request).engine
    a = engine.agents.get(agent)
    if a is None:
        raise ApiError(404, "agent.unknown", f"no agent {agent!r}")
    check_account(who, a.account)


@router.post("/agents/{agent}/state")
async def set_agent_state(
    agent: str,
    body: AgentStateBody,
    request: Request,
    who: Principal = Depends(need(Permission.AGENT_CONTROL)),
) -> dict[str, Any]:
    """Change an agent's state: make ready, send on a break (applied when current work ends), log out."""
    _agent(request, who, agent)
    svc = services(request)
    a = svc.engine.agents[agent]
    event: Any
    if body.state == "ready":
        event = E.AgentReady(agent) if a.state.name != "LOGGED_OUT" else E.AgentLoggedIn(agent, True)
    elif body.state == "not_ready":
        event = (
            E.AgentNotReady(agent, body.reason)
            if a.state.name != "LOGGED_OUT"
            else E.AgentLoggedIn(agent, False)
        )
    else:
        event = E.AgentLoggedOut(agent)
    await svc.writer.submit(event)
    svc.audit.record(
        who.username,
        "agent.state",
        target=agent,
        account=a.account,
        detail={"state": body.state, "reason": body.reason},
        ip=client_ip(request),
    )
    return {"ok": True, "state": svc.engine.agents[agent].state.name.lower()}


@router.put("/agents/{agent}/skills")
async def set_agent_skills(
    agent: str, body: SkillsBody, request: Request, who: Principal = Depends(need(Permission.AGENT_CONTROL))
) -> dict[str, Any]:
    """Replace an agent's skills (proficiency 0–10) — also how a supervisor moves an agent between queues."""
    _agent(request, who, agent)
    svc = services(request)
    await svc.writer.submit(E.AgentSkillsChanged(agent, dict(body.skills)))
    svc.audit.record(
        who.username,
        "agent.skills",
        target=agent,
        account=svc.engine.agents[agent].account,
        detail={"skills": body.skills},
        ip=client_ip(request),
    )
    return {"ok": True, "skills": dict(svc.engine.agents[agent].skills)}
