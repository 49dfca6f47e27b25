"""Loops a model documents by hand, read from its Markdown documentation, and matched to the
loops found in its structure.

A documented loop is a row of a Markdown table whose header has the columns ``loop``,
``polarity`` and ``path``: ``| R1 word of mouth | + | Adopters → Adoption Rate → Adopters |``.
The path names variables by their names, or loosely by words of their names ("adoption" for
"Adoption Rate"; "R&D" reads as "RD", plurals and a parenthetical remark are ignored);
commas list alternatives for one step. A found loop matches when its
polarity is the documented one and its variables, read around the loop, contain one variable
for every step, in order. The shortest such loop takes the documented id and name.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

STOP = frozenset({"the", "of", "and", "a", "an", "to", "towards", "at", "by", "in", "on", "its", "less", "fewer",
                  "more", "own", "two", "way", "with", "for"})
MINUS = {"−": "-", "–": "-", "—": "-", "-": "-", "+": "+", "?": "?"}  # "?": the sign depends on the state


@dataclass(frozen=True)
class Documented:
    id: str
    name: str
    polarity: str
    steps: tuple[tuple[str, ...], ...]  # each step: alternative phrases
    source: str  # file and line


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def documented_loops(path: str | Path) -> list[Documented]:
    """Every documented loop in the Markdown file ``path`` (none when it has no loop table)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Documented] = []
    header = None
    for n, line in enumerate(lines, start=1):
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = [c.lower() for c in _cells(line)]
        if header is None:
            if {"loop", "polarity", "path"} <= set(cells):
                header = {c: i for i, c in enumerate(cells)}
            continue
        if set(line.replace("|", "").strip()) <= set("-: "):
            continue
        raw = _cells(line)
        label = raw[header["loop"]]
        pol = MINUS.get(raw[header["polarity"]].strip())
        if not label or pol is None:
            continue
        ident, _, name = label.partition(" ")
        steps = tuple(tuple(a.strip() for a in step.split(",") if a.strip())
                      for step in re.split(r"→|->", raw[header["path"]]) if step.strip())
        out.append(Documented(id=ident, name=name.strip() or ident, polarity=pol, steps=steps,
                              source=f"{path}:{n}"))
    return out


def _words(text: str) -> set[str]:
    text = re.sub(r"\([^)]*\)", " ", text.lower()).replace("r&d", "rd").replace("'s", "")
    out = set()
    for w in re.findall(r"[a-z0-9]+", text):
        if w in STOP:
            continue
        if w.endswith("ies") and len(w) > 4:
            w = w[:-3] + "y"
        elif w.endswith("s") and len(w) > 3 and not w.endswith("ss"):
            w = w[:-1]
        out.add(w)
    return out


def candidates(phrase: str, names: list[str]) -> set[str]:
    """Variable names a phrase stands for: the variable of that name (Vensim rules), else every
    variable whose name holds all the phrase's words."""
    from ..names import normalize

    exact = {n for n in names if normalize(n) == normalize(phrase)}
    if exact:
        return exact
    want = _words(phrase)
    return {n for n in names if want and want <= _words(n)}


def _follows(variables: tuple[str, ...], steps: list[set[str]]) -> bool:
    """True when, starting somewhere, the loop visits a member of each step's set in order."""
    n = len(variables)
    for start in range(n):
        if variables[start] not in steps[0]:
            continue
        pos, ok = start, True
        for want in steps[1:]:
            for off in range(1, n + 1):
                if variables[(pos + off) % n] in want and off < n:
                    pos += off
                    break
            else:
                ok = False
                break
            if pos - start >= n:
                ok = False
                break
        if ok:
            return True
    return False


def match(loopset, documented: list[Documented]) -> dict[str, object]:
    """Documented id -> the found loop it names (the shortest match), for those that match."""
    names = sorted({v for lp in loopset.loops for v in lp.variables})
    out = {}
    for doc in documented:
        steps = [set().union(*(candidates(a, names) for a in alts)) for alts in doc.steps]
        if len(steps) > 1 and steps[0] == steps[-1]:
            steps = steps[:-1]  # the path written back to its start ("X → X": a stock's own loop)
        hits = [lp for lp in loopset.loops if lp.polarity == doc.polarity and all(steps) and
                _follows(lp.variables, steps)]
        if hits:
            out[doc.id] = min(hits, key=lambda lp: (len(lp.variables), lp.id))
    return out


def apply_names(loopset, documented: list[Documented]):
    """``loopset`` with each matched loop renamed to its documented id and name; the other loops
    are numbered after the documented ones."""
    found = match(loopset, documented)
    named = {id(lp): doc for doc in documented if (lp := found.get(doc.id)) is not None}
    top: dict[str, int] = {}
    for doc in documented:
        m = re.match(r"([A-Za-z]+)(\d+)$", doc.id)
        if m:
            top[m.group(1)] = max(top.get(m.group(1), 0), int(m.group(2)))
    loops = []
    for lp in loopset.loops:
        known = named.get(id(lp))
        if known is not None:
            loops.append(dataclasses.replace(lp, id=known.id, name=known.name))
            continue
        letter = _letter(lp.id)
        top[letter] = top.get(letter, 0) + 1
        loops.append(dataclasses.replace(lp, id=f"{letter}{top[letter]}"))
    return dataclasses.replace(loopset, loops=loops)


def _letter(loop_id: str) -> str:
    """The letters a loop id starts with (``R`` of ``R12``)."""
    m = re.match(r"[A-Za-z]+", loop_id)
    if m is None:
        raise ValueError(f"loop id {loop_id!r} does not start with a letter")
    return m.group(0)
