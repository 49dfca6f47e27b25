"""The dashboard's link to the library: a scenario state in, yearly KPI series out.

A *state* is plain data, the same shape the page keeps in its URL::

    {"levers": {"subsidy": {"value": 0.1, "start": 2026, "ramp": 2}},
     "shocks": {"tariff": {"value": 0.25}},
     "assumptions": {"lbe": 0.0}}

Levers and shocks are validated and applied by :mod:`policies` (never by the dashboard), the
assumptions by :mod:`dashboard.assumptions`. Runs are pure, so results are cached by the
canonical form of the state; a cache entry can never leak into another scenario.
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import policies
import simulator
from simulator.names import suggest

from .assumptions import Assumption, load_assumptions
from .errors import DashboardError

SECTIONS = ("levers", "shocks")


@dataclass(frozen=True)
class ModelSetup:
    """What the dashboard needs to know about one model: its data files and how to present it.

    ``innosim serve`` builds one per registered model from its ``model.toml``. ``catalogue`` is
    the lever catalogue (``levers.toml``; it names the model file unless ``model`` is given);
    ``notice`` (zh/en) is shown on every page of the model, e.g. an uncalibrated model's warning;
    ``charts`` are the KPIs charted first (default: the catalogue's headline KPIs).
    ``calibration`` (the calibration set-up, which names the recorded data), ``uncertainties``,
    ``documentation`` (the model's documentation file) and ``description`` (zh/en) feed the
    charts' data points, the uncertainty bands and the documentation page; each is optional.
    """

    name: str
    title: dict
    catalogue: Path
    model: Path | None = None
    assumptions: Path | None = None
    exercises: Path | None = None
    notice: dict | None = None
    charts: tuple = field(default_factory=tuple)
    calibration: Path | None = None
    uncertainties: Path | None = None
    documentation: Path | None = None
    description: dict | None = None


@dataclass(frozen=True)
class RunData:
    """Yearly values of one run: ``series[name]`` is (T,) or (T, regions) for per-region outputs."""

    years: np.ndarray
    series: dict
    seconds: float

    def at(self, name: str, year: float, cities: list | None = None, city_index: dict | None = None) -> float:
        """Value of ``name`` in ``year``; a per-region output is summed over ``cities``."""
        k = int(np.argmin(np.abs(self.years - year)))
        arr = self.series[name][k]
        if np.ndim(arr) == 0:
            return float(arr)
        if cities:
            return float(sum(arr[city_index[c]] for c in cities))
        return float(np.sum(arr))


def run_options() -> simulator.RunOptions | None:
    """The fastest engine backend available: the fused numba backend when the engine has it."""
    names = {f.name for f in dataclasses.fields(simulator.RunOptions)}
    return simulator.RunOptions(backend="auto") if "backend" in names else None


class Simulation:
    """Model, lever catalogue and assumptions, with a cache of runs keyed by canonical state.

    ``catalogue`` is the model's :class:`policies.Catalogue` (it names the model file unless
    ``model_path`` is given); ``assumptions_path`` its assumptions panel file (none: no panel).
    """

    def __init__(self, model_path: str | Path | None = None, *, catalogue: policies.Catalogue,
                 assumptions_path: str | Path | None = None, cache_size: int = 512,
                 setup: ModelSetup | None = None):
        self.catalogue = catalogue
        self.setup = setup
        self.model = simulator.load(model_path or self.catalogue.model_path)
        policies.check_against_model(self.catalogue, self.model)
        self.assumptions: dict[str, Assumption] = (
            load_assumptions(self.model, assumptions_path) if assumptions_path else {})
        self.cities: list[str] = policies.regions(self.model, self.catalogue) or []
        self.city_index = {c: i for i, c in enumerate(self.cities)}
        kpis = self.catalogue.kpis
        self.kpis: list[str] = list(kpis)
        self.per_city: list[str] = [k.per_city for k in kpis.values() if k.per_city]
        self.cumulative_cost = self.catalogue.costs.cumulative
        self.outputs = list(dict.fromkeys([*self.kpis, *self.per_city, self.cumulative_cost]))
        self.options = run_options()
        self.version = self.model.sha256[:12]
        self._cache: OrderedDict[str, RunData] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._pending: dict[str, Future] = {}
        self.last_backend = "not run yet"
        self.warm = "not started"   # state of the fused-kernel warm-up (see warm_up)
        self._prepared = None  # Model.prepare's runner once warm_up has compiled the kernel

    @classmethod
    def from_setup(cls, setup: ModelSetup, *, cache_size: int = 512) -> "Simulation":
        """The simulation of a model described by ``setup``."""
        return cls(setup.model, catalogue=policies.load_catalogue(setup.catalogue),
                   assumptions_path=setup.assumptions, cache_size=cache_size, setup=setup)

    @property
    def name(self) -> str:
        return self.setup.name if self.setup else self.model.path.stem

    @property
    def title(self) -> dict:
        return self.setup.title if self.setup else {"zh": self.model.path.name, "en": self.model.path.name}

    @property
    def notice(self) -> dict | None:
        return self.setup.notice if self.setup else None

    @property
    def chart_kpis(self) -> list[str]:
        """The KPIs charted first: the set-up's, else the catalogue's headline KPIs."""
        named = [k for k in (self.setup.charts if self.setup else ()) if k in self.catalogue.kpis]
        return (named or self.catalogue.headline_kpis)[:4]

    # ------------------------------------------------------------------ state
    def normalize(self, state: dict | None) -> dict:
        """Validate ``state`` and drop settings that change nothing (so equal runs share a cache key).

        Raises :class:`policies.PolicyError` or :class:`DashboardError` with a readable message.
        """
        state = dict(state or {})
        unknown = set(state) - {*SECTIONS, "assumptions"}
        if unknown:
            key = sorted(unknown)[0]
            raise DashboardError(f"unknown state key {key!r}.{suggest(key, [*SECTIONS, 'assumptions'])}")
        out: dict = {"levers": {}, "shocks": {}, "assumptions": {}}
        start = self.catalogue.default_start
        for section in SECTIONS:
            for item_id, raw in (state.get(section) or {}).items():
                if not isinstance(raw, dict):
                    raw = {"value": raw}
                setting = {k: v for k, v in raw.items() if v is not None}
                item = self.catalogue.items.get(item_id)
                if item is None:   # let policies name the problem (unknown id, lever under shocks ...)
                    out[section][item_id] = setting
                    continue
                if setting.get("start") == start:
                    setting.pop("start")
                if setting.get("ramp") == 0:
                    setting.pop("ramp")
                if isinstance(setting.get("cities"), list):
                    cities = sorted(set(setting["cities"]), key=lambda c: self.city_index.get(c, 1e9))
                    if cities == self.cities:
                        setting.pop("cities")
                    else:
                        setting["cities"] = cities
                alloc = setting.get("allocation")
                if isinstance(alloc, dict):
                    alloc = {c: v for c, v in alloc.items() if v != item.baseline}
                    setting["allocation"] = alloc
                    if not alloc:
                        continue
                elif setting.get("value") == item.baseline:
                    continue
                out[section][item_id] = setting
        for aid, value in (state.get("assumptions") or {}).items():
            a = self.assumptions.get(aid)
            if a is None:
                raise DashboardError(f"unknown assumption {aid!r}.{suggest(aid, sorted(self.assumptions))}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise DashboardError(f"assumptions.{aid} must be a number, got {value!r}")
            if not a.low <= value <= a.high:
                raise DashboardError(f"assumptions.{aid} = {value:g} is outside the documented range "
                                     f"{a.low:g}..{a.high:g} of {a.constant!r}")
            if value != a.baseline:
                out["assumptions"][aid] = float(value)
        self.scenario(out)   # validates levers and shocks
        return out

    def scenario(self, state: dict) -> policies.Scenario:
        return policies.scenario_from_dict(
            {"id": "dashboard", "levers": state.get("levers", {}), "shocks": state.get("shocks", {})},
            source="scenario", catalogue=self.catalogue, cities=self.cities)

    @staticmethod
    def key(state: dict) -> str:
        return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def params(self, state: dict) -> dict:
        """Parameter overrides for ``Model.run``: the scenario's levers and shocks, then assumptions."""
        params = policies.scenario_params(self.scenario(state), self.model, catalogue=self.catalogue)
        for aid, value in state.get("assumptions", {}).items():
            params[self.assumptions[aid].constant] = float(value)
        return params

    def warm_up(self) -> str:
        """Compile the engine's fused kernel now, so that runs are fast from the first slider move.

        Compiling takes tens of seconds the first time on a machine (numba then caches it on disk);
        until it is ready, runs take the numpy path and the dashboard stays usable. Returns the
        backend the warm-up run used.
        """
        if self.options is None:
            self.warm = "numpy (this engine has no fused backend)"
            return self.warm
        self.warm = "compiling"
        opts = dataclasses.replace(self.options, backend="numba")
        try:
            if hasattr(self.model, "prepare"):
                # compiled once, then every run skips Model.run's fixed costs
                self._prepared = self.model.prepare(method="euler", outputs=self.outputs, options=self.options)
                self.warm = self._prepared.backend
                return self.warm
            res = self.model.run(self.params(self.normalize({})), method="euler", outputs=self.outputs, options=opts)
            self.warm = str(res.metadata.get("backend", "numpy"))
        except Exception as exc:  # noqa: BLE001 - the numpy path still works; say why in /api/health
            self.warm = f"numpy (warm-up failed: {type(exc).__name__}: {exc})"
        return self.warm

    # ------------------------------------------------------------------ runs
    def run(self, state: dict | None = None) -> RunData:
        """The run of a state (validated and normalised here), from the cache when possible."""
        norm = self.normalize(state)
        key = self.key(norm)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            # one computation per state: a second request for it waits for the first
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = Future()
        if not owner:
            return pending.result()
        try:
            data = self._compute(norm)
        except BaseException as exc:
            with self._lock:
                self._pending.pop(key, None)
            pending.set_exception(exc)
            raise
        with self._lock:
            self._cache[key] = data
            self._pending.pop(key, None)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        pending.set_result(data)
        return data

    def _compute(self, state: dict) -> RunData:
        started = time.perf_counter()
        kwargs = {"options": self.options} if self.options is not None else {}
        if self._prepared is not None:
            res = self._prepared.run(self.params(state))
        else:
            res = self.model.run(self.params(state), method="euler", outputs=self.outputs, **kwargs)
        series = {name: np.asarray(res[name])[..., 0] for name in self.outputs}
        self.last_backend = str(res.metadata.get("backend", "numpy"))
        return RunData(years=np.asarray(res.times, dtype=float), series=series,
                       seconds=time.perf_counter() - started)

    def cached(self, state: dict) -> bool:
        """Whether the run of a (normalised) state is in the cache."""
        with self._lock:
            return self.key(state) in self._cache

    def baseline(self) -> RunData:
        """The reference run: no lever, shock or assumption changed."""
        return self.run({})

    def world(self, state: dict) -> RunData:
        """The same shocks and assumptions without any lever: what the levers' cost is measured against."""
        return self.run({"shocks": state.get("shocks", {}), "assumptions": state.get("assumptions", {})})

    def extra_cost(self, state: dict, data: RunData | None = None) -> np.ndarray:
        """Cumulative extra fiscal cost of the levers by year (亿元), against :meth:`world`."""
        data = data or self.run(state)
        return data.series[self.cumulative_cost] - self.world(state).series[self.cumulative_cost]

    def value(self, data: RunData, name: str, year: float, cities: list | None = None) -> float:
        return data.at(name, year, cities, self.city_index)
