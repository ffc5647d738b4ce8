"""Events: what the outside world tells the engine.

Events are immutable records (`core/record.py`: cheap to create, hashable, printable). The engine numbers the
ones it accepts in its event log; replaying that log through a new engine rebuilds the same state.

Configuration changes are events too (``AccountConfigured`` … ``AgentRemoved``, at the end of this
module): a live center starts from an :class:`~centrale.core.config.EngineConfig` with global
settings only, and every account, queue, disposition and agent an administrator sets up is in the
log, so replaying the log rebuilds configuration and state alike (docs/architecture.md,
"Configuration at run time").
"""

from __future__ import annotations

from typing import Any, Final, final

from centrale.core.config import Account, AgentConfig, Disposition, QueueConfig
from centrale.core.record import Record


@final
class InteractionArrived(Record):
    """A new call, e-mail, chat or message for a queue."""

    __slots__ = ("attributes", "contact", "direction", "interaction", "priority", "queue")
    _fields = ("interaction", "queue", "priority", "attributes", "contact", "direction")
    interaction: Final[str]
    queue: Final[str]
    priority: Final[int | None]
    attributes: Final[dict[str, Any] | None]
    contact: Final[str | None]
    direction: Final[str | None]

    def __init__(
        self,
        interaction: str,
        queue: str,
        priority: int | None = None,
        attributes: dict[str, Any] | None = None,
        contact: str | None = None,
        direction: str | None = None,
    ) -> None:
        self.interaction = interaction
        self.queue = queue
        self.priority = priority
        self.attributes = attributes
        self.contact = contact
        self.direction = direction


@final
class CustomerAbandoned(Record):
    __slots__ = ("interaction",)
    _fields = ("interaction",)
    interaction: Final[str]

    def __init__(self, interaction: str) -> None:
        self.interaction = interaction


@final
class OfferAccepted(Record):
    __slots__ = ("agent", "interaction")
    _fields = ("interaction", "agent")
    interaction: Final[str]
    agent: Final[str]

    def __init__(self, interaction: str, agent: str) -> None:
        self.interaction = interaction
        self.agent = agent


@final
class OfferRejected(Record):
    __slots__ = ("agent", "interaction")
    _fields = ("interaction", "agent")
    interaction: Final[str]
    agent: Final[str]

    def __init__(self, interaction: str, agent: str) -> None:
        self.interaction = interaction
        self.agent = agent


@final
class InteractionEnded(Record):
    """The conversation is over (either side hung up, the chat was closed, the e-mail sent)."""

    __slots__ = ("interaction",)
    _fields = ("interaction",)
    interaction: Final[str]

    def __init__(self, interaction: str) -> None:
        self.interaction = interaction


@final
class HoldStarted(Record):
    __slots__ = ("interaction",)
    _fields = ("interaction",)
    interaction: Final[str]

    def __init__(self, interaction: str) -> None:
        self.interaction = interaction


@final
class HoldEnded(Record):
    __slots__ = ("interaction",)
    _fields = ("interaction",)
    interaction: Final[str]

    def __init__(self, interaction: str) -> None:
        self.interaction = interaction


@final
class DispositionSet(Record):
    """Registration during the conversation or wrap-up: a code, notes and custom fields."""

    __slots__ = ("disposition", "fields", "interaction", "notes")
    _fields = ("interaction", "disposition", "notes", "fields")
    interaction: Final[str]
    disposition: Final[str | None]
    notes: Final[str | None]
    fields: Final[dict[str, Any] | None]

    def __init__(
        self,
        interaction: str,
        disposition: str | None = None,
        notes: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self.interaction = interaction
        self.disposition = disposition
        self.notes = notes
        self.fields = fields


@final
class WrapUpCompleted(Record):
    """The agent ends wrap-up, optionally registering at the same time."""

    __slots__ = ("disposition", "fields", "interaction", "notes")
    _fields = ("interaction", "disposition", "notes", "fields")
    interaction: Final[str]
    disposition: Final[str | None]
    notes: Final[str | None]
    fields: Final[dict[str, Any] | None]

    def __init__(
        self,
        interaction: str,
        disposition: str | None = None,
        notes: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self.interaction = interaction
        self.disposition = disposition
        self.notes = notes
        self.fields = fields


@final
class TransferToQueue(Record):
    __slots__ = ("interaction", "queue")
    _fields = ("interaction", "queue")
    interaction: Final[str]
    queue: Final[str]

    def __init__(self, interaction: str, queue: str) -> None:
        self.interaction = interaction
        self.queue = queue


@final
class TransferToAgent(Record):
    __slots__ = ("agent", "interaction")
    _fields = ("interaction", "agent")
    interaction: Final[str]
    agent: Final[str]

    def __init__(self, interaction: str, agent: str) -> None:
        self.interaction = interaction
        self.agent = agent


@final
class CallbackAccepted(Record):
    """The waiting customer took the callback offer: they hang up and keep their place."""

    __slots__ = ("interaction",)
    _fields = ("interaction",)
    interaction: Final[str]

    def __init__(self, interaction: str) -> None:
        self.interaction = interaction


@final
class AgentLoggedIn(Record):
    __slots__ = ("agent", "ready")
    _fields = ("agent", "ready")
    agent: Final[str]
    ready: Final[bool]

    def __init__(self, agent: str, ready: bool = False) -> None:
        self.agent = agent
        self.ready = ready


@final
class AgentLoggedOut(Record):
    __slots__ = ("agent",)
    _fields = ("agent",)
    agent: Final[str]

    def __init__(self, agent: str) -> None:
        self.agent = agent


@final
class AgentReady(Record):
    __slots__ = ("agent",)
    _fields = ("agent",)
    agent: Final[str]

    def __init__(self, agent: str) -> None:
        self.agent = agent


@final
class AgentNotReady(Record):
    __slots__ = ("agent", "reason")
    _fields = ("agent", "reason")
    agent: Final[str]
    reason: Final[str]

    def __init__(self, agent: str, reason: str = "break") -> None:
        self.agent = agent
        self.reason = reason


@final
class AgentAdded(Record):
    __slots__ = ("config",)
    _fields = ("config",)
    config: Final[AgentConfig]

    def __init__(self, config: AgentConfig) -> None:
        self.config = config


@final
class AgentSkillsChanged(Record):
    __slots__ = ("agent", "skills")
    _fields = ("agent", "skills")
    agent: Final[str]
    skills: Final[dict[str, int]]

    def __init__(self, agent: str, skills: dict[str, int]) -> None:
        self.agent = agent
        self.skills = skills


@final
class TimerFired(Record):
    __slots__ = ("timer",)
    _fields = ("timer",)
    timer: Final[int]

    def __init__(self, timer: int) -> None:
        self.timer = timer


# --- configuration at run time ------------------------------------------------------------------


@final
class AccountConfigured(Record):
    """Add an account, or rename an existing one (same id)."""

    __slots__ = ("account",)
    _fields = ("account",)
    account: Final[Account]

    def __init__(self, account: Account) -> None:
        self.account = account


@final
class QueueConfigured(Record):
    """Add a queue, or replace an existing queue's configuration (same id).

    Settings that do not decide who may take an interaction apply at once; a change to ``requires``,
    ``channel``, ``agent_selection``, ``escalation`` or ``account`` is refused (``queue.busy``) while
    the queue has open interactions.
    """

    __slots__ = ("config",)
    _fields = ("config",)
    config: Final[QueueConfig]

    def __init__(self, config: QueueConfig) -> None:
        self.config = config


@final
class QueueRemoved(Record):
    """Remove an idle queue that no other queue escalates or overflows to."""

    __slots__ = ("queue",)
    _fields = ("queue",)
    queue: Final[str]

    def __init__(self, queue: str) -> None:
        self.queue = queue


@final
class DispositionConfigured(Record):
    """Add a disposition code, or replace an existing one (same code)."""

    __slots__ = ("disposition",)
    _fields = ("disposition",)
    disposition: Final[Disposition]

    def __init__(self, disposition: Disposition) -> None:
        self.disposition = disposition


@final
class DispositionRemoved(Record):
    """Remove a disposition code no queue offers or depends on."""

    __slots__ = ("code",)
    _fields = ("code",)
    code: Final[str]

    def __init__(self, code: str) -> None:
        self.code = code


@final
class AgentUpdated(Record):
    """Replace an existing agent's name, team, site, account, skills and capacity (same id).

    The capacity may only change while the agent is logged out (``agent.busy`` otherwise).
    """

    __slots__ = ("config",)
    _fields = ("config",)
    config: Final[AgentConfig]

    def __init__(self, config: AgentConfig) -> None:
        self.config = config


@final
class AgentRemoved(Record):
    """Remove a logged-out agent for whom no interaction waits."""

    __slots__ = ("agent",)
    _fields = ("agent",)
    agent: Final[str]

    def __init__(self, agent: str) -> None:
        self.agent = agent


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
    | AccountConfigured
    | QueueConfigured
    | QueueRemoved
    | DispositionConfigured
    | DispositionRemoved
    | AgentUpdated
    | AgentRemoved
)
