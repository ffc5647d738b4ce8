"""The simulated world's short cut for agents who answer at once changes nothing in a run.

When every agent answers every offer at once and never lets one ring, `World` skips the per-offer
look-up of the simulated agent and the answer-delay draw (sim/world.py, `_instant`). A run must be
exactly the run the general path gives; with answer delays and RONA the short cut must be off.
"""

from __future__ import annotations

from typing import Any

import yaml
from sim_helpers import EXAMPLES, SMALL

from centrale.core.engine import Engine
from centrale.sim.kernel import Kernel
from centrale.sim.runner import _collect
from centrale.sim.scenario import Scenario, load_scenario, scenario_from_dict
from centrale.sim.world import World


def run(scenario: Scenario, seed: int, instant: bool | None) -> dict[str, Any]:
    """One run like `run_scenario`, with the short cut forced off (False) or left as chosen (None)."""
    engine = Engine(scenario.engine, notify=False)
    kernel = Kernel(scenario.start)
    world = World(scenario, engine, kernel, seed)
    if instant is not None:
        world._instant = instant
    world.start()
    kernel.run(until=scenario.end)
    engine.close_books(scenario.end)
    kernel.run(until=scenario.end + scenario.drain)
    out = _collect(scenario, engine, world, seed, 0.0, True).to_json()
    out.pop("wall_seconds")
    return out


def test_agents_who_answer_at_once_give_the_same_run_either_way() -> None:
    scenario = scenario_from_dict(yaml.safe_load(SMALL), source="<small>")
    assert World(scenario, Engine(scenario.engine), Kernel(scenario.start), 1)._instant
    for seed in (1, 2, 3):
        short_cut = run(scenario, seed, None)
        general = run(scenario, seed, False)
        assert short_cut["totals"]["answered"] > 0
        assert short_cut == general


def test_answer_delays_and_rona_turn_the_short_cut_off() -> None:
    scenario = load_scenario(EXAMPLES / "demo.yaml")
    world = World(scenario, Engine(scenario.engine), Kernel(scenario.start), 1)
    assert not world._instant
