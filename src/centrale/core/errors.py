"""Domain errors with stable codes.

Adapters map these to their own world (an HTTP status, an exit code, a SIP response) at the edge;
the core only promises the `code`, which never changes once published.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the domain refuses. The engine's state is unchanged when one is raised."""

    def __init__(self, code: str, message: str, **context: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ConfigError(DomainError):
    """Configuration that cannot work (unknown skill, bad expression, …)."""

    def __init__(self, message: str, *, where: str = "", **context: Any) -> None:
        super().__init__(INVALID_CONFIG, message, where=where, **context)
        self.where = where


# Stable codes used by the engine. Kept together so that adapters and documentation can list them.
ILLEGAL_AGENT_TRANSITION = "agent.illegal_transition"
ILLEGAL_INTERACTION_TRANSITION = "interaction.illegal_transition"
UNKNOWN_AGENT = "agent.unknown"
DUPLICATE_AGENT = "agent.duplicate"
UNKNOWN_INTERACTION = "interaction.unknown"
DUPLICATE_INTERACTION = "interaction.duplicate"
UNKNOWN_QUEUE = "queue.unknown"
UNKNOWN_DISPOSITION = "disposition.unknown"
DISPOSITION_REQUIRED = "disposition.required"
NOT_ASSIGNED = "interaction.not_assigned"
INVALID_SKILL = "agent.invalid_skill"
# Configuration at run time (AccountConfigured, QueueConfigured, QueueRemoved, DispositionConfigured,
# DispositionRemoved, AgentUpdated, AgentRemoved).
INVALID_CONFIG = "config.invalid"  # the configuration in the event cannot work (see ConfigError)
QUEUE_BUSY = "queue.busy"  # a routing change or removal while the queue has open interactions
QUEUE_IN_USE = "queue.in_use"  # removal while another queue escalates or overflows to it
DISPOSITION_IN_USE = "disposition.in_use"  # removal while a queue offers or needs the code
AGENT_BUSY = "agent.busy"  # capacity change or removal while the agent is logged in or awaited
