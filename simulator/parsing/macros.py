"""Vensim macros (``:MACRO: … :END OF MACRO:``) expanded into plain equations before pysd parses.

Why in the text: pysd's translator fails on most real macros and the engine should not need a
second notion of a model. After expansion the file is an ordinary model, so the engine, pysd and
every check (bounds, literals, duplicates) see the same equations, and the differential tests
against pysd cover macros too.

Each call site gets its own copy of every equation of the macro (so its own stocks, smooths and
delays). The copies are named after the variable whose equation holds the call:

- ``y = 1 + SMOOTHX(a, 3)`` creates ``"y.SMOOTHX"`` (the macro's output, the equation named like
  the macro) and ``"y.SMOOTHX.<inner name>"`` for each other equation of the macro; ``y`` becomes
  ``1 + "y.SMOOTHX"``. A second call of the same macro in ``y`` is ``"y.SMOOTHX#2"``.
- extra outputs (``:MACRO: M(in : out2)``, called as ``M(a : z)``) are given the caller's names
  (``z``), as in Vensim.
- a macro called inside a macro is named after the copy that calls it
  (``"y.OUTER.inner var.INNER"``).
- in a subscripted equation ``y[r] = M(x[r])`` every copy has the subscripts of ``y``.

Parameters are replaced by the call's arguments (in brackets); ``Time`` and the control variables
keep their meaning. The rewrite keeps every line of the file where it was: a macro definition
becomes blank lines, a call is replaced on its own line, and the copies are appended after the
equations, each mapped back to the line of the macro equation it copies (``origin``).
A macro that calls itself, directly or not, is an error naming the chain; so is a call with the
wrong number of arguments, or a macro equation of a kind that cannot be copied.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelLimitError, ModelLoadError, UnsupportedFeatureError
from ..names import normalize
from .limits import MAX_FILE_BYTES
from .vensim_blocks import (
    KEYWORD,
    NAME,
    NUMBER,
    QUOTED,
    STRING,
    blocks,
    bracket_end,
    skip_blank,
    split_arguments,
    text_start,
)
from .vensim_text import _NAME as LHS_NAME
from .vensim_text import classify

# at the start of a line, as Vensim writes them (the words may also appear in documentation)
_START = re.compile(r"^[ \t]*:MACRO:", re.I | re.M)
_END = re.compile(r"^[ \t]*:END OF MACRO:", re.I | re.M)
_LEFT = re.compile(r":(?:END OF )?MACRO:", re.I)
_HEAD = re.compile(r'[ \t\n]*("[^"\n]*"|[^\W\d][^(\n]*?)[ \t\n]*\(')
_BARE = re.compile(r'(?:"[^"]*"|[^\W\d][\w$\' ]*)\Z')
MAX_INSTANCES = 20_000


@dataclass(frozen=True)
class MacroEquation:
    name: str
    key: str
    kind: str          # component, unchangeable, data (with ':=') or lookup
    op: str            # what separates name and right-hand side: '=', '==', ':RAW: :=', ''
    rhs: str           # the right-hand side (a lookup: its table, from the '(')
    line: int


@dataclass
class MacroDef:
    name: str
    key: str
    params: list[str]
    outputs: list[str]          # keys of the extra outputs, in header order
    equations: dict[str, MacroEquation]
    line: int


@dataclass
class Expansion:
    """The text pysd is given and, for each of its lines, the file line it comes from."""

    text: str
    origin: list[int] | None = None
    instances: int = 0


def expand_macros(path: Path, equations: str) -> Expansion:
    """``equations`` (the part before the sketch, normalised) with every macro expanded."""
    if not _START.search(equations):
        return Expansion(_as_text(equations))
    lines = _LineOf(equations)
    macros, regions = _definitions(path, equations, lines)
    x = _Expander(path, macros, lines, _main_names(equations, regions))
    edits: list[tuple[int, int, str]] = [(a, b, "\n" * equations.count("\n", a, b)) for a, b in regions]
    for lo, hi in _outside(regions, equations):
        for block in blocks(equations, lo, hi):
            edit = x.rewrite_equation(equations, block)
            if edit is not None:
                edits.append(edit)
    edits.sort()
    pieces, last = [], 0
    for a, b, new in edits:
        pieces.append(equations[last:a])
        pieces.append(new)
        last = b
    pieces.append(equations[last:])
    body = "".join(pieces)
    if not body.endswith("\n"):
        body += "\n"
    origin = list(range(1, body.count("\n") + 1))
    extra = []
    for text, text_lines in x.generated:
        extra.append(text)
        origin.extend(text_lines)
    out = _as_text(body + "".join(extra))
    origin.append(origin[-1] if origin else 1)
    return Expansion(out, origin, x.count)


def _as_text(text: str) -> str:
    """The words left after expansion are text (documentation); pysd would still split the file
    at them, so their first colon becomes a blank."""
    if ":" not in text or not _LEFT.search(text):
        return text
    return _LEFT.sub(lambda m: " " + m.group()[1:], text)


class _LineOf:
    def __init__(self, text: str):
        self.text = text

    def __call__(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1


def _definitions(path: Path, text: str, line_of) -> tuple[dict[str, MacroDef], list[tuple[int, int]]]:
    macros: dict[str, MacroDef] = {}
    regions = []
    pos = 0
    while True:
        m = _START.search(text, pos)
        if not m:
            break
        e = _END.search(text, m.end())
        if not e:
            raise ModelLoadError(f"{path}: line {line_of(m.start())}: ':MACRO:' is never closed by "
                                 "':END OF MACRO:'")
        macro = _definition(path, text, m.end(), e.start(), line_of)
        if macro.key in macros:
            raise ModelLoadError(f"{path}: line {macro.line}: macro {macro.name!r} is defined twice "
                                 f"(first at line {macros[macro.key].line})")
        macros[macro.key] = macro
        regions.append((m.start(), e.end()))
        pos = e.end()
    return macros, regions


def _definition(path: Path, text: str, start: int, end: int, line_of) -> MacroDef:
    line = line_of(start)
    head = _HEAD.match(text, start, end)
    close = bracket_end(text, head.end() - 1) if head else -1
    if not head or close < 0 or close > end:
        raise ModelLoadError(f"{path}: line {line}: a ':MACRO:' header must read "
                             "'NAME(parameter, ... : output, ...)'")
    name = head.group(1).strip().strip('"')
    key = normalize(name)
    params, outs = split_arguments(text[head.end():close - 1])
    for p in params + outs:
        if not _BARE.match(p):
            raise ModelLoadError(f"{path}: line {line}: macro {name!r}: {p!r} is not a parameter name")
    eqs: dict[str, MacroEquation] = {}
    for b in blocks(text, close, end):
        eq = text[b.start:b.eq_end].strip()
        kind, lname, subs, rhs_at = classify(eq)
        eline = line_of(b.start)
        if kind == "unknown" and not lname:
            continue  # a group heading
        where = f"{path}: line {eline}: macro {name!r}, variable {lname!r}"
        head = LHS_NAME.match(eq)
        op = eq[head.end():rhs_at].strip() if head and kind != "lookup" else ""
        if kind == "data" and not op.endswith(":="):
            raise UnsupportedFeatureError(f"{where}: not supported: a data variable without an "
                                          "equation inside a MACRO")
        if kind not in ("component", "unchangeable", "lookup", "data"):
            raise UnsupportedFeatureError(f"{where}: not supported: a {kind} equation inside a MACRO")
        if subs:
            raise UnsupportedFeatureError(f"{where}: not supported: a subscripted equation inside a MACRO")
        lkey = normalize(lname)
        if lkey in eqs:
            raise UnsupportedFeatureError(f"{where}: not supported: two equations for one variable inside a MACRO")
        eqs[lkey] = MacroEquation(lname.strip('"'), lkey, kind, op, eq[rhs_at:], eline)
    if key not in eqs:
        raise ModelLoadError(f"{path}: line {line}: macro {name!r} has no equation named {name!r} "
                             "(the equation named like the macro is what a call returns)")
    out_keys = [normalize(o) for o in outs]
    for o, k in zip(outs, out_keys):
        if k not in eqs:
            raise ModelLoadError(f"{path}: line {line}: macro {name!r} declares the output {o!r} "
                                 "but has no equation for it")
    return MacroDef(name, key, [normalize(p) for p in params], out_keys, eqs, line)


def _outside(regions: list[tuple[int, int]], text: str):
    last = text_start(text)
    for a, b in regions:
        yield last, a
        last = b
    yield last, len(text)


def _main_names(text: str, regions) -> set[str]:
    names = set()
    for lo, hi in _outside(regions, text):
        for b in blocks(text, lo, hi):
            _, name, _, _ = classify(text[b.start:b.eq_end].strip())
            if name:
                names.add(normalize(name))
    return names


@dataclass
class _Scope:
    """What names mean while one equation is rewritten."""

    owner: str                                  # the variable whose equation this is (as written)
    line: int
    subs: str = ""                              # "[r, s]" of the equation's left-hand side
    lhs: str = ""                               # its subscripts and :EXCEPT: as written
    params: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)   # macro-local key -> new name
    stack: tuple[str, ...] = ()


class _Expander:
    def __init__(self, path: Path, macros: dict[str, MacroDef], line_of, used: set[str]):
        self.path = path
        self.macros = macros
        self.line_of = line_of
        self.used = set(used)
        self.generated: list[tuple[str, list[int]]] = []
        self.count = 0
        self.size = 0

    def rewrite_equation(self, text: str, b) -> tuple[int, int, str] | None:
        eq = text[b.start:b.eq_end]
        kind, name, subs, rhs_at = classify(eq)
        if kind not in ("component", "unchangeable") or rhs_at < 0:
            return None
        rhs = eq[rhs_at:]
        low = rhs.lower()
        if not any(m.name.lower() in low or k in low for k, m in self.macros.items()):
            return None
        head = LHS_NAME.match(eq)
        lhs = eq[head.end() if head else 0:rhs_at].strip()
        lhs = lhs[:-2] if kind == "unchangeable" else lhs[:-1]
        scope = _Scope(owner=name.strip('"'), line=self.line_of(b.start),
                       subs=f"[{subs}]" if subs else "", lhs=lhs.strip())
        new = self.rewrite(rhs, scope)
        if new == rhs:
            return None
        new += "\n" * max(0, rhs.count("\n") - new.count("\n"))
        start = b.start + rhs_at
        return start, start + len(rhs), new

    def rewrite(self, expr: str, scope: _Scope) -> str:
        out: list[str] = []
        k, n = 0, len(expr)
        while k < n:
            c = expr[k]
            m = (QUOTED.match(expr, k) if c == '"' else STRING.match(expr, k) if c == "'" else
                 KEYWORD.match(expr, k) if c == ":" else NUMBER.match(expr, k) if c.isdigit() or c == "."
                 else NAME.match(expr, k))
            if m is None or m.end() == k:
                out.append(c)
                k += 1
                continue
            if c in "'.:" or c.isdigit():
                out.append(m.group())
                k = m.end()
                continue
            k = self._name(expr, m, scope, out)
        return "".join(out)

    def _name(self, expr: str, m, scope: _Scope, out: list[str]) -> int:
        token = m.group()
        key = normalize(token)
        after = skip_blank(expr, m.end())
        sub_text, sub_end = "", m.end()
        if after < len(expr) and expr[after] == "[":
            close = bracket_end(expr, after, "[", "]")
            if close > 0:  # subscripts name ranges and elements: copied, never renamed
                sub_text, sub_end = expr[m.end():close], close
                after = skip_blank(expr, close)
        called = after < len(expr) and expr[after] == "("
        where = f"{self.path}: line {scope.line}, variable {scope.owner!r}"
        if called and key in self.macros and not sub_text:
            close = bracket_end(expr, after)
            if close < 0:
                raise ModelLoadError(f"{where}: the call of macro {token.strip()!r} is never closed")
            args, outs = split_arguments(expr[after + 1:close - 1])
            args = [self.rewrite(a, scope) for a in args]
            out.append(self.instantiate(self.macros[key], args, outs, scope))
            return close
        if key in scope.names:
            if sub_text:
                raise UnsupportedFeatureError(
                    f"{where}: macro variable {token.strip()!r} is used with subscripts; "
                    "not supported: subscripts inside a MACRO")
            out.append(scope.names[key] + scope.subs)
            return m.end()
        if key in scope.params:
            arg = scope.params[key]
            if sub_text or called:
                if not _BARE.match(arg):
                    raise UnsupportedFeatureError(
                        f"{where}: macro parameter {token.strip()!r} is used as "
                        f"{'an array' if sub_text else 'a lookup'} but the call passes {arg!r}; "
                        "not supported: pass a variable name")
                out.append(arg + sub_text)
                return sub_end
            out.append(arg if _BARE.match(arg) or NUMBER.fullmatch(arg) else f"({arg})")
            return m.end()
        if scope.stack and token.endswith("$"):  # Vensim's name for the model's TIME STEP etc.
            token = token[:-1]
        out.append(token + sub_text)
        return sub_end

    def instantiate(self, macro: MacroDef, args: list[str], outs: list[str], scope: _Scope) -> str:
        where = f"{self.path}: line {scope.line}, variable {scope.owner!r}"
        if macro.key in scope.stack:
            chain = " -> ".join([self.macros[k].name for k in scope.stack] + [macro.name])
            raise UnsupportedFeatureError(f"{where}: not supported: a recursive MACRO ({chain})")
        if len(args) != len(macro.params):
            raise ModelLoadError(f"{where}: macro {macro.name!r} takes {len(macro.params)} "
                                 f"argument(s), the call gives {len(args)}")
        if len(outs) > len(macro.outputs):
            raise ModelLoadError(f"{where}: macro {macro.name!r} has {len(macro.outputs)} extra "
                                 f"output(s), the call names {len(outs)}")
        self.count += 1
        if self.count > MAX_INSTANCES:
            raise ModelLimitError(f"{where}: macro calls expand to more than {MAX_INSTANCES} copies")
        base = self._fresh(f"{scope.owner}.{macro.name}")
        names = {}
        for k, eq in macro.equations.items():
            names[k] = self._quote(base if k == macro.key else self._fresh(f"{base}.{eq.name}"), where)
        for k, o in zip(macro.outputs, outs):
            if not _BARE.match(o):
                raise ModelLoadError(f"{where}: macro {macro.name!r}: the output {o!r} must be a name")
            names[k] = o
            self.used.add(normalize(o))
        params = dict(zip(macro.params, args))
        for k, eq in macro.equations.items():
            inner = _Scope(owner=names[k].strip('"'), line=eq.line, subs=scope.subs, lhs=scope.lhs,
                           params=params, names=names, stack=scope.stack + (macro.key,))
            self._emit(eq, names[k], inner, macro, scope)
        return names[macro.key] + scope.subs

    def _emit(self, eq: MacroEquation, name: str, inner: _Scope, macro: MacroDef, caller: _Scope) -> None:
        lhs = f"{name}{inner.lhs}"
        if eq.kind == "lookup":
            body = f"{lhs}{eq.rhs}"
        else:
            body = f"{lhs} {eq.op}{self.rewrite(eq.rhs, inner).rstrip()}"
        doc = f"copy of {eq.name!r} of macro {macro.name!r} for {caller.owner!r} (line {caller.line})"
        text = f"{body}\n\t~\t\n\t~\t{_plain(doc)}\n\t|\n\n"
        # each line of the copy points at the line of the macro it was copied from
        lines = [eq.line + k for k in range(body.count("\n") + 1)] + [eq.line] * 4
        self.size += len(text)
        if self.size > MAX_FILE_BYTES:
            raise ModelLimitError(f"{self.path}: line {caller.line}: macro calls expand to more than "
                                  f"{MAX_FILE_BYTES} characters")
        self.generated.append((text, lines))

    @staticmethod
    def _quote(name: str, where: str) -> str:
        if '"' in name or "\\" in name:
            raise ModelLoadError(f"{where}: a macro copy would be named {name!r}, which cannot be quoted")
        return f'"{name}"'

    def _fresh(self, name: str) -> str:
        name = " ".join(name.split())
        candidate, n = name, 1
        while normalize(candidate) in self.used:
            n += 1
            candidate = f"{name}#{n}"
        self.used.add(normalize(candidate))
        return candidate




def _plain(text: str) -> str:
    return re.sub(r"[~|{}\\]", " ", text.replace("\n", " "))
