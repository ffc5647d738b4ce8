"""The crash test's server: ``python dialer_crash_server.py DATABASE TRUNK_LOG``.

Builds the live server's parts with :func:`centrale.server.root.build` on DATABASE (the writer, the
campaign runner, …; no HTTP needed), gives the runner a simulated trunk that appends every dial to
TRUNK_LOG, and plays eight agents who take every call. On a fresh database it first sets up the
center and a running progressive campaign of 60 leads (retries after 1 s). Prints ``ready`` once it
runs. The test kills it with SIGKILL and starts it again on the same database; SIGTERM stops it
gracefully.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import sys
import time
from dataclasses import replace

from centrale.core.config import AgentConfig
from centrale.core.events import AgentLoggedIn, InteractionEnded, OfferAccepted, WrapUpCompleted
from centrale.server.dialer import RUNNING, CampaignRunner, parse_document
from centrale.server.root import build
from centrale.server.seed import config_events
from centrale.server.services import Services
from centrale.server.settings import ServerSettings
from server.outbound_fixtures import campaign_document, contacts_csv, fast_trunk, outbound_center

AGENTS = [f"a{i}" for i in range(1, 9)]


def center():  # type: ignore[no-untyped-def]
    base = outbound_center()
    more = tuple(AgentConfig(a, "acme", {"acme": 5}, name=a) for a in AGENTS[2:])
    return replace(base, agents=(*base.agents, *more))


async def agents(services: Services, stop: asyncio.Event) -> None:
    """Eight agents who accept every offer, talk 0.3 s and say 'not interested' (or 'callback')."""
    writer, engine = services.writer, services.engine
    rng = random.Random()
    talking: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for agent_id in AGENTS:
            agent = engine.agents[agent_id]
            if agent.state.value == "logged_out":
                writer.post(AgentLoggedIn(agent_id, True))
            for iid in list(agent.offered):
                writer.post(OfferAccepted(iid, agent_id))
            for iid in list(agent.connected):
                if now - talking.setdefault(iid, now) > 0.3:
                    writer.post(InteractionEnded(iid))
            for iid in list(agent.wrapping):
                code = "callback" if rng.random() < 0.2 else "not_interested"
                writer.post(WrapUpCompleted(iid, code, None, None))
        await asyncio.sleep(0.05)


async def main(database: str, trunk_log: str) -> None:
    services = build(ServerSettings(database=database, webhooks=False))
    runner = services.extras["dialer"]
    assert isinstance(runner, CampaignRunner)
    runner.trunk = fast_trunk(seed=random.randrange(1 << 30), log_path=trunk_log, answer_rate=0.3)
    await services.start()
    if "acme" not in services.engine.accounts:
        for event in config_events(center(), services.engine):
            await services.writer.submit(event)
    stop = asyncio.Event()
    robot = asyncio.create_task(agents(services, stop))
    if runner.run("crash") is None:
        run = await runner.create(parse_document(campaign_document("crash", retry_delay="1s")))
        await runner.import_list(
            run, "customers", "contacts.csv", contacts_csv(60, bad=False), mapping=None, region=None
        )
        runner.set_status(run, RUNNING)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    print("ready", flush=True)
    await done.wait()
    stop.set()
    await robot
    await services.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
