"""Reports: figures per interval (queues) and per agent, and target progress; JSON or CSV.

Interval figures come from the engine's streamed statistics (docs/metrics.md defines each); agent
figures and targets from the interactions read model.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from centrale.core.stats import queue_figures
from centrale.server.deps import client_ip, need, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal
from centrale.storage.schema import interactions

router = APIRouter(prefix="/api/reports", tags=["reports"])


def _day(request: Request, day: date | None) -> tuple[float, float, ZoneInfo]:
    zone = ZoneInfo(services(request).settings.timezone)
    if day is None:
        day = datetime.fromtimestamp(services(request).writer.now(), zone).date()
    start = datetime.combine(day, datetime.min.time(), zone).timestamp()
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).timestamp()
    return start, end, zone


def _queues(request: Request, who: Principal, queue: str | None) -> list[str]:
    engine = services(request).engine
    ids = [q for q, rt in engine.queues.items() if who.sees_account(rt.config.account)]
    if queue is not None:
        if queue not in ids:
            raise ApiError(404, "queue.unknown", f"no queue {queue!r}")
        ids = [queue]
    return sorted(ids)


def _csv(rows: list[dict[str, Any]], name: str) -> Response:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/intervals")
async def intervals(
    request: Request,
    day: date | None = Query(None, description="the local date (default: today)"),
    queue: str | None = None,
    format: str = Query("json", pattern="^(json|csv)$"),
    who: Principal = Depends(need(Permission.REPORTS_READ)),
) -> Any:
    """Per interval of the day: offered, answered, abandoned, service level, ASA, AHT, per queue and total."""
    svc = services(request)
    if format == "csv" and not who.can(Permission.EXPORT):
        raise ApiError(403, "auth.forbidden", "exporting needs the export permission")
    start, end, zone = _day(request, day)
    stats = svc.engine.stats
    queues = _queues(request, who, queue)
    rows: list[dict[str, Any]] = []
    for idx in range(stats.index(start), stats.index(end - 1) + 1):
        lo = stats.interval_start(idx)
        for q in queues:
            b = stats.queue_sum([q], lo, lo + stats.interval)
            if b[0] == 0 and not any(b):
                continue
            f = queue_figures(b, svc.engine.queues[q].config.sl_threshold)
            rows.append(
                {
                    "interval": datetime.fromtimestamp(lo, zone).isoformat(timespec="minutes"),
                    "queue": q,
                    **{
                        k: f[k]
                        for k in (
                            "offered",
                            "answered",
                            "abandoned",
                            "service_level",
                            "abandon_rate",
                            "asa_seconds",
                            "aht_seconds",
                            "max_wait_seconds",
                            "rona",
                        )
                    },
                }
            )
    total = queue_figures(stats.queue_sum(queues, start, end))
    if format == "csv":
        svc.audit.record(
            who.username, "export.intervals", detail={"day": str(day), "queue": queue}, ip=client_ip(request)
        )
        return _csv(rows, "intervals")
    return {"day": datetime.fromtimestamp(start, zone).date().isoformat(), "intervals": rows, "total": total}


@router.get("/agents")
async def agents(
    request: Request,
    day: date | None = Query(None, description="the local date (default: today)"),
    format: str = Query("json", pattern="^(json|csv)$"),
    who: Principal = Depends(need(Permission.REPORTS_READ)),
) -> Any:
    """Per agent for the day: handled interactions, average talk-to-end time, dispositions by category."""
    svc = services(request)
    if format == "csv" and not who.can(Permission.EXPORT):
        raise ApiError(403, "auth.forbidden", "exporting needs the export permission")
    start, end, _ = _day(request, day)
    where = [
        interactions.c.arrived >= start,
        interactions.c.arrived < end,
        interactions.c.agent.is_not(None),
        interactions.c.answered.is_not(None),
    ]
    scope = who.account_filter()
    if scope is not None:
        where.append(interactions.c.account.in_(sorted(scope)))
    categories = {d.code: d.category for d in svc.engine.dispositions.values()}
    per: dict[str, dict[str, Any]] = {}
    with svc.store.sql.connect() as conn:
        for agent, answered, ended, disposition in conn.execute(
            sa.select(
                interactions.c.agent,
                interactions.c.answered,
                interactions.c.ended,
                interactions.c.disposition,
            ).where(*where)
        ):
            row = per.setdefault(agent, {"agent": agent, "handled": 0, "seconds": 0.0, "sales": 0})
            row["handled"] += 1
            if ended is not None:
                row["seconds"] += max(0.0, ended - answered)
            if disposition is not None and categories.get(disposition) == "sale":
                row["sales"] += 1
    rows = []
    for agent, row in sorted(per.items()):
        a = svc.engine.agents.get(agent)
        rows.append(
            {
                "agent": agent,
                "name": a.name if a else agent,
                "handled": row["handled"],
                "average_seconds": round(row["seconds"] / row["handled"], 1) if row["handled"] else None,
                "sales": row["sales"],
            }
        )
    if format == "csv":
        svc.audit.record(who.username, "export.agents", detail={"day": str(day)}, ip=client_ip(request))
        return _csv(rows, "agents")
    return {"agents": rows}


def week_sales(request: Request, agent: str) -> int:
    """Sales (dispositions of category 'sale') an agent registered this ISO week, center time."""
    svc = services(request)
    zone = ZoneInfo(svc.settings.timezone)
    today = datetime.fromtimestamp(svc.writer.now(), zone).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, datetime.min.time(), zone).timestamp()
    codes = [d.code for d in svc.engine.dispositions.values() if d.category == "sale"]
    if not codes:
        return 0
    with svc.store.sql.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(interactions)
                .where(
                    interactions.c.agent == agent,
                    interactions.c.arrived >= start,
                    interactions.c.disposition.in_(codes),
                )
            ).scalar_one()
        )


@router.get("/targets")
async def targets(
    request: Request, who: Principal = Depends(need(Permission.REPORTS_READ))
) -> dict[str, Any]:
    """Each agent's sales this ISO week against the weekly target of the agent's account."""
    from centrale.storage.schema import accounts

    svc = services(request)
    with svc.store.sql.connect() as conn:
        goals = {
            a: (s or {}).get("weekly_sales_target")
            for a, s in conn.execute(sa.select(accounts.c.id, accounts.c.settings))
        }
    rows = []
    for agent in sorted(svc.engine.agents.values(), key=lambda a: a.id):
        if not who.sees_account(agent.account):
            continue
        goal = goals.get(agent.account)
        done = week_sales(request, agent.id)
        rows.append(
            {
                "agent": agent.id,
                "name": agent.name or agent.id,
                "account": agent.account,
                "sales_this_week": done,
                "weekly_target": goal,
                "reached": None if not goal else done >= goal,
            }
        )
    return {"agents": rows}
