"""Read a Vensim (.mdl) or XMILE (.xmile/.stmx) file into the engine's model description.

Parsing is pysd's (its translators produce an ``AbstractModel``); nothing of pysd's generated
Python is executed. This module only reshapes the abstract model into :class:`ModelSource`.
"""
from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelLoadError
from .names import normalize
from .subscripts import SubscriptSpace, build_space

SUPPORTED_SUFFIXES = {".mdl": "vensim", ".xmile": "xmile", ".stmx": "xmile", ".xml": "xmile"}
CONTROL_NAMES = ("initial_time", "final_time", "time_step", "saveper")


@dataclass(frozen=True)
class Component:
    """One equation of a variable: left-hand subscripts, :EXCEPT: lists and the syntax tree."""

    lhs: tuple[str, ...]
    excepts: tuple[tuple[str, ...], ...]
    ast: object
    is_lookup: bool
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


@dataclass(frozen=True)
class Macro:
    """A :MACRO: definition: its parameters and its equations (the one named like the macro is
    what a call returns)."""

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


def _parse_error_message(path: Path, exc: Exception) -> str:
    text = str(exc)
    m = re.search(r"line (\d+), column (\d+)", text)
    where = f"line {m.group(1)}, column {m.group(2)}" if m else "unknown position"
    rule = re.search(r"Rule '([^']+)'", text)
    near = re.search(r"at '(.{0,60})", text, re.S)
    detail = f" (grammar rule {rule.group(1)!r}" if rule else " ("
    detail += f", near {near.group(1).splitlines()[0]!r})" if near else ")"
    return f"{path}: syntax error at {where} of the equation{detail}: {text.splitlines()[0][:200]}"


def _abstract_model(path: Path):
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ModelLoadError(
            f"{path}: unsupported file type {path.suffix!r}; expected one of "
            f"{', '.join(sorted(SUPPORTED_SUFFIXES))}")
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if kind == "vensim":
                from pysd.translators.vensim.vensim_file import VensimFile

                text = path.read_bytes()
                try:
                    text.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ModelLoadError(
                        f"{path}: not valid UTF-8 at byte {exc.start}; save the model as UTF-8") from None
                src = VensimFile(path, encoding="UTF-8")
            else:
                from pysd.translators.xmile.xmile_file import XmileFile

                src = XmileFile(path)
            src.parse()
            return src.get_abstract_model()
        except ModelLoadError:
            raise
        except Exception as exc:  # pysd raises parsimonious / lxml / ValueError on bad input
            name = type(exc).__name__
            if name in ("ParseError", "IncompleteParseError", "VisitationError"):
                raise ModelLoadError(_parse_error_message(path, exc)) from None
            raise ModelLoadError(f"{path}: could not be parsed ({name}: {str(exc).splitlines()[0][:300]})") from None


def read_source(path: str | Path) -> ModelSource:
    """Parse ``path`` and return the engine's description of the model."""
    path = Path(path)
    am = _abstract_model(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    main = [s for s in am.sections if s.type == "main"]
    section = main[0]
    space = build_space(section.subscripts, str(path))
    macros = {}
    for s in am.sections:
        if s.type != "main":
            key = normalize(s.name)
            macros[key] = Macro(name=s.name, key=key, params=tuple(normalize(p) for p in s.params),
                                elements=_elements(s, path))
    return ModelSource(path=path, sha256=sha, elements=_elements(section, path), subscripts=space, macros=macros)


def _elements(section, path: Path) -> dict[str, Element]:
    elements: dict[str, Element] = {}
    for el in section.elements:
        key = normalize(el.name)
        comps = []
        for c in el.components:
            ctype = type(c).__name__
            lhs = tuple(normalize(s) for s in c.subscripts[0])
            exc = tuple(tuple(normalize(s) for s in ex) for ex in c.subscripts[1])
            comps.append(Component(lhs=lhs, excepts=exc, ast=c.ast, is_lookup=ctype == "AbstractLookup",
                                   is_data=ctype == "AbstractData",
                                   data_keyword=getattr(c, "keyword", None) if ctype == "AbstractData" else None))
        if not comps:
            continue
        if key in elements:  # XMILE may repeat a name across sections; Vensim never
            raise ModelLoadError(f"{path}: variable {el.name!r} is defined twice")
        limits = tuple(el.limits) if el.limits else (None, None)
        elements[key] = Element(
            name=el.name, key=key, units=(el.units or "").strip(), limits=limits,
            documentation=(el.documentation or "").strip(), components=tuple(comps),
            is_control=type(el).__name__ == "AbstractControlElement" or key in CONTROL_NAMES)
    return elements
