"""`centrale demo`: the live server with a seeded demo center and a simulated world around it.

Theory of operation
-------------------
The demo center is a scenario file (``centrale/server/demo.yaml``, linked as
``examples/demo.yaml``; the simulator's format): accounts,
dispositions, queues and agents become configuration events (:func:`seed_events`, only for what
the engine does not hold yet, so a restart on the same database seeds nothing), and the demo users
are created once (:func:`demo_users`; the one password is :data:`DEMO_PASSWORD`).

:class:`DemoWorld` then plays everybody except the person trying the demo, on the real clock. It is
a worker (``start``/``stop``) and a writer :class:`~centrale.server.writer.Listener`: it posts
engine events through the writer like any other client, and reacts to the commands of every stored
batch:

* customers arrive per queue as Poisson processes at the scenario's rates, with a contact (a
  Dutch or British mobile number; some callers call again, so contact history shows) and the
  queue's attributes; each waiting customer gives up after a patience drawn from the queue's
  distribution, and takes an offered callback with the queue's ``callback_acceptance``;
* simulated agents (every scenario agent but :data:`HUMAN_AGENTS`) log in ready at start, accept
  offers after their answer delay (or let one ring out, with the scenario's RONA probability), talk
  for the queue's handle time, wrap up for its wrap-up time with a disposition from the queue's mix
  and a "Demo: …" note, take a break now and then, and come back from a RONA after a few seconds.

``speed`` scales the world only (rates × speed, durations ÷ speed); the engine's own timers (offer
timeout, wrap-up maximum, escalation) stay as configured. Everything is decided by one seeded
``random.Random``, and every delay is a ``loop.call_later`` handle the world keeps, so ``stop()``
cancels them all. The world reads the engine to avoid pointless events, but it runs between ticks,
so an event can still arrive too late (a customer gives up as the agent answers); the engine then
refuses it, the writer logs that at INFO, and nothing changes — every event the world posts is
harmless when refused.

Outbound campaigns (being built in ``server/dialer.py``) hook in through
:attr:`DemoWorld.campaigns`: callables run once at start, after the center is seeded and the
simulated agents are in. Calls the dialer connects into an outbound queue of the demo file are
handled like any other work (patience, simulated agents, dispositions); :meth:`DemoWorld.ring`
plays a dialled customer and :meth:`DemoWorld.numbers` makes a calling list.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from centrale.core.agent import AgentState
from centrale.core.commands import (
    AgentStateChanged,
    Connect,
    InteractionFinished,
    InteractionQueued,
    Offer,
    OfferCallback,
    RevokeOffer,
    WrapUpStarted,
)
from centrale.core.config import EngineConfig
from centrale.core.engine import Engine
from centrale.core.events import (
    AccountConfigured,
    AgentAdded,
    AgentLoggedIn,
    AgentNotReady,
    AgentReady,
    AgentUpdated,
    CallbackAccepted,
    CustomerAbandoned,
    DispositionConfigured,
    DispositionSet,
    Event,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    QueueConfigured,
    WrapUpCompleted,
)
from centrale.core.interaction import InteractionState
from centrale.server.security import PASSWORD_HASHER
from centrale.server.seed import config_events
from centrale.server.services import Services
from centrale.server.users import UserError, UserStore
from centrale.server.writer import Batch, Listener
from centrale.sim.distributions import Distribution, Exponential
from centrale.sim.scenario import ArrivalStream, Scenario, SimQueue, load_scenario

log = logging.getLogger("centrale.demo")

DEMO_PASSWORD = "demo-centrale"
"""The password of every demo user (printed in the banner)."""

HUMAN_AGENTS: tuple[str, ...] = ("agent01",)
"""Agents the world leaves alone: the person trying the demo logs in as one of them."""

BREAK_EVERY = 50 * 60.0  # mean seconds between a simulated agent's breaks (exponential)
BREAK_LENGTH = (3 * 60.0, 8 * 60.0)  # a break lasts this long (uniform)
RONA_RECOVERY = 10.0  # seconds a simulated agent takes to go ready again after a missed offer
CALLBACK_THINK = 3.0  # seconds a customer takes to accept an offered callback
REGULARS = 60  # callers per language who call again now and then …
REPEAT_SHARE = 0.3  # … making up this share of the arrivals
WARM_UP = 10.0  # seconds over which a fresh demo gets its first load of customers

_DEFAULT_HANDLE = Exponential(180.0)
_WAITING = (InteractionState.QUEUED, InteractionState.OFFERED)

_NOTES: dict[str, dict[str, tuple[str, ...]]] = {
    "nl": {
        "sale": ("klant gaat akkoord met het aanbod", "aanvullend pakket afgesloten", "overstap geregeld"),
        "no_sale": ("geen interesse in het aanbod", "klant denkt er nog over na", "te duur voor de klant"),
        "resolved": (
            "vraag beantwoord",
            "uitleg over het eigen risico gegeven",
            "adreswijziging verwerkt",
            "declaratie nagekeken, wordt deze week uitbetaald",
        ),
        "callback": ("terugbelafspraak gemaakt voor morgen", "specialist belt de klant terug"),
        "complaint": ("klacht geregistreerd", "klacht over de wachttijd doorgezet naar de tweede lijn"),
    },
    "en": {
        "sale": ("customer booked the offer", "upgraded to all-inclusive", "city trip booked"),
        "no_sale": ("customer compared prices, not booking yet", "too expensive for the customer"),
        "resolved": (
            "question answered",
            "explained the baggage allowance",
            "departure date changed",
            "booking confirmation sent again",
        ),
        "callback": ("callback agreed for tomorrow morning", "will call back about the refund"),
        "complaint": ("complaint logged", "complaint about a delayed transfer passed to the partner desk"),
    },
}

CampaignHook = Callable[["DemoWorld"], Awaitable[None] | None]
"""Run once when the world starts: set up and start the demo's outbound campaign(s)."""


# --- the demo file and what it seeds ------------------------------------------------------------------
def demo_file() -> Path | None:
    """The demo center shipped with the package (``examples/demo.yaml`` links to it)."""
    path = Path(__file__).with_name("demo.yaml")
    return path if path.is_file() else None


def load_demo(path: str | Path | None = None) -> Scenario:
    """Load the demo center (raises :class:`~centrale.sim.scenario.ScenarioError`, or
    FileNotFoundError when there is no demo file)."""
    found = Path(path) if path is not None else demo_file()
    if found is None:
        raise FileNotFoundError("centrale/server/demo.yaml (the demo center) is not installed")
    return load_scenario(found)


def seed_events(config: EngineConfig, engine: Engine) -> list[Event]:
    """The configuration events that add what `engine` does not hold yet (by id); nothing that is
    there already is sent again or changed, so an administrator's edits survive a restart."""
    out: list[Event] = []
    for event in config_events(config, engine):
        if isinstance(event, AccountConfigured):
            missing = event.account.id not in engine.accounts
        elif isinstance(event, DispositionConfigured):
            missing = event.disposition.code not in engine.dispositions
        elif isinstance(event, QueueConfigured):
            missing = event.config.id not in engine.queues
        elif isinstance(event, AgentAdded):
            missing = event.config.id not in engine.agents
        else:  # AgentUpdated: the agent exists
            assert isinstance(event, AgentUpdated)
            missing = False
        if missing:
            out.append(event)
    return out


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    accounts: tuple[str, ...] = ()
    agent: str | None = None
    note: str = ""


def demo_users(scenario: Scenario, human: Collection[str] = HUMAN_AGENTS) -> list[DemoUser]:
    """admin, supervisor, the human agents, a viewer per account (named after it), then a user per
    simulated agent (named after the agent) — in the order they are created."""
    accounts = scenario.engine.accounts
    agents = scenario.engine.agents
    users = [
        DemoUser("admin", "administrator", (), None, "administrator"),
        DemoUser("supervisor", "supervisor", ("*",), None, "supervisor, all accounts"),
    ]
    users += [DemoUser(a.id, "agent", (a.account,), a.id, "agent (you)") for a in agents if a.id in human]
    users += [DemoUser(a.id, "viewer", (a.id,), None, f"client portal of {a.name or a.id}") for a in accounts]
    users += [
        DemoUser(a.id, "agent", (a.account,), a.id, "simulated agent") for a in agents if a.id not in human
    ]
    return users


class _SharedHash(PasswordHasher):
    """The server's argon2 parameters, but one hash (one salt) per password.

    Every demo user has the same password, printed in the banner: a salt per user would hide
    nothing more, and seeding takes one argon2 computation instead of 24 (seconds on a slow
    machine). The hashes are ordinary argon2id strings; a user who changes the password gets a
    fresh salt as always."""

    def __init__(self, like: PasswordHasher) -> None:
        super().__init__(
            time_cost=like.time_cost,
            memory_cost=like.memory_cost,
            parallelism=like.parallelism,
            hash_len=like.hash_len,
            salt_len=like.salt_len,
            type=like.type,
        )
        self._hashes: dict[str | bytes, str] = {}

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        if salt is not None:
            return super().hash(password, salt=salt)
        done = self._hashes.get(password)
        if done is None:
            done = self._hashes[password] = super().hash(password)
        return done


# --- the simulated world -------------------------------------------------------------------------------
class DemoWorld(Listener):
    """Simulated customers and agents around the live engine, on the real clock."""

    def __init__(
        self,
        services: Services,
        scenario: Scenario,
        *,
        speed: float = 1.0,
        seed: int | None = None,
        human: Collection[str] = HUMAN_AGENTS,
        password: str = DEMO_PASSWORD,
    ) -> None:
        if not speed > 0 or not math.isfinite(speed):
            raise ValueError(f"the speed must be a positive number, got {speed!r}")
        self.services = services
        self.scenario = scenario
        self.speed = float(speed)
        self.password = password
        self.rng = random.Random(scenario.seed if seed is None else seed)
        self.queues: dict[str, SimQueue] = dict(scenario.queues)
        self.simulated = {a.config.id: a for a in scenario.agents if a.config.id not in human}
        self.human = frozenset(human)
        self.outbound_queues = [q.id for q in scenario.engine.queues if q.direction == "outbound"]
        self.campaigns: list[CampaignHook] = []
        """Hooks run once at start (after seeding and the agents' login): the outbound campaigns."""
        self.seeded = 0  # configuration events this start submitted
        self.users_created = 0
        self.users_ready = False  # every demo user exists
        self.arrivals = 0
        self.running = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timers: dict[int, tuple[asyncio.TimerHandle, tuple[str, str] | None]] = {}
        self._tagged: dict[tuple[str, str], int] = {}
        self._timer_seq = 0
        self._n = 0
        self._run = ""
        self._regulars: dict[str, list[str]] = {}

    @property
    def engine(self) -> Engine:
        return self.services.writer.engine

    @property
    def pending_timers(self) -> int:
        return len(self._timers)

    def post(self, event: Event) -> None:
        if self.running:
            self.services.writer.post(event)

    # --- the worker ------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        writer = self.services.writer
        # Interaction ids carry the log position at which this run started: unique across restarts.
        self._run = _base36(writer.stored_seq)
        events = seed_events(self.scenario.engine, self.engine)
        if events:
            # Submitted at once, so the writer applies them in one tick: one transaction.
            await asyncio.gather(*(writer.submit(e) for e in events))
            log.info("seeded the demo center: %d configuration events", len(events))
        self.seeded = len(events)
        # Before the world runs: the store's transactions must not interleave with the writer's.
        await self._create_users()
        self.running = True
        fresh = not self.engine.interactions
        self._agents_in()
        self._adopt()
        for index, stream in enumerate(self.scenario.arrivals):
            rate = _mean_rate(stream) * self.speed
            if rate > 0:
                self._next_arrival(index, rate)
                if fresh:
                    self._warm_up(index, rate)
        for agent in self.simulated:
            self._later(self.rng.expovariate(1.0 / BREAK_EVERY) / self.speed, self._break, agent)
        for hook in self.campaigns:
            try:
                result = hook(self)
                if result is not None:
                    await result
            except Exception:
                log.exception("a demo campaign hook failed")

    async def stop(self) -> None:
        self.running = False
        for handle, _ in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._tagged.clear()

    async def _create_users(self) -> None:
        """Create the demo users that do not exist (the first start only)."""
        users = self.services.users
        agents = self.engine.agents
        todo = [
            u
            for u in demo_users(self.scenario, self.human)
            if (u.agent is None or u.agent in agents) and users.get(u.username) is None
        ]
        if todo:
            store = UserStore(self.services.store.sql, hasher=_SharedHash(PASSWORD_HASHER))
            password = self.password

            def work() -> None:
                for u in todo:
                    try:
                        store.create(u.username, password, u.role, u.accounts, u.agent)
                    except UserError as exc:  # say, an "Admin" already there: the demo goes on
                        log.warning("demo user %s not created: %s", u.username, exc)

            await asyncio.to_thread(work)  # one argon2 hash: a fraction of a second, off the loop
            log.info("created %d demo users", len(todo))
        self.users_created = len(todo)
        self.users_ready = True

    # --- timers ----------------------------------------------------------------------------------
    def _later(
        self, delay: float, fn: Callable[..., None], *args: Any, tag: tuple[str, str] | None = None
    ) -> None:
        """Call `fn(*args)` after `delay` seconds; a tagged timer replaces the one with the same tag."""
        if not self.running or self._loop is None or not math.isfinite(delay):
            return
        if tag is not None:
            self._cancel(tag)
        self._timer_seq += 1
        key = self._timer_seq
        handle = self._loop.call_later(max(0.0, delay), self._fire, key, fn, args)
        self._timers[key] = (handle, tag)
        if tag is not None:
            self._tagged[tag] = key

    def _fire(self, key: int, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        entry = self._timers.pop(key, None)
        if entry is not None and entry[1] is not None:
            self._tagged.pop(entry[1], None)
        if not self.running:
            return
        try:
            fn(*args)
        except Exception:  # a bug in the demo must not stop the server
            log.exception("the demo world failed")

    def _cancel(self, tag: tuple[str, str]) -> None:
        key = self._tagged.pop(tag, None)
        if key is not None:
            entry = self._timers.pop(key, None)
            if entry is not None:
                entry[0].cancel()

    def _forget(self, interaction: str) -> None:
        for kind in ("patience", "accept", "talk", "wrap", "callback"):
            self._cancel((kind, interaction))

    # --- customers -------------------------------------------------------------------------------
    def _next_arrival(self, index: int, rate: float) -> None:
        self._later(self.rng.expovariate(rate), self._arrive_next, index, rate)

    def _arrive_next(self, index: int, rate: float) -> None:
        self._arrive(index)
        self._next_arrival(index, rate)

    def _warm_up(self, index: int, rate: float) -> None:
        """A fresh demo starts with about as many customers as agents busy in the steady state."""
        q = self.queues.get(self.scenario.arrivals[index].queue)
        if q is None:
            return
        wrap = q.wrap_time.mean if q.wrap_time is not None else 0.0
        busy = rate / self.speed * (q.handle_time.mean + wrap)
        for _ in range(round(busy * 0.8)):
            self._later(self.rng.random() * WARM_UP / self.speed, self._arrive, index)

    def _arrive(self, index: int) -> None:
        stream = self.scenario.arrivals[index]
        queue = stream.queue
        q = self.engine.queues.get(queue)
        if q is None:  # removed by an administrator: nobody calls it any more
            return
        mix = stream.attributes if stream.attributes is not None else self.queues[queue].attributes
        attributes = {name: _pick(self.rng, weights) for name, weights in mix}
        language = str(attributes.get("language", "en"))
        self._n += 1
        self.arrivals += 1
        iid = f"{queue}-{self._run}-{self._n}"
        self.post(InteractionArrived(iid, queue, None, attributes or None, self._contact(language)))

    def _contact(self, language: str) -> str:
        regulars = self._regulars.get(language)
        if regulars is None:
            regulars = self._regulars[language] = [self._number(language) for _ in range(REGULARS)]
        if self.rng.random() < REPEAT_SHARE:
            return self.rng.choice(regulars)
        return self._number(language)

    def _number(self, language: str) -> str:
        """A valid-looking E.164 mobile number: Dutch (+31 6…) for nl, British (+44 7…) otherwise."""
        rng = self.rng
        if language == "nl":  # 06-1… to 06-5…
            return f"+316{rng.randint(1, 5)}{rng.randint(0, 9_999_999):07d}"
        return f"+447{rng.choice('3458')}{rng.randint(0, 99_999_999):08d}"  # 073…, 074…, 075…, 078…

    def _patience(self, iid: str, queue: str) -> None:
        q = self.queues.get(queue)
        if q is not None:
            self._later(q.patience.sample(self.rng) / self.speed, self._give_up, iid, tag=("patience", iid))

    def _give_up(self, iid: str) -> None:
        ix = self.engine.interactions.get(iid)
        if ix is not None and ix.state in _WAITING:
            self.post(CustomerAbandoned(iid))

    def _callback_offered(self, c: OfferCallback) -> None:
        ix = self.engine.interactions.get(c.interaction)
        q = self.queues.get(ix.queue) if ix is not None else None
        if q is not None and self.rng.random() < q.callback_acceptance:
            iid = c.interaction
            self._later(CALLBACK_THINK / self.speed, self._take_callback, iid, tag=("callback", iid))

    def _take_callback(self, iid: str) -> None:
        ix = self.engine.interactions.get(iid)
        if ix is not None and ix.state is InteractionState.QUEUED:
            self._cancel(("patience", iid))
            self.post(CallbackAccepted(iid))

    # --- agents ----------------------------------------------------------------------------------
    def _agents_in(self) -> None:
        """Simulated agents log in ready (or come back from a break or RONA the last run left)."""
        for agent_id in self.simulated:
            a = self.engine.agents.get(agent_id)
            if a is None:
                continue
            if a.state is AgentState.LOGGED_OUT:
                self.post(AgentLoggedIn(agent_id, ready=True))
            elif a.state is AgentState.NOT_READY:
                self.post(AgentReady(agent_id))

    def _adopt(self) -> None:
        """After a restart: carry on with the work the last run left open."""
        for ix in list(self.engine.interactions.values()):
            agent = ix.agent
            if ix.state is InteractionState.QUEUED and not ix.id.endswith(":callback"):
                self._patience(ix.id, ix.queue)
            elif agent is None or agent not in self.simulated:
                continue
            elif ix.state is InteractionState.OFFERED:
                self._later(self._answer_delay(agent), self._accept, ix.id, agent, tag=("accept", ix.id))
            elif ix.state in (InteractionState.CONNECTED, InteractionState.HELD):
                self._talk(ix.id, ix.queue)
            elif ix.state is InteractionState.WRAP_UP:
                code, notes = self._registration(ix.id, ix.queue)
                self._later(
                    self.rng.uniform(1.0, 10.0) / self.speed,
                    self._end_wrap,
                    ix.id,
                    code,
                    notes,
                    tag=("wrap", ix.id),
                )

    def _answer_delay(self, agent: str) -> float:
        return self.simulated[agent].answer_delay.sample(self.rng) / self.speed

    def _offered(self, c: Offer) -> None:
        sim = self.simulated.get(c.agent)
        if sim is None:
            return
        if sim.rona_probability and self.rng.random() < sim.rona_probability:
            return  # lets it ring out: the engine's offer timer makes the agent not ready (RONA)
        delay = self._answer_delay(c.agent)
        if delay < c.timeout:
            self._later(delay, self._accept, c.interaction, c.agent, tag=("accept", c.interaction))

    def _accept(self, iid: str, agent: str) -> None:
        ix = self.engine.interactions.get(iid)
        if ix is not None and ix.agent == agent and ix.state is InteractionState.OFFERED:
            self.post(OfferAccepted(iid, agent))

    def _talk(self, iid: str, queue: str) -> None:
        q = self.queues.get(queue)
        talk = (q.handle_time if q is not None else _DEFAULT_HANDLE).sample(self.rng)
        self._later(talk / self.speed, self._hang_up, iid, tag=("talk", iid))

    def _hang_up(self, iid: str) -> None:
        ix = self.engine.interactions.get(iid)
        if ix is not None and ix.state in (InteractionState.CONNECTED, InteractionState.HELD):
            self.post(InteractionEnded(iid))

    def _wrap_up(self, c: WrapUpStarted) -> None:
        code, notes = self._registration(c.interaction, c.queue)
        q = self.queues.get(c.queue)
        if c.mode == "fixed":
            # The engine ends a fixed wrap-up; faster than real time the agent ends it early.
            if self.speed > 1:
                self._later(
                    c.max_seconds / self.speed,
                    self._end_wrap,
                    c.interaction,
                    code,
                    notes,
                    tag=("wrap", c.interaction),
                )
            else:
                self.post(DispositionSet(c.interaction, code, notes))
            return
        wrap_time: Distribution | None = q.wrap_time if q is not None else None
        seconds = wrap_time.sample(self.rng) if wrap_time is not None else self.rng.uniform(5.0, 30.0)
        if c.max_seconds > 0 and seconds >= c.max_seconds:
            # Too slow: register now, and the engine ends the wrap-up at its maximum.
            self.post(DispositionSet(c.interaction, code, notes))
            if self.speed <= 1:
                return
            seconds = c.max_seconds
        iid = c.interaction
        self._later(seconds / self.speed, self._end_wrap, iid, code, notes, tag=("wrap", iid))

    def _end_wrap(self, iid: str, code: str | None, notes: str) -> None:
        ix = self.engine.interactions.get(iid)
        if ix is not None and ix.state is InteractionState.WRAP_UP:
            self.post(WrapUpCompleted(iid, code, notes))

    def _registration(self, iid: str, queue: str) -> tuple[str | None, str]:
        """A disposition code from the queue's mix (else any the queue allows) and a note."""
        engine = self.engine
        q = self.queues.get(queue)
        runtime = engine.queues.get(queue)
        code: str | None = None
        if q is not None and q.disposition_mix:
            code = _pick(self.rng, q.disposition_mix)
        if (code is None or code not in engine.dispositions) and runtime is not None:
            qc = runtime.config
            allowed = sorted(
                d.code
                for d in engine.dispositions.values()
                if (d.account is None or d.account == qc.account)
                and (qc.dispositions is None or d.code in qc.dispositions)
            )
            code = self.rng.choice(allowed) if allowed else None
        ix = engine.interactions.get(iid)
        language = str(ix.attributes.get("language", "en")) if ix is not None else "en"
        notes = _NOTES.get(language, _NOTES["en"])
        category = engine.dispositions[code].category if code in engine.dispositions else "resolved"
        phrases = notes.get(category) or notes["resolved"]
        return code, f"Demo: {self.rng.choice(phrases)}"

    def _break(self, agent: str) -> None:
        """Now and then a simulated agent asks for a break (taken once the work in hand is done)."""
        a = self.engine.agents.get(agent)
        if a is not None and a.state is not AgentState.LOGGED_OUT and a.state is not AgentState.NOT_READY:
            self.post(AgentNotReady(agent, "break"))
        gap = self.rng.expovariate(1.0 / BREAK_EVERY) + BREAK_LENGTH[1]
        self._later(gap / self.speed, self._break, agent)

    def _state_changed(self, c: AgentStateChanged) -> None:
        if c.agent not in self.simulated or c.state != "not_ready":
            return
        if c.reason == "rona":
            self._later(RONA_RECOVERY / self.speed, self._back, c.agent, "rona", tag=("back", c.agent))
        elif c.reason == "break":
            length = self.rng.uniform(*BREAK_LENGTH) / self.speed
            self._later(length, self._back, c.agent, "break", tag=("back", c.agent))

    def _back(self, agent: str, reason: str) -> None:
        a = self.engine.agents.get(agent)
        if a is not None and a.state is AgentState.NOT_READY and a.reason == reason:
            self.post(AgentReady(agent))

    # --- the writer's side -----------------------------------------------------------------------
    def after(self, batch: Batch) -> None:
        if not self.running:
            return
        simulated = self.simulated
        for applied in batch.applied:
            for c in applied.commands:
                if isinstance(c, Offer):
                    self._offered(c)
                elif isinstance(c, Connect):
                    self._cancel(("patience", c.interaction))
                    self._cancel(("accept", c.interaction))
                    if c.agent in simulated:
                        self._talk(c.interaction, c.queue)
                elif isinstance(c, WrapUpStarted):
                    if c.agent in simulated:
                        self._wrap_up(c)
                elif isinstance(c, RevokeOffer):
                    self._cancel(("accept", c.interaction))
                elif isinstance(c, InteractionQueued):
                    # A new customer on the line (ours, the API's, the dialer's) or one transferred
                    # on; a callback is the center's to make: nobody waits on the line.
                    if not c.interaction.endswith(":callback"):
                        ix = self.engine.interactions.get(c.interaction)
                        if ix is not None and ix.answered_at is None:
                            self._patience(c.interaction, c.queue)
                elif isinstance(c, OfferCallback):
                    self._callback_offered(c)
                elif isinstance(c, AgentStateChanged):
                    self._state_changed(c)
                elif isinstance(c, InteractionFinished):
                    self._forget(c.interaction)

    # --- for outbound campaigns ------------------------------------------------------------------
    def numbers(self, language: str, count: int) -> list[str]:
        """`count` phone numbers for a demo calling list (Dutch for "nl", British otherwise)."""
        return [self._contact(language) for _ in range(count)]

    def ring(self, number: str, *, answer_rate: float = 0.4, busy_rate: float = 0.1) -> tuple[str, float]:
        """Play the customer a demo dialer calls: ``("answered" | "busy" | "no_answer", seconds)``,
        the seconds (already scaled by the speed) until the outcome is known."""
        u = self.rng.random()
        if u < answer_rate:
            return "answered", self.rng.uniform(4.0, 20.0) / self.speed
        if u < answer_rate + busy_rate:
            return "busy", self.rng.uniform(1.0, 3.0) / self.speed
        return "no_answer", 30.0 / self.speed


def install(
    services: Services, scenario: Scenario, *, speed: float = 1.0, seed: int | None = None
) -> DemoWorld:
    """Wire a :class:`DemoWorld` into `services` (a writer listener and a worker); the ``setup``
    hook of :func:`~centrale.cli.serve.run_server`."""
    world = DemoWorld(services, scenario, speed=speed, seed=seed)
    services.writer.listeners.append(world)
    services.workers.append(world)
    services.extras["demo"] = world
    return world


# --- helpers ---------------------------------------------------------------------------------------
def _pick(rng: random.Random, cumulative: Sequence[tuple[Any, float]]) -> Any:
    u = rng.random()
    for value, edge in cumulative:
        if u < edge:
            return value
    return cumulative[-1][0]


def _mean_rate(stream: ArrivalStream) -> float:
    """Arrivals per second of a stream, averaged over the period it covers (the live demo has no
    time of day: a profile or a CSV of volumes counts by its mean)."""
    length = sum(e - s for s, e, _ in stream.pieces) + sum(e - s for s, e, _ in stream.volumes)
    return stream.expected() / length if length > 0 else 0.0


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


__all__ = [
    "DEMO_PASSWORD",
    "HUMAN_AGENTS",
    "CampaignHook",
    "DemoUser",
    "DemoWorld",
    "demo_file",
    "demo_users",
    "install",
    "load_demo",
    "seed_events",
]
