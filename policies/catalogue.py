"""The lever and shock catalogue: policy instruments as data (``policies/levers.toml``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from simulator.tomlfile import finite_number, read_toml

from .errors import PolicyError

CATALOGUE_FILE = Path(__file__).resolve().parent / "levers.toml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
AREAS = ("innovation", "finance", "openness", "regions", "brands", "shocks")
DIRECTIONS = ("up", "down")


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
    seed: str
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

    def label(self, lang: str = "en") -> str:
        return self.name.get(lang) or self.name.get("en", self.variable)


@dataclass(frozen=True)
class Catalogue:
    """Levers, shocks and KPIs, plus defaults (policy start year, flagship model path)."""

    levers: dict
    shocks: dict
    default_start: float
    model_path: Path
    path: Path
    kpis: dict = field(default_factory=dict)   # variable -> Kpi

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


def _parse_item(entry: dict, kind: str, path: Path, n: int) -> Lever:
    where = f"{path.name}: [[{kind}]] #{n + 1}"
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: must be a table")
    item_id = str(_need(entry, "id", where))
    where = f"{path.name}: {kind} {item_id!r}"
    area = str(_need(entry, "area", where))
    if area not in AREAS:
        raise PolicyError(f"{where}: area {area!r} is not one of {', '.join(AREAS)}")
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
        seed=str(_need(entry, "seed", where)), effects=effects,
        cost_variables=tuple(cost.get("variables", ())),
        cost_rule=_bilingual(cost["rule"], f"{where}: cost.rule") if cost else {},
        subscript=entry.get("subscript"), alone_cities=tuple(entry.get("alone_cities", ())),
    )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and validate a lever catalogue (default: the built-in ``policies/levers.toml``)."""
    path = Path(path) if path else CATALOGUE_FILE
    data = read_toml(path, "lever catalogue", PolicyError)
    levers, shocks = {}, {}
    for kind, target in (("lever", levers), ("shock", shocks)):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise PolicyError(f"{path.name}: {kind} must be an array of tables [[{kind}]]")
        for n, entry in enumerate(entries):
            item = _parse_item(entry, kind, path, n)
            if item.id in levers or item.id in shocks:
                raise PolicyError(f"{path.name}: id {item.id!r} is defined twice")
            target[item.id] = item
    kpis = {}
    for n, entry in enumerate(data.get("kpi", [])):
        where = f"{path.name}: [[kpi]] #{n + 1}"
        var = str(_need(entry, "variable", where))
        direction = str(entry.get("direction", "maximise"))
        if direction not in ("maximise", "minimise"):
            raise PolicyError(f"{where}: direction must be 'maximise' or 'minimise', not {direction!r}")
        kpis[var] = Kpi(variable=var, name=_bilingual(_need(entry, "name", where), f"{where}: name"),
                        unit=str(entry.get("unit", "")), direction=direction,
                        headline=bool(entry.get("headline", False)), per_city=entry.get("per_city"))
    defaults = data.get("defaults", {})
    model_path = Path(defaults.get("model", "models/zhejiang_innovation_openness.mdl"))
    if not model_path.is_absolute():
        model_path = PROJECT_ROOT / model_path
    start = _finite(defaults.get("start", 2025), f"{path.name}: defaults.start")
    return Catalogue(levers=levers, shocks=shocks, default_start=start,
                     model_path=model_path, path=path, kpis=kpis)


def check_against_model(catalogue: Catalogue, model) -> None:
    """Raise if a lever drives an unknown constant, or its baseline differs from the model's value."""
    import numpy as np

    for kpi in catalogue.kpis.values():
        for name in filter(None, (kpi.variable, kpi.per_city)):
            if name not in model.variables:
                raise PolicyError(f"{catalogue.path.name}: KPI {name!r} is not a variable of {model.path.name}")

    variables = model.variables
    for item in catalogue.items.values():
        var = variables.get(item.constant)
        if var is None:
            raise PolicyError(f"{catalogue.path.name}: {item.kind} {item.id!r} drives {item.constant!r}, "
                              f"which is not a variable of {model.path.name}")
        if var.kind != "constant":
            raise PolicyError(f"{catalogue.path.name}: {item.kind} {item.id!r} drives {item.constant!r}, "
                              f"which is a {var.kind}, not a constant")
        default = model.program.defaults.get(model.variable(item.constant).idx)
        if default is not None:
            val = np.asarray(default, dtype=float)
            if not np.allclose(val, item.baseline):
                raise PolicyError(f"{catalogue.path.name}: {item.kind} {item.id!r} has baseline {item.baseline}"
                                  f" but {model.path.name} sets {item.constant} = {val.ravel()[:3]}")
        for name in (*item.cost_variables, *item.effects):
            if name not in variables:
                raise PolicyError(f"{catalogue.path.name}: {item.id!r} (cost rule or effects) uses {name!r}, "
                                  f"which is not a variable of {model.path.name}")
