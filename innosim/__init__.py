"""innosim: system-dynamics policy simulation, as a command (``innosim``) and from Python.

The public facade of the project; the engine (:mod:`simulator`), the studies (:mod:`policies`,
:mod:`sensitivity`) and the dashboard (:mod:`dashboard`) sit below it and none imports it.

>>> import innosim
>>> names = [m.name for m in innosim.registered()]  # the bundled models (models/registry.toml)
>>> model = innosim.load(names[-1])                # a registered name, a model file, or None
>>> model.doc                                      # variables, units, zh/en text, range, source
>>> base = model.run()                             # Vensim's Euler at TIME STEP, as the CLI
>>> base[list(model.stocks[:2])].plot()            # a single run answers like pysd's DataFrame
>>> comp = innosim.compare(names[-1])              # every built-in scenario vs. the baseline
>>> comp.kpis                                      # tidy tables: kpis, timeseries, costs, summary
"""
from simulator.model import DEFAULT_METHOD

from .api import catalogue, compare, doc, info, load, run, scenarios
from .errors import RegistryError
from .registry import ModelInfo, load_registry, models_dir, registered, resolve

__all__ = ["load", "run", "compare", "doc", "catalogue", "scenarios", "info", "resolve", "registered",
           "load_registry", "models_dir", "ModelInfo", "RegistryError", "DEFAULT_METHOD"]
