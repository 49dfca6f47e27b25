"""Valid Vensim that pysd's grammar rejects, rewritten into the form it accepts.

Every rewrite keeps each character's line and column (a comment becomes spaces, a continuation
backslash becomes a space), so every later message still points at the file as written:

- inline comments ``{...}`` in an equation or its units (Vensim allows them anywhere there;
  pysd's grammar only at the top of the file). Braces in the documentation are its text and stay.
- line continuations: pysd only knows a backslash followed by a newline and a tab; Vensim also
  writes a backslash followed by spaces, or by a newline and spaces.
- a lookup written as its x values then its y values (``t(0,0.5,1, 0,0.8,1)``, the older
  Vensim form that pysd does not read): written as (x,y) pairs, when the x values increase;
- a data variable declared by its name alone (``x ~ units ~ doc |``, values given at run time):
  pysd's grammar wants a keyword, so ``:INTERPOLATE:`` (Vensim's default) is added on that line;
  the engine then says what it does with such a variable.

Text that is truly invalid (a comment never closed) is an error naming the line and column.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import ModelLoadError
from .vensim_blocks import blocks, text_start
from .vensim_text import classify

_CONTINUATION = re.compile(r"\\[ \t]*(?=\n)")
_SPECIAL = re.compile(r'["~|{]')
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FLAT_TABLE = re.compile(r"\(\s*(?:[+-]?[\d.][\d.eE+-]*\s*,\s*)+[+-]?[\d.][\d.eE+-]*\s*\)")
_BARE_DATA = re.compile(r'(?:"[^"]*"|[^\W\d][\w$\' \t\n]*)\s*(?:\[[^\]]*\])?\Z')


def normalise_vensim(path: Path, equations: str) -> str:
    """The equations part of a Vensim file (before the sketch) with comments and continuations
    replaced by spaces; same length, same line breaks."""
    text = _CONTINUATION.sub(lambda m: " " * len(m.group()), equations)
    return _pair_tables(_declare_data(_strip_comments(path, text)))


def _pair_tables(text: str) -> str:
    edits = []
    for b in blocks(text, text_start(text), len(text)):
        eq = text[b.start:b.eq_end].rstrip()
        kind, _, _, at = classify(eq)
        if kind != "lookup" or not _FLAT_TABLE.fullmatch(eq, at):
            continue
        values = [float(v) for v in _NUMBER.findall(eq, at)]
        n = len(values) // 2
        xs = values[:n]
        if len(values) % 2 or n < 2 or any(a >= b for a, b in zip(xs, xs[1:])):
            continue
        numbers = _NUMBER.findall(eq, at)
        pairs = ",".join(f"({x},{y})" for x, y in zip(numbers[:n], numbers[n:]))
        edits.append((b.start + at, b.start + len(eq), f"({pairs})" + "\n" * eq.count("\n", at)))
    for a, z, new in reversed(edits):
        text = text[:a] + new + text[z:]
    return text


def _declare_data(text: str) -> str:
    edits = []
    for b in blocks(text, text_start(text), len(text)):
        if b.fields < 3:
            continue  # a group heading
        eq = text[b.start:b.eq_end]
        kind, name, subs, _ = classify(eq.strip())
        if kind != "unknown" or not name:
            continue
        m = _BARE_DATA.match(eq.strip())
        if m:
            edits.append(b.start + len(eq.rstrip()))
    for at in reversed(edits):
        text = text[:at] + " :INTERPOLATE:" + text[at:]
    return text


def _strip_comments(path: Path, text: str) -> str:
    if "{" not in text:
        return text
    out = list(text)
    pos = text_start(text)  # {UTF-8}: pysd's grammar reads it
    field = 0  # 0 equation, 1 units, 2+ documentation and supplementary flags
    while True:
        m = _SPECIAL.search(text, pos)
        if m is None:
            break
        pos, c = m.start(), m.group()
        if c == '"' and field < 2:
            end = _quote_end(text, pos)
            if end < 0:  # an unbalanced quote is pysd's to report, with its own position
                break
            pos = end
            continue
        if c == "~":
            field += 1
        elif c == "|":
            field = 0
        elif c == "{" and field < 2:
            end = _comment_end(text, pos)
            if end < 0:
                line, col = _line_col(text, pos)
                raise ModelLoadError(f"{path}: line {line}, column {col}: the comment '{{' opened here "
                                     "is never closed with '}'")
            for k in range(pos, end):
                if out[k] != "\n":
                    out[k] = " "
            pos = end
            continue
        pos += 1
    return "".join(out)


def _quote_end(text: str, pos: int) -> int:
    k = pos + 1
    while True:
        k = text.find('"', k)
        if k < 0:
            return -1
        if text[k - 1] != "\\":
            return k + 1
        k += 1


def _comment_end(text: str, pos: int) -> int:
    """The position after the '}' that closes the comment opened at ``pos`` (comments nest)."""
    depth = 0
    for k in range(pos, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k + 1
    return -1


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1
