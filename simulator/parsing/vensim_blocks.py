"""Equation blocks and expression tokens of raw Vensim text (before pysd's whitespace cleaning).

The macro expansion (:mod:`.macros`) rewrites the file as written, so it needs the blocks' offsets
in the raw text and a tokenizer that tells names (quoted or not, several words long) from numbers,
strings, operators and ``:AND:``-style keywords, and that finds the matching bracket of a call.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# a name: words of letters, digits, $ and ' separated by blanks or underscores ("smoothed error")
NAME = re.compile(r"[^\W\d][\w$']*(?:[ \t\n_]+[\w$']+)*")
QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')
STRING = re.compile(r"'[^'\n]*'")
KEYWORD = re.compile(r":[ \t]*(?:AND|OR|NOT|NA|IMPLIES)[ \t]*:", re.I)
BLANK = re.compile(r"\s*")
_SEPARATOR = re.compile(r'["~|]')
ENCODING = re.compile(r"\s*\{[^}\n]*\}")


def text_start(text: str) -> int:
    """Where the equations start: after the ``{UTF-8}`` header, which pysd reads itself."""
    m = ENCODING.match(text)
    return m.end() if m else 0


@dataclass(frozen=True)
class Block:
    """One ``equation ~ units ~ documentation |`` block: offsets into the raw text."""

    start: int      # first character of the equation field (blanks skipped)
    eq_end: int     # end of the equation field (the first '~' or '|')
    end: int        # just after the closing '|'
    fields: int     # how many '~'-separated fields


def blocks(text: str, pos: int, end: int) -> Iterator[Block]:
    """The blocks of ``text[pos:end]``; an unterminated last block is left to pysd's checks."""
    while pos < end:
        pos = skip_blank(text, pos, end)
        if pos >= end:
            return
        field, k, eq_end = 0, pos, -1
        while True:
            s = _SEPARATOR.search(text, k, end)
            if s is None:
                return
            k, c = s.start(), s.group()
            if c == '"':
                if field == 0:
                    m = QUOTED.match(text, k, end)
                    k = m.end() if m else k + 1
                else:
                    k += 1
                continue
            if eq_end < 0:
                eq_end = k
            if c == "|":
                break
            field += 1
            k += 1
        yield Block(start=pos, eq_end=eq_end, end=k + 1, fields=field + 1)
        pos = k + 1


def skip_blank(text: str, pos: int, end: int | None = None) -> int:
    """Position after the blanks at ``pos`` (``text[:end]`` only, when ``end`` is given)."""
    m = BLANK.match(text, pos, len(text) if end is None else end)
    if m is None:  # BLANK matches the empty string, so this is a bug
        raise AssertionError(f"BLANK did not match at {pos}")
    return m.end()


def bracket_end(text: str, pos: int, opening: str = "(", closing: str = ")") -> int:
    """Position after the bracket matching ``text[pos]``; -1 when it is never closed."""
    depth = 0
    k = pos
    n = len(text)
    while k < n:
        c = text[k]
        if c == '"':
            m = QUOTED.match(text, k)
            k = m.end() if m else k + 1
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return k + 1
        k += 1
    return -1


def split_arguments(text: str) -> tuple[list[str], list[str]]:
    """The top-level arguments of a call's inner text, and the outputs after a ':' (macros with
    several outputs: ``NAME(in1, in2 : out1, out2)``)."""
    args: list[str] = []
    outs: list[str] | None = None
    depth, k, last = 0, 0, 0
    n = len(text)
    while k < n:
        c = text[k]
        if c == '"':
            m = QUOTED.match(text, k)
            k = m.end() if m else k + 1
            continue
        if c == "'":
            m = STRING.match(text, k)
            k = m.end() if m else k + 1
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ":" and depth == 0:
            m = KEYWORD.match(text, k)
            if m:
                k = m.end()
                continue
            if outs is None:
                args.append(text[last:k])
                outs = []
                last = k + 1
        elif c == "," and depth == 0:
            (args if outs is None else outs).append(text[last:k])
            last = k + 1
        k += 1
    tail = text[last:]
    if outs is None:
        if tail.strip() or args:
            args.append(tail)
        return [a.strip() for a in args], []
    outs.append(tail)
    return [a.strip() for a in args], [o.strip() for o in outs if o.strip()]
