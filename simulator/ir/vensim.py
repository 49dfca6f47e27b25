"""Vensim's functions written once, as IR over primitive operations.

Both printers see only the primitives (:data:`~simulator.ir.nodes.UNARY`,
:data:`~simulator.ir.nodes.BINARY`, ``If``, ``ByClock`` ...), so a rule here (a tolerance, a
comparison, the order of operations) holds for every backend. The order of operations follows
pysd's and Vensim's formulas; it fixes the floating-point result.
"""
from __future__ import annotations

from .nodes import Binary, Bound, ByClock, Expr, If, Let, Num, SwitchTime, Time, TimeStep, Unary

SMALL_VENSIM = 1e-6  # Vensim's (and pysd's) zero tolerance in XIDZ/ZIDZ/QUANTUM and time tests


def b(op: str, left: Expr, right: Expr) -> Expr:
    return Binary(op, left, right)


def num(x: float) -> Num:
    return Num(float(x))


# ----------------------------------------------------------------------------- arithmetic
def xidz(a: Expr, d: Expr, x: Expr) -> Expr:
    """a / d, or x where |d| < 1e-6."""
    return Let(d, If(b("<", Unary("abs", Bound()), num(SMALL_VENSIM)), x, b("/", a, Bound())))


def zidz(a: Expr, d: Expr) -> Expr:
    """a / d, or 0 where |d| < 1e-6."""
    return Let(d, If(b("<", Unary("abs", Bound()), num(SMALL_VENSIM)), num(0.0), b("/", a, Bound())))


def quantum(a: Expr, q: Expr) -> Expr:
    """q * INTEGER(a / q); a itself where q < 1e-6 (Vensim, pysd)."""
    return Let(q, If(b("<", Bound(), num(SMALL_VENSIM)), a, b("*", Bound(), Unary("trunc", b("/", a, Bound())))))


def modulo(x: Expr, m: Expr) -> Expr:
    """x - m * INTEGER(x / m): the sign of x, as pysd documents Vensim's MODULO.

    MODULO(x, 0) is a division by zero (NaN, which the run reports). pysd returns 0 for every
    m < 1e-6 (its QUANTUM cut-off); that silent 0 is not copied.
    """
    zero = num(0.0)
    # 0/0, not a NaN literal: a NaN literal is Vensim's :NA:, which is data, and this is arithmetic
    return Let(m, If(b("==", Bound(), zero), b("/", zero, zero),
                     b("-", x, b("*", Bound(), Unary("trunc", b("/", x, Bound()))))))


def log(x: Expr, base: Expr) -> Expr:
    return b("/", Unary("ln", x), Unary("ln", base))


def game(x: Expr) -> Expr:
    """GAME(x): x in a simulation (Vensim's reference); only an interactive game, which this
    engine does not run, holds the value for the user to change."""
    return x


# ----------------------------------------------------------------------------- time functions
def _after_half_step(threshold: Expr) -> Expr:
    # fixed step: a switch at t belongs to the step whose midpoint is past it (Vensim)
    return b(">", b("+", Time(), b("/", TimeStep(), num(2.0))), threshold)


def step(height: Expr, at: Expr) -> Expr:
    return b("*", height, ByClock(fixed=_after_half_step(at), adaptive=b(">=", SwitchTime(), at)))


def ramp(slope: Expr, start: Expr, finish: Expr | None) -> Expr:
    final = Time() if finish is None else b("min", finish, Time())
    on = ByClock(fixed=b(">", b("+", Time(), num(SMALL_VENSIM)), start), adaptive=b(">", SwitchTime(), start))
    return b("*", b("*", on, slope), b("-", final, start))


def pulse(start: Expr, width: Expr) -> Expr:
    fixed = b("and", b("<=", b("-", start, num(SMALL_VENSIM)), Time()), b("<", Time(), b("+", start, width)))
    adaptive = b("and", b("<=", start, SwitchTime()), b("<", SwitchTime(), b("+", start, width)))
    return ByClock(fixed=fixed, adaptive=adaptive)


def pulse_train(start: Expr, interval: Expr, width: Expr, end: Expr) -> Expr:
    t = ByClock(fixed=Time(), adaptive=SwitchTime())
    since = b("+", b("-", t, start), ByClock(fixed=num(SMALL_VENSIM), adaptive=num(0.0)))
    phase = If(b(">", interval, num(0.0)), b("mod", since, interval), since)
    active = b("and", b("<=", start, t), b("<", t, end))
    return b("and", active, b("<", phase, width))


def xmile_pulse(start: Expr, magnitude: Expr) -> Expr:
    """XMILE's PULSE(magnitude, first): magnitude / DT during the one TIME STEP at ``first``
    (XMILE 1.0, 3.5.4: a pulse whose area is magnitude), 0 elsewhere. pysd's translator passes
    (first, magnitude); the step is the one whose time lies in [first, first + DT/2)."""
    return b("*", b("/", magnitude, TimeStep()), pulse(start, b("/", TimeStep(), num(2.0))))


def xmile_pulse_train(start: Expr, interval: Expr, magnitude: Expr) -> Expr:
    """XMILE's PULSE(magnitude, first, interval): the pulse of :func:`xmile_pulse` at first,
    first + interval, first + 2 interval ...; a single pulse when interval <= 0 (XMILE 1.0)."""
    t = ByClock(fixed=Time(), adaptive=SwitchTime())
    half = b("/", TimeStep(), num(2.0))
    since = b("+", b("-", t, start), ByClock(fixed=num(SMALL_VENSIM), adaptive=num(0.0)))
    repeated = b("and", b("<=", start, t), b("<", b("mod", since, interval), half))
    on = If(b(">", interval, num(0.0)), repeated, pulse(start, half))
    return b("*", b("/", magnitude, TimeStep()), on)


# ----------------------------------------------------------------------------- random
def random_uniform(lo: Expr, hi: Expr, noise: Expr) -> Expr:
    return b("+", lo, b("*", b("-", hi, lo), noise))


def random_normal(lo: Expr, hi: Expr, mean: Expr, sd: Expr, noise: Expr) -> Expr:
    return b("min", b("max", b("+", mean, b("*", sd, noise)), lo), hi)


def random_exponential(lo: Expr, hi: Expr, shift: Expr, stretch: Expr, u: Expr) -> Expr:
    """shift + stretch * Exp(1), truncated to [lo, hi], from uniform noise ``u`` by inverse CDF.

    The exponential forgets its past, so truncating below at lo > shift starts it at lo: the
    distribution starts at max(lo, shift) (pysd's truncexpon does the same).
    """
    loc = b("max", lo, shift)
    mass = b("-", num(1.0), Unary("exp", b("/", b("-", loc, hi), stretch)))  # P(value <= hi)
    return b("-", loc, b("*", stretch, Unary("ln", b("-", num(1.0), b("*", u, mass)))))


def _triangular_cdf(v: Expr, start: Expr, peak: Expr, end: Expr) -> Expr:
    width = b("-", end, start)
    v = b("min", b("max", v, start), end)
    rising = zidz(b("*", b("-", v, start), b("-", v, start)), b("*", width, b("-", peak, start)))
    falling = b("-", num(1.0), zidz(b("*", b("-", end, v), b("-", end, v)), b("*", width, b("-", end, peak))))
    return If(b("<=", v, peak), rising, falling)


def random_triangular(lo: Expr, hi: Expr, start: Expr, peak: Expr, end: Expr, u: Expr) -> Expr:
    """The triangular distribution on [start, end] with its mode at peak, truncated to [lo, hi],
    from uniform noise ``u`` by inverse CDF (the truncation keeps the shape inside the bounds)."""
    f_lo = _triangular_cdf(lo, start, peak, end)
    f_hi = _triangular_cdf(hi, start, peak, end)
    q = b("+", f_lo, b("*", u, b("-", f_hi, f_lo)))
    width = b("-", end, start)
    below = b("+", start, Unary("sqrt", b("*", q, b("*", width, b("-", peak, start)))))
    above = b("-", end, Unary("sqrt", b("*", b("-", num(1.0), q), b("*", width, b("-", end, peak)))))
    return If(b("<", q, zidz(b("-", peak, start), width)), below, above)
