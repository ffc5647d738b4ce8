"""The live server end to end over real HTTP: log in, an agent takes an interaction, the wallboard sees it."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.live import serve


@pytest.fixture
def server(db_url: str):  # type: ignore[no-untyped-def]
    with serve(db_url) as s:
        yield s


def test_login_me_and_logout(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as c:
        assert c.get("/api/me").status_code == 401
        r = c.post("/api/login", json={"username": "anna", "password": "wrong password"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "auth.failed"
        r = c.post("/api/login", json={"username": "anna", "password": "correct horse battery"})
        assert r.status_code == 200
        me = r.json()
        assert me["role"] == "agent" and me["agent"] == "a1" and "desktop" in me["permissions"]
        assert "httponly" in r.headers["set-cookie"].lower()
        # A change without the CSRF header is refused even with a valid session.
        assert c.post("/api/desktop/login", json={"ready": True}).status_code == 403
        c.headers["X-CSRF-Token"] = me["csrf"]
        assert c.post("/api/desktop/login", json={"ready": True}).status_code == 200
        assert c.post("/api/logout").status_code == 204
        assert c.get("/api/me").status_code == 401


def test_login_rate_limited(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as c:
        codes = [
            c.post("/api/login", json={"username": "bram", "password": f"nope{i}xxxx"}).status_code
            for i in range(7)
        ]
        assert codes[:5] == [401] * 5 and codes[-1] == 429
        r = c.post("/api/login", json={"username": "bram", "password": "correct horse battery"})
        assert r.status_code == 429 and "Retry-After" in r.headers


def test_agent_takes_an_interaction_end_to_end(server) -> None:  # type: ignore[no-untyped-def]
    with server.client("anna") as anna, server.client("admin") as admin:
        assert anna.post("/api/desktop/login", json={"ready": True}).json()["ok"]
        r = admin.post(
            "/api/interactions", json={"queue": "acme-nl", "contact": "+31201234567", "id": "call-1"}
        )
        assert r.status_code == 201, r.text
        desk = anna.get("/api/desktop").json()
        assert desk["agent"]["state"] == "reserved"
        (offer,) = desk["interactions"]
        assert offer["id"] == "call-1" and offer["role"] == "offered" and offer["contact"] == "+31201234567"
        assert {d["code"] for d in offer["dispositions"]} == {"sale", "info"}
        assert anna.post("/api/desktop/interactions/call-1/accept").status_code == 200
        assert anna.get("/api/desktop").json()["agent"]["state"] == "busy"
        assert anna.post("/api/desktop/interactions/call-1/end").status_code == 200
        assert anna.get("/api/desktop").json()["agent"]["state"] == "wrap_up"
        r = anna.post(
            "/api/desktop/interactions/call-1/wrap-up", json={"disposition": "sale", "notes": "two tickets"}
        )
        assert r.status_code == 200, r.text
        assert anna.get("/api/desktop").json()["agent"]["state"] == "ready"
        # Accepting again is refused by the engine and maps to 404 (not hers any more).
        assert anna.post("/api/desktop/interactions/call-1/accept").status_code == 404

        detail = admin.get("/api/interactions/call-1").json()
        assert detail["state"] == "handled" or detail["state"] == "answered" or detail["ended"] is not None
        assert (
            detail["disposition"] == "sale" and detail["notes"] == "two tickets" and detail["agent"] == "a1"
        )
        kinds = [t["kind"] for t in detail["timeline"]]
        assert kinds[:3] == ["arrived", "offered", "accepted"]
        assert "connected" in kinds and "wrap_up" in kinds and kinds[-1] == "finished"

        # The next contact of the same customer shows this one as history.
        admin.post("/api/interactions", json={"queue": "acme-nl", "contact": "+31201234567", "id": "call-2"})
        (offer,) = anna.get("/api/desktop").json()["interactions"]
        assert [h["id"] for h in offer["history"]] == ["call-1"]


def test_tenant_isolation_on_interactions(server) -> None:  # type: ignore[no-untyped-def]
    with (
        server.client("admin") as admin,
        server.client("acmeview") as acme,
        server.client("globexview") as globex,
    ):
        admin.post("/api/interactions", json={"queue": "acme-nl", "contact": "+31200000001", "id": "x-acme"})
        admin.post(
            "/api/interactions", json={"queue": "globex-en", "contact": "+442000000001", "id": "x-globex"}
        )
        assert [i["id"] for i in acme.get("/api/interactions").json()["items"]] == ["x-acme"]
        assert [i["id"] for i in globex.get("/api/interactions").json()["items"]] == ["x-globex"]
        assert acme.get("/api/interactions/x-globex").status_code == 404
        assert globex.get("/api/interactions/x-acme").status_code == 404
        board = acme.get("/api/wallboard").json()
        assert [q["id"] for q in board["queues"]] == ["acme-nl"]
        assert {a["account"] for a in board["agents"]} == {"acme"}
        # Viewers cannot act.
        assert acme.post("/api/interactions", json={"queue": "acme-nl"}).status_code == 403
        assert acme.post("/api/agents/a1/state", json={"state": "ready"}).status_code == 403


def _read_events(client: httpx.Client, path: str, sink: list[dict[str, Any]], stop: threading.Event) -> None:
    try:
        with client.stream("GET", path, timeout=30) as r:
            event = None
            for line in r.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "wallboard":
                    sink.append({"received": time.monotonic(), **json.loads(line[6:])})
    except httpx.HTTPError:
        if not stop.is_set():
            raise


def test_wallboard_stream_shows_a_change_within_a_second(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with server.client("sup") as sup, server.client("grace") as grace:
        got: list[dict[str, Any]] = []
        stop = threading.Event()
        reader = threading.Thread(
            target=_read_events, args=(sup, "/api/wallboard/events", got, stop), daemon=True
        )
        reader.start()
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got, "no first snapshot"
        before = next(a for a in got[-1]["agents"] if a["id"] == "g1")["state"]
        assert before == "logged_out"
        sent = time.monotonic()
        grace.post("/api/desktop/login", json={"ready": True})
        while time.monotonic() < sent + 2:
            states = [
                next(a for a in s["agents"] if a["id"] == "g1")["state"] for s in got if s["received"] >= sent
            ]
            if "ready" in states:
                break
            time.sleep(0.01)
        stop.set()
        seen = [
            s
            for s in got
            if s["received"] >= sent and next(a for a in s["agents"] if a["id"] == "g1")["state"] == "ready"
        ]
        assert seen, "the wallboard never showed the agent ready"
        assert seen[0]["received"] - sent < 1.0


def test_agent_sees_own_weekly_sales_target(server) -> None:  # type: ignore[no-untyped-def]
    with server.client("anna") as anna, server.client("admin") as admin:
        assert anna.get("/api/desktop").json()["targets"] == []  # no target set
        r = admin.put("/api/accounts/acme", json={"id": "acme", "name": "ACME", "weekly_sales_target": 3})
        assert r.status_code == 200 and r.json()["weekly_sales_target"] == 3
        anna.post("/api/desktop/login", json={"ready": True})
        for n, code in enumerate(["sale", "info", "sale"]):
            admin.post("/api/interactions", json={"queue": "acme-nl", "id": f"t{n}"})
            base = f"/api/desktop/interactions/t{n}"
            anna.post(base + "/accept")
            anna.post(base + "/end")
            assert anna.post(base + "/wrap-up", json={"disposition": code}).status_code == 200
        assert anna.get("/api/desktop").json()["targets"] == [
            {"label": "sales_this_week", "done": 2, "target": 3}
        ]


def test_a_reused_interaction_id_is_refused_and_the_server_goes_on(server) -> None:  # type: ignore[no-untyped-def]
    with server.client("admin") as admin:
        assert admin.post("/api/interactions", json={"queue": "acme-nl", "id": "dup"}).status_code == 201
        r = admin.post("/api/interactions", json={"queue": "acme-nl", "id": "dup"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "interaction.duplicate"
        assert admin.get("/api/health").json()["ok"] is True


def test_ids_and_offsets_beyond_what_the_database_holds_are_refused_not_overflowed(server) -> None:  # type: ignore[no-untyped-def]
    huge = 2**63  # one more than SQLite's and PostgreSQL's largest integer
    with server.client("admin") as admin:
        assert admin.get("/api/audit", params={"before": huge}).status_code == 422
        assert admin.get("/api/audit", params={"before": huge - 1}).status_code == 200
        assert admin.get("/api/webhooks/any/deliveries", params={"before": huge}).status_code == 422


def test_a_callback_agreed_at_wrap_up_is_queued_when_due(server) -> None:  # type: ignore[no-untyped-def]
    with server.client("anna") as anna, server.client("admin") as admin:
        anna.post("/api/desktop/login", json={"ready": True})
        admin.post("/api/interactions", json={"queue": "acme-nl", "id": "cb1", "contact": "+31201111111"})
        base = "/api/desktop/interactions/cb1"
        anna.post(base + "/accept")
        anna.post(base + "/end")
        bad = anna.post(
            base + "/wrap-up", json={"disposition": "info", "fields": {"callback_at": "tomorrow"}}
        )
        assert bad.status_code == 422 and "callback_at" in bad.json()["error"]["message"]
        past = anna.post(
            base + "/wrap-up", json={"disposition": "info", "fields": {"callback_at": "2020-01-01T10:00"}}
        )
        assert past.status_code == 422
        soon = datetime.fromtimestamp(time.time() + 1.5, UTC).isoformat()
        r = anna.post(
            base + "/wrap-up",
            json={"disposition": "info", "notes": "call back", "fields": {"callback_at": soon}},
        )
        assert r.status_code == 200
        (cb,) = admin.get("/api/callbacks").json()
        assert cb["id"] == "cb1:callback" and cb["status"] == "scheduled" and cb["contact"] == "+31201111111"
        anna.post("/api/desktop/not-ready", json={"reason": "break"})  # so the callback waits in the queue
        server.call(lambda: server.services.extras["callbacks"].run_once())  # not due yet: nothing
        assert admin.get("/api/callbacks").json()[0]["status"] == "scheduled"
        time.sleep(1.6)
        server.call(lambda: server.services.extras["callbacks"].run_once())
        deadline = time.monotonic() + 5
        while admin.get("/api/callbacks").json()[0]["status"] != "queued" and time.monotonic() < deadline:
            time.sleep(0.05)
        (cb,) = admin.get("/api/callbacks").json()
        assert cb["status"] == "queued"
        new = admin.get(f"/api/interactions/{cb['interaction']}").json()
        assert (
            new["contact"] == "+31201111111" and new["direction"] == "outbound" and new["state"] == "queued"
        )
        assert admin.get("/api/callbacks", params={"status": "scheduled"}).json() == []


def test_wallboard_counts_agents_per_queue_and_waiting_contacts_are_not_misses_yet(server) -> None:  # type: ignore[no-untyped-def]
    with server.client("admin") as admin, server.client("anna") as anna, server.client("sup") as sup:
        anna.post("/api/desktop/login", json={"ready": False})
        admin.post("/api/interactions", json={"queue": "acme-nl", "id": "w1"})
        board = sup.get("/api/wallboard").json()
        tile = next(q for q in board["queues"] if q["id"] == "acme-nl")
        assert tile["agents_by_state"]["not_ready"] == 1 and tile["agents_by_state"]["logged_out"] == 1
        assert tile["waiting"] == 1 and tile["offered"] == 1
        assert tile["service_level"] is None and not tile["breach"]  # within 20 s: not a miss yet
        rows = {a["id"]: a for a in board["agents"]}
        assert rows["a1"]["queues"] == ["acme-nl"] and rows["g1"]["queues"] == ["globex-en"]
        assert board["accounts"] == {"acme": "ACME", "globex": "Globex"}


def test_ready_reports_each_check_and_503_when_one_fails(server) -> None:  # type: ignore[no-untyped-def]
    r = httpx.get(f"{server.url}/api/ready", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"ready": True, "checks": {"writer": "ok", "database": "ok"}}  # no telephony here
    server.call(server.services.writer.stop)  # as after a storage failure
    r = httpx.get(f"{server.url}/api/ready", timeout=10)
    assert r.status_code == 503 and r.json()["ready"] is False
    checks = r.json()["checks"]
    assert checks["writer"].startswith("not running") and checks["database"] == "ok"
    assert httpx.get(f"{server.url}/api/health", timeout=10).json()["ok"] is False
