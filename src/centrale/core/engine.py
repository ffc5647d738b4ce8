"""The engine: one contact center's ACD, agents and interactions, sans-I/O.

Theory of operation
-------------------
``Engine.handle(event, now)`` is the only way in. It looks the event up, checks everything the
event needs (the transition tables of agents and interactions, the ids, the disposition rules)
*before* changing anything, applies it, and returns the commands that follow. A refused event
raises :class:`DomainError` and leaves the engine exactly as it was; an accepted one is appended
to the event log (when one is attached), numbered. Replaying the log through a fresh engine with
the same configuration gives the same state, because the engine reads nothing else: no clock (time
comes with each event), no randomness, no I/O.

Time-outs (offer timeout / RONA, wrap-up, escalation steps, maximum wait) are requested with
:class:`StartTimer` commands and come back as :class:`TimerFired` events. A timer that is no longer
wanted is cancelled with :class:`CancelTimer`; one that fires anyway is ignored, so drivers may
cancel lazily.

Routing lives in :mod:`centrale.core.routing`; the engine keeps the invariant that, after every
event, no free agent is eligible for a waiting interaction of a channel it has room for.

Configuration changes at run time are events as well (``AccountConfigured``, ``QueueConfigured``,
``QueueRemoved``, ``DispositionConfigured``, ``DispositionRemoved``, ``AgentUpdated``,
``AgentRemoved``), so the log rebuilds configuration and state alike. ``self.config`` stays the
configuration the engine started from; what is in force now is ``accounts``, ``queues`` (each
``_Queue.config``), ``dispositions`` and ``agents``. A queue's settings that do not decide who may
take an interaction apply at once; a change to who may take it (requirement, channel, selection,
escalation, account) waits until the queue has no open interaction, so an interaction never
changes requirement under way — except that a queue escalating to another (``add_queue``) always
uses that queue's requirement of the moment: its waiting interactions move to the new lines
without losing their place.
"""

from __future__ import annotations

import dataclasses
import enum
import heapq
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from centrale.core import errors
from centrale.core.agent import CHANNELS, VOICE, Agent, AgentState, AgentTrigger
from centrale.core.agent import TRANSITIONS as AGENT_TRANSITIONS
from centrale.core.agent import next_state as agent_next
from centrale.core.commands import (
    AgentStateChanged,
    CancelTimer,
    Command,
    Connect,
    Disconnect,
    InteractionFinished,
    InteractionQueued,
    Offer,
    OfferCallback,
    RevokeOffer,
    SendToVoicemail,
    StartTimer,
    WrapUpStarted,
)
from centrale.core.config import (
    Account,
    AgentConfig,
    AgentSelection,
    EngineConfig,
    EscalationAction,
    InteractionSelection,
    QueueConfig,
    WrapUpMode,
)
from centrale.core.errors import ConfigError, DomainError
from centrale.core.eventlog import EventLog
from centrale.core.events import (
    AccountConfigured,
    AgentAdded,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    AgentRemoved,
    AgentSkillsChanged,
    AgentUpdated,
    CallbackAccepted,
    CustomerAbandoned,
    DispositionConfigured,
    DispositionRemoved,
    DispositionSet,
    Event,
    HoldEnded,
    HoldStarted,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    OfferRejected,
    QueueConfigured,
    QueueRemoved,
    TimerFired,
    TransferToAgent,
    TransferToQueue,
    WrapUpCompleted,
)
from centrale.core.expressions import Expression
from centrale.core.interaction import TRANSITIONS as IX_TRANSITIONS
from centrale.core.interaction import Interaction, InteractionState, InteractionTrigger
from centrale.core.interaction import next_state as ix_next
from centrale.core.routing import Pool, Target
from centrale.core.stats import (
    CALLBACK,
    CLOSED,
    EXPIRED,
    OVERFLOWED,
    RONA,
    TRANSFERRED,
    Stats,
)

# The hot paths below carry direct references instead of ids (an interaction's `line`, its
# `assignee` and its statistics `row`; an agent's `team_stats`): in a national-scale center the
# dictionaries of interactions, agents and queues hold tens of thousands of entries, and each
# look-up by id is mostly a cache miss.

IS, IT, AS, AT = InteractionState, InteractionTrigger, AgentState, AgentTrigger


# The hot paths read the transition tables through per-trigger views ({state: next state}), built
# once from the tables above so the tables stay the single source of truth. A miss falls back to the
# *_next helpers, which raise the domain error.
def _by_trigger(table: Mapping[tuple[Any, Any], Any], trigger: Any) -> dict[Any, Any]:
    return {state: nxt for (state, trig), nxt in table.items() if trig is trigger}


_IX_ON_OFFER: Final = _by_trigger(IX_TRANSITIONS, IT.OFFER)
_IX_ON_ACCEPT: Final = _by_trigger(IX_TRANSITIONS, IT.ACCEPT)
_IX_ON_END: Final = _by_trigger(IX_TRANSITIONS, IT.END)
_IX_ON_COMPLETE: Final = _by_trigger(IX_TRANSITIONS, IT.COMPLETE)
_AGENT_ON_RESERVE: Final = _by_trigger(AGENT_TRANSITIONS, AT.RESERVE)
_AGENT_ON_ACCEPT: Final = _by_trigger(AGENT_TRANSITIONS, AT.ACCEPT)
_AGENT_ON_LEAVE: Final = {
    t: _by_trigger(AGENT_TRANSITIONS, t) for t in AgentTrigger if t.name.startswith("LEAVE_")
}
_PRIORITY_AGING: Final = InteractionSelection.PRIORITY_AGING
_LONGEST_WAITING: Final = InteractionSelection.LONGEST_WAITING
_OFFER: Final = IT.OFFER
_ACCEPT_IX: Final = IT.ACCEPT
_END: Final = IT.END
_COMPLETE: Final = IT.COMPLETE
_RESERVE: Final = AT.RESERVE
_ACCEPT_AGENT: Final = AT.ACCEPT
_QUEUED_S: Final = IS.QUEUED
_LOGGED_OUT: Final = AS.LOGGED_OUT
_READY: Final = AS.READY
_NOT_READY: Final = AS.NOT_READY

# Timer kinds.
_T_OFFER: Final = 1
_T_WRAP: Final = 2
_T_ESCALATE: Final = 3
_T_EXPIRE: Final = 4


def _local_midnight_origin(timezone: str) -> float:
    """An epoch time at a local midnight, near 0, so that interval numbers stay familiar (UTC: 0)."""
    midnight = datetime(2000, 1, 1, tzinfo=ZoneInfo(timezone)).timestamp() % 86400
    return midnight - 86400 if midnight > 43200 else midnight


# QueueConfig fields that decide who may take a queue's interactions: changed only while the queue
# has no open interaction. Every other field applies at once.
_ROUTING_FIELDS: Final = ("account", "channel", "requires", "agent_selection", "escalation")
_DIRECTIONS: Final = ("inbound", "outbound")


def _plain(value: Any) -> Any:
    """A comparable, container-neutral picture of a configuration value (for `Engine.snapshot`):
    expressions by their text, enums by value, dataclasses as tuples of their fields, mappings and
    sets sorted, lists and tuples alike."""
    if isinstance(value, Expression):
        return value.text
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, Mapping):
        return tuple(sorted(((k, _plain(v)) for k, v in value.items()), key=repr))
    if isinstance(value, frozenset | set):
        return tuple(sorted((_plain(v) for v in value), key=repr))
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


def _profile(agent: Agent) -> tuple[Any, ...]:
    """What a requirement can see of an agent besides its id: agents with equal profiles match alike."""
    return (tuple(sorted(agent.skills.items())), agent.team, agent.site, agent.account)


class _Queue:
    """A queue's configuration plus what the engine derives from it (again when it changes)."""

    __slots__ = (
        "config",
        "open_cache",
        "step_bound",
        "step_exprs",
        "step_key",
        "step_priority",
        "step_target",
        "waiting",
        "zone",
    )

    config: QueueConfig
    zone: ZoneInfo | None
    open_cache: dict[date, list[tuple[float, float]]]
    step_exprs: list[tuple[Expression, ...]]
    step_priority: list[int | None]
    step_key: list[int]
    step_bound: list[bool]
    step_target: list[Target | None]

    def __init__(self, config: QueueConfig, queues: Mapping[str, QueueConfig]) -> None:
        self.waiting: dict[str, Interaction] = {}
        self.zone = None
        self.open_cache = {}
        self.configure(config, queues, None)

    def configure(
        self, config: QueueConfig, queues: Mapping[str, QueueConfig], old: QueueConfig | None
    ) -> None:
        """Derive what routing needs from `config` (`queues`: every queue's configuration, for
        escalation to another queue; `old`: the configuration it replaces, if any)."""
        self.config = config
        if old is None or old.hours != config.hours:
            # Resolved here, when the queue is configured: handling any other event must never
            # load time-zone data.
            hours = config.hours
            if hours.always_open:
                self.zone = None
            elif self.zone is None or self.zone.key != hours.timezone:
                self.zone = ZoneInfo(hours.timezone)
            self.open_cache = {}
        # The requirement in force at each escalation step: step k applies the first k steps.
        exprs: tuple[Expression, ...] = (config.requires,)
        self.step_exprs = [exprs]
        prio: int | None = None
        self.step_priority = [None]
        for step in config.escalation:
            if step.action is EscalationAction.REQUIRE and step.requires is not None:
                exprs = (step.requires,)
            elif step.action is EscalationAction.ADD_QUEUE and step.queue is not None:
                exprs = (*exprs, queues[step.queue].requires)
            elif step.action is EscalationAction.PRIORITY and step.priority is not None:
                prio = step.priority
            self.step_exprs.append(exprs)
            self.step_priority.append(prio)
        # Steps with the same requirement share a target; requirements that read no interaction
        # attribute have one target per step, looked up without building a key.
        self.step_key = [self.step_exprs.index(e) for e in self.step_exprs]
        self.step_bound = [any(x.task_attributes for x in e) for e in self.step_exprs]
        self.step_target = [None] * len(self.step_exprs)

    def escalates_to(self, queue: str) -> bool:
        """Whether an escalation step adds the agents of `queue` (another queue or this one)."""
        return any(
            s.action is EscalationAction.ADD_QUEUE and s.queue == queue for s in self.config.escalation
        )


class Engine:
    """The contact-center engine. Not thread-safe by design: one writer owns it."""

    def __init__(self, config: EngineConfig, *, log: EventLog | None = None, notify: bool = True) -> None:
        self.config = config
        self.log = log
        # `notify=False` leaves out pure notifications (AgentStateChanged, InteractionFinished, and
        # InteractionQueued for new arrivals) for drivers that do not use them, such as the
        # simulator; every command that asks for action is always returned.
        self.notify = notify
        qmap = {q.id: q for q in config.queues}
        self.queues: dict[str, _Queue] = {q.id: _Queue(q, qmap) for q in config.queues}
        self.agents: dict[str, Agent] = {}
        self.interactions: dict[str, Interaction] = {}  # open (not terminal) ones only
        self.targets: dict[tuple[Any, ...], Target] = {}
        self.pools: dict[tuple[Any, ...], Pool] = {}
        self._profiles: dict[tuple[Any, ...], list[Agent]] = {}  # profile → agents with it
        self._skill_profiles: dict[str, dict[tuple[Any, ...], list[Agent]]] = {}  # skill → profiles
        self.accounts: dict[str, Account] = {a.id: a for a in config.accounts}
        self.dispositions = {d.code: d for d in config.dispositions}
        self.stats = Stats(
            config.interval_seconds,
            [q.id for q in config.queues],
            origin=_local_midnight_origin(config.timezone),
        )
        self.finished: dict[str, int] = {}  # outcome → count, for invariants and reports
        self._timers: dict[int, tuple[int, str, float]] = {}  # id → (kind, interaction, due)
        self._timer_seq = 0
        self._arrival_seq = 0
        self._wait_seq = 0
        self._offer_seq = 0
        self._agent_seq = 0
        self._aging = config.aging_seconds_per_priority
        self._selection = config.interaction_selection
        self._handlers: dict[type, Callable[[Any, float, list[Command]], None]] = {
            InteractionArrived: self._on_arrived,
            CustomerAbandoned: self._on_abandoned,
            OfferAccepted: self._on_accepted,
            OfferRejected: self._on_rejected,
            InteractionEnded: self._on_ended,
            HoldStarted: self._on_hold,
            HoldEnded: self._on_unhold,
            DispositionSet: self._on_disposition,
            WrapUpCompleted: self._on_wrap_completed,
            TransferToQueue: self._on_transfer_queue,
            TransferToAgent: self._on_transfer_agent,
            CallbackAccepted: self._on_callback_accepted,
            AgentLoggedIn: self._on_login,
            AgentLoggedOut: self._on_logout,
            AgentReady: self._on_ready,
            AgentNotReady: self._on_not_ready,
            AgentAdded: self._on_agent_added,
            AgentSkillsChanged: self._on_skills_changed,
            TimerFired: self._on_timer,
            AccountConfigured: self._on_account_configured,
            QueueConfigured: self._on_queue_configured,
            QueueRemoved: self._on_queue_removed,
            DispositionConfigured: self._on_disposition_configured,
            DispositionRemoved: self._on_disposition_removed,
            AgentUpdated: self._on_agent_updated,
            AgentRemoved: self._on_agent_removed,
        }
        for agent_config in config.agents:
            self._add_agent(agent_config, 0.0)

    # === the one way in ==========================================================================
    def handle(self, event: Event | object, now: float) -> list[Command]:
        """Apply one event at time `now`; return the commands that follow.

        Raises :class:`DomainError` (and changes nothing) when the event is not allowed — also
        for an object that is no event at all (hence the wide parameter type: the compiled
        engine would otherwise refuse it with a TypeError before it could say why).
        """
        handler = self._handlers.get(type(event))
        if handler is None:
            raise DomainError("event.unknown", f"unknown event type {type(event).__name__}")
        out: list[Command] = []
        handler(event, now, out)
        if self.log is not None:
            self.log.append(now, event)
        return out

    @classmethod
    def replay(cls, config: EngineConfig, entries: Iterable[tuple[float, Event]]) -> Engine:
        """A new engine with every logged event applied again in order."""
        engine = cls(config, log=EventLog())
        for at, event in entries:
            engine.handle(event, at)
        return engine

    # === lookups =================================================================================
    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise DomainError(errors.UNKNOWN_AGENT, f"unknown agent {agent_id!r}", agent=agent_id)
        return agent

    def _interaction(self, interaction_id: str) -> Interaction:
        ix = self.interactions.get(interaction_id)
        if ix is None:
            raise DomainError(
                errors.UNKNOWN_INTERACTION,
                f"no open interaction {interaction_id!r}",
                interaction=interaction_id,
            )
        return ix

    def _queue(self, queue_id: str) -> _Queue:
        q = self.queues.get(queue_id)
        if q is None:
            raise DomainError(errors.UNKNOWN_QUEUE, f"unknown queue {queue_id!r}", queue=queue_id)
        return q

    def _assigned(self, ix: Interaction, agent_id: str) -> Agent:
        if ix.agent != agent_id:
            raise DomainError(
                errors.NOT_ASSIGNED,
                f"interaction {ix.id} is not with agent {agent_id}",
                interaction=ix.id,
                agent=agent_id,
            )
        return self._agent(agent_id)

    # === timers ==================================================================================
    def _timer(self, at: float, kind: int, ref: str, out: list[Command]) -> int:
        self._timer_seq += 1
        tid = self._timer_seq
        self._timers[tid] = (kind, ref, at)
        out.append(StartTimer(tid, at))
        return tid

    def _cancel(self, tid: int, out: list[Command]) -> None:
        if tid and self._timers.pop(tid, None) is not None:
            out.append(CancelTimer(tid))

    def _on_timer(self, ev: TimerFired, now: float, out: list[Command]) -> None:
        entry = self._timers.pop(ev.timer, None)
        if entry is None:
            return  # cancelled or already handled: drivers may cancel lazily
        kind, ref, _ = entry
        ix = self.interactions.get(ref)
        if ix is None:
            return
        if kind == _T_OFFER:
            self._rona(ix, now, out)
        elif kind == _T_WRAP:
            ix.timer = 0
            self._complete(ix, now, out)
        elif kind == _T_ESCALATE:
            ix.escalation_timer = 0
            self._escalate(ix, now, out)
        elif kind == _T_EXPIRE:
            ix.expiry_timer = 0
            if ix.state is IS.QUEUED:
                self._expire(ix, now, out)
            else:
                ix.overdue = "expire"  # ringing an agent: expires if the offer fails

    # === agents ==================================================================================
    def _add_agent(self, cfg: AgentConfig, now: float) -> Agent:
        if cfg.id in self.agents:
            raise DomainError(errors.DUPLICATE_AGENT, f"agent {cfg.id!r} exists already", agent=cfg.id)
        for skill, level in cfg.skills.items():
            if not 0 <= level <= 10:
                raise DomainError(
                    errors.INVALID_SKILL, f"agent {cfg.id}: proficiency of {skill} must be 0–10, got {level}"
                )
        self._agent_seq += 1
        agent = Agent(
            id=cfg.id,
            account=cfg.account,
            team=cfg.team,
            site=cfg.site,
            name=cfg.name,
            skills=dict(cfg.skills),
            capacity=dict(cfg.capacity),
            seq=self._agent_seq,
            state_since=now,
            idle_since=now,
        )
        agent.profile = _profile(agent)
        self._index_profile(agent)
        self.agents[agent.id] = agent
        for pool in self.pools.values():
            if agent.capacity.get(pool.channel, 0) > 0 and pool.matches(agent):
                pool.members.append(agent)
                agent.pools.setdefault(pool.channel, []).append(pool)
        return agent

    def _index_profile(self, agent: Agent) -> None:
        group = self._profiles.get(agent.profile)
        if group is None:
            group = self._profiles[agent.profile] = []
            for skill, level in agent.skills.items():
                if level > 0:
                    self._skill_profiles.setdefault(skill, {})[agent.profile] = group
        group.append(agent)

    def _on_agent_added(self, ev: AgentAdded, now: float, out: list[Command]) -> None:
        self._add_agent(ev.config, now)

    def _on_skills_changed(self, ev: AgentSkillsChanged, now: float, out: list[Command]) -> None:
        agent = self._agent(ev.agent)
        for skill, level in ev.skills.items():
            if not 0 <= level <= 10:
                raise DomainError(errors.INVALID_SKILL, f"proficiency of {skill} must be 0–10, got {level}")
        self._profiles[agent.profile].remove(agent)
        agent.skills = dict(ev.skills)
        self._reindex(agent, now, out)

    def _reindex(self, agent: Agent, now: float, out: list[Command]) -> None:
        """The agent's profile changed (skills, team, site, account, capacity; it has already left
        its old profile group): index it again, find its pools anew, and give it waiting work."""
        agent.profile = _profile(agent)
        self._index_profile(agent)
        for pools in agent.pools.values():
            for pool in pools:
                pool.members.remove(agent)
        agent.pools = {}
        for pool in self.pools.values():
            if agent.capacity.get(pool.channel, 0) > 0 and pool.matches(agent):
                pool.members.append(agent)
                agent.pools.setdefault(pool.channel, []).append(pool)
        agent.version += 1  # entries in pools it no longer matches go stale
        self._agent_free(agent, now, out)

    def _set_state(
        self, agent: Agent, new: AgentState, reason: str | None, now: float, out: list[Command]
    ) -> None:
        old = agent.state
        agent.version += 1
        if old is new and agent.reason == reason:
            return
        self._settle_time(agent, now)
        if new is AS.READY and old is not AS.READY:
            agent.idle_since = now
        agent.state = new
        agent.reason = reason if new is AS.NOT_READY else None
        agent.state_since = now
        if self.notify:
            out.append(AgentStateChanged(agent.id, new.value, agent.reason, now))

    def _agent_time(self, agent: Agent, state: AgentState, start: float, end: float) -> None:
        """Count time an agent spent in `state` for its team (a logged-in state, `end` > `start`)."""
        buckets = agent.team_stats
        if buckets is None:
            buckets = agent.team_stats = self.stats.team_buckets(agent.team)
        self.stats.agent_time_in(buckets, state, start, end)

    def _row(self, ix: Interaction) -> list[float]:
        """The statistics bucket an interaction is counted in (its queue, the interval it arrived in)."""
        row = ix.row
        if row is None:
            row = ix.row = self.stats.row(ix.queue, ix.arrived_at)
        return row

    def _on_login(self, ev: AgentLoggedIn, now: float, out: list[Command]) -> None:
        agent = self._agent(ev.agent)
        trigger = AT.LOGIN_READY if ev.ready else AT.LOGIN
        new = agent_next(agent.id, agent.state, trigger)
        agent.pending_logout = False
        agent.pending_reason = None
        self._set_state(agent, new, "login" if new is AS.NOT_READY else None, now, out)
        if new is AS.READY:
            self._agent_free(agent, now, out)

    def _on_logout(self, ev: AgentLoggedOut, now: float, out: list[Command]) -> None:
        agent = self._agent(ev.agent)
        new = agent_next(agent.id, agent.state, AT.LOGOUT)
        if new is agent.state:  # work in hand: log out once it is done
            agent.pending_logout = True
            agent.version += 1
            return
        self._set_state(agent, new, None, now, out)

    def _on_ready(self, ev: AgentReady, now: float, out: list[Command]) -> None:
        agent = self._agent(ev.agent)
        new = agent_next(agent.id, agent.state, AT.GO_READY)
        agent.pending_reason = None
        agent.pending_logout = False
        if new is agent.state:
            agent.version += 1
        else:
            self._set_state(agent, new, None, now, out)
        self._agent_free(agent, now, out)

    def _on_not_ready(self, ev: AgentNotReady, now: float, out: list[Command]) -> None:
        agent = self._agent(ev.agent)
        new = agent_next(agent.id, agent.state, AT.GO_NOT_READY)
        if new is AS.NOT_READY:
            self._set_state(agent, new, ev.reason, now, out)
        else:  # work in hand: not ready once it is done
            agent.pending_reason = ev.reason
            agent.version += 1

    def _leave_trigger(self, agent: Agent) -> AgentTrigger:
        """What remains with the agent once a piece of work has left it decides the next state."""
        if agent.connected:
            return AT.LEAVE_TO_BUSY
        if agent.offered:
            return AT.LEAVE_TO_RESERVED
        if agent.wrapping:
            return AT.LEAVE_TO_WRAP_UP
        if agent.pending_logout:
            return AT.LEAVE_TO_LOGGED_OUT
        if agent.pending_reason is not None:
            return AT.LEAVE_TO_NOT_READY
        return AT.LEAVE_TO_READY

    def _after_leave(self, agent: Agent, now: float, out: list[Command]) -> None:
        trigger = self._leave_trigger(agent)
        new = _AGENT_ON_LEAVE[trigger].get(agent.state) or agent_next(agent.id, agent.state, trigger)
        reason = None
        if trigger is AT.LEAVE_TO_NOT_READY:
            reason = agent.pending_reason
            agent.pending_reason = None
        elif trigger is AT.LEAVE_TO_LOGGED_OUT:
            agent.pending_logout = False
            agent.pending_reason = None
        self._set_state(agent, new, reason, now, out)
        self._agent_free(agent, now, out)

    # === routing =================================================================================
    def _target(self, q: _Queue, ix: Interaction) -> Target:
        """The line an interaction waits in at its current step (created on first use)."""
        qc = q.config
        if ix.personal_agent is not None:
            key: tuple[Any, ...] = ("agent", ix.personal_agent, ix.channel, qc.id)
            target = self.targets.get(key)
            if target is None:
                pool = self._personal_pool(ix.personal_agent, ix.channel, qc.agent_selection)
                target = self._new_target(key, qc, pool)
            return target
        step = q.step_key[min(ix.step, len(q.step_exprs) - 1)]
        if not q.step_bound[step]:
            static = q.step_target[step]
            if static is not None:
                return static
        exprs = q.step_exprs[step]
        attrs = ix.attributes
        binding = tuple(e.binding_key(attrs) for e in exprs)
        key = (qc.id, ix.channel, step, binding)
        target = self.targets.get(key)
        if target is None:
            pool_key = (ix.channel, qc.agent_selection, tuple(e.text for e in exprs), binding)
            shared = self.pools.get(pool_key)
            if shared is None:
                shared = self._new_pool(pool_key, ix.channel, qc.agent_selection, exprs, dict(attrs))
            target = self._new_target(key, qc, shared)
        if not q.step_bound[step]:
            q.step_target[step] = target
        return target

    def _new_target(self, key: tuple[Any, ...], qc: QueueConfig, pool: Pool) -> Target:
        target = Target(key, qc.id, pool, qc.sl_threshold)
        self.targets[key] = target
        pool.targets.append(target)
        return target

    def _new_pool(
        self,
        key: tuple[Any, ...],
        channel: str,
        selection: AgentSelection,
        exprs: tuple[Expression, ...],
        bound: dict[str, Any],
    ) -> Pool:
        if len(exprs) == 1:
            expr = exprs[0]

            def matches(a: Agent) -> bool:
                return expr.matches(a, bound)

            def score(a: Agent) -> int:
                return expr.score(a, bound)
        else:

            def matches(a: Agent) -> bool:
                return any(e.matches(a, bound) for e in exprs)

            def score(a: Agent) -> int:
                return max(e.score(a, bound) for e in exprs)

        pool = Pool(key, channel, matches, score, selection)
        self.pools[key] = pool
        # One pass when a pool first appears; afterwards agents carry the list. The requirement is
        # evaluated once per distinct profile (skills, team, site, account): large centers have
        # thousands of agents but far fewer profiles. Only a requirement on agent.id needs each agent.
        needs = [e.needs_one_of for e in exprs]
        if any("id" in e.agent_fields for e in exprs):
            candidates: Iterable[list[Agent]] = ([a] for a in self.agents.values())
        elif all(n is not None for n in needs):
            # Only profiles with one of the skills the requirement needs can match.
            groups: dict[tuple[Any, ...], list[Agent]] = {}
            for n in needs:
                for skill in n or ():
                    groups.update(self._skill_profiles.get(skill, {}))
            candidates = groups.values()
        else:
            candidates = self._profiles.values()
        for group in candidates:
            if not group:
                continue
            if matches(group[0]):
                for agent in group:
                    if agent.capacity.get(channel, 0) > 0:
                        self._join(agent, pool)
        return pool

    def _personal_pool(self, agent_id: str, channel: str, selection: AgentSelection) -> Pool:
        key = ("agent", agent_id, channel, selection)
        pool = self.pools.get(key)
        if pool is None:
            pool = Pool(key, channel, lambda a: a.id == agent_id, lambda a: 0, selection)
            self.pools[key] = pool
            agent = self.agents.get(agent_id)
            if agent is not None and agent.capacity.get(channel, 0) > 0:
                self._join(agent, pool)
        return pool

    def _join(self, agent: Agent, pool: Pool) -> None:
        pool.members.append(agent)
        agent.pools.setdefault(pool.channel, []).append(pool)
        if agent.can_take(pool.channel):
            pool.push_agent(agent, agent.seq)

    def _order(self, ix: Interaction) -> float:
        return ix.enqueued_at - ix.priority * self._aging

    def _enter_line(self, ix: Interaction, q: _Queue, now: float, out: list[Command]) -> None:
        """Put a QUEUED interaction in line at its place, or offer it straight to a free agent."""
        target = self._target(q, ix)
        ix.target = target
        agent = target.pool.pop_agent()
        if agent is not None:
            self._offer(ix, agent, now, out)
            if ix.channel != VOICE:
                self._agent_free(agent, now, out)  # room for more chats: back in the pools
            return
        q.waiting[ix.id] = ix
        # A token unique across the engine: it marks this entry as the live one and, being unique,
        # also settles ties in the heap without ever comparing interactions.
        self._wait_seq += 1
        ix.wait_token = self._wait_seq
        target.push_interaction(ix, self._order(ix), ix.wait_token)

    def _agent_free(self, agent: Agent, now: float, out: list[Command]) -> None:
        """Give an agent with free capacity the best waiting work; else put it in the pools."""
        pools_by_channel = agent.pools
        if not pools_by_channel:
            return
        selection = self._selection
        while True:
            best: tuple[float, int, int, Interaction] | None = None
            best_target: Target | None = None
            best_score = 0.0
            for channel, pools in pools_by_channel.items():
                if not agent.can_take(channel):
                    continue
                for pool in pools:
                    for t in pool.targets:
                        # Target.head(), inlined: this loop is the hottest code of the ACD.
                        waiting = t.waiting
                        head = None
                        while waiting:
                            entry = waiting[0]
                            ix = entry[3]
                            if ix.state is _QUEUED_S and ix.target is t and ix.wait_token == entry[2]:
                                head = entry
                                break
                            heapq.heappop(waiting)
                        if head is None:
                            continue
                        if selection is _PRIORITY_AGING:
                            score = head[0]
                        elif selection is _LONGEST_WAITING:
                            score = head[3].enqueued_at
                        else:  # service-level urgency: the largest share of its threshold used up
                            score = -(now - head[3].enqueued_at) / (t.sl_threshold or 1.0)
                        if best is None or score < best_score or (score == best_score and head[1] < best[1]):
                            best, best_target, best_score = head, t, score
            if best is None or best_target is None:
                break
            best_target.pop_head()
            self._offer(best[3], agent, now, out)
        for channel, pools in pools_by_channel.items():
            if agent.can_take(channel):
                for pool in pools:
                    pool.push_agent(agent, agent.seq)

    def _offer(self, ix: Interaction, agent: Agent, now: float, out: list[Command]) -> None:
        # Hot path: the tables are read directly; the *_next helpers raise the domain error.
        new_ix = _IX_ON_OFFER.get(ix.state) or ix_next(ix.id, ix.state, _OFFER)
        new_agent = _AGENT_ON_RESERVE.get(agent.state) or agent_next(agent.id, agent.state, _RESERVE)
        q: _Queue = ix.line
        q.waiting.pop(ix.id, None)
        ix.state = new_ix
        ix.agent = agent.id
        ix.assignee = agent
        ix.offered_at = now
        ix.offers += 1
        channel = ix.channel
        agent.offered[ix.id] = channel
        agent.load[channel] = agent.load.get(channel, 0) + 1
        self._offer_seq += 1
        agent.last_offer_seq = self._offer_seq
        self._set_state(agent, new_agent, None, now, out)
        timeout = q.config.offer_timeout
        ix.timer = self._timer(now + timeout, _T_OFFER, ix.id, out)
        out.append(Offer(ix.id, agent.id, channel, timeout))

    def _take_back_offer(self, ix: Interaction, agent: Agent) -> None:
        del agent.offered[ix.id]
        agent.load[ix.channel] -= 1
        ix.agent = None
        ix.assignee = None

    # === interactions ============================================================================
    def _is_open(self, q: _Queue, now: float) -> bool:
        hours = q.config.hours
        if hours.always_open:
            return True  # most queues: no calendar work at all
        today = datetime.fromtimestamp(now, q.zone).date()
        # Yesterday's spans too: one that runs past midnight (22:00–02:00) is open at 01:00.
        for day in (today, today - timedelta(days=1)):
            spans = q.open_cache.get(day)
            if spans is None:
                spans = q.open_cache[day] = hours.spans_for(day, q.zone)
            if any(s <= now < e for s, e in spans):
                return True
        return False

    def _on_arrived(self, ev: InteractionArrived, now: float, out: list[Command]) -> None:
        q = self.queues.get(ev.queue) or self._queue(ev.queue)
        if ev.interaction in self.interactions:
            raise DomainError(
                errors.DUPLICATE_INTERACTION,
                f"interaction {ev.interaction!r} is open already",
                interaction=ev.interaction,
            )
        self._arrive(
            ev.interaction,
            q,
            now,
            out,
            priority=ev.priority,
            attributes=ev.attributes,
            contact=ev.contact,
            direction=ev.direction,
        )

    def _arrive(
        self,
        iid: str,
        q: _Queue,
        now: float,
        out: list[Command],
        *,
        priority: int | None = None,
        attributes: dict[str, Any] | None = None,
        contact: str | None = None,
        direction: str | None = None,
        parent: str | None = None,
        enqueued_at: float | None = None,
        personal_agent: str | None = None,
        seq: int | None = None,
        step: int = 0,
    ) -> Interaction:
        qc = q.config
        if parent is not None and iid in self.interactions:
            # A segment named after its parent and destination may repeat (transferred there twice).
            n = 2
            while f"{iid}#{n}" in self.interactions:
                n += 1
            iid = f"{iid}#{n}"
        self._arrival_seq += 1
        ix = Interaction(
            id=iid,
            queue=qc.id,
            account=qc.account,
            channel=qc.channel,
            direction=direction or qc.direction,
            priority=qc.priority if priority is None else priority,
            attributes=dict(attributes) if attributes else {},
            arrived_at=now,
            enqueued_at=now if enqueued_at is None else enqueued_at,
            seq=self._arrival_seq if seq is None else seq,
            parent=parent,
            contact=contact,
            personal_agent=personal_agent,
            step=step,
        )
        ix.line = q
        if not self._is_open(q, now):
            self._row(ix)[CLOSED] += 1
            self._refuse(ix, q, now, out, "closed")
            return ix
        if iid.endswith(":callback"):
            # A callback continues a contact the queue has already counted (as offered, with the
            # outcome "callback requested"); only its handling is counted again.
            ix.counted = False
        else:
            Stats.arrival_in(self._row(ix))
        if qc.max_length is not None and len(q.waiting) >= qc.max_length:
            self._row(ix)[OVERFLOWED] += 1
            self._refuse(ix, q, now, out, "queue_full")
            return ix
        self.interactions[iid] = ix
        if self.notify or parent is not None:
            out.append(InteractionQueued(iid, qc.id, parent))
        if qc.escalation and personal_agent is None and not iid.endswith(":callback"):
            # Callbacks and personal transfers keep their place and do not escalate again.
            first = qc.escalation[0]
            ix.escalation_timer = self._timer(now + first.after, _T_ESCALATE, iid, out)
        if qc.max_wait is not None:
            ix.expiry_timer = self._timer(now + qc.max_wait, _T_EXPIRE, iid, out)
        self._enter_line(ix, q, now, out)
        return ix

    def _refuse(self, ix: Interaction, q: _Queue, now: float, out: list[Command], reason: str) -> None:
        """Closed or full: the interaction ends at once, or continues in the overflow queue."""
        ix.state = IS.OVERFLOWED
        ix.outcome_reason = reason
        self._count_finished(ix, out)
        overflow = q.config.overflow_to
        if overflow is not None and ix.parent is None:
            self._arrive(
                f"{ix.id}>{overflow}",
                self.queues[overflow],
                now,
                out,
                priority=ix.priority,
                attributes=ix.attributes,
                contact=ix.contact,
                parent=ix.id,
            )
        else:
            out.append(Disconnect(ix.id, reason))

    def _count_finished(self, ix: Interaction, out: list[Command]) -> None:
        outcome = ix.state._value_
        self.finished[outcome] = self.finished.get(outcome, 0) + 1
        if self.notify:
            out.append(
                InteractionFinished(
                    ix.id, ix.queue, outcome, ix.outcome_reason, ix.agent, ix.disposition, ix.notes
                )
            )

    def _finish(self, ix: Interaction, out: list[Command]) -> None:
        self.interactions.pop(ix.id, None)
        q: _Queue = ix.line
        q.waiting.pop(ix.id, None)
        if ix.escalation_timer:
            self._cancel(ix.escalation_timer, out)
        if ix.expiry_timer:
            self._cancel(ix.expiry_timer, out)
        if ix.timer:
            self._cancel(ix.timer, out)
        ix.target = None
        self._count_finished(ix, out)

    def _leave_line(
        self,
        ix: Interaction,
        trigger: InteractionTrigger,
        now: float,
        out: list[Command],
        field: int,
        reason: str | None,
    ) -> None:
        """End a waiting interaction with a terminal outcome (expired, overflowed, callback, …)."""
        ix.state = ix_next(ix.id, ix.state, trigger)
        ix.outcome_reason = reason
        if ix.counted:
            self._row(ix)[field] += 1
        self._finish(ix, out)

    def _on_abandoned(self, ev: CustomerAbandoned, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        new = ix_next(ix.id, ix.state, IT.ABANDON)
        agent: Agent | None = None
        if ix.state is IS.OFFERED:
            agent = ix.assignee
            assert agent is not None
            self._take_back_offer(ix, agent)
            out.append(RevokeOffer(ix.id, agent.id))
        ix.state = new
        ix.ended_at = now
        if ix.counted:
            qc = ix.line.config
            Stats.abandon_in(self._row(ix), now - ix.arrived_at, qc.sl_threshold, qc.short_abandon)
        self._finish(ix, out)
        if agent is not None:
            self._after_leave(agent, now, out)

    def _on_accepted(self, ev: OfferAccepted, now: float, out: list[Command]) -> None:
        ix = self.interactions.get(ev.interaction) or self._interaction(ev.interaction)
        agent: Agent | None = ix.assignee if ix.agent == ev.agent else None
        if agent is None:
            agent = self._assigned(ix, ev.agent)
        # Hot path: the tables are read directly; the *_next helpers raise the domain error.
        new_ix = _IX_ON_ACCEPT.get(ix.state) or ix_next(ix.id, ix.state, _ACCEPT_IX)
        new_agent = _AGENT_ON_ACCEPT.get(agent.state) or agent_next(agent.id, agent.state, _ACCEPT_AGENT)
        if ix.timer:
            self._cancel(ix.timer, out)
            ix.timer = 0
        ix.state = new_ix
        ix.answered_at = now
        channel = agent.offered.pop(ix.id)
        agent.connected[ix.id] = channel
        agent.contacts_today += 1
        if ix.counted:
            Stats.answer_in(self._row(ix), now - ix.arrived_at, ix.line.config.sl_threshold)
        if ix.escalation_timer:
            self._cancel(ix.escalation_timer, out)
            ix.escalation_timer = 0
        if ix.expiry_timer:
            self._cancel(ix.expiry_timer, out)
            ix.expiry_timer = 0
        self._set_state(agent, new_agent, None, now, out)
        out.append(Connect(ix.id, agent.id, channel, ix.queue))
        if channel != VOICE:
            self._agent_free(agent, now, out)  # room for more digital work

    def _requeue(self, ix: Interaction, agent: Agent, now: float, out: list[Command], why: str) -> None:
        """The offer failed (declined or not answered): back in line at the same place."""
        new_ix = ix_next(ix.id, ix.state, IT.REQUEUE)
        self._cancel(ix.timer, out)
        ix.timer = 0
        self._take_back_offer(ix, agent)
        out.append(RevokeOffer(ix.id, agent.id))
        ix.state = new_ix
        ix.ronas += 1
        if ix.counted:
            self._row(ix)[RONA] += 1
        # The agent is made not ready first, so the interaction is not offered straight back. A
        # not-ready the agent asked for earlier (lunch) keeps its own reason.
        if agent.pending_reason is None:
            agent.pending_reason = why
        self._after_leave(agent, now, out)
        q: _Queue = ix.line
        overdue, ix.overdue = ix.overdue, None
        if overdue == "expire":
            self._expire(ix, now, out)
        elif overdue is not None:
            self._apply_step(ix, q, EscalationAction(overdue), now, out)
        else:
            self._enter_line(ix, q, now, out)

    def _rona(self, ix: Interaction, now: float, out: list[Command]) -> None:
        ix.timer = 0
        if ix.state is not IS.OFFERED or ix.agent is None:
            return
        self._requeue(ix, ix.assignee, now, out, "rona")

    def _on_rejected(self, ev: OfferRejected, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        agent = self._assigned(ix, ev.agent)
        ix_next(ix.id, ix.state, IT.REQUEUE)
        self._requeue(ix, agent, now, out, "declined")

    def _on_hold(self, ev: HoldStarted, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        ix.state = ix_next(ix.id, ix.state, IT.HOLD)
        ix.hold_started = now

    def _on_unhold(self, ev: HoldEnded, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        ix.state = ix_next(ix.id, ix.state, IT.UNHOLD)
        if ix.hold_started is not None:
            ix.hold_seconds += now - ix.hold_started
            ix.hold_started = None

    def _on_ended(self, ev: InteractionEnded, now: float, out: list[Command]) -> None:
        ix = self.interactions.get(ev.interaction) or self._interaction(ev.interaction)
        new = _IX_ON_END.get(ix.state) or ix_next(ix.id, ix.state, _END)
        self._to_wrap_up(ix, new, now, out)

    def _to_wrap_up(self, ix: Interaction, new: InteractionState, now: float, out: list[Command]) -> None:
        agent: Agent | None = ix.assignee
        assert agent is not None
        if ix.hold_started is not None:
            ix.hold_seconds += now - ix.hold_started
            ix.hold_started = None
        ix.state = new
        ix.ended_at = now
        ix.wrap_started = now
        agent.wrapping[ix.id] = agent.connected.pop(ix.id)
        q: _Queue = ix.line
        wrap = q.config.wrap_up
        if wrap.mode is WrapUpMode.NONE or (wrap.mode is WrapUpMode.FIXED and wrap.seconds <= 0):
            # No wrap-up: the interaction completes at once and the agent moves straight on.
            self._complete(ix, now, out)
            return
        self._after_leave_without_free(agent, now, out)
        if wrap.seconds > 0:  # fixed length, or the agent's maximum
            ix.timer = self._timer(now + wrap.seconds, _T_WRAP, ix.id, out)
        out.append(WrapUpStarted(ix.id, agent.id, ix.queue, wrap.mode.value, wrap.seconds))
        if agent.state is not AS.WRAP_UP:
            self._agent_free(agent, now, out)

    def _after_leave_without_free(self, agent: Agent, now: float, out: list[Command]) -> None:
        trigger = self._leave_trigger(agent)
        self._set_state(agent, agent_next(agent.id, agent.state, trigger), None, now, out)

    def _check_disposition(self, ix: Interaction, code: str | None) -> None:
        if code is None:
            return
        d = self.dispositions.get(code)
        allowed = self.queues[ix.queue].config.dispositions
        if (
            d is None
            or (d.account is not None and d.account != ix.account)
            or (allowed is not None and code not in allowed)
        ):
            raise DomainError(
                errors.UNKNOWN_DISPOSITION,
                f"disposition {code!r} is not available in queue {ix.queue}",
                interaction=ix.id,
                disposition=code,
            )

    def _on_disposition(self, ev: DispositionSet, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        if ix.state not in (IS.CONNECTED, IS.HELD, IS.WRAP_UP):
            raise DomainError(
                errors.ILLEGAL_INTERACTION_TRANSITION,
                f"interaction {ix.id} cannot be registered while {ix.state.value}",
            )
        self._check_disposition(ix, ev.disposition)
        if ev.disposition is not None:
            ix.disposition = ev.disposition
        if ev.notes is not None:
            ix.notes = ev.notes
        if ev.fields:
            ix.fields = {**(ix.fields or {}), **ev.fields}

    def _on_wrap_completed(self, ev: WrapUpCompleted, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        trigger = IT.COMPLETE_TRANSFERRED if ix.transferred else IT.COMPLETE
        ix_next(ix.id, ix.state, trigger)
        self._check_disposition(ix, ev.disposition)
        qc = self.queues[ix.queue].config
        if (
            qc.require_disposition
            and ev.disposition is None
            and ix.disposition is None
            and not ix.transferred
        ):
            raise DomainError(
                errors.DISPOSITION_REQUIRED,
                f"queue {ix.queue} requires a disposition before wrap-up ends",
                interaction=ix.id,
            )
        if ev.disposition is not None:
            ix.disposition = ev.disposition
        if ev.notes is not None:
            ix.notes = ev.notes
        if ev.fields:
            ix.fields = {**(ix.fields or {}), **ev.fields}
        self._cancel(ix.timer, out)
        ix.timer = 0
        self._complete(ix, now, out)

    def _complete(self, ix: Interaction, now: float, out: list[Command]) -> None:
        trigger = IT.COMPLETE_TRANSFERRED if ix.transferred else IT.COMPLETE
        nxt = _IX_ON_COMPLETE.get(ix.state) if trigger is _COMPLETE else None
        ix.state = nxt or ix_next(ix.id, ix.state, trigger)
        ix.completed_at = now
        agent: Agent | None = ix.assignee
        assert agent is not None and ix.answered_at is not None and ix.ended_at is not None
        channel = agent.wrapping.pop(ix.id)
        agent.load[channel] -= 1
        hold = ix.hold_seconds
        row = self._row(ix)
        q: _Queue = ix.line
        self.stats.handled_in(
            row, q.config.account, ix.ended_at - ix.answered_at - hold, hold, now - ix.ended_at
        )
        if ix.transferred:
            row[TRANSFERRED] += 1
        if ix.disposition is not None:
            self.stats.on_disposition(ix.queue, ix.disposition)
        self._finish(ix, out)
        self._after_leave(agent, now, out)

    # --- transfers and callbacks ------------------------------------------------------------------
    def _on_transfer_queue(self, ev: TransferToQueue, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        q = self._queue(ev.queue)
        self._transfer(ix, q, now, out, personal_agent=None)

    def _on_transfer_agent(self, ev: TransferToAgent, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        target_agent = self._agent(ev.agent)
        if target_agent.capacity.get(ix.channel, 0) <= 0:
            raise DomainError(
                "transfer.not_possible", f"agent {ev.agent} does not handle {ix.channel} interactions"
            )
        self._transfer(ix, self.queues[ix.queue], now, out, personal_agent=ev.agent)

    def _transfer(
        self, ix: Interaction, q: _Queue, now: float, out: list[Command], personal_agent: str | None
    ) -> None:
        new = ix_next(ix.id, ix.state, IT.TRANSFER)
        if q.config.channel != ix.channel:
            raise DomainError(
                "transfer.not_possible",
                f"cannot transfer a {ix.channel} interaction to {q.config.channel} queue {q.config.id}",
            )
        # The customer continues in a new segment named after the old one and the destination.
        successor = f"{ix.id}>{q.config.id}" if personal_agent is None else f"{ix.id}>@{personal_agent}"
        if new is IS.TRANSFERRED:  # still waiting: it just moves
            ix.state = new
            ix.outcome_reason = "moved"
            self._row(ix)[TRANSFERRED] += 1
            self._finish(ix, out)
        else:
            ix.transferred = True
            self._to_wrap_up(ix, new, now, out)
        self._arrive(
            successor,
            q,
            now,
            out,
            priority=ix.priority,
            attributes=ix.attributes,
            contact=ix.contact,
            direction=ix.direction,
            parent=ix.id,
            personal_agent=personal_agent,
        )

    def _expire(self, ix: Interaction, now: float, out: list[Command]) -> None:
        self._leave_line(ix, IT.EXPIRE, now, out, EXPIRED, "max_wait")
        out.append(Disconnect(ix.id, "expired"))

    def _escalate(self, ix: Interaction, now: float, out: list[Command]) -> None:
        q = self.queues[ix.queue]
        steps = q.config.escalation
        if ix.step >= len(steps):
            return
        step = steps[ix.step]
        ix.step += 1
        if ix.step < len(steps):
            nxt = steps[ix.step]
            ix.escalation_timer = self._timer(ix.arrived_at + nxt.after, _T_ESCALATE, ix.id, out)
        prio = q.step_priority[ix.step]
        if prio is not None:
            ix.priority = prio
        if ix.state is not IS.QUEUED:
            # Ringing an agent: a wider pool applies by itself if the offer fails; a callback offer
            # or voicemail is carried out then.
            if step.action is EscalationAction.CALLBACK or step.action is EscalationAction.VOICEMAIL:
                ix.overdue = step.action.value
            return
        self._apply_step(ix, q, step.action, now, out)

    def _apply_step(
        self, ix: Interaction, q: _Queue, action: EscalationAction, now: float, out: list[Command]
    ) -> None:
        if action is EscalationAction.CALLBACK:
            out.append(OfferCallback(ix.id))
            return
        if action is EscalationAction.VOICEMAIL:
            self._leave_line(ix, IT.OVERFLOW, now, out, OVERFLOWED, "voicemail")
            out.append(SendToVoicemail(ix.id))
            return
        # The pool widens (or the priority rises): same place in line, new target.
        q.waiting.pop(ix.id, None)
        self._enter_line(ix, q, now, out)

    def _on_callback_accepted(self, ev: CallbackAccepted, now: float, out: list[Command]) -> None:
        ix = self._interaction(ev.interaction)
        ix_next(ix.id, ix.state, IT.CALLBACK)
        q = self.queues[ix.queue]
        keep_place, keep_seq, keep_step = ix.enqueued_at, ix.seq, ix.step
        self._leave_line(ix, IT.CALLBACK, now, out, CALLBACK, "callback")
        # The callback waits in the same line at the customer's original place (time and order of
        # arrival) and with the pool as wide as it had become; it does not escalate further.
        self._arrive(
            f"{ix.id}:callback",
            q,
            now,
            out,
            priority=ix.priority,
            attributes=ix.attributes,
            contact=ix.contact,
            direction="outbound",
            parent=ix.id,
            enqueued_at=keep_place,
            seq=keep_seq,
            step=keep_step,
        )

    # === configuration at run time ===============================================================
    # Each handler checks the whole change first and raises before touching anything; then applies
    # it and restores the routing invariant (no free agent eligible for waiting work).

    def _on_account_configured(self, ev: AccountConfigured, now: float, out: list[Command]) -> None:
        account = ev.account
        if not isinstance(account.id, str) or not account.id:
            raise ConfigError("an account needs an id", where="account.id")
        self.accounts[account.id] = account

    def _on_disposition_configured(self, ev: DispositionConfigured, now: float, out: list[Command]) -> None:
        d = ev.disposition
        if not isinstance(d.code, str) or not d.code:
            raise ConfigError("a disposition needs a code", where="disposition.code")
        if d.account is not None and d.account not in self.accounts:
            raise ConfigError(
                f"disposition {d.code}: unknown account {d.account!r}",
                where="disposition.account",
                disposition=d.code,
            )
        self.dispositions[d.code] = d

    def _on_disposition_removed(self, ev: DispositionRemoved, now: float, out: list[Command]) -> None:
        code = ev.code
        if code not in self.dispositions:
            raise DomainError(errors.UNKNOWN_DISPOSITION, f"unknown disposition {code!r}", disposition=code)
        for q in self.queues.values():
            qc = q.config
            if qc.dispositions is not None and code in qc.dispositions:
                raise DomainError(
                    errors.DISPOSITION_IN_USE,
                    f"disposition {code!r} is offered by queue {qc.id}",
                    disposition=code,
                    queue=qc.id,
                )
            if qc.require_disposition and qc.dispositions is None and len(self.dispositions) == 1:
                raise DomainError(
                    errors.DISPOSITION_IN_USE,
                    f"disposition {code!r} is the last one, and queue {qc.id} requires a disposition",
                    disposition=code,
                    queue=qc.id,
                )
        del self.dispositions[code]

    def _check_queue_config(self, qc: QueueConfig) -> None:
        """Refuse (ConfigError, `config.invalid`) a queue configuration that cannot work, with the
        checks of the scenario builder (sim/scenario.py) plus what pydantic checks there."""

        def fail(where: str, problem: str) -> ConfigError:
            return ConfigError(f"queue {qc.id}: {where}: {problem}", where=where, queue=qc.id)

        if not isinstance(qc.id, str) or not qc.id:
            raise ConfigError("a queue needs an id", where="id")
        if qc.account not in self.accounts:
            raise fail("account", f"unknown account {qc.account!r}")
        if qc.channel not in CHANNELS:
            raise fail("channel", f"unknown channel {qc.channel!r} (use {', '.join(CHANNELS)})")
        if qc.direction not in _DIRECTIONS:
            raise fail("direction", f"expected inbound or outbound, got {qc.direction!r}")
        self._check_expression(qc.requires, "requires", fail)
        for name, value, low, strict in (
            ("sl_threshold", qc.sl_threshold, 0.0, False),
            ("short_abandon", qc.short_abandon, 0.0, False),
            ("offer_timeout", qc.offer_timeout, 0.0, True),
            ("max_wait", qc.max_wait, 0.0, True),
            ("max_length", qc.max_length, 0.0, False),
            ("wrap_up.seconds", qc.wrap_up.seconds, 0.0, False),
        ):
            if value is None:  # max_wait, max_length: no limit
                continue
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
                or value < low
                or (strict and value <= low)
            ):
                kind = "positive" if strict else "non-negative"
                raise fail(name, f"must be a {kind} number, got {value!r}")
        if qc.max_length is not None and not isinstance(qc.max_length, int):
            raise fail("max_length", f"must be a whole number, got {qc.max_length!r}")
        if not isinstance(qc.sl_target, int | float) or not 0.0 <= qc.sl_target <= 1.0:
            raise fail("sl_target", f"must be between 0 and 1, got {qc.sl_target!r}")
        if not isinstance(qc.priority, int) or isinstance(qc.priority, bool):
            raise fail("priority", f"must be a whole number, got {qc.priority!r}")
        self._check_hours(qc, fail)
        previous = -1.0
        for i, st in enumerate(qc.escalation):
            where = f"escalation[{i}]"
            if not isinstance(st.after, int | float) or not math.isfinite(st.after) or st.after < 0:
                raise fail(where + ".after", f"must be a non-negative number, got {st.after!r}")
            if st.after <= previous:
                raise fail(where + ".after", "escalation steps must come in increasing order of 'after'")
            previous = st.after
            if st.action is EscalationAction.REQUIRE:
                if st.requires is None:
                    raise fail(where + ".requires", "a 'require' step needs a requirement")
                self._check_expression(st.requires, where + ".requires", fail)
            elif st.action is EscalationAction.ADD_QUEUE:
                # Naming the queue itself is allowed: after a narrower 'require' step it brings the
                # queue's own requirement back in.
                if st.queue is None or (st.queue != qc.id and st.queue not in self.queues):
                    raise fail(where + ".queue", f"unknown queue {st.queue!r}")
            elif st.action is EscalationAction.PRIORITY and (
                not isinstance(st.priority, int) or isinstance(st.priority, bool)
            ):
                raise fail(where + ".priority", "a 'priority' step needs a whole-number priority")
        if qc.overflow_to is not None:
            if qc.overflow_to == qc.id:
                raise fail("overflow_to", "a queue cannot overflow to itself")
            if qc.overflow_to not in self.queues:
                raise fail("overflow_to", f"unknown queue {qc.overflow_to!r}")
        if qc.dispositions is not None:
            for code in sorted(qc.dispositions):
                if code not in self.dispositions:
                    raise fail("dispositions", f"unknown disposition {code!r}")
        if qc.require_disposition and not (self.dispositions if qc.dispositions is None else qc.dispositions):
            raise fail("require_disposition", "the queue requires a disposition but none is defined")

    def _check_expression(self, expr: Any, where: str, fail: Callable[[str, str], ConfigError]) -> None:
        if not isinstance(expr, Expression):
            raise fail(where, f"expected a parsed expression, got {type(expr).__name__}")
        known = self.config.skills
        if known:  # skills declared: as in a scenario, a requirement may only name those
            unknown = sorted(expr.skills - known)
            if unknown:
                raise fail(where, f"expression {expr.text!r} names unknown skill(s) {', '.join(unknown)}")

    def _check_hours(self, qc: QueueConfig, fail: Callable[[str, str], ConfigError]) -> None:
        hours = qc.hours
        if hours.always_open:
            return
        try:
            ZoneInfo(hours.timezone)
        except (KeyError, ValueError, TypeError, OSError):
            raise fail("hours.timezone", f"unknown time zone {hours.timezone!r}") from None
        for day, spans in hours.weekly.items():
            if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
                raise fail("hours.weekly", f"weekdays are 0 (Monday) to 6, got {day!r}")
            for span in spans:
                if (
                    not isinstance(span, tuple | list)
                    or len(span) != 2
                    or not all(isinstance(t, time) and t.tzinfo is None for t in span)
                ):
                    raise fail(f"hours.weekly.{day}", f"expected (start, end) local times, got {span!r}")
        for d in hours.closed_dates:
            if not isinstance(d, date) or isinstance(d, datetime):
                raise fail("hours.closed_dates", f"expected dates, got {d!r}")

    def _open_in(self, queue: str) -> list[str]:
        """The open interactions of a queue (waiting, offered, connected, held or in wrap-up)."""
        return sorted(ix.id for ix in self.interactions.values() if ix.queue == queue)

    def _on_queue_configured(self, ev: QueueConfigured, now: float, out: list[Command]) -> None:
        qc = ev.config
        self._check_queue_config(qc)
        q = self.queues.get(qc.id)
        configs = {k: v.config for k, v in self.queues.items()}
        configs[qc.id] = qc
        if q is None:
            self.queues[qc.id] = _Queue(qc, configs)
            self.stats.add_queue(qc.id)
            return  # a new queue has nothing waiting, and no other queue refers to it yet
        old = q.config
        routing = [f for f in _ROUTING_FIELDS if getattr(old, f) != getattr(qc, f)]
        if routing:
            busy = self._open_in(qc.id)
            if busy:
                raise DomainError(
                    errors.QUEUE_BUSY,
                    f"queue {qc.id} has {len(busy)} open interaction(s): {', '.join(routing)} "
                    "can only change when it has none",
                    queue=qc.id,
                    fields=routing,
                )
        # Queues that escalate to this one read its requirement: they follow it (below).
        dependants = (
            [d for k, d in self.queues.items() if k != qc.id and d.escalates_to(qc.id)]
            if old.requires != qc.requires
            else []
        )
        # --- checked; from here on nothing refuses ---
        if routing:
            self._drop_targets(qc.id)  # no interaction waits in them: the queue is idle
        q.configure(qc, configs, old)
        for target in self.targets.values():
            if target.queue == qc.id:
                target.sl_threshold = qc.sl_threshold
        self.stats.add_queue(qc.id)
        for d in dependants:
            self._reroute(d, configs, now, out)
        if routing or dependants:
            self._drop_idle_pools()

    def _on_queue_removed(self, ev: QueueRemoved, now: float, out: list[Command]) -> None:
        q = self._queue(ev.queue)
        busy = self._open_in(ev.queue)
        if busy:
            raise DomainError(
                errors.QUEUE_BUSY,
                f"queue {ev.queue} has {len(busy)} open interaction(s)",
                queue=ev.queue,
            )
        referring = sorted(
            k
            for k, other in self.queues.items()
            if k != ev.queue and (other.config.overflow_to == ev.queue or other.escalates_to(ev.queue))
        )
        if referring:
            raise DomainError(
                errors.QUEUE_IN_USE,
                f"queue {ev.queue} is named by the escalation or overflow of {', '.join(referring)}",
                queue=ev.queue,
                referring=referring,
            )
        del self.queues[q.config.id]
        self._drop_targets(q.config.id)
        self._drop_idle_pools()
        # Its figures stay in `stats`: what it handled remains reportable.

    def _reroute(self, q: _Queue, configs: Mapping[str, QueueConfig], now: float, out: list[Command]) -> None:
        """Derive a queue's routing again and move its waiting interactions to the new lines, each
        at its place (time and order of arrival, priority), offering them to agents now eligible."""
        waiting = sorted(q.waiting.values(), key=lambda ix: (self._order(ix), ix.seq))
        self._drop_targets(q.config.id)
        q.configure(q.config, configs, q.config)
        q.waiting.clear()
        for ix in waiting:
            self._enter_line(ix, q, now, out)

    def _drop_targets(self, queue: str) -> None:
        """Forget a queue's lines (the interactions in them must be re-entered or be gone)."""
        for key in [k for k, t in self.targets.items() if t.queue == queue]:
            target = self.targets.pop(key)
            target.pool.targets.remove(target)
        q = self.queues.get(queue)
        if q is not None:
            q.step_target = [None] * len(q.step_target)

    def _drop_idle_pools(self) -> None:
        """Forget pools no line draws on any more, so that freed agents are not pushed into them."""
        for key in [k for k, p in self.pools.items() if not p.targets]:
            pool = self.pools.pop(key)
            for agent in pool.members:
                pools = agent.pools.get(pool.channel)
                if pools is not None:
                    pools.remove(pool)
                    if not pools:
                        del agent.pools[pool.channel]

    def _on_agent_updated(self, ev: AgentUpdated, now: float, out: list[Command]) -> None:
        cfg = ev.config
        agent = self._agent(cfg.id)
        for skill, level in cfg.skills.items():
            if not isinstance(level, int) or not 0 <= level <= 10:
                raise DomainError(
                    errors.INVALID_SKILL,
                    f"agent {cfg.id}: proficiency of {skill} must be 0–10, got {level}",
                    agent=cfg.id,
                )
        for channel, n in cfg.capacity.items():
            if not isinstance(n, int) or n < 0:
                raise ConfigError(
                    f"agent {cfg.id}: capacity for {channel} must be a whole number ≥ 0, got {n!r}",
                    where=f"capacity.{channel}",
                    agent=cfg.id,
                )
        capacity = dict(cfg.capacity)

        def used(c: Mapping[str, int]) -> dict[str, int]:
            return {k: v for k, v in c.items() if v}

        if used(capacity) != used(agent.capacity) and agent.state is not _LOGGED_OUT:
            raise DomainError(
                errors.AGENT_BUSY,
                f"agent {cfg.id} is {agent.state.value}: capacity can only change while logged out",
                agent=cfg.id,
            )
        # --- checked ---
        if cfg.team != agent.team:
            self._settle_time(agent, now)  # time so far counts for the old team
            agent.team_stats = None
        self._profiles[agent.profile].remove(agent)
        agent.name = cfg.name
        agent.team = cfg.team
        agent.site = cfg.site
        agent.account = cfg.account
        agent.skills = dict(cfg.skills)
        agent.capacity = capacity
        self._reindex(agent, now, out)

    def _on_agent_removed(self, ev: AgentRemoved, now: float, out: list[Command]) -> None:
        agent = self._agent(ev.agent)
        if agent.state is not _LOGGED_OUT:
            raise DomainError(
                errors.AGENT_BUSY,
                f"agent {agent.id} is {agent.state.value}: only a logged-out agent can be removed",
                agent=agent.id,
            )
        awaited = sorted(i for i, ix in self.interactions.items() if ix.personal_agent == agent.id)
        if awaited:
            raise DomainError(
                errors.AGENT_BUSY,
                f"interaction(s) {', '.join(awaited)} wait for agent {agent.id}",
                agent=agent.id,
                interactions=awaited,
            )
        self._profiles[agent.profile].remove(agent)
        for pools in agent.pools.values():
            for pool in pools:
                pool.members.remove(agent)
        agent.pools = {}
        agent.version += 1  # its entries in the pools' heaps go stale
        del self.agents[agent.id]
        # Its personal lines (transfers to it) are empty: forget them with its personal pools.
        for key in [k for k, t in self.targets.items() if t.pool.key[:2] == ("agent", agent.id)]:
            target = self.targets.pop(key)
            target.pool.targets.remove(target)
        self._drop_idle_pools()

    def _settle_time(self, agent: Agent, now: float) -> None:
        """Count the agent's time in its current state up to `now` (its state does not change)."""
        state, since = agent.state, agent.state_since
        if state is not _LOGGED_OUT and now > since:
            self._agent_time(agent, state, since, now)
            agent.logged_in_seconds += now - since
            if state is not _READY and state is not _NOT_READY:  # reserved, busy or wrap-up
                agent.busy_seconds += now - since
            agent.state_since = now

    # === reading =================================================================================
    def close_books(self, now: float) -> None:
        """Count every logged-in agent's time in its current state up to `now`.

        A reporting step (end of a run, end of an interval): the state itself does not change.
        """
        for a in self.agents.values():
            self._settle_time(a, now)

    def snapshot(self) -> dict[str, Any]:
        """A plain, comparable picture of the whole state (for replay checks and storage)."""
        return {
            "agents": {
                a.id: (
                    a.state.value,
                    a.reason,
                    a.pending_reason,
                    a.pending_logout,
                    sorted(a.offered),
                    sorted(a.connected),
                    sorted(a.wrapping),
                    a.contacts_today,
                    round(a.busy_seconds, 6),
                )
                for a in self.agents.values()
            },
            "interactions": {
                i.id: (i.queue, i.state.value, i.agent, i.step, i.priority, i.enqueued_at, i.disposition)
                for i in self.interactions.values()
            },
            "waiting": {q: sorted(w) for q, w in ((k, v.waiting) for k, v in self.queues.items())},
            "finished": dict(sorted(self.finished.items())),
            "timers": sorted(self._timers.items()),
            # Configuration in force (it changes at run time too), in a container-neutral form.
            "config": {
                "accounts": {k: _plain(a) for k, a in self.accounts.items()},
                "queues": {k: _plain(q.config) for k, q in self.queues.items()},
                "dispositions": {k: _plain(d) for k, d in self.dispositions.items()},
                "agents": {
                    a.id: (
                        a.name,
                        a.team,
                        a.site,
                        a.account,
                        sorted(a.skills.items()),
                        sorted(a.capacity.items()),
                    )
                    for a in self.agents.values()
                },
            },
        }

    def pending_timers(self) -> list[StartTimer]:
        """Every timer the engine is still waiting for, e.g. to re-arm them after a restart."""
        return [StartTimer(tid, at) for tid, (_, _, at) in sorted(self._timers.items())]

    def waiting(self, queue: str) -> int:
        return len(self._queue(queue).waiting)

    def longest_wait(self, queue: str, now: float) -> float:
        waiting = self._queue(queue).waiting
        return max((now - ix.arrived_at for ix in waiting.values()), default=0.0)
