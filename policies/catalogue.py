"""The lever, shock and KPI catalogue of a model: policy instruments as data (``levers.toml``).

Each model brings its own catalogue (``models/<name>/levers.toml``); besides the levers, shocks
and KPIs it names what the generic code needs to know about the model: its fiscal-cost variables
(``[costs]``), the subscript range of per-region levers (``[regions]``), the policy areas with
their zh/en labels (``[[area]]``) and the folder of its built-in scenarios.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from simulator.tomlfile import finite_number, read_toml

from .errors import PolicyError

DIRECTIONS = ("up", "down")
CHANGES = ("percent", "difference")
_TOP_KEYS = {"defaults", "costs", "regions", "area", "lever", "shock", "kpi"}


@dataclass(frozen=True)
class Lever:
    """One policy lever or external shock.

    ``constant`` is the model constant it drives; ``subscript`` names its subscript range when the
    constant is subscripted (the regional fund is set per region). ``cost_variables`` multiply to the
    gross budget cost in 亿元/Year (empty for shocks).
    """

    id: str
    kind: str                      # "lever" or "shock"
    area: str
    constant: str
    unit: str
    baseline: float
    low: float
    high: float
    step: float
    alone: float
    name: dict
    description: dict
    source: str
    effects: dict = field(default_factory=dict)
    cost_variables: tuple = ()
    cost_rule: dict = field(default_factory=dict)
    subscript: str | None = None
    alone_cities: tuple = ()

    def label(self, lang: str = "en") -> str:
        return self.name.get(lang) or self.name.get("en", self.id)


@dataclass(frozen=True)
class Kpi:
    """An outcome shown in reports: a model variable with a direction that counts as better."""

    variable: str
    name: dict
    unit: str
    direction: str                 # "maximise" or "minimise"
    headline: bool = False
    per_city: str | None = None
    short: dict = field(default_factory=dict)   # column head of tables (zh/en)
    change: str = "percent"        # how a change is reported: "percent" or "difference" (own unit)

    def label(self, lang: str = "en") -> str:
        return self.name.get(lang) or self.name.get("en", self.variable)

    def short_label(self, lang: str = "en") -> str:
        return self.short.get(lang) or self.short.get("en") or self.label(lang)


@dataclass(frozen=True)
class Costs:
    """The model's fiscal-cost variables: ``annual`` (亿元/Year, the sum of the levers' cost rules)
    and ``cumulative`` (亿元, its integral)."""

    annual: str
    cumulative: str


@dataclass(frozen=True)
class Catalogue:
    """Levers, shocks and KPIs of one model, plus its defaults (policy start year, model file,
    scenario folder), fiscal-cost variables, region dimension and policy areas."""

    levers: dict
    shocks: dict
    default_start: float
    model_path: Path
    path: Path
    costs: Costs
    kpis: dict = field(default_factory=dict)   # variable -> Kpi
    areas: dict = field(default_factory=dict)  # area id -> {"zh": ..., "en": ...}
    region_dimension: str | None = None        # subscript range of per-region levers and KPIs
    region_names: dict = field(default_factory=dict)   # element -> {"zh": ..., "en": ...}
    scenario_dir: Path | None = None

    def region_label(self, element: str, lang: str = "en") -> str:
        return self.region_names.get(element, {}).get(lang) or element

    @property
    def headline_kpis(self) -> list[str]:
        return [k for k, v in self.kpis.items() if v.headline]

    def get(self, item_id: str) -> Lever:
        if item_id in self.levers:
            return self.levers[item_id]
        if item_id in self.shocks:
            return self.shocks[item_id]
        raise KeyError(item_id)

    @property
    def items(self) -> dict:
        return {**self.levers, **self.shocks}

    def by_constant(self) -> dict:
        return {lv.constant: lv for lv in self.items.values()}


def _need(entry: dict, key: str, where: str):
    if key not in entry:
        raise PolicyError(f"{where}: missing key {key!r}")
    return entry[key]


def _finite(value, where: str) -> float:
    return finite_number(value, where, PolicyError)


def _bilingual(value, where: str) -> dict:
    if not isinstance(value, dict) or not value.get("zh") or not value.get("en"):
        raise PolicyError(f"{where}: needs both 'zh' and 'en' text")
    return {"zh": str(value["zh"]), "en": str(value["en"])}


def _parse_item(entry: dict, kind: str, path: Path, n: int, areas: dict) -> Lever:
    where = f"{path.name}: [[{kind}]] #{n + 1}"
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: must be a table")
    item_id = str(_need(entry, "id", where))
    where = f"{path.name}: {kind} {item_id!r}"
    area = str(_need(entry, "area", where))
    if area not in areas:
        raise PolicyError(f"{where}: area {area!r} is not one of the catalogue's [[area]] ids "
                          f"({', '.join(areas) or 'none defined'})")
    rng = _need(entry, "range", where)
    if not (isinstance(rng, list) and len(rng) == 2):
        raise PolicyError(f"{where}: 'range' must be [low, high]")
    low, high = (_finite(x, f"{where}: range") for x in rng)
    if low > high:
        raise PolicyError(f"{where}: range low {low} is above high {high}")
    baseline = _finite(_need(entry, "baseline", where), f"{where}: baseline")
    alone = _finite(entry.get("alone", baseline), f"{where}: alone")
    for key, val in (("baseline", baseline), ("alone", alone)):
        if not low <= val <= high:
            raise PolicyError(f"{where}: {key} {val} is outside the range [{low}, {high}]")
    effects = dict(entry.get("effects", {}))
    for kpi, d in effects.items():
        if d not in DIRECTIONS:
            raise PolicyError(f"{where}: effect on {kpi!r} must be 'up' or 'down', not {d!r}")
    cost = entry.get("cost", {})
    if kind == "lever" and not cost.get("variables"):
        raise PolicyError(f"{where}: a lever needs cost.variables (its fiscal-cost rule)")
    return Lever(
        id=item_id, kind=kind, area=area, constant=str(_need(entry, "constant", where)),
        unit=str(_need(entry, "unit", where)), baseline=baseline, low=low, high=high,
        step=_finite(entry.get("step", (high - low) / 100 or 1.0), f"{where}: step"), alone=alone,
        name=_bilingual(_need(entry, "name", where), f"{where}: name"),
        description=_bilingual(_need(entry, "description", where), f"{where}: description"),
        source=str(_need(entry, "source", where)), effects=effects,
        cost_variables=tuple(cost.get("variables", ())),
        cost_rule=_bilingual(cost["rule"], f"{where}: cost.rule") if cost else {},
        subscript=entry.get("subscript"), alone_cities=tuple(entry.get("alone_cities", ())),
    )


def _table(data: dict, key: str, path: Path) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{path.name}: [{key}] must be a table")
    return value


def _areas(data: dict, path: Path) -> dict:
    entries = data.get("area", [])
    if not isinstance(entries, list) or not entries:
        raise PolicyError(f"{path.name}: needs [[area]] entries (id and zh/en name) that group the levers")
    out = {}
    for n, entry in enumerate(entries):
        where = f"{path.name}: [[area]] #{n + 1}"
        if not isinstance(entry, dict):
            raise PolicyError(f"{where}: must be a table")
        aid = str(_need(entry, "id", where))
        if aid in out:
            raise PolicyError(f"{where}: area {aid!r} is defined twice")
        out[aid] = _bilingual(_need(entry, "name", where), f"{where}: name")
    return out


def _regions(data: dict, path: Path) -> tuple[str | None, dict]:
    regions = _table(data, "regions", path)
    dim = regions.get("dimension")
    if dim is not None and (not isinstance(dim, str) or not dim):
        raise PolicyError(f"{path.name}: regions.dimension must be the name of a subscript range")
    names = regions.get("names", {})
    if not isinstance(names, dict):
        raise PolicyError(f"{path.name}: regions.names must be a table element = \"name\"")
    out = {}
    for elem, text in names.items():
        if isinstance(text, str):
            text = {"zh": text, "en": elem}
        out[str(elem)] = _bilingual(text, f"{path.name}: regions.names.{elem}")
    return dim, out


def _kpis(data: dict, path: Path) -> dict:
    kpis = {}
    for n, entry in enumerate(data.get("kpi", [])):
        where = f"{path.name}: [[kpi]] #{n + 1}"
        var = str(_need(entry, "variable", where))
        direction = str(entry.get("direction", "maximise"))
        if direction not in ("maximise", "minimise"):
            raise PolicyError(f"{where}: direction must be 'maximise' or 'minimise', not {direction!r}")
        change = str(entry.get("change", "percent"))
        if change not in CHANGES:
            raise PolicyError(f"{where}: change must be 'percent' or 'difference', not {change!r}")
        short = _bilingual(entry["short"], f"{where}: short") if "short" in entry else {}
        kpis[var] = Kpi(variable=var, name=_bilingual(_need(entry, "name", where), f"{where}: name"),
                        unit=str(entry.get("unit", "")), direction=direction,
                        headline=bool(entry.get("headline", False)), per_city=entry.get("per_city"),
                        short=short, change=change)
    if not any(k.headline for k in kpis.values()):
        raise PolicyError(f"{path.name}: no [[kpi]] has headline = true (reports need at least one)")
    return kpis


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a model's lever catalogue (``models/<name>/levers.toml``).

    Paths in ``[defaults]`` (``model``, ``scenarios``) are relative to the catalogue file.
    """
    path = Path(path)
    data = read_toml(path, "lever catalogue", PolicyError)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        from simulator.names import suggest

        key = sorted(unknown)[0]
        raise PolicyError(f"{path.name}: unknown table {key!r}.{suggest(key, sorted(_TOP_KEYS))}")
    areas = _areas(data, path)
    levers, shocks = {}, {}
    for kind, target in (("lever", levers), ("shock", shocks)):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise PolicyError(f"{path.name}: {kind} must be an array of tables [[{kind}]]")
        for n, entry in enumerate(entries):
            item = _parse_item(entry, kind, path, n, areas)
            if item.id in levers or item.id in shocks:
                raise PolicyError(f"{path.name}: id {item.id!r} is defined twice")
            target[item.id] = item
    defaults = _table(data, "defaults", path)
    if "model" not in defaults:
        raise PolicyError(f"{path.name}: [defaults] needs 'model', the model file relative to the catalogue")
    costs = _table(data, "costs", path)
    for key in ("annual", "cumulative"):
        if not isinstance(costs.get(key), str) or not costs[key]:
            raise PolicyError(f"{path.name}: [costs] needs '{key}', the name of the model's "
                              f"{'annual fiscal cost' if key == 'annual' else 'cumulative fiscal cost'} variable")
    region_dim, region_names = _regions(data, path)
    start = _finite(defaults.get("start", 2025), f"{path.name}: defaults.start")
    return Catalogue(levers=levers, shocks=shocks, default_start=start,
                     model_path=path.parent / str(defaults["model"]), path=path,
                     costs=Costs(annual=costs["annual"], cumulative=costs["cumulative"]),
                     kpis=_kpis(data, path), areas=areas, region_dimension=region_dim,
                     region_names=region_names,
                     scenario_dir=path.parent / str(defaults.get("scenarios", "scenarios")))


def constant_value(model, name: str):
    """The model file's value of constant ``name`` as an array, or None when the file gives none.

    The one place that reads a constant's value from the engine (:meth:`simulator.Model.default_value`).
    """
    import numpy as np

    from simulator import ParameterError

    try:
        return np.asarray(model.default_value(name), dtype=float)
    except (KeyError, ParameterError):
        return None


def check_against_model(catalogue: Catalogue, model) -> None:
    """Raise if a lever drives an unknown constant, or its baseline differs from the model's value;
    or if a KPI, cost variable or the region dimension is not in the model."""
    import numpy as np

    name = f"{catalogue.path.name}"
    for kpi in catalogue.kpis.values():
        for var in filter(None, (kpi.variable, kpi.per_city)):
            if var not in model.variables:
                raise PolicyError(f"{name}: KPI {var!r} is not a variable of {model.path.name}")
    for key in ("annual", "cumulative"):
        var = getattr(catalogue.costs, key)
        if var not in model.variables:
            raise PolicyError(f"{name}: costs.{key} {var!r} is not a variable of {model.path.name}")
    if catalogue.region_dimension and catalogue.region_dimension not in model.subscripts:
        raise PolicyError(f"{name}: regions.dimension {catalogue.region_dimension!r} is not a subscript "
                          f"range of {model.path.name}")
    variables = model.variables
    for item in catalogue.items.values():
        var = variables.get(item.constant)
        if var is None:
            raise PolicyError(f"{name}: {item.kind} {item.id!r} drives {item.constant!r}, "
                              f"which is not a variable of {model.path.name}")
        if var.kind != "constant":
            raise PolicyError(f"{name}: {item.kind} {item.id!r} drives {item.constant!r}, "
                              f"which is a {var.kind}, not a constant")
        if item.subscript and item.subscript not in model.subscripts:
            raise PolicyError(f"{name}: {item.kind} {item.id!r} is set per {item.subscript!r}, which is "
                              f"not a subscript range of {model.path.name}")
        val = constant_value(model, item.constant)
        if val is not None and not np.allclose(val, item.baseline):
            raise PolicyError(f"{name}: {item.kind} {item.id!r} has baseline {item.baseline}"
                              f" but {model.path.name} sets {item.constant} = {val.ravel()[:3]}")
        for used in (*item.cost_variables, *item.effects):
            if used not in variables:
                raise PolicyError(f"{name}: {item.id!r} (cost rule or effects) uses {used!r}, "
                                  f"which is not a variable of {model.path.name}")
