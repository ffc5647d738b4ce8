"""Shared by the campaign tests and the crash-test server: a center with an outbound queue, a
campaign document, contact lists and a fast simulated trunk."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from centrale.core.config import EngineConfig, QueueConfig, WrapUp, WrapUpMode
from centrale.core.expressions import parse
from centrale.server.trunk import SimulatedTrunk
from server.live import small_center

OUT_QUEUE = "acme-out"
CALLER_ID = "+442079460000"


def outbound_center() -> EngineConfig:
    """The small center plus ACME's outbound queue (agents answer with a disposition in wrap-up)."""
    base = small_center()
    queue = QueueConfig(
        OUT_QUEUE,
        "acme",
        "voice",
        parse("acme >= 1", known_skills=base.skills),
        name="ACME outbound",
        direction="outbound",
        wrap_up=WrapUp(WrapUpMode.AGENT, 120.0),
        offer_timeout=30.0,
    )
    return replace(base, queues=(*base.queues, queue))


def number(i: int) -> str:
    """A valid UK mobile number, different for each i < 100."""
    return f"+4479111234{i:02d}"


def campaign_document(
    campaign_id: str = "winter", *, retry_delay: str = "1h", **extra: Any
) -> dict[str, Any]:
    """A progressive UK campaign (the UK preset has no calling hours: the tests may run at any time)."""
    rule = {"delay": retry_delay, "max_attempts": 3}
    return {
        "account": "acme",
        "queue": OUT_QUEUE,
        "campaign": {"id": campaign_id, "name": "Winter offer"},
        "mode": "progressive",
        "caller_id": CALLER_ID,
        "ring_timeout": "20s",
        "lists": [{"name": "customers", "region": "GB", "map": {"phone": "Phone", "first_name": "Name"}}],
        "retry": {
            "max_attempts": 6,
            "no_answer": rule,
            "busy": rule,
            "machine": rule,
            "failed": rule,
            "abandoned": {"delay": "1d", "max_attempts": 2},
            "callback": {"delay": "1d", "max_attempts": 2},
        },
        "compliance": {"preset": "uk", "purpose": "telemarketing"},
        "dispositions": [
            {"code": "sale", "label": "Sale", "category": "sale"},
            {"code": "callback", "label": "Call back", "category": "callback"},
            {"code": "not_interested", "label": "Not interested", "category": "not_interested"},
            {"code": "do_not_call", "label": "Do not call", "category": "do_not_call"},
        ],
        **extra,
    }


def contacts_csv(good: int, *, start: int = 0, bad: bool = True) -> bytes:
    """A contact list: `good` valid rows and, with `bad`, three rejected ones (rows 3, 6 and the last)."""
    lines = ["Name;Phone"]
    for i in range(good):
        lines.append(f"Customer {start + i};{number(start + i)}")
        if bad and i == 0:
            lines.append("Nobody;12")  # row 3: too short
        if bad and i == 2:
            lines.append("Empty;")  # row 6: no number
    if bad:
        lines.append(f"Again;{number(start)}")  # a duplicate of row 2
    return ("\n".join(lines) + "\n").encode()


def fast_trunk(seed: int = 7, log_path: Path | None = None, **rates: Any) -> SimulatedTrunk:
    """A network whose calls resolve within about a second (for tests)."""
    settings: dict[str, Any] = {
        "answer_rate": 0.5,
        "busy_rate": 0.15,
        "machine_rate": 0.1,
        "failed_rate": 0.1,
        "ring_seconds": (0.2, 0.8),
        "machine_detect_seconds": 0.2,
        "busy_seconds": (0.1, 0.4),
        "failed_seconds": (0.1, 0.3),
        "no_answer_seconds": 0.8,
        **rates,
    }
    return SimulatedTrunk(random.Random(seed), log_path=log_path, **settings)
