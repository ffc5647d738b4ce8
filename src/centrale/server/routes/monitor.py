"""Supervisor monitoring of live calls: listen, whisper, barge (docs/telephony.md, "Monitoring").

The supervisor's SIP phone (a telephony account marked ``supervisor: <username>``) is rung and
joined to the call (:mod:`centrale.telephony.monitor`). Needs ``agent.control`` and the
interaction's account in scope (another account's interaction is 404, as everywhere). Refusals
come from the SIP service as domain errors with stable codes (``monitor.busy`` 409,
``monitor.not_connected`` 422, ``monitor.no_phone`` 422, ``monitor.unknown`` 404, …).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from centrale.server.deps import check_account, need, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal

router = APIRouter(prefix="/api/interactions", tags=["interactions"])


class MonitorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["listen", "whisper", "barge"] = "listen"


def _monitors(request: Request, who: Principal, interaction: str) -> Any:
    """The SIP service's monitoring, after checking the interaction is one `who` may see."""
    svc = services(request)
    ix = svc.engine.interactions.get(interaction)
    if ix is None:
        raise ApiError(404, "interaction.unknown", f"no interaction {interaction!r}")
    check_account(who, ix.account)
    sip = svc.extras.get("sip")
    if sip is None:
        raise ApiError(409, "telephony.off", "the SIP service is not running on this server")
    return sip.features.monitor


@router.post("/{interaction}/monitor")
async def monitor(
    interaction: str,
    body: MonitorBody,
    request: Request,
    who: Principal = Depends(need(Permission.AGENT_CONTROL)),
) -> dict[str, Any]:
    """Start monitoring the call in `mode` (the caller's supervisor phone rings), or switch the
    mode of the caller's own running session."""
    result: dict[str, Any] = await _monitors(request, who, interaction).monitor(
        interaction, who.username, body.mode
    )
    return result


@router.get("/{interaction}/monitor")
async def monitoring(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.AGENT_CONTROL))
) -> dict[str, Any]:
    """The call's monitoring session (404 ``monitor.unknown`` when there is none)."""
    session = _monitors(request, who, interaction).session_for(interaction)
    if session is None:
        raise ApiError(404, "monitor.unknown", f"interaction {interaction!r} is not being monitored")
    result: dict[str, Any] = session.describe()
    return result


@router.delete("/{interaction}/monitor")
async def stop_monitoring(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.AGENT_CONTROL))
) -> dict[str, Any]:
    """Stop monitoring: the supervisor's phone is hung up, the agent's media go back to the call."""
    result: dict[str, Any] = await _monitors(request, who, interaction).stop(interaction)
    return result
