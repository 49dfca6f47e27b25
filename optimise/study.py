"""One optimisation study: the nominal search, the robust search over common draws, the packages.

>>> import optimise
>>> problem = optimise.load_problem("models/<name>/problems/<problem>.toml")
>>> outcome = optimise.optimise(problem)
>>> outcome.table()           # every reported package: lever values, objectives, costs, shares
"""
from __future__ import annotations

import time as _time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sensitivity.distributed import Compute, Executor, executor

from .evaluate import Evaluator, Scores
from .problem import Problem
from .search import SearchResult, differential_evolution, nsga2


@dataclass(frozen=True)
class Package:
    """A reported lever package: its values (one per decision) and its scores at the model's own
    parameters (``nominal``) and, with an uncertainty file, over the draws (``robust``)."""

    id: str
    kind: str                     # "nominal", "robust" or "pareto"
    x: np.ndarray
    nominal: Scores
    robust: Scores | None = None

    def settings(self, problem: Problem) -> dict:
        return {d.id: float(v) for d, v in zip(problem.decisions, self.x)}


@dataclass
class Outcome:
    problem: Problem
    nominal: SearchResult
    robust: SearchResult | None
    packages: list
    draws: pd.DataFrame | None
    metadata: dict = field(default_factory=dict)

    def package(self, kind: str) -> Package:
        return next(p for p in self.packages if p.kind == kind)

    def table(self) -> pd.DataFrame:
        """One row per package: lever values, objective(s) at nominal parameters, constraint
        quantities, and over the draws the robust measure and the share within every constraint."""
        prob = self.problem
        rows = []
        for p in self.packages:
            row = {"package": p.id, "kind": p.kind, **p.settings(prob)}
            for k, o in enumerate(prob.objectives):
                row[f"{o.name} (nominal)"] = float(p.nominal.values[0, 0, k])
            for c_i, c in enumerate(prob.constraints):
                row[f"{c.quantity.label()} (nominal)"] = float(p.nominal.slack[0, 0, c_i] + c.bound
                                                               if c.sense == "max" else c.bound - p.nominal.slack[0, 0, c_i])
            row["feasible (nominal)"] = bool(p.nominal.feasible[0])
            if p.robust is not None:
                unc = prob.uncertainty
                for k, o in enumerate(prob.objectives):
                    v = p.robust.values[0, :, k]
                    row[f"{o.name} ({unc.measure})"] = float(p.robust.objective[0, k])
                    row[f"{o.name} (mean)"] = float(v.mean())
                    row[f"{o.name} (p10)"] = float(np.percentile(v, 10))
                    row[f"{o.name} (p90)"] = float(np.percentile(v, 90))
                for c_i, c in enumerate(prob.constraints):
                    row[f"share within: {c.name}"] = float(np.mean(p.robust.slack[0, :, c_i] <= 0))
                row["share within every constraint"] = float(p.robust.share_ok[0])
                row[f"meets constraints in >= {unc.share:g} of draws"] = bool(p.robust.feasible[0])
            rows.append(row)
        return pd.DataFrame(rows)


def draws_of(problem: Problem) -> pd.DataFrame | None:
    """The uncertainty draws every candidate is scored on (None without an uncertainty file)."""
    unc = problem.uncertainty
    if unc is None:
        return None
    return unc.spec.sample(unc.draws, seed=unc.seed, scheme=unc.scheme)


def _search(ev: Evaluator, problem: Problem, *, init, progress, label) -> SearchResult:
    if problem.method == "de":
        return differential_evolution(ev, problem, init=init, progress=progress, label=label)
    return nsga2(ev, problem, progress=progress, label=label)


def optimise(problem: Problem, model=None, *, compute: Compute | Executor | None = None,
             progress: bool | None = None, pareto_packages: int = 8) -> Outcome:
    """Run the study: the nominal search; with an uncertainty file also the robust search over
    the same draws for every candidate (seeded with the nominal search's last population), and
    both optima scored under both settings.

    model: the loaded model (default: ``problem.model_path``). compute: ``Compute(workers=K)`` or
    a scheduler address for Dask, or an open ``Executor``. pareto_packages: how many points of a
    Pareto front become packages (spread along the first objective).
    """
    import simulator

    model = model or simulator.load(problem.model_path)
    started = _time.perf_counter()
    with executor(compute) as ex:
        nominal_ev = Evaluator(model, problem, draws=None, executor=ex)
        nominal = _search(nominal_ev, problem, init=None, progress=progress, label="nominal")
        draws = draws_of(problem)
        robust = robust_ev = None
        if draws is not None:
            robust_ev = Evaluator(model, problem, draws=draws, executor=ex)
            init = _robust_start(problem, nominal) if problem.method == "de" else None
            gens = problem.search.robust_generations or problem.search.generations
            robust_problem = replace(problem, search=replace(problem.search, generations=gens))
            robust = _search(robust_ev, robust_problem, init=init, progress=progress, label="robust")
        packages = _packages(problem, nominal, robust, nominal_ev, robust_ev, pareto_packages)
        description = ex.description
    runs = nominal_ev.count.members + (robust_ev.count.members if robust_ev else 0)
    meta = {"problem": str(problem.path), "model": str(model.path), "model_sha256": model.sha256,
            "method": problem.method, "seed": problem.search.seed, "population": problem.search.population,
            "generations": problem.search.generations, "integration": "euler",
            "final_time": nominal_ev.final, "fixed": dict(problem.fixed), "compute": description,
            "member_runs": runs, "seconds": _time.perf_counter() - started}
    if problem.uncertainty is not None:
        u = problem.uncertainty
        meta.update(draws=u.draws, draw_seed=u.seed, measure=u.measure, share=u.share,
                    uncertain=list(u.spec.names))
    return Outcome(problem, nominal, robust, packages, draws, meta)


def _robust_start(problem: Problem, nominal: SearchResult) -> np.ndarray:
    """The robust search's first population: the nominal optimum, packages on the way to it from
    the baseline package (under uncertainty a budget usually binds earlier on that way), and a
    Latin hypercube (the search seed) for the rest. The nominal search's last population crowds
    around a point that may fail under uncertainty."""
    from scipy.stats import qmc

    dims = len(problem.decisions)
    size = max(5, dims * max(2, -(-problem.search.population // dims)))
    lows, highs = np.array(problem.bounds()).T
    init = lows + qmc.LatinHypercube(d=dims, seed=problem.search.seed).random(size) * (highs - lows)
    best = nominal.X[nominal.best]
    base = np.clip([d.lever.baseline for d in problem.decisions], lows, highs)
    way = size // 2
    init[0] = best
    for i, t in enumerate(np.linspace(0.3, 0.95, way - 1) if way > 1 else []):
        init[1 + i] = base + t * (best - base)
    return init


def _packages(problem, nominal, robust, nominal_ev, robust_ev, pareto_packages) -> list:
    out = []

    def add(pid, kind, x):
        x = np.asarray(x, dtype=float)
        rob = robust_ev.evaluate(x[None, :]) if robust_ev is not None else None
        out.append(Package(pid, kind, x, nominal_ev.evaluate(x[None, :]), rob))

    if nominal.best is not None:
        add(f"{problem.id}-nominal", "nominal", nominal.X[nominal.best])
        if robust is not None:
            add(f"{problem.id}-robust", "robust", robust.X[robust.best])
        return out
    front = robust if robust is not None else nominal
    feasible = np.flatnonzero(front.scores.feasible)
    if len(feasible) > pareto_packages:
        feasible = feasible[np.unique(np.linspace(0, len(feasible) - 1, pareto_packages).round().astype(int))]
    for i, row in enumerate(feasible):
        add(f"{problem.id}-pareto-{i + 1:02d}", "pareto", front.X[row])
    return out
