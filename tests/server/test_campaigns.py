"""The campaigns API over real HTTP: documents, list uploads with their reports, do-not-call, and
tenant isolation (another account's user sees 404s). Dialling itself is in test_dialer.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from argon2 import PasswordHasher

from server.live import USERS, LiveServer, serve
from server.outbound_fixtures import campaign_document, contacts_csv, fast_trunk, number, outbound_center

MORE_USERS = (
    *USERS,
    ("globexsup", "supervisor", ("globex",), None),
    ("acmesup", "supervisor", ("acme",), None),
)


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about campaigns: hash the test users' passwords cheaply (argon2id still)."""
    monkeypatch.setattr(
        "centrale.server.users.PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024)
    )


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    with serve(db_url, config=outbound_center(), users=MORE_USERS) as s:
        yield s


def _upload(c: Any, campaign: str, name: str, data: bytes, filename: str = "list.csv", **form: str) -> Any:
    return c.post(
        f"/api/campaigns/{campaign}/lists",
        files={"file": (filename, data, "text/csv")},
        data={"name": name, **form},
    )


def _xlsx(rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_campaign_documents_lists_and_reports(server: LiveServer) -> None:
    with server.client("acmesup") as sup:
        # Validation: the campaign file's own messages, as `where: problem`.
        bad = campaign_document(retry={"busy": {"delay": "soon", "max_attempts": 2}})
        r = sup.post("/api/campaigns", json=bad)
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "config.invalid" and err["message"].startswith(
            "retry.busy.delay: expected a duration"
        )
        r = sup.post("/api/campaigns", json={**campaign_document(), "retyr": {}})
        assert r.status_code == 422 and "top level: unknown key 'retyr'" in r.json()["error"]["message"]
        r = sup.post("/api/campaigns", json={**campaign_document(), "queue": "nope"})
        assert r.status_code == 422 and r.json()["error"]["message"] == "queue: unknown queue 'nope'"
        r = sup.post("/api/campaigns", json={**campaign_document(), "queue": "globex-en"})
        assert r.status_code == 422 and "belongs to account 'globex'" in r.json()["error"]["message"]

        r = sup.post("/api/campaigns", json=campaign_document())
        assert r.status_code == 201, r.text
        created = r.json()
        assert (
            created["status"] == "stopped" and created["account"] == "acme" and created["queue"] == "acme-out"
        )
        assert created["lists"] == [{"name": "customers", "uploaded": None}]
        assert created["document"]["compliance"]["preset"] == "uk"
        assert sup.post("/api/campaigns", json=campaign_document()).status_code == 409
        # The campaign's disposition codes are available to the account's agents.
        codes = {d["code"] for d in sup.get("/api/dispositions").json()}
        assert {"callback", "not_interested", "do_not_call", "sale"} <= codes

        # Cannot start without a trunk, nor without a list.
        r = sup.post("/api/campaigns/winter/start")
        assert r.status_code == 409 and r.json()["error"]["code"] == "campaign.no_trunk"
        server.services.extras["dialer"].trunk = fast_trunk()
        r = sup.post("/api/campaigns/winter/start")
        assert r.status_code == 409 and r.json()["error"]["code"] == "campaign.no_lists"

        # A CSV with bad rows: the report lists each with its row and reason.
        r = _upload(sup, "winter", "customers", contacts_csv(6))
        assert r.status_code == 201, r.text
        report = r.json()
        assert (report["rows"], report["accepted"], report["rejected"]) == (9, 6, 3)
        assert report["complete"] is False
        rejected = {(i["row"], i["code"]) for i in report["rejected_rows"]}
        assert rejected == {(3, "too_short"), (6, "empty_number"), (10, "duplicate_in_list")}
        dup = next(i for i in report["rejected_rows"] if i["code"] == "duplicate_in_list")
        assert dup["first_row"] == 2 and dup["raw_value"] == number(0)
        r = sup.get("/api/campaigns/winter/lists/customers/rejected.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(r.text)))
        assert lines[0] == ["row", "field", "raw_value", "code", "action", "first_row", "message"]
        assert sorted(int(x[0]) for x in lines[1:]) == [3, 6, 10]
        assert _upload(sup, "winter", "customers", contacts_csv(2)).json()["error"]["code"] == "list.exists"

        # An XLSX list the document does not declare, with its own mapping; a number of the first
        # list is a duplicate in the campaign.
        sheet = _xlsx([["Tel", "Who"], [number(40), "Xavier"], [number(41), "Yara"], [number(1), "Again"]])
        r = _upload(
            sup, "winter", "extra", sheet, "more.xlsx", mapping="phone=Tel, first_name=Who", region="GB"
        )
        assert r.status_code == 201, r.text
        assert (r.json()["accepted"], r.json()["rejected"]) == (2, 1)
        assert r.json()["rejected_rows"][0]["code"] == "duplicate_in_campaign"
        r = _upload(sup, "winter", "third", contacts_csv(2), mapping='{"phone": "Telephone"}')
        assert r.status_code == 422 and r.json()["error"]["code"] == "list.missing_column"
        assert "list.csv: mapped column(s) not in the header" in r.json()["error"]["message"]
        r = _upload(sup, "winter", "fourth", contacts_csv(2))
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("mapping: ")

        detail = sup.get("/api/campaigns/winter").json()
        assert [(x["name"], x["accepted"]) for x in detail["lists"]] == [("customers", 6), ("extra", 2)]
        assert detail["progress"]["leads"]["ready"] == 8 and detail["progress"]["dialed"] == 0
        assert {x["name"] for x in detail["document"]["lists"]} == {"customers", "extra"}
        leads = sup.get("/api/campaigns/winter/leads").json()["items"]
        assert {x["phone"] for x in leads} >= {number(0), number(40)}

        # The document can change while the campaign is not running; uploaded lists must stay.
        doc = detail["document"]
        r = sup.put(
            "/api/campaigns/winter", json={**doc, "campaign": {**doc["campaign"], "name": "Winter 2"}}
        )
        assert r.status_code == 200 and r.json()["name"] == "Winter 2"
        r = sup.put("/api/campaigns/winter", json={**doc, "lists": doc["lists"][:1]})
        assert (
            r.status_code == 422
            and "uploaded lists cannot be left out: extra" in r.json()["error"]["message"]
        )

        assert sup.post("/api/campaigns/winter/pause").json()["status"] == "paused"
        r = sup.delete("/api/campaigns/winter")
        assert r.status_code == 204
        assert sup.get("/api/campaigns/winter").status_code == 404

    actions = [e.action for e in server.services.audit.query(None, limit=100)]
    for action in (
        "campaign.create",
        "campaign.list.upload",
        "campaign.update",
        "campaign.pause",
        "campaign.delete",
    ):
        assert action in actions


def test_do_not_call_and_tenant_isolation(server: LiveServer) -> None:
    with server.client("acmesup") as sup, server.client("admin") as admin:
        assert sup.post("/api/campaigns", json=campaign_document()).status_code == 201
        assert _upload(sup, "winter", "customers", contacts_csv(3)).status_code == 201

        r = sup.post(
            "/api/dnc", json={"number": "07911 123401", "region": "GB", "scope": "acme", "source": "letter"}
        )
        assert r.status_code == 201, r.text
        assert r.json()["number"] == number(1) and r.json()["scope"] == "acme"
        again = sup.post("/api/dnc", json={"number": number(1), "scope": "acme"})
        assert again.status_code == 409 and again.json()["error"]["code"] == "dnc.exists"
        r = sup.post("/api/dnc", json={"number": "12", "scope": "acme"})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("number: ")
        assert sup.post("/api/dnc", json={"number": number(2), "scope": "*"}).status_code == 403
        assert admin.post("/api/dnc", json={"number": number(9), "scope": "*"}).status_code == 201
        assert admin.post("/api/dnc", json={"number": number(8), "scope": "globex"}).status_code == 201
        assert [(e["number"], e["scope"]) for e in sup.get("/api/dnc").json()] == [(number(1), "acme")]
        assert {e["scope"] for e in admin.get("/api/dnc").json()} == {"acme", "*", "globex"}
        assert (
            sup.get("/api/dnc", params={"number": "07911 123401", "region": "GB"}).json()[0]["source"]
            == "letter"
        )

    with server.client("globexview") as viewer, server.client("globexsup") as other:
        assert viewer.get("/api/campaigns").json() == []
        for path in (
            "/api/campaigns/winter",
            "/api/campaigns/winter/leads",
            "/api/campaigns/winter/lists",
            "/api/campaigns/winter/lists/customers",
            "/api/campaigns/winter/lists/customers/rejected.csv",
        ):
            assert viewer.get(path).status_code == 404, path
            assert other.get(path).status_code == 404, path
        assert [e["scope"] for e in viewer.get("/api/dnc").json()] == ["globex"]
        assert other.post("/api/campaigns/winter/start").status_code == 404
        assert other.put("/api/campaigns/winter", json=campaign_document()).status_code == 404
        assert other.delete("/api/campaigns/winter").status_code == 404
        assert (
            _upload(other, "winter", "more", contacts_csv(1, start=50), mapping="phone=Phone").status_code
            == 404
        )
        assert other.post("/api/campaigns", json=campaign_document("theirs")).status_code == 404
        assert other.post("/api/dnc", json={"number": number(3), "scope": "acme"}).status_code == 404
        assert other.delete(f"/api/dnc/{number(1)}", params={"scope": "acme"}).status_code == 404
        assert viewer.post("/api/dnc", json={"number": number(3), "scope": "globex"}).status_code == 403
        assert "campaigns" in viewer.get("/api/wallboard").json()
        assert viewer.get("/api/wallboard").json()["campaigns"] == []

    with server.client("acmeview") as viewer, server.client("acmesup") as sup:
        assert viewer.get("/api/campaigns/winter").status_code == 200
        assert viewer.post("/api/campaigns/winter/start").status_code == 403
        (tile,) = viewer.get("/api/wallboard").json()["campaigns"]
        assert tile["id"] == "winter" and tile["status"] == "stopped" and tile["dialed"] == 0
        assert sup.delete(f"/api/dnc/{number(1)}", params={"scope": "acme"}).status_code == 204
        assert sup.delete(f"/api/dnc/{number(1)}", params={"scope": "acme"}).status_code == 404
        assert sup.get("/api/dnc").json() == []
    actions = [e.action for e in server.services.audit.query(None, limit=100)]
    assert actions.count("dnc.add") == 3 and actions.count("dnc.remove") == 1
