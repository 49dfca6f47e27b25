"""Uncertainty bands of the current scenario: one ensemble over the model's uncertainty file.

The members are drawn once per app (Latin hypercube, fixed seed), so every scenario runs over the
same possible worlds and two scenarios' bands differ by the policy only (common random numbers).
Constants that the scenario itself sets (an assumption moved on the page, a lever) keep the
page's value in every member: the band shows what the page leaves uncertain.

The cost of a request is bounded: the ensemble size is a limit of the app, one ensemble runs at a
time (others wait up to ``band_wait`` seconds, then get a 503), each client address may start only
``band_rate`` ensembles, and results are cached by scenario.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from simulator.errors import NonFiniteError

from .errors import DashboardError, Denied
from .limits import Limits, RateLimiter

PERCENTILES = (5, 25, 50, 75, 95)
SEED = 20260101


class Bands:
    """Percentile bands of a :class:`dashboard.Simulation`'s KPIs under its uncertainties."""

    def __init__(self, sim, path: str | Path, *, limits: Limits | None = None, seed: int = SEED,
                 cache_size: int = 64):
        import sensitivity

        limits = limits or Limits()
        self.sim = sim
        try:
            self.spec = sensitivity.load_uncertainties(path, model=sim.model)
        except (sensitivity.SensitivityError, ValueError) as exc:
            raise DashboardError(f"{path}: {exc}") from None
        self.members = limits.band_members
        self.samples = self.spec.sample(self.members, seed=seed, scheme="latin")
        self.outputs = [k for k in sim.kpis if not sim.model.variables[k].dims]
        self.wait = limits.band_wait
        self.rate_spec = limits.band_rate
        self.rate = RateLimiter(*limits.band_rate)
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._cache_size = cache_size
        self._run_lock = threading.Lock()    # one ensemble at a time: a workshop shares two cores
        self._cache_lock = threading.Lock()

    def describe(self) -> dict:
        return {"members": self.members, "uncertainties": len(self.spec), "percentiles": list(PERCENTILES)}

    def _cached(self, key: str) -> dict | None:
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def compute(self, state: dict | None, client: str = "local") -> dict:
        """Bands of every KPI for ``state``: ``{kpi: {"p5": [...], ..., "p95": [...]}}`` by year.

        Raises :class:`Denied` (429) when ``client`` has started too many ensembles, (503) when
        the ensemble that runs now does not finish within the wait.
        """
        norm = self.sim.normalize(state)
        key = self.sim.key(norm)
        hit = self._cached(key)
        if hit is not None:
            return {**hit, "cached": True}
        wait = self.rate.peek(client)
        if wait:
            n, per = self.rate_spec
            raise Denied(429, f"too many uncertainty bands asked from this computer: at most {n} per {per:g} s; "
                              f"try again in {math.ceil(wait)} s", {"Retry-After": str(math.ceil(wait))})
        if not self._run_lock.acquire(timeout=self.wait):
            raise Denied(503, "the uncertainty bands of another scenario are being computed; try again shortly",
                         {"Retry-After": "5"})
        try:
            hit = self._cached(key)           # computed while this request waited
            if hit is not None:
                return {**hit, "cached": True}
            self.rate.take(client)
            out = self._run(norm)
        finally:
            self._run_lock.release()
        with self._cache_lock:
            self._cache[key] = out
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return {**out, "cached": False}

    def _run(self, state: dict) -> dict:
        import sensitivity

        started = time.perf_counter()
        params = self.sim.params(state)
        # what the page sets is not uncertain in this view: those columns are left out
        free = [c for c in self.samples.columns if c not in params]
        samples = self.samples[free] if free else self.samples.iloc[:, :0]
        options = sensitivity.EnsembleOptions(outputs=tuple(self.outputs), run_options=self.sim.options,
                                              progress=False)
        if free:
            try:
                ens = sensitivity.run_ensemble(self.sim.model, samples, params=params, options=options)
            except NonFiniteError as exc:   # a corner of the uncertainty breaks the model: say which
                raise DashboardError(f"uncertainty bands: {exc}") from None
            arrays = {k: ens.dataset[k].transpose("member", "time").to_numpy() for k in self.outputs}
        else:   # everything uncertain is set by the page: the band is the run itself
            data = self.sim.run(state)
            arrays = {k: np.asarray(data.series[k])[None, :] for k in self.outputs}
        bands = {}
        for name, values in arrays.items():
            q = np.percentile(values, PERCENTILES, axis=0)
            bands[name] = {f"p{p}": [_num(v) for v in q[i]] for i, p in enumerate(PERCENTILES)}
        return {"bands": bands, "members": self.members, "fixed": sorted(set(self.samples.columns) - set(free)),
                "seconds": round(time.perf_counter() - started, 3)}


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None
