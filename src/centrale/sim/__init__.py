"""The simulator: the very same engine, driven on a virtual clock by simulated customers and agents."""

from centrale.sim.runner import ReplicationSummary, SimulationResult, run_replications, run_scenario
from centrale.sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict

__all__ = [
    "ReplicationSummary",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "load_scenario",
    "run_replications",
    "run_scenario",
    "scenario_from_dict",
]
