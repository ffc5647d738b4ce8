"""The demo's outbound campaign: Contoso Travel calls its customers about a winter offer.

A progressive campaign under the UK preset (no calling hours, so the demo dials at any time of
day) on the demo's outbound queue, with a list of demo numbers, dialled through a simulated trunk
that answers, rings out, is busy or reaches an answering machine. Set up once; on a restart the
stored campaign and its position continue.
"""

from __future__ import annotations

import random
from typing import Any

from centrale.server.demo import DemoWorld
from centrale.server.dialer import parse_document
from centrale.server.trunk import SimulatedTrunk

CAMPAIGN = "contoso-winter"
LEADS = 400


def document(queue: str) -> dict[str, Any]:
    rule = {"delay": "30m", "max_attempts": 3}
    return {
        "account": "contoso",
        "queue": queue,
        "campaign": {"id": CAMPAIGN, "name": "Contoso winter offer"},
        "mode": "progressive",
        "caller_id": "+442079460000",
        "ring_timeout": "25s",
        "lists": [{"name": "customers", "region": "GB", "map": {"phone": "Phone", "first_name": "Name"}}],
        "retry": {
            "max_attempts": 5,
            "no_answer": rule,
            "busy": {"delay": "10m", "max_attempts": 3},
            "machine": rule,
            "failed": rule,
            "abandoned": {"delay": "1d", "max_attempts": 2},
            "callback": {"delay": "1d", "max_attempts": 2},
        },
        "compliance": {"preset": "uk", "purpose": "telemarketing"},
        "dispositions": [
            {"code": "sale", "label": "Sale", "category": "sale"},
            {"code": "no_sale", "label": "No sale", "category": "not_interested"},
            {"code": "information", "label": "Information given", "category": "completed"},
            {"code": "callback", "label": "Callback agreed", "category": "callback"},
            {"code": "do_not_call", "label": "Do not call", "category": "do_not_call"},
        ],
    }


def install_trunk(services: Any, *, speed: float, seed: int = 7) -> None:
    """Give the dialer a simulated trunk whose ringing follows the demo's speed."""
    runner = services.extras.get("dialer")
    if runner is not None:
        runner.trunk = SimulatedTrunk(
            random.Random(seed),
            answer_rate=0.35,
            busy_rate=0.1,
            machine_rate=0.15,
            failed_rate=0.03,
            ring_seconds=(3.0 / speed, 12.0 / speed),
            no_answer_seconds=25.0 / speed,
        )


async def start_campaign(world: DemoWorld) -> None:
    """A DemoWorld campaign hook: create, fill and start the campaign the first time."""
    runner = world.services.extras.get("dialer")
    if runner is None or not world.outbound_queues:
        return
    if CAMPAIGN in runner.runs:
        return  # set up before: it goes on as stored (a supervisor may have paused it)
    run = await runner.create(parse_document(document(world.outbound_queues[0])))
    rows = ["Name;Phone"] + [f"Customer {i + 1};{n}" for i, n in enumerate(world.numbers("en", LEADS))]
    await runner.import_list(
        run,
        "customers",
        "customers.csv",
        "\n".join(rows).encode(),
        mapping={"phone": "Phone", "first_name": "Name"},
        region="GB",
    )
    runner.set_status(run, "running")


def install_demo(services: Any, scenario: Any, *, speed: float = 1.0, seed: int | None = None) -> DemoWorld:
    """The whole demo: the simulated world, the simulated trunk and the outbound campaign."""
    from centrale.server.demo import install

    world = install(services, scenario, speed=speed, seed=seed)
    install_trunk(services, speed=speed)
    world.campaigns.append(start_campaign)
    return world
