"""The agent's phone: which phone the agent works on, and the browser softphone's SIP credentials.

An agent logs in to a phone (a SIP account: a hard phone, or the desktop's softphone in this
browser); the SIP service then rings that phone for the agent's offers
(:mod:`centrale.telephony.phones`). For the softphone the answer carries what JsSIP needs to
register: the WebSocket URL, the SIP URI and user, the realm and a credential issued for this phone
session only — the account's own password never leaves the server, and the credential stops
working when the agent leaves the phone (or logs out of the ACD) — and the STUN/TURN servers its
media may use (``ice_servers``, TURN credentials from the TURN server's shared secret that expire
on their own; ``ice_transport_policy``).

Like the rest of the desktop, these routes need the ``desktop`` permission and act for the
agent the user works as. A refused move answers with the phone desk's stable code:
``phone.unknown`` (404), ``phone.taken`` (409: another agent works on it), ``phone.not_held`` (409);
``telephony.off`` (404) when the server runs without telephony.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from centrale.server.deps import agent_of, need, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal

router = APIRouter(prefix="/api/desktop/phone", tags=["agent desktop"])

_STATUS = {"phone.unknown": 404, "phone.taken": 409, "phone.not_held": 409}


class PhoneLogin(BaseModel):
    phone: str = Field(min_length=1, max_length=64, description="the SIP user of the phone")
    softphone: bool = Field(False, description="the agent works in this browser (JsSIP)")


def _sip(request: Request) -> Any:
    sip = services(request).extras.get("sip")
    if sip is None:
        raise ApiError(404, "telephony.off", "this server runs without telephony")
    return sip


def _view(sip: Any, agent: str) -> dict[str, Any]:
    """What the desktop shows: the phone ringing for the agent, its registration, the choices."""
    phones = sip.registrar.phones
    session = phones.session_of(agent)
    user = phones.user_for(agent)
    binding = sip.registrar.binding_for_user(user) if user is not None else None
    out: dict[str, Any] = {
        "telephony": True,
        "phone": user,
        "chosen": session is not None,
        "softphone": bool(session and session.softphone),
        "since": session.since if session is not None else None,
        "registered": binding is not None,
        "transport": binding.transport if binding is not None else None,
        "phones": phones.phones_for(agent),
        "websocket": sip.settings.websocket_url,
        "sip": None,
    }
    if session is not None and session.softphone and session.secret is not None:
        out["sip"] = {
            "ws": sip.settings.websocket_url,
            "uri": f"sip:{session.user}@{sip.settings.sip_host}",
            "user": session.user,
            "password": session.secret,
            "realm": sip.settings.realm,
            "ice_servers": sip.settings.ice_for(session.user, time.time()),
            "ice_transport_policy": sip.settings.ice_transport_policy,
        }
    return out


@router.get("")
async def get_phone(request: Request, who: Principal = Depends(need(Permission.DESKTOP))) -> dict[str, Any]:
    """The phone the agent works on (and, for the softphone, its SIP credentials)."""
    agent = agent_of(who, services(request).engine)
    sip = services(request).extras.get("sip")
    if sip is None:
        return {"telephony": False, "phone": None, "chosen": False, "phones": [], "sip": None}
    return _view(sip, agent)


@router.post("")
async def login_phone(
    body: PhoneLogin, request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    """Work on this phone from now on (``softphone``: in this browser; a fresh credential)."""
    from centrale.telephony.phones import PhoneError

    agent = agent_of(who, services(request).engine)
    sip = _sip(request)
    if body.softphone and sip.settings.websocket_url is None:
        raise ApiError(409, "softphone.off", "the SIP service has no WebSocket listener (ws_port)")
    try:
        sip.registrar.phones.login(agent, body.phone, softphone=body.softphone)
    except PhoneError as exc:
        raise ApiError(_STATUS.get(exc.code, 409), exc.code, exc.message) from None
    return _view(sip, agent)


@router.delete("")
async def logout_phone(
    request: Request, who: Principal = Depends(need(Permission.DESKTOP))
) -> dict[str, Any]:
    """Leave the phone (the account's default mapping applies again)."""
    from centrale.telephony.phones import PhoneError

    agent = agent_of(who, services(request).engine)
    sip = _sip(request)
    try:
        sip.registrar.phones.logout(agent)
    except PhoneError as exc:
        raise ApiError(_STATUS.get(exc.code, 409), exc.code, exc.message) from None
    return _view(sip, agent)
