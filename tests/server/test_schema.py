"""The OpenAPI description against the running server: schemathesis generates requests for every
operation (as an administrator, so that they reach the handlers) and no answer may be a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from server.live import LiveServer, login, serve


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("schema") / "centrale.db"
    with serve(f"sqlite:///{db}") as s:
        yield s


@pytest.fixture(scope="module")
def admin_token(api_server: LiveServer) -> str:
    with httpx.Client(base_url=api_server.url) as c:
        me = login(c, "admin")
        r = c.post("/api/tokens", json={"name": "schemathesis"}, headers={"X-CSRF-Token": me["csrf"]})
        assert r.status_code == 201
        token: str = r.json()["token"]
        return token


def test_no_server_errors(api_server: LiveServer, admin_token: str) -> None:
    schema = schemathesis.openapi.from_url(api_server.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {admin_token}"}
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events"):
            continue  # server-sent event streams never end; test_app.py covers them

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call(base_url=api_server.url, headers=headers, timeout=10)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
            )

        check()
        tested += 1
    assert tested >= 30, f"only {tested} operations found in the OpenAPI description"


def test_openapi_is_served(api_server: LiveServer, tmp_path: Path) -> None:
    with httpx.Client(base_url=api_server.url) as c:
        spec = c.get("/openapi.json").json()
        assert spec["info"]["title"] == "centrale"
        assert "/api/interactions/{interaction}" in spec["paths"]
        assert c.get("/docs").status_code == 200
