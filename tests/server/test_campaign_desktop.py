"""A campaign call on the agent desktop: the script for this lead and the campaign's form, checked
when the agent registers it, and stored with the lead when the call is settled."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher

from server.live import USERS, LiveServer, serve
from server.outbound_fixtures import campaign_document, contacts_csv, fast_trunk, outbound_center


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "centrale.server.users.PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024)
    )


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    users = [u for u in USERS if u[0] in ("admin", "anna")]
    with serve(db_url, config=outbound_center(), users=users) as s:
        yield s


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("timed out")


FORM = {
    "name": "order",
    "fields": [
        {"name": "product", "type": "choice", "choices": ["basic", "premium"], "required": True},
        {"name": "email", "type": "email", "required": True},
    ],
}
SCRIPT = {"text": "Good afternoon {first_name}, this is {agent_name} of ACME about our winter offer."}


def test_script_and_form_on_the_desktop(server: LiveServer) -> None:
    server.services.extras["dialer"].trunk = fast_trunk(
        seed=3, answer_rate=1.0, busy_rate=0.0, machine_rate=0.0, failed_rate=0.0
    )
    with server.client("admin") as admin, server.client("anna") as anna:
        doc = campaign_document(form=FORM, script=SCRIPT)
        r = admin.post("/api/campaigns", json=doc)
        assert r.status_code == 201, r.text
        files = {"file": ("contacts.csv", contacts_csv(1, bad=False), "text/csv")}
        assert (
            admin.post("/api/campaigns/winter/lists", files=files, data={"name": "customers"}).status_code
            == 201
        )
        anna.post("/api/desktop/login", json={"ready": True})
        assert admin.post("/api/campaigns/winter/start").status_code == 200

        def offered() -> dict[str, Any] | None:
            items = anna.get("/api/desktop").json()["interactions"]
            return items[0] if items else None

        item = wait_for(offered)
        assert item["direction"] == "outbound"
        material = item["campaign"]
        assert material["id"] == "winter"
        assert material["script"] == "Good afternoon Customer 0, this is Anna of ACME about our winter offer."
        assert [f["name"] for f in material["form"]] == ["product", "email"]
        assert material["form"][0]["choices"] == ["basic", "premium"]
        base = f"/api/desktop/interactions/{item['id']}"
        assert anna.post(base + "/accept").status_code == 200
        assert anna.post(base + "/end").status_code == 200
        # A bad value is refused field by field; a half form is refused when handing it in.
        r = anna.post(base + "/register", json={"fields": {"product": "gold"}})
        assert r.status_code == 422 and r.json()["error"]["problems"][0]["where"] == "fields.product"
        assert anna.post(base + "/register", json={"fields": {"product": "premium"}}).status_code == 200
        r = anna.post(base + "/wrap-up", json={"disposition": "sale"})
        assert r.status_code == 422 and "fields.email" in r.json()["error"]["message"]
        r = anna.post(base + "/wrap-up", json={"disposition": "sale", "fields": {"email": "jan@example.nl"}})
        assert r.status_code == 200, r.text

        def settled() -> dict[str, Any] | None:
            leads = admin.get("/api/campaigns/winter/leads").json()
            items = leads["items"] if isinstance(leads, dict) else leads
            done = [x for x in items if x.get("disposition") == "sale"]
            return done[0] if done else None

        lead = wait_for(settled)
        runner = server.services.extras["dialer"]
        stored = runner.runs["winter"].campaign.leads[lead["id"]].form
        assert stored == {"product": "premium", "email": "jan@example.nl"}
