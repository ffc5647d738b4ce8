"""GDPR export and erasure of one customer, and retention purges — against the real database, and
the log still replays after personal data was blanked in it."""

from __future__ import annotations

import sqlalchemy as sa

from centrale.core.config import EngineConfig
from centrale.server.privacy import purge_expired
from centrale.storage import EventStore
from centrale.storage.schema import events, interactions, timeline
from server.live import serve

CUSTOMER = "+31612345678"


def _handle(anna, ix: str, iban: str = "NL00") -> None:  # type: ignore[no-untyped-def]
    base = f"/api/desktop/interactions/{ix}"
    assert anna.post(base + "/accept").status_code == 200
    assert anna.post(base + "/end").status_code == 200
    r = anna.post(
        base + "/wrap-up",
        json={"disposition": "info", "notes": "lives at Dorpsstraat 1", "fields": {"iban": iban}},
    )
    assert r.status_code == 200


def test_export_and_erase_one_customer(db_url: str) -> None:
    with serve(db_url) as server, server.client("admin") as admin, server.client("anna") as anna:
        anna.post("/api/desktop/login", json={"ready": True})
        for ix, contact in (("p1", CUSTOMER), ("p2", CUSTOMER), ("other", "+31699999999")):
            assert (
                admin.post(
                    "/api/interactions", json={"queue": "acme-nl", "contact": contact, "id": ix}
                ).status_code
                == 201
            )
            _handle(anna, ix, iban="NL00" if contact == CUSTOMER else "NL99")

        export = admin.get("/api/gdpr/customer", params={"contact": CUSTOMER}).json()
        assert [i["id"] for i in export["interactions"]] == ["p1", "p2"]
        assert export["interactions"][0]["notes"] == "lives at Dorpsstraat 1"
        assert export["interactions"][0]["timeline"][0]["kind"] == "arrived"
        # Only administrators handle GDPR requests.
        with server.client("sup") as sup:
            assert sup.get("/api/gdpr/customer", params={"contact": CUSTOMER}).status_code == 403

        r = admin.post("/api/gdpr/erase", json={"contact": CUSTOMER})
        assert r.status_code == 200 and r.json()["interactions"] == 2, r.text
        assert r.json()["events"] >= 4, r.text
        assert admin.get("/api/gdpr/customer", params={"contact": CUSTOMER}).json()["interactions"] == []
        assert admin.get("/api/interactions/p1").status_code == 404
        assert (
            admin.get("/api/interactions/other").json()["notes"] == "lives at Dorpsstraat 1"
        )  # others untouched
        actions = [e["action"] for e in admin.get("/api/audit").json()["items"]]
        assert "gdpr.erase" in actions and "gdpr.export" in actions
        sql = server.services.store.sql

    with sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://")).connect() as conn:
        text = " ".join(str(p) for (p,) in conn.execute(sa.select(events.c.payload)))
        assert CUSTOMER not in text and "NL00" not in text
        assert text.count("Dorpsstraat") == 1  # only the other customer's note is left
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(timeline).where(timeline.c.interaction == "p1")
            ).scalar()
            == 0
        )
    # The blanked log still replays into an engine (restart works).
    with EventStore(db_url) as store:
        engine = store.recover(EngineConfig(accounts=(), queues=(), timezone="Europe/Amsterdam"))
        assert "acme-nl" in engine.queues and engine.agents["a1"].contacts_today == 3
    del sql


def test_erasure_refused_while_the_customer_is_still_in_contact(db_url: str) -> None:
    with serve(db_url) as server, server.client("admin") as admin:
        admin.post("/api/interactions", json={"queue": "acme-nl", "contact": CUSTOMER, "id": "waiting"})
        r = admin.post("/api/gdpr/erase", json={"contact": CUSTOMER})
        assert r.status_code == 409 and r.json()["error"]["code"] == "gdpr.open_interactions"


def test_retention_purges_old_interactions_of_that_account_only(db_url: str) -> None:
    with (
        serve(db_url) as server,
        server.client("admin") as admin,
        server.client("anna") as anna,
        server.client("grace") as grace,
    ):
        anna.post("/api/desktop/login", json={"ready": True})
        grace.post("/api/desktop/login", json={"ready": True})
        admin.post("/api/interactions", json={"queue": "acme-nl", "contact": CUSTOMER, "id": "old-acme"})
        _handle(anna, "old-acme")
        admin.post(
            "/api/interactions", json={"queue": "globex-en", "contact": "+442000000001", "id": "old-globex"}
        )
        base = "/api/desktop/interactions/old-globex"
        grace.post(base + "/accept")
        grace.post(base + "/end")
        grace.post(base + "/wrap-up", json={"disposition": "info"})
        r = admin.put("/api/accounts/acme", json={"id": "acme", "name": "ACME", "retention_days": 30})
        assert r.status_code == 200 and r.json()["retention_days"] == 30
        sql = server.services.store.sql
        with sql.begin() as conn:  # make both interactions 40 days old
            conn.execute(
                interactions.update().values(
                    arrived=interactions.c.arrived - 40 * 86400, ended=interactions.c.ended - 40 * 86400
                )
            )
        with sql.begin() as conn:
            import time

            assert purge_expired(conn, time.time()) == {"acme": 1}
        assert admin.get("/api/interactions/old-acme").status_code == 404
        assert admin.get("/api/interactions/old-globex").status_code == 200  # globex keeps data forever
