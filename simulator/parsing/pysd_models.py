"""pysd's own executable models (reference runs, tests, benchmarks), built from checked files only.

``pysd.read_vensim`` translates the file (``eval`` on model text, see :mod:`.guard`), writes a Python
module next to it and imports it. Some model text reaches that module unescaped: documentation goes
into a docstring, and several names are pasted between quotes. So these functions translate
through :func:`.translate.translate` (checked, guarded), run the load-time validation, then drop
the documentation and refuse names that could end a Python string before pysd's builder writes
the module. The module pysd writes is still imported, as ``pysd.read_vensim`` would.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from ..errors import UnsafeModelTextError
from .translate import translate
from .validate import check_translation

_UNSAFE_CHAR = re.compile(r"['\"\\\x00-\x1f\x7f]")


def pysd_read_vensim(path: str | Path, **load_options):
    """A ``pysd`` model object for a Vensim file, through the safe parsing layer."""
    return _build(path, "vensim", load_options)


def pysd_read_xmile(path: str | Path, **load_options):
    """A ``pysd`` model object for an XMILE file, through the safe parsing layer."""
    return _build(path, "xmile", load_options)


def _build(path, kind: str, load_options: dict):
    import pysd
    from pysd.builders.python.python_model_builder import ModelBuilder

    tr = translate(path, quiet=False)
    if tr.kind != kind:
        raise UnsafeModelTextError(f"{tr.path}: expected a {kind} model file")
    check_translation(tr)
    _strip_for_builder(tr)
    py_file = ModelBuilder(tr.model).build_model()
    model = pysd.load(py_file, **load_options)
    model.mdl_file = str(tr.path)
    return model


def _strip_for_builder(tr) -> None:
    for section in tr.model.sections:
        for el in section.elements:
            el.documentation = ""
            _check_strings(tr, el.name, el)
        for rng in section.subscripts:
            _check_strings(tr, rng.name, rng)


def _check_strings(tr, owner: str, obj, depth: int = 0) -> None:
    """Every string in ``obj`` (names, subscripts, syntax tree) must be unable to end a quote."""
    for text in _strings(obj, depth):
        inner = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
        bad = _UNSAFE_CHAR.search(inner)
        if bad:
            raise UnsafeModelTextError(
                f"{tr.path}: variable or subscript {owner!r}: the text {text[:60]!r} holds "
                f"{bad.group()!r}, which pysd's code generator would paste into Python source "
                "unescaped; rename it to run this model with pysd")


def _strings(obj, depth: int):
    if depth > 200:
        return
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k, depth + 1)
            yield from _strings(v, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            yield from _strings(v, depth + 1)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if f.name not in ("documentation", "units"):  # units reach pysd's source through repr()
                yield from _strings(getattr(obj, f.name), depth + 1)
