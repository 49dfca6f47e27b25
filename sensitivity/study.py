"""A model as a SALib-style function, and the four methods applied to it.

``ModelFunction`` turns a system-dynamics model into X (n, D) -> Y (n, K): row i of X sets the
uncertain parameters of member i, column k of Y is one KPI in one year. The methods in
``sensitivity.methods`` never know that a model is behind it.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator import RunOptions
from simulator.names import normalize

from .distributed import Compute, Executor
from .ensemble import DEFAULT_YEAR, Ensemble, EnsembleOptions, run_ensemble
from .errors import SensitivityError
from .methods import mc, morris, oat, sobol
from .uncertainty import UncertaintySpec


def label(kpi: str, year: float) -> str:
    """Output name of one KPI in one year, e.g. ``Population (2035)``."""
    return f"{kpi} ({year:g})"


def baseline_values(model, names: Sequence[str]) -> np.ndarray:
    """The model's own values of constants (``"Name"`` or ``"Name[elem]"``), read from a zero-length run."""
    t0 = model.control["initial_time"]
    bases = [n.partition("[")[0].strip() for n in names]
    opts = RunOptions(final_time=t0)
    if "backend" in {f.name for f in dataclasses.fields(RunOptions)}:
        opts = dataclasses.replace(opts, backend="numpy")  # nothing to integrate: skip any kernel compilation
    res = model.run(method="euler", options=opts, outputs=sorted(set(bases)))
    subs = model.subscripts
    variables = {normalize(k): v for k, v in model.variables.items()}
    out = []
    for name, base in zip(names, bases):
        arr = res[base][0]
        if "[" in name:
            var = variables[normalize(base)]
            elems = [e.strip() for e in name.partition("[")[2].rstrip("]").split(",")]
            cell = tuple([s.lower() for s in subs[d]].index(e.lower()) for d, e in zip(var.dims, elems))
            arr = arr[cell]
        elif np.ndim(arr) > 1:
            raise SensitivityError(f"{name!r} is subscripted; name one cell, e.g. {name}[...]")
        out.append(float(np.ravel(arr)[0]))
    return np.array(out)


@dataclass(frozen=True)
class Study:
    """A model, its uncertainties and what to look at; the methods are pure functions of it.

    kpis: outputs analysed (``"Name"`` or ``"Name[elem]"``); years: the years they are read at.
    params: shared parameters of every run (a scenario's levers and shocks).
    options: how to run ensembles (method, chunk size, progress); outputs/times are set here.
    compute: ``Compute(...)`` or an open ``Executor`` (reuse one Dask cluster for several methods).
    """

    model: object
    spec: UncertaintySpec
    kpis: tuple[str, ...]
    years: tuple[float, ...] = (DEFAULT_YEAR,)
    params: Mapping = field(default_factory=dict)
    options: EnsembleOptions = field(default_factory=EnsembleOptions)
    compute: Compute | Executor | None = None

    def __post_init__(self):
        object.__setattr__(self, "kpis", tuple(self.kpis))
        object.__setattr__(self, "years", tuple(float(y) for y in self.years))
        if not self.kpis or not self.years:
            raise SensitivityError("name at least one KPI and one year")

    @property
    def outputs(self) -> list[str]:
        """Output labels, KPI-major: one per (kpi, year)."""
        return [label(k, y) for k in self.kpis for y in self.years]

    def output_index(self) -> pd.DataFrame:
        """kpi and year of every output label."""
        return pd.DataFrame([{"output": label(k, y), "kpi": k, "year": y} for k in self.kpis for y in self.years])

    def _options(self, times) -> EnsembleOptions:
        bases = tuple(dict.fromkeys(k.partition("[")[0].strip() for k in self.kpis))
        return dataclasses.replace(self.options, outputs=bases, times=times)

    def ensemble(self, X: np.ndarray, *, all_times: bool = False) -> Ensemble:
        """Run one member per row of X (parameter units, columns in the spec's order)."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.spec):
            raise SensitivityError(f"X must have shape (n, {len(self.spec)}), got {X.shape}")
        samples = pd.DataFrame(X, columns=self.spec.names)
        opts = self._options(None if all_times else self.years)
        return run_ensemble(self.model, samples, params=self.params, options=opts, compute=self.compute)

    def kpi_values(self, ensemble: Ensemble) -> np.ndarray:
        """(members, K) matrix of the outputs, in ``outputs`` order."""
        return np.column_stack([ensemble.values(k, y) for k in self.kpis for y in self.years])

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The SALib-style model function: X (n, D) -> Y (n, K)."""
        return self.kpi_values(self.ensemble(X))

    # ------------------------------------------------------------------ methods
    def _tag(self, table: pd.DataFrame) -> pd.DataFrame:
        return table.merge(self.output_index(), on="output", how="left")

    def oat(self) -> pd.DataFrame:
        """Tornado table around the model's own values (1 + 2D runs)."""
        base = baseline_values(self.model, self.spec.names)
        return self._tag(oat.oat(self, self.spec, base=base, outputs=self.outputs))

    def morris(self, trajectories: int, *, seed: int, num_levels: int = 4) -> pd.DataFrame:
        """Morris mu*, sigma ((D + 1) × trajectories runs)."""
        return self._tag(morris.morris(self, self.spec, trajectories, seed=seed, outputs=self.outputs,
                                       num_levels=num_levels))

    def sobol(self, n: int, *, seed: int) -> pd.DataFrame:
        """Sobol S1 and ST with confidence half-widths (n (D + 2) runs)."""
        return self._tag(sobol.sobol(self, self.spec, n, seed=seed, outputs=self.outputs))

    def monte_carlo(self, n: int, *, seed: int, scheme: str = "random") -> MonteCarlo:
        """n members sampled from the spec; bands over time and a summary at the chosen years."""
        samples = self.spec.sample(n, seed=seed, scheme=scheme)
        ens = self.ensemble(samples.to_numpy(), all_times=True)
        ens = dataclasses.replace(ens, samples=samples)
        Y = self.kpi_values(ens)
        q = np.percentile(Y, list(mc.PERCENTILES), axis=0)
        summary = pd.DataFrame({"output": self.outputs, "mean": Y.mean(axis=0), "std": Y.std(axis=0, ddof=1)
                                if n > 1 else np.zeros(Y.shape[1])})
        for i, p in enumerate(mc.PERCENTILES):
            summary[f"p{p:g}"] = q[i]
        return MonteCarlo(ens, mc.bands(ens), self._tag(summary))


@dataclass(frozen=True)
class MonteCarlo:
    """ensemble: every member over time; bands: tidy percentile bands; summary: KPIs at the years."""

    ensemble: Ensemble
    bands: pd.DataFrame
    summary: pd.DataFrame
