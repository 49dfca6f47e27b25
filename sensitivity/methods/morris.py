"""Morris elementary effects (SALib): a screening method with r(D + 1) runs.

Trajectories live in the unit hypercube and are mapped through each distribution's quantile
function, so mu* and sigma are in output units per unit of a parameter's *probability* range
(comparable across parameters whatever their units).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from SALib.analyze import morris as _analyze
from SALib.sample import morris as _sample

from ..uncertainty import UncertaintySpec
from ._common import as_outputs, evaluate


def sample(spec: UncertaintySpec, trajectories: int, *, seed: int, num_levels: int = 4) -> np.ndarray:
    """Unit-hypercube design of ``trajectories`` Morris trajectories; shape (trajectories (D + 1), D)."""
    return _sample.sample(spec.unit_problem(), trajectories, num_levels=num_levels, seed=seed)


def analyze(spec: UncertaintySpec, unit: np.ndarray, Y: np.ndarray, *, outputs: Sequence[str] | None = None,
            seed: int = 0, num_levels: int = 4, conf_level: float = 0.95,
            num_resamples: int = 1000) -> pd.DataFrame:
    """mu, mu*, sigma and mu*'s confidence half-width per (output, parameter), sorted by mu*."""
    Y, names = as_outputs(Y, len(unit), outputs)
    frames = []
    for k, out in enumerate(names):
        r = _analyze.analyze(spec.unit_problem(), unit, Y[:, k], num_resamples=num_resamples,
                             conf_level=conf_level, num_levels=num_levels, seed=seed)
        df = pd.DataFrame({"output": out, "parameter": list(r["names"]), "mu": r["mu"],
                           "mu_star": r["mu_star"], "sigma": r["sigma"], "mu_star_conf": r["mu_star_conf"]})
        frames.append(df.sort_values("mu_star", ascending=False, kind="stable"))
    return pd.concat(frames, ignore_index=True)


def morris(func: Callable[[np.ndarray], np.ndarray], spec: UncertaintySpec, trajectories: int, *, seed: int,
           outputs: Sequence[str] | None = None, num_levels: int = 4) -> pd.DataFrame:
    """Sample, run ``func`` (X in parameter units, (n, D) -> (n,) or (n, K)) and analyse."""
    unit = sample(spec, trajectories, seed=seed, num_levels=num_levels)
    Y, names = evaluate(func, spec.transform(unit), outputs)
    return analyze(spec, unit, Y, outputs=names, seed=seed, num_levels=num_levels)
