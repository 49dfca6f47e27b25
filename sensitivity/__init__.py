"""Sensitivity analysis at scale: uncertainties, chunked (optionally Dask-distributed) ensembles,
OAT / Monte Carlo / Morris / Sobol, and policy robustness.

>>> import simulator, sensitivity
>>> model = simulator.load("models/<name>.mdl")
>>> spec = sensitivity.load_uncertainties("models/<name>/uncertainties.toml", model=model)
>>> study = sensitivity.Study(model, spec, kpis=["Some Output"], years=[2035])
>>> study.sobol(1024, seed=0).head()          # S1, ST with confidence half-widths

The methods also take any vectorised function X (n, D) -> Y (n,) or (n, K), SALib style:
``sensitivity.sobol(func, spec, 1024, seed=0)``.
"""
from .distributed import Compute, DaskExecutor, Executor, executor
from .ensemble import (
    DEFAULT_YEAR,
    Ensemble,
    EnsembleOptions,
    run_chunk,
    run_ensemble,
)
from .errors import SensitivityError, UncertaintySpecError
from .methods.mc import PERCENTILES, bands, percentile_bands
from .methods.morris import morris
from .methods.oat import oat
from .methods.sobol import sobol
from .robustness import DIRECTIONS, Robustness, robustness, robustness_tables
from .study import MonteCarlo, Study, baseline_values, label
from .uncertainty import (
    LogNormal,
    Normal,
    Triangular,
    Uncertainty,
    UncertaintySpec,
    Uniform,
    from_model,
    load_uncertainties,
    parse_uncertainties,
)

__all__ = [
    # uncertainties
    "Uniform", "Triangular", "Normal", "LogNormal", "Uncertainty", "UncertaintySpec",
    "load_uncertainties", "parse_uncertainties", "from_model",
    # ensembles
    "Ensemble", "EnsembleOptions", "run_ensemble", "run_chunk", "DEFAULT_YEAR",
    "Compute", "Executor", "DaskExecutor", "executor",
    # methods
    "oat", "morris", "sobol", "bands", "percentile_bands", "PERCENTILES",
    "Study", "MonteCarlo", "baseline_values", "label",
    # robustness
    "robustness", "robustness_tables", "Robustness", "DIRECTIONS",
    # errors
    "SensitivityError", "UncertaintySpecError",
]
