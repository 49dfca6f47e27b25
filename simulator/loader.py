"""Read a Vensim (.mdl) or XMILE (.xmile/.stmx) file into the engine's model description.

The file goes through :mod:`simulator.parsing`: checked, bounded, parsed by pysd's translator with
``eval`` replaced by a literal parser, then validated (duplicates, shadowing, reserved names, cell
bounds). Nothing of pysd's generated Python is executed. This module only reshapes pysd's
abstract model into :class:`ModelSource`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelLoadError, UnsupportedFeatureError
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
class ModelSource:
    path: Path
    sha256: str
    elements: dict[str, Element]
    subscripts: SubscriptSpace


def read_source(path: str | Path) -> ModelSource:
    """Parse ``path`` and return the engine's description of the model."""
    path = Path(path)
    tr = translate(path)
    macros = [s for s in tr.model.sections if s.type != "main"]
    if macros:
        raise UnsupportedFeatureError(
            f"{path}: macro {macros[0].name!r} is defined; macros are not supported")
    section, space = check_translation(tr)
    elements: dict[str, Element] = {}
    for el in section.elements:
        key = normalize(el.name)
        lines = lines_of(tr, el)
        comps = []
        for c, line in zip(el.components, lines):
            ctype = type(c).__name__
            if ctype == "AbstractData":
                raise UnsupportedFeatureError(
                    f"{path}: variable {el.name!r} is a DATA variable (GET DATA / external data), "
                    "which is not supported")
            lhs = tuple(normalize(s) for s in c.subscripts[0])
            exc = tuple(tuple(normalize(s) for s in ex) for ex in c.subscripts[1])
            comps.append(Component(lhs=lhs, excepts=exc, ast=c.ast,
                                   is_lookup=ctype == "AbstractLookup", line=line))
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
    sha = hashlib.sha256(tr.data).hexdigest()
    return ModelSource(path=path, sha256=sha, elements=elements, subscripts=space)
