"""Reading a Vensim file's elements as text, and writing fitted constants back into it.

The writer does not search the file with patterns: it splits the text into elements at the
Vensim separators (``|`` ends an element, ``~`` separates equation, units and documentation),
finds the element whose left-hand side is the constant's name, checks that its right-hand side
is a single number and replaces exactly that number. Anything else (an equation, a subscripted
constant, a name found twice) is an error naming the file and the constant.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SKETCH = "\\\\\\---///"


@dataclass(frozen=True)
class Element:
    name: str
    op: str            # "=" equation or constant, "(" lookup, ":" subscript range
    equation: str      # the equation text, stripped
    units: str
    doc: str           # documentation, whitespace collapsed
    rhs_span: tuple[int, int]  # offsets of the right-hand side in the file text


def _elements(text: str):
    body_end = text.find(SKETCH)
    body_end = len(text) if body_end < 0 else body_end
    start = 0
    while start < body_end:
        end = text.find("|", start, body_end)
        end = body_end if end < 0 else end
        chunk = text[start:end]
        parts = chunk.split("~")
        if len(parts) == 3:
            yield start, parts
        start = end + 1


def _split_lhs(eq: str) -> tuple[str, str, int] | None:
    """(name, op, offset of the first character after op) of an equation, or None."""
    depth = 0
    for i, ch in enumerate(eq):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0 and ch in "=(:":
            name = eq[:i].split("[")[0].strip()
            return (name, ch, i + 1) if name else None
    return None


def read_elements(path: str | Path) -> dict[str, Element]:
    """Every element of a Vensim file by name (group headers and the control block included)."""
    text = Path(path).read_text(encoding="utf-8")
    out: dict[str, Element] = {}
    for start, (eq_raw, units, doc) in _elements(text):
        lead = len(eq_raw) - len(eq_raw.lstrip())
        eq = eq_raw.strip()
        if eq.startswith("{UTF-8}"):
            lead += len(eq_raw.lstrip()) - len(eq_raw.lstrip()[len("{UTF-8}"):].lstrip())
            eq = eq[len("{UTF-8}"):].strip()
        if not eq or eq.startswith("*"):
            continue
        lhs = _split_lhs(eq)
        if lhs is None:
            continue
        name, op, after = lhs
        rhs_start = start + lead + after
        out[name] = Element(name, op, eq, units.strip(), " ".join(doc.split()),
                            (rhs_start, start + len(eq_raw.rstrip())))
    return out


def mdl_elements(path: str | Path) -> dict[str, dict]:
    """{name: {equation, units, doc, op}} of a Vensim file (plain text, no evaluation)."""
    return {n: {"equation": e.equation, "units": e.units, "doc": e.doc, "op": e.op}
            for n, e in read_elements(path).items()}


def doc_field(doc: str, key: str) -> str | None:
    """The ``key: value`` field of a ``zh: ...; en: ...; source: ...`` documentation string."""
    for part in doc.split(";"):
        part = part.strip()
        if part.startswith(f"{key}:"):
            return part[len(key) + 1:].strip()
    return None


def constant_value(el: Element) -> float | None:
    """The number of a scalar constant ``Name = number``, else None."""
    if el.op != "=":
        return None
    try:
        return float(el.equation.split("=", 1)[1].strip())
    except ValueError:
        return None


def write_params_to_mdl(path: str | Path, params: dict[str, float]) -> None:
    """Replace the values of scalar constants ``Name = number`` in a Vensim file, in place."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    elements = read_elements(path)
    edits = []
    for name, value in params.items():
        el = elements.get(name)
        if el is None:
            raise ValueError(f"{path}: no constant named {name!r}")
        if constant_value(el) is None:
            raise ValueError(f"{path}: {name!r} is not a scalar constant 'Name = number'")
        a, b = el.rhs_span
        edits.append((a, b, f"\n\t{float(value):.6g}"))
    for a, b, new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    path.write_text(text, encoding="utf-8")
