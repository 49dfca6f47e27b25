"""Load-time checks on the translated model that would otherwise give silent wrong answers.

* two equations defining the same cell of a variable, including names that differ only in case,
  spaces or underscores (``Dup Var`` and ``Dup_Var``), which pysd merges without a word;
* the same element listed twice in one subscript range;
* ``Time`` defined as a variable;
* a variable named like a subscript range or element (a reference to it would be ambiguous);
* a variable or a model over the cell bounds of :mod:`.limits`;
* a list of numbers whose size does not fit the cells of its left-hand side
  (``c[A] = 1, 2, 3`` over ``A: a1, a2``);
* a model without one of the simulation control values (INITIAL TIME, FINAL TIME, TIME STEP,
  SAVEPER), for instance after a typo in its name.

Every message names the file and the lines involved.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..errors import ModelLimitError, ModelLoadError
from ..names import normalize
from ..subscripts import build_space
from .limits import MAX_MODEL_CELLS, MAX_RANGE_ELEMENTS, MAX_VARIABLE_CELLS
from .translate import Translation
from .vensim_text import show

RESERVED = {"time": "the simulation clock"}
CONTROL = {"initial_time": "INITIAL TIME", "final_time": "FINAL TIME", "time_step": "TIME STEP",
           "saveper": "SAVEPER"}


def definitions_of(tr: Translation, element) -> list[tuple[int | None, str]]:
    """(file line, name as written there) of each component of a pysd element, in order."""
    n = len(element.components)
    merge = element.name.lower().replace(" ", "_") if tr.kind == "vensim" else element.name
    found = tr.definitions(merge)
    if tr.kind != "vensim":
        found = found[:1] * n
    padded: list[tuple[int | None, str]] = list(found)
    padded += [found[0] if found else (None, element.name)] * n
    return padded[:n]


def lines_of(tr: Translation, element) -> list[int | None]:
    """File line of each component of a pysd element, in the order of ``element.components``."""
    return [line for line, _ in definitions_of(tr, element)]


def _at(line) -> str:
    return f"line {line}" if line else "an unknown line"


def main_section(tr: Translation):
    return next(s for s in tr.model.sections if s.type == "main")


def check_translation(tr: Translation):
    """Validate the main section of ``tr``; return it with its SubscriptSpace."""
    section = main_section(tr)
    space = build_space(section.subscripts, str(tr.path))
    validate(tr, section, space)
    return section, space


def validate(tr: Translation, section, space) -> None:
    """Run every check on the main section of ``tr`` (``space``: its SubscriptSpace)."""
    path = tr.path
    _check_ranges(tr, space)
    space = _Subscripts(space)
    groups: dict[str, list[tuple[str, object, int | None]]] = {}
    for el in section.elements:
        key = normalize(el.name)
        defs = definitions_of(tr, el)
        first = defs[0][0] if defs else None
        if key in RESERVED:
            raise ModelLoadError(f"{path}: {_at(first)}: {show(el.name)} is "
                                 f"{RESERVED[key]} and cannot be defined as a variable")
        _check_shadowing(tr, space, el.name, key, first)
        for comp, (line, written) in zip(el.components, defs):
            _check_values(tr, space, written, comp, line)
            groups.setdefault(key, []).append((written, comp, line))
    missing = [shown for key, shown in CONTROL.items() if key not in groups]
    if missing:
        raise ModelLoadError(f"{path}: no equation defines {', '.join(missing)} (every model needs the "
                             "simulation control values INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER)")
    total = 0
    for comps in groups.values():
        cells = _variable_cells(tr, space, comps)
        total += cells
        if total > MAX_MODEL_CELLS:
            raise ModelLimitError(f"{path}: the model's variables hold more than {MAX_MODEL_CELLS} "
                                  f"cells (reached at {show(comps[0][0])}, {_at(comps[0][2])})")
        if len(comps) > 1:
            _check_overlaps(tr, space, comps)


def _check_ranges(tr: Translation, space) -> None:
    for key, els in space.ranges.items():
        name = space.display.get(key, key)
        if len(els) > MAX_RANGE_ELEMENTS:
            raise ModelLimitError(f"{tr.path}: {_at(tr.range_line(key))}: subscript range {name!r} "
                                  f"has {len(els)} elements; at most {MAX_RANGE_ELEMENTS} are supported")
        if len(set(els)) != len(els):
            seen, dup = set(), None
            for e in els:
                if e in seen:
                    dup = e
                    break
                seen.add(e)
            raise ModelLoadError(f"{tr.path}: {_at(tr.range_line(key))}: subscript range {name!r} "
                                 f"lists element {space.display.get(dup, dup)!r} more than once")


def _check_values(tr: Translation, space: _Subscripts, name: str, comp, line) -> None:
    """A list of numbers must give one value per cell of its left-hand side (a single value, or a
    row repeated over the first subscripts, is broadcast)."""
    value = comp.ast
    if not isinstance(value, np.ndarray):
        return
    subs, _ = _lhs(comp)
    sets = [_elements(space, s) for s in subs]
    if any(s is None for s in sets):
        return  # an unknown subscript: the compiler names it
    shape = tuple(len(s) for s in sets)  # type: ignore[arg-type]
    if value.size == math.prod(shape):
        return
    try:
        if np.broadcast_shapes(value.shape, shape) == shape:
            return
    except ValueError:
        pass
    given = (f"{value.shape[0]} rows of {value.shape[1]} values" if value.ndim == 2
             else f"{value.size} value{'s' * (value.size != 1)}")
    shown = [space.display.get(s, s) for s in subs]
    if not subs:
        fits = "it has no subscripts (one value)"
    elif len(subs) == 1 and subs[0] in space.ranges:
        fits = f"its range {shown[0]!r} has {shape[0]} element{'s' * (shape[0] != 1)}"
    else:
        fits = (f"[{', '.join(shown)}] has " + " x ".join(str(n) for n in shape)
                + (f" = {math.prod(shape)}" if len(shape) > 1 else "")
                + f" cell{'s' * (math.prod(shape) != 1)}")
    raise ModelLoadError(f"{tr.path}: {_at(line)}: variable {show(name)} gives {given} but {fits}")


def _check_shadowing(tr: Translation, space: _Subscripts, name: str, key: str, line) -> None:
    if key in space.ranges:
        what = f"subscript range {space.display.get(key, key)!r} ({_at(tr.range_line(key))})"
    elif key in space.owners:
        owner = space.owners[key]
        what = (f"element {space.display.get(key, key)!r} of subscript range "
                f"{space.display.get(owner, owner)!r} ({_at(tr.range_line(owner))})")
    else:
        return
    raise ModelLoadError(f"{tr.path}: {_at(line)}: variable {show(name)} has the same name as {what}; "
                         "a reference to it would be ambiguous, rename one of them")


class _Subscripts:
    """A SubscriptSpace with an element -> range table (``space.is_element`` scans every range)."""

    def __init__(self, space):
        self.space = space
        self.display = space.display
        self.ranges = space.ranges
        self.owners: dict[str, str] = {}
        for r, els in space.ranges.items():
            for e in els:
                self.owners.setdefault(e, r)

    def elements(self, name: str) -> tuple[str, ...] | None:
        if name in self.ranges:
            return self.ranges[name]
        if name in self.owners:
            return (name,)
        return None  # an unknown subscript: the compiler names it


def _elements(space: _Subscripts, name: str) -> tuple[str, ...] | None:
    return space.elements(name)


def _lhs(comp) -> tuple[list[str], list[list[str]]]:
    subs, excepts = comp.subscripts
    return [normalize(s) for s in subs], [[normalize(s) for s in ex] for ex in excepts or ()]


def _variable_cells(tr: Translation, space, comps) -> int:
    """Cells of one variable: per subscript position, the union of the elements its equations name."""
    name, _, line = comps[0]
    union: list[set] = []
    for _, comp, _ in comps:
        subs, _ = _lhs(comp)
        for p, s in enumerate(subs):
            els = _elements(space, s)
            if els is None:
                return 0
            if p == len(union):
                union.append(set())
            union[p].update(els)
    cells = math.prod(len(u) for u in union) if union else 1
    if cells > MAX_VARIABLE_CELLS:
        raise ModelLimitError(f"{tr.path}: {_at(line)}, variable {show(name)}: {cells} cells; "
                              f"at most {MAX_VARIABLE_CELLS} are supported")
    return cells


def _cells(space, comp):
    subs, excepts = _lhs(comp)
    sets = [_elements(space, s) for s in subs]
    if any(s is None for s in sets):
        return None
    excluded: set[tuple[str, ...]] = set()
    for ex in excepts:
        ex_sets: list[tuple[str, ...]] = [_elements(space, s) or () for s in ex]
        excluded.update(itertools.product(*ex_sets))
    return (c for c in itertools.product(*sets) if c not in excluded)  # type: ignore[arg-type]


def _check_overlaps(tr: Translation, space, comps) -> None:
    owner: dict[tuple, int] = {}
    arity = None
    for i, (_, comp, _line) in enumerate(comps):
        subs, _ = _lhs(comp)
        if arity is None:
            arity = len(subs)
        elif len(subs) != arity:
            continue  # a different number of subscripts: the compiler reports it
        cells = _cells(space, comp)
        if cells is None:
            continue
        for cell in cells:
            j = owner.setdefault(cell, i)
            if j != i:
                _duplicate(tr, space, comps[j], comps[i], cell)


def _duplicate(tr: Translation, space, first, second, cell) -> None:
    (name1, _, line1), (name2, _, line2) = first, second
    where = " for [" + ",".join(space.display.get(c, c) for c in cell) + "]" if cell else ""
    if name1 == name2:
        what = f"variable {show(name1)} is defined twice{where}"
    else:
        what = (f"{show(name1)} and {show(name2)} are the same variable (names ignore case, spaces "
                f"and underscores), defined twice{where}")
    raise ModelLoadError(f"{tr.path}: {_at(line1)} and {_at(line2)}: {what}")
