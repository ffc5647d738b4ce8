"""The registrar: agents' phones REGISTER here with digest authentication (RFC 2617 / RFC 7616, MD5).

Theory of operation
-------------------
A REGISTER without credentials gets ``401`` with a ``WWW-Authenticate: Digest`` challenge. The nonce
is stateless: ``<time>.<HMAC(secret, time)>``, valid for five minutes, so nothing is kept per
challenge. A REGISTER with credentials for an unknown user, for another user than the one in
``To``, for another realm, or with a wrong response is refused with ``403`` (logged once at
WARNING); a stale nonce gets a fresh ``401`` with ``stale=true``. A good one stores the binding
(user → contact host/port, expiry) and answers ``200`` echoing the binding in ``Contact`` with its
``expires`` (browser phones such as JsSIP ignore a 200 without it). ``Expires: 0`` or ``Contact: *``
removes the binding.

Which agent a phone rings for is :class:`~centrale.telephony.phones.PhoneDesk`'s business (agents log
in to a phone; the accounts' ``agent`` is the default). A browser softphone registers with the
session credential the desk issued instead of the account's password; its binding ends when the
agent releases the phone. Over WebSocket (RFC 7118, :mod:`centrale.telephony.websocket`) the
Contact's host is sippy's name for the connection (``<id>.invalid``) and the binding's
``transport`` is ``ws``: the SIP service rings it over that connection with a WebRTC offer.

Everything here runs on the SIP thread; :meth:`Registrar.binding_for_agent` is also read from the
asyncio thread (one dictionary look-up of an immutable value, safe under the GIL).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from centrale.telephony.phones import PhoneDesk, PhoneSession
from centrale.telephony.settings import SipAccount

log = logging.getLogger("centrale.telephony.registrar")

NONCE_TTL = 300.0


@dataclass(frozen=True, slots=True)
class Binding:
    user: str
    agent: str | None  # the account's own agent (the default), if any
    host: str
    port: int
    uri: str
    expires_at: float
    transport: str = "udp"  # "ws"/"wss": a browser softphone over a WebSocket connection
    by_session: bool = False  # registered with a softphone session's credential

    @property
    def webrtc(self) -> bool:
        """A browser phone: media must be offered as WebRTC (DTLS-SRTP, ICE)."""
        return self.transport in ("ws", "wss")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # SIP digest is MD5 by definition


def digest_response(
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The digest ``response`` value (MD5; qop ``auth`` or none)."""
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


class Registrar:
    def __init__(
        self,
        accounts: list[SipAccount],
        *,
        realm: str,
        max_expires: int = 3600,
        clock: Any = time.time,
    ) -> None:
        self.accounts = {a.user: a for a in accounts}
        self.realm = realm
        self.max_expires = max_expires
        self.clock = clock
        self._secret = os.urandom(16)
        self._bindings: dict[str, Binding] = {}
        self.phones = PhoneDesk(accounts, clock=clock, on_release=self._released)

    # --- nonces ------------------------------------------------------------------------------------
    def _nonce(self) -> str:
        stamp = f"{int(self.clock()):x}"
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{stamp}.{mac}"

    def _nonce_state(self, nonce: str) -> str:
        """'ok', 'stale' or 'bad'."""
        stamp, _, mac = nonce.partition(".")
        good = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(mac, good):
            return "bad"
        try:
            age = self.clock() - int(stamp, 16)
        except ValueError:
            return "bad"
        return "ok" if 0 <= age <= NONCE_TTL else "stale"

    # --- look-ups ------------------------------------------------------------------------------------
    def binding_for_agent(self, agent: str) -> Binding | None:
        """The registered phone that rings for `agent`: the one the agent logged in to, else the
        agent's own account (:class:`PhoneDesk`)."""
        user = self.phones.user_for(agent)
        if user is None:
            return None
        return self.binding_for_user(user)

    def binding_for_user(self, user: str) -> Binding | None:
        binding = self._bindings.get(user)
        if binding is None or binding.expires_at < self.clock():
            return None
        return binding

    def _released(self, session: PhoneSession) -> None:
        """A phone was released: a softphone's binding made with its session credential ends."""
        binding = self._bindings.get(session.user)
        if binding is not None and binding.by_session:
            self._bindings.pop(session.user, None)
            log.info("SIP user %s: softphone binding ended with %s's session", session.user, session.agent)

    # --- REGISTER ------------------------------------------------------------------------------------
    def handle(self, req: Any) -> Any:
        """Answer one REGISTER (a sippy SipRequest); returns the sippy SipResponse to send."""
        from sippy.SipHeader import SipHeader  # type: ignore[import-untyped]

        source = _source(req)
        if req.countHFs("authorization") == 0:
            return self._challenge(req)
        auth = req.getHFBody("authorization")
        if not auth.parsed:
            auth.parse()
        user = req.getHFBody("to").getUrl().username
        account = self.accounts.get(auth.username or "")
        if account is None or auth.username != user:
            log.warning("REGISTER from %s refused: unknown SIP user %r", source, auth.username)
            return req.genResponse(403, "Forbidden")
        if auth.realm != self.realm or (auth.algorithm or "MD5").upper() != "MD5":
            log.warning("REGISTER for %s from %s refused: realm or algorithm not ours", user, source)
            return req.genResponse(403, "Forbidden")
        state = self._nonce_state(auth.nonce or "")
        if state == "stale":
            return self._challenge(req, stale=True)
        by_session = False
        for password, session_secret in ((account.password, False), (self.phones.secret_for(user), True)):
            if password is None:
                continue
            expected = digest_response(
                username=account.user,
                realm=self.realm,
                password=password,
                method="REGISTER",
                uri=auth.uri or "",
                nonce=auth.nonce or "",
                qop=auth.qop,
                nc=auth.nc,
                cnonce=auth.cnonce,
            )
            if state == "ok" and hmac.compare_digest(expected, auth.response or ""):
                by_session = session_secret
                break
        else:
            log.warning("REGISTER for %s from %s refused: wrong credentials", user, source)
            return req.genResponse(403, "Forbidden")
        expires = self.max_expires
        if req.countHFs("expires") > 0:
            expires = min(req.getHFBody("expires").getNum(), self.max_expires)
        contacts = req.getHFBodys("contact") if req.countHFs("contact") > 0 else []
        resp = req.genResponse(200, "OK")
        if not contacts:  # a query: answer with the current binding
            current = self._bindings.get(user)
            if current is not None and current.expires_at > self.clock():
                left = int(current.expires_at - self.clock())
                resp.appendHeader(SipHeader(name="contact", bodys=f"<{current.uri}>;expires={left}"))
            return resp
        contact = contacts[0]
        if contact.asterisk or expires == 0:
            self._bindings.pop(user, None)
            log.info("SIP user %s (agent %s) unregistered", user, account.agent)
            return resp
        if contact.address.params.get("expires") is not None:
            with contextlib.suppress(TypeError, ValueError):
                expires = min(int(contact.address.params["expires"]), self.max_expires)
        if expires <= 0:
            self._bindings.pop(user, None)
            return resp
        url = contact.getUrl()
        if url.transport:
            url.transport = str(url.transport).lower()
        uri = str(url)
        self._bindings[user] = Binding(
            user=user,
            agent=account.agent,
            host=str(url.host),
            port=int(url.port or 5060),
            uri=uri,
            expires_at=self.clock() + expires,
            transport=_transport(req, url),
            by_session=by_session,
        )
        log.info("SIP user %s (agent %s) registered at %s for %d s", user, account.agent, uri, expires)
        resp.appendHeader(SipHeader(name="contact", bodys=f"<{uri}>;expires={expires}"))
        return resp

    def _challenge(self, req: Any, *, stale: bool = False) -> Any:
        from sippy.SipHeader import SipHeader

        resp = req.genResponse(401, "Unauthorized")
        value = f'Digest realm="{self.realm}", nonce="{self._nonce()}", algorithm=MD5, qop="auth"'
        if stale:
            value += ", stale=true"
        resp.appendHeader(SipHeader(name="www-authenticate", bodys=value))
        return resp


def _transport(req: Any, url: Any) -> str:
    """How to reach the binding: the transport the REGISTER came over (sippy names WebSocket
    ``wss`` whether or not TLS is on), else the Contact's ``transport`` parameter, else UDP."""
    try:
        came_over = str(req.getSource(ver=2)[1]).lower()
    except Exception:
        came_over = ""
    if came_over in ("ws", "wss"):
        return "ws"
    declared = str(url.transport or "udp").lower()
    return "ws" if declared in ("ws", "wss") else "udp"


def _source(req: Any) -> str:
    try:
        host, port = req.getSource()
        return f"{host}:{port}"
    except Exception:
        return "?"
