"""Commands: what the engine asks the outside world to do.

The driver (live server or simulator) carries each one out: ring an agent's phone, bridge a call,
start a timer, play a callback offer. Notifications (state changes, finished interactions) are
commands too, so wallboards, webhooks and storage hear about everything from one place.
"""

from __future__ import annotations

from typing import Final, final

from centrale.core.record import Record


@final
class Offer(Record):
    """Offer an interaction to an agent (ring the phone, pop the chat). Accept within `timeout`."""

    __slots__ = ("agent", "channel", "interaction", "timeout")
    _fields = ("interaction", "agent", "channel", "timeout")
    interaction: Final[str]
    agent: Final[str]
    channel: Final[str]
    timeout: Final[float]

    def __init__(self, interaction: str, agent: str, channel: str, timeout: float) -> None:
        self.interaction = interaction
        self.agent = agent
        self.channel = channel
        self.timeout = timeout


@final
class Connect(Record):
    """The agent accepted: bridge the customer and the agent."""

    __slots__ = ("agent", "channel", "interaction", "queue")
    _fields = ("interaction", "agent", "channel", "queue")
    interaction: Final[str]
    agent: Final[str]
    channel: Final[str]
    queue: Final[str]

    def __init__(self, interaction: str, agent: str, channel: str, queue: str) -> None:
        self.interaction = interaction
        self.agent = agent
        self.channel = channel
        self.queue = queue


@final
class RevokeOffer(Record):
    """Stop ringing the agent (customer gone, or RONA)."""

    __slots__ = ("agent", "interaction")
    _fields = ("interaction", "agent")
    interaction: Final[str]
    agent: Final[str]

    def __init__(self, interaction: str, agent: str) -> None:
        self.interaction = interaction
        self.agent = agent


@final
class Disconnect(Record):
    """End the customer's side (closed, queue full, expired, sent to voicemail)."""

    __slots__ = ("interaction", "reason")
    _fields = ("interaction", "reason")
    interaction: Final[str]
    reason: Final[str]

    def __init__(self, interaction: str, reason: str) -> None:
        self.interaction = interaction
        self.reason = reason


@final
class StartTimer(Record):
    __slots__ = ("at", "timer")
    _fields = ("timer", "at")
    timer: Final[int]
    at: Final[float]

    def __init__(self, timer: int, at: float) -> None:
        self.timer = timer
        self.at = at


@final
class CancelTimer(Record):
    __slots__ = ("timer",)
    _fields = ("timer",)
    timer: Final[int]

    def __init__(self, timer: int) -> None:
        self.timer = timer


@final
class OfferCallback(Record):
    """Offer the waiting customer a callback that keeps their place."""

    __slots__ = ("interaction",)
    _fields = ("interaction",)
    interaction: Final[str]

    def __init__(self, interaction: str) -> None:
        self.interaction = interaction


@final
class SendToVoicemail(Record):
    __slots__ = ("interaction",)
    _fields = ("interaction",)
    interaction: Final[str]

    def __init__(self, interaction: str) -> None:
        self.interaction = interaction


@final
class WrapUpStarted(Record):
    __slots__ = ("agent", "interaction", "max_seconds", "mode", "queue")
    _fields = ("interaction", "agent", "queue", "mode", "max_seconds")
    interaction: Final[str]
    agent: Final[str]
    queue: Final[str]
    mode: Final[str]
    max_seconds: Final[float]

    def __init__(self, interaction: str, agent: str, queue: str, mode: str, max_seconds: float) -> None:
        self.interaction = interaction
        self.agent = agent
        self.queue = queue
        self.mode = mode
        self.max_seconds = max_seconds


@final
class AgentStateChanged(Record):
    __slots__ = ("agent", "at", "reason", "state")
    _fields = ("agent", "state", "reason", "at")
    agent: Final[str]
    state: Final[str]
    reason: Final[str | None]
    at: Final[float]

    def __init__(self, agent: str, state: str, reason: str | None, at: float) -> None:
        self.agent = agent
        self.state = state
        self.reason = reason
        self.at = at


@final
class InteractionQueued(Record):
    __slots__ = ("interaction", "parent", "queue")
    _fields = ("interaction", "queue", "parent")
    interaction: Final[str]
    queue: Final[str]
    parent: Final[str | None]

    def __init__(self, interaction: str, queue: str, parent: str | None) -> None:
        self.interaction = interaction
        self.queue = queue
        self.parent = parent


@final
class InteractionFinished(Record):
    """An interaction reached its terminal outcome."""

    __slots__ = ("agent", "disposition", "interaction", "notes", "outcome", "queue", "reason")
    _fields = ("interaction", "queue", "outcome", "reason", "agent", "disposition", "notes")
    interaction: Final[str]
    queue: Final[str]
    outcome: Final[str]
    reason: Final[str | None]
    agent: Final[str | None]
    disposition: Final[str | None]
    notes: Final[str]

    def __init__(
        self,
        interaction: str,
        queue: str,
        outcome: str,
        reason: str | None,
        agent: str | None = None,
        disposition: str | None = None,
        notes: str = "",
    ) -> None:
        self.interaction = interaction
        self.queue = queue
        self.outcome = outcome
        self.reason = reason
        self.agent = agent
        self.disposition = disposition
        self.notes = notes


Command = (
    Offer
    | Connect
    | RevokeOffer
    | Disconnect
    | StartTimer
    | CancelTimer
    | OfferCallback
    | SendToVoicemail
    | WrapUpStarted
    | AgentStateChanged
    | InteractionQueued
    | InteractionFinished
)
