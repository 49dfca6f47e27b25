"""Scalar primitives for numba kernels: what an IR node needs that is not one python operator.

Each is the scalar form of :mod:`simulator.runtime`'s numpy primitive, written with the same numpy
calls where numba provides them (``np.searchsorted``: numba ports numpy's own algorithm, so results
agree bit for bit) and with numpy's NaN rules where it does not (``np.maximum``, ``np.mod``).
``np.interp`` is written out for one value (:func:`interp_at`, numpy's branches and formulas):
numba's ``np.interp`` of a scalar allocates three arrays per call, which cost the flagship kernel
about a quarter of its run time. Vensim's functions are not here: they are IR. This
module imports numba; only the numba backend imports it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

_opts: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}


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
def powlog(x, y):
    """``x ** y`` as ``exp(y * log(x))``: within a few units in the last place of ``pow`` for a
    positive ``x``, at a fraction of its cost. Where that is not finite (a negative, zero or
    non-finite base, a NaN exponent, an overflow), ``pow``'s own answer. No branch before the
    logarithm, so that the compiler computes the logarithm of a base once for all its powers."""
    r = np.exp(y * np.log(x))
    if r - r != 0.0:
        return x ** y
    return r


@njit(**_opts)
def pymod(a, b):
    """``np.mod`` (floored modulo, the sign of ``b``) for floats."""
    r = np.fmod(a, b)
    if r != 0.0:
        if (b < 0.0) != (r < 0.0):
            r += b
    else:
        r = np.copysign(0.0, b)
    return r


# ------------------------------------------------------------------------------ lookups
@njit(**_opts)
def _right(x, xs, lo, hi):
    """The last index in ``lo:hi`` whose point is at or below ``x`` (``lo - 1`` when none): for a
    sorted table the index numpy's ``binary_search_with_guess`` finds."""
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
    """``np.interp(x, xs[lo:hi], ys[lo + d:hi + d])`` for one value, branch for branch (numpy's
    ``arr_interp`` for a scalar: no precomputed slopes)."""
    if hi <= lo:
        raise ValueError("array of sample points is empty")
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
        return ys[j + d]  # avoids a non-finite interpolation
    slope = (ys[j + 1 + d] - ys[j + d]) / (xs[j + 1] - xs[j])
    r = slope * (x - xs[j]) + ys[j + d]
    if r != r:  # NaN one way: numpy tries the other
        r = slope * (x - xs[j + 1]) + ys[j + 1 + d]
        if r != r and ys[j + d] == ys[j + 1 + d]:
            r = ys[j + d]
    return r


@njit(**_opts)
def interp(x, xs, ys, lo, hi):
    """``runtime.lookup`` on the table ``xs[lo:hi]``, ``ys[lo:hi]``."""
    return interp_at(x, xs, ys, lo, hi, 0)


@njit(**_opts)
def extrapolate(x, xs, ys, lo, hi):
    """``runtime.lookup_extrapolate``."""
    y = interp_at(x, xs, ys, lo, hi, 0)
    if hi - lo < 2:
        return y
    if x < xs[lo]:
        return ys[lo] + (ys[lo + 1] - ys[lo]) / (xs[lo + 1] - xs[lo]) * (x - xs[lo])
    if x > xs[hi - 1]:
        return ys[hi - 1] + (ys[hi - 1] - ys[hi - 2]) / (xs[hi - 1] - xs[hi - 2]) * (x - xs[hi - 1])
    return y


@njit(**_opts)
def look_forward(x, xs, ys, lo, hi):
    """``runtime.lookup_forward``."""
    i = np.searchsorted(xs[lo:hi], x, side="left")
    return ys[lo + min(i, hi - lo - 1)]


@njit(**_opts)
def hold_backward(x, xs, ys, lo, hi):
    """``runtime.lookup_backward``."""
    i = np.searchsorted(xs[lo:hi], x, side="right") - 1
    return ys[lo + max(i, 0)]


@njit(**_opts)
def raw(x, xs, ys, lo, hi):
    """``runtime.lookup_raw``."""
    i = np.searchsorted(xs[lo:hi], x, side="left")
    i = min(i, hi - lo - 1)
    return ys[lo + i] if xs[lo + i] == x else np.nan


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
    i = np.searchsorted(serx[xo:xo + n], tt, side="right") - 1
    if i < 0:
        i = 0
    if i > n - 2:
        i = n - 2
    w = (tt - serx[xo + i]) / (serx[xo + i + 1] - serx[xo + i])
    return sery[yo + i * cols + c] * (1 - w) + sery[yo + (i + 1) * cols + c] * w
