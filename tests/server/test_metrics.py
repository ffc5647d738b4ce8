"""GET /metrics against a real server (uvicorn, SQLite): the bearer token, and figures that follow
the engine — agents per state, the line, finished interactions, the stored log — parsed with
prometheus_client's own parser."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from centrale.core.events import CustomerAbandoned
from server.live import LiveServer, free_port, serve
from server.test_crash import CLI, server_process

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with serve(f"sqlite:///{tmp_path / 'centrale.db'}", settings={"metrics_token": TOKEN}) as s:
        yield s


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples_of(text: str) -> Samples:
    """Prometheus text → {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def collected(server: LiveServer) -> Samples:
    """The metrics of `server` collected in-process, on its loop (as GET /metrics collects them)."""
    from prometheus_client import generate_latest

    from centrale.server.metrics import registry_for

    return samples_of(server.call(lambda: generate_latest(registry_for(server.services)).decode()))


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def _scrape(server: LiveServer) -> Samples:
    r = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")  # the text exposition format
    return samples_of(r.text)


def test_metrics_need_the_bearer_token(server: LiveServer) -> None:
    url = f"{server.url}/metrics"
    assert httpx.get(url).status_code == 401
    r = httpx.get(url, headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "metrics.token"
    assert httpx.get(url, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    with server.client("anna") as anna:  # a session is not a token
        assert anna.get("/metrics").status_code == 401


def test_metrics_are_off_without_a_token(tmp_path: Path) -> None:
    with serve(f"sqlite:///{tmp_path / 'off.db'}") as off:
        r = httpx.get(f"{off.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "metrics.off"


def test_metrics_follow_the_engine(server: LiveServer) -> None:
    before = _scrape(server)
    assert value(before, "centrale_agents", state="logged_out") == 4
    assert value(before, "centrale_queue_waiting", queue="acme-nl") == 0
    assert value(before, "centrale_writer_running") == 1
    with server.client("admin") as admin, server.client("anna") as anna:
        for i in range(2):
            r = admin.post(
                "/api/interactions", json={"queue": "acme-nl", "contact": "+3120123456", "id": f"m{i}"}
            )
            assert r.status_code == 201, r.text
        time.sleep(1.1)  # the first caller has waited a second
        waiting = _scrape(server)
        assert value(waiting, "centrale_queue_waiting", queue="acme-nl") == 2
        assert value(waiting, "centrale_queue_waiting", queue="globex-en") == 0
        assert 1.0 <= value(waiting, "centrale_queue_oldest_wait_seconds", queue="acme-nl") < 30
        assert value(waiting, "centrale_events_stored_total") > value(before, "centrale_events_stored_total")

        assert anna.post("/api/desktop/login", json={"ready": True}).status_code == 200
        busy = _scrape(server)
        assert value(busy, "centrale_queue_waiting", queue="acme-nl") == 1
        assert value(busy, "centrale_agents", state="logged_out") == 3
        assert value(busy, "centrale_agents", state="reserved") == 1  # offered the first caller
    server.call(lambda: server.services.writer.submit(CustomerAbandoned("m1")))  # the second hangs up
    finished = _scrape(server)
    assert value(finished, "centrale_queue_waiting", queue="acme-nl") == 0
    assert value(finished, "centrale_interactions_finished_total", outcome="abandoned") == 1


def test_serve_reads_the_token_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "metrics-token"
    token_file.write_text(f"{TOKEN}\n", encoding="utf-8")
    port = free_port()
    database = str(tmp_path / "served.db")
    with server_process(database, port, tmp_path / "serve.log", "--metrics-token-file", str(token_file)):
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url, timeout=5).status_code == 401
        r = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert r.status_code == 200 and value(samples_of(r.text), "centrale_writer_running") == 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read"), ("too-short", "at least 16 characters"), ("two words here ok", "one word")],
)
def test_serve_refuses_a_bad_token_file(tmp_path: Path, content: str | None, problem: str) -> None:
    token_file = tmp_path / "metrics-token"
    if content is not None:
        token_file.write_text(content, encoding="utf-8")
    database = tmp_path / "never.db"
    done = subprocess.run(
        [*CLI, "serve", "--database", str(database), "--metrics-token-file", str(token_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: --metrics-token-file: ") and str(token_file) in line and problem in line
    assert "Traceback" not in done.stderr and not database.exists()  # refused before anything was made
