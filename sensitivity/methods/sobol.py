"""Sobol first-order and total indices with bootstrap confidence intervals (SALib, Saltelli design).

The design has N(D + 2) rows (no second-order indices); N should be a power of two. Sampling
happens in the unit hypercube and goes through each distribution's quantile function, which
leaves variance-based indices unchanged for independent inputs.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from SALib.analyze import sobol as _analyze
from SALib.sample import sobol as _sample

from ..uncertainty import UncertaintySpec
from ._common import as_outputs, evaluate


def runs(n: int, d: int) -> int:
    """Model runs of a first/total-order Sobol analysis with base sample ``n`` and ``d`` parameters."""
    return n * (d + 2)


def sample(spec: UncertaintySpec, n: int, *, seed: int) -> np.ndarray:
    """Unit-hypercube Saltelli design; shape (n (D + 2), D)."""
    with warnings.catch_warnings():
        # SALib warns when n is not a power of two; the caller decides (the CLI says so itself)
        warnings.simplefilter("ignore", UserWarning)
        return _sample.sample(spec.unit_problem(), n, calc_second_order=False, scramble=True, seed=seed)


def analyze(spec: UncertaintySpec, Y: np.ndarray, *, outputs: Sequence[str] | None = None, seed: int = 0,
            conf_level: float = 0.95, num_resamples: int = 200) -> pd.DataFrame:
    """S1, ST and their confidence half-widths per (output, parameter), sorted by ST."""
    n = len(Y) if np.ndim(Y) else 0
    Y, names = as_outputs(Y, n, outputs)
    frames = []
    for k, out in enumerate(names):
        with np.errstate(all="ignore"):
            r = _analyze.analyze(spec.unit_problem(), Y[:, k], calc_second_order=False,
                                 num_resamples=num_resamples, conf_level=conf_level, seed=seed)
        df = pd.DataFrame({"output": out, "parameter": spec.names, "S1": r["S1"], "S1_conf": r["S1_conf"],
                           "ST": r["ST"], "ST_conf": r["ST_conf"]})
        frames.append(df.sort_values("ST", ascending=False, kind="stable"))
    return pd.concat(frames, ignore_index=True)


def sobol(func: Callable[[np.ndarray], np.ndarray], spec: UncertaintySpec, n: int, *, seed: int,
          outputs: Sequence[str] | None = None, conf_level: float = 0.95) -> pd.DataFrame:
    """Sample, run ``func`` (X in parameter units, (n, D) -> (n,) or (n, K)) and analyse."""
    unit = sample(spec, n, seed=seed)
    Y, names = evaluate(func, spec.transform(unit), outputs)
    return analyze(spec, Y, outputs=names, seed=seed, conf_level=conf_level)
