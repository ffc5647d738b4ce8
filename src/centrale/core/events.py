"""Events: what the outside world tells the engine.

Events are immutable named tuples (cheap to create, hashable, printable). The engine numbers the
ones it accepts in its event log; replaying that log through a new engine rebuilds the same state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from centrale.core.config import AgentConfig


class InteractionArrived(NamedTuple):
    """A new call, e-mail, chat or message for a queue."""

    interaction: str
    queue: str
    priority: int | None = None
    attributes: dict[str, Any] | None = None
    contact: str | None = None
    direction: str | None = None  # default: the queue's


class CustomerAbandoned(NamedTuple):
    interaction: str


class OfferAccepted(NamedTuple):
    interaction: str
    agent: str


class OfferRejected(NamedTuple):
    interaction: str
    agent: str


class InteractionEnded(NamedTuple):
    """The conversation is over (either side hung up, the chat was closed, the e-mail sent)."""

    interaction: str


class HoldStarted(NamedTuple):
    interaction: str


class HoldEnded(NamedTuple):
    interaction: str


class DispositionSet(NamedTuple):
    """Registration during the conversation or wrap-up: a code, notes and custom fields."""

    interaction: str
    disposition: str | None = None
    notes: str | None = None
    fields: dict[str, Any] | None = None


class WrapUpCompleted(NamedTuple):
    """The agent ends wrap-up, optionally registering at the same time."""

    interaction: str
    disposition: str | None = None
    notes: str | None = None
    fields: dict[str, Any] | None = None


class TransferToQueue(NamedTuple):
    interaction: str
    queue: str


class TransferToAgent(NamedTuple):
    interaction: str
    agent: str


class CallbackAccepted(NamedTuple):
    """The waiting customer took the callback offer: they hang up and keep their place."""

    interaction: str


class AgentLoggedIn(NamedTuple):
    agent: str
    ready: bool = False


class AgentLoggedOut(NamedTuple):
    agent: str


class AgentReady(NamedTuple):
    agent: str


class AgentNotReady(NamedTuple):
    agent: str
    reason: str = "break"


class AgentAdded(NamedTuple):
    config: AgentConfig


class AgentSkillsChanged(NamedTuple):
    agent: str
    skills: dict[str, int]


class TimerFired(NamedTuple):
    timer: int


Event = (
    InteractionArrived
    | CustomerAbandoned
    | OfferAccepted
    | OfferRejected
    | InteractionEnded
    | HoldStarted
    | HoldEnded
    | DispositionSet
    | WrapUpCompleted
    | TransferToQueue
    | TransferToAgent
    | CallbackAccepted
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentReady
    | AgentNotReady
    | AgentAdded
    | AgentSkillsChanged
    | TimerFired
)
