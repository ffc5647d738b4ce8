"""Interactions (calls, e-mails, chats, social messages) and their lifecycle.

Theory of operation
-------------------
Every channel shares one lifecycle::

    QUEUED → OFFERED → CONNECTED ⇄ HELD → WRAP_UP → DONE
      │         │ (reject / RONA: back to QUEUED, same place in line)
      └─ terminal outcomes while waiting: ABANDONED, EXPIRED, OVERFLOWED, CALLBACK_REQUESTED,
         TRANSFERRED

A connected interaction that is transferred goes to wrap-up for the agent who had it and ends as
TRANSFERRED; the customer continues in a *new* interaction (a new segment with ``parent`` set) in
the destination queue, so every queue reports what it was offered. The table below is the only
place that says which moves exist; anything else raises a :class:`DomainError` with nothing changed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from centrale.core.errors import ILLEGAL_INTERACTION_TRANSITION, DomainError


class InteractionState(enum.Enum):
    # Members are singletons: identity hashing (in C) keeps the transition-table look-ups cheap.
    __hash__ = object.__hash__

    QUEUED = "queued"
    OFFERED = "offered"
    CONNECTED = "connected"
    HELD = "held"
    WRAP_UP = "wrap_up"
    DONE = "done"
    ABANDONED = "abandoned"
    EXPIRED = "expired"
    OVERFLOWED = "overflowed"
    TRANSFERRED = "transferred"
    CALLBACK_REQUESTED = "callback_requested"


TERMINAL = frozenset(
    {
        InteractionState.DONE,
        InteractionState.ABANDONED,
        InteractionState.EXPIRED,
        InteractionState.OVERFLOWED,
        InteractionState.TRANSFERRED,
        InteractionState.CALLBACK_REQUESTED,
    }
)


class InteractionTrigger(enum.Enum):
    # Members are singletons: identity hashing (in C) keeps the transition-table look-ups cheap.
    __hash__ = object.__hash__

    OFFER = "offer"
    ACCEPT = "accept"
    REQUEUE = "requeue"  # rejected, RONA, or the agent could not be reached
    ABANDON = "abandon"
    EXPIRE = "expire"
    OVERFLOW = "overflow"
    CALLBACK = "callback"
    HOLD = "hold"
    UNHOLD = "unhold"
    END = "end"  # the conversation ends; wrap-up follows
    TRANSFER = "transfer"
    COMPLETE = "complete"  # wrap-up done
    COMPLETE_TRANSFERRED = "complete_transferred"


S, T = InteractionState, InteractionTrigger

TRANSITIONS: Mapping[tuple[InteractionState, InteractionTrigger], InteractionState] = {
    (S.QUEUED, T.OFFER): S.OFFERED,
    (S.QUEUED, T.ABANDON): S.ABANDONED,
    (S.QUEUED, T.EXPIRE): S.EXPIRED,
    (S.QUEUED, T.OVERFLOW): S.OVERFLOWED,
    (S.QUEUED, T.CALLBACK): S.CALLBACK_REQUESTED,
    (S.QUEUED, T.TRANSFER): S.TRANSFERRED,
    (S.OFFERED, T.ACCEPT): S.CONNECTED,
    (S.OFFERED, T.REQUEUE): S.QUEUED,
    (S.OFFERED, T.ABANDON): S.ABANDONED,
    (S.CONNECTED, T.HOLD): S.HELD,
    (S.HELD, T.UNHOLD): S.CONNECTED,
    (S.CONNECTED, T.END): S.WRAP_UP,
    (S.HELD, T.END): S.WRAP_UP,
    (S.CONNECTED, T.TRANSFER): S.WRAP_UP,
    (S.HELD, T.TRANSFER): S.WRAP_UP,
    (S.WRAP_UP, T.COMPLETE): S.DONE,
    (S.WRAP_UP, T.COMPLETE_TRANSFERRED): S.TRANSFERRED,
}


def next_state(interaction_id: str, state: InteractionState, trigger: InteractionTrigger) -> InteractionState:
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise DomainError(
            ILLEGAL_INTERACTION_TRANSITION,
            f"interaction {interaction_id} cannot {trigger.value.replace('_', ' ')} while {state.value}",
            interaction=interaction_id,
            state=state.value,
            trigger=trigger.value,
        ) from None


class Interaction:
    """One segment of a customer contact in one queue, with every timestamp reporting needs.

    A plain class with a written-out constructor (not a dataclass): mypyc compiles it to native
    code, where a dataclass's generated ``__init__`` would run as interpreted Python — and one is
    built for every contact, millions in a simulated day.
    """

    id: str
    queue: str
    account: str
    channel: str
    direction: str  # "inbound" | "outbound"
    priority: int
    attributes: dict[str, Any]
    arrived_at: float  # entered this queue
    enqueued_at: float  # place in line (kept across RONA, escalation and callback)
    seq: int  # arrival order, the tie-breaker for equal places
    parent: str | None
    contact: str | None  # customer id / phone number, for history
    state: InteractionState
    step: int  # escalation step reached
    target: Any  # current routing target
    agent: str | None
    offered_at: float | None
    answered_at: float | None
    hold_started: float | None
    hold_seconds: float
    ended_at: float | None
    wrap_started: float | None
    completed_at: float | None
    offers: int
    ronas: int
    outcome_reason: str | None
    transferred: bool
    disposition: str | None
    notes: str
    fields: dict[str, Any] | None
    timer: int  # the pending offer or wrap-up timer, if any
    wait_token: int  # changes whenever the interaction (re)enters a line; stale entries differ
    escalation_timer: int
    expiry_timer: int
    personal_agent: str | None  # routed to one named agent (transfer to agent)
    overdue: str | None  # a callback, voicemail or expiry that fell due while ringing
    counted: bool  # False for callback segments: the queue counted the contact already
    # Direct references the engine keeps so that its hot paths need no look-up by id: the queue's
    # routing record, the agent `agent` names, and the statistics bucket of the interval it arrived in.
    line: Any
    assignee: Any
    row: list[float] | None

    def __init__(
        self,
        id: str,
        queue: str,
        account: str,
        channel: str,
        direction: str,
        priority: int,
        attributes: dict[str, Any],
        arrived_at: float,
        enqueued_at: float,
        seq: int,
        parent: str | None = None,
        contact: str | None = None,
        state: InteractionState = InteractionState.QUEUED,
        step: int = 0,
        personal_agent: str | None = None,
    ) -> None:
        self.id = id
        self.queue = queue
        self.account = account
        self.channel = channel
        self.direction = direction
        self.priority = priority
        self.attributes = attributes
        self.arrived_at = arrived_at
        self.enqueued_at = enqueued_at
        self.seq = seq
        self.parent = parent
        self.contact = contact
        self.state = state
        self.step = step
        self.target = None
        self.agent = None
        self.offered_at = None
        self.answered_at = None
        self.hold_started = None
        self.hold_seconds = 0.0
        self.ended_at = None
        self.wrap_started = None
        self.completed_at = None
        self.offers = 0
        self.ronas = 0
        self.outcome_reason = None
        self.transferred = False
        self.disposition = None
        self.notes = ""
        self.fields = None
        self.timer = 0
        self.wait_token = 0
        self.escalation_timer = 0
        self.expiry_timer = 0
        self.personal_agent = personal_agent
        self.overdue = None
        self.counted = True
        self.line = None
        self.assignee = None
        self.row = None

    def __repr__(self) -> str:
        return (
            f"Interaction({self.id!r}, queue={self.queue!r}, state={self.state.value}, agent={self.agent!r})"
        )

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def wait_seconds(self, now: float) -> float:
        end = self.answered_at if self.answered_at is not None else now
        return end - self.arrived_at
