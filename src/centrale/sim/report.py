"""What a simulation run shows a person: the KPI figures, and a self-contained HTML report.

Theory of operation
-------------------
:func:`kpis` turns one run, or the runs of a replication, into rows of :class:`Estimate` values
(a mean and, over two or more runs, the half-width of its 95 % confidence interval). The terminal
tables (``centrale simulate``) and the HTML report both render these rows, so they always agree.
The means and intervals are computed with the runner's own :func:`~centrale.sim.runner.mean_ci`,
so they match the ``confidence_intervals`` in the JSON output.

:func:`render_html` writes one HTML file with everything inline: the CSS in a ``<style>`` element
and the plots as base64 PNG images drawn with matplotlib's Agg renderer (through ``Figure``
directly, never ``pyplot``, so no global state or display is touched). It can be mailed or
archived as is: no external URLs, scripts or style sheets.

Figures per interval (volumes, agent states) come from the first run: the runner keeps interval
detail only for that one.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from centrale.sim.runner import SimulationResult, mean_ci
from centrale.sim.scenario import Scenario
from centrale.units import format_duration

STATES = ("ready", "reserved", "busy", "wrap_up", "not_ready")


@dataclass(frozen=True)
class Estimate:
    """A figure over one or more runs: its mean and the 95 % CI half-width (None for one run)."""

    mean: float | None
    half: float | None = None

    @classmethod
    def over(cls, runs: Sequence[SimulationResult], get: Callable[[SimulationResult], Any]) -> Estimate:
        values = [get(r) for r in runs]
        ci = mean_ci([float(v) for v in values if isinstance(v, int | float)])
        return cls(ci["mean"], ci["half_width"])


@dataclass(frozen=True)
class QueueRow:
    """One line of the KPI table: a queue, or the total (``id`` is ``None``)."""

    id: str | None
    name: str
    channel: str
    offered: Estimate
    answered: Estimate
    abandoned: Estimate
    abandon_rate: Estimate
    service_level: Estimate
    sl_target: float | None
    sl_threshold: float | None
    asa: Estimate
    aht: Estimate
    max_wait: Estimate

    @property
    def target_met(self) -> bool | None:
        if self.sl_target is None or self.service_level.mean is None:
            return None
        return self.service_level.mean >= self.sl_target


@dataclass(frozen=True)
class AccountRow:
    id: str
    name: str
    offered: Estimate
    answered: Estimate
    handled_hours: Estimate
    share: float | None  # of all handled time, from the means


@dataclass(frozen=True)
class TeamRow:
    team: str
    staffed_hours: Estimate
    occupancy: Estimate
    states: dict[str, float]  # share of staffed time per state, from the means


@dataclass(frozen=True)
class Kpis:
    runs: int
    queues: list[QueueRow]
    total: QueueRow
    accounts: list[AccountRow]
    teams: list[TeamRow]
    total_occupancy: Estimate
    open_at_end: Estimate


def _queue_row(
    runs: Sequence[SimulationResult],
    figures: Callable[[SimulationResult], dict[str, Any]],
    *,
    qid: str | None,
    name: str,
    channel: str,
    target: float | None,
    threshold: float | None,
) -> QueueRow:
    def est(key: str) -> Estimate:
        return Estimate.over(runs, lambda r: figures(r).get(key))

    return QueueRow(
        id=qid,
        name=name,
        channel=channel,
        offered=est("offered"),
        answered=est("answered"),
        abandoned=est("abandoned"),
        abandon_rate=est("abandon_rate"),
        service_level=est("service_level"),
        sl_target=target,
        sl_threshold=threshold,
        asa=est("asa_seconds"),
        aht=est("aht_seconds"),
        max_wait=est("max_wait_seconds"),
    )


# Getters for one figure of a run; functools.partial keeps the loop variable bound (and typed).
def _queue_figures(queue: str, r: SimulationResult) -> dict[str, Any]:
    return r.queues[queue]


def _account_figure(account: str, key: str, scale: float, r: SimulationResult) -> float | None:
    v = r.accounts[account].get(key)
    return None if v is None else float(v) * scale


def _team_figure(team: str, key: str, scale: float, r: SimulationResult) -> float | None:
    v = r.teams[team].get(key) if team in r.teams else None
    return None if v is None else float(v) * scale


def _interval_queue(queue: str, row: dict[str, Any]) -> dict[str, Any]:
    return dict(row["queues"][queue])


def kpis(scenario: Scenario, runs: Sequence[SimulationResult]) -> Kpis:
    """The KPI rows of one run or of replications (means with 95 % CIs)."""
    if not runs:
        raise ValueError("kpis() needs at least one run")
    queue_rows = [
        _queue_row(
            runs,
            partial(_queue_figures, q.id),
            qid=q.id,
            name=q.name or q.id,
            channel=q.channel,
            target=q.sl_target,
            threshold=q.sl_threshold,
        )
        for q in scenario.engine.queues
    ]
    # The total has no single target when queues differ; show one only when they all agree.
    targets = {(q.sl_target, q.sl_threshold) for q in scenario.engine.queues}
    common = next(iter(targets)) if len(targets) == 1 else (None, None)
    total = _queue_row(
        runs,
        lambda r: r.totals,
        qid=None,
        name="total",
        channel="",
        target=common[0],
        threshold=common[1],
    )

    handled = {
        a.id: Estimate.over(runs, partial(_account_figure, a.id, "handled_seconds", 1 / 3600))
        for a in scenario.engine.accounts
    }
    all_handled = sum(e.mean or 0.0 for e in handled.values())
    accounts = [
        AccountRow(
            id=a.id,
            name=a.name or a.id,
            offered=Estimate.over(runs, partial(_account_figure, a.id, "offered", 1.0)),
            answered=Estimate.over(runs, partial(_account_figure, a.id, "answered", 1.0)),
            handled_hours=handled[a.id],
            share=(handled[a.id].mean or 0.0) / all_handled if all_handled > 0 else None,
        )
        for a in scenario.engine.accounts
    ]

    teams = []
    for team in sorted({t for r in runs for t in r.teams}):

        def seconds(state: str, team: str = team) -> float:
            vals = [r.teams[team][f"{state}_seconds"] for r in runs if team in r.teams]
            return sum(vals) / len(vals) if vals else 0.0

        staffed = sum(seconds(s) for s in STATES)
        teams.append(
            TeamRow(
                team=team,
                staffed_hours=Estimate.over(runs, partial(_team_figure, team, "staffed_seconds", 1 / 3600)),
                occupancy=Estimate.over(runs, partial(_team_figure, team, "occupancy", 1.0)),
                states={s: seconds(s) / staffed if staffed > 0 else 0.0 for s in STATES},
            )
        )
    return Kpis(
        runs=len(runs),
        queues=queue_rows,
        total=total,
        accounts=accounts,
        teams=teams,
        total_occupancy=Estimate.over(runs, lambda r: r.totals.get("occupancy")),
        open_at_end=Estimate.over(runs, lambda r: r.open_at_end),
    )


# --- formatting, shared with the terminal tables -------------------------------------------------
def fmt_count(e: Estimate) -> str:
    if e.mean is None:
        return "–"
    if e.half is None:
        return f"{e.mean:,.0f}" if float(e.mean).is_integer() else f"{e.mean:,.1f}"
    return f"{e.mean:,.1f} ± {e.half:,.1f}"


def fmt_pct(e: Estimate) -> str:
    if e.mean is None:
        return "–"
    if e.half is None:
        return f"{e.mean:.1%}"
    return f"{e.mean:.1%} ± {e.half * 100:.1f}"


def fmt_secs(e: Estimate) -> str:
    if e.mean is None:
        return "–"
    if e.half is None:
        return format_duration(e.mean)
    return f"{format_duration(e.mean)} ± {format_duration(e.half)}"


def fmt_target(row: QueueRow) -> str:
    if row.sl_target is None or row.sl_threshold is None:
        return "–"
    return f"{row.sl_target:.0%} in {format_duration(row.sl_threshold)}"


def fmt_hours(e: Estimate) -> str:
    if e.mean is None:
        return "–"
    if e.half is None:
        return f"{e.mean:,.1f} h"
    return f"{e.mean:,.1f} ± {e.half:,.1f} h"


def queue_cells(row: QueueRow) -> list[str]:
    """The KPI table's cells for one row, in the order of :data:`QUEUE_COLUMNS`."""
    return [
        row.name,
        fmt_count(row.offered),
        fmt_count(row.answered),
        f"{fmt_count(row.abandoned)} ({fmt_pct(Estimate(row.abandon_rate.mean))})",
        fmt_pct(row.service_level),
        fmt_target(row),
        fmt_secs(row.asa),
        fmt_secs(row.aht),
        fmt_secs(row.max_wait),
    ]


QUEUE_COLUMNS = (
    "queue",
    "offered",
    "answered",
    "abandoned (%)",
    "service level",
    "target",
    "ASA",
    "AHT",
    "max wait",
)


# --- plots ---------------------------------------------------------------------------------------
def _png(fig: Any) -> str:
    buf = io.BytesIO()
    # No "Software" metadata: it would carry the matplotlib URL into the file.
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _hours(rows: list[dict[str, Any]]) -> list[float]:
    """Interval starts as hours since midnight of the first day (local time).

    Plain numbers rather than datetimes: matplotlib's date locators are slow, and hours read well.
    """
    times = [datetime.fromisoformat(r["start"]) for r in rows]
    midnight = times[0].replace(hour=0, minute=0, second=0, microsecond=0)
    return [(t - midnight).total_seconds() / 3600.0 for t in times]


def _nan(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else math.nan


def _time_axis(ax: Any, hours: list[float]) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    span = (hours[-1] - hours[0]) if hours else 24.0
    step = next((s for s in (1, 2, 3, 6, 12, 24, 48, 168) if span / s <= 14), 336)
    ax.xaxis.set_major_locator(MultipleLocator(step))

    def label(x: float, _pos: int) -> str:
        day, rest = divmod(round(x * 60), 24 * 60)
        clock = f"{rest // 60:02d}:{rest % 60:02d}"
        return clock if span <= 24 and day == 0 else f"d{day + 1} {clock}"

    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.grid(True, alpha=0.3)


def plot_volumes(scenario: Scenario, result: SimulationResult) -> str | None:
    """Offered/answered/abandoned per interval with service level on a second axis, per queue."""
    from matplotlib.figure import Figure

    rows = result.intervals
    if not rows:
        return None
    times = _hours(rows)
    edges = [*times, times[-1] + result.interval_seconds / 3600]
    panels: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], float | None]] = [
        ("all queues", lambda row: row["all"], None)
    ]
    targets = {q.sl_target for q in scenario.engine.queues}
    if len(targets) == 1:
        panels[0] = ("all queues", lambda row: row["all"], next(iter(targets)))
    if len(scenario.engine.queues) > 1:
        for q in scenario.engine.queues:
            panels.append((q.name or q.id, partial(_interval_queue, q.id), q.sl_target))
    n = len(panels)
    fig = Figure(figsize=(11, 2.9 * n))
    axes = fig.subplots(n, 1, squeeze=False, sharex=True)[:, 0]
    for ax, (title, get, target) in zip(axes, panels, strict=True):
        figs = [get(r) for r in rows]
        answered = [f["answered"] for f in figs]
        abandoned = [f["abandoned"] for f in figs]
        # Filled stairs, one artist per series: far cheaper to draw than a bar per interval.
        ax.stairs(answered, edges, fill=True, color="#4c9f70", label="answered")
        stacked = [a + b for a, b in zip(answered, abandoned, strict=True)]
        ax.stairs(stacked, edges, baseline=answered, fill=True, color="#d1495b", label="abandoned")
        ax.stairs([f["offered"] for f in figs], edges, color="#333333", linewidth=1.2, label="offered")
        ax.set_ylabel("interactions")
        ax.set_title(title, loc="left", fontsize=10)
        _time_axis(ax, times)
        sl = ax.twinx()
        sl.plot(
            [t + result.interval_seconds / 7200 for t in times],  # at the interval's middle
            [_nan(f["service_level"]) * 100 for f in figs],
            color="#1f5fa8",
            marker="o",
            markersize=3,
            label="service level",
        )
        if target is not None:
            sl.axhline(target * 100, color="#1f5fa8", linestyle="--", linewidth=1, label="SL target")
        sl.set_ylim(0, 105)
        sl.set_ylabel("service level %")
        if ax is axes[0]:
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = sl.get_legend_handles_labels()
            # Above the plot, right of the title: inside it would hide the busiest intervals.
            ax.legend(
                h1 + h2,
                l1 + l2,
                loc="lower right",
                bbox_to_anchor=(1.0, 1.0),
                fontsize=8,
                ncol=5,
                frameon=False,
            )
    fig.tight_layout()
    return _png(fig)


def plot_agent_states(result: SimulationResult) -> str | None:
    """Average number of agents in each state per interval, stacked."""
    from matplotlib.figure import Figure

    rows = result.agent_states
    if not rows:
        return None
    times = _hours(rows)
    # A step-shaped stack: each interval's average holds over the whole interval.
    step = result.interval_seconds / 3600
    xs: list[float] = []
    for t in times:
        xs += [t, t + step]
    colours = {
        "ready": "#8fd19e",
        "reserved": "#f2c14e",
        "busy": "#2e86ab",
        "wrap_up": "#a23b72",
        "not_ready": "#bbbbbb",
    }
    fig = Figure(figsize=(11, 3.6))
    ax = fig.subplots()
    ys = [[v for r in rows for v in (r[s], r[s])] for s in STATES]
    ax.stackplot(xs, *ys, labels=[s.replace("_", "-") for s in STATES], colors=[colours[s] for s in STATES])
    ax.set_ylabel("agents (average)")
    ax.set_title("agent states over the day", loc="left", fontsize=10)
    _time_axis(ax, times)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncol=5, frameon=False)
    fig.tight_layout()
    return _png(fig)


def plot_queues(k: Kpis) -> str:
    """Service level (with target markers) and ASA per queue; CI error bars over replications."""
    from matplotlib.figure import Figure

    rows = k.queues
    names = [r.name for r in rows]
    xs = list(range(len(rows)))
    fig = Figure(figsize=(11, 3.8))
    ax_sl, ax_asa = fig.subplots(1, 2)

    def err(values: list[Estimate], scale: float = 1.0) -> list[float] | None:
        if k.runs < 2:
            return None
        return [(e.half or 0.0) * scale for e in values]

    sl = [_nan(r.service_level.mean) * 100 for r in rows]
    colours = ["#4c9f70" if r.target_met else "#d1495b" for r in rows]
    ax_sl.bar(xs, sl, color=colours, yerr=err([r.service_level for r in rows], 100), capsize=4)
    ax_sl.scatter(
        xs,
        [_nan(r.sl_target) * 100 for r in rows],
        marker="_",
        s=900,
        linewidths=2.5,
        color="#222222",
        label="target",
        zorder=3,
    )
    ax_sl.set_ylim(0, 105)
    ax_sl.set_ylabel("service level %")
    ax_sl.set_title("service level per queue (bar) vs target (line)", loc="left", fontsize=10)
    ax_sl.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)

    asa = [_nan(r.asa.mean) for r in rows]
    ax_asa.bar(xs, asa, color="#2e86ab", yerr=err([r.asa for r in rows]), capsize=4)
    ax_asa.set_ylabel("ASA (seconds)")
    ax_asa.set_title("average speed of answer per queue", loc="left", fontsize=10)
    finite = [v for v in asa if not math.isnan(v) and v > 0]
    # Queues can differ by orders of magnitude (voice in seconds, e-mail in hours).
    if finite and max(finite) / max(min(finite), 1e-9) > 100:
        ax_asa.set_yscale("log")
    for ax in (ax_sl, ax_asa):
        ax.set_xticks(xs, names, rotation=20, ha="right", fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


# --- HTML ----------------------------------------------------------------------------------------
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1150px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
tr.total td { font-weight: bold; border-top: 2px solid #999; }
td.met { color: #1e7b45; } td.missed { color: #b3261e; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1.2em; }
dt { color: #666; } dd { margin: 0; }
img { max-width: 100%; }
.note { color: #666; font-size: 0.9em; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(header: Sequence[str], rows: Sequence[tuple[Sequence[str], str]]) -> str:
    """An HTML table; each row is (cells, css class of the row)."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in header), "</tr></thead><tbody>"]
    for cells, cls in rows:
        out.append(f'<tr class="{cls}">' if cls else "<tr>")
        out.extend(cells)
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _kpi_table(k: Kpis) -> str:
    rows = []
    for row in [*k.queues, k.total]:
        cells = [f"<td>{_e(c)}</td>" for c in queue_cells(row)]
        met = row.target_met
        if met is not None:
            cells[4] = f'<td class="{"met" if met else "missed"}">{_e(queue_cells(row)[4])}</td>'
        rows.append((cells, "total" if row.id is None else ""))
    return _table(QUEUE_COLUMNS, rows)


def _account_table(k: Kpis) -> str:
    rows = [
        (
            [
                f"<td>{_e(a.name)}</td>",
                f"<td>{_e(fmt_count(a.offered))}</td>",
                f"<td>{_e(fmt_count(a.answered))}</td>",
                f"<td>{_e(fmt_hours(a.handled_hours))}</td>",
                f"<td>{'–' if a.share is None else f'{a.share:.1%}'}</td>",
            ],
            "",
        )
        for a in k.accounts
    ]
    return _table(("account", "offered", "answered", "handled time", "share"), rows)


def _team_table(k: Kpis) -> str:
    rows = [
        (
            [
                f"<td>{_e(t.team)}</td>",
                f"<td>{_e(fmt_hours(t.staffed_hours))}</td>",
                f"<td>{_e(fmt_pct(t.occupancy))}</td>",
                *(f"<td>{t.states[s]:.1%}</td>" for s in STATES),
            ],
            "",
        )
        for t in k.teams
    ]
    rows.append(
        (
            [
                "<td>all teams</td>",
                "<td></td>",
                f"<td>{_e(fmt_pct(k.total_occupancy))}</td>",
                *("<td></td>" for _ in STATES),
            ],
            "total",
        )
    )
    return _table(("team", "staffed", "occupancy", *(s.replace("_", "-") for s in STATES)), rows)


def render_html(scenario: Scenario, runs: Sequence[SimulationResult]) -> str:
    """The whole report as one self-contained HTML document."""
    k = kpis(scenario, runs)
    first = runs[0]
    seeds = ", ".join(str(r.seed) for r in runs)
    summary = [
        ("scenario file", scenario.source),
        ("period", f"{first.start} – {first.end} ({scenario.timezone})"),
        ("interval", format_duration(scenario.interval)),
        ("queues", ", ".join(q.name or q.id for q in scenario.engine.queues)),
        ("accounts", ", ".join(a.name or a.id for a in scenario.engine.accounts)),
        ("agents", f"{len(scenario.agents)} in {len(k.teams)} team(s)"),
        ("expected arrivals", f"{scenario.expected_arrivals():,.0f}"),
        ("runs", f"{len(runs)} (seed{'s' if len(runs) > 1 else ''} {seeds})"),
        ("still open after the drain", fmt_count(k.open_at_end)),
        ("simulated events", f"{sum(r.events for r in runs):,}"),
        ("wall time", f"{sum(r.wall_seconds for r in runs):.1f} s"),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(scenario.name)} — centrale simulation</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(scenario.name)}</h1>",
    ]
    if scenario.spec.description:
        parts.append(f'<p class="sub">{_e(scenario.spec.description)}</p>')
    parts.append("<h2>Scenario</h2><dl>")
    parts += [f"<dt>{_e(a)}</dt><dd>{_e(b)}</dd>" for a, b in summary]
    parts.append("</dl>")
    parts.append("<h2>Key figures</h2>")
    if k.runs > 1:
        parts.append(
            f'<p class="note">Means over {k.runs} replications, ± the half-width of the 95 % confidence '
            "interval (Student t).</p>"
        )
    parts.append(_kpi_table(k))
    parts.append(
        '<p class="note">Service level: answered within the threshold over offered (abandons count '
        "against it). ASA: average wait of answered interactions. AHT: talk + hold + wrap-up per handled "
        "interaction. Definitions in docs/metrics.md.</p>"
    )
    parts.append("<h2>Accounts</h2>" + _account_table(k))
    parts.append("<h2>Teams</h2>" + _team_table(k))
    parts.append(
        '<p class="note">Occupancy: (reserved + busy + wrap-up) over (ready + reserved + busy + wrap-up). '
        "State columns: share of staffed time.</p>"
    )

    parts.append("<h2>Service level and ASA per queue</h2>")
    parts.append(_img(plot_queues(k), "service level and ASA per queue"))
    note = " (replication 1)" if k.runs > 1 else ""
    volumes = plot_volumes(scenario, first)
    if volumes is not None:
        parts.append(f"<h2>Volume and service level per interval{_e(note)}</h2>")
        parts.append(_img(volumes, "volume and service level per interval"))
    states = plot_agent_states(first)
    if states is not None:
        parts.append(f"<h2>Agent states over the day{_e(note)}</h2>")
        parts.append(_img(states, "agent states per interval"))
    parts.append('<p class="note">Generated by centrale simulate.</p></body></html>')
    return "\n".join(parts) + "\n"


def _img(png_b64: str, alt: str) -> str:
    return f'<p><img src="data:image/png;base64,{png_b64}" alt="{_e(alt)}"></p>'


__all__ = [
    "QUEUE_COLUMNS",
    "STATES",
    "AccountRow",
    "Estimate",
    "Kpis",
    "QueueRow",
    "TeamRow",
    "fmt_count",
    "fmt_hours",
    "fmt_pct",
    "fmt_secs",
    "kpis",
    "queue_cells",
    "render_html",
]
