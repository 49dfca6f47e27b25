"""Subscripts resolved once: which cells of a variable each reference reads (Vensim rules).

A context is the tuple of axes an expression is evaluated over: ``(name, elements)`` per axis,
where ``name`` is a range key (the equation's own ranges), ``None`` for an axis fixed to named
elements, or ``range + "!"`` for an axis added by a reduction over ``range!``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..errors import ModelLoadError
from ..names import normalize
from ..subscripts import SubscriptSpace
from .nodes import Axis, Fixed, Index

BANG = "!"


@dataclass
class Ctx:
    """Where an expression is being lowered: its axes, the mode and the variable (for messages)."""

    axes: tuple[tuple[str | None, tuple[str, ...]], ...]
    mode: str  # "run" or "init"
    owner: int  # variable index
    owner_name: str

    def extended(self, more) -> "Ctx":
        return Ctx(axes=self.axes + tuple(more), mode=self.mode, owner=self.owner, owner_name=self.owner_name)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a[1]) for a in self.axes)


class Dims:
    """Subscript questions about one model (its :class:`SubscriptSpace`)."""

    def __init__(self, space: SubscriptSpace, path: str):
        self.space = space
        self.path = path

    def show(self, key: str) -> str:
        return self.space.display.get(key, key)

    # ------------------------------------------------------------------ references
    def index(self, var_name: str, var_dims: tuple[str, ...], subs, ctx: Ctx) -> tuple[Index, ...]:
        """How a reference ``var[subs]`` (``subs`` None: the variable's own ranges) reads its cells."""
        raw = [normalize(s).strip() for s in subs] if subs else list(var_dims)
        if len(raw) != len(var_dims):
            raise ModelLoadError(f"{self.path}: variable {ctx.owner_name!r} refers to {var_name!r} with "
                                 f"{len(raw)} subscripts; it has {len(var_dims)}")
        out: list[Index] = []
        used: set[int] = set()
        for i, r in enumerate(raw):
            s = r.rstrip(BANG).strip()
            dim_els = self.space.ranges[var_dims[i]]
            if self.space.is_range(s):
                j, els = self.match_axis(s, ctx, used, bang=r.endswith(BANG))
                if j is None:
                    raise ModelLoadError(
                        f"{self.path}: variable {ctx.owner_name!r}: subscript {self.show(s)!r} "
                        f"of {var_name!r} matches no subscript of the left-hand side")
                used.add(j)
                try:
                    out.append(Axis(axis=j, elements=tuple(dim_els.index(e) for e in els)))
                except ValueError:
                    raise ModelLoadError(
                        f"{self.path}: variable {ctx.owner_name!r}: subscript {self.show(s)!r} "
                        f"is not part of {var_name!r}'s range") from None
            elif s in dim_els:
                out.append(Fixed(element=dim_els.index(s)))
            else:
                raise ModelLoadError(f"{self.path}: variable {ctx.owner_name!r}: {s!r} is not a subscript of "
                                     f"{var_name!r}")
        return tuple(out)

    def match_axis(self, s: str, ctx: Ctx, used: set, bang: bool = False):
        """The context axis a subscript ``s`` of a reference runs along, and its elements.

        Axes added by a reduction (``SUM(x[Region!])``) are named ``region!`` and match only a
        reference that carries the bang; a plain ``Region`` inside the same reduction is the
        equation's own (outer) axis, as in Vensim.
        """
        axes = ctx.axes
        if bang:
            for j, (name, els) in enumerate(axes):
                if name == s + BANG and j not in used:
                    return j, els
        for j, (name, els) in enumerate(axes):
            if name == s and j not in used:
                return j, els
        for j, (name, els) in enumerate(axes):
            if name is not None and not name.endswith(BANG) and j not in used \
                    and self.space.maps(s, name) and len(self.space.ranges[s]) == len(els):
                return j, self.space.ranges[s]
        target = set(self.space.ranges[s])
        for exact in (True, False):
            for j, (name, els) in enumerate(axes):
                if name is None or name.endswith(BANG) or j in used:
                    continue
                if (set(els) == target) if exact else (set(els) <= target):
                    return j, els
        return None, None

    def position(self, elem: str) -> float:
        """1-based position of an element in its family: the largest range holding it."""
        best = max((els for els in self.space.ranges.values() if elem in els), key=len)
        return float(best.index(elem) + 1)

    def axis_value(self, key: str, ctx: Ctx) -> tuple[int, tuple[float, ...]]:
        """A range used as a number: the context axis and each element's 1-based position."""
        j, els = self.match_axis(key, ctx, set())
        if j is None:
            raise ModelLoadError(f"{self.path}: variable {ctx.owner_name!r} uses subscript "
                                 f"{self.show(key)!r} as a value outside its range")
        return j, tuple(self.position(e) for e in els)

    # ------------------------------------------------------------------ reductions
    def reduction_axes(self, arg, ctx: Ctx, var_dims) -> list:
        """The axes a reduction (SUM, PROD, VMIN, VMAX) adds to its argument's context.

        Ranges marked with a bang (``x[Region!]``) are reduced, each as an axis named ``region!``;
        without a bang (XMILE style), the ranges that match no axis of ``ctx``.
        """
        bang: list[str] = []
        _collect_bang(arg, bang)
        if bang:
            return [(b + BANG, self.space.elements(b)) for b in bang]
        self._collect_free(arg, ctx, bang, var_dims)
        return [(b, self.space.elements(b)) for b in bang]

    def _collect_free(self, node, ctx: Ctx, out: list, var_dims) -> None:
        """Ranges named in references of ``node`` that match no axis of ``ctx``."""
        names = {a[0] for a in ctx.axes}
        if type(node).__name__ == "ReferenceStructure":
            if node.subscripts is not None:
                subs = [normalize(x).rstrip(BANG) for x in node.subscripts.subscripts]
            else:
                subs = list(var_dims(normalize(node.reference)))
            for k in subs:
                if self.space.is_range(k) and k not in names and k not in out:
                    out.append(k)
        for child in _children(node):
            self._collect_free(child, ctx, out, var_dims)

    # ------------------------------------------------------------------ left-hand sides
    def lhs_axes(self, lhs: tuple[str, ...]):
        return tuple((n if self.space.is_range(n) else None, self.space.elements(n)) for n in lhs)

    def piece_cells(self, var_dims, var_shape, lhs, excepts) -> tuple[tuple[int, int], ...] | None:
        """(piece cell, variable cell) pairs of an equation over ``lhs``, :EXCEPT: cells left out;
        None when the piece is the whole variable in its own order."""
        if list(lhs) == list(var_dims) and not excepts:
            return None
        per_pos = []
        for p, n in enumerate(lhs):
            dim_els = self.space.ranges[var_dims[p]]
            per_pos.append([dim_els.index(e) for e in self.space.elements(n)])
        comp_els = [self.space.elements(n) for n in lhs]
        excluded: set[tuple[str, ...]] = set()
        for ex in excepts:
            excluded.update(itertools.product(*[self.space.elements(e) for e in ex]))
        pairs = []
        for k, cell in enumerate(itertools.product(*[range(len(e)) for e in comp_els])):
            if tuple(comp_els[p][c] for p, c in enumerate(cell)) in excluded:
                continue
            final = tuple(per_pos[p][c] for p, c in enumerate(cell))
            pairs.append((k, flat_index(final, var_shape)))
        return tuple(pairs)


def flat_index(cell, shape) -> int:
    """C-order position of ``cell`` in an array of ``shape``."""
    k = 0
    for c, n in zip(cell, shape):
        k = k * n + int(c)
    return k


def ref_cell(index: tuple[Index, ...], shape: tuple[int, ...], ctx_cell: tuple[int, ...]) -> int:
    """The flat cell of a variable of ``shape`` that a reference reads at context cell ``ctx_cell``."""
    cell = [i.element if isinstance(i, Fixed) else i.elements[ctx_cell[i.axis]] for i in index]
    return flat_index(cell, shape)


def _children(node):
    if hasattr(node, "__dataclass_fields__"):
        return [getattr(node, f) for f in node.__dataclass_fields__]
    if isinstance(node, (list, tuple)):
        return list(node)
    return []


def _collect_bang(node, out: list) -> None:
    if type(node).__name__ == "ReferenceStructure" and node.subscripts is not None:
        for s in node.subscripts.subscripts:
            if s.endswith(BANG):
                k = normalize(s[:-1])
                if k not in out:
                    out.append(k)
    for child in _children(node):
        _collect_bang(child, out)
