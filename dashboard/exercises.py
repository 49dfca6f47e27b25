"""Workshop exercises as data (each model's ``exercises.toml``) and the server-side goal check."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from simulator.names import suggest
from simulator.tomlfile import read_toml

from .errors import DashboardError
from .simulation import Simulation

MEASURES = ("value", "change", "pct_change")
COMPARATORS = (">=", "<=")
_TOP = {"id", "title", "brief", "lesson", "source", "charts", "city_kpi", "locked", "preset", "goal",
        "predict", "solution"}


@dataclass(frozen=True)
class Goal:
    """``measure`` of ``kpi`` in ``year`` (summed over ``cities``) compared with ``threshold``."""

    kpi: str
    year: float
    measure: str
    comparator: str
    threshold: float
    budget: float | None = None
    cities: tuple = ()


@dataclass(frozen=True)
class Predict:
    """A prediction asked before the charts are revealed: a number, or a choice among levers."""

    kind: str
    question: dict
    kpi: str
    year: float
    measure: str = "pct_change"
    tolerance: float = 0.0
    options: tuple = ()


@dataclass(frozen=True)
class Exercise:
    id: str
    title: dict
    brief: dict
    lesson: dict
    source: str
    goal: Goal
    preset: dict = field(default_factory=dict)
    locked: tuple = ()
    charts: tuple = ()
    city_kpi: str | None = None
    predict: Predict | None = None
    solution: dict | None = None

    def as_json(self) -> dict:
        """What the page needs (the solution is left out; the facilitator asks for it apart)."""
        g = self.goal
        out = {"id": self.id, "title": self.title, "brief": self.brief, "lesson": self.lesson,
               "source": self.source, "preset": self.preset, "locked": list(self.locked),
               "charts": list(self.charts), "city_kpi": self.city_kpi,
               "goal": {"kpi": g.kpi, "year": g.year, "measure": g.measure, "comparator": g.comparator,
                        "threshold": g.threshold, "budget": g.budget, "cities": list(g.cities)}}
        if self.predict:
            p = self.predict
            out["predict"] = {"kind": p.kind, "question": p.question, "kpi": p.kpi, "year": p.year,
                              "measure": p.measure, "tolerance": p.tolerance, "options": list(p.options)}
        return out


# ----------------------------------------------------------------------------- loading
def _text(raw, where: str) -> dict:
    if not (isinstance(raw, dict) and raw.get("zh") and raw.get("en")):
        raise DashboardError(f"{where}: needs both zh and en text")
    return {"zh": str(raw["zh"]), "en": str(raw["en"])}


def _number(raw, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise DashboardError(f"{where} must be a number, got {raw!r}")
    return float(raw)


def _variable(sim: Simulation, name, where: str, *, per_city: bool | None = None) -> str:
    known = [*sim.kpis, *sim.per_city]
    if name not in known:
        raise DashboardError(f"{where}: {name!r} is not a KPI.{suggest(str(name), known)}")
    if per_city is True and name not in sim.per_city:
        raise DashboardError(f"{where}: {name!r} is not a per-region variable ({', '.join(sim.per_city)})")
    return name


def _year(sim: Simulation, raw, where: str) -> float:
    year = _number(raw, where)
    years = sim.baseline().years
    if year not in years:
        raise DashboardError(f"{where} = {year:g} is not a year of the run ({years[0]:g}-{years[-1]:g})")
    return year


def _goal(sim: Simulation, raw: dict, where: str) -> Goal:
    if not isinstance(raw, dict):
        raise DashboardError(f"{where}: missing [exercise.goal]")
    cities = tuple(raw.get("cities", ()))
    kpi = _variable(sim, raw.get("kpi"), f"{where}.kpi", per_city=True if cities else None)
    for c in cities:
        if c not in sim.cities:
            raise DashboardError(f"{where}.cities: unknown region {c!r}.{suggest(c, sim.cities)}")
    measure, comparator = raw.get("measure", "value"), raw.get("comparator")
    if measure not in MEASURES:
        raise DashboardError(f"{where}.measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    if comparator not in COMPARATORS:
        raise DashboardError(f"{where}.comparator must be '>=' or '<=', not {comparator!r}")
    budget = raw.get("budget")
    if budget is not None and _number(budget, f"{where}.budget") < 0:
        raise DashboardError(f"{where}.budget must not be negative")
    return Goal(kpi=kpi, year=_year(sim, raw.get("year"), f"{where}.year"), measure=measure,
                comparator=comparator, threshold=_number(raw.get("threshold"), f"{where}.threshold"),
                budget=None if budget is None else float(budget), cities=cities)


def _predict(sim: Simulation, raw, where: str) -> Predict | None:
    if raw is None:
        return None
    kind = raw.get("kind")
    if kind not in ("number", "choice"):
        raise DashboardError(f"{where}.kind must be 'number' or 'choice', not {kind!r}")
    options = tuple(raw.get("options", ()))
    for opt in options:
        if opt not in sim.catalogue.levers:
            raise DashboardError(f"{where}.options: unknown lever {opt!r}.{suggest(opt, sorted(sim.catalogue.levers))}")
    if kind == "choice" and len(options) < 2:
        raise DashboardError(f"{where}: a choice needs at least two lever options")
    measure = raw.get("measure", "pct_change")
    if measure not in MEASURES:
        raise DashboardError(f"{where}.measure must be one of {', '.join(MEASURES)}")
    return Predict(kind=kind, question=_text(raw.get("question"), f"{where}.question"),
                   kpi=_variable(sim, raw.get("kpi"), f"{where}.kpi"),
                   year=_year(sim, raw.get("year"), f"{where}.year"), measure=measure,
                   tolerance=_number(raw.get("tolerance", 0.0), f"{where}.tolerance"), options=options)


def _state(sim: Simulation, raw, where: str) -> dict:
    try:
        return sim.normalize(raw or {})
    except (DashboardError, ValueError) as exc:
        raise DashboardError(f"{where}: {exc}") from None


def load_exercises(sim: Simulation, path: str | Path | None) -> dict[str, Exercise]:
    """Read and validate the exercises against the simulation's model and catalogue; id -> Exercise.

    ``path`` None: the model has no exercises (an empty dict).
    """
    if path is None:
        return {}
    path = Path(path)
    data = read_toml(path, "exercises file", DashboardError)
    out: dict[str, Exercise] = {}
    for n, raw in enumerate(data.get("exercise", [])):
        eid = raw.get("id")
        where = f"{path.name}: exercise {eid!r}" if eid else f"{path.name}: [[exercise]] #{n + 1}"
        if not isinstance(eid, str) or not eid.isidentifier() or eid in out:
            raise DashboardError(f"{where}: needs a unique identifier 'id'")
        unknown = set(raw) - _TOP
        if unknown:
            key = sorted(unknown)[0]
            raise DashboardError(f"{where}: unknown key {key!r}.{suggest(key, sorted(_TOP))}")
        preset = _state(sim, raw.get("preset"), f"{where}.preset")
        locked = tuple(raw.get("locked", ()))
        for item in locked:
            if not any(item in preset[s] for s in preset):
                raise DashboardError(f"{where}.locked: {item!r} is not set in the preset")
        charts = tuple(_variable(sim, c, f"{where}.charts") for c in raw.get("charts", ()))
        city_kpi = raw.get("city_kpi")
        if city_kpi is not None:
            _variable(sim, city_kpi, f"{where}.city_kpi", per_city=True)
        out[eid] = Exercise(
            id=eid, title=_text(raw.get("title"), f"{where}.title"),
            brief=_text(raw.get("brief"), f"{where}.brief"),
            lesson=_text(raw.get("lesson"), f"{where}.lesson"), source=str(raw.get("source", "")),
            goal=_goal(sim, raw.get("goal"), f"{where}.goal"), preset=preset, locked=locked,
            charts=charts, city_kpi=city_kpi, predict=_predict(sim, raw.get("predict"), f"{where}.predict"),
            solution=_state(sim, raw["solution"], f"{where}.solution") if "solution" in raw else None)
    return out


# ----------------------------------------------------------------------------- checking
def measure(sim: Simulation, state: dict, kpi: str, year: float, how: str, cities=()) -> tuple[float, float, float]:
    """(measure, scenario value, baseline value) of ``kpi`` in ``year`` for ``state``."""
    value = sim.value(sim.run(state), kpi, year, list(cities))
    base = sim.value(sim.baseline(), kpi, year, list(cities))
    if how == "value":
        return value, value, base
    if how == "change":
        return value - base, value, base
    return (100.0 * (value / base - 1.0) if base else math.nan), value, base


def _locked_broken(sim: Simulation, ex: Exercise, state: dict) -> list[str]:
    broken = []
    for item in ex.locked:
        for section in ("levers", "shocks", "assumptions"):
            if item in ex.preset[section] and state[section].get(item) != ex.preset[section][item]:
                broken.append(item)
    return broken


def check_goal(sim: Simulation, ex: Exercise, state: dict) -> dict:
    """Whether ``state`` meets the exercise's goal, with the numbers the page shows.

    The budget is the cumulative extra fiscal cost of the levers by the goal year (亿元).
    """
    state = sim.normalize(state)
    g = ex.goal
    x, value, base = measure(sim, state, g.kpi, g.year, g.measure, g.cities)
    years = sim.baseline().years
    k = int(abs(years - g.year).argmin())
    cost = float(sim.extra_cost(state)[k])
    goal_ok = (x >= g.threshold) if g.comparator == ">=" else (x <= g.threshold)
    within = g.budget is None or cost <= g.budget
    broken = _locked_broken(sim, ex, state)
    return {"exercise": ex.id, "met": bool(goal_ok and within and not broken),
            "kpi": g.kpi, "cities": list(g.cities), "year": g.year, "measure": g.measure,
            "comparator": g.comparator, "threshold": g.threshold, "result": x,
            "value": value, "baseline": base, "goal_ok": bool(goal_ok),
            "cost": cost, "budget": g.budget, "within_budget": bool(within), "locked_broken": broken}


def lever_ranking(sim: Simulation, kpi: str, year: float, options) -> list[dict]:
    """Each lever alone at its catalogue ``alone`` strength: gain in ``kpi`` per 亿元 of extra cost."""
    rows = []
    for lever_id in options:
        lv = sim.catalogue.levers[lever_id]
        setting: dict = {"value": lv.alone}
        if lv.subscript and lv.alone_cities:
            setting["cities"] = list(lv.alone_cities)
        state = sim.normalize({"levers": {lever_id: setting}})
        gain, _, _ = measure(sim, state, kpi, year, "change")
        k = int(abs(sim.baseline().years - year).argmin())
        cost = float(sim.extra_cost(state)[k])
        rows.append({"lever": lever_id, "value": lv.alone, "gain": gain, "cost": cost,
                     "per_yuan": gain / cost if cost > 0 else math.nan})
    rows.sort(key=lambda r: -r["per_yuan"] if math.isfinite(r["per_yuan"]) else math.inf)
    return rows


def reveal(sim: Simulation, ex: Exercise, prediction) -> dict:
    """The answer to an exercise's prediction question, and how close ``prediction`` came."""
    p = ex.predict
    if p is None:
        raise DashboardError(f"exercise {ex.id!r} asks for no prediction")
    if p.kind == "number":
        pred = _number(prediction, "prediction")
        answer, value, base = measure(sim, ex.preset, p.kpi, p.year, p.measure)
        return {"kind": "number", "prediction": pred, "answer": answer, "value": value, "baseline": base,
                "error": pred - answer, "close": abs(pred - answer) <= p.tolerance,
                "tolerance": p.tolerance, "measure": p.measure}
    if prediction not in p.options:
        raise DashboardError(f"prediction must be one of the levers {', '.join(p.options)}; got {prediction!r}")
    ranking = lever_ranking(sim, p.kpi, p.year, p.options)
    answer = ranking[0]["lever"]
    return {"kind": "choice", "prediction": prediction, "answer": answer, "close": prediction == answer,
            "ranking": ranking}
