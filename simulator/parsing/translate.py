"""From a file on disk to pysd's abstract model, through the checks and the ``eval`` guard.

pysd is handed the text (Vensim) or the XML tree (XMILE) that the checks read, never the path to
read again, so the file cannot change between the checks and the parse. Any failure inside pysd
is located in the file (the first element pysd had not finished) and reported as one line naming
the file, the line and the variable.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelLimitError, ModelLoadError, UnsafeModelTextError
from ..names import normalize
from .guard import UnsafeText, check_pysd_version, pysd_translation
from .vensim_checks import check_vensim
from .vensim_text import Entry, VensimIndex, index_vensim, read_bytes, show
from .xmile_scan import XmileIndex, index_xmile

SUPPORTED_SUFFIXES = {".mdl": "vensim", ".xmile": "xmile", ".stmx": "xmile", ".xml": "xmile"}


@dataclass
class Translation:
    """pysd's abstract model of a checked file, with the index that knows its lines."""

    path: Path
    kind: str            # "vensim" or "xmile"
    data: bytes          # the bytes that were checked and parsed
    model: Any           # pysd's AbstractModel
    index: Any           # VensimIndex or XmileIndex, by ``kind``
    _definitions: dict | None = field(default=None, repr=False)

    def definitions(self, merge_name: str) -> list[tuple[int, str]]:
        """(line, name as written) of the equations pysd merges under ``merge_name``, in file
        order (pysd merges by ``name.lower().replace(" ", "_")`` in Vensim, by exact name in XMILE)."""
        if self._definitions is None:
            table: dict[str, list[tuple[int, str]]] = {}
            if self.kind == "vensim":
                for e in self.index.components():
                    table.setdefault(e.name.lower().replace(" ", "_"), []).append((e.line, e.name))
            else:
                for e in self.index.entries:
                    table.setdefault(e.name, []).append((e.line, e.name))
            self._definitions = table
        return self._definitions.get(merge_name, [])

    def range_line(self, key: str) -> int | None:
        if self.kind == "vensim":
            lines = [e.line for e in self.index.entries if e.key == key and e.kind in ("subscript", "copy")]
            return lines[0] if lines else None
        return self.index.ranges.get(key)


def model_kind(path: Path) -> str:
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ModelLoadError(
            f"{path}: unsupported file type {path.suffix!r}; expected one of "
            f"{', '.join(sorted(SUPPORTED_SUFFIXES))}")
    return kind


def translate(path: str | Path, *, quiet: bool = True) -> Translation:
    """Check ``path`` and parse it with pysd's translator; never runs text from the file.

    ``quiet`` silences pysd's translation warnings (the engine reports what it cannot run itself).
    """
    path = Path(path)
    kind = model_kind(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    check_pysd_version()
    data = read_bytes(path)
    index: Any
    if kind == "vensim":
        index = index_vensim(path, data)
        deepest = check_vensim(index)
    else:
        index, deepest, root = index_xmile(path, data)
    src = None
    with pysd_translation(deepest), warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        try:
            src = _vensim_file(path, index) if kind == "vensim" else _xmile_file(path, root)
            src.parse()
            model = src.get_abstract_model()
        except ModelLoadError:
            raise
        except Exception as exc:  # parsimonious, lxml, numpy and pysd's own ValueErrors
            raise _explain(path, index, src, exc) from None
    return Translation(path=path, kind=kind, data=data, model=model, index=index)


def _vensim_file(path: Path, index: VensimIndex):
    from pysd.translators.vensim.vensim_file import VensimFile

    class CheckedVensimFile(VensimFile):
        def _read(self, encoding):
            return index.raw

    return CheckedVensimFile(path, encoding=index.encoding)


def _xmile_file(path: Path, root):
    from pysd.translators.xmile.xmile_file import XmileFile

    class CheckedXmileFile(XmileFile):
        def _get_root(self):
            return root

    if None not in root.nsmap:
        raise ModelLoadError(f"{path}: line {root.sourceline}: the <{root.tag}> root has no XMILE "
                             "namespace (xmlns=\"http://docs.oasis-open.org/xmile/ns/XMILE/v1.0\")")
    return CheckedXmileFile(path)


# ---------------------------------------------------------------------- locating a failure
def _explain(path: Path, index, src, exc: Exception) -> ModelLoadError:
    where, name, offset_in = _locate(index, src, exc)
    prefix = f"{path}: {where}" + (f", variable {show(name)}" if name else "") + ": " if where else f"{path}: "
    unsafe = _find_cause(exc, UnsafeText)
    if unsafe is not None:
        return UnsafeModelTextError(f"{prefix}text where only a number is allowed: {unsafe.reason}")
    if _find_cause(exc, RecursionError) is not None:
        return ModelLimitError(f"{prefix}the expression is nested too deeply to parse")
    if _find_cause(exc, MemoryError) is not None:
        return ModelLimitError(f"{prefix}the model is too large to parse in memory")
    cls = type(exc).__name__
    if cls in ("ParseError", "IncompleteParseError"):
        text = getattr(exc, "text", "") or ""
        pos = getattr(exc, "pos", 0) or 0
        rule = getattr(getattr(exc, "expr", None), "name", "") or ""
        detail = f" (grammar rule {rule!r})" if rule else ""
        return ModelLoadError(f"{prefix}syntax error in {_snip(text, 120)} at column {pos + 1}, "
                              f"near {_snip(text[pos:], 40)}{detail}")
    original = _find_cause(exc, Exception, skip=exc) or exc
    message = str(original).strip().splitlines()[0][:300] if str(original).strip() else ""
    return ModelLoadError(f"{prefix}could not be parsed ({type(original).__name__}: {message})")


def _snip(text: str, limit: int) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _find_cause(exc: BaseException | None, cls, skip=None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, cls) and exc is not skip:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _locate(index, src, exc) -> tuple[str, str, int]:
    """("line N", variable name, offset) of the element pysd failed on, as far as known."""
    if isinstance(index, XmileIndex):
        return _locate_xmile(src)
    entry, name = _failed_vensim_entry(index, src)
    if entry is None:
        text = getattr(exc, "text", None)
        if text == index.text:  # the file-level grammar failed: its position is in the cleaned text
            return f"line {index.line(getattr(exc, 'pos', 0) or 0)}", name, 0
        return "", name, 0
    offset = 0
    text = getattr(exc, "text", None)
    pos = getattr(exc, "pos", None)
    if isinstance(pos, int) and text is not None:
        if text == entry.equation:
            offset = pos
        elif text == entry.rhs:
            offset = entry.rhs_offset + pos
    return f"line {index.entry_line(entry, offset)}", entry.name or name, offset


def _failed_vensim_entry(index: VensimIndex, src) -> tuple[Entry | None, str]:
    from pysd.translators.vensim.vensim_element import Element

    for section in getattr(src, "sections", None) or ():
        if section is None:
            continue
        key = "" if section.name == "__main__" else normalize(section.name)
        mine = index.element_entries(key)
        elements = section.elements
        if elements is None:
            return None, ""
        if elements and isinstance(elements[0], Element):
            for i, el in enumerate(elements):
                if not hasattr(el, "component"):
                    return (mine[i] if i < len(mine) else None), ""
            return None, ""
        pending = (list(getattr(section, "components", []) or [])
                   + list(getattr(section, "constraints", []) or [])
                   + list(getattr(section, "test_inputs", []) or []))
        for comp in pending:
            if getattr(comp, "ast", True) is None:
                k = normalize(comp.name)
                same = [e for e in mine if e.key == k]
                exact = [e for e in same if e.rhs == getattr(comp, "expression", None)]
                best = exact or same
                return (best[0] if best else None), comp.name
    return None, ""


def _locate_xmile(src) -> tuple[str, str, int]:
    for section in getattr(src, "sections", None) or ():
        for comp in getattr(section, "components", None) or ():
            if not comp.components and getattr(comp, "node", None) is not None:
                return f"line {comp.node.sourceline}", comp.name, 0
    return "", "", 0
