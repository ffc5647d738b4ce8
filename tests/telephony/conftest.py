"""Real telephony on 127.0.0.1: rtpengine as a subprocess, the live server (with its SIP service) on an
asyncio loop in a thread, sipp as callers and as agents' phones.

One server and one rtpengine serve the whole module (sippy's dispatcher is a process-wide singleton);
each test uses its own queue, service number and agents, so tests do not see each other's calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).parent / "scenarios"
MISSING = [tool for tool in ("sipp", "rtpengine") if shutil.which(tool) is None]

# (queue, service number, agents with their SIP user)
QUEUES = {
    "bridge": ("1001", ["ann"]),
    "abandon": ("1002", []),
    "rona": ("1003", ["noel", "rita"]),
    "reject": ("1004", ["bob"]),
    "after": ("1005", ["fay"]),
    "record": ("1006", ["rex"]),
    # caller flows (test_ivr.py)
    "menu_a": ("2100", []),
    "menu_b": ("2101", []),
    "offercb": ("2102", []),
    "announce": ("2103", ["wendy"]),
    "consent": ("2104", ["cora"]),
    "notice": ("2105", []),
    # hold, transfer and monitoring (test_transfer.py, test_monitor.py)
    "held": ("1007", ["hana", "hugo"]),
    "xfer": ("1008", ["xena"]),
    "xfer2": ("1009", ["yuri", "zoe"]),
    "refer": ("1010", ["remy"]),
    "watched": ("1011", ["mona"]),
    # the customer's own re-INVITEs (test_customer_reinvite.py)
    "creinv": ("1012", ["cleo"]),
    "creinvq": ("1013", []),
    "creinvh": ("1014", ["hedy"]),  # ... while the agent holds the call
}
SUPERVISORS = ["sue"]  # SIP accounts marked `supervisor` (test_monitor.py): SIP user = centrale user
OFFER_TIMEOUT = 2.5
# Caller flows (test_ivr.py): service numbers with a greeting, a keypad menu, announcements (they
# replace the plain number → queue entries above); queues of another account than acme; recording
# modes per account; queues whose escalation offers a callback after so many seconds.
FLOW_NUMBERS: dict[str, dict[str, Any]] = {
    "2000": {
        "queue": "menu_a", "greeting": "Welcome.", "menu_prompt": "Press 1 or 2.",
        "menu": {"1": "menu_a", "2": "menu_b", "9": {"callback": "menu_b"}},
        "tries": 2, "input_timeout": 2,
    },
    "2102": {"queue": "offercb", "language": "nl", "input_timeout": 6},
    "2103": {"queue": "announce", "announce_every": 5},
    "2104": {"queue": "consent", "input_timeout": 4},
}  # fmt: skip
QUEUE_ACCOUNTS = {"consent": "private", "notice": "noticeco"}
RECORDING_MODES: dict[str, Any] = {"private": "consent", "noticeco": "announce"}
CALLBACK_AFTER = {"offercb": 1.0}
# Outbound (test_trunk.py): each dialled number routes to a sipp "carrier" of its own on a port
# chosen at start (the trunk's `routes`); agents with a SIP account for the outbound queues.
CARRIER_CASES = (
    "busy", "failed", "no_answer", "answered", "abandoned",
    "auth_machine", "auth_wrong", "auth_human",  # carriers that challenge (carrier_auth.xml), with AMD
    "redirect",  # a carrier that answers 302 (trunk_redirect.xml)
    "agentless",  # a person who hears an agentless campaign's spoken message (answer.xml, echo)
    "machine_wav",  # an answering machine that gets a recorded message (carrier_auth.xml, echo)
    "survey",  # a person who answers an agentless keypad survey (RFC 2833 keys; test_trunk.py)
)  # fmt: skip
TRUNK_AGENTS = ["olga", "hal"]
TRUNK_USER, TRUNK_PASSWORD = "acme-trunk", "trunk-secret"  # the trunk's digest credentials


def carrier_number(case: str) -> str:
    """The (UK mobile, E.164) number a test lead has for each carrier case."""
    return f"+4479111234{CARRIER_CASES.index(case) + 1:02d}"


def password(user: str) -> str:
    return f"pw-{user}-secret"


_next: list[int] = []  # the next port this process has not handed out yet


def _block() -> range:
    """This test process's own share of the port space: xdist workers never pick each other's ports
    (rtpengine binds its media range only call by call, so "free now" is not enough). Below Linux's
    ephemeral range (32768 and up), so no client connection made meanwhile takes a port we chose."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(worker[2:]) if worker[2:].isdigit() else 0
    base = 8000 + (n % 4) * 6000
    return range(base, base + 6000)


def _free(port: int) -> bool:
    """Nobody holds `port` for UDP or TCP (SIP and media are UDP, the WebSocket listener TCP)."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(span: int = 1) -> int:
    """A port (and `span - 1` after it) nobody holds now, from this process's block, handed out in
    order and never twice (no fixed ports; consecutive, so a media range fits)."""
    block = _block()
    if not _next:
        _next.append(block.start)
    port = _next[0]
    while port + span <= block.stop:
        taken = next((p for p in range(port, port + span) if not _free(p)), None)
        if taken is None:
            _next[0] = port + span
            return port
        port = taken + 1
    raise RuntimeError(f"no {span} free port(s) left in {block.start}-{block.stop - 1}")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class Recorder:
    """A writer listener that keeps every stored event and command (the engine's record)."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.commands: list[Any] = []
        self.lock = threading.Lock()

    def in_transaction(self, conn: Any, batch: Any) -> None:
        return None

    def after(self, batch: Any) -> None:
        with self.lock:
            for applied in batch.applied:
                self.events.append(applied.entry.event)
                self.commands.extend(applied.commands)

    def of(self, kind: str, interaction: str | None = None) -> list[Any]:
        with self.lock:
            items = [*self.events, *self.commands]
        return [
            x
            for x in items
            if type(x).__name__ == kind
            and (interaction is None or getattr(x, "interaction", None) == interaction)
        ]


@dataclass
class Center:
    loop: asyncio.AbstractEventLoop
    services: Any
    sip: Any
    sip_port: int
    ng_port: int
    recorder: Recorder
    tmp: Path
    carriers: dict[str, int] = field(default_factory=dict)  # case → the sipp carrier's SIP port
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, event: Any) -> Any:
        return self.run(self.services.writer.submit(event))

    def interactions_for(self, queue: str) -> list[str]:
        return [e.interaction for e in self.recorder.of("InteractionArrived") if e.queue == queue]

    def agent_state(self, agent: str) -> tuple[str, str | None]:
        a = self.services.engine.agents[agent]
        return (str(a.state.value), a.reason)

    def query(self, call_id: str) -> dict[str, Any]:
        return dict(self.run(self.sip.ng.query(call_id)))

    def party_phone(
        self, user: str, party: Any, scenario: str = "party_phone.xml", **keys: str
    ) -> subprocess.Popen[bytes]:
        """An agent's phone whose voice and ears are `party`'s test socket (tests/telephony/parties.py)."""
        return self.phone(user, scenario, echo=False, keys={"rtp": str(party.port), **keys})

    def stop_sipps(self) -> None:
        """Kill the sipp processes still running (a failed test's)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def packets(self, call_id: str) -> dict[str, int]:
        """RTP packets rtpengine received per tag for one call."""
        out: dict[str, int] = {}
        for tag, info in self.query(call_id).get("tags", {}).items():
            out[tag] = sum(
                int(stream.get("stats", {}).get("packets", 0))
                for media in info.get("medias", [])
                for stream in media.get("streams", [])
                if "RTP" in stream.get("flags", [])
            )
        return out

    # --- sipp ---------------------------------------------------------------------------------
    def sipp(
        self,
        scenario: str,
        *,
        service: str = "",
        keys: dict[str, str] | None = None,
        extra: list[str] | None = None,
        name: str = "",
        port: int | None = None,
    ) -> subprocess.Popen[bytes]:
        port = port or free_port()
        media = free_port(4)
        tag = name or scenario.removesuffix(".xml")
        log = self.tmp / f"sipp-{tag}-{port}"
        args = [
            "sipp", f"127.0.0.1:{self.sip_port}", "-sf", str(SCENARIOS / scenario),
            "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media),
            "-m", "1", "-l", "1", "-nostdin", "-timeout", "60s",
            "-timeout_error", "-trace_err", "-error_file", f"{log}.err",
            "-trace_stat", "-stf", f"{log}.csv", "-s", service or "centrale",
        ]  # fmt: skip
        for key, value in (keys or {}).items():
            args += ["-key", key, value]
        args += extra or []
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        proc.port = port  # type: ignore[attr-defined]
        proc.media_port = media  # type: ignore[attr-defined]
        proc.log = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def register(self, user: str, contact_port: int, *, pw: str | None = None, expect: str = "200") -> int:
        proc = self.sipp(
            "register.xml" if expect == "200" else "register_bad.xml",
            service=user,
            keys={"contact_port": str(contact_port)},
            extra=["-au", user, "-ap", pw if pw is not None else password(user)],
            name=f"register-{user}",
        )
        return finish(proc, 20)

    def phone(
        self, user: str, scenario: str, *, echo: bool = True, keys: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """An agent's phone: a sipp UAS on its own port, registered as `user`."""
        proc = self.sipp(scenario, keys=keys, extra=["-rtp_echo"] if echo else [], name=f"phone-{user}")
        time.sleep(0.2)  # let sipp bind before registering its port (it binds at start-up)
        assert self.register(user, proc.port) == 0, f"{user} could not register"  # type: ignore[attr-defined]
        return proc


USER_PASSWORD = "correct horse battery"  # the web users the tests create


async def api(center: Center, user: str, method: str, url: str, body: Any = None) -> Any:
    """One request to the HTTP API as `user` (logged in with USER_PASSWORD), on the server's loop:
    ``center.run(api(center, "sue", "GET", url))`` gives the ``httpx.Response``."""
    import httpx

    from centrale.server.app import create_app

    app = create_app(center.services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://centrale"
    ) as client:
        r = await client.post("/api/login", json={"username": user, "password": USER_PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf"]
        return await client.request(method, url, json=body)


def desk_user(center: Center, agent: str) -> str:
    """The web user of `agent`'s desktop (``<agent>-desk``), created on first use."""
    user = f"{agent}-desk"
    if center.services.users.get(user) is None:
        center.services.users.create(user, USER_PASSWORD, "agent", ["acme"], agent=agent)
    return user


def finish(proc: subprocess.Popen[bytes], timeout: float) -> int:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(
            f"sipp {Path(str(proc.args[3])).name} did not finish within {timeout:g} s"
        ) from None
    if proc.returncode != 0:
        err = Path(f"{proc.log}.err")  # type: ignore[attr-defined]
        detail = err.read_text(errors="replace")[-1500:] if err.exists() else ""
        stderr = proc.stderr.read().decode(errors="replace")[-800:] if proc.stderr else ""
        print(f"sipp {Path(str(proc.args[3])).name} exit {proc.returncode}\n{detail}\n{stderr}")
    return int(proc.returncode)


def sipp_stats(proc: subprocess.Popen[bytes]) -> dict[str, str]:
    """The last line of sipp's -trace_stat CSV as a dictionary (SuccessfulCall(C), FailedCall(C) …)."""
    path = Path(f"{proc.log}.csv")  # type: ignore[attr-defined]
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    header, last = lines[0].split(";"), lines[-1].split(";")
    return dict(zip(header, last, strict=False))


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    if MISSING:
        pytest.skip(f"telephony tests need {' and '.join(MISSING)} (apt: sip-tester, rtpengine-daemon)")
    # sippy's dispatcher registers a signal handler when imported: import it on the main thread.
    import sippy.Core.EventDispatcher  # type: ignore[import-untyped] # noqa: F401

    from centrale.server.settings import ServerSettings
    from centrale.telephony.music import write_tone_sequence
    from centrale.telephony.settings import AmdSettings, SipAccount, TelephonySettings, TrunkSettings

    tmp = tmp_path_factory.mktemp("telephony")
    ng_port = free_port()
    rtp = free_port(200)
    spool = tmp / "rtpengine-spool"  # rtpengine's per-call pcaps (--recording-dir)
    spool.mkdir()
    dtmf_port = free_port()
    rtpengine = start_rtpengine(
        tmp, ng_port, rtp, 200, 5,
        f"--recording-dir={spool}", "--recording-method=pcap",
        f"--dtmf-log-dest=127.0.0.1:{dtmf_port}",  # keypad digits as JSON (telephony/dtmf.py)
    )  # fmt: skip
    sip_port = free_port()
    users = [u for _, us in QUEUES.values() for u in us] + TRUNK_AGENTS
    accounts = [SipAccount(user=u, password=password(u), agent=u) for u in users]
    accounts += [SipAccount(user=u, password=password(u), supervisor=u) for u in SUPERVISORS]
    carriers = {case: free_port() for case in CARRIER_CASES}
    trunk = TrunkSettings(
        host="127.0.0.1",
        port=free_port(),  # nobody there: only numbers with a route are dialled
        caller_id="+442079460000",
        max_calls=4,
        username=TRUNK_USER,
        password=TRUNK_PASSWORD,
        amd=AmdSettings(),  # X-AMD: MACHINE | HUMAN, anything else counts as a person
        routes={carrier_number(case): f"127.0.0.1:{port}" for case, port in carriers.items()},
        # a 4-s information message (the tone sequence): room to watch it reach the customer
        message=str(write_tone_sequence(tmp / "information.wav")),
    )
    settings = ServerSettings(
        database=str(tmp / "centrale.db"),
        webhooks=False,
        telephony=TelephonySettings(
            sip_port=sip_port,
            rtpengine=f"127.0.0.1:{ng_port}",
            numbers={number: queue for queue, (number, _) in QUEUES.items()} | FLOW_NUMBERS,
            dtmf_listen=f"127.0.0.1:{dtmf_port}",
            recording=RECORDING_MODES,
            accounts=accounts,
            ng_timeout=5.0,
            trunk=trunk,
            recordings_dir=str(tmp / "recordings"),
            recording_spool=str(spool),
        ),
    )
    try:
        with served(settings) as (services, loop):
            recorder = Recorder()
            services.writer.listeners.append(recorder)
            c = Center(
                loop, services, services.extras["sip"], sip_port, ng_port, recorder, tmp, carriers=carriers
            )
            try:
                if not wait_pong(c, rtpengine, 15):
                    log = (tmp / "rtpengine.log").read_text(errors="replace")[-1000:]
                    raise RuntimeError(f"rtpengine did not answer NG pings (exit {rtpengine.poll()}):\n{log}")
                _seed(c)
                yield c
            finally:
                c.stop_sipps()
    finally:
        stop(rtpengine)


def _seed(c: Center) -> None:
    """The accounts, queues and agents of the test center (QUEUES)."""
    from centrale.core.config import Account, AgentConfig, EscalationAction, EscalationStep, QueueConfig
    from centrale.core.events import AccountConfigured, AgentAdded, QueueConfigured
    from centrale.core.expressions import parse

    for account in {"acme", *QUEUE_ACCOUNTS.values()}:
        c.submit(AccountConfigured(Account(account, account.upper())))
    skills = frozenset(QUEUES)
    for queue, (_, agents) in QUEUES.items():
        account = QUEUE_ACCOUNTS.get(queue, "acme")
        escalation = (
            (EscalationStep(CALLBACK_AFTER[queue], EscalationAction.CALLBACK),)
            if queue in CALLBACK_AFTER
            else ()
        )
        c.submit(
            QueueConfigured(
                QueueConfig(
                    queue, account, "voice", parse(f"{queue} >= 1", known_skills=skills),
                    offer_timeout=OFFER_TIMEOUT, escalation=escalation,
                )
            )
        )  # fmt: skip
        for agent in agents:
            c.submit(AgentAdded(AgentConfig(agent, account, {queue: 1})))


def start_rtpengine(
    tmp: Path, ng_port: int, rtp: int, ports: int, log_level: int, *extra: str
) -> subprocess.Popen[bytes]:
    """rtpengine in the foreground on 127.0.0.1: NG on `ng_port`, media on `ports` ports from `rtp`,
    its log in `tmp`/rtpengine.log."""
    return subprocess.Popen(
        [
            "rtpengine", "--config-file=none", "--foreground", "--log-stderr", "--table=-1",
            "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{ng_port}",
            f"--port-min={rtp}", f"--port-max={rtp + ports - 1}", f"--listen-cli=127.0.0.1:{free_port()}",
            "--delete-delay=0", f"--log-level={log_level}", *extra,
        ],
        stdout=subprocess.DEVNULL, stderr=open(tmp / "rtpengine.log", "wb"),
    )  # fmt: skip


def settings_error(tmp_path: Path, text: str) -> tuple[Path, str]:
    """The telephony settings file `text` is refused: (its path, the message, which is one line)."""
    from centrale.telephony.settings import load

    path = tmp_path / "telephony.yaml"
    path.write_text(f"{text}\n", encoding="utf-8")
    with pytest.raises(ValueError) as error:
        load(path)
    message = str(error.value)
    assert "\n" not in message, message
    return path, message


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a helper process, killing it if it does not go within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def served(settings: Any) -> Iterator[tuple[Any, asyncio.AbstractEventLoop]]:
    """The server's services built from `settings` and started on an event loop of their own thread
    (the SIP service needs no HTTP listener); stopped afterwards."""
    from centrale.server.root import build

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-server-loop", daemon=True)
    thread.start()

    async def make() -> Any:
        services = build(settings)
        await services.start()
        return services

    services = asyncio.run_coroutine_threadsafe(make(), loop).result(30)
    try:
        yield services, loop
    finally:
        asyncio.run_coroutine_threadsafe(services.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def readiness(services: Any, loop: asyncio.AbstractEventLoop) -> Any:
    """GET /api/ready of the server's app, in-process on `loop` (the server's): the response."""
    import httpx

    from centrale.server.app import create_app

    async def get() -> Any:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://centrale") as client:
            return await client.get("/api/ready")

    return asyncio.run_coroutine_threadsafe(get(), loop).result(30)


def wait_pong(c: Center, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if _pong(c):
            return True
        time.sleep(0.2)
    return False


def _pong(c: Center) -> bool:
    try:
        c.run(c.sip.ng.ping(), 3)
    except Exception:
        return False
    return True


@pytest.fixture
def voices() -> Iterator[Any]:
    """Test sockets as the parties' voices (tests/telephony/parties.py), closed after the test."""
    from .parties import Voices

    made = Voices()
    yield made
    made.close()
