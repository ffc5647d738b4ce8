"""The live dialer: a campaign dials through a simulated trunk, agents take the answered calls on
their desktops, dispositions settle the leads; and after kill -9 and a restart nothing is dialled
twice (a subprocess server, its trunk log as the outside world's record)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from centrale.outbound.contact import Contact, TimeZoneSource
from centrale.server.dialer import contact_from_json, contact_to_json, lead_of, parse_document
from centrale.server.trunk import TrunkLog
from centrale.storage import EventStore
from server.live import USERS, LiveServer, serve
from server.outbound_fixtures import campaign_document, contacts_csv, fast_trunk, number, outbound_center
from server.test_metrics import collected, value

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about campaigns: hash the test users' passwords cheaply (argon2id still)."""
    monkeypatch.setattr(
        "centrale.server.users.PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024)
    )


def wait_for(check: Callable[[], Any], timeout: float = 15.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        time.sleep(every)


class Dispositions:
    """The codes agents register, in the order calls are wrapped up (shared by the agents)."""

    def __init__(self, codes: list[str]) -> None:
        self.codes = codes
        self.used = 0
        self.lock = threading.Lock()

    def next(self) -> str:
        with self.lock:
            code = self.codes[self.used % len(self.codes)]
            self.used += 1
            return code


class DesktopAgent(threading.Thread):
    """An agent at the desktop API: accepts offers, talks briefly, wraps up with a disposition.

    ``ignore_first`` leaves the first offer ringing (no agent within 2 s: an abandoned call)."""

    def __init__(
        self, server: LiveServer, username: str, dispositions: Dispositions, ignore_first: bool = False
    ):
        super().__init__(daemon=True)
        self.server = server
        self.username = username
        self.dispositions = dispositions
        self.ignore = ignore_first
        self.ignored: set[str] = set()
        self.done: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.server.client(self.username) as c:
                assert c.post("/api/desktop/login", json={"ready": True}).status_code == 200
                connected: dict[str, float] = {}
                while not self.stop.is_set():
                    for item in c.get("/api/desktop").json()["interactions"]:
                        iid = item["id"]
                        if item["role"] == "offered" and iid not in self.ignored:
                            if self.ignore:
                                self.ignore = False
                                self.ignored.add(iid)
                                continue
                            c.post(f"/api/desktop/interactions/{iid}/accept")
                        elif item["role"] == "connected":
                            started = connected.setdefault(iid, time.monotonic())
                            if time.monotonic() - started > 0.2:
                                c.post(f"/api/desktop/interactions/{iid}/end")
                        elif item["role"] == "wrap_up":
                            code = self.dispositions.next()
                            r = c.post(f"/api/desktop/interactions/{iid}/wrap-up", json={"disposition": code})
                            assert r.status_code == 200, r.text
                            self.done.append((iid, code))
                    time.sleep(0.02)
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    users = [u for u in USERS if u[0] in ("admin", "anna", "bram", "acmeview")]
    with serve(db_url, config=outbound_center(), users=users) as s:
        yield s


def test_campaign_dials_and_agents_settle_leads(server: LiveServer) -> None:
    trunk = fast_trunk(seed=4)
    server.services.extras["dialer"].trunk = trunk
    codes = Dispositions(["sale", "do_not_call", "callback", "not_interested"])
    anna = DesktopAgent(server, "anna", codes)
    bram = DesktopAgent(server, "bram", codes, ignore_first=True)
    with server.client("admin") as admin:
        assert admin.post("/api/campaigns", json=campaign_document()).status_code == 201
        r = admin.post(
            "/api/campaigns/winter/lists",
            files={"file": ("contacts.csv", contacts_csv(8), "text/csv")},
            data={"name": "customers"},
        )
        assert r.json()["accepted"] == 8
        assert admin.post("/api/dnc", json={"number": number(3), "scope": "acme"}).status_code == 201
        anna.start()
        bram.start()
        wait_for(lambda: server.services.engine.agents["a2"].state.value == "ready")
        wait_for(lambda: server.services.engine.agents["a1"].state.value == "ready")

        def progress() -> dict[str, Any]:
            p: dict[str, Any] = admin.get("/api/campaigns/winter").json()["progress"]
            return p

        r = admin.post("/api/campaigns/winter/start")
        assert r.status_code == 200 and r.json()["status"] == "running"
        # Progressive: one line per free agent. Pause: no new dials while the first ones finish.
        wait_for(lambda: progress()["dialed"] >= 2)
        assert admin.post("/api/campaigns/winter/pause").json()["status"] == "paused"
        paused_at = progress()["dialed"]
        time.sleep(1.0)
        assert progress()["dialed"] == paused_at == trunk.dials
        assert admin.post("/api/campaigns/winter/start").status_code == 200

        # Every lead but the do-not-call one is dialled once (retries are an hour away), answered
        # calls reach the agents and are settled by their dispositions.
        wait_for(lambda: progress()["dialed"] == 7 and progress()["leads"]["in_progress"] == 0, timeout=25)
        time.sleep(0.3)
        p = progress()
        anna.stop.set()
        bram.stop.set()
        anna.join(5)
        bram.join(5)
        assert anna.error is None and bram.error is None, (anna.error, bram.error)

        assert p["dialed"] == 7 and trunk.dials == 7
        assert trunk.outcomes["answered"] == p["answered"] == 5
        assert p["abandoned"] == 1 and p["connected"] == 4 and trunk.messages_played == 1
        assert p["abandon_rate"] == pytest.approx(1 / 5, abs=1e-4)
        # The pacing policy's margin comes from the preset's window (UK: 24 h) as the compliance
        # tracker holds it: every live call of the shift so far, the abandoned one among them.
        runner = server.services.extras["dialer"]
        snap = server.call(lambda: runner.snapshot(runner.runs["winter"], runner.clock()))
        assert (snap.regulated_live, snap.regulated_abandoned) == (5, 1)
        assert p["no_answer"] + p["failed"] + p["busy"] + p["machine"] == 2
        leads = {
            x["phone"]: x
            for x in admin.get("/api/campaigns/winter/leads", params={"limit": 50}).json()["items"]
        }
        blocked = leads[number(3)]
        assert blocked["attempts"] == 0 and "uk.do_not_call" in blocked["reason"]
        # Four calls reached an agent: one of each disposition, each settling its lead its way.
        settled = {x["disposition"]: x for x in leads.values() if x["disposition"]}
        assert sorted(settled) == sorted(code for _, code in anna.done + bram.done)
        assert sorted(settled) == ["callback", "do_not_call", "not_interested", "sale"]
        assert settled["callback"]["status"] == "ready" and settled["callback"]["callback_at"] is not None
        for code in ("sale", "not_interested", "do_not_call"):
            assert settled[code]["status"] == "done"
        # The objection is on the account's do-not-call list, stored, at once.
        objection = admin.get("/api/dnc", params={"number": settled["do_not_call"]["phone"]}).json()
        assert [(e["scope"], e["source"]) for e in objection] == [
            ("acme", "campaign winter: do-not-call request")
        ]
        abandoned = [x for x in leads.values() if x["last_outcome"] == "abandoned"]
        assert len(abandoned) == 1 and abandoned[0]["status"] == "ready"  # retried a day later

        # The answered calls are outbound interactions of the campaign's queue, with their lead.
        iid, code = anna.done[0]
        detail = admin.get(f"/api/interactions/{iid}").json()
        assert detail["direction"] == "outbound" and detail["queue"] == "acme-out"
        assert detail["disposition"] == code and detail["contact"].startswith("+44")
        assert lead_of(iid)[0] in {x["id"] for x in leads.values()}

        with server.client("acmeview") as viewer:
            (tile,) = viewer.get("/api/wallboard").json()["campaigns"]
        assert tile["id"] == "winter" and tile["status"] == "running" and tile["dialed"] == 7
        assert tile["answered"] == 5 and tile["abandoned"] == 1 and tile["abandon_rate"] == p["abandon_rate"]
        # The same figures for monitoring (GET /metrics).
        samples = collected(server)
        for outcome, count in (("dialed", 7), ("answered", 5), ("connected", 4), ("abandoned", 1)):
            assert (
                value(samples, "centrale_campaign_calls_total", campaign="winter", outcome=outcome) == count
            )
        assert value(samples, "centrale_trunk_dials_total", outcome="answered") == 5
        assert value(samples, "centrale_campaign_running", campaign="winter") == 1
        assert value(samples, "centrale_campaign_calls_ringing", campaign="winter") == 0
        assert admin.post("/api/campaigns/winter/stop").json()["status"] == "stopped"
        assert value(collected(server), "centrale_campaign_running", campaign="winter") == 0

    # The stored position is the campaign's.
    positions = server.call(lambda: server.services.store.campaign_positions())
    state = positions["winter"][0]
    assert state["server"]["counters"]["dialed"] == 7
    assert sum(1 for lead in state["leads"] if lead["status"] == "done") >= 1


# --- the crash test ------------------------------------------------------------------------------------
def _start(db_url: str, tmp: Path, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE.parent)])}
    return subprocess.Popen(
        [sys.executable, str(HERE / "dialer_crash_server.py"), db_url, str(tmp / "trunk.jsonl")],
        stdout=subprocess.PIPE,
        stderr=open(tmp / f"{name}.log", "w"),
        text=True,
        env=env,
    )


def _dials(log: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [lead_of(r["dial_id"]) for r in log if r["event"] == "dial"]


def test_kill_9_and_restart_never_dials_a_lead_twice(db_url: str, tmp_path: Path) -> None:
    trunk_log = tmp_path / "trunk.jsonl"
    first = _start(db_url, tmp_path, "first")
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "ready", (tmp_path / "first.log").read_text()
        wait_for(lambda: len(_dials(TrunkLog.read(trunk_log))) >= 10, timeout=20)
    finally:
        first.send_signal(signal.SIGKILL)  # kill -9: no shutdown, whatever was in flight
        first.wait(10)
    before = _dials(TrunkLog.read(trunk_log))

    second = _start(db_url, tmp_path, "second")
    try:
        assert second.stdout is not None
        assert second.stdout.readline().strip() == "ready", (tmp_path / "second.log").read_text()
        wait_for(lambda: len(_dials(TrunkLog.read(trunk_log))) >= len(before) + 10, timeout=20)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, (tmp_path / "second.log").read_text()

    dials = _dials(TrunkLog.read(trunk_log))
    after = dials[len(before) :]
    assert len(dials) == len(set(dials)), "a (lead, attempt) was dialled twice"
    assert after, "the restarted server did not dial"
    # The position continued: leads dialled before the crash go on with their next attempt, and
    # leads never dialled before are taken in list order.
    # (Which of the two comes first depends on when retries fall due, so neither is required.)
    again = [(lead, n) for lead, n in after if any(lead == b for b, _ in before)]
    assert all(n > max(m for b, m in before if b == lead) for lead, n in again)

    store = EventStore(db_url)
    try:
        state = store.campaign_positions()["crash"][0]
    finally:
        store.close()
    attempts = {lead["id"]: lead["total_attempts"] for lead in state["leads"]}
    for lead, n in dials:  # every dial the world saw is counted in the stored position
        assert attempts[lead] >= n
    # Calls that were ringing at the kill were settled at the restart as "outcome unknown".
    assert state["server"]["counters"]["unknown"] >= 1
    # A graceful stop settles the calls still ringing; only calls agents were still talking on
    # (at most one per agent) stay in progress, to be settled by their dispositions.
    assert sum(1 for lead in state["leads"] if lead["status"] == "in_progress") <= 8


# --- small parts ---------------------------------------------------------------------------------------
def test_contacts_round_trip_through_json() -> None:
    from datetime import UTC, date, datetime

    contact = Contact(
        row=7,
        phone=number(1),
        alt_phones=(number(2),),
        first_name="Ann",
        time_zones=("Europe/London",),
        time_zone_source=TimeZoneSource.NUMBER,
        consent_given_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        customer_relationship_ended_on=date(2025, 5, 1),
        custom={"segment": "gold"},
    )
    assert contact_from_json(json.loads(json.dumps(contact_to_json(contact)))) == contact
    assert lead_of("winter.abc:customers:12:3") == ("customers:12", 3)


def test_campaign_document_problems_name_the_field() -> None:
    from centrale.server.dialer import DocumentProblem

    with pytest.raises(DocumentProblem, match=r"^queue: this field is required"):
        parse_document({k: v for k, v in campaign_document().items() if k != "queue"})
    with pytest.raises(DocumentProblem, match=r"^lists\[0\]\.name: "):
        parse_document({**campaign_document(), "lists": [{"name": "has space", "map": {"phone": "P"}}]})
    with pytest.raises(DocumentProblem, match=r"^campaign\.account: 'x' does not match account 'acme'"):
        parse_document({**campaign_document(), "campaign": {"id": "w", "account": "x"}})
    parsed = parse_document(
        {**campaign_document(), "lists": [{"name": "l", "file": "/etc/passwd", "map": {"phone": "P"}}]}
    )
    assert parsed.document["lists"][0]["file"] == "(uploaded)"  # a path is never read
