"""The simulated world around the engine: customers who call and hang up, agents who answer.

Theory of operation
-------------------
The world is the simulator's driver, in the role the live server plays for real: it turns the
scenario into events (arrivals, logins, breaks, answers, hang-ups, abandons), hands each to
``engine.handle`` at the kernel's current time, and carries out the commands that come back —
starting timers on the kernel, making a simulated agent answer an offer, ending a conversation when
its sampled handle time is over. It keeps only what the open interactions need, so memory stays
flat however long the day.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from typing import Any

from centrale.core.agent import AgentState
from centrale.core.commands import (
    AgentStateChanged,
    CancelTimer,
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
from centrale.core.engine import Engine
from centrale.core.errors import DomainError
from centrale.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    CallbackAccepted,
    CustomerAbandoned,
    DispositionSet,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    TimerFired,
    WrapUpCompleted,
)
from centrale.core.interaction import InteractionState
from centrale.sim.distributions import Distribution, Fixed
from centrale.sim.kernel import Kernel
from centrale.sim.scenario import ArrivalStream, Scenario, SimAgent, SimQueue

_QUEUED, _OFFERED = InteractionState.QUEUED, InteractionState.OFFERED
_NOT_READY = AgentState.NOT_READY
RONA_RECOVERY = 10.0  # seconds a simulated agent takes to go ready again after a missed offer


def _pick(rng: random.Random, cumulative: tuple[tuple[Any, float], ...]) -> Any:
    u = rng.random()
    for value, edge in cumulative:
        if u < edge:
            return value
    return cumulative[-1][0]


class World:
    """Simulated customers and agents for one run of a scenario."""

    def __init__(self, scenario: Scenario, engine: Engine, kernel: Kernel, seed: int) -> None:
        self.scenario = scenario
        self.engine = engine
        self.kernel = kernel
        # Separate random streams per purpose (common random numbers): two runs with the same seed
        # but different staffing see the same customers — arrivals, patience and handle times do
        # not shift because an agent answered differently.
        self.rng = random.Random(f"{seed}/agents")
        self.patience_rng = {q: random.Random(f"{seed}/patience/{q}") for q in scenario.queues}
        self.handle_rng = {q: random.Random(f"{seed}/handling/{q}") for q in scenario.queues}
        self.customer_rng = random.Random(f"{seed}/customers")
        self.seed = seed
        self.handle = engine.handle
        self.queues: dict[str, SimQueue] = dict(scenario.queues)
        self.agents: dict[str, SimAgent] = {a.config.id: a for a in scenario.agents}
        # What a Connect needs, found with one look-up by queue id instead of two.
        self._handling: dict[str, tuple[Distribution, random.Random]] = {
            q: (sq.handle_time, self.handle_rng[q]) for q, sq in self.queues.items()
        }
        # Whether every agent answers every offer at once and never lets one ring (the usual
        # scenario): then an offer needs no look-up of the agent and no random draw at all.
        self._instant = all(
            not a.rona_probability and isinstance(a.answer_delay, Fixed) and a.answer_delay.mean <= 0
            for a in scenario.agents
        )
        self.cancelled: set[int] = set()
        self.offers: dict[str, str] = {}  # interaction → agent being offered it
        self._answers: deque[str] = deque()
        self._new_timers: dict[int, float] = {}
        self.arrivals = 0
        self.events = 0
        self.ignored = 0
        self._n = 0
        self._commands: dict[type, Callable[[Any], None]] = {
            StartTimer: self._start_timer,
            CancelTimer: self._cancel_timer,
            Offer: self._offer,
            Connect: self._connect,
            RevokeOffer: self._revoke,
            WrapUpStarted: self._wrap_up,
            OfferCallback: self._callback_offer,
            InteractionFinished: self._nothing,
            Disconnect: self._nothing,
            SendToVoicemail: self._nothing,
            AgentStateChanged: self._nothing,
            InteractionQueued: self._queued,
        }

    # --- plumbing -------------------------------------------------------------------------------
    def send(self, event: Any) -> None:
        self.events += 1
        commands = self.handle(event, self.kernel.now)
        table = self._commands
        for c in commands:
            table[type(c)](c)
        # Agents who answer at once do so after the engine's commands are carried out; timers
        # started and cancelled within this cascade never reach the kernel.
        answers = self._answers
        while answers:
            self._answer(answers.popleft())
        new = self._new_timers
        if new:
            schedule, fire = self.kernel.schedule, self._timer
            for tid, at in new.items():
                schedule(at, fire, tid)
            new.clear()

    def send_lenient(self, event: Any) -> None:
        """For schedule events (breaks, shift ends) that may no longer apply: refused is fine."""
        try:
            self.send(event)
        except DomainError:
            self.ignored += 1

    def start(self) -> None:
        sc = self.scenario
        for agent in sc.agents:
            for shift in agent.shifts:
                self.kernel.schedule(shift.start, self._shift_start, agent.config.id)
                for bs, be, reason in shift.breaks:
                    self.kernel.schedule(bs, self._break_start, (agent.config.id, reason))
                    self.kernel.schedule(be, self._break_end, agent.config.id)
                if math.isfinite(shift.end):
                    self.kernel.schedule(shift.end, self._shift_end, agent.config.id)
        for index, stream in enumerate(sc.arrivals):
            _ArrivalProcess(self, stream, index).start()

    # --- agents' days ---------------------------------------------------------------------------
    def _shift_start(self, agent_id: str) -> None:
        self.send_lenient(AgentLoggedIn(agent_id, ready=True))

    def _shift_end(self, agent_id: str) -> None:
        self.send_lenient(AgentLoggedOut(agent_id))

    def _break_start(self, arg: tuple[str, str]) -> None:
        self.send_lenient(AgentNotReady(arg[0], arg[1]))

    def _break_end(self, agent_id: str) -> None:
        agent = self.engine.agents[agent_id]
        if agent.state.value == "not_ready" or agent.pending_reason is not None:
            self.send_lenient(AgentReady(agent_id))

    # --- customers ------------------------------------------------------------------------------
    def arrive(self, queue: str, attributes: dict[str, Any] | None) -> None:
        self._arrive(queue, self.queues[queue].patience, self.patience_rng[queue], attributes)

    def _arrive(
        self, queue: str, patience_time: Distribution, rng: random.Random, attributes: dict[str, Any] | None
    ) -> None:
        self._n += 1
        iid = f"{queue}-{self._n}"
        self.arrivals += 1
        patience = patience_time.sample(rng)
        self.send(InteractionArrived(iid, queue, attributes=attributes))
        if patience != math.inf:
            ix = self.engine.interactions.get(iid)
            if ix is not None and ix.answered_at is None:  # not answered at once: may give up
                self.kernel.schedule(self.kernel.now + patience, self._patience_over, iid)

    def _patience_over(self, iid: str) -> None:
        ix = self.engine.interactions.get(iid)
        if ix is not None and (ix.state is _QUEUED or ix.state is _OFFERED):
            self.offers.pop(iid, None)
            self.send(CustomerAbandoned(iid))

    def _queued(self, c: InteractionQueued) -> None:
        # An overflow or transfer: the same customer waits on, with a fresh draw of patience. A
        # callback is the center's to make: nobody is waiting on the line.
        if c.parent is None or c.interaction.endswith(":callback"):
            return
        ix = self.engine.interactions.get(c.interaction)
        if ix is None or ix.answered_at is not None:
            return
        patience = self.queues[ix.queue].patience.sample(self.patience_rng[ix.queue])
        if patience != math.inf:
            self.kernel.schedule(self.kernel.now + patience, self._patience_over, c.interaction)

    def _callback_offer(self, c: OfferCallback) -> None:
        ix = self.engine.interactions.get(c.interaction)
        if ix is None:
            return
        q = self.queues[ix.queue]
        if self.customer_rng.random() < q.callback_acceptance:
            self.kernel.schedule(self.kernel.now, self._take_callback, c.interaction)

    def _take_callback(self, iid: str) -> None:
        ix = self.engine.interactions.get(iid)
        if ix is not None and ix.state.value == "queued":
            self.send(CallbackAccepted(iid))

    # --- commands -------------------------------------------------------------------------------
    def _nothing(self, c: Any) -> None:
        pass

    def _start_timer(self, c: StartTimer) -> None:
        self._new_timers[c.timer] = c.at

    def _cancel_timer(self, c: CancelTimer) -> None:
        if self._new_timers.pop(c.timer, None) is None:
            self.cancelled.add(c.timer)

    def _timer(self, tid: int) -> None:
        if tid in self.cancelled:
            self.cancelled.discard(tid)
            return
        self.send(TimerFired(tid))

    def _offer(self, c: Offer) -> None:
        if self._instant and c.timeout > 0:
            self.offers[c.interaction] = c.agent
            self._answers.append(c.interaction)
            return
        agent = self.agents[c.agent]
        if agent.rona_probability and self.rng.random() < agent.rona_probability:
            # The agent lets it ring: the engine's offer timer fires (RONA) and makes the agent
            # not ready; like a real agent, they make themselves ready again a little later.
            self.kernel.schedule(self.kernel.now + c.timeout + RONA_RECOVERY, self._recover, c.agent)
            return
        self.offers[c.interaction] = c.agent
        delay = agent.answer_delay.sample(self.rng)
        if delay >= c.timeout:
            self.offers.pop(c.interaction, None)
            self.kernel.schedule(self.kernel.now + c.timeout + RONA_RECOVERY, self._recover, c.agent)
            return
        if delay <= 0:
            self._answers.append(c.interaction)
        else:
            self.kernel.schedule(self.kernel.now + delay, self._answer, c.interaction)

    def _recover(self, agent_id: str) -> None:
        agent = self.engine.agents[agent_id]
        if agent.state is _NOT_READY and agent.reason == "rona":
            self.send_lenient(AgentReady(agent_id))

    def _answer(self, iid: str) -> None:
        agent = self.offers.pop(iid, None)
        if agent is not None:
            self.send(OfferAccepted(iid, agent))

    def _revoke(self, c: RevokeOffer) -> None:
        self.offers.pop(c.interaction, None)

    def _connect(self, c: Connect) -> None:
        handle_time, rng = self._handling[c.queue]
        talk = handle_time.sample(rng)
        self.kernel.schedule(self.kernel.now + talk, self._hang_up, c.interaction)

    def _hang_up(self, iid: str) -> None:
        if iid in self.engine.interactions:
            self.send(InteractionEnded(iid))

    def _wrap_up(self, c: WrapUpStarted) -> None:
        q = self.queues[c.queue]
        code = _pick(self.rng, q.disposition_mix) if q.disposition_mix else None
        if c.mode == "fixed":
            if code is not None:
                self.send(DispositionSet(c.interaction, code))
            return
        assert q.wrap_time is not None
        wrap = q.wrap_time.sample(self.rng)
        if c.max_seconds > 0 and wrap >= c.max_seconds:
            if code is not None:
                self.send(DispositionSet(c.interaction, code))
            return  # the engine ends it at the maximum
        self.kernel.schedule(self.kernel.now + wrap, self._end_wrap, (c.interaction, code))

    def _end_wrap(self, arg: tuple[str, str | None]) -> None:
        iid, code = arg
        if iid in self.engine.interactions:
            self.send(WrapUpCompleted(iid, code))


class _ArrivalProcess:
    """One stream of arrivals; keeps exactly one future arrival on the kernel."""

    def __init__(self, world: World, stream: ArrivalStream, index: int) -> None:
        self.world = world
        self.stream = stream
        # Named by the stream's position in the scenario, so its random numbers stay its own.
        self.rng = random.Random(f"{world.seed}/arrivals/{stream.queue}/{index}")
        self.queue = stream.queue
        # Direct references, so that an arrival needs no look-up by queue id.
        self.patience = world.queues[stream.queue].patience
        self.patience_rng = world.patience_rng[stream.queue]
        mix = stream.attributes if stream.attributes is not None else world.queues[stream.queue].attributes
        self.attributes = mix
        self.piece = 0
        self.volume = 0
        self.pending: list[float] = []

    def start(self) -> None:
        if self.stream.pieces:
            self._schedule_poisson(self.stream.pieces[0][0])
        elif self.stream.volumes:
            self._next_volume()

    def _schedule_poisson(self, t: float) -> None:
        pieces = self.stream.pieces
        rng = self.rng
        while self.piece < len(pieces):
            s, e, rate = pieces[self.piece]
            t = max(t, s)
            if rate > 0:
                # random.expovariate's own formula, inlined: the library method runs as
                # interpreted Python, once per arrival.
                t += -math.log(1.0 - rng.random()) / rate
                if t < e:
                    self.world.kernel.schedule(t, self._fire_poisson, t)
                    return
            # Memoryless: restart at the next piece's start with its own rate.
            self.piece += 1
            t = e

    def _fire_poisson(self, t: float) -> None:
        self.world._arrive(self.queue, self.patience, self.patience_rng, self._attrs())
        self._schedule_poisson(t)

    def _next_volume(self) -> None:
        volumes = self.stream.volumes
        rng = self.rng
        while not self.pending and self.volume < len(volumes):
            s, e, n = volumes[self.volume]
            self.volume += 1
            self.pending = sorted((s + rng.random() * (e - s) for _ in range(n)), reverse=True)
        if self.pending:
            self.world.kernel.schedule(self.pending.pop(), self._fire_volume, None)

    def _fire_volume(self, _: Any) -> None:
        self.world._arrive(self.queue, self.patience, self.patience_rng, self._attrs())
        self._next_volume()

    def _attrs(self) -> dict[str, Any] | None:
        if not self.attributes:
            return None
        rng = self.rng
        return {name: _pick(rng, mix) for name, mix in self.attributes}


__all__ = ["World"]
