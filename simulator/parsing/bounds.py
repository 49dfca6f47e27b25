"""Nesting and size of one expression, measured on its text before any parser recurses into it."""
from __future__ import annotations

import re

from .limits import MAX_NESTING, MAX_TERMS

_QUOTED = re.compile(r'"(?:\\"|[^"])*+"|\'[^\']*\'')
_BRACKET = re.compile(r"[(\[\])]")
_TERM = re.compile(r"[-+*/^<>=,]|:AND:|:OR:|\bAND\b|\bOR\b|\bmod\b", re.I)


def mask_quotes(text: str) -> str:
    """Quoted names and strings blanked out (same length), so their brackets do not count."""
    return _QUOTED.sub(lambda m: '"' + "_" * (len(m.group()) - 2) + '"', text)


def nesting(masked: str) -> tuple[int, int]:
    """(deepest bracket level, offset where it is reached)."""
    depth, deepest, at = 0, 0, 0
    for m in _BRACKET.finditer(masked):
        depth += 1 if m.group() in "([" else -1
        if depth > deepest:
            deepest, at = depth, m.start()
    return deepest, at


def expression_problem(masked: str) -> tuple[str, int, int]:
    """(problem or "", offset of the problem, deepest nesting) of a masked expression."""
    deepest, at = nesting(masked)
    if deepest > MAX_NESTING:
        return (f"brackets nested {deepest} deep; at most {MAX_NESTING} levels are supported",
                at, deepest)
    terms = len(_TERM.findall(masked))
    if terms > MAX_TERMS:
        return (f"an equation of {terms} terms (operators and arguments); at most {MAX_TERMS} are "
                "supported; split it into intermediate variables", 0, deepest)
    return "", 0, deepest
