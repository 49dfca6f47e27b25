"""Strength reduction: cheaper operations for the same numbers, before either printer runs.

Powers dominate a compiled kernel's time (libm's ``pow`` of a double costs tens of times a
multiplication), so powers are rewritten where the answer stays the same within a few units in
the last place and NaN/infinity come out where they did:

* ``x ** n`` for a small integer ``n``: multiplications by repeated squaring (``x ** 3`` is
  ``x * x * x``, ``x ** 4`` is ``(x * x) * (x * x)``); ``x ** -n`` is ``1 / x ** n`` (infinity at
  ``x = 0``, as ``pow``); ``x ** 1`` is ``x``;
* ``x ** (n + 0.5)`` and ``x ** (n + 0.25)``: the integer part times ``sqrt(x)`` (or
  ``sqrt(sqrt(x))``); a negative base gives NaN through ``sqrt``, as through ``pow`` (but
  ``-inf ** 0.5`` gives NaN where pow gives inf);
* ``b ** y`` with a positive finite number ``b``: ``exp(y * ln b)``, ``ln b`` computed here
  (within ``|y ln b|`` units in the last place: under 2e-13 before exp overflows);
* any other power: the ``powlog`` operator (:mod:`.nodes`), which a compiled backend evaluates as
  ``exp(y * ln x)``, with ``pow``'s own answer where that is not finite (negative, zero and
  non-finite bases; about 0.75-0.85 of the flagship kernel's time with ``pow``, measured), and the
  numpy backend as ``x ** y`` (numpy's vectorised power is faster than its exp and log there).

A base used more than once is computed once (a :class:`~.nodes.Let`); a base that reads the value
of an enclosing ``Let`` cannot get a ``Let`` of its own (its ``Bound`` would change meaning), so its
power becomes ``powlog``, as does ``x ** 0`` (1, as ``pow``, even for a NaN or infinite ``x``:
the exp of a NaN product falls back to ``pow``). The rewritten IR is what both printers
print; :func:`reduce_strength` with ``enabled=False`` (or ``INNOSIM_STRENGTH_REDUCTION=0`` in the
environment) returns the IR unchanged, for A/B comparisons and debugging.
"""
from __future__ import annotations

import dataclasses
import math
import os

from .nodes import (
    Allocate,
    Binary,
    Bound,
    ByClock,
    DiscreteRef,
    Expr,
    If,
    InitialRef,
    Let,
    Lookup,
    ModelIR,
    Num,
    Reduce,
    Ref,
    StateRef,
    Time,
    TimeStep,
    Unary,
    Vector,
)

ENV_SWITCH = "INNOSIM_STRENGTH_REDUCTION"
MAX_POWER = 16  # |n| of x ** n written as multiplications (at most 2 log2(n) of them)
# leaves a printer reads without computing anything: repeating them costs nothing
TRIVIAL = (Num, Ref, StateRef, InitialRef, DiscreteRef, Bound, Time, TimeStep)


def enabled_by_default() -> bool:
    """False when the environment turns the pass off (``INNOSIM_STRENGTH_REDUCTION=0``/off/no)."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "off", "no", "false")


def reduce_strength(ir: ModelIR, *, enabled: bool | None = None) -> ModelIR:
    """``ir`` with every expression strength-reduced (``enabled``: None follows the environment)."""
    if not (enabled_by_default() if enabled is None else enabled):
        return ir
    r = reduce_expr
    variables = tuple(dataclasses.replace(v, pieces=tuple(dataclasses.replace(p, run=r(p.run), init=r(p.init))
                                                         for p in v.pieces)) for v in ir.vars)
    return dataclasses.replace(
        ir, vars=variables,
        states=tuple(dataclasses.replace(s, flow=r(s.flow), init=r(s.init)) for s in ir.states),
        initials=tuple(dataclasses.replace(i, expr=r(i.expr)) for i in ir.initials),
        registers=tuple(dataclasses.replace(g, init=r(g.init), update=r(g.update)) for g in ir.registers))


def reduce_expr(e: Expr) -> Expr:
    """One expression, children first."""
    e = _rebuild(e, reduce_expr)
    if isinstance(e, Binary) and e.op == "**":
        return power(e.left, e.right)
    return e


def power(x: Expr, y: Expr) -> Expr:
    """``x ** y`` in the cheapest form that gives the same numbers."""
    if isinstance(y, Num):
        form = _fixed_power(x, y.value)
        if form is not None:
            return form
    if isinstance(x, Num) and math.isfinite(x.value) and x.value > 0.0 and x.value != 1.0:
        return Unary("exp", Binary("*", y, Num(math.log(x.value))))
    return Binary("powlog", x, y)


def _fixed_power(x: Expr, c: float) -> Expr | None:
    """``x ** c`` as multiplications and square roots, or None when ``c`` is not a small
    multiple of 1/4 (0.75 excepted) or is 0."""
    if not math.isfinite(c) or c == 0.0 or abs(c) > MAX_POWER:
        return None
    n, frac = divmod(abs(c), 1.0)
    if frac not in (0.0, 0.25, 0.5):
        return None
    if n == 1 and frac == 0.0:
        return x if c > 0 else Binary("/", Num(1.0), x)
    if isinstance(x, TRIVIAL):
        body = _product(x, int(n), frac)
    elif _reads_bound(x):
        return None  # a Let around x would change what x's Bound means
    else:
        body = Let(value=x, body=_product(Bound(), int(n), frac))
    if c > 0:
        return body
    # pow(-0.0, -0.5) is +inf but sqrt(-0.0) is -0.0: adding 0.0 turns -0.0 into 0.0 (and leaves
    # every other number as it is); an odd integer power keeps -inf, as pow does
    return Binary("/", Num(1.0), Binary("+", body, Num(0.0)) if frac else body)


def _product(x: Expr, n: int, frac: float) -> Expr:
    """``x ** n`` times ``x ** frac`` for a leaf ``x`` (read as often as needed)."""
    root = None
    if frac == 0.5:
        root = Unary("sqrt", x)
    elif frac == 0.25:
        root = Unary("sqrt", Unary("sqrt", x))
    whole = _integer_power(x, n) if n else None
    if whole is None:
        assert root is not None
        return root
    return whole if root is None else Binary("*", whole, root)


def _integer_power(x: Expr, n: int) -> Expr:
    """``x ** n`` (n >= 1) by repeated squaring: ``x ** 2k`` is ``(x ** k) ** 2``, each square of
    a product computed once."""
    if n == 1:
        return x
    half = _integer_power(x, n // 2)
    square = Binary("*", half, half) if isinstance(half, TRIVIAL) else Let(value=half, body=Binary("*", Bound(), Bound()))
    return Binary("*", square, x) if n % 2 else square


def _reads_bound(e: Expr) -> bool:
    """True when ``e`` reads the value of a Let that encloses it (a Bound not inside its own Let)."""
    if isinstance(e, Bound):
        return True
    if isinstance(e, Let):
        return _reads_bound(e.value)  # the body's Bound belongs to this Let
    found: list[bool] = []

    def note(child: Expr) -> Expr:
        found.append(_reads_bound(child))
        return child

    _rebuild(e, note)
    return any(found)


def _rebuild(e: Expr, f) -> Expr:
    """``e`` with ``f`` applied to each direct child (the same object when nothing changed)."""
    if isinstance(e, Unary):
        return _same(e, arg=f(e.arg))
    if isinstance(e, Binary):
        return _same(e, left=f(e.left), right=f(e.right))
    if isinstance(e, If):
        return _same(e, cond=f(e.cond), then=f(e.then), other=f(e.other))
    if isinstance(e, ByClock):
        return _same(e, fixed=f(e.fixed), adaptive=f(e.adaptive))
    if isinstance(e, Lookup):
        return _same(e, x=f(e.x))
    if isinstance(e, Let):
        return _same(e, value=f(e.value), body=f(e.body))
    if isinstance(e, Reduce):
        return _same(e, arg=f(e.arg))
    if isinstance(e, Vector):
        return _same(e, arg=f(e.arg), order=f(e.order) if e.order is not None else None)
    if isinstance(e, Allocate):
        return _same(e, request=f(e.request), priority=f(e.priority), width=f(e.width), supply=f(e.supply))
    return e


def _same(e, **children):
    if all(getattr(e, k) is v for k, v in children.items()):
        return e
    return dataclasses.replace(e, **children)
