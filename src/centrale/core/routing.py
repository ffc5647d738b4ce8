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
A pool's ready agents are a heap plus a sorted run (a deque) of the entries that arrived in order —
with longest-idle selection nearly all of them, since an agent is pushed when it becomes free — so
most pushes and pops cost no comparisons; popping takes the smaller head of the two.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from centrale.core.agent import Agent
from centrale.core.config import AgentSelection
from centrale.core.interaction import Interaction, InteractionState

_QUEUED: Final = InteractionState.QUEUED
_LONGEST_IDLE: Final = AgentSelection.LONGEST_IDLE

# A ready agent in a pool: (selection key, agent order, agent version, agent).
ReadyEntry = tuple[Any, int, int, Agent]


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
        "ready_run",
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
        self.ready: list[ReadyEntry] = []  # a heap
        # Entries that came in order: in the usual case (longest idle) an agent is pushed when it
        # becomes free, so its key is the latest yet. Those are appended here, a sorted run, with
        # one comparison instead of a heap push; the pool's order is the merge of the run and the
        # heap, exactly the order of one heap holding both.
        self.ready_run: deque[ReadyEntry] = deque()
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
        # Longest idle (the default) inlined: this runs for every pool of every agent set free.
        key = agent.idle_since if self.selection is _LONGEST_IDLE else self.agent_key(agent)
        entry = (key, agent_seq, agent.version, agent)
        run = self.ready_run
        if not run or not _before(entry, run[-1]):
            run.append(entry)
        else:
            heapq.heappush(self.ready, entry)
        self.ready_pushes += 1
        if self.ready_pushes > 64 and self.entries() > 4 * len(self.members) + 64:
            self._compact_ready()

    def entries(self) -> int:
        """Entries held, stale ones included (they are skipped when popped, or compacted away)."""
        return len(self.ready) + len(self.ready_run)

    def pop_agent(self) -> Agent | None:
        """The best eligible agent with free capacity for this channel, removed from the pool."""
        ready = self.ready
        run = self.ready_run
        channel = self.channel
        while True:
            if run:
                entry = heapq.heappop(ready) if ready and _before(ready[0], run[0]) else run.popleft()
            elif ready:
                entry = heapq.heappop(ready)
            else:
                return None
            agent = entry[3]
            if entry[2] == agent.version and agent.can_take(channel):
                return agent

    def _compact_ready(self) -> None:
        channel = self.channel
        self.ready = [e for e in self.ready if e[2] == e[3].version and e[3].can_take(channel)]
        heapq.heapify(self.ready)
        self.ready_run = deque(e for e in self.ready_run if e[2] == e[3].version and e[3].can_take(channel))
        self.ready_pushes = 0


def _before(a: ReadyEntry, b: ReadyEntry) -> bool:
    """Whether entry `a` comes before `b` in the pool's order (key, then agent order, then version)."""
    if a[0] != b[0]:
        return bool(a[0] < b[0])
    if a[1] != b[1]:
        return a[1] < b[1]
    return a[2] < b[2]


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
