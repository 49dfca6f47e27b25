"""Policy robustness: do a policy's advantages survive the uncertainty?

Every scenario runs over the *same* uncertainty members (the same samples, drawn once from the
seed), so member m is one possible world seen under each policy. For a KPI with a direction:

* share A beats B = fraction of members in which A is strictly better than B;
* regret of a scenario in a member = (best value any scenario reaches in that member) minus (its
  value), for a KPI to maximise (mirrored for one to minimise), so regret >= 0 and the best
  scenario of a member has regret 0. The table gives its mean and maximum over members.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .distributed import Compute, Executor, executor
from .ensemble import EnsembleOptions, run_ensemble
from .errors import SensitivityError
from .uncertainty import UncertaintySpec

DIRECTIONS = ("maximise", "minimise")


@dataclass(frozen=True)
class Robustness:
    """values: member × scenario KPI values; shares: row scenario beats column scenario (share of
    members); regret: one row per scenario; samples: the uncertainty members."""

    kpi: str
    year: float
    direction: str
    values: pd.DataFrame
    shares: pd.DataFrame
    regret: pd.DataFrame
    samples: pd.DataFrame
    metadata: dict = field(default_factory=dict)

    def share(self, a: str, b: str) -> float:
        """Share of members in which scenario ``a`` is strictly better than ``b``."""
        return float(self.shares.loc[a, b])

    def pairs(self) -> pd.DataFrame:
        """Long table of every ordered pair: a, b, share a beats b, share of ties, mean (a − b)."""
        rows = []
        for a in self.values.columns:
            for b in self.values.columns:
                if a == b:
                    continue
                d = self.values[a].to_numpy() - self.values[b].to_numpy()
                rows.append({"a": a, "b": b, "share_a_beats_b": self.share(a, b),
                             "share_ties": float(np.mean(d == 0)), "mean_difference": float(d.mean())})
        return pd.DataFrame(rows, columns=["a", "b", "share_a_beats_b", "share_ties", "mean_difference"])


def robustness_tables(values: pd.DataFrame, direction: str = "maximise") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shares, regret) from a member × scenario table of KPI values."""
    if direction not in DIRECTIONS:
        raise SensitivityError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    v = values.to_numpy(dtype=float)
    if not np.isfinite(v).all():
        raise SensitivityError("KPI values contain NaN or infinity")
    sign = 1.0 if direction == "maximise" else -1.0
    better = sign * v  # larger is better from here on
    names = list(values.columns)
    shares = pd.DataFrame(np.zeros((len(names), len(names))), index=pd.Index(names, name="scenario"),
                          columns=names)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            shares.loc[a, b] = float(np.mean(better[:, i] > better[:, j])) if i != j else np.nan
    regret = better.max(axis=1, keepdims=True) - better
    best = better == better.max(axis=1, keepdims=True)
    table = pd.DataFrame({
        "scenario": names,
        "mean": v.mean(axis=0), "p5": np.percentile(v, 5, axis=0), "p50": np.percentile(v, 50, axis=0),
        "p95": np.percentile(v, 95, axis=0),
        "share_best": best.mean(axis=0),
        "mean_regret": regret.mean(axis=0), "max_regret": regret.max(axis=0),
    })
    table = table.sort_values(["max_regret", "mean_regret"], kind="stable").reset_index(drop=True)
    return shares, table


def robustness(model, scenarios: Mapping[str, Mapping], spec: UncertaintySpec, kpi: str, year: float, n: int,
               seed: int, *, direction: str = "maximise", options: EnsembleOptions | None = None,
               compute: Compute | Executor | None = None) -> Robustness:
    """Run every scenario (a params dict: levers, shocks, time series) over the same n members.

    Each member's sampled uncertainties are merged into the scenario's params (the sampled value
    wins where both name a parameter). ``options`` sets the method, chunking and progress; its
    outputs and times are replaced by ``kpi`` and ``year``.
    """
    if direction not in DIRECTIONS:
        raise SensitivityError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if len(scenarios) < 2:
        raise SensitivityError(f"robustness compares at least two scenarios, got {len(scenarios)}")
    samples = spec.sample(n, seed=seed)
    base = kpi.partition("[")[0].strip()
    opts = dataclasses.replace(options or EnsembleOptions(), outputs=(base,), times=(float(year),))
    cols = {}
    overlap = {}
    with executor(compute) as ex:
        for name, params in scenarios.items():
            ens = run_ensemble(model, samples, params=params, options=opts, compute=ex)
            cols[name] = ens.values(kpi, float(year))
            overlap[name] = sorted(set(params) & set(samples.columns))
    values = pd.DataFrame(cols, index=samples.index)
    shares, regret = robustness_tables(values, direction)
    meta = {"model": str(getattr(model, "path", "")), "model_sha256": getattr(model, "sha256", ""),
            "members": n, "seed": seed, "method": opts.method, "uncertain": spec.names,
            "overridden_by_samples": {k: v for k, v in overlap.items() if v}}
    return Robustness(kpi, float(year), direction, values, shares, regret, samples, meta)
