"""The example scenarios load, run in a few seconds and give sensible figures."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sim_helpers import EXAMPLES, invoke

from centrale.core.config import EscalationAction
from centrale.sim.scenario import load_scenario

EXAMPLE_FILES = ("inhouse.yaml", "outsourcing.yaml")


@pytest.fixture(scope="module", params=EXAMPLE_FILES)
def example_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    name: str = request.param
    out = tmp_path_factory.mktemp("examples") / f"{name}.json"
    started = time.perf_counter()
    result = invoke(EXAMPLES / name, "--json", out)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return {"name": name, "data": data, "stdout": result.stdout, "elapsed": elapsed}


def test_example_runs_quickly(example_run: dict[str, Any]) -> None:
    assert example_run["elapsed"] < 20  # "a few seconds"; generous for loaded CI machines


def test_example_totals_are_sensible(example_run: dict[str, Any]) -> None:
    data = example_run["data"]
    t = data["totals"]
    scenario = load_scenario(EXAMPLES / example_run["name"])
    expected = scenario.expected_arrivals()
    # Offered includes callback legs; it stays close to the expected Poisson volume.
    assert 0.85 * expected < t["offered"] < 1.15 * expected
    assert t["answered"] + t["abandoned"] <= t["offered"]
    assert t["answered"] >= 0.85 * t["offered"]  # the examples are staffed for their load
    assert 0.6 < t["service_level"] < 1.0
    assert 0.4 < t["occupancy"] < 0.95
    assert 60 < t["aht_seconds"] < 900
    for qid, q in data["queues"].items():
        assert q["offered"] > 50, qid
        assert 0 < q["service_level"] <= 1, qid
    for acc, figures in data["accounts"].items():
        assert figures["handled_seconds"] > 0, acc
    assert {"queue", "total", "accounts", "teams"} <= set(example_run["stdout"].split())


def test_inhouse_has_the_described_features() -> None:
    sc = load_scenario(EXAMPLES / "inhouse.yaml")
    queues = {q.id: q for q in sc.engine.queues}
    assert len(sc.engine.accounts) == 1
    assert {"sales", "service", "chat", "email"} == set(queues)
    assert queues["chat"].channel == "chat"
    assert any(a.config.capacity.get("chat") == 3 for a in sc.agents)
    email = queues["email"]
    assert (email.channel, email.sl_target, email.sl_threshold) == ("email", 0.9, 4 * 3600)
    assert email.max_wait is not None
    # Closed on Dutch public holidays: King's Day 2026 is among the closed dates.
    from datetime import date

    assert date(2026, 4, 27) in queues["sales"].hours.closed_dates
    actions = [s.action for s in queues["sales"].escalation]
    assert actions == [EscalationAction.REQUIRE, EscalationAction.CALLBACK]
    assert [s.after for s in queues["sales"].escalation] == [30, 180]
    assert queues["sales"].require_disposition and sc.queues["sales"].disposition_mix
    assert {d.category for d in sc.engine.dispositions} >= {"sale", "no_sale", "callback"}
    assert len({a.config.team for a in sc.agents}) >= 3
    assert all(a.shifts[0].breaks for a in sc.agents)  # everyone has breaks or a lunch


def test_outsourcing_has_the_described_features() -> None:
    sc = load_scenario(EXAMPLES / "outsourcing.yaml")
    queues = {q.id: q for q in sc.engine.queues}
    assert len(sc.engine.accounts) == 3
    assert len({q.account for q in queues.values()}) == 3
    assert "skill[task.language]" in queues["telfort-support"].requires.text
    assert {a.config.site for a in sc.agents} == {"rotterdam", "lisbon"}
    # Some agents qualify for queues of several accounts.
    shared = [
        a
        for a in sc.agents
        if len({q.account for q in queues.values() if q.requires.matches(a.config, {"language": "nl"})}) > 1
    ]
    assert shared
    assert any(s.action is EscalationAction.ADD_QUEUE for q in queues.values() for s in q.escalation)
    assert all(d.account is not None for d in sc.engine.dispositions)  # per-account codes


def test_erlang_a_example_still_loads() -> None:
    sc = load_scenario(EXAMPLES / "erlang-a.yaml")
    assert len(sc.agents) == 100 and sc.expected_arrivals() == pytest.approx(1900 * 105)
