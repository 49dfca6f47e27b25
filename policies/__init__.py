"""Policy levers, shocks and scenarios as data, applied to a model without changing it.

>>> import simulator, policies
>>> model = simulator.load("models/zhejiang_innovation_openness.mdl")
>>> scenario = policies.load_scenario("seed002-package")
>>> result = model.run(policies.scenario_params(scenario, model), method="euler")
"""
from .apply import cost_variables, horizon, lever_costs, profile_points, scenario_params
from .catalogue import Catalogue, Lever, check_against_model, load_catalogue
from .errors import PolicyError
from .scenario import (
    Scenario,
    Setting,
    builtin_scenario_files,
    builtin_scenarios,
    load_scenario,
    scenario_from_dict,
    with_setting,
)

__all__ = [
    "Catalogue", "Lever", "load_catalogue", "check_against_model",
    "Scenario", "Setting", "load_scenario", "scenario_from_dict", "builtin_scenarios",
    "builtin_scenario_files", "with_setting",
    "scenario_params", "profile_points", "horizon", "lever_costs", "cost_variables",
    "PolicyError",
]
