"""Policy levers, shocks and scenarios as data, applied to a model without changing it.

Each model brings its catalogue (``models/<name>/levers.toml``) and built-in scenarios::

    >>> import simulator, policies
    >>> catalogue = policies.load_catalogue("models/<name>/levers.toml")
    >>> model = simulator.load(catalogue.model_path)
    >>> scenario = policies.load_scenario("baseline", catalogue=catalogue)
    >>> result = model.run(policies.scenario_params(scenario, model, catalogue=catalogue), method="euler")

(``innosim`` finds a bundled model's catalogue by the model's registry name.)
"""
from .apply import cost_variables, horizon, lever_costs, profile_points, scenario_params
from .catalogue import (
    Catalogue,
    Costs,
    Kpi,
    Lever,
    check_against_model,
    constant_value,
    load_catalogue,
)
from .compare import regions
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
    "Catalogue", "Costs", "Kpi", "Lever", "load_catalogue", "check_against_model", "constant_value",
    "Scenario", "Setting", "load_scenario", "scenario_from_dict", "builtin_scenarios",
    "builtin_scenario_files", "with_setting", "regions",
    "scenario_params", "profile_points", "horizon", "lever_costs", "cost_variables",
    "PolicyError",
]
