"""Routing targets: pools of eligible agents and lines of waiting interactions.

Theory of operation
-------------------
The ACD has to answer two questions fast, whatever the size of the center:

* an interaction arrives — which free agent gets it?
* an agent becomes free — which waiting interaction does it get?

Both are answered through *pools* and *targets*. A pool is a bound requirement (an expression at
one escalation step, with the interaction attributes it reads filled in) for one channel and one
agent-selection strategy; it keeps ``ready``, a heap of the eligible agents with free capacity,
ordered by that strategy (longest idle, most skilled, round robin, fewest contacts, least
occupied). Queues that ask for the same thing share a pool. A target is one queue's line for a
pool: ``waiting``, a heap of the interactions whose current step points at it, ordered by place in
line (priority with aging, then arrival: FIFO within equal priority).

Every agent knows the pools it matches per channel, and each pool knows its targets. That list is
computed once when a pool is created (one pass over the agents, evaluating the requirement once per
distinct skill profile) or when the agent's skills change. A decision then costs a few heap
operations plus one look at the head of each line the agent can serve — it does not grow with the
number of agents.

Both heaps use lazy deletion: an entry carries a version (agents) or token (interactions) and is
skipped when it no longer matches the live record. Heaps are compacted when stale entries dominate.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Final

from centrale.core.agent import Agent
from centrale.core.config import AgentSelection
from centrale.core.interaction import Interaction, InteractionState

_QUEUED: Final = InteractionState.QUEUED
_LONGEST_IDLE: Final = AgentSelection.LONGEST_IDLE


class Pool:
    """The eligible agents for one bound requirement on one channel, ordered for selection.

    Queues that ask for the same thing (the same expression with the same values, the same channel
    and the same selection strategy) share one pool, so a freed agent is pushed once per distinct
    requirement, not once per queue.
    """

    __slots__ = (
        "channel",
        "key",
        "matches",
        "members",
        "ready",
        "ready_pushes",
        "score",
        "selection",
        "targets",
    )

    def __init__(
        self,
        key: tuple[Any, ...],
        channel: str,
        matches: Callable[[Agent], bool],
        score: Callable[[Agent], int],
        selection: AgentSelection,
    ) -> None:
        self.key = key
        self.channel = channel
        self.matches = matches
        self.score = score
        self.selection = selection
        self.members: list[Agent] = []
        self.ready: list[tuple[Any, int, int, Agent]] = []
        self.ready_pushes = 0
        self.targets: list[Target] = []  # the queues' lines that draw on this pool

    def agent_key(self, agent: Agent) -> Any:
        sel = self.selection
        if sel is _LONGEST_IDLE:
            return agent.idle_since
        if sel is AgentSelection.MOST_SKILLED:
            return (-self.score(agent), agent.idle_since)
        if sel is AgentSelection.ROUND_ROBIN:
            return agent.last_offer_seq
        if sel is AgentSelection.FEWEST_CONTACTS:
            return (agent.contacts_today, agent.idle_since)
        return (agent.occupancy(), agent.idle_since)

    def push_agent(self, agent: Agent, agent_seq: int) -> None:
        heapq.heappush(self.ready, (self.agent_key(agent), agent_seq, agent.version, agent))
        self.ready_pushes += 1
        if self.ready_pushes > 64 and len(self.ready) > 4 * len(self.members) + 64:
            self._compact_ready()

    def pop_agent(self) -> Agent | None:
        """The best eligible agent with free capacity for this channel, removed from the pool."""
        ready = self.ready
        channel = self.channel
        while ready:
            _, _, version, agent = heapq.heappop(ready)
            if version == agent.version and agent.can_take(channel):
                return agent
        return None

    def _compact_ready(self) -> None:
        channel = self.channel
        self.ready = [e for e in self.ready if e[2] == e[3].version and e[3].can_take(channel)]
        heapq.heapify(self.ready)
        self.ready_pushes = 0


class Target:
    """One queue's line of interactions waiting for one pool."""

    __slots__ = ("channel", "key", "pool", "queue", "sl_threshold", "waiting")

    def __init__(self, key: tuple[Any, ...], queue: str | None, pool: Pool, sl_threshold: float) -> None:
        self.key = key
        self.queue = queue
        self.pool = pool
        self.channel = pool.channel
        self.sl_threshold = sl_threshold
        self.waiting: list[tuple[float, int, int, Interaction]] = []

    # --- interactions ---------------------------------------------------------------------------
    def push_interaction(self, ix: Interaction, order: float, token: int) -> None:
        heapq.heappush(self.waiting, (order, ix.seq, token, ix))

    def head(self) -> tuple[float, int, int, Interaction] | None:
        """The first interaction in line, skipping entries that have gone stale."""
        waiting = self.waiting
        while waiting:
            entry = waiting[0]
            ix = entry[3]
            if ix.state is _QUEUED and ix.target is self and ix.wait_token == entry[2]:
                return entry
            heapq.heappop(waiting)
        return None

    def pop_head(self) -> None:
        heapq.heappop(self.waiting)
