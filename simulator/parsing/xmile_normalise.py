"""XMILE as Vensim and Stella export it, rewritten into what pysd's XMILE translator reads.

Each rewrite is one exporter habit, and keeps every element's line:

- a bare ``&`` in text (Vensim writes documentation such as "Atmosphere & Ocean" unescaped):
  escaped, since no entity can be declared here anyway (DTDs are refused);
- names written with blanks inside equations (``predator births`` for ``predator_births``):
  written with underscores, as the XMILE standard spells them;
- ``{comments}`` inside equations (Stella): dropped;
- a graphical function with both ``<xpts>`` and ``<xscale>``: the points win (pysd would take the
  scale, which Stella sometimes writes as 0..0);
- an ``<aux>`` holding only a ``<gf>`` (a lookup table, as Vensim exports them): made a ``<gf>``;
- ``<dt>TIME_STEP=0.25</dt>`` (Vensim): the number;
- Vensim's SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I in an equation: XMILE's SMTH1 and SMTH3;
- PULSE in a file whose ``<product>`` is Vensim: Vensim's PULSE(start, width) (Vensim exports
  its equations as written), renamed ``VENSIM_PULSE`` so that pysd does not read it as XMILE's
  PULSE(magnitude, first, interval).

- a graphical function per array element (Stella; pysd would silently drop it): a lookup
  ``"var.element"`` per element, applied to the element's input.

Stella modules are flattened first (:mod:`.xmile_modules`). What cannot be run is an error naming
the line: a variable without an equation (an unfinished model).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

from ..errors import ModelLoadError, UnsupportedFeatureError
from .xmile_modules import flatten_modules

_BARE_AMP = re.compile(rb"&(?!(?:[A-Za-z][\w.-]*|#[0-9]+|#x[0-9A-Fa-f]+);)")
_COMMENT = re.compile(r"\{[^{}]*\}")
_QUOTED = re.compile(r'"[^"]*"')
_EXPRESSION_TAGS = ("eqn", "inflow", "outflow")
_VARIABLES = ("aux", "flow", "stock")
# Vensim writes its own names of XMILE's SMTH1/SMTH3 (same arguments, same order)
_SMOOTHS = {"SMOOTH": "SMTH1", "SMOOTHI": "SMTH1", "SMOOTH3": "SMTH3", "SMOOTH3I": "SMTH3"}
_VENSIM_SMOOTH = re.compile(r"(?<![\w.])(SMOOTH3I|SMOOTH3|SMOOTHI|SMOOTH)\s*\(", re.I)
_PULSE = re.compile(r"(?<![\w.])PULSE\s*\(", re.I)
_SPEC_NAME = re.compile(r"^\s*[A-Za-z_][\w ]*=(?!=)")  # Vensim writes <dt>TIME_STEP=0.25</dt>


def escape_ampersands(data: bytes) -> bytes:
    return _BARE_AMP.sub(b"&amp;", data)


def _local(node) -> str:
    tag = node.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def normalise_xmile(path: Path, root) -> None:
    """Rewrite ``root`` in place (see the module's list)."""
    for specs in [c for c in root if _local(c) == "sim_specs"]:
        for c in specs:
            if _local(c) in ("start", "stop", "dt") and c.text:
                c.text = _SPEC_NAME.sub("", c.text)
    flatten_modules(path, root)
    vensim = _written_by_vensim(root)
    for model in [c for c in root if _local(c) == "model"]:
        for variables in [c for c in model if _local(c) == "variables"]:
            _normalise_variables(path, variables, vensim)


def _written_by_vensim(root) -> bool:
    products = [p for h in root if _local(h) == "header" for p in h if _local(p) == "product"]
    return any("vensim" in (p.text or "").lower() for p in products)


def _normalise_variables(path: Path, variables, vensim: bool = False) -> None:
    nodes = [n for n in variables if _local(n) in _VARIABLES + ("gf",)]
    spaced = _spaced_names(n.get("name", "") for n in nodes)
    for n in nodes:
        _element_tables(path, n, variables)
        for holder in [n] + [c for c in n if _local(c) == "element"]:
            for child in holder:
                tag = _local(child)
                if tag in _EXPRESSION_TAGS and child.text:
                    text = _respell(_COMMENT.sub(" ", child.text), spaced)
                    text = _VENSIM_SMOOTH.sub(lambda m: _SMOOTHS[m.group(1).upper()] + "(", text)
                    child.text = _PULSE.sub("VENSIM_PULSE(", text) if vensim else text
                elif tag == "gf":
                    _prefer_points(child)
        if _local(n) == "gf":
            _prefer_points(n)
            continue
        if not _has_equation(n):
            gfs = [c for c in n if _local(c) == "gf"]
            if _local(n) == "aux" and len(gfs) == 1:
                _aux_to_gf(n, gfs[0])
                continue
            raise ModelLoadError(f"{path}: line {n.sourceline}, variable {n.get('name', '')!r}: "
                                 f"the <{_local(n)}> has no equation (<eqn>); the model is unfinished")


def _element_tables(path: Path, node, variables) -> None:
    """A graphical function per array element (Stella): pysd reads a <gf> only at the variable's
    level and would silently drop these. Each becomes a lookup ``"var.element"`` beside the
    variable, and the element's equation (its own, or the variable's shared one) is applied to
    it."""
    elements = [c for c in node if _local(c) == "element"]
    if not any(_local(c) == "gf" for e in elements for c in e):
        return
    shared = next((c for c in node if _local(c) == "eqn"), None)
    name = _clean_name(node.get("name", ""))
    for e in elements:
        gf = next((c for c in e if _local(c) == "gf"), None)
        if gf is None:
            continue
        eqn = next((c for c in e if _local(c) == "eqn"), None)
        source = eqn if eqn is not None else shared
        if source is None or not (source.text or "").strip():
            raise ModelLoadError(f"{path}: line {gf.sourceline}, variable {name!r}: the graphical "
                                 f"function of element {e.get('subscript', '')!r} has no input (<eqn>)")
        table = f"{name}.{e.get('subscript', '')}"
        if '"' in table:
            raise UnsupportedFeatureError(f"{path}: line {gf.sourceline}, variable {name!r}: not "
                                          "supported: a graphical function per element of this name")
        e.remove(gf)
        gf.set("name", table)
        variables.append(gf)
        if eqn is None:
            eqn = copy.deepcopy(source)  # the variable's shared equation
            e.insert(0, eqn)
        eqn.text = f'"{table}"({source.text.strip()})'
    if shared is not None:
        node.remove(shared)


def _clean_name(name: str) -> str:
    return name.replace("\\n", " ").replace("\n", " ")


def _has_equation(node) -> bool:
    holders = [node] + [c for c in node if _local(c) == "element"]
    return any(_local(c) == "eqn" and (c.text or "").strip() for h in holders for c in h)


def _prefer_points(gf) -> None:
    if any(_local(c) == "xpts" for c in gf):
        for c in [c for c in gf if _local(c) == "xscale"]:
            gf.remove(c)


def _aux_to_gf(aux, gf) -> None:
    aux.tag = aux.tag[:-3] + "gf"
    for c in [c for c in aux if _local(c) == "eqn"]:
        aux.remove(c)
    for k, v in gf.attrib.items():
        aux.set(k, v)
    index = list(aux).index(gf)
    aux.remove(gf)
    for offset, c in enumerate(list(gf)):
        aux.insert(index + offset, c)
    _prefer_points(aux)


def _spaced_names(names) -> list[tuple[re.Pattern, str, str]]:
    """(pattern of the name written with blanks, the name, its first word) for names holding
    underscores."""
    out = []
    for name in names:
        name = name.replace("\\n", "_").replace(" ", "_")
        if "_" in name.strip("_"):
            words = [re.escape(w) for w in name.split("_") if w]
            first = name.strip("_").split("_")[0].lower()
            out.append((re.compile(r"(?<![\w.])" + r"[ _]+".join(words) + r"(?![\w])", re.I), name, first))
    out.sort(key=lambda p: -len(p[1]))  # longer names first: "a b c" before "a b"
    return out


def _respell(text: str, spaced) -> str:
    if " " not in text.strip() or not spaced:
        return text
    pieces, last = [], 0
    for m in _QUOTED.finditer(text):
        pieces.append(_respell_plain(text[last:m.start()], spaced))
        pieces.append(m.group())
        last = m.end()
    pieces.append(_respell_plain(text[last:], spaced))
    return "".join(pieces)


def _respell_plain(text: str, spaced) -> str:
    low = text.lower()
    for pattern, name, first in spaced:
        if first in low and " " in text:  # the cheap test first: most names are not there
            text = pattern.sub(name, text)
            low = text.lower()
    return text
