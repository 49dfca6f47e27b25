"""Scenario files: lever settings and shocks with time profiles, as data (TOML).

A scenario file looks like::

    id = "my-package"
    name = { zh = "...", en = "..." }
    description = { zh = "...", en = "..." }
    extends = "baseline"            # optional: start from another scenario
    budget_cap = 150                # optional: 亿元/Year of extra fiscal cost vs. the baseline

    [levers.tax_credit]
    value = 1.2                     # level reached after the ramp
    start = 2025                    # first year of the change (default: catalogue start)
    ramp = 3                        # years of linear ramp from the baseline value (default 0)
    end = 2040                      # optional: back to the baseline value after this year

    [levers.regional_grant]         # a lever set per region
    value = 10                      # 亿元/Year for each region listed in `cities` ...
    cities = ["North", "South"]
    # allocation = { North = 10, South = 6 }   # ... or one value per region

    [shocks.tariff]
    value = 0.25
    start = 2026

A scenario that ``extends`` another inherits its lever and shock settings; a setting written in
the child replaces the parent's setting for that lever as a whole. ``extends`` names a built-in
scenario of the catalogue, or a ``.toml`` file (relative to the extending file's folder).

Every function takes the model's catalogue (:func:`policies.load_catalogue`): it says which levers
and shocks exist and where the model's built-in scenarios are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from simulator.names import suggest
from simulator.outputs import name_problem
from simulator.tomlfile import finite_number, read_toml, short

from .catalogue import Catalogue, Lever
from .errors import PolicyError

_TOP_KEYS = {"id", "name", "description", "extends", "budget_cap", "levers", "shocks"}
_SETTING_KEYS = {"value", "start", "ramp", "end", "cities", "allocation"}
MAX_EXTENDS = 32          # depth of an ``extends`` chain
MAX_TEXT = {"name": 200, "description": 5000}   # characters of each language's text


@dataclass(frozen=True)
class Setting:
    """One lever (or shock) set to ``value`` from ``start``, reached after ``ramp`` years,
    back to its baseline after ``end`` (None: stays). ``cells`` gives per-region values for a
    subscripted lever (None: every region gets ``value``)."""

    item: str
    value: float
    start: float
    ramp: float = 0.0
    end: float | None = None
    cells: tuple = ()          # ((element, value), ...)

    def as_dict(self) -> dict:
        d = {"allocation": dict(self.cells)} if self.cells else {"value": self.value}
        d.update(start=self.start, ramp=self.ramp)
        if self.end is not None:
            d["end"] = self.end
        return d


@dataclass(frozen=True)
class Scenario:
    """A named package of lever settings and shocks (already merged with what it extends)."""

    id: str
    name: dict
    description: dict
    levers: dict = field(default_factory=dict)     # lever id -> Setting
    shocks: dict = field(default_factory=dict)     # shock id -> Setting
    budget_cap: float | None = None
    extends: str | None = None
    source: str = "<dict>"

    @property
    def settings(self) -> dict:
        return {**self.levers, **self.shocks}

    def label(self, lang: str = "en") -> str:
        return self.name.get(lang) or self.name.get("en") or self.id

    def as_dict(self) -> dict:
        """The fully written form (no ``extends``), as it would appear in a TOML file."""
        d = {"id": self.id, "name": dict(self.name), "description": dict(self.description),
             "levers": {k: s.as_dict() for k, s in self.levers.items()},
             "shocks": {k: s.as_dict() for k, s in self.shocks.items()}}
        if self.budget_cap is not None:
            d["budget_cap"] = self.budget_cap
        return d


# ----------------------------------------------------------------------------- parsing
def _num(value, where: str) -> float:
    return finite_number(value, where, PolicyError)


def _check_keys(table: dict, allowed: set, where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        key = sorted(unknown)[0]
        raise PolicyError(f"{where}: unknown key {key!r}.{suggest(key, sorted(allowed))}")


def _parse_setting(raw, item: Lever, where: str, catalogue: Catalogue, cities: list | None) -> Setting:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = {"value": raw}
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be a table (value, start, ramp, end) or a number, got {short(raw)}")
    _check_keys(raw, _SETTING_KEYS, where)
    cells: tuple = ()
    if "allocation" in raw:
        if item.subscript is None:
            raise PolicyError(f"{where}.allocation: {item.id!r} is not set per region")
        alloc = raw["allocation"]
        if not isinstance(alloc, dict) or not alloc:
            raise PolicyError(f"{where}.allocation must be a table region = value")
        cells = tuple((str(k), _num(v, f"{where}.allocation.{k}")) for k, v in alloc.items())
        value = max(v for _, v in cells)
        if "value" in raw or "cities" in raw:
            raise PolicyError(f"{where}: give either 'allocation' or 'value' (with optional 'cities'), not both")
    else:
        if "value" not in raw:
            raise PolicyError(f"{where}: missing key 'value'")
        value = _num(raw["value"], f"{where}.value")
        if "cities" in raw:
            if item.subscript is None:
                raise PolicyError(f"{where}.cities: {item.id!r} is not set per region")
            names = raw["cities"]
            if not isinstance(names, list) or not names or not all(isinstance(c, str) for c in names):
                raise PolicyError(f"{where}.cities must be a non-empty list of region names, got {short(names)}")
            if len(set(names)) != len(names):
                twice = next(c for c in names if names.count(c) > 1)
                raise PolicyError(f"{where}.cities lists {twice!r} twice")
            cells = tuple((c, value) for c in names)
    for elem, v in cells or (("", value),):
        if not item.low <= v <= item.high:
            at = f"{where}.allocation.{elem}" if elem and "allocation" in raw else f"{where}.value"
            raise PolicyError(f"{at} = {v:g} is outside the allowed range [{item.low:g}, {item.high:g}] "
                              f"{item.unit} of {item.id!r}")
    if cells and cities is not None:
        for elem, _ in cells:
            if elem not in cities:
                raise PolicyError(f"{where}: unknown region {elem!r}.{suggest(elem, cities)}")
    start = _num(raw.get("start", catalogue.default_start), f"{where}.start")
    ramp = _num(raw.get("ramp", 0.0), f"{where}.ramp")
    if ramp < 0:
        raise PolicyError(f"{where}.ramp = {ramp:g} must not be negative")
    if not math.isfinite(start + ramp):
        raise PolicyError(f"{where}: start {start:g} + ramp {ramp:g} is not a finite year")
    end = raw.get("end")
    if end is not None:
        end = _num(end, f"{where}.end")
        if end < start + ramp - 1e-9 * max(1.0, abs(start)):   # rounding of start + ramp is no error
            raise PolicyError(f"{where}.end = {end:g} is before the ramp is complete (start {start:g} + ramp {ramp:g})")
    return Setting(item=item.id, value=value, start=start, ramp=ramp, end=end, cells=cells)


def _bilingual(raw, default: str, where: str, limit: int) -> dict:
    if raw is None:
        return {"zh": default, "en": default}
    if isinstance(raw, str):
        raw = {"zh": raw, "en": raw}
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be a table {{ zh = ..., en = ... }} or a string, got {short(raw)}")
    _check_keys(raw, {"zh", "en"}, where)
    for lang, text in raw.items():
        if not isinstance(text, str):
            raise PolicyError(f"{where}.{lang} must be text, got {short(text)}")
        if len(text) > limit:
            raise PolicyError(f"{where}.{lang} is {len(text)} characters long (at most {limit})")
    en = raw.get("en") or raw.get("zh") or default
    return {"zh": raw.get("zh") or en, "en": en}


def scenario_from_dict(data: dict, *, catalogue: Catalogue, source: str = "<dict>",
                       cities: list | None = None, _stack: tuple = ()) -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML) and resolve ``extends``.

    ``cities`` (the model's region names) lets the check catch misspelt regions.
    """
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a scenario must be a table")
    _check_keys(data, _TOP_KEYS, source)
    sid = data.get("id") or (Path(source).stem if source != "<dict>" else None)
    if not sid:
        raise PolicyError(f"{source}: missing key 'id'")
    problem = name_problem(sid)
    if problem:
        # the id names the output files (<id>_euler.csv): it must be one safe file-name part
        origin = "id" if "id" in data else "id (taken from the file name; add id = \"...\")"
        raise PolicyError(f"{source}: {origin}: {problem}")
    parent = None
    if data.get("extends") is not None:
        base = data["extends"]
        if not isinstance(base, str) or not base or len(base) > 1024 or "\x00" in base:
            raise PolicyError(f"{source}: extends must be a scenario id or a .toml path, got {short(base)}")
        if len(_stack) >= 2 * MAX_EXTENDS:
            raise PolicyError(f"{source}: 'extends' chain is longer than {MAX_EXTENDS} scenarios")
        base = _relative(base, source, catalogue)
        here = {sid, _file_key(source, catalogue)}
        key = _file_key(base, catalogue)
        if key in _stack or base in _stack or key in here or base in here:
            chain = " -> ".join((*[k for k in _stack if not k.startswith("file:")], sid, data["extends"]))
            raise PolicyError(f"{source}: 'extends' makes a cycle: {chain}")
        parent = load_scenario(base, catalogue=catalogue, cities=cities, _stack=(*_stack, *sorted(here)))
    levers = dict(parent.levers) if parent else {}
    shocks = dict(parent.shocks) if parent else {}
    for section, pool, target in (("levers", catalogue.levers, levers), ("shocks", catalogue.shocks, shocks)):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise PolicyError(f"{source}: [{section}] must be a table of settings")
        for item_id, raw in table.items():
            where = f"{source}: {section}.{item_id}"
            if item_id not in pool:
                other = catalogue.shocks if section == "levers" else catalogue.levers
                hint = f" ({item_id!r} is a {'shock' if section == 'levers' else 'lever'}; put it under [{'shocks' if section == 'levers' else 'levers'}])" \
                    if item_id in other else suggest(item_id, sorted(pool))
                raise PolicyError(f"{source}: unknown {section[:-1]} {item_id!r}.{hint}")
            target[item_id] = _parse_setting(raw, pool[item_id], where, catalogue, cities)
    cap = data.get("budget_cap", parent.budget_cap if parent else None)
    if cap is not None:
        cap = _num(cap, f"{source}: budget_cap")
        if cap < 0:
            raise PolicyError(f"{source}: budget_cap = {cap:g} must not be negative")
    name = _bilingual(data.get("name"), sid, f"{source}: name", MAX_TEXT["name"])
    desc = _bilingual(data.get("description"), "", f"{source}: description", MAX_TEXT["description"])
    return Scenario(id=sid, name=name, description=desc, levers=levers, shocks=shocks, budget_cap=cap,
                    extends=parent.id if parent else None, source=source)


def _relative(base: str, source: str, catalogue: Catalogue) -> str:
    """``extends`` target: a built-in id as it is; a file path relative to the extending file."""
    if base in builtin_scenario_files(catalogue) or source == "<dict>" or Path(base).is_absolute():
        return base
    beside = Path(source).parent / base
    return str(beside) if beside.exists() else base


def _file_key(name_or_path: str, catalogue: Catalogue) -> str:
    """A key identifying the file a scenario name or path refers to (for cycle detection)."""
    path = builtin_scenario_files(catalogue).get(name_or_path) or Path(name_or_path)
    try:
        return "file:" + str(Path(path).resolve())
    except (OSError, ValueError):
        return "file:" + str(path)


def builtin_scenario_files(catalogue: Catalogue) -> dict:
    """The catalogue's built-in scenarios: id -> file, in the order of their file names."""
    out: dict = {}
    folder = catalogue.scenario_dir
    if folder is None or not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.toml")):
        sid = read_toml(path, "scenario file", PolicyError).get("id", path.stem)
        out[sid] = path
    return out


def load_scenario(name_or_path: str | Path, *, catalogue: Catalogue,
                  cities: list | None = None, _stack: tuple = ()) -> Scenario:
    """A built-in scenario of the catalogue by id, or a scenario TOML file by path."""
    text_id = str(name_or_path)
    builtins = builtin_scenario_files(catalogue)
    if text_id in builtins:
        path = builtins[text_id]
    else:
        path = Path(name_or_path)
        if path.suffix != ".toml" and not path.exists():
            raise PolicyError(f"unknown scenario {text_id!r}.{suggest(text_id, sorted(builtins))} "
                              f"Built-in scenarios: {', '.join(builtins)}; or give a path to a .toml file")
    data = read_toml(path, "scenario file", PolicyError)
    return scenario_from_dict(data, source=str(path), catalogue=catalogue, cities=cities, _stack=_stack)


def builtin_scenarios(*, catalogue: Catalogue) -> list[Scenario]:
    """Every built-in scenario of the catalogue, baseline first."""
    out = [load_scenario(p, catalogue=catalogue) for p in builtin_scenario_files(catalogue).values()]
    out.sort(key=lambda s: (s.id != "baseline",))
    return out


def with_setting(scenario: Scenario, setting: Setting, *, catalogue: Catalogue) -> Scenario:
    """A copy of ``scenario`` with one lever or shock setting replaced (the original is unchanged)."""
    if setting.item in catalogue.levers:
        return replace(scenario, levers={**scenario.levers, setting.item: setting})
    return replace(scenario, shocks={**scenario.shocks, setting.item: setting})
