"""Tenant isolation, endpoint by endpoint: users scoped to account `acme` never see or change
anything of account `globex`.

Every operation of the OpenAPI description is exercised — a new endpoint without an entry in
`PARAMS` fails this test until someone decides what "globex's" value for its parameters is.
For reads, a 200 answer may not contain any globex identifier; for changes, nothing may succeed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.live import LiveServer, login, serve

# A globex value for every path parameter of the API.
PARAMS = {
    "interaction": "x-globex",
    "queue": "globex-en",
    "agent": "g1",
    "account": "globex",
    "code": "globex-only",
    "username": "grace",
    "campaign": "globex-campaign",
    "name": "globex-list",
    "webhook": "globex-hook",
    "number": "+442071234567",
    "callback": "x-globex:callback",
    "delivery": "1",
}
# Identifiers that belong to globex; none may appear in what acme's users get.
FORBIDDEN = {
    "x-globex",
    "globex-en",
    "g1",
    "g2",
    "globex",
    "globex-only",
    "+442000000001",
    "grace",
    "Globex EN",
}
SKIP = {"/api/login", "/api/logout", "/api/me", "/api/tokens", "/api/health"}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/agents/{agent}/state"): {"state": "not_ready", "reason": "break"},
    ("put", "/api/agents/{agent}/skills"): {"skills": {"globex": 1}},
    ("post", "/api/interactions"): {"queue": "globex-en", "contact": "+442000000002"},
    ("put", "/api/queues/{queue}"): {"id": "globex-en", "account": "globex", "requires": "true"},
    ("post", "/api/queues"): {"id": "q-new", "account": "globex", "requires": "true"},
    ("post", "/api/gdpr/erase"): {"contact": "+442000000001"},
}


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("isolation") / "centrale.db"
    with serve(f"sqlite:///{db}") as s:
        with s.client("admin") as admin:
            admin.post(
                "/api/dispositions",
                json={"code": "globex-only", "label": "G", "category": "sale", "account": "globex"},
            )
            admin.post(
                "/api/interactions", json={"queue": "acme-nl", "contact": "+31200000001", "id": "x-acme"}
            )
            r = admin.post(
                "/api/interactions", json={"queue": "globex-en", "contact": "+442000000001", "id": "x-globex"}
            )
            assert r.status_code == 201
        yield s


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    elif isinstance(value, str):
        yield value


def _operations(url: str) -> list[tuple[str, str]]:
    spec = httpx.get(url + "/openapi.json").json()
    ops = []
    for path, methods in spec["paths"].items():
        if path in SKIP or path.endswith("/events"):
            continue
        for method in methods:
            ops.append((method, path))
    return ops


@pytest.mark.parametrize("user", ["acmeview", "acmesup"])
def test_acme_users_never_reach_globex(api_server: LiveServer, user: str, tmp_path: Path) -> None:
    ops = _operations(api_server.url)
    assert len(ops) >= 30
    with httpx.Client(base_url=api_server.url, timeout=10) as c:
        login(c, user)
        problems = []
        for method, path in ops:
            url = path
            for name in [p[1:-1] for p in path.split("/") if p.startswith("{")]:
                assert name in PARAMS, f"{method.upper()} {path}: add a globex value for {{{name}}} to PARAMS"
                url = url.replace("{" + name + "}", PARAMS[name])
            if method == "get":
                r = c.get(url, params={"account": "globex"} if "{" not in path else None)
                r2 = c.get(url) if "{" not in path else r
                for resp in (r, r2):
                    if resp.status_code >= 500:
                        problems.append(f"GET {url}: {resp.status_code}")
                    elif resp.status_code == 200 and resp.headers.get("content-type", "").startswith(
                        "application/json"
                    ):
                        leaked = FORBIDDEN & set(_walk(resp.json()))
                        if leaked:
                            problems.append(f"GET {resp.request.url}: shows globex data {sorted(leaked)}")
                    elif (
                        resp.status_code == 200
                        and "text/csv" in resp.headers.get("content-type", "")
                        and any(f in resp.text for f in ("x-globex", "globex-en"))
                    ):
                        problems.append(f"GET {resp.request.url}: CSV shows globex data")
            else:
                body = BODIES.get((method, path), {})
                r = c.request(method.upper(), url, json=body)
                if r.status_code < 300 or r.status_code >= 500:
                    problems.append(f"{method.upper()} {url}: {r.status_code} {r.text[:200]}")
        assert not problems, "\n".join(problems)
    # And globex's data is still all there and unchanged.
    with api_server.client("admin") as admin:
        assert admin.get("/api/interactions/x-globex").json()["contact"] == "+442000000001"
        assert admin.get("/api/queues/globex-en").status_code == 200
        agents = {a["id"]: a for a in admin.get("/api/agents").json()}
        assert agents["g1"]["skills"] == {"globex": 5} and agents["g1"]["state"] == "logged_out"
