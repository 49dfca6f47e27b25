"""Scalar helpers for the fused (numba) backend: one member, one cell, one value at a time.

Each helper reproduces, for a single float, what the numpy path computes for arrays in
:mod:`simulator.runtime` (``np.maximum``'s NaN rule, ``np.interp``'s branches, Vensim's
tolerances ...), so that the fused kernel gives the numpy path's numbers. This module imports
numba; :mod:`simulator.fused` imports it only when numba is installed.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .runtime import SMALL_VENSIM

_opts = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(**_opts)
def fmax(a, b):
    """``np.maximum``: NaN in either argument wins, ``a`` on ties."""
    if a >= b or a != a:
        return a
    return b


@njit(**_opts)
def fmin(a, b):
    """``np.minimum``."""
    if a <= b or a != a:
        return a
    return b


@njit(**_opts)
def square(x):
    """``x ** 2.0`` on an array: numpy squares, exactly ``x * x``."""
    return x * x


@njit(**_opts)
def zidz(a, b):
    if abs(b) < SMALL_VENSIM:
        return 0.0
    return a / b


@njit(**_opts)
def xidz(a, b, x):
    if abs(b) < SMALL_VENSIM:
        return x
    return a / b


@njit(**_opts)
def quantum(a, b):
    if b < SMALL_VENSIM:
        return a
    return b * np.trunc(a / b)


@njit(**_opts)
def modulo(x, m):
    """``runtime.modulo``."""
    if m == 0.0:
        return np.nan
    return x - m * np.trunc(x / m)


@njit(**_opts)
def step(t, dt, value, tstep):
    """Vensim STEP at a fixed TIME STEP (``runtime.step`` with a fixed clock)."""
    return value * (1.0 if t + dt / 2 > tstep else 0.0)


@njit(**_opts)
def ramp(t, slope, start):
    return (1.0 if t + SMALL_VENSIM > start else 0.0) * slope * (t - start)


@njit(**_opts)
def ramp3(t, slope, start, finish):
    return (1.0 if t + SMALL_VENSIM > start else 0.0) * slope * (fmin(finish, t) - start)


@njit(**_opts)
def pulse(t, start, width):
    return 1.0 if (start - SMALL_VENSIM <= t) and (t < start + width) else 0.0


@njit(**_opts)
def pymod(a, b):
    """``np.mod`` (Python's floored modulo) for floats."""
    r = np.fmod(a, b)
    if r != 0.0:
        if (b < 0.0) != (r < 0.0):
            r += b
    else:
        r = np.copysign(0.0, b)
    return r


@njit(**_opts)
def pulse_train(t, start, interval, width, end):
    active = (start <= t) and (t < end)
    if interval > 0:
        phase = pymod(t - start + SMALL_VENSIM, interval)
    else:
        phase = t - start + SMALL_VENSIM
    return 1.0 if active and phase < width else 0.0


# ------------------------------------------------------------------------------ lookups
@njit(**_opts)
def _right(x, xs, lo, hi):
    """Index of the last table point at or below ``x`` (lo - 1 when none), numpy's bisection."""
    imin = lo
    imax = hi
    while imin < imax:
        imid = imin + ((imax - imin) >> 1)
        if x >= xs[imid]:
            imin = imid + 1
        else:
            imax = imid
    return imin - 1


@njit(**_opts)
def interp_at(x, xs, ys, lo, hi, d):
    """``np.interp(x, xs[lo:hi], ys[lo+d:hi+d])`` for one value, branch for branch."""
    if hi - lo == 1:
        return ys[lo + d]
    if x != x:
        return x
    if x > xs[hi - 1]:
        return ys[hi - 1 + d]
    if x < xs[lo]:
        return ys[lo + d]
    j = _right(x, xs, lo, hi)
    if j == hi - 1:
        return ys[j + d]
    if xs[j] == x:
        return ys[j + d]
    slope = (ys[j + 1 + d] - ys[j + d]) / (xs[j + 1] - xs[j])
    r = slope * (x - xs[j]) + ys[j + d]
    if r != r:
        r = slope * (x - xs[j + 1]) + ys[j + 1 + d]
        if r != r and ys[j + d] == ys[j + 1 + d]:
            r = ys[j + d]
    return r


@njit(**_opts)
def interp(x, xs, ys, lo, hi):
    """``np.interp(x, xs[lo:hi], ys[lo:hi])`` (Vensim's lookup: end values held)."""
    return interp_at(x, xs, ys, lo, hi, 0)


@njit(**_opts)
def extrapolate(x, xs, ys, lo, hi):
    """``runtime.lookup_extrapolate``."""
    y = interp(x, xs, ys, lo, hi)
    if hi - lo < 2:
        return y
    if x < xs[lo]:
        return ys[lo] + (ys[lo + 1] - ys[lo]) / (xs[lo + 1] - xs[lo]) * (x - xs[lo])
    if x > xs[hi - 1]:
        return ys[hi - 1] + (ys[hi - 1] - ys[hi - 2]) / (xs[hi - 1] - xs[hi - 2]) * (x - xs[hi - 1])
    return y


@njit(**_opts)
def _before(a, b):
    """numpy's sort order for floats: NaN after everything."""
    return a < b or (b != b and a == a)


@njit(**_opts)
def look_forward(x, xs, ys, lo, hi):
    """``runtime.lookup_forward``: searchsorted(side='left'), clipped."""
    i = lo
    while i < hi and _before(xs[i], x):
        i += 1
    if i > hi - 1:
        i = hi - 1
    return ys[i]


@njit(**_opts)
def hold_backward(x, xs, ys, lo, hi):
    """``runtime.lookup_backward``: searchsorted(side='right') - 1, clipped."""
    i = lo
    while i < hi and not _before(x, xs[i]):
        i += 1
    i -= 1
    if i < lo:
        i = lo
    return ys[i]


# ------------------------------------------------------------------------------ time series
@njit(**_opts)
def series(t, m, base, j, serx, sery, meta):
    """A parameter replaced by a time series (``runtime.overridden``/``runtime.series``).

    ``j`` < 0: no series covers this cell, the value is ``base``. ``meta[j]`` holds the series'
    offset and length in ``serx``, its offset in ``sery`` and its number of member columns
    (0: one value per time, interpolated like ``np.interp``).
    """
    if j < 0:
        return base
    xo = meta[j, 0]
    n = meta[j, 1]
    yo = meta[j, 2]
    cols = meta[j, 3]
    if cols == 0:
        return interp_at(t, serx, sery, xo, xo + n, yo - xo)
    c = m if cols > 1 else 0
    if n == 1:
        return sery[yo + c]
    tt = fmin(fmax(t, serx[xo]), serx[xo + n - 1])
    i = _right(tt, serx, xo, xo + n) - xo
    if i < 0:
        i = 0
    if i > n - 2:
        i = n - 2
    w = (tt - serx[xo + i]) / (serx[xo + i + 1] - serx[xo + i])
    return sery[yo + i * cols + c] * (1 - w) + sery[yo + (i + 1) * cols + c] * w
