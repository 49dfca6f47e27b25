"""An XMILE file read with a locked-down XML parser and checked before pysd parses it.

pysd parses XMILE with lxml's defaults plus ``recover=True``: entities are expanded (a file can
pull in another local file or expand to gigabytes) and a broken document is silently truncated.
Here the document must be well-formed, must not declare a DTD, and every number pysd reads with
``np.fromstring``/``float`` (graphical function points, scales, ranges) must be a number: a bad
``ypts`` would otherwise be cut short without a word.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLimitError, ModelLoadError, UnsafeModelTextError
from ..names import normalize
from .bounds import expression_problem, mask_quotes
from .limits import MAX_LOOKUP_POINTS, MAX_NAME_CHARS, MAX_RANGE_ELEMENTS, MAX_VARIABLE_CELLS
from .vensim_text import show
from .xmile_normalise import escape_ampersands, normalise_xmile

_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
VARIABLE_TAGS = ("aux", "flow", "stock", "gf")


@dataclass(frozen=True)
class XEntry:
    line: int
    kind: str
    name: str
    key: str


@dataclass
class XmileIndex:
    path: Path
    entries: list[XEntry]
    ranges: dict[str, int]  # normalised dimension name -> line


def _line(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def _local(node) -> str:
    tag = node.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(node, name: str) -> list:
    return [c for c in node if _local(c) == name]


def index_xmile(path: Path, data: bytes) -> tuple[XmileIndex, int, object]:
    """Parse safely and check every field pysd would trust: (index, deepest nesting, XML root)."""
    from lxml import etree

    m = _DTD.search(data)
    if m:
        raise ModelLoadError(
            f"{path}: line {_line(data, m.start())}: the file declares a document "
            "type (<!DOCTYPE>/<!ENTITY>); XMILE models must not, as entities can read other files")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"{path}: line {_line(data, exc.start)}: not valid UTF-8 "
                             f"at byte {exc.start}; save the model as UTF-8") from None
    # recover only so that an undeclared namespace prefix (common in exported files) is not fatal;
    # any other error in the log is reported
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, recover=True, encoding="utf-8")
    try:
        root = etree.fromstring(escape_ampersands(data), parser=parser)
    except etree.XMLSyntaxError as exc:
        root, first = None, exc
    else:
        first = next((e for e in parser.error_log
                      if e.level_name in ("ERROR", "FATAL") and e.domain_name != "NAMESPACE"), None)
    if root is None or first is not None:
        line = getattr(first, "line", None) or getattr(first, "lineno", None) or 0
        message = getattr(first, "message", None) or str(first or "no root element")
        raise ModelLoadError(f"{path}: line {line}: not well-formed XML: {message.strip()[:200]}")
    normalise_xmile(path, root)
    index = XmileIndex(path=path, entries=[], ranges={})
    sizes = _dimensions(index, root)
    deepest = 0
    for model in _children(root, "model"):
        for variables in _children(model, "variables"):
            for node in variables:
                if _local(node) in VARIABLE_TAGS:
                    deepest = max(deepest, _variable(index, node, sizes))
    for specs in _children(root, "sim_specs"):
        for tag in ("start", "stop"):
            if not _children(specs, tag):
                raise ModelLoadError(f"{path}: line {specs.sourceline}: <sim_specs> has no <{tag}>")
        for tag in ("start", "stop", "dt"):
            for node in _children(specs, tag):
                deepest = max(deepest, _expression(index, node, "sim_specs", node.text or ""))
    return index, deepest, root


def _dimensions(index: XmileIndex, root) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for dims in _children(root, "dimensions"):
        for dim in _children(dims, "dim"):
            name = dim.get("name", "")
            n = len(_children(dim, "elem"))
            if n > MAX_RANGE_ELEMENTS:
                raise ModelLimitError(f"{index.path}: line {dim.sourceline}: dimension {name!r} has "
                                      f"{n} elements; at most {MAX_RANGE_ELEMENTS} are supported")
            sizes[normalize(name)] = n
            index.ranges.setdefault(normalize(name), dim.sourceline)
    return sizes


def _fail(index: XmileIndex, node, name: str, what: str, cls=ModelLoadError):
    raise cls(f"{index.path}: line {node.sourceline}, variable {show(name)}: {what}")


def _variable(index: XmileIndex, node, sizes: dict[str, int]) -> int:
    if "name" not in node.attrib:
        raise ModelLoadError(f"{index.path}: line {node.sourceline}: <{_local(node)}> has no name")
    name = node.get("name").replace("\\n", " ")
    if len(name) > MAX_NAME_CHARS:
        _fail(index, node, name, f"a name of {len(name)} characters; at most "
              f"{MAX_NAME_CHARS} are supported", ModelLimitError)
    index.entries.append(XEntry(line=node.sourceline, kind=_local(node), name=name, key=normalize(name)))
    cells = 1
    for dims in _children(node, "dimensions"):
        for dim in _children(dims, "dim"):
            cells *= max(1, sizes.get(normalize(dim.get("name", "")), 1))
    if cells > MAX_VARIABLE_CELLS:
        _fail(index, node, name, f"{cells} cells; at most {MAX_VARIABLE_CELLS} are supported",
              ModelLimitError)
    for rng in _children(node, "range"):
        for attr in ("min", "max"):
            if attr in rng.attrib:
                _number(index, rng, name, rng.get(attr), f"range {attr}")
    deepest = 0
    holders = [node] + _children(node, "element")
    for holder in holders:
        for eqn in _children(holder, "eqn"):
            deepest = max(deepest, _expression(index, eqn, name, eqn.text or ""))
        gfs = [holder] if _local(holder) == "gf" else _children(holder, "gf")
        for gf in gfs:
            _graphical(index, gf, name)
    return deepest


def _expression(index: XmileIndex, node, name: str, text: str) -> int:
    problem, _, deepest = expression_problem(mask_quotes(text))
    if problem:
        _fail(index, node, name, problem, ModelLimitError)
    return deepest


def _number(index: XmileIndex, node, name: str, text: str | None, what: str) -> float:
    t = (text or "").strip()
    if not _NUMBER.fullmatch(t):
        _fail(index, node, name, f"{what} {t[:60]!r} is not a number", UnsafeModelTextError)
    value = float(t)
    if not math.isfinite(value):
        _fail(index, node, name, f"{what} {t[:60]!r} is out of the floating-point range",
              UnsafeModelTextError)
    return value


def _points(index: XmileIndex, node, name: str, what: str) -> int:
    sep = node.get("sep", ",")
    text = node.text or ""
    # numpy's fromstring: whitespace in the separator matches any run of whitespace
    items = text.split() if not sep.strip() else text.split(sep.strip())
    if len(items) > 1 and not items[-1].strip():
        items.pop()  # a trailing separator
    if len(items) > MAX_LOOKUP_POINTS:
        _fail(index, node, name, f"<{what}> has {len(items)} points; at most "
              f"{MAX_LOOKUP_POINTS} are supported", ModelLimitError)
    for item in items:
        _number(index, node, name, item, f"<{what}> value")
    return len(items)


def _graphical(index: XmileIndex, gf, name: str) -> None:
    ypts = _children(gf, "ypts")
    if not ypts:
        _fail(index, gf, name, "graphical function without <ypts>")
    n = _points(index, ypts[0], name, "ypts")
    xscale, xpts = _children(gf, "xscale"), _children(gf, "xpts")
    if xscale:
        lo = _number(index, xscale[0], name, xscale[0].get("min"), "xscale min")
        hi = _number(index, xscale[0], name, xscale[0].get("max"), "xscale max")
        if not lo < hi:
            _fail(index, xscale[0], name, f"xscale min {lo} is not below max {hi}")
    elif xpts:
        nx = _points(index, xpts[0], name, "xpts")
        if nx != n:
            _fail(index, xpts[0], name, f"<xpts> has {nx} values but <ypts> has {n}")
    else:
        _fail(index, gf, name, "graphical function without <xscale> or <xpts>")
    for tag in ("yscale",):
        for scale in _children(gf, tag):
            for attr in ("min", "max"):
                if attr in scale.attrib:
                    _number(index, scale, name, scale.get(attr), f"{tag} {attr}")
