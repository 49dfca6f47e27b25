"""Uncertain parameters (EMA's X): distributions, the TOML specification, sampling.

An uncertainty is an *assumption* of the model (a calibrated or assumed constant), never a lever
(a decision) or a shock (a scenario input): those belong to scenarios. Every distribution maps the
unit interval onto parameter values through its quantile function, so one unit-hypercube design
(random, Latin, Sobol, Morris) serves every method, and SALib works in the unit space.

File format (each bundled model's ``models/<name>/uncertainties.toml`` is a worked example)::

    [spec]
    model = "../<name>.mdl"    # optional, relative to this file
    description = "..."

    [uncertainties."Demand Elasticity"]
    distribution = "normal"    # uniform | triangular | normal | lognormal
    mean = 4.0
    sd = 1.0
    min = 2.0                  # optional truncation of normal / lognormal
    max = 6.0
    source = "[ref:key, Table 2]"   # a reference key of docs/references.md with a section
    assumption = false

    [uncertainties."Depreciation Rate"]   # no distribution: uniform over the model's range
    source = "model documentation range"

Without ``distribution`` (or with ``distribution = "uniform"`` and no ``min``/``max``) the range is
the model's: the ``range: lo..hi`` of the variable's documentation when it has one, else the
``[min,max]`` of its Vensim units field.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.names import normalize, suggest
from simulator.tomlfile import finite_number, read_toml, short

from .distributions import TAIL as TAIL  # re-exported: the tail cut is part of the file format
from .distributions import Distribution, LogNormal, Normal, Triangular, Uniform
from .errors import UncertaintySpecError

MAX_NAME = 200      # characters of a parameter key
MAX_SOURCE = 2000   # characters of a source text

CONTROL = {"initial_time", "final_time", "time_step", "saveper"}
_RANGE = re.compile(r"range:\s*([-+0-9.eE]+)\s*\.\.\s*([-+0-9.eE]+)")
_KIND = re.compile(r"kind:\s*(\w+)")


@dataclass(frozen=True)
class Uncertainty:
    """One uncertain parameter: a model constant (``"Name"`` or ``"Name[elem]"``) and its distribution."""

    name: str
    distribution: Distribution
    source: str = ""
    assumption: bool = False


@dataclass(frozen=True)
class UncertaintySpec:
    """An ordered set of independent uncertainties. ``model_path`` is the file's ``[spec] model``."""

    uncertainties: tuple[Uncertainty, ...]
    path: Path | None = None
    description: str = ""
    model_path: Path | None = None

    def __post_init__(self):
        if not self.uncertainties:
            raise UncertaintySpecError(f"{self.path or 'uncertainty spec'}: no uncertainties given")
        seen = set()
        for u in self.uncertainties:
            if normalize(u.name) in seen:
                raise UncertaintySpecError(f"{self.path or 'uncertainty spec'}: {u.name!r} given twice")
            seen.add(normalize(u.name))

    @property
    def names(self) -> list[str]:
        return [u.name for u in self.uncertainties]

    def __len__(self) -> int:
        return len(self.uncertainties)

    def __iter__(self) -> Iterator[Uncertainty]:
        return iter(self.uncertainties)

    def __getitem__(self, name: str) -> Uncertainty:
        for u in self.uncertainties:
            if normalize(u.name) == normalize(name):
                return u
        raise KeyError(f"no uncertainty named {name!r}.{suggest(name, self.names)}")

    def select(self, names) -> UncertaintySpec:
        """The sub-specification of the given parameters, in the given order."""
        return UncertaintySpec(tuple(self[n] for n in names), self.path, self.description, self.model_path)

    def transform(self, unit: np.ndarray) -> np.ndarray:
        """Map points of the unit hypercube, shape (n, D), to parameter values, shape (n, D)."""
        unit = np.asarray(unit, dtype=float)
        if unit.ndim != 2 or unit.shape[1] != len(self):
            raise ValueError(f"expected an array of shape (n, {len(self)}), got {unit.shape}")
        return np.column_stack([u.distribution.ppf(unit[:, j]) for j, u in enumerate(self)])

    def sample(self, n: int, *, seed: int | np.random.Generator, scheme: str = "random") -> pd.DataFrame:
        """``n`` independent draws as a DataFrame (member × parameter).

        scheme: "random" (plain Monte Carlo) or "latin" (Latin hypercube). Same seed, same draws.
        """
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        rng = np.random.default_rng(seed)
        if scheme == "random":
            unit = rng.random((n, len(self)))
        elif scheme == "latin":
            # one point in each of n equal slices of every axis, slices shuffled per axis
            strata = np.argsort(rng.random((n, len(self))), axis=0)
            unit = (strata + rng.random((n, len(self)))) / n
        else:
            raise ValueError(f"unknown sampling scheme {scheme!r}; use 'random' or 'latin'")
        return pd.DataFrame(self.transform(unit), columns=self.names,
                            index=pd.RangeIndex(n, name="member"))

    def unit_problem(self) -> dict:
        """The SALib problem of the unit hypercube (the methods map it through ``transform``)."""
        return {"num_vars": len(self), "names": self.names, "bounds": [[0.0, 1.0]] * len(self)}

    def spans(self) -> np.ndarray:
        """Low and high value of each parameter, shape (D, 2): the support, tails cut at TAIL."""
        return self.transform(np.array([[0.0] * len(self), [1.0] * len(self)])).T

    def medians(self) -> np.ndarray:
        """Median of each parameter, shape (D,)."""
        return self.transform(np.full((1, len(self)), 0.5))[0]

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: distribution, low/median/high, source, assumption flag."""
        spans, med = self.spans(), self.medians()
        return pd.DataFrame(
            {"parameter": self.names,
             "distribution": [u.distribution.describe() for u in self],
             "low": spans[:, 0], "median": med, "high": spans[:, 1],
             "assumption": [u.assumption for u in self],
             "source": [u.source for u in self]})


# ---------------------------------------------------------------------------------------- loading
_META_KEYS = {"distribution", "source", "assumption", "range"}
_DIST_KEYS = {
    "uniform": (("min", "max"), ()),
    "triangular": (("min", "mode", "max"), ()),
    "normal": (("mean", "sd"), ("min", "max")),
    "lognormal": (("median", "sigma"), ("min", "max")),
}


class ModelCatalog:
    """What the uncertainty file needs to know about a model: its constants, ranges and kinds."""

    def __init__(self, model):
        self.model = model
        self.path = getattr(model, "path", "model")
        self.variables = model.variables
        self.subscripts = model.subscripts
        self._norm = {normalize(n): n for n in self.variables}

    def resolve(self, key: str) -> str:
        """The canonical ``Name`` or ``Name[Elem]`` of a user key; ValueError with a suggestion if unknown."""
        base, elems = key.strip(), None
        if base.endswith("]") and "[" in base:
            base, _, inner = base[:-1].partition("[")
            elems = [e.strip() for e in inner.split(",")]
        name = self._norm.get(normalize(base))
        if name is None:
            consts = [n for n, v in self.variables.items() if v.kind == "constant"]
            raise ValueError(f"no constant named {base.strip()!r} in {self.path}.{suggest(base, consts)}")
        var = self.variables[name]
        if var.kind != "constant":
            raise ValueError(f"{name!r} is a {var.kind}, not a constant; only constants can be uncertain")
        if normalize(name) in CONTROL:
            raise ValueError(f"{name!r} is a simulation control setting, not an uncertainty")
        kind = _KIND.search(var.documentation or "")
        if kind and kind.group(1).lower() in ("lever", "shock"):
            what = "a lever (a decision)" if kind.group(1).lower() == "lever" else "a shock (a scenario input)"
            raise ValueError(f"{name!r} is {what}; set it in a scenario, not as an uncertainty")
        if elems is None:
            return name
        if len(elems) != len(var.dims):
            raise ValueError(f"{name!r} has {len(var.dims)} subscripts, {len(elems)} given")
        cells = []
        for dim, e in zip(var.dims, elems):
            options = {normalize(x): x for x in self.subscripts[dim]}
            if normalize(e) not in options:
                raise ValueError(f"{e!r} is not an element of {dim!r}.{suggest(e, self.subscripts[dim])}")
            cells.append(options[normalize(e)])
        return f"{name}[{','.join(cells)}]"

    def default_range(self, key: str) -> tuple[float, float] | None:
        """``range: lo..hi`` of the documentation, else Vensim's [min,max]; None if it spans nothing."""
        var = self.variables[key.partition("[")[0]]
        m = _RANGE.search(var.documentation or "")
        if m:  # a documented range wins; lo == hi documents a value the model treats as known
            try:
                lo, hi = float(m.group(1)), float(m.group(2))
            except ValueError:   # "1.2.3" matches the pattern but is no number
                return None
            return (lo, hi) if lo < hi and math.isfinite(hi - lo) else None
        lo, hi = (list(var.limits) + [None, None])[:2]
        if lo is not None and hi is not None and float(lo) < float(hi) and math.isfinite(float(hi) - float(lo)):
            return float(lo), float(hi)
        return None


def _number(where: str, key: str, value, kind: str) -> float:
    try:
        return finite_number(value, f"{where}: {key}", UncertaintySpecError)
    except UncertaintySpecError as exc:
        if kind in ("normal", "lognormal") and key in ("min", "max") and isinstance(value, float):
            raise UncertaintySpecError(f"{exc} (leave {key} out for no bound)") from None
        raise


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _few(names, limit: int = 5) -> str:
    names = sorted(_clip(n, 40) for n in names)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _check_values(where: str, dist) -> None:
    """The distribution's quantiles must be finite numbers: huge settings can overflow them."""
    with np.errstate(all="ignore"):
        q = dist.ppf(np.linspace(0.0, 1.0, 5))
    if not np.all(np.isfinite(q)):
        raise UncertaintySpecError(f"{where}: {dist.describe()} gives values that are not finite "
                                   "numbers (the settings are too large)")


def _entry(where: str, key: str, table: Mapping, catalog: ModelCatalog | None) -> Uncertainty:
    if not isinstance(table, Mapping):
        raise UncertaintySpecError(f"{where}: expected a table of distribution settings, got {short(table)}")
    if not key.strip() or len(key) > MAX_NAME:
        raise UncertaintySpecError(f"{where}: a parameter name must be 1-{MAX_NAME} characters")
    name = key
    if catalog is not None:
        try:
            name = catalog.resolve(key)
        except ValueError as exc:
            raise UncertaintySpecError(f"{where}: {exc}") from None
    table = dict(table)
    if "range" in table:
        rng = table.pop("range")
        if not (isinstance(rng, list) and len(rng) == 2):
            raise UncertaintySpecError(f"{where}: range must be [min, max], got {short(rng)}")
        if "min" in table or "max" in table:
            raise UncertaintySpecError(f"{where}: give either range or min/max, not both")
        table["min"], table["max"] = rng
    kind = table.get("distribution", "uniform")
    if not isinstance(kind, str) or kind not in _DIST_KEYS:
        raise UncertaintySpecError(f"{where}: unknown distribution {short(kind)}; use one of "
                                   f"{', '.join(_DIST_KEYS)}.{suggest(str(kind), _DIST_KEYS)}")
    required, optional = _DIST_KEYS[kind]
    unknown = set(table) - _META_KEYS - set(required) - set(optional)
    if unknown:
        raise UncertaintySpecError(f"{where}: unknown key(s) {_few(unknown)} for a {kind} "
                                   f"distribution; expected {', '.join(required + optional)}")
    if kind == "uniform" and ("min" not in table or "max" not in table):
        default = catalog.default_range(name) if catalog is not None else None
        if default is None:
            why = "the model documents no range that spans values" if catalog is not None \
                else "no model to take the range from"
            raise UncertaintySpecError(f"{where}: give min and max ({why})")
        table.setdefault("min", default[0])
        table.setdefault("max", default[1])
    missing = [k for k in required if k not in table]
    if missing:
        raise UncertaintySpecError(f"{where}: a {kind} distribution needs {', '.join(missing)}")
    v = {k: _number(where, k, table[k], kind) for k in required + optional if k in table}
    try:
        if kind == "uniform":
            dist = Uniform(v["min"], v["max"])
        elif kind == "triangular":
            dist = Triangular(v["min"], v["mode"], v["max"])
        elif kind == "normal":
            dist = Normal(v["mean"], v["sd"], v.get("min", -math.inf), v.get("max", math.inf))
        else:
            dist = LogNormal(v["median"], v["sigma"], v.get("min", 0.0), v.get("max", math.inf))
    except ValueError as exc:
        raise UncertaintySpecError(f"{where}: {exc}") from None
    _check_values(where, dist)
    source = table.get("source", "")
    assumption = table.get("assumption", False)
    if not isinstance(source, str) or not isinstance(assumption, bool):
        raise UncertaintySpecError(f"{where}: source must be text and assumption true/false")
    if len(source) > MAX_SOURCE:
        raise UncertaintySpecError(f"{where}: source is {len(source)} characters long (at most {MAX_SOURCE})")
    return Uncertainty(name, dist, source, assumption)


def parse_uncertainties(data: Mapping, *, model=None, path: str | Path = "<uncertainties>") -> UncertaintySpec:
    """Build a specification from already-parsed TOML data; ``model`` checks every name."""
    path = Path(path)
    if not isinstance(data, Mapping):
        raise UncertaintySpecError(f"{path}: expected a table, got {short(data)}")
    known = {"spec", "uncertainties"}
    extra = set(data) - known
    if extra:
        raise UncertaintySpecError(f"{path}: unknown top-level key(s) {_few(extra)}; "
                                   "expected [spec] and [uncertainties.\"Name\"] tables")
    table = data.get("uncertainties")
    if not isinstance(table, Mapping) or not table:
        raise UncertaintySpecError(f"{path}: no [uncertainties.\"Name\"] tables found")
    head = data.get("spec", {})
    if not isinstance(head, Mapping) or set(head) - {"model", "description"}:
        raise UncertaintySpecError(f"{path}: [spec] takes only model and description")
    for key in ("model", "description"):
        if key in head and not isinstance(head[key], str):
            raise UncertaintySpecError(f"{path}: [spec] {key} must be text, got {short(head[key])}")
    if "\x00" in head.get("model", ""):
        raise UncertaintySpecError(f"{path}: [spec] model is not a file name")
    catalog = model if isinstance(model, ModelCatalog) or model is None else ModelCatalog(model)
    items = tuple(_entry(f"{path}: [uncertainties.\"{_clip(k)}\"]", k, t, catalog) for k, t in table.items())
    model_path = (path.parent / head["model"]) if "model" in head else None
    return UncertaintySpec(items, path, str(head.get("description", "")), model_path)


def load_uncertainties(path: str | Path, *, model=None) -> UncertaintySpec:
    """Read and validate an uncertainty TOML file (see the module docstring for the format).

    Raises UncertaintySpecError naming the file and the key for a missing file, malformed TOML,
    an unknown parameter (with the closest names), a lever or shock, an unknown distribution,
    reversed bounds or a missing setting.
    """
    path = Path(path)
    if not path.is_file():
        raise UncertaintySpecError(f"{path}: uncertainty file not found")
    data = read_toml(path, "uncertainty file", UncertaintySpecError)
    return parse_uncertainties(data, model=model, path=path)


def from_model(model, names=None) -> UncertaintySpec:
    """Uniform uncertainties over the model's ranges, for ``names`` (default: every non-lever,
    non-shock scalar constant whose documented or Vensim range spans something)."""
    catalog = ModelCatalog(model)
    if names is None:
        names = []
        for n, v in catalog.variables.items():
            if v.kind != "constant" or v.dims:
                continue
            try:
                catalog.resolve(n)
            except ValueError:
                continue
            if catalog.default_range(n) is not None:
                names.append(n)
    return parse_uncertainties({"uncertainties": {n: {"source": "model range"} for n in names}},
                               model=catalog, path=str(getattr(model, "path", "<model>")))
