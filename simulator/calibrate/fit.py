"""Fitting free parameters: one ensemble run of the engine per optimiser generation.

Parameters reach the model only through the engine's ``params`` (one value per member); the model
file is never rewritten to fit. The objective is the weighted sum over series of the mean squared
relative error, plus an optional pull of each parameter towards its prior (in units of its range),
which keeps parameters that the data cannot identify at their documented prior values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from .setup import CalibrationSetup, FreeParameter

BAD_RUN = 1e3  # relative error given to members whose run is not finite


@dataclass(frozen=True)
class FitOptions:
    """Optimiser settings (``differential_evolution`` with the whole population per run)."""

    maxiter: int = 150
    popsize: int = 12
    seed: int = 1
    until: float | None = None   # use targets up to this year only (the hold-out fit)
    polish: bool = True
    start: dict | None = None    # values to seed the first population with (default: the priors)


@dataclass
class CalibrationResult:
    params: dict[str, float]
    objective: float
    mape: dict[str, float]
    evaluations: int
    until: float | None
    free: list[FreeParameter] = field(default_factory=list)


def simulate(model, params: dict, outputs: list[str], years: np.ndarray) -> dict[str, np.ndarray]:
    """Run ``model`` (Euler, the model's own step) -> {output: (len(years), members)}."""
    import simulator

    opts = simulator.RunOptions(final_time=float(max(years)), check_finite=False)
    res = model.run(params, method="euler", options=opts, outputs=outputs)
    idx = np.searchsorted(res.times, years)
    return {o: np.asarray(res[o], dtype=float)[idx].reshape(len(years), -1) for o in outputs}


class Objective:
    """Weighted relative errors of an ensemble of parameter sets."""

    def __init__(self, model, setup: CalibrationSetup, targets: pd.DataFrame, base: dict | None = None):
        self.model, self.setup, self.base = model, setup, dict(base or {})
        self.targets = targets
        self.series = list(dict.fromkeys(targets["series"]))
        self.years = np.array(sorted(set(targets["year"])))
        self.rows = []  # (series, year index, value, weight / points in the series)
        for s in self.series:
            sub = targets[targets["series"] == s]
            for _, r in sub.iterrows():
                self.rows.append((s, int(np.searchsorted(self.years, r["year"])), r["value"],
                                  r["weight"] / len(sub)))
        free = setup.parameters
        self.prior = np.array([p.prior for p in free])
        self.span = np.array([p.upper - p.lower for p in free])
        self.evaluations = 0

    def run(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """X: (n_params, members) -> {series: (n_years, members)}."""
        self.evaluations += X.shape[1]
        params = {**self.base, **{p.name: X[i] for i, p in enumerate(self.setup.parameters)}}
        return simulate(self.model, params, self.series, self.years)

    def residuals(self, X: np.ndarray) -> np.ndarray:
        sim = self.run(X)
        res = [math.sqrt(w) * (sim[s][i] - v) / v for s, i, v, w in self.rows]
        if self.setup.prior_weight > 0:
            pull = math.sqrt(self.setup.prior_weight) * (X - self.prior[:, None]) / self.span[:, None]
            res.extend(pull)
        out = np.array(res)
        return np.where(np.isfinite(out), out, BAD_RUN)

    def __call__(self, X: np.ndarray):
        X = np.asarray(X, dtype=float)
        single = X.ndim == 1
        r = self.residuals(X[:, None] if single else X)
        loss = np.sum(r ** 2, axis=0)
        return float(loss[0]) if single else loss


def mape_by_series(sim: dict[str, np.ndarray], targets: pd.DataFrame, years: np.ndarray,
                   member: int = 0) -> dict[str, float]:
    """Mean absolute percentage error per series (fraction: 0.03 = 3 %)."""
    out = {}
    for s, sub in targets.groupby("series", sort=False):
        idx = np.searchsorted(years, sub["year"].to_numpy())
        model = sim[s][idx, member]
        obs = sub["value"].to_numpy()
        out[s] = float(np.mean(np.abs(model - obs) / np.abs(obs)))
    return out


def calibrate(model, setup: CalibrationSetup, targets: pd.DataFrame, options: FitOptions = FitOptions(),
              log: Callable[[str], None] = print, base: dict | None = None) -> CalibrationResult:
    """Fit ``setup.parameters`` of ``model`` to ``targets`` (up to ``options.until`` when given)."""
    from scipy import optimize

    if options.until is not None:
        targets = targets[targets["year"] <= options.until]
    obj = Objective(model, setup, targets, base)
    free = list(setup.parameters)
    lo = np.array([p.lower for p in free])
    hi = np.array([p.upper for p in free])
    start = np.array([(options.start or {}).get(p.name, p.prior) for p in free])
    x0 = np.clip(start, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
    log(f"calibrating {len(free)} parameters on {len(targets)} targets"
        f"{'' if options.until is None else f' up to {options.until:g}'}; prior objective {obj(x0):.5g}")
    de = optimize.differential_evolution(
        obj, list(zip(lo, hi)), maxiter=options.maxiter, popsize=options.popsize, seed=options.seed,
        vectorized=True, updating="deferred", polish=False, tol=1e-7, x0=x0)
    x = de.x
    log(f"differential evolution: objective {de.fun:.5g} after {de.nit} generations")
    if options.polish:
        ls = optimize.least_squares(lambda v: obj.residuals(v[:, None])[:, 0], np.clip(x, lo, hi),
                                    bounds=(lo, hi), x_scale=hi - lo, diff_step=1e-4, max_nfev=400)
        if 2 * ls.cost < de.fun:
            x = ls.x
        log(f"least squares polish: objective {2 * ls.cost:.5g}")
    sim = obj.run(x[:, None])
    return CalibrationResult(params={p.name: float(v) for p, v in zip(free, x)}, objective=obj(x),
                             mape=mape_by_series(sim, targets, obj.years), evaluations=obj.evaluations,
                             until=options.until, free=free)
