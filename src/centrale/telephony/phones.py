"""Agents log in to a phone: which SIP user rings for which agent.

Theory of operation
-------------------
Every SIP account (``accounts`` in the telephony settings) is a *phone*: a hard phone on a desk or
the browser softphone of the agent desktop. By default an account that names an ``agent`` rings for
that agent (the fixed mapping). An agent may instead *log in to* a phone — at the start of the
shift or from the desktop — and from then on the SIP service rings that phone for the agent's
offers; logging out of it (or out of the ACD) releases it and the default applies again.

A phone is ``FREE`` or ``HELD`` by one agent. Moves are looked up in :data:`TRANSITIONS` before
anything changes; a move that is not there raises :class:`PhoneError` with a stable code and
changes nothing:

=========  ===========  =========  ==========================================================
state      trigger      next       meaning
=========  ===========  =========  ==========================================================
FREE       ``take``     HELD       an agent logs in to the phone
HELD       ``retake``   HELD       the same agent logs in again (new softphone credential)
HELD       ``release``  FREE       the agent logs out of the phone (or out of the ACD)
=========  ===========  =========  ==========================================================

``take`` of a phone held by another agent is not in the table: ``phone.taken`` (409). A phone
whose account names another agent is that agent's own and counts as held by them
(``phone.taken`` as well). An agent who logs in to a second phone leaves the first one.

A browser softphone needs SIP credentials, but the account's password never goes to the browser:
a login ``softphone=True`` issues a random credential that is good for this session only — the
registrar accepts it as the account's password until the phone is released — and the desktop
gets it from an authenticated API call (``server/routes/phone.py``).

Sessions live in memory on the server (no table): after a restart agents log in to their phone
again; until then the fixed mapping applies. Mutations happen on the asyncio loop; the registrar
reads from the SIP thread (single dictionary look-ups of immutable values, under a lock for the
writes).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from centrale.telephony.settings import SipAccount


class PhoneState(StrEnum):
    FREE = "free"
    HELD = "held"


TRANSITIONS: dict[tuple[PhoneState, str], PhoneState] = {
    (PhoneState.FREE, "take"): PhoneState.HELD,
    (PhoneState.HELD, "retake"): PhoneState.HELD,
    (PhoneState.HELD, "release"): PhoneState.FREE,
}


class PhoneError(Exception):
    """A refused phone move: a stable ``code`` (``phone.unknown``, ``phone.taken``,
    ``phone.not_held``) and a one-line message. Nothing changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class PhoneSession:
    agent: str
    user: str  # the SIP user (the phone)
    softphone: bool  # the agent works in the browser: `secret` registers it
    secret: str | None
    since: float


class PhoneDesk:
    """Which agent holds which phone; the registrar asks it who a phone rings for."""

    def __init__(
        self,
        accounts: Iterable[SipAccount],
        *,
        clock: Callable[[], float] = time.time,
        on_release: Callable[[PhoneSession], None] | None = None,
    ) -> None:
        self.accounts = {a.user: a for a in accounts}
        self._default = {a.agent: a.user for a in self.accounts.values() if a.agent is not None}
        self._by_agent: dict[str, PhoneSession] = {}
        self._by_user: dict[str, PhoneSession] = {}
        self._lock = threading.Lock()
        self.clock = clock
        self.on_release = on_release

    # --- look-ups (any thread) -----------------------------------------------------------------------
    def state(self, user: str) -> PhoneState:
        return PhoneState.HELD if self.holder(user) is not None else PhoneState.FREE

    def holder(self, user: str) -> str | None:
        """The agent the phone rings for: its session's agent, else the account's own agent."""
        session = self._by_user.get(user)
        if session is not None:
            return session.agent
        account = self.accounts.get(user)
        if account is None or account.agent is None:
            return None
        # A personal phone is its agent's unless that agent works on another phone now.
        other = self._by_agent.get(account.agent)
        return account.agent if other is None else None

    def user_for(self, agent: str) -> str | None:
        """The phone that rings for `agent`: the one logged in to, else the agent's own account."""
        session = self._by_agent.get(agent)
        if session is not None:
            return session.user
        user = self._default.get(agent)
        if user is not None and user in self._by_user:  # someone else works on it now
            return None
        return user

    def session_of(self, agent: str) -> PhoneSession | None:
        return self._by_agent.get(agent)

    def secret_for(self, user: str) -> str | None:
        """The session credential a softphone registers `user` with, if one is live."""
        session = self._by_user.get(user)
        return session.secret if session is not None else None

    def phones_for(self, agent: str) -> list[dict[str, object]]:
        """Every phone with whether `agent` may log in to it (free, or already theirs)."""
        out: list[dict[str, object]] = []
        for user in sorted(self.accounts):
            holder = self.holder(user)
            out.append({"user": user, "held_by": holder, "available": holder in (None, agent)})
        return out

    # --- moves (asyncio loop) ------------------------------------------------------------------------
    def _move(self, user: str, trigger: str) -> PhoneState:
        state = self.state(user)
        nxt = TRANSITIONS.get((state, trigger))
        if nxt is None:
            if trigger in ("take", "retake"):
                raise PhoneError("phone.taken", f"phone {user!r} is in use by agent {self.holder(user)!r}")
            raise PhoneError("phone.not_held", f"phone {user!r} is not held")
        return nxt

    def login(self, agent: str, user: str, *, softphone: bool) -> PhoneSession:
        """`agent` works on phone `user` from now on (leaving any other phone)."""
        if user not in self.accounts:
            raise PhoneError("phone.unknown", f"no phone (SIP account) {user!r}")
        with self._lock:
            holder = self.holder(user)
            self._move(user, "retake" if holder == agent and self.state(user) is PhoneState.HELD else "take")
            session = PhoneSession(
                agent=agent,
                user=user,
                softphone=softphone,
                secret=secrets.token_urlsafe(24) if softphone else None,
                since=self.clock(),
            )
            previous = self._by_agent.pop(agent, None)
            if previous is not None:
                self._by_user.pop(previous.user, None)
            self._by_agent[agent] = session
            self._by_user[user] = session
        if previous is not None and previous.user != user and self.on_release is not None:
            self.on_release(previous)
        return session

    def agent_logged_out(self, agent: str) -> None:
        """The agent logged out of the ACD: the phone they worked on is released (if any)."""
        if agent in self._by_agent:
            with contextlib.suppress(PhoneError):  # released meanwhile
                self.logout(agent)

    def logout(self, agent: str) -> PhoneSession:
        """Release the phone `agent` is logged in to (``phone.not_held`` when none)."""
        with self._lock:
            session = self._by_agent.get(agent)
            if session is None:
                raise PhoneError("phone.not_held", f"agent {agent!r} is not logged in to a phone")
            self._move(session.user, "release")
            del self._by_agent[agent]
            self._by_user.pop(session.user, None)
        if self.on_release is not None:
            self.on_release(session)
        return session


__all__ = ["TRANSITIONS", "PhoneDesk", "PhoneError", "PhoneSession", "PhoneState"]
