"""Scheduled callbacks: a customer asked to be called at a time, by the same agent or by anyone.

A callback lives on its lead (one at a time). Due callbacks are dialled before any other lead,
earliest first; a *personal* callback is only handed to its agent — another agent, or a dialer
asking without an agent, never sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Callback:
    """Call back at ``at``; ``agent_id`` set: only that agent may take it."""

    at: datetime
    agent_id: str | None = None

    @property
    def personal(self) -> bool:
        return self.agent_id is not None

    def due(self, now: datetime) -> bool:
        return self.at <= now

    def for_agent(self, agent_id: str | None) -> bool:
        """True if the callback may be handed to ``agent_id`` (``None``: a dialer, no agent yet)."""
        return self.agent_id is None or self.agent_id == agent_id
