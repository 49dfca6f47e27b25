"""Vensim's VECTOR ELM MAP and VECTOR LOOKUP, lowered to sums over a vector's elements.

Each reads the elements of the last dimension of its first argument along a new context axis and
weighs them (a hat function of the position for interpolation, one hit for an element map), so
both printers see only primitives they already have. ``low`` is the
:class:`~simulator.ir.lower.ExprLowerer` of the equation.
"""
from __future__ import annotations

import math

from . import vensim
from .dims import Ctx
from .nodes import Axis as AxisIndex
from .nodes import AxisValue, Binary, Expr, If, Num, Reduce, Ref, Unary
from .nodes import Fixed as FixedIndex


def lower_vector_elm_map(low, args, ctx: Ctx) -> Expr:
    """VECTOR ELM MAP(vector[e], offset): the element INTEGER(offset) places after e along the
    last dimension (e itself at offset 0); :NA: past either end. ``e`` may be a range, read
    cell by cell."""
    low.arity("vector_elm_map", args, (2,), ctx)
    vec = low.expr(args[0], ctx)
    if not (isinstance(vec, Ref) and vec.index and isinstance(vec.index[-1], (FixedIndex, AxisIndex))):
        raise low.unsupported("VECTOR ELM MAP of something other than a subscripted variable", ctx)
    var = low.m.by_idx[vec.var]
    total, axis, last = len(low.m.space.ranges[var.dims[-1]]), len(ctx.shape), vec.index[-1]
    base: Expr = (Num(float(last.element)) if isinstance(last, FixedIndex)
                  else AxisValue(axis=last.axis, values=tuple(float(e) for e in last.elements)))
    inner = ctx.extended([(None, tuple(str(k) for k in range(total)))])
    ys = Ref(var=vec.var, index=vec.index[:-1] + (AxisIndex(axis=axis, elements=tuple(range(total))),))
    k = AxisValue(axis=axis, values=tuple(float(i) for i in range(total)))
    hit = Binary("==", k, Binary("+", base, Unary("trunc", low.expr(args[1], inner))))
    found = Reduce(op="sum", arg=If(hit, Num(1.0), Num(0.0)), sizes=(total,))
    value = Reduce(op="sum", arg=If(hit, ys, Num(0.0)), sizes=(total,))
    return If(Binary("==", found, Num(0.0)), Num(math.nan), value)


def lower_vector_lookup(low, args, ctx: Ctx) -> Expr:
    """VECTOR LOOKUP(vector[start], x, xmin, xmax, mode): the elements from ``start`` to the end
    of the last dimension are y values at x spread evenly from xmin to xmax, read at x as a
    lookup of that mode (0 interpolate, 2 hold backward, 3 extrapolate, 4 look forward).

    Written as a weighted sum over the elements (a hat function of the position for
    interpolation), so it needs no new primitive in either printer.
    """
    low.arity("vector_lookup", args, (5,), ctx)
    try:
        if low.m.varies(args[4]):
            raise ValueError("the mode changes during the run")
        mode = int(low.m.static_value(args[4], ctx))
    except Exception:  # noqa: BLE001 - the mode must be a number fixed for the run
        raise low.unsupported("VECTOR LOOKUP with a mode not fixed at load", ctx) from None
    if mode not in (0, 2, 3, 4):
        raise low.unsupported(f"VECTOR LOOKUP mode {mode} (area, inverse or slope)", ctx)
    vec = low.expr(args[0], ctx)
    if not (isinstance(vec, Ref) and vec.index and isinstance(vec.index[-1], FixedIndex)):
        raise low.unsupported("VECTOR LOOKUP of something other than one element of a subscripted "
                               "variable (the start of the vector)", ctx)
    var = low.m.by_idx[vec.var]
    start, total = vec.index[-1].element, len(low.m.space.ranges[var.dims[-1]])
    n, axis = total - start, len(ctx.shape)
    inner = ctx.extended([(None, tuple(str(k) for k in range(n)))])
    ys = Ref(var=vec.var, index=vec.index[:-1] + (AxisIndex(axis=axis, elements=tuple(range(start, total))),))
    k = AxisValue(axis=axis, values=tuple(float(i) for i in range(n)))
    x, lo, hi = (low.expr(a, inner) for a in args[1:4])
    last = Num(float(n - 1))
    pos = vensim.zidz(Binary("*", Binary("-", x, lo), last), Binary("-", hi, lo))
    clamped = Binary("min", Binary("max", pos, Num(0.0)), last)

    def hat(p: Expr) -> Expr:
        return Binary("max", Num(0.0), Binary("-", Num(1.0), Unary("abs", Binary("-", p, k))))

    if mode == 0:
        weight = hat(clamped)
    elif mode in (2, 4):
        below = Unary("trunc", clamped)
        at = below if mode == 2 else Binary("+", below, If(Binary(">", clamped, below), Num(1.0), Num(0.0)))
        weight = If(Binary("==", k, at), Num(1.0), Num(0.0))
    else:  # extrapolate: the first or last segment's line beyond the ends
        seg = Binary("min", Binary("max", Unary("trunc", pos), Num(0.0)), Num(float(max(n - 2, 0))))
        frac = Binary("-", pos, seg)
        weight = If(Binary("==", k, seg), Binary("-", Num(1.0), frac),
                    If(Binary("==", k, Binary("+", seg, Num(1.0))), frac, Num(0.0)))
        weight = Num(1.0) if n < 2 else weight
    return Reduce(op="sum", arg=Binary("*", ys, weight), sizes=(n,))
