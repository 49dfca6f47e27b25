"""The searches: scipy's differential evolution (one objective) and pymoo's NSGA-II (a Pareto front).

Both hand the optimiser a whole generation at once (scipy: ``vectorized=True`` with
``updating="deferred"``; pymoo: a population-wise problem), so each generation is one ensemble run
of the evaluator. Seeds are explicit; the same problem and seed give the same result.
"""
from __future__ import annotations

import math
import sys
import time as _time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .evaluate import Evaluator, Scores
from .problem import Problem


@dataclass
class SearchResult:
    """X: the final population (differential evolution) or the Pareto set (NSGA-II), one row per
    package; scores: their scores; best: row of the best package (one objective) or None;
    history: one row per generation (evaluations, member runs, seconds, best objective)."""

    method: str
    X: np.ndarray
    scores: Scores
    best: int | None
    history: pd.DataFrame
    success: bool
    message: str


class _Progress:
    """A tqdm bar: generation, best objective so far, evaluations per second."""

    def __init__(self, total: int, label: str, enabled: bool | None):
        self.bar = None
        if enabled is False or (enabled is None and not sys.stderr.isatty()):
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=label, unit="gen", file=sys.stderr)

    def update(self, best: float, rate: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"best {best:.6g}, {rate:,.0f} runs/s")
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _History:
    def __init__(self, ev: Evaluator, label: str, total: int, progress):
        self.ev, self.rows, self.started = ev, [], _time.perf_counter()
        self.bar = _Progress(total, label, progress)

    def record(self, generation: int, best: float, feasible: float) -> None:
        c = self.ev.count
        seconds = _time.perf_counter() - self.started
        self.rows.append({"generation": generation, "candidates": c.candidates, "member_runs": c.members,
                          "seconds": seconds, "best_objective": best, "feasible_share": feasible})
        self.bar.update(best, c.members / c.seconds if c.seconds else 0.0)

    def frame(self) -> pd.DataFrame:
        self.bar.close()
        return pd.DataFrame(self.rows, columns=["generation", "candidates", "member_runs", "seconds",
                                                "best_objective", "feasible_share"])


def _rows(x) -> np.ndarray:
    """scipy's vectorized calls pass (D, S), single points (D,): candidates as rows (S, D)."""
    x = np.asarray(x, dtype=float)
    return x[None, :] if x.ndim == 1 else x.T


def differential_evolution(ev: Evaluator, problem: Problem, *, init: np.ndarray | None = None,
                           progress: bool | None = None, label: str = "search") -> SearchResult:
    """Best package for one objective with scipy's differential evolution (constraints by
    feasibility rules, every generation scored as one ensemble)."""
    from scipy.optimize import NonlinearConstraint
    from scipy.optimize import differential_evolution as scipy_de

    s = problem.search
    dims = len(problem.decisions)
    hist = _History(ev, label, s.generations, progress)

    def objective(x):
        f = ev.evaluate(_rows(x)).fitness[:, 0]
        return f if np.ndim(x) > 1 else float(f[0])

    def constraint(x):
        v = ev.evaluate(_rows(x)).violation
        return v.T if np.ndim(x) > 1 else v[0]

    cons = () if not problem.constraints else (NonlinearConstraint(constraint, -np.inf, 0.0),)
    gen = [0]

    def callback(intermediate_result):
        gen[0] += 1
        sc = ev.evaluate(intermediate_result.x[None, :])
        hist.record(gen[0], float(sc.objective[0, 0]), float(sc.feasible[0]))

    if init is None:
        init_arg = "latinhypercube"
        popsize = max(2, math.ceil(s.population / dims))
    else:
        init_arg = np.clip(np.asarray(init, dtype=float), [d.low for d in problem.decisions],
                           [d.high for d in problem.decisions])
        popsize = max(2, math.ceil(len(init_arg) / dims))
    res = scipy_de(objective, problem.bounds(), constraints=cons, maxiter=s.generations, popsize=popsize,
                   tol=s.tolerance, atol=0.0, rng=s.seed, init=init_arg, polish=s.polish,
                   vectorized=True, updating="deferred", callback=callback)
    population = getattr(res, "population", None)
    X = np.vstack([res.x[None, :], population]) if population is not None else res.x[None, :]
    scores = ev.evaluate(X)
    feasible = bool(scores.feasible[0])
    message = str(res.message) if feasible else "no candidate met every constraint: " + str(res.message)
    return SearchResult("differential evolution (scipy)", X, scores, 0, hist.frame(), feasible, message)


def nsga2(ev: Evaluator, problem: Problem, *, progress: bool | None = None, label: str = "search") -> SearchResult:
    """The Pareto front of two or more objectives with pymoo's NSGA-II (constraints as inequality
    constraints g <= 0)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.callback import Callback
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.optimize import minimize

    _quiet_pymoo()
    s = problem.search
    lows = np.array([d.low for d in problem.decisions])
    highs = np.array([d.high for d in problem.decisions])
    n_con = len(problem.constraints)

    class _Problem(PymooProblem):
        def __init__(self):
            super().__init__(n_var=len(lows), n_obj=len(problem.objectives), n_ieq_constr=n_con, xl=lows, xu=highs)

        def _evaluate(self, X, out, *args, **kwargs):
            sc = ev.evaluate(X)
            out["F"] = sc.fitness
            if n_con:
                out["G"] = sc.violation

    hist = _History(ev, label, s.generations, progress)

    class _Record(Callback):
        def notify(self, algorithm):
            F = algorithm.opt.get("F")
            feas = np.ravel(algorithm.opt.get("CV")) <= 0
            best = float(np.min(F[:, 0])) * problem.objectives[0].sign if len(F) else float("nan")
            hist.record(int(algorithm.n_gen), best, float(np.mean(feas)) if len(feas) else 0.0)

    res = minimize(_Problem(), NSGA2(pop_size=s.population), ("n_gen", s.generations), seed=s.seed,
                   callback=_Record(), verbose=False)
    X = res.X if res.X is not None else res.pop.get("X")
    X = np.atleast_2d(X)
    scores = ev.evaluate(X)
    order = np.argsort(scores.objective[:, 0] * problem.objectives[0].sign, kind="stable")
    X, scores = X[order], scores.take(order)
    ok = bool(scores.feasible.any())
    message = f"{len(X)} non-dominated packages" if ok else "no candidate met every constraint"
    return SearchResult("NSGA-II (pymoo)", X, scores, None, hist.frame(), ok, message)


def _quiet_pymoo() -> None:
    try:
        from pymoo.config import Config

        Config.warnings["not_compiled"] = False
    except (ImportError, AttributeError, KeyError):  # pragma: no cover - depends on the pymoo version
        pass
