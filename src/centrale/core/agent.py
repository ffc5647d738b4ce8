"""Agents and their state machine.

Theory of operation
-------------------
An agent's *state* is one of LOGGED_OUT, READY, RESERVED, BUSY, WRAP_UP and NOT_READY (with a
reason code). Every change goes through :data:`TRANSITIONS`, a table from ``(state, trigger)`` to the
next state; a pair that is not in the table is illegal and raises a :class:`DomainError` before
anything is touched.

Agents may hold several digital interactions at once (a capacity per channel, e.g. chat 3, e-mail
2), but never a second call. The state therefore says what the agent is doing *as a whole*:

* RESERVED — at least one offer is pending and nothing is connected yet;
* BUSY — at least one interaction is connected (further chat offers may be pending);
* WRAP_UP — nothing is connected, at least one interaction is in wrap-up.

Because of that the engine picks the trigger from what remains: ``END_LAST`` when the last
connected interaction ends, ``END_MORE`` when others are still connected, and so on. The table
stays the single place that says which moves exist.

A request to go NOT_READY or to log out while work is in hand is remembered as *pending* and takes
effect when the last piece of work is done, as agents expect ("after this call, lunch").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

from centrale.core.errors import ILLEGAL_AGENT_TRANSITION, DomainError


class AgentState(enum.Enum):
    # Members are singletons: identity hashing (in C) keeps the transition-table look-ups cheap.
    __hash__ = object.__hash__

    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    BUSY = "busy"
    WRAP_UP = "wrap_up"
    NOT_READY = "not_ready"


class AgentTrigger(enum.Enum):
    # Members are singletons: identity hashing (in C) keeps the transition-table look-ups cheap.
    __hash__ = object.__hash__

    LOGIN = "login"
    LOGIN_READY = "login_ready"
    GO_READY = "go_ready"
    GO_NOT_READY = "go_not_ready"
    LOGOUT = "logout"
    RESERVE = "reserve"  # an offer is made
    ACCEPT = "accept"  # an offer is accepted: the interaction connects
    # Work leaves the agent: an offer is withdrawn, declined or not answered (RONA), a conversation
    # ends, or a wrap-up completes. The trigger names what remains, and so the next state.
    LEAVE_TO_BUSY = "leave_to_busy"  # something is still connected
    LEAVE_TO_RESERVED = "leave_to_reserved"  # nothing connected, an offer still pending
    LEAVE_TO_WRAP_UP = "leave_to_wrap_up"  # only wrap-up remains
    LEAVE_TO_READY = "leave_to_ready"  # nothing remains
    LEAVE_TO_NOT_READY = "leave_to_not_ready"  # nothing remains, a not-ready (or RONA) was pending
    LEAVE_TO_LOGGED_OUT = "leave_to_logged_out"  # nothing remains, a logout was pending


S, T = AgentState, AgentTrigger
_WORKING = (S.RESERVED, S.BUSY, S.WRAP_UP)

TRANSITIONS: Mapping[tuple[AgentState, AgentTrigger], AgentState] = {
    (S.LOGGED_OUT, T.LOGIN): S.NOT_READY,
    (S.LOGGED_OUT, T.LOGIN_READY): S.READY,
    (S.READY, T.GO_NOT_READY): S.NOT_READY,
    (S.NOT_READY, T.GO_READY): S.READY,
    (S.NOT_READY, T.GO_NOT_READY): S.NOT_READY,  # a new reason code
    (S.READY, T.LOGOUT): S.LOGGED_OUT,
    (S.NOT_READY, T.LOGOUT): S.LOGGED_OUT,
    # While work is in hand a not-ready, ready or logout request is remembered (pending) and the
    # state stays; it takes effect through the LEAVE_TO_* moves when the work is done.
    **{(w, t): w for w in _WORKING for t in (T.GO_NOT_READY, T.GO_READY, T.LOGOUT)},
    # Offers: a READY agent is reserved; a RESERVED or BUSY one may get another digital offer.
    (S.READY, T.RESERVE): S.RESERVED,
    (S.RESERVED, T.RESERVE): S.RESERVED,
    (S.BUSY, T.RESERVE): S.BUSY,
    (S.RESERVED, T.ACCEPT): S.BUSY,
    (S.BUSY, T.ACCEPT): S.BUSY,
    # Work leaves. Precedence of what remains: connected > offered > wrap-up > nothing.
    (S.BUSY, T.LEAVE_TO_BUSY): S.BUSY,
    **{(w, T.LEAVE_TO_RESERVED): S.RESERVED for w in (S.RESERVED, S.BUSY)},
    **{(w, T.LEAVE_TO_WRAP_UP): S.WRAP_UP for w in _WORKING},
    **{(w, T.LEAVE_TO_READY): S.READY for w in _WORKING},
    **{(w, T.LEAVE_TO_NOT_READY): S.NOT_READY for w in _WORKING},
    **{(w, T.LEAVE_TO_LOGGED_OUT): S.LOGGED_OUT for w in _WORKING},
}


def next_state(agent_id: str, state: AgentState, trigger: AgentTrigger) -> AgentState:
    """Look the move up in the table; raise without side effects when it is not there."""
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise DomainError(
            ILLEGAL_AGENT_TRANSITION,
            f"agent {agent_id} cannot {trigger.value.replace('_', ' ')} while {state.value}",
            agent=agent_id,
            state=state.value,
            trigger=trigger.value,
        ) from None


_READY: Final = AgentState.READY
_BUSY: Final = AgentState.BUSY
_RESERVED: Final = AgentState.RESERVED

VOICE: Final = "voice"
CHANNELS = ("voice", "chat", "email", "social")
DEFAULT_CAPACITY: Mapping[str, int] = {"voice": 1, "chat": 1, "email": 1, "social": 1}


class Agent:
    """An agent's live record. Configuration fields first, then what changes.

    A plain class with a written-out constructor (not a dataclass), so that mypyc compiles all of
    it to native code.
    """

    id: str
    account: str
    team: str
    site: str
    skills: dict[str, int]
    capacity: dict[str, int]
    name: str
    state: AgentState
    reason: str | None
    state_since: float
    idle_since: float
    pending_reason: str | None
    pending_logout: bool
    offered: dict[str, str]  # interaction id → channel
    connected: dict[str, str]
    wrapping: dict[str, str]
    load: dict[str, int]  # channel → offered + connected + wrapping
    contacts_today: int
    busy_seconds: float
    logged_in_seconds: float
    last_offer_seq: int
    seq: int  # creation order, the final tie-breaker in routing
    version: int  # bumped whenever availability may change; stale routing entries are skipped
    pools: dict[str, list[Any]]  # channel → matching routing pools
    profile: tuple[Any, ...]  # what requirements can see of the agent; equal profiles match alike
    # The statistics buckets of the agent's team (the engine's direct reference, so that counting
    # time needs no look-up by team name); None until first used, and again when the team changes.
    team_stats: dict[int, list[float]] | None

    def __init__(
        self,
        id: str,
        account: str,
        team: str,
        site: str,
        skills: dict[str, int],
        capacity: dict[str, int],
        name: str = "",
        state: AgentState = AgentState.LOGGED_OUT,
        seq: int = 0,
        state_since: float = 0.0,
        idle_since: float = 0.0,
    ) -> None:
        self.id = id
        self.account = account
        self.team = team
        self.site = site
        self.skills = skills
        self.capacity = capacity
        self.name = name
        self.state = state
        self.reason = None
        self.state_since = state_since
        self.idle_since = idle_since
        self.pending_reason = None
        self.pending_logout = False
        self.offered = {}
        self.connected = {}
        self.wrapping = {}
        self.load = {}
        self.contacts_today = 0
        self.busy_seconds = 0.0
        self.logged_in_seconds = 0.0
        self.last_offer_seq = 0
        self.seq = seq
        self.version = 0
        self.pools = {}
        self.profile = ()
        self.team_stats = None

    def __repr__(self) -> str:
        return f"Agent({self.id!r}, team={self.team!r}, state={self.state.value})"

    def can_take(self, channel: str) -> bool:
        """Free capacity for `channel` now: READY, or BUSY with room for more digital work."""
        state = self.state
        if state is _READY:
            return self.capacity.get(channel, 0) > 0
        if state is _BUSY or state is _RESERVED:
            if channel == VOICE or self.pending_reason is not None or self.pending_logout:
                return False
            load = self.load
            if load.get(VOICE, 0):
                return False  # nothing is added to a call
            return load.get(channel, 0) < self.capacity.get(channel, 0)
        return False

    def occupancy(self) -> float:
        return self.busy_seconds / self.logged_in_seconds if self.logged_in_seconds > 0 else 0.0
