"""An optimisation problem as data (TOML): decision levers, objectives, constraints, uncertainty.

A problem file looks like::

    id = "best-package"                 # names the output files and the package scenarios
    name = { zh = "...", en = "..." }   # optional
    model = "../model.mdl"              # relative to this file (or given by the caller)
    catalogue = "../model/levers.toml"  # optional: default <model folder>/<model stem>/levers.toml

    [[lever]]                           # a decision: a lever of the model's catalogue
    id = "programme_a"
    range = [0, 100]                    # optional: within the catalogue's range (default: all of it)
    start = 2025                        # optional: the catalogue's default start year
    ramp = 0                            # optional: years of linear ramp
    # end = 2040                        # optional: back to the baseline after this year

    [[objective]]                       # one objective: scipy's differential evolution
    kpi = "Some Output"                 # a model variable (subscripted ones are summed over cells)
    year = 2035                         # or window = [2025, 2035] with aggregate = "sum" | "mean"
    direction = "maximise"              # default: the catalogue's KPI direction, else maximise
    # fiscal = "cumulative" | "yearly"  # instead of kpi: the extra fiscal cost (two or more
                                        # objectives: a Pareto front with pymoo's NSGA-II)

    [[constraint]]
    fiscal = "yearly"                   # extra annual fiscal cost above the baseline, every year
    max = 200                           # 亿元/Year (cumulative: 亿元 over the window)
    # window = [2025, 2035]             # optional: default the whole run

    [[constraint]]
    kpi = "Other Output"
    year = 2035
    min = 1000                          # a KPI floor (or max = ... for a ceiling)

    [fixed]                             # constants held in every run of the optimiser:
    "Ceiling Switch" = 0                # e.g. the model's own budget ceiling switched off

    [uncertainty]                       # optional: robust optimisation
    file = "../model/uncertainties.toml"
    draws = 200                         # the same draws for every candidate (common random numbers)
    seed = 1
    measure = "mean"                    # mean | p10 | max_regret | satisficing
    # threshold = 5000                  # satisficing: the objective level to reach
    share = 1.0                         # constraints must hold in at least this share of draws

    [search]
    seed = 1
    population = 30                     # candidates per generation
    generations = 60
    # robust_generations = 10           # the robust search (default: generations)
    tolerance = 1e-7                    # differential evolution: relative spread of the population
    chunk_size = 5000                   # members per vectorised run

Every error names the file, the line of the table or key where it is known, and the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from policies import Catalogue, Lever, load_catalogue
from simulator.names import suggest
from simulator.outputs import name_problem
from simulator.tomlfile import read_toml, short

from .errors import ProblemError
from .locate import Lines, Where, bilingual, check_keys, number, pair, whole

MEASURES = ("mean", "p10", "max_regret", "satisficing")
FISCAL = ("yearly", "cumulative")
AGGREGATES = ("sum", "mean", "max", "min")
DIRECTIONS = ("maximise", "minimise")
_TOP = {"id", "name", "description", "model", "catalogue", "lever", "objective", "constraint", "fixed",
        "uncertainty", "search"}
_LEVER = {"id", "range", "start", "ramp", "end"}
_QUANTITY = {"kpi", "fiscal", "year", "window", "aggregate", "extra"}
_OBJECTIVE = _QUANTITY | {"direction", "name"}
_CONSTRAINT = _QUANTITY | {"max", "min", "name"}
_UNCERTAINTY = {"file", "draws", "seed", "measure", "threshold", "share", "only", "scheme"}
_SEARCH = {"seed", "population", "generations", "robust_generations", "tolerance", "chunk_size", "method", "polish"}
MAX_DRAWS = 100_000
MAX_POPULATION = 10_000
MAX_GENERATIONS = 100_000


@dataclass(frozen=True)
class Decision:
    """A decision lever: its catalogue entry, the searched range and its time profile."""

    lever: Lever
    low: float
    high: float
    start: float
    ramp: float = 0.0
    end: float | None = None

    @property
    def id(self) -> str:
        return self.lever.id


@dataclass(frozen=True)
class Quantity:
    """What a run is scored on: a KPI (``variable``) or the extra fiscal cost (``fiscal``).

    A KPI is read in ``year`` or aggregated over ``window`` (``aggregate``: sum, mean, max or min of
    the yearly values). ``fiscal = "yearly"`` is the peak extra annual cost over the window,
    ``"cumulative"`` the extra cost summed over it (the integral of the annual cost). ``extra``: the
    cost relative to the baseline run under the same parameters (default) or gross.
    """

    variable: str | None = None
    fiscal: str | None = None
    year: float | None = None
    window: tuple[float, float] | None = None
    aggregate: str = "sum"
    extra: bool = True

    def label(self) -> str:
        if self.fiscal:
            what = f"{'extra ' if self.extra else ''}{self.fiscal} fiscal cost"
        else:
            what = str(self.variable)
        if self.year is not None:
            return f"{what} ({self.year:g})"
        if self.window is not None:
            agg = "" if self.fiscal else f"{self.aggregate} "
            return f"{agg}{what} ({self.window[0]:g}-{self.window[1]:g})"
        return what


@dataclass(frozen=True)
class Objective:
    quantity: Quantity
    direction: str
    name: str

    @property
    def sign(self) -> float:
        """+1 for a quantity to minimise, -1 to maximise: what the minimisers see."""
        return 1.0 if self.direction == "minimise" else -1.0


@dataclass(frozen=True)
class Constraint:
    """``quantity <= bound`` (sense "max") or ``quantity >= bound`` (sense "min")."""

    quantity: Quantity
    sense: str
    bound: float
    name: str

    def slack(self, values):
        """Violation per run: positive where the constraint fails (same unit as the quantity)."""
        return values - self.bound if self.sense == "max" else self.bound - values


@dataclass(frozen=True)
class Uncertainty:
    """Robust optimisation: ``draws`` parameter sets from ``spec`` (seeded once, shared by every
    candidate), scored by ``measure``; constraints must hold in at least ``share`` of the draws."""

    spec: object                 # sensitivity.UncertaintySpec
    draws: int
    seed: int
    measure: str = "mean"
    threshold: float | None = None
    share: float = 1.0
    scheme: str = "random"


@dataclass(frozen=True)
class Search:
    seed: int = 1
    population: int = 30
    generations: int = 60
    tolerance: float = 1e-7
    chunk_size: int = 5000
    method: str = "auto"       # auto: differential evolution for one objective, NSGA-II for more
    polish: bool = False
    robust_generations: int | None = None   # the robust search (default: generations)


@dataclass(frozen=True)
class Problem:
    id: str
    path: Path
    model_path: Path
    catalogue: Catalogue
    decisions: tuple[Decision, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    fixed: dict = field(default_factory=dict)
    uncertainty: Uncertainty | None = None
    search: Search = field(default_factory=Search)
    name: dict = field(default_factory=dict)
    description: dict = field(default_factory=dict)

    @property
    def method(self) -> str:
        if self.search.method != "auto":
            return self.search.method
        return "de" if len(self.objectives) == 1 else "nsga2"

    def bounds(self) -> list[tuple[float, float]]:
        return [(d.low, d.high) for d in self.decisions]


# ----------------------------------------------------------------------------- parsing
def _decision(raw, n: int, cat: Catalogue, where: Where) -> Decision:
    check_keys(raw, _LEVER, where, "lever", n)
    if "id" not in raw:
        raise ProblemError(f"{where(None, 'lever', n)}: missing key 'id' (a lever of {cat.path.name})")
    lid = raw["id"]
    if lid not in cat.levers:
        hint = " (it is a shock: shocks are scenario inputs, not decisions)" if lid in cat.shocks else \
            suggest(str(lid), sorted(cat.levers))
        raise ProblemError(f"{where('id', 'lever', n)}: {short(lid)} is not a lever of {cat.path.name}.{hint}")
    lever = cat.levers[lid]
    low, high = lever.low, lever.high
    if "range" in raw:
        low, high = pair(raw["range"], where("range", "lever", n))
        if low < lever.low or high > lever.high:
            raise ProblemError(f"{where('range', 'lever', n)} = [{low:g}, {high:g}] leaves the catalogue's range "
                               f"[{lever.low:g}, {lever.high:g}] {lever.unit} of {lid!r}")
        if low == high:
            raise ProblemError(f"{where('range', 'lever', n)}: low equals high; a fixed lever is no decision "
                               "(set it in a scenario instead)")
    start = number(raw.get("start", cat.default_start), where("start", "lever", n))
    ramp = number(raw.get("ramp", 0.0), where("ramp", "lever", n))
    if ramp < 0:
        raise ProblemError(f"{where('ramp', 'lever', n)} = {ramp:g} must not be negative")
    end = raw.get("end")
    if end is not None:
        end = number(end, where("end", "lever", n))
        if end < start + ramp:
            raise ProblemError(f"{where('end', 'lever', n)} = {end:g} is before the ramp is complete "
                               f"(start {start:g} + ramp {ramp:g})")
    return Decision(lever, low, high, start, ramp, end)


def _quantity(raw: dict, kind: str, n: int, cat: Catalogue, where: Where) -> Quantity:
    has_kpi, has_fiscal = "kpi" in raw, "fiscal" in raw
    if has_kpi == has_fiscal:
        raise ProblemError(f"{where(None, kind, n)}: give either 'kpi' (a model variable) or 'fiscal' "
                           f"({' or '.join(map(repr, FISCAL))})")
    year = window = None
    if "year" in raw:
        year = number(raw["year"], where("year", kind, n))
    if "window" in raw:
        if year is not None:
            raise ProblemError(f"{where('window', kind, n)}: give either 'year' or 'window', not both")
        window = pair(raw["window"], where("window", kind, n))
    aggregate = raw.get("aggregate", "sum")
    if aggregate not in AGGREGATES:
        raise ProblemError(f"{where('aggregate', kind, n)} must be one of {', '.join(AGGREGATES)}, got {short(aggregate)}")
    extra = raw.get("extra", True)
    if not isinstance(extra, bool):
        raise ProblemError(f"{where('extra', kind, n)} must be true or false, got {short(extra)}")
    if has_fiscal:
        fiscal = raw["fiscal"]
        if fiscal not in FISCAL:
            raise ProblemError(f"{where('fiscal', kind, n)} must be 'yearly' or 'cumulative', got {short(fiscal)}")
        if year is not None:
            raise ProblemError(f"{where('year', kind, n)}: a fiscal cost is measured over a 'window' "
                               "(default: the whole run), not in one year")
        return Quantity(fiscal=fiscal, window=window, extra=extra)
    var = raw["kpi"]
    if not isinstance(var, str) or not var:
        raise ProblemError(f"{where('kpi', kind, n)} must be the name of a model variable, got {short(var)}")
    if year is None and window is None:
        raise ProblemError(f"{where(None, kind, n)}: a KPI needs 'year' or 'window'")
    if "extra" in raw:
        raise ProblemError(f"{where('extra', kind, n)}: 'extra' applies to fiscal costs only")
    return Quantity(variable=var, year=year, window=window, aggregate=aggregate)


def _objective(raw, n: int, cat: Catalogue, where: Where) -> Objective:
    check_keys(raw, _OBJECTIVE, where, "objective", n)
    q = _quantity(raw, "objective", n, cat, where)
    default = "minimise" if q.fiscal else (cat.kpis[q.variable].direction if q.variable in cat.kpis else "maximise")
    direction = raw.get("direction", default)
    if direction not in DIRECTIONS:
        raise ProblemError(f"{where('direction', 'objective', n)} must be 'maximise' or 'minimise', got {short(direction)}")
    name = raw.get("name", q.label())
    if not isinstance(name, str):
        raise ProblemError(f"{where('name', 'objective', n)} must be text")
    return Objective(q, direction, name)


def _constraint(raw, n: int, cat: Catalogue, where: Where) -> Constraint:
    check_keys(raw, _CONSTRAINT, where, "constraint", n)
    q = _quantity(raw, "constraint", n, cat, where)
    if ("max" in raw) == ("min" in raw):
        raise ProblemError(f"{where(None, 'constraint', n)}: give exactly one of 'max' (a budget or ceiling) "
                           "and 'min' (a floor)")
    sense = "max" if "max" in raw else "min"
    bound = number(raw[sense], where(sense, "constraint", n))
    name = raw.get("name", f"{q.label()} {'<=' if sense == 'max' else '>='} {bound:g}")
    if not isinstance(name, str):
        raise ProblemError(f"{where('name', 'constraint', n)} must be text")
    return Constraint(q, sense, bound, name)


def _uncertainty(raw, path: Path, model, where: Where, n_objectives: int) -> Uncertainty:
    from sensitivity import load_uncertainties

    check_keys(raw, _UNCERTAINTY, where, "uncertainty")
    if "file" not in raw:
        raise ProblemError(f"{where(None, 'uncertainty')}: missing key 'file' (an uncertainty file)")
    file = raw["file"]
    if not isinstance(file, str) or not file:
        raise ProblemError(f"{where('file', 'uncertainty')} must be a path, got {short(file)}")
    spec = load_uncertainties(path.parent / file, model=model)
    if "only" in raw:
        only = raw["only"]
        if not (isinstance(only, list) and only and all(isinstance(x, str) for x in only)):
            raise ProblemError(f"{where('only', 'uncertainty')} must be a list of parameter names")
        try:
            spec = spec.select(only)
        except KeyError as exc:
            raise ProblemError(f"{where('only', 'uncertainty')}: {exc.args[0]}") from None
    draws = whole(raw.get("draws", 200), where("draws", "uncertainty"), 1, MAX_DRAWS)
    seed = whole(raw.get("seed", 0), where("seed", "uncertainty"), 0, 2**32 - 1)
    measure = raw.get("measure", "mean")
    if measure not in MEASURES:
        raise ProblemError(f"{where('measure', 'uncertainty')} must be one of {', '.join(MEASURES)}, got {short(measure)}")
    threshold = None
    if measure == "satisficing":
        if "threshold" not in raw:
            raise ProblemError(f"{where(None, 'uncertainty')}: measure 'satisficing' needs 'threshold', the "
                               "objective level a package must reach")
        if n_objectives != 1:
            raise ProblemError(f"{where('measure', 'uncertainty')}: 'satisficing' scores one objective")
        threshold = number(raw["threshold"], where("threshold", "uncertainty"))
    elif "threshold" in raw:
        raise ProblemError(f"{where('threshold', 'uncertainty')}: only measure 'satisficing' uses a threshold")
    share = number(raw.get("share", 1.0), where("share", "uncertainty"))
    if not 0 < share <= 1:
        raise ProblemError(f"{where('share', 'uncertainty')} = {share:g} must be in (0, 1]")
    scheme = raw.get("scheme", "random")
    if scheme not in ("random", "latin"):
        raise ProblemError(f"{where('scheme', 'uncertainty')} must be 'random' or 'latin', got {short(scheme)}")
    return Uncertainty(spec, draws, seed, measure, threshold, share, scheme)


def _search(raw, where: Where, n_objectives: int) -> Search:
    check_keys(raw, _SEARCH, where, "search")
    method = raw.get("method", "auto")
    if method not in ("auto", "de", "nsga2"):
        raise ProblemError(f"{where('method', 'search')} must be 'auto', 'de' or 'nsga2', got {short(method)}")
    if method == "de" and n_objectives > 1:
        raise ProblemError(f"{where('method', 'search')}: differential evolution takes one objective; "
                           f"this problem has {n_objectives} (use 'nsga2')")
    tol = number(raw.get("tolerance", 1e-7), where("tolerance", "search"))
    if tol < 0:
        raise ProblemError(f"{where('tolerance', 'search')} must not be negative")
    polish = raw.get("polish", False)
    if not isinstance(polish, bool):
        raise ProblemError(f"{where('polish', 'search')} must be true or false")
    return Search(seed=whole(raw.get("seed", 1), where("seed", "search"), 0, 2**32 - 1),
                  population=whole(raw.get("population", 30), where("population", "search"), 4, MAX_POPULATION),
                  generations=whole(raw.get("generations", 60), where("generations", "search"), 1, MAX_GENERATIONS),
                  tolerance=tol, chunk_size=whole(raw.get("chunk_size", 5000), where("chunk_size", "search"),
                                                 1, 10_000_000),
                  method=method, polish=polish,
                  robust_generations=None if "robust_generations" not in raw else whole(
                      raw["robust_generations"], where("robust_generations", "search"), 1, MAX_GENERATIONS))


def _tables(data: dict, key: str, where: Where) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ProblemError(f"{where(key)}: write it as an array of tables [[{key}]]")
    return value


def load_problem(path: str | Path, *, model=None, catalogue: Catalogue | None = None) -> Problem:
    """Read and check a problem file against its model and lever catalogue.

    ``model`` (a loaded ``simulator`` model) and ``catalogue`` replace the file's ``model`` and
    ``catalogue`` keys; without them the file must name its model.
    """
    import simulator

    path = Path(path)
    data = read_toml(path, "optimisation problem", ProblemError)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        source = ""
    where = Where(path, Lines(source))
    check_keys(data, _TOP, where, None)
    pid = data.get("id", path.stem)
    problem = name_problem(pid) if isinstance(pid, str) else "must be text"
    if problem:
        raise ProblemError(f"{where('id')}: id {short(pid)}: {problem}")
    if model is None:
        if "model" not in data:
            raise ProblemError(f"{where()}: missing key 'model' (the model file, relative to the problem file)")
        if not isinstance(data["model"], str):
            raise ProblemError(f"{where('model')} must be a path, got {short(data['model'])}")
        model = simulator.load(path.parent / data["model"])
    model_path = Path(model.path)
    if catalogue is None:
        if "catalogue" in data:
            if not isinstance(data["catalogue"], str):
                raise ProblemError(f"{where('catalogue')} must be a path, got {short(data['catalogue'])}")
            cat_path = path.parent / data["catalogue"]
        else:
            cat_path = model_path.parent / model_path.stem / "levers.toml"
        catalogue = load_catalogue(cat_path)
    from policies import check_against_model

    check_against_model(catalogue, model)
    decisions = tuple(_decision(raw, n, catalogue, where) for n, raw in enumerate(_tables(data, "lever", where)))
    if not decisions:
        raise ProblemError(f"{where()}: no [[lever]]: name at least one decision lever")
    ids = [d.id for d in decisions]
    twice = next((i for i in ids if ids.count(i) > 1), None)
    if twice:
        raise ProblemError(f"{where('id', 'lever', ids.index(twice) + 1)}: lever {twice!r} is a decision twice")
    objectives = tuple(_objective(raw, n, catalogue, where) for n, raw in enumerate(_tables(data, "objective", where)))
    if not objectives:
        raise ProblemError(f"{where()}: no [[objective]]: name what to maximise or minimise")
    constraints = tuple(_constraint(raw, n, catalogue, where)
                        for n, raw in enumerate(_tables(data, "constraint", where)))
    fixed = _fixed(data.get("fixed", {}), model, catalogue, decisions, where)
    unc = None
    if "uncertainty" in data:
        unc = _uncertainty(data["uncertainty"], path, model, where, len(objectives))
        clash = sorted(set(unc.spec.names) & (set(fixed) | {d.lever.constant for d in decisions}))
        if clash:
            raise ProblemError(f"{where('file', 'uncertainty')}: {clash[0]!r} is both uncertain and a decision "
                               "or fixed constant")
    search = _search(data.get("search", {}), where, len(objectives))
    prob = Problem(id=pid, path=path, model_path=model_path, catalogue=catalogue, decisions=decisions,
                   objectives=objectives, constraints=constraints, fixed=fixed, uncertainty=unc,
                   search=search, name=bilingual(data.get("name"), pid, where("name")),
                   description=bilingual(data.get("description"), "", where("description")))
    _check_years(prob, model, where)
    _check_variables(prob, model, where)
    return prob


def _fixed(raw, model, cat: Catalogue, decisions, where: Where) -> dict:
    if not isinstance(raw, dict):
        raise ProblemError(f"{where(None, 'fixed')}: must be a table of constant = value")
    out = {}
    for name, value in raw.items():
        var = model.variables.get(name)
        if var is None or var.kind != "constant":
            what = "not a variable" if var is None else f"a {var.kind}, not a constant"
            raise ProblemError(f"{where(name, 'fixed')}: {name!r} is {what} of {Path(model.path).name}."
                               f"{suggest(name, list(model.variables)) if var is None else ''}")
        if name in {d.lever.constant for d in decisions}:
            raise ProblemError(f"{where(name, 'fixed')}: {name!r} is a decision lever; it cannot be fixed too")
        out[name] = number(value, where(name, "fixed"))
    return out


def _check_years(prob: Problem, model, where: Where) -> None:
    t0, tf = float(model.control["initial_time"]), float(model.control["final_time"])
    for kind, items in (("objective", prob.objectives), ("constraint", prob.constraints)):
        for n, item in enumerate(items):
            q = item.quantity
            for key, years in (("year", (q.year,)), ("window", q.window or ())):
                for y in years:
                    if y is not None and not t0 <= y <= tf:
                        raise ProblemError(f"{where(key, kind, n)} = {y:g} is outside the run {t0:g}-{tf:g}")
    for n, d in enumerate(prob.decisions):
        for key, y in (("start", d.start), ("end", d.end)):
            if y is not None and not t0 <= y <= tf:
                raise ProblemError(f"{where(key, 'lever', n)} = {y:g} is outside the run {t0:g}-{tf:g}")


def _check_variables(prob: Problem, model, where: Where) -> None:
    for kind, items in (("objective", prob.objectives), ("constraint", prob.constraints)):
        for n, item in enumerate(items):
            var = item.quantity.variable
            if var is not None and var not in model.variables:
                raise ProblemError(f"{where('kpi', kind, n)}: {var!r} is not a variable of "
                                   f"{Path(model.path).name}.{suggest(var, list(model.variables))}")
