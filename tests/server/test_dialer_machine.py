"""Answering machines in the live dialer: every call is answered by a machine (machine_rate=1.0) and
the campaign's ``answering_machine`` action decides — hang up and retry, leave the recorded message
(only with consent), or pass the call to an agent, marked ``machine``, whose disposition settles it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from centrale.server.dialer import lead_of
from server.live import USERS, LiveServer, serve
from server.outbound_fixtures import campaign_document, fast_trunk, number, outbound_center
from server.test_dialer import quick_passwords, wait_for  # noqa: F401  (the fixture is autouse)

MESSAGE = "ACME here about your winter offer; please call 020 7946 0000."


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    users = [u for u in USERS if u[0] in ("admin", "anna")]
    with serve(db_url, config=outbound_center(), users=users) as s:
        yield s


def consent_csv(n: int, consented: set[int]) -> bytes:
    lines = ["Name;Phone;Consent"]
    for i in range(n):
        lines.append(f"Customer {i};{number(i)};{'2026-01-05' if i in consented else ''}")
    return ("\n".join(lines) + "\n").encode()


def start(server: LiveServer, admin: Any, machine: dict[str, Any], csv: bytes) -> Any:
    """Create the campaign with `machine` as its answering_machine setting, upload, start; a trunk
    on which every call is answered by a machine."""
    trunk = fast_trunk(seed=3, answer_rate=0.0, busy_rate=0.0, failed_rate=0.0, machine_rate=1.0)
    server.services.extras["dialer"].trunk = trunk
    doc = campaign_document(answering_machine=machine)
    doc["lists"][0]["map"]["consent_given_at"] = "Consent"
    r = admin.post("/api/campaigns", json=doc)
    assert r.status_code == 201, r.text
    r = admin.post(
        "/api/campaigns/winter/lists",
        files={"file": ("contacts.csv", csv, "text/csv")},
        data={"name": "customers"},
    )
    assert r.status_code == 200 or r.status_code == 201, r.text
    return trunk


def leads(admin: Any) -> dict[str, dict[str, Any]]:
    items = admin.get("/api/campaigns/winter/leads", params={"limit": 50}).json()["items"]
    return {x["phone"]: x for x in items}


def progress(admin: Any) -> dict[str, Any]:
    p: dict[str, Any] = admin.get("/api/campaigns/winter").json()["progress"]
    return p


@contextmanager
def ready_agent(server: LiveServer) -> Iterator[Any]:
    """Anna logs in ready (progressive campaigns dial only for free agents)."""
    with server.client("anna") as client:
        assert client.post("/api/desktop/login", json={"ready": True}).status_code == 200
        wait_for(lambda: server.services.engine.agents["a1"].state.value == "ready")
        yield client


def test_hang_up_is_the_default_and_retries(server: LiveServer) -> None:
    with server.client("admin") as admin:
        trunk = start(server, admin, {"action": "hang_up"}, consent_csv(3, {0, 1, 2}))
        with ready_agent(server):
            assert admin.post("/api/campaigns/winter/start").status_code == 200
            wait_for(lambda: progress(admin)["machine"] == 3 and progress(admin)["leads"]["in_progress"] == 0)
        p = progress(admin)
        assert (p["answered"], p["abandoned"], p["machine_messages"], p["machine_to_agent"]) == (0, 0, 0, 0)
        assert all(x["status"] == "ready" and x["last_outcome"] == "machine" for x in leads(admin).values())
        assert trunk.messages_left == [] and trunk.messages_played == 0
        wait_for(lambda: not trunk.live)  # the dialer hung every machine up


def test_leave_message_settles_consented_leads(server: LiveServer) -> None:
    with server.client("admin") as admin:
        machine = {"action": "leave_message", "message": MESSAGE}
        trunk = start(server, admin, machine, consent_csv(3, {0, 2}))
        with ready_agent(server):
            assert admin.post("/api/campaigns/winter/start").status_code == 200
            wait_for(lambda: progress(admin)["machine"] == 3 and progress(admin)["leads"]["in_progress"] == 0)
            wait_for(lambda: len(trunk.messages_left) == 2 and not trunk.live)
        p = progress(admin)
        assert (p["machine_messages"], p["answered"], p["abandoned"], p["messages"]) == (2, 0, 0, 0)
        by_phone = leads(admin)
        for i in (0, 2):
            lead = by_phone[number(i)]
            assert (lead["status"], lead["last_outcome"]) == ("done", "machine_message")
            assert lead["reason"] == "message left on the answering machine"
        # No consent: no recorded message (PECR reg. 19); hung up and retried by the machine rule.
        lead = by_phone[number(1)]
        assert (lead["status"], lead["last_outcome"]) == ("ready", "machine")
        assert "no consent to recorded messages (PECR 2003 reg. 19" in lead["reason"]
        assert {(m, language) for _, m, language in trunk.messages_left} == {(MESSAGE, "en")}  # UK preset
        # The compliance record notes each message left, with the consent relied on.
        notes = server.services.extras["dialer"].compliance.messages_left
        assert sorted(n.number for n in notes) == [number(0), number(2)]
        assert all(n.message == MESSAGE and n.consent.startswith("consent given 2026-01-05") for n in notes)


def test_pass_to_agent_reaches_the_desktop_marked_machine(server: LiveServer) -> None:
    with server.client("admin") as admin:
        trunk = start(server, admin, {"action": "pass_to_agent"}, consent_csv(2, set()))
        with server.client("anna") as anna:
            assert anna.post("/api/desktop/login", json={"ready": True}).status_code == 200
            wait_for(lambda: server.services.engine.agents["a1"].state.value == "ready")
            assert admin.post("/api/campaigns/winter/start").status_code == 200
            seen: list[dict[str, Any]] = []
            done: list[str] = []
            codes = ["not_interested", "callback"]
            deadline = time.monotonic() + 20
            while len(done) < 2 and time.monotonic() < deadline:
                for item in anna.get("/api/desktop").json()["interactions"]:
                    iid = item["id"]
                    if item["role"] == "offered":
                        seen.append(item)
                        anna.post(f"/api/desktop/interactions/{iid}/accept")
                    elif item["role"] == "connected":
                        anna.post(f"/api/desktop/interactions/{iid}/end")  # a personal message left
                    elif item["role"] == "wrap_up" and iid not in done:
                        code = codes[len(done)]
                        r = anna.post(f"/api/desktop/interactions/{iid}/wrap-up", json={"disposition": code})
                        assert r.status_code == 200, r.text
                        done.append(iid)
                time.sleep(0.02)
            assert len(done) == 2
            assert seen and all(item["attributes"].get("machine") is True for item in seen)
            wait_for(lambda: progress(admin)["leads"]["in_progress"] == 0)
            assert admin.post("/api/campaigns/winter/stop").status_code == 200
        p = progress(admin)
        # Machines are no live calls: nothing answered, connected or abandoned for the 3 % rule.
        assert (p["machine"], p["machine_to_agent"]) == (2, 2)
        assert (p["answered"], p["connected"], p["abandoned"], p["messages"]) == (0, 0, 0, 0)
        statuses = sorted((x["status"], x["disposition"], x["last_outcome"]) for x in leads(admin).values())
        assert statuses == [
            ("done", "not_interested", "machine_to_agent"),
            ("ready", "callback", "machine_to_agent"),
        ]
        wait_for(lambda: not trunk.live)
        assert trunk.messages_left == [] and trunk.messages_played == 0


# --- agentless campaigns: the message, then the hang-up ----------------------------------------------
AGENTLESS_TEXT = "Hello, this is ACME with a short service message. Goodbye."


def start_agentless(server: LiveServer, admin: Any, agentless: dict[str, Any]) -> Any:
    """An agentless campaign (`agentless` as its setting) with three leads, started; a trunk on
    which every call is answered by a person (no agent is needed)."""
    trunk = fast_trunk(seed=5, answer_rate=1.0, busy_rate=0.0, failed_rate=0.0, machine_rate=0.0)
    server.services.extras["dialer"].trunk = trunk
    doc = campaign_document(mode="agentless", agentless=agentless)
    assert admin.post("/api/campaigns", json=doc).status_code == 201
    r = admin.post(
        "/api/campaigns/winter/lists",
        files={"file": ("contacts.csv", consent_csv(3, set()), "text/csv")},
        data={"name": "customers"},
    )
    assert r.status_code in (200, 201), r.text
    assert admin.post("/api/campaigns/winter/start").status_code == 200
    return trunk


def test_an_agentless_campaign_plays_its_message_to_whoever_answers(server: LiveServer) -> None:
    with server.client("admin") as admin:
        trunk = start_agentless(server, admin, {"message": AGENTLESS_TEXT, "max_lines": 2})
        wait_for(lambda: len(trunk.messages_left) == 3 and not trunk.live, timeout=20)
        p = progress(admin)
        assert (p["dialed"], p["answered"], p["abandoned"]) == (3, 3, 0)
        # Each person heard the message, in the UK preset's language, before the hang-up.
        assert sorted(m for _, m, _ in trunk.messages_left) == [AGENTLESS_TEXT] * 3
        assert {language for _, _, language in trunk.messages_left} == {"en"}
        assert all(lead["last_outcome"] == "answered" for lead in leads(admin).values())
        assert not server.services.engine.interactions  # no agent was asked to take any of them


def test_an_agentless_campaign_asks_its_survey_and_keeps_the_answers(server: LiveServer) -> None:
    survey = [
        {"id": "happy", "prompt": "Press 1 if you are happy, 2 if not", "keys": {"1": "yes", "2": "no"}},
        {"id": "again", "prompt": "Press 1 to hear from us again", "keys": {"1": "yes"}},
    ]
    with server.client("admin") as admin:
        trunk = start_agentless(server, admin, {"message": AGENTLESS_TEXT, "survey": survey})
        wait_for(lambda: len(trunk.surveys) == 3 and not trunk.live, timeout=20)
        # The message comes first, then the questions; the hang-up after the last answer.
        assert {intro for _, _, intro in trunk.surveys} == {AGENTLESS_TEXT}
        assert trunk.messages_left == []  # the message was the survey's introduction, not a hang-up's
        wait_for(lambda: all(lead["last_outcome"] == "answered" for lead in leads(admin).values()))
        pressed = {dial: keys for dial, keys, _ in trunk.surveys}
        meaning = {"happy": {"1": "yes", "2": "no"}, "again": {"1": "yes"}}
        for lead in leads(admin).values():
            dial = next(d for d in pressed if lead_of(d)[0] == lead["id"])
            expected = {q: meaning[q][key] for q, key in pressed[dial].items()}
            assert lead["answers"] == expected and set(expected) == {"happy", "again"}
        assert not server.services.engine.interactions
