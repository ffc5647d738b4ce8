"""Configuration documents of the API → the engine's configuration values.

A queue is described in the API exactly as in a scenario file (`docs/simulator.md`: requirement
expression, service level, opening hours with holidays, wrap-up, escalation, …), so the scenario's
validation is reused as it is: the queue is checked inside a one-off scenario that holds the
center's current accounts, dispositions and queues (which escalation and overflow may name), and a
problem comes back as ``where: problem``, as for a file.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from centrale.core.config import AgentConfig, EscalationAction, QueueConfig, WrapUpMode
from centrale.core.engine import Engine
from centrale.core.errors import ConfigError
from centrale.core.expressions import parse
from centrale.sim.scenario import ScenarioError, check_capacity, scenario_from_dict

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ConfigProblem(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


class AccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID)
    name: str = Field("", max_length=200)
    retention_days: int | None = Field(None, ge=1, le=3650, description="purge interactions older than this")
    weekly_sales_target: int | None = Field(None, ge=1, le=10000, description="sales per agent per ISO week")


class DispositionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=_ID)
    label: str = Field("", max_length=200)
    category: str = Field("other", pattern=r"^[a-z_]{1,40}$")
    account: str | None = None


class AgentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID)
    account: str = Field(pattern=_ID)
    name: str = Field("", max_length=200)
    team: str = Field("", max_length=100)
    site: str = Field("", max_length=100)
    skills: dict[str, int] = Field(default_factory=dict)
    capacity: dict[str, int] = Field(default_factory=lambda: {"voice": 1})

    @field_validator("skills")
    @classmethod
    def _levels(cls, v: dict[str, int]) -> dict[str, int]:
        for skill, level in v.items():
            if not 0 <= level <= 10:
                raise ValueError(f"proficiency of {skill!r} must be 0–10, got {level}")
        return v

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, v: dict[str, int]) -> dict[str, int]:
        return check_capacity(v)

    def config(self) -> AgentConfig:
        return AgentConfig(
            self.id, self.account, dict(self.skills), dict(self.capacity), self.team, self.site, self.name
        )


def _queue_stub(q: QueueConfig) -> dict[str, Any]:
    return {"id": q.id, "account": q.account, "channel": q.channel, "requires": q.requires.text}


def queue_config(body: dict[str, Any], engine: Engine, timezone: str, now: float) -> QueueConfig:
    """Validate a queue document against the running center; raise :class:`ConfigProblem`."""
    if not isinstance(body, dict):
        raise ConfigProblem("", "a queue must be a JSON object")
    skills: set[str] = set()
    for agent in engine.agents.values():
        skills.update(agent.skills)
    texts = [body.get("requires") or "true"] + [
        s.get("requires") for s in body.get("escalation") or [] if isinstance(s, dict) and s.get("requires")
    ]
    for text in texts:
        if isinstance(text, str):
            with contextlib.suppress(ConfigError):  # reported with its place by the scenario check below
                skills.update(parse(text).skills)
    qid = body.get("id")
    others = [_queue_stub(rt.config) for q, rt in engine.queues.items() if q != qid]
    data = {
        "timezone": timezone,
        "skills": sorted(skills),
        "start": datetime.fromtimestamp(now, ZoneInfo(timezone))
        .replace(tzinfo=None)
        .isoformat(timespec="minutes"),
        "accounts": [{"id": a.id, "name": a.name} for a in engine.accounts.values()] or [{"id": "none"}],
        "dispositions": [
            {"code": d.code, "label": d.label, "category": d.category, "account": d.account}
            for d in engine.dispositions.values()
        ],
        "queues": [*others, body],
        "agents": [],
        "arrivals": [],
    }
    try:
        scenario = scenario_from_dict(data, source="queue")
    except ScenarioError as exc:
        where = exc.where.replace(f"queues[{len(others)}]", "queue")
        raise ConfigProblem(where, exc.problem) from None
    return next(q for q in scenario.engine.queues if q.id == qid)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def queue_document(q: QueueConfig) -> dict[str, Any]:
    """A queue as the API shows it — the same shape it accepts, so a GET can be edited and PUT back."""
    doc: dict[str, Any] = {
        "id": q.id,
        "name": q.name,
        "account": q.account,
        "channel": q.channel,
        "direction": q.direction,
        "requires": q.requires.text,
        "priority": q.priority,
        "service_level": {"target": q.sl_target, "threshold": q.sl_threshold},
        "short_abandon": q.short_abandon,
        "max_length": q.max_length,
        "max_wait": q.max_wait,
        "require_disposition": q.require_disposition,
        "dispositions": sorted(q.dispositions) if q.dispositions is not None else None,
        "agent_selection": q.agent_selection.value,
        "offer_timeout": q.offer_timeout,
        "overflow_to": q.overflow_to,
    }
    w = q.wrap_up
    if w.mode is WrapUpMode.NONE:
        doc["wrap_up"] = {"mode": "none"}
    elif w.mode is WrapUpMode.FIXED:
        doc["wrap_up"] = {"mode": "fixed", "duration": w.seconds}
    else:
        doc["wrap_up"] = {"mode": "agent", "max": w.seconds or None}
    if not q.hours.always_open:
        doc["hours"] = {
            "timezone": q.hours.timezone,
            "weekly": {
                _DAYS[d]: [f"{a.strftime('%H:%M')}-{b.strftime('%H:%M')}" for a, b in spans]
                for d, spans in sorted(q.hours.weekly.items())
            },
            "closed": sorted(d.isoformat() for d in q.hours.closed_dates),
        }
    steps = []
    for st in q.escalation:
        step: dict[str, Any] = {"after": st.after}
        if st.action is EscalationAction.REQUIRE and st.requires is not None:
            step["requires"] = st.requires.text
        elif st.action is EscalationAction.ADD_QUEUE:
            step["add_queue"] = st.queue
        elif st.action is EscalationAction.PRIORITY:
            step["priority"] = st.priority
        elif st.action is EscalationAction.CALLBACK:
            step["callback"] = True
        else:
            step["voicemail"] = True
        steps.append(step)
    doc["escalation"] = steps
    return {k: v for k, v in doc.items() if v is not None}
