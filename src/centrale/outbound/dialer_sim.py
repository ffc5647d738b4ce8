"""An outbound campaign simulated on the real engine: a dialer, called numbers and agents.

Theory of operation
-------------------
The campaign is one engine queue (``direction="outbound"``, ``max_wait=2.0``): a call a person
answers becomes an :class:`InteractionArrived` there; the engine offers it to a free agent, who
answers at once, or — no agent within 2 s — expires it. An expired call is an *abandoned* (silent)
call in the regulator's sense and gets the recorded information message.

The driver plays the telephone network and the agents on a :class:`~centrale.sim.kernel.Kernel`.
Every ``tick`` seconds, and whenever the engine reports an agent ready, it builds a
:class:`~centrale.outbound.pacing.PacingSnapshot` from the engine's agents and its own calls in
flight and dials what the pacing policy asks for. Each dial rings for a sampled time: a person
answers with probability ``live_rate`` (after a sampled answer delay), otherwise the call ends as
no answer (at the ring time-out), an answering machine (detected a few seconds after it answers),
busy or a failed number — none of which needs an agent. Finished dials, conversations and
wrap-ups are reported to the policy so it can learn.

Answering machines follow ``CampaignSpec.machine_action`` (the campaign's ``answering_machine``
setting): ``hang_up`` (the default, and the benchmark's) ends the dial at detection;
``leave_message`` also ends it for the pacing policy (no agent needed) and counts the message, the
line staying busy ``machine_message_seconds``; ``pass_to_agent`` queues the machine like an answered
call (marked ``machine``): an agent who takes it within 2 s leaves a message for
``machine_talk_seconds`` and wraps up, otherwise it is dropped — neither counts as a live or an
abandoned call, nor as talk time. No action draws extra random numbers, so for the same seed the
dials and their outcomes are the same whatever the action.

Everything random comes from one ``random.Random(seed)`` and the kernel runs equal times in the
order they were scheduled, so a run is a function of its inputs.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from centrale.core.agent import AgentState
from centrale.core.commands import (
    AgentStateChanged,
    CancelTimer,
    Command,
    Connect,
    Disconnect,
    InteractionFinished,
    Offer,
    StartTimer,
    WrapUpStarted,
)
from centrale.core.config import (
    Account,
    AgentConfig,
    EngineConfig,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.engine import Engine
from centrale.core.events import (
    AgentLoggedIn,
    Event,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    TimerFired,
)
from centrale.core.expressions import parse as parse_expression
from centrale.outbound.answering_machine import MachineAction
from centrale.outbound.pacing import (
    BusyAgent,
    DialResult,
    PacingPolicy,
    PacingSnapshot,
    Phase,
    TalkEnded,
    WrapEnded,
)
from centrale.sim.distributions import Distribution, LogNormal
from centrale.sim.kernel import Kernel

CAMPAIGN = "campaign"
_READY, _RESERVED, _BUSY, _WRAP = AgentState.READY, AgentState.RESERVED, AgentState.BUSY, AgentState.WRAP_UP


@dataclass(frozen=True)
class NonLiveMix:
    """What happens to dials nobody answers in person (shares sum to 1, durations in seconds)."""

    no_answer: float = 0.50  # rings until the time-out
    machine: float = 0.30  # an answering machine picks up; detection takes `amd_seconds`
    busy: float = 0.12
    failed: float = 0.08  # unobtainable number, network failure
    amd_seconds: float = 3.0
    busy_seconds: tuple[float, float] = (3.0, 6.0)
    failed_seconds: tuple[float, float] = (1.0, 3.0)


@dataclass(frozen=True)
class CampaignSpec:
    """One simulated campaign shift."""

    agents: int
    live_rate: float
    talk: Distribution
    wrap_seconds: float = 15.0
    duration: float = 8 * 3600.0
    ring_timeout: float = 25.0
    answer_delay: Distribution = field(default_factory=lambda: LogNormal(9.0, 5.0))
    """Ring time until a person (or a machine) answers; kept under the ring time-out."""
    non_live: NonLiveMix = NonLiveMix()
    tick: float = 1.0
    window_seconds: float = 3600.0
    """The evaluation window the policy is told about and the worst window is measured over."""
    regulated_window: float = 24 * 3600.0
    """The regulator's window (Ofcom: any 24 hours), whose counts the policy's margin is taken
    from; a shift shorter than it is one window, its prefixes the windows ending inside it."""
    connect_within: float = 2.0
    information_message: bool = True
    """UK (Ofcom) and US (TSR) presets both require it on every abandoned call."""
    machine_action: MachineAction = MachineAction.HANG_UP
    """What the campaign does with an answering machine (see the module docstring)."""
    machine_message_seconds: float = 20.0
    """``leave_message``: how long the recorded message holds the line."""
    machine_talk_seconds: float = 30.0
    """``pass_to_agent``: how long the agent takes to leave a personal message."""


@dataclass
class RunResult:
    """What one run measured."""

    policy: str
    agents: int
    answer_rate: float
    talk_mean_seconds: float
    seed: int
    hours: float
    dials: int = 0
    live: int = 0
    connected: int = 0
    abandoned: int = 0
    information_messages: int = 0
    talk_seconds: float = 0.0
    worst_window_rate: float = 0.0
    worst_window_live: int = 0
    worst_window_abandoned: int = 0
    worst_prefix_rate: float = 0.0
    """The highest abandoned/live rate of the shift so far, over every moment of the shift: the
    rate of each 24-hour window that ends inside a shift with no dialling in the day before it."""
    max_overdial: int = 0
    """Largest (calls ringing + waiting − free agents) right after a dial decision."""
    cpu_seconds: float = 0.0
    abandoned_ids: list[str] = field(default_factory=list, repr=False)
    message_ids: list[str] = field(default_factory=list, repr=False)
    machine_action: str = MachineAction.HANG_UP.value
    machines: int = 0
    """Dials answered by a machine (every action)."""
    machine_messages: int = 0
    """``leave_message``: recorded messages left."""
    machine_line_seconds: float = 0.0
    """``leave_message``: line time spent playing them."""
    machine_connected: int = 0
    """``pass_to_agent``: machines an agent took (and left a message on)."""
    machine_dropped: int = 0
    """``pass_to_agent``: machines no agent took within 2 s (hung up; not abandoned calls)."""
    machine_talk_seconds: float = 0.0
    """``pass_to_agent``: agent time spent on machines (not in ``talk_seconds``)."""

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def talk_minutes_per_agent_hour(self) -> float:
        return self.talk_seconds / 60.0 / (self.agents * self.hours)

    @property
    def contacts_per_hour(self) -> float:
        return self.connected / self.hours

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("abandoned_ids")
        out.pop("message_ids")
        if self.machine_action == MachineAction.HANG_UP.value:
            # The summary (the benchmark's JSON) is as before for the default action.
            for key in _MACHINE_FIELDS:
                out.pop(key)
        out["abandon_rate"] = self.abandon_rate
        out["talk_minutes_per_agent_hour"] = self.talk_minutes_per_agent_hour
        out["contacts_per_hour"] = self.contacts_per_hour
        return out


_MACHINE_FIELDS = (
    "machine_action",
    "machines",
    "machine_messages",
    "machine_line_seconds",
    "machine_connected",
    "machine_dropped",
    "machine_talk_seconds",
)


def worst_window(
    live_times: Sequence[float], abandon_times: Sequence[float], window: float, start: float, end: float
) -> tuple[float, int, int]:
    """The highest abandoned/live rate over windows ``(e − window, e]`` lying within
    ``[start, end]``: ``(rate, live, abandoned)``.

    The rate only changes when a call enters a window (``e`` = its time) or leaves it
    (``e`` = its time + window), so those ends — and the first full window — cover every maximum.
    A run shorter than the window has one window, the whole run.
    """
    lives = sorted(live_times)
    drops = sorted(abandon_times)
    first = start + window
    if first > end:
        ends = [end]
    else:
        ends = [first]
        ends += [t for t in lives if first <= t <= end]
        ends += [t + window for t in lives if first <= t + window <= end]
    best = (0.0, 0, 0)
    for e in ends:
        s = e - window
        live = bisect_right(lives, e) - bisect_right(lives, s)
        dropped = bisect_right(drops, e) - bisect_right(drops, s)
        if live and dropped / live > best[0]:
            best = (dropped / live, live, dropped)
    return best


def worst_prefix(live_times: Sequence[float], abandon_times: Sequence[float]) -> float:
    """The highest abandoned/live rate over the prefixes of a run (windows starting before it).

    A prefix's rate rises only when an abandoned call enters it, so the prefixes ending at each
    abandoned call cover every maximum.
    """
    lives = sorted(live_times)
    worst = 0.0
    for n, at in enumerate(sorted(abandon_times), start=1):
        worst = max(worst, n / bisect_right(lives, at))
    return worst


def campaign_config(agents: int, wrap_seconds: float) -> EngineConfig:
    """An engine with one outbound voice queue whose answered calls expire after 2 s unserved."""
    queue = QueueConfig(
        id=CAMPAIGN,
        account="acme",
        channel="voice",
        requires=parse_expression("outbound >= 1"),
        direction="outbound",
        max_wait=2.0,
        wrap_up=WrapUp(WrapUpMode.FIXED, wrap_seconds),
        short_abandon=0.0,
    )
    people = tuple(AgentConfig(id=f"a{i:03d}", account="acme", skills={"outbound": 5}) for i in range(agents))
    return EngineConfig(
        accounts=(Account("acme"),), queues=(queue,), agents=people, skills=frozenset({"outbound"})
    )


class CampaignSimulation:
    """One run: the engine, the kernel, the simulated network and agents, and the dialer loop."""

    def __init__(self, spec: CampaignSpec, policy: PacingPolicy, seed: int) -> None:
        self.spec = spec
        self.policy = policy
        self.rng = random.Random(seed)
        self.kernel = Kernel()
        self.engine = Engine(campaign_config(spec.agents, spec.wrap_seconds), notify=True)
        self.result = RunResult(
            policy=policy.name,
            agents=spec.agents,
            answer_rate=spec.live_rate,
            talk_mean_seconds=spec.talk.mean,
            seed=seed,
            hours=spec.duration / 3600.0,
            machine_action=spec.machine_action.value,
        )
        self.machine_calls: set[str] = set()  # pass_to_agent: machines queued or with an agent
        self.machine_talk: dict[str, float] = {}  # machine with an agent → when the agent took it
        self.ringing: dict[str, float] = {}  # dial → when it started ringing
        self.answered_at: dict[str, float] = {}  # live call waiting or talking → answer time
        self.talk_started: dict[str, float] = {}
        self.talk_ends: dict[str, float] = {}  # connected call → when it ended (during wrap-up)
        self.live_times: list[float] = []
        self.abandon_times: list[float] = []
        self._window_live: deque[float] = deque()
        self._window_abandoned: deque[float] = deque()
        self._cancelled: set[int] = set()
        self._accept: list[tuple[str, str]] = []
        self._decision_pending = False
        self._n = 0
        self._dispatch: dict[type, Callable[[Any], None]] = {
            StartTimer: self._start_timer,
            CancelTimer: self._cancel_timer,
            Offer: self._offer,
            Connect: self._connect,
            Disconnect: self._disconnect,
            WrapUpStarted: self._nothing,
            AgentStateChanged: self._agent_state,
            InteractionFinished: self._finished,
        }

    # --- plumbing ---------------------------------------------------------------------------------
    def send(self, event: Event) -> None:
        commands: list[Command] = self.engine.handle(event, self.kernel.now)
        dispatch = self._dispatch
        for c in commands:
            handler = dispatch.get(type(c))
            if handler is not None:
                handler(c)
        # Agents answer at once, after the engine's commands are carried out.
        while self._accept:
            iid, agent = self._accept.pop(0)
            self.send(OfferAccepted(iid, agent))

    def _nothing(self, c: Any) -> None:
        pass

    def _start_timer(self, c: StartTimer) -> None:
        self.kernel.schedule(c.at, self._timer, c.timer)

    def _cancel_timer(self, c: CancelTimer) -> None:
        self._cancelled.add(c.timer)

    def _timer(self, tid: int) -> None:
        if tid in self._cancelled:
            self._cancelled.discard(tid)
            return
        self.send(TimerFired(tid))

    # --- the run ----------------------------------------------------------------------------------
    def run(self) -> RunResult:
        started = time.process_time()
        for agent in self.engine.agents:
            self.send(AgentLoggedIn(agent, ready=True))
        self.kernel.schedule(0.0, self._tick)
        self.kernel.run(until=self.spec.duration)
        end = self.spec.duration
        r = self.result
        # Conversations still going at the end of the shift count up to the end.
        r.talk_seconds += sum(end - t for t in self.talk_started.values())
        r.abandoned = len(self.abandon_times)
        r.worst_window_rate, r.worst_window_live, r.worst_window_abandoned = worst_window(
            self.live_times, self.abandon_times, self.spec.window_seconds, 0.0, end
        )
        r.worst_prefix_rate = worst_prefix(self.live_times, self.abandon_times)
        r.cpu_seconds = time.process_time() - started
        return r

    def _tick(self, _: Any = None) -> None:
        self._decide()
        nxt = self.kernel.now + self.spec.tick
        if nxt < self.spec.duration:
            self.kernel.schedule(nxt, self._tick)

    def _decide_now(self, _: Any = None) -> None:
        self._decision_pending = False
        self._decide()

    def snapshot(self) -> PacingSnapshot:
        """The campaign at the kernel's current time, as the pacing policy sees it."""
        now = self.kernel.now
        free = 0
        busy: list[BusyAgent] = []
        for agent in self.engine.agents.values():
            state = agent.state
            if state is _READY:
                free += 1
            elif state is _BUSY or state is _RESERVED:
                busy.append(BusyAgent(Phase.TALK, now - agent.state_since))
            elif state is _WRAP:
                busy.append(BusyAgent(Phase.WRAP, now - agent.state_since))
        horizon = now - self.spec.window_seconds
        for times in (self._window_live, self._window_abandoned):
            while times and times[0] <= horizon:
                times.popleft()
        # Both lists are in time order (an abandon is recorded 2 s after its answer, in order).
        regulated_from = now - self.spec.regulated_window
        regulated_live = len(self.live_times) - bisect_right(self.live_times, regulated_from)
        regulated_abandoned = len(self.abandon_times) - bisect_right(self.abandon_times, regulated_from)
        return PacingSnapshot(
            agents_free=free,
            busy=busy,
            ringing=[now - t for t in self.ringing.values()],
            waiting=self.engine.waiting(CAMPAIGN),
            window_live=len(self._window_live),
            window_abandoned=len(self._window_abandoned),
            window_elapsed=min(now, self.spec.window_seconds),
            shift_live=self.result.live,
            shift_abandoned=len(self.abandon_times),
            shift_elapsed=now,
            regulated_live=regulated_live,
            regulated_abandoned=regulated_abandoned,
        )

    def _decide(self) -> None:
        now = self.kernel.now
        if now >= self.spec.duration:
            return
        snap = self.snapshot()
        lines = self.policy.lines_to_dial(snap, now)
        for _ in range(lines):
            self._dial()
        overdial = len(self.ringing) + snap.waiting - snap.agents_free
        if overdial > self.result.max_overdial:
            self.result.max_overdial = overdial

    # --- the network ------------------------------------------------------------------------------
    def _dial(self) -> None:
        spec, rng, now = self.spec, self.rng, self.kernel.now
        self._n += 1
        did = f"d{self._n}"
        self.result.dials += 1
        self.ringing[did] = now
        limit = spec.ring_timeout - 0.1
        if rng.random() < spec.live_rate:
            ring = min(limit, max(1.0, spec.answer_delay.sample(rng)))
            self.kernel.schedule(now + ring, self._answered, did)
            return
        mix = spec.non_live
        u = rng.random()
        if u < mix.no_answer:
            ring = spec.ring_timeout
        elif u < mix.no_answer + mix.machine:
            ring = min(limit, max(1.0, spec.answer_delay.sample(rng))) + mix.amd_seconds
            self.result.machines += 1
            if spec.machine_action is not MachineAction.HANG_UP:
                self.kernel.schedule(now + ring, self._machine, did)
                return
        elif u < mix.no_answer + mix.machine + mix.busy:
            ring = rng.uniform(*mix.busy_seconds)
        else:
            ring = rng.uniform(*mix.failed_seconds)
        self.kernel.schedule(now + ring, self._not_live, did)

    def _ring_over(self, did: str, live: bool) -> None:
        started = self.ringing.pop(did)
        self.policy.observe(DialResult(self.kernel.now - started, live))

    def _not_live(self, did: str) -> None:
        self._ring_over(did, False)

    def _answered(self, did: str) -> None:
        """A person answered (the end of their greeting): the call goes to the campaign queue."""
        now = self.kernel.now
        self._ring_over(did, True)
        self.result.live += 1
        self.live_times.append(now)
        self._window_live.append(now)
        self.answered_at[did] = now
        self.send(InteractionArrived(did, CAMPAIGN))

    def _machine(self, did: str) -> None:
        """A machine was detected and the action is not hang_up."""
        if self.spec.machine_action is MachineAction.LEAVE_MESSAGE:
            self._ring_over(did, False)  # the message needs no agent
            self.result.machine_messages += 1
            self.result.machine_line_seconds += self.spec.machine_message_seconds
            return
        # pass_to_agent: for the policy it needs an agent like a live answer; it is no live call.
        self._ring_over(did, True)
        self.machine_calls.add(did)
        self.send(InteractionArrived(did, CAMPAIGN, attributes={"machine": True}))

    def _machine_hang_up(self, iid: str) -> None:
        now = self.kernel.now
        started = self.machine_talk.pop(iid)
        self.machine_calls.discard(iid)
        self.result.machine_talk_seconds += now - started
        self.talk_ends[iid] = now
        self.policy.observe(TalkEnded(now - started))
        self.send(InteractionEnded(iid))

    # --- the engine's commands ---------------------------------------------------------------------
    def _offer(self, c: Offer) -> None:
        self._accept.append((c.interaction, c.agent))

    def _connect(self, c: Connect) -> None:
        now = self.kernel.now
        if c.interaction in self.machine_calls:
            self.result.machine_connected += 1
            self.machine_talk[c.interaction] = now
            self.kernel.schedule(now + self.spec.machine_talk_seconds, self._machine_hang_up, c.interaction)
            return
        self.answered_at.pop(c.interaction, None)
        self.result.connected += 1
        self.talk_started[c.interaction] = now
        talk = self.spec.talk.sample(self.rng)
        self.kernel.schedule(now + talk, self._hang_up, c.interaction)

    def _hang_up(self, iid: str) -> None:
        now = self.kernel.now
        started = self.talk_started.pop(iid)
        self.result.talk_seconds += now - started
        self.talk_ends[iid] = now
        self.policy.observe(TalkEnded(now - started))
        self.send(InteractionEnded(iid))

    def _disconnect(self, c: Disconnect) -> None:
        if c.reason != "expired":
            return
        if c.interaction in self.machine_calls:
            # A machine no agent took in time: hung up, not an abandoned call (nobody waited).
            self.machine_calls.discard(c.interaction)
            self.result.machine_dropped += 1
            return
        # No agent within 2 s of the greeting: an abandoned call. Play the information message.
        answered = self.answered_at.pop(c.interaction)
        self.abandon_times.append(answered)
        self._window_abandoned.append(answered)
        self.result.abandoned_ids.append(c.interaction)
        if self.spec.information_message:
            self.result.information_messages += 1
            self.result.message_ids.append(c.interaction)

    def _finished(self, c: InteractionFinished) -> None:
        ended = self.talk_ends.pop(c.interaction, None)
        if ended is not None and c.outcome == "done":
            self.policy.observe(WrapEnded(self.kernel.now - ended))

    def _agent_state(self, c: AgentStateChanged) -> None:
        if c.state == "ready" and not self._decision_pending:
            self._decision_pending = True
            self.kernel.schedule(self.kernel.now, self._decide_now)


def run_campaign(spec: CampaignSpec, policy: PacingPolicy, seed: int) -> RunResult:
    """Simulate one shift of ``spec`` paced by ``policy``."""
    return CampaignSimulation(spec, policy, seed).run()


def talk_distribution(mean: float, cv: float = 1.0) -> Distribution:
    """Talk times: log-normal with the given mean and coefficient of variation."""
    return LogNormal(mean, cv * mean) if cv > 0 else LogNormal(mean, 1e-9 * mean)


__all__ = [
    "CAMPAIGN",
    "CampaignSimulation",
    "CampaignSpec",
    "NonLiveMix",
    "RunResult",
    "campaign_config",
    "run_campaign",
    "talk_distribution",
    "worst_prefix",
    "worst_window",
]
