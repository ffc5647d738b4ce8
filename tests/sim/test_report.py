"""The HTML report: one self-contained file with the KPI table and embedded PNG plots."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from sim_helpers import SMALL, invoke

from centrale.sim.report import kpis, render_html
from centrale.sim.runner import run_replications, run_scenario
from centrale.sim.scenario import load_scenario

DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


def _without_images(html: str) -> str:
    return DATA_URI.sub("data:image/png;base64,…", html)


def test_report_via_the_command(tmp_path: Path) -> None:
    # A name with markup in it must come out escaped.
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        SMALL.replace("name: small test center", 'name: "<b>R&D</b> center"'), encoding="utf-8"
    )
    out = tmp_path / "report.html"
    result = invoke(scenario, "--report", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert '<img src="data:image/png;base64,' in html
    images = DATA_URI.findall(html)
    assert len(images) == 3  # per queue; volume and service level per interval; agent states
    for data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    # Self-contained: no links, scripts or style sheets from elsewhere.
    text = _without_images(html)
    assert "http" not in text and "://" not in html
    assert "<script" not in text and "<link" not in text
    # The scenario summary and the KPI table.
    assert "&lt;b&gt;R&amp;D&lt;/b&gt; center" in text and "<b>R&D</b>" not in text
    assert "two queues and two teams for the tests" in text  # the description
    for label in ("offered", "answered", "service level", "ASA", "AHT", "max wait", "total"):
        assert label in text
    assert "blue" in text and "green" in text


def test_report_with_replications_shows_intervals(small: Path, tmp_path: Path) -> None:
    sc = load_scenario(small)
    summary = run_replications(sc, 3)
    html = render_html(sc, summary.runs)
    text = _without_images(html)
    assert "3 replications" in text and "±" in text
    assert len(DATA_URI.findall(html)) == 3


def test_kpis_match_the_result(small: Path) -> None:
    sc = load_scenario(small)
    result = run_scenario(sc)
    k = kpis(sc, [result])
    assert k.runs == 1
    assert [r.id for r in k.queues] == ["sales", "service"]
    assert k.total.offered.mean == result.totals["offered"] and k.total.offered.half is None
    sales = k.queues[0]
    assert sales.service_level.mean == pytest.approx(result.queues["sales"]["service_level"])
    assert (sales.sl_target, sales.sl_threshold) == (0.8, 20)
    assert sales.target_met == (result.queues["sales"]["service_level"] >= 0.8)
    assert k.total.sl_target is None  # the queues' targets differ
    assert {t.team for t in k.teams} == {"blue", "green"}
    for t in k.teams:
        assert sum(t.states.values()) == pytest.approx(1.0)


def test_kpis_over_replications_match_the_runner(small: Path) -> None:
    sc = load_scenario(small)
    summary = run_replications(sc, 3)
    k = kpis(sc, summary.runs)
    ci = summary.intervals95["service_level"]
    assert k.total.service_level.mean == pytest.approx(ci["mean"])
    assert k.total.service_level.half == pytest.approx(ci["half_width"])
    q = summary.queues95["sales"]["asa_seconds"]
    assert k.queues[0].asa.half == pytest.approx(q["half_width"])
