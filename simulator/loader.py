"""Read a Vensim (.mdl) or XMILE (.xmile/.stmx) file into the engine's model description.

The file goes through :mod:`simulator.parsing`: checked, bounded, parsed by pysd's translator with
``eval`` replaced by a literal parser, then validated (duplicates, shadowing, reserved names, cell
bounds). Nothing of pysd's generated Python is executed. This module only reshapes pysd's
abstract model into :class:`ModelSource`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelLoadError
from .names import normalize
from .parsing import SUPPORTED_SUFFIXES, check_translation, lines_of, translate
from .subscripts import SubscriptSpace

CONTROL_NAMES = ("initial_time", "final_time", "time_step", "saveper")
__all__ = ["Component", "Element", "ModelSource", "read_source", "SUPPORTED_SUFFIXES", "CONTROL_NAMES"]


@dataclass(frozen=True)
class Component:
    """One equation of a variable: left-hand subscripts, :EXCEPT: lists and the syntax tree."""

    lhs: tuple[str, ...]
    excepts: tuple[tuple[str, ...], ...]
    ast: object
    is_lookup: bool
    line: int | None = None  # file line of the equation
    is_data: bool = False  # a DATA equation (GET XLS/DIRECT DATA, or values given at run time)
    data_keyword: str | None = None  # its interpolation: interpolate, hold_backward, look_forward, raw


@dataclass(frozen=True)
class Element:
    """A model variable as written in the file, with its metadata."""

    name: str
    key: str
    units: str
    limits: tuple
    documentation: str
    components: tuple[Component, ...]
    is_control: bool
    line: int | None = None  # file line of its first equation


@dataclass(frozen=True)
class Macro:
    """A :MACRO: section of pysd's model. Vensim macros are expanded into ordinary equations by the
    parsing layer (:mod:`simulator.parsing.macros`) before pysd parses, so none reaches here from
    a file; the type stays for the IR's interface."""

    name: str
    key: str
    params: tuple[str, ...]
    elements: dict[str, Element]


@dataclass(frozen=True)
class ModelSource:
    path: Path
    sha256: str
    elements: dict[str, Element]
    subscripts: SubscriptSpace
    macros: dict[str, Macro] = field(default_factory=dict)


def read_source(path: str | Path) -> ModelSource:
    """Parse ``path`` and return the engine's description of the model."""
    path = Path(path)
    tr = translate(path)
    section, space = check_translation(tr)
    macros = {}
    for sec in tr.model.sections:
        if sec.type != "main":
            key = normalize(sec.name)
            macros[key] = Macro(name=sec.name, key=key, params=tuple(normalize(p) for p in sec.params),
                                elements=_elements(tr, sec))
    sha = hashlib.sha256(tr.data).hexdigest()
    return ModelSource(path=path, sha256=sha, elements=_elements(tr, section), subscripts=space,
                       macros=macros)


def _elements(tr, section) -> dict[str, Element]:
    path = tr.path
    elements: dict[str, Element] = {}
    for el in section.elements:
        key = normalize(el.name)
        lines = lines_of(tr, el)
        comps = []
        for c, line in zip(el.components, lines):
            ctype = type(c).__name__
            lhs = tuple(normalize(s) for s in c.subscripts[0])
            exc = tuple(tuple(normalize(s) for s in ex) for ex in c.subscripts[1])
            is_data = ctype == "AbstractData"
            comps.append(Component(lhs=lhs, excepts=exc, ast=c.ast, is_lookup=ctype == "AbstractLookup",
                                   line=line, is_data=is_data,
                                   data_keyword=getattr(c, "keyword", None) if is_data else None))
        if not comps:
            continue
        if key in elements:  # XMILE may repeat a name across sections; Vensim never
            raise ModelLoadError(f"{path}: line {lines[0]}: variable {el.name!r} is defined twice "
                                 f"(first at line {elements[key].line})")
        limits = tuple(el.limits) if el.limits else (None, None)
        elements[key] = Element(
            name=el.name, key=key, units=(el.units or "").strip(), limits=limits,
            documentation=(el.documentation or "").strip(), components=tuple(comps),
            is_control=type(el).__name__ == "AbstractControlElement" or key in CONTROL_NAMES,
            line=lines[0] if lines else None)
    return elements
