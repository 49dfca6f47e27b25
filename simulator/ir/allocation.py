"""Vensim's ALLOCATE BY PRIORITY lowered to an :class:`~simulator.ir.nodes.Allocate` node.

``ALLOCATE BY PRIORITY(request[.., last], priority[.., last], size, width, supply)`` shares
``supply`` among the elements of the last subscript of ``request``; ``size`` must be their count,
``width`` and ``supply`` must not depend on that subscript (Vensim gives them the request's
subscripts less the last one). The rule itself is the node's (and the runtime's) documentation.
"""
from __future__ import annotations

from ..errors import ModelLoadError
from .analysis import walk
from .dims import Ctx
from .nodes import (
    Allocate,
    Axis,
    AxisValue,
    Cells,
    DiscreteRef,
    Expr,
    InitialRef,
    Lookup,
    Noise,
    Num,
    Ref,
    StateRef,
    Vector,
)

WHAT = "ALLOCATE BY PRIORITY"


def lower_allocate_by_priority(low, node, ctx: Ctx) -> Expr:
    """The IR of one ALLOCATE BY PRIORITY call; ``low`` is the :class:`~simulator.ir.lower.ExprLowerer`."""
    m = low.m
    where = f"{m.path}: variable {ctx.owner_name!r}: {WHAT}"
    request = low.expr(node.request, ctx)
    if not (isinstance(request, Ref) and request.index and isinstance(request.index[-1], Axis)):
        raise low.unsupported(f"{WHAT} with a request other than a subscripted variable whose last "
                              "subscript is a range of the left-hand side", ctx)
    axis = request.index[-1].axis
    count = ctx.shape[axis]
    shown = m.dims.show(str(ctx.axes[axis][0]).rstrip("!"))
    try:
        if m.varies(node.size):
            raise ValueError("a size that changes during the run")
        size = m.static_value(node.size, ctx)
    except Exception:  # noqa: BLE001 - the size must be a number fixed at load
        raise low.unsupported(f"{WHAT} with a size not computable from constants at load", ctx) from None
    if size != count:
        raise ModelLoadError(f"{where}: the size is {size:g}, but the request's last subscript {shown!r} "
                             f"has {count} elements (write ELMCOUNT({shown}))")
    priority = low.expr(node.priority, ctx)
    width, supply = low.expr(node.width, ctx), low.expr(node.supply, ctx)
    for label, arg in (("width", width), ("supply", supply)):
        why = _along(arg, axis, len(ctx.axes))
        if why == "axis":
            raise low.unsupported(f"{WHAT} with a {label} that varies along {shown!r}, the subscript "
                                  "the supply is shared along", ctx)
        if why:
            raise low.unsupported(f"{WHAT} with a {label} computed by a stateful or random function "
                                  "inside the call (give it a variable of its own)", ctx)
    if isinstance(width, Num) and not width.value > 0:
        raise ModelLoadError(f"{where}: the width is {width.value:g}; it must be positive")
    return Allocate(request=request, priority=priority, width=width, supply=supply, axis=axis)


def _along(e: Expr, axis: int, rank: int) -> str:
    """Why ``e`` may differ between the cells along context axis ``axis``: "axis" (it reads that
    axis), "stateful" (a state, noise or INITIAL value made in the call's context), "" (it cannot)."""
    for x in walk(e):
        if isinstance(x, (Ref, Lookup)) and any(isinstance(i, Axis) and i.axis == axis for i in x.index):
            return "axis"
        if isinstance(x, AxisValue) and x.axis == axis:
            return "axis"
        if isinstance(x, Cells):
            j = axis - (rank - len(x.shape))
            if 0 <= j < len(x.shape) and x.shape[j] > 1:
                return "axis"
        if isinstance(x, (Vector, Allocate)) and x.axis == axis:
            return "axis"
        if isinstance(x, (StateRef, InitialRef, DiscreteRef, Noise)):
            return "stateful"
    return ""
