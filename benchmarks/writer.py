#!/usr/bin/env python3
"""Benchmark: events per second through the live server's writer, stored with their read models.

What `benchmarks/event_store.py` measures is the event store alone. This one measures the whole
persistence path of `centrale serve`: the single writer applies each tick's events to the engine,
then stores them in one transaction together with the read models (interactions, timeline,
configuration tables) and the webhook outbox, before it answers anyone. The events are a realistic
busy center's: rounds of ``--size`` interactions arriving (each offered to a free agent), accepted,
ended and wrapped up with a disposition, each step one tick of ``--size`` events, as many desktops
acting at once. Each database starts empty (a temporary
SQLite file; a temporary PostgreSQL database on ``--pg``, dropped afterwards).

Prints one JSON object: ``{"benchmark": "writer", "events": …, "sqlite_events_per_second": …,
"postgresql_events_per_second": …, …}``. Targets (issue "The contact center live"): ≥ 20,000
events/s on SQLite and ≥ 10,000 on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from event_store import DEFAULT_PG, with_postgresql, with_sqlite

from centrale.core.commands import Offer
from centrale.core.config import (
    Account,
    AgentConfig,
    Disposition,
    EngineConfig,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.events import (
    AgentLoggedIn,
    InteractionArrived,
    InteractionEnded,
    OfferAccepted,
    WrapUpCompleted,
)
from centrale.core.expressions import parse
from centrale.server.root import build
from centrale.server.seed import config_events
from centrale.server.settings import ServerSettings
from centrale.server.writer import Batch, Listener
from centrale.storage import StorageError


class _Offers(Listener):
    """Collects the offers of each stored batch, as an agent desktop would see them."""

    def __init__(self) -> None:
        self.offers: list[tuple[str, str]] = []

    def after(self, batch: Batch) -> None:
        self.offers += [(c.interaction, c.agent) for c in batch.commands if isinstance(c, Offer)]


def center(agents: int) -> EngineConfig:
    return EngineConfig(
        accounts=(Account("acme", "ACME"),),
        queues=(
            QueueConfig("sales", "acme", "voice", parse("true"), wrap_up=WrapUp(WrapUpMode.AGENT, 300.0)),
        ),
        agents=tuple(AgentConfig(f"a{i}", "acme", {"sales": 5}) for i in range(agents)),
        dispositions=(Disposition("sale", "Sale", "sale"),),
    )


async def _run(url: str, rounds: int, size: int) -> dict[str, float]:
    services = build(ServerSettings(database=url, timezone="UTC"))
    writer = services.writer
    offers = _Offers()
    writer.listeners.append(offers)
    await services.start()
    try:
        config = center(size)
        for event in config_events(config, services.engine):
            await writer.submit(event)
        for agent in config.agents:
            writer.post(AgentLoggedIn(agent.id, True))
        await writer.drained()
        first = writer.stored_seq
        started = time.perf_counter()
        n = 0
        for _ in range(rounds):
            offers.offers.clear()
            for _ in range(size):  # one tick of arrivals: each is offered to a free agent
                n += 1
                writer.post(InteractionArrived(f"i{n}", "sales", None, {"language": "nl"}, f"+3120{n:07d}"))
            await writer.drained()
            taken = list(offers.offers)
            for make in (
                lambda ix, ag: OfferAccepted(ix, ag),
                lambda ix, ag: InteractionEnded(ix),
                lambda ix, ag: WrapUpCompleted(ix, "sale", "bought two tickets", None),
            ):
                for ix, ag in taken:
                    writer.post(make(ix, ag))
                await writer.drained()
        seconds = time.perf_counter() - started
        stored = writer.stored_seq - first
    finally:
        await services.stop()
    return {"stored": stored, "seconds": seconds, "rate": stored / seconds, "ticks": writer.ticks}


def measure(url: str, rounds: int, size: int) -> dict[str, float]:
    return asyncio.run(_run(url, rounds, size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=50, help="rounds of arrival, accept, end, wrap-up")
    parser.add_argument("--size", type=int, default=250, help="interactions (and agents) per round")
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"PostgreSQL server URL (default {DEFAULT_PG})")
    parser.add_argument("--quick", action="store_true", help="10 rounds")
    args = parser.parse_args()
    rounds = 10 if args.quick else args.rounds
    result: dict[str, Any] = {"benchmark": "writer", "rounds": rounds, "interactions_per_round": args.size}
    sqlite = with_sqlite(lambda url: measure(url, rounds, args.size))
    result["sqlite_events_stored"] = int(sqlite["stored"])
    result["sqlite_events_per_second"] = round(sqlite["rate"])
    print(f"SQLite: {sqlite['rate']:.0f} events/s", file=sys.stderr)
    try:
        pg = with_postgresql(args.pg, lambda url: measure(url, rounds, args.size))
        result["postgresql_events_stored"] = int(pg["stored"])
        result["postgresql_events_per_second"] = round(pg["rate"])
        print(f"PostgreSQL: {pg['rate']:.0f} events/s", file=sys.stderr)
    except StorageError as exc:
        result["postgresql_events_per_second"] = None
        result["postgresql_error"] = str(exc)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
