"""Scoring candidate packages: a whole population × every uncertainty draw as one ensemble.

A population of S candidate packages, each under the same n uncertainty draws (common random
numbers: draw d is the same world for every candidate), becomes S·n ensemble members, candidate
major. The members are cut into chunks of whole candidates and run by the sensitivity layer's
chunk function on its executor (this process or a Dask cluster): this module only turns lever
values into per-member time profiles and reads objectives and constraints out of the runs.
"""
from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from policies import Setting, horizon, load_scenario, profile_points, scenario_params
from policies.errors import PolicyError
from sensitivity.ensemble import Chunk, ChunkJob, run_chunk, save_times
from simulator import RunOptions

from .problem import Objective, Problem, Quantity

METHOD = "euler"   # Vensim's fixed step: a member's run never depends on the other members


@dataclass(frozen=True)
class PackageChunk:
    """Members ``start .. start + size - 1``: uncertainty samples (arrays of ``size``) and, per lever
    parameter, its profile (times, fraction of the change reached) with per-member target values."""

    start: int
    size: int
    params: dict
    levers: dict   # parameter name -> (times, fraction, baseline value, values (size,))


def run_packages(model, job: ChunkJob, shared, chunk: PackageChunk) -> dict[str, np.ndarray]:
    """Run one chunk of candidate packages; a pure function, so any executor may ship it.

    Each lever becomes a DataFrame over its break times with one column per member.
    """
    frames = {}
    for name, (times, frac, base, values) in chunk.levers.items():
        values = np.asarray(values, dtype=float)
        full = np.broadcast_to(values[None, :], (len(times), len(values)))
        # the exact target value where the change is complete (base + (v - base) * 1 may differ by an ulp)
        mat = np.where(frac[:, None] == 1.0, full, base + (values - base)[None, :] * frac[:, None])
        frames[name] = pd.DataFrame(mat, index=np.asarray(times, dtype=float))
    return run_chunk(model, job, {**shared, **frames}, Chunk(chunk.start, chunk.size, chunk.params))


@dataclass
class Scores:
    """Scores of S candidates under n draws.

    values: (S, n, K) objective quantities per draw (natural units); slack: (S, n, C) constraint
    violation per draw (> 0 fails); objective: (S, K) robust value of each objective (the measure's
    unit: the quantity's, or a share, or a regret); fitness: (S, K) what the minimisers see;
    violation: (S, C) slack at the required share of draws (<= 0: the constraint holds).
    """

    values: np.ndarray
    slack: np.ndarray
    objective: np.ndarray
    fitness: np.ndarray
    violation: np.ndarray

    @property
    def feasible(self) -> np.ndarray:
        return np.all(self.violation <= 0, axis=1) if self.violation.size else np.ones(len(self.values), bool)

    @property
    def share_ok(self) -> np.ndarray:
        """(S,) share of draws in which every constraint holds."""
        if not self.slack.size:
            return np.ones(len(self.values))
        return np.mean(np.all(self.slack <= 0, axis=2), axis=1)

    def take(self, rows) -> Scores:
        return Scores(self.values[rows], self.slack[rows], self.objective[rows], self.fitness[rows],
                      self.violation[rows])


@dataclass
class Counter:
    candidates: int = 0
    members: int = 0
    seconds: float = 0.0
    runs: list = field(default_factory=list)   # (candidates, members, seconds) per ensemble run


class Evaluator:
    """Scores candidate lever settings (rows of X, one column per decision) of ``problem``.

    draws: DataFrame draw × uncertain parameter (None: the model's own values, one draw).
    executor: a ``sensitivity.Executor`` (this process or Dask). Results of rows already scored are
    kept, so scipy's separate constraint and objective calls cost one ensemble run.
    """

    def __init__(self, model, problem: Problem, *, draws: pd.DataFrame | None, executor):
        self.model, self.problem, self.executor = model, problem, executor
        self.draws = draws
        self.n = 1 if draws is None else len(draws)
        self.count = Counter()
        self.t0, self.tf = horizon(model)
        self.final = self._final_time()
        options = RunOptions(final_time=self.final)
        self.times = save_times(model, options)
        cat = problem.catalogue
        self.outputs = tuple(dict.fromkeys(
            [o.quantity.variable for o in problem.objectives if o.quantity.variable]
            + [c.quantity.variable for c in problem.constraints if c.quantity.variable]
            + ([cat.costs.annual, cat.costs.cumulative] if self._uses_cost() else [])))
        self.job = ChunkJob(self.outputs, None, METHOD, options, 0)
        self.shared = {**self._baseline_params(), **problem.fixed}
        self.profiles = [self._profile(d) for d in problem.decisions]
        self._cache: dict[bytes, tuple] = {}
        self._best_per_draw: np.ndarray | None = None   # max_regret: best signed value per draw
        base_x = np.array([[d.lever.baseline for d in problem.decisions]])
        self.base = self._run(base_x)  # every decision at its baseline, under each draw
        self.base = {k: v[0] for k, v in self.base.items()}   # (n, T)

    # ------------------------------------------------------------------ set-up
    def _uses_cost(self) -> bool:
        items = (*self.problem.objectives, *self.problem.constraints)
        return any(i.quantity.fiscal for i in items)

    def _final_time(self) -> float:
        """The last year any score reads: runs stop there (a fiscal cost without a window: the run)."""
        ends = []
        for item in (*self.problem.objectives, *self.problem.constraints):
            q = item.quantity
            if q.year is not None:
                ends.append(q.year)
            elif q.window is not None:
                ends.append(q.window[1])
            else:
                ends.append(self.tf)
        return float(max(ends))

    def _baseline_params(self) -> dict:
        """The baseline scenario's settings of every lever that is not a decision."""
        cat = self.problem.catalogue
        try:
            base = load_scenario("baseline", catalogue=cat)
        except PolicyError:
            return {}
        decided = {d.id for d in self.problem.decisions}
        kept = {k: v for k, v in base.levers.items() if k not in decided}
        if not kept and not base.shocks:
            return {}
        from dataclasses import replace

        return scenario_params(replace(base, levers=kept), self.model, catalogue=cat)

    def _profile(self, d) -> list:
        """(parameter name, break times, fraction of the change reached) of one decision lever."""
        setting = Setting(item=d.id, value=1.0, start=d.start, ramp=d.ramp, end=d.end)
        times, frac = profile_points(setting, 0.0, 1.0, self.t0, self.tf)
        names = [d.lever.constant]
        if d.lever.subscript:
            names = [f"{d.lever.constant}[{e}]" for e in self.model.subscripts[d.lever.subscript]]
        return [(n, times, frac, d.lever.baseline) for n in names]

    # ------------------------------------------------------------------ running
    def _run(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """{output: (S, n, T)} for candidate rows X, every cell of a subscripted output summed."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        S, n = len(X), self.n
        per_chunk = max(1, self.problem.search.chunk_size // n)
        chunks = []
        for a in range(0, S, per_chunk):
            b = min(a + per_chunk, S)
            k = b - a
            params = {} if self.draws is None else {c: np.tile(self.draws[c].to_numpy(), k) for c in self.draws}
            levers = {}
            for j, prof in enumerate(self.profiles):
                values = np.repeat(X[a:b, j], n)
                for name, times, frac, base in prof:
                    levers[name] = (times, frac, base, values)
            chunks.append(PackageChunk(a * n, k * n, params, levers))
        out = {name: np.empty((S, n, len(self.times))) for name in self.outputs}
        started = _time.perf_counter()
        for i, part in self.executor.map_chunks(run_packages, self.model, self.job, self.shared, chunks):
            a, size = chunks[i].start // n, chunks[i].size // n
            for name in self.outputs:
                arr = part[name]
                arr = arr.reshape(arr.shape[0], -1, arr.shape[-1]).sum(axis=1)   # (T, members)
                out[name][a:a + size] = arr.T.reshape(size, n, -1)
        seconds = _time.perf_counter() - started
        self.count.candidates += S
        self.count.members += S * n
        self.count.seconds += seconds
        self.count.runs.append((S, S * n, seconds))
        return out

    def _quantity(self, q: Quantity, arrays: dict) -> np.ndarray:
        """(S, n) values of one quantity."""
        cat = self.problem.catalogue
        t = self.times
        lo, hi = q.window if q.window is not None else (t[0], t[-1])
        mask = (t >= lo - 1e-9) & (t <= hi + 1e-9)
        if q.fiscal == "yearly":
            v = arrays[cat.costs.annual] - (self.base[cat.costs.annual][None] if q.extra else 0.0)
            return v[..., mask].max(axis=-1)
        if q.fiscal == "cumulative":
            v = arrays[cat.costs.cumulative] - (self.base[cat.costs.cumulative][None] if q.extra else 0.0)
            idx = np.flatnonzero(mask)
            return v[..., idx[-1]] - v[..., idx[0]]
        v = arrays[q.variable]
        if q.year is not None:
            return v[..., int(np.argmin(np.abs(t - q.year)))]
        return getattr(np, q.aggregate)(v[..., mask], axis=-1)

    def evaluate(self, X) -> Scores:
        """Scores of the rows of X (S, D); rows scored before are not run again."""
        X = np.asarray(X, dtype=float).reshape(-1, len(self.problem.decisions))
        if not len(X):   # scipy asks for the energies of no feasible member at all
            K, C = len(self.problem.objectives), len(self.problem.constraints)
            return self._score(np.empty((0, self.n, K)), np.empty((0, self.n, C)))
        keys = [row.tobytes() for row in X]
        fresh_keys = [k for k in dict.fromkeys(keys) if k not in self._cache]
        if fresh_keys:
            rows = np.array([np.frombuffer(k) for k in fresh_keys])
            arrays = self._run(rows)
            values = np.stack([self._quantity(o.quantity, arrays) for o in self.problem.objectives], axis=-1)
            slack = np.stack([c.slack(self._quantity(c.quantity, arrays)) for c in self.problem.constraints],
                             axis=-1) if self.problem.constraints else np.zeros((len(rows), self.n, 0))
            for k, key in enumerate(fresh_keys):
                self._cache[key] = (values[k], slack[k])
        values = np.stack([self._cache[k][0] for k in keys])
        slack = np.stack([self._cache[k][1] for k in keys])
        return self._score(values, slack)

    # ------------------------------------------------------------------ robust measures
    def _violation(self, slack: np.ndarray) -> np.ndarray:
        """(S, C): the slack that the required share of draws stays within."""
        if slack.shape[-1] == 0:
            return np.zeros((len(slack), 0))
        share = self.problem.uncertainty.share if (self.problem.uncertainty and self.n > 1) else 1.0
        k = max(1, math.ceil(share * self.n - 1e-9)) - 1
        return np.sort(slack, axis=1)[:, k, :]

    def _score(self, values: np.ndarray, slack: np.ndarray) -> Scores:
        violation = self._violation(slack)
        unc = self.problem.uncertainty
        objective = np.empty(values.shape[::2])
        fitness = np.empty_like(objective)
        ok_draw = np.all(slack <= 0, axis=2) if slack.shape[-1] else np.ones(values.shape[:2], bool)
        for k, obj in enumerate(self.problem.objectives):
            v = values[..., k]
            measure = unc.measure if (unc is not None and self.n > 1) else "nominal"
            val, fit = self._measure(measure, obj, v, ok_draw, violation)
            objective[:, k], fitness[:, k] = val, fit
        return Scores(values, slack, objective, fitness, violation)

    def _measure(self, measure: str, obj: Objective, v: np.ndarray, ok_draw, violation):
        sign = obj.sign
        if measure == "nominal":
            return v[:, 0], sign * v[:, 0]
        if measure == "mean":
            m = v.mean(axis=1)
            return m, sign * m
        if measure == "p10":
            # the level a package reaches or beats in 90 % of the draws
            q = np.percentile(v, 10 if obj.direction == "maximise" else 90, axis=1)
            return q, sign * q
        if measure == "satisficing":
            thr = self.problem.uncertainty.threshold
            good = (v >= thr) if obj.direction == "maximise" else (v <= thr)
            share = np.mean(good & ok_draw, axis=1)
            return share, -share
        # max_regret: against the best package found so far in each draw (among feasible ones)
        better = -sign * v   # larger is better
        feasible = np.all(violation <= 0, axis=1) if violation.size else np.ones(len(v), bool)
        if feasible.any():
            best = better[feasible].max(axis=0)
            self._best_per_draw = best if self._best_per_draw is None else np.maximum(self._best_per_draw, best)
        ref = self._best_per_draw if self._best_per_draw is not None else better.max(axis=0)
        regret = np.maximum(ref[None, :] - better, 0.0).max(axis=1)
        return regret, regret

    def regret_reference(self) -> np.ndarray | None:
        """max_regret: the best value per draw among the feasible packages seen (signed: larger is better)."""
        return self._best_per_draw
