"""Webhooks end to end: subscribe over the API, events of the account reach a real HTTP receiver,
signed, and the deliveries are listed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from centrale.server.webhooks import verify_signature
from server.live import serve


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", got
    finally:
        httpd.shutdown()


def test_signed_deliveries_for_the_subscribed_account(
    db_url: str, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, got = receiver
    with serve(db_url) as server, server.client("admin") as admin:
        r = admin.post(
            "/api/webhooks", json={"url": url, "events": ["interaction.queued"], "account": "acme"}
        )
        assert r.status_code == 201, r.text
        hook = r.json()
        secret = hook["secret"]
        assert "secret" not in admin.get(f"/api/webhooks/{hook['id']}").json()
        assert admin.post("/api/webhooks", json={"url": "ftp://x", "events": ["*"]}).status_code == 422

        admin.post(
            "/api/interactions", json={"queue": "globex-en", "id": "g-call", "contact": "+442000000009"}
        )
        admin.post("/api/interactions", json={"queue": "acme-nl", "id": "a-call", "contact": "+31200000009"})
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(got) == 1, got
        request = got[0]
        payload = json.loads(request["body"])
        assert payload["kind"] == "interaction.queued" and payload["account"] == "acme"
        assert payload["data"]["interaction"] == "a-call"
        headers = request["headers"]
        assert verify_signature(
            secret,
            headers["x-centrale-timestamp"],
            request["body"],
            headers["x-centrale-signature"],
            now=time.time(),
        )
        assert not verify_signature(
            "whsec_wrong",
            headers["x-centrale-timestamp"],
            request["body"],
            headers["x-centrale-signature"],
            now=time.time(),
        )
        deliveries = admin.get(f"/api/webhooks/{hook['id']}/deliveries").json()
        assert [d["status"] for d in deliveries] == ["delivered"]
        # Supervisors and viewers do not manage webhooks.
        with server.client("sup") as sup:
            assert sup.get("/api/webhooks").status_code == 403
