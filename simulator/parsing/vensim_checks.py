"""Checks on a Vensim file's blocks before pysd parses them, each naming the line and variable.

They reject, with a message that says where, what pysd would otherwise ``eval`` (lookup ranges and
points that are not numbers), what would hang or exhaust the machine (numeric subscript ranges of
millions of elements, huge arrays and tables) and what would overflow Python's recursion (deep
nesting, very long sums). The guard around pysd (:mod:`.guard`) stays in place as a second line.
"""
from __future__ import annotations

import re

from ..errors import ModelLimitError, ModelLoadError, UnsafeModelTextError
from .bounds import expression_problem, mask_quotes
from .limits import (
    MAX_EQUATION_CHARS,
    MAX_LOOKUP_POINTS,
    MAX_NAME_CHARS,
    MAX_RANGE_ELEMENTS,
    MAX_VARIABLE_CELLS,
)
from .literals import LiteralError, parse_literal
from .vensim_text import Entry, VensimIndex, show

_ARRAY = re.compile(r"[\s\\0-9eE+\-.,;]*[0-9][\s\\0-9eE+\-.,;]*")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WITH_LOOKUP = re.compile(r"WITH LOOKUP[\s\\]*\(", re.I)
_TABBED = re.compile(r"TABBED ARRAY[\s\\]*\(", re.I)
_EXCEL_LOOKUP = re.compile(r"GET( |_)(XLS|DIRECT)( |_)LOOKUPS", re.I)
_NUMERIC_RANGE = re.compile(r"\([\s\\]*(\w[\w'$\s]*+)[\s\\]*-[\s\\]*(\w[\w'$\s]*+)[\s\\]*\)")
_DIGITS = re.compile(r"\d+|\D+")


def check_vensim(index: VensimIndex) -> int:
    """Run every check; return the deepest bracket nesting found (for pysd's recursion budget)."""
    deepest = 0
    for e in index.entries:
        if len(e.name) > MAX_NAME_CHARS:
            _fail(ModelLimitError, index, e, 0,
                  f"a name of {len(e.name)} characters; at most {MAX_NAME_CHARS} are supported")
        if len(e.equation) > MAX_EQUATION_CHARS:
            _fail(ModelLimitError, index, e, 0, f"an equation of {len(e.equation)} characters; "
                  f"at most {MAX_EQUATION_CHARS} are supported")
        _check_units(index, e)
        if e.kind == "subscript":
            _check_subscript_range(index, e)
        elif e.kind == "lookup":
            _check_table(index, e, e.rhs_offset, e.rhs)
        elif e.kind in ("component", "unchangeable", "data", "constraint"):
            deepest = max(deepest, _check_expression(index, e))
    return deepest


def _fail(cls, index: VensimIndex, e: Entry, offset: int, what: str):
    where = f"line {index.entry_line(e, offset)}"
    if e.name:
        what_name = "subscript range" if e.kind in ("subscript", "copy") else "variable"
        where += f", {what_name} {show(e.name)}"
    raise cls(f"{index.path}: {where}: {what}")


def _closing(masked: str, open_pos: int) -> int:
    """Index of the bracket closing the one at ``open_pos``, or -1."""
    depth = 0
    for m in re.finditer(r"[()]", masked[open_pos:]):
        depth += 1 if m.group() == "(" else -1
        if depth == 0:
            return open_pos + m.start()
    return -1


def _check_expression(index: VensimIndex, e: Entry) -> int:
    masked = mask_quotes(e.rhs)
    if _ARRAY.fullmatch(masked):
        n = len(_NUMBER.findall(masked))
        if n > MAX_VARIABLE_CELLS:
            _fail(ModelLimitError, index, e, e.rhs_offset,
                  f"an array of {n} numbers; at most {MAX_VARIABLE_CELLS} cells are supported")
        return 0
    spans = []  # numeric tables, left out of the term count
    for m in _TABBED.finditer(masked):
        close = _closing(masked, m.end() - 1)
        if close > 0:
            n = len(_NUMBER.findall(masked, m.end(), close))
            if n > MAX_VARIABLE_CELLS:
                _fail(ModelLimitError, index, e, e.rhs_offset + m.start(),
                      f"a TABBED ARRAY of {n} numbers; at most {MAX_VARIABLE_CELLS} cells are supported")
            spans.append((m.end(), close))
    for m in _WITH_LOOKUP.finditer(masked):
        close = _closing(masked, m.end() - 1)
        comma = _top_level_comma(masked, m.end(), close)
        if close > 0 and comma > 0:
            table = e.rhs[comma + 1:close]
            lead = len(table) - len(table.lstrip(" \\"))
            _check_table(index, e, e.rhs_offset + comma + 1 + lead, table.strip(" \\"))
            spans.append((comma + 1, close))
    counted = masked
    for a, b in spans:
        counted = counted[:a] + " " * (b - a) + counted[b:]
    problem, at, deepest = expression_problem(counted)
    if problem:
        _fail(ModelLimitError, index, e, e.rhs_offset + at, problem)
    return deepest


def _top_level_comma(masked: str, start: int, end: int) -> int:
    depth = 0
    for i in range(start, end if end > 0 else len(masked)):
        c = masked[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            return i
    return -1


def _check_table(index: VensimIndex, e: Entry, offset: int, body: str) -> None:
    """A lookup table ``([(xmin,ymin)-(xmax,ymax)], (x,y), ...)``: numbers only."""
    body = body.strip()
    if not (body.startswith("(") and body.endswith(")")):
        return  # not a table: pysd's grammar reports it
    content = body[1:-1]
    lead = len(content) - len(content.lstrip(" \\"))
    content = content.strip(" \\")
    if _EXCEL_LOOKUP.match(content):
        return
    start = offset + 1 + lead
    points = content
    if content.startswith("["):
        close = content.find("]")
        rest = content[close + 1:].lstrip(" \\") if close > 0 else ""
        if not rest.startswith(","):
            return  # pysd's grammar reports it
        range_text = content[:close + 1]
        value = _literal(index, e, start, range_text.replace(")-(", "),("), "lookup range")
        if not _pairs(value, list) or len(value) < 2:
            _fail(UnsafeModelTextError, index, e, start,
                  f"lookup range {_snip(range_text)} is not of the form [(xmin,ymin)-(xmax,ymax)]")
        start += len(content) - len(rest) + 1
        points = rest[1:]
    value = _literal(index, e, start, points, "lookup points")
    if not _pairs(value, tuple):
        _fail(UnsafeModelTextError, index, e, start,
              f"lookup points {_snip(points)} are not a list of (x,y) pairs")
    if len(value) > MAX_LOOKUP_POINTS:
        _fail(ModelLimitError, index, e, start, f"a lookup of {len(value)} points; "
              f"at most {MAX_LOOKUP_POINTS} are supported")


def _literal(index: VensimIndex, e: Entry, offset: int, text: str, what: str):
    try:
        return parse_literal(text)
    except LiteralError as exc:
        _fail(UnsafeModelTextError, index, e, offset, f"{what} must be numbers: {exc}")


def _pairs(value, container) -> bool:
    return (isinstance(value, container) and len(value) >= 1
            and all(isinstance(p, tuple) and len(p) == 2
                    and all(isinstance(v, (int, float)) for v in p) for p in value))


def _snip(text: str, limit: int = 60) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _check_subscript_range(index: VensimIndex, e: Entry) -> None:
    definition = e.equation[e.rhs_offset:].split("->", 1)[0]
    if re.match(r"[\s\\]*GET ", definition, re.I):
        return
    masked = mask_quotes(definition)
    total = len([item for item in masked.split(",") if item.strip()])
    for m in _NUMERIC_RANGE.finditer(masked):
        first, last = _DIGITS.findall(m.group(1).strip()), _DIGITS.findall(m.group(2).strip())
        if not (first[-1].isdigit() and last[-1].isdigit()):
            continue  # pysd reports malformed numeric ranges itself
        if len(first[-1]) > 18 or len(last[-1]) > 18:
            _fail(ModelLimitError, index, e, e.rhs_offset + m.start(),
                  f"numeric subscript range {_snip(m.group())} has numbers of more than 18 digits")
        total += max(0, int(last[-1]) - int(first[-1]) + 1) - 1
        if total > MAX_RANGE_ELEMENTS:
            break
    if total > MAX_RANGE_ELEMENTS:
        _fail(ModelLimitError, index, e, e.rhs_offset,
              f"subscript range of {total} elements; at most {MAX_RANGE_ELEMENTS} are supported")


def _check_units(index: VensimIndex, e: Entry) -> None:
    """pysd reads ``units [min, max, step]`` with ``float``; say where a bad range is."""
    units = e.units
    if not units.endswith("]"):
        return
    if units.count("[") != 1:
        raise ModelLoadError(
            f"{index.path}: line {e.line}, variable {show(e.name)}: units {_snip(units)} must end with "
            "one range [min, max] or [min, max, step]")
    for part in units.rsplit("[", 1)[1].strip("]").split(","):
        if part.strip() == "?":
            continue
        try:
            float(part)
        except ValueError:
            raise ModelLoadError(
                f"{index.path}: line {e.line}, variable {show(e.name)}: the range in the units "
                f"{_snip(units)} holds {part.strip()!r}, which is not a number or '?'") from None
