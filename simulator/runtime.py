"""Numerical primitives called by the numpy printer's code (vectorised over cells and members).

Vensim's functions are not here: they are IR (:mod:`simulator.ir.vensim`). What is here is what
IR nodes stand for that numpy has no single function for: lookups, sequential reductions, noise,
time series replacing parameters, and the switch times adaptive solvers restart at.

Array convention: every array value has its subscript axes first and the ensemble-member axis
last (length 1 or M); python floats stand for values equal in every member.
"""
from __future__ import annotations

import numpy as np

SMALL_VENSIM = 1e-6  # Vensim's (and pysd's) zero tolerance in XIDZ/ZIDZ/QUANTUM and time tests


class Clock:
    """How time-discontinuous functions read time during one integration.

    ``fixed`` (euler/rk4): Vensim's rule, a STEP at ``t + dt/2 > tstep``.
    adaptive solvers: time is nudged a hair towards the middle of the current segment, so a
    step exactly at a segment boundary takes the value of the segment being integrated.
    """

    __slots__ = ("dt", "fixed", "mid", "t0", "nsteps", "seed", "member_offset")

    def __init__(self, dt: float, fixed: bool, t0: float, nsteps: int = 0, seed: int = 0,
                 member_offset: int = 0):
        self.dt = float(dt)
        self.fixed = fixed
        self.mid = None
        self.t0 = float(t0)
        self.nsteps = int(nsteps)
        self.seed = int(seed)
        self.member_offset = int(member_offset)

    def tc(self, t):
        if self.fixed or self.mid is None:
            return t
        return t + (self.mid - t) * 1e-9


# ----------------------------------------------------------------------------- lookups
def lookup(x, table):
    """Vensim lookup: linear interpolation, end values held outside the x range."""
    xs, ys = table
    return np.interp(x, xs, ys)


def lookup_extrapolate(x, table):
    xs, ys = table
    y = np.interp(x, xs, ys)
    if len(xs) < 2:
        return y
    lo = ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
    hi = ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
    return np.where(x < xs[0], lo, np.where(x > xs[-1], hi, y))


def lookup_forward(x, table):
    """Value at the first x point at or above ``x`` (last value beyond the table)."""
    xs, ys = table
    i = np.clip(np.searchsorted(xs, x, side="left"), 0, len(xs) - 1)
    return ys[i]


def lookup_backward(x, table):
    """Value at the last x point at or below ``x`` (first value before the table)."""
    xs, ys = table
    i = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 1)
    return ys[i]


def lookup_raw(x, table):
    """Value at a table point, NaN between points (data read without interpolation)."""
    xs, ys = table
    i = np.clip(np.searchsorted(xs, x, side="left"), 0, len(xs) - 1)
    return np.where(xs[i] == x, ys[i], np.nan)


def lookup_many(fn, x, tables, tid):
    """Subscripted lookup: ``tid`` (broadcastable to x) selects the table for each cell."""
    x = np.asarray(x, dtype=float)
    tid = np.asarray(tid)
    shape = np.broadcast_shapes(x.shape, tid.shape)
    xb = np.broadcast_to(x, shape)
    tb = np.broadcast_to(tid, shape)
    out = np.empty(shape)
    for k in np.unique(tb):
        mask = tb == k
        out[mask] = fn(xb[mask], tables[int(k)])
    return out


def series(t, table):
    """A time series given as (times, values[, per-member values]) interpolated at ``t``."""
    xs, ys = table
    if ys.ndim == 1:
        return np.interp(t, xs, ys)
    # per-member series: ys has shape (len(xs), M)
    tt = float(np.clip(t, xs[0], xs[-1]))
    i = int(np.clip(np.searchsorted(xs, tt, side="right") - 1, 0, len(xs) - 2)) if len(xs) > 1 else 0
    if len(xs) == 1:
        return ys[0]
    w = (tt - xs[i]) / (xs[i + 1] - xs[i])
    return ys[i] * (1 - w) + ys[i + 1] * w


# ----------------------------------------------------------------------------- reductions
def reduce(fn, x, n_keep: int, bang_lens: tuple[int, ...]):
    """Apply ``fn`` (np.sum, np.prod, np.min, np.max) over the trailing subscript axes
    ``bang_lens`` of a value computed in a context of ``n_keep`` + len(bang_lens) axes."""
    x = np.asarray(x, dtype=float)
    nb = len(bang_lens)
    full_rank = n_keep + nb + 1
    if x.ndim < full_rank:
        x = x.reshape((1,) * (full_rank - x.ndim) + x.shape)
    shape = x.shape[:n_keep] + tuple(bang_lens) + x.shape[-1:]
    x = np.broadcast_to(x, shape)
    if fn is np.sum or fn is np.prod:
        # a sequential sum over the reduced cells in C order: np.sum's pairwise order depends on
        # the memory layout (it differs between one member and many), the fused kernel's does not
        flat = np.reshape(x, shape[:n_keep] + (-1,) + shape[-1:])
        lead = (slice(None),) * n_keep
        op = np.add if fn is np.sum else np.multiply
        acc = np.array(flat[lead + (0,)])
        for i in range(1, flat.shape[n_keep]):
            op(acc, flat[lead + (i,)], out=acc)
        return acc
    axes = tuple(range(n_keep, n_keep + nb))
    return fn(x, axis=axes)


def vector_sort_order(x, axis: int, descending: bool):
    """0-based positions that sort ``x`` along ``axis`` (pysd's VECTOR SORT ORDER: numpy's argsort,
    reversed for a descending order)."""
    order = np.argsort(x, axis=axis)
    return (np.flip(order, axis=axis) if descending else order).astype(float)


def vector_rank(x, axis: int, descending: bool):
    """1-based rank of each value along ``axis``."""
    return np.argsort(vector_sort_order(x, axis, descending), axis=axis).astype(float) + 1.0


def vector_reorder(x, order, axis: int):
    """``x`` read along ``axis`` at the positions ``order`` gives."""
    x, order = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(order))
    return np.take_along_axis(x, order.astype(np.intp), axis=axis)


def _total(x):
    """Sum over the last axis, sequentially (cumsum accumulates in order whatever the layout, so
    an ensemble adds as its members run one by one do)."""
    return np.cumsum(x, axis=-1)[..., -1:]


def allocate_by_priority(request, priority, width, supply, axis: int):
    """Vensim's ALLOCATE BY PRIORITY over ``axis`` (the requesters), vectorised over the other
    axes and the members (the rule: :class:`~simulator.ir.nodes.Allocate`).

    Requester i gets ``r_i * clip((p_i - x) / w, 0, 1)``; the total ``T(x)`` is piecewise linear
    and non-increasing in ``x``, with corners where a requester starts (``x = p_i``) or is full
    (``x = p_i - w``). The corners are sorted from high to low, ``T`` is accumulated at each, the
    segment where ``T`` reaches the supply is found, and ``x`` is solved exactly on that segment
    from the requesters it fills partially and those it fills fully.
    """
    r, p, w, s = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (request, priority, width, supply)))
    r, p = np.moveaxis(r, axis, -1), np.moveaxis(p, axis, -1)
    w, s = np.moveaxis(w, axis, -1)[..., :1], np.moveaxis(s, axis, -1)[..., :1]
    with np.errstate(all="ignore"):
        rate = r / w
        corners = np.concatenate([p, p - w], axis=-1)
        order = np.argsort(-corners, axis=-1, kind="stable")
        corners = np.take_along_axis(corners, order, axis=-1)
        slope = np.cumsum(np.take_along_axis(np.concatenate([rate, -rate], axis=-1), order, axis=-1), axis=-1)
        rise = slope[..., :-1] * (corners[..., :-1] - corners[..., 1:])
        at = np.concatenate([np.zeros_like(s), np.cumsum(rise, axis=-1)], axis=-1)  # T at each corner
        k = np.clip(np.sum(at <= s, axis=-1, keepdims=True) - 1, 0, corners.shape[-1] - 2)
        hi, lo = np.take_along_axis(corners, k, axis=-1), np.take_along_axis(corners, k + 1, axis=-1)
        mid = 0.5 * (hi + lo)
        part = (p - w < mid) & (mid < p)
        full = mid <= p - w
        part_rate = _total(np.where(part, rate, 0.0))
        x = (_total(np.where(part, rate * p, 0.0)) + _total(np.where(full, r, 0.0)) - s) / part_rate
        x = np.where(part_rate > 0, x, hi)
        out = r * np.clip((p - x) / w, 0.0, 1.0)
        out = np.where(s >= _total(r), r, np.where(s > 0, out, 0.0))
        bad = np.any(r < 0, axis=-1, keepdims=True) | ~(w > 0) | (s < 0)
        out = np.where(bad, np.nan, out)
    return np.moveaxis(out, -1, axis)


def full(x, shape: tuple[int, ...]):
    """Broadcast a value to ``shape`` + (members,) without copying."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return np.broadcast_to(x.reshape((1,) * (len(shape) + 1)), shape + (1,))
    return np.broadcast_to(x, shape + (x.shape[-1],))


def members(*xs) -> int:
    m = 1
    for x in xs:
        if isinstance(x, np.ndarray) and x.ndim:
            m = max(m, x.shape[-1])
    return m


# ----------------------------------------------------------------------------- random
def make_noise(clk, kind: str, shape: tuple[int, ...], members: int, site: int):
    """Standard noise for one RANDOM call site: one draw per TIME STEP, per cell, per member.

    Member k's stream depends only on (seed, site, k), so an ensemble equals its members run
    one by one with the same seed and member index.
    """
    out = np.empty((clk.nsteps + 1,) + shape + (members,))
    for k in range(members):
        rng = np.random.default_rng([clk.seed, site, k + clk.member_offset])
        draw = rng.random if kind == "uniform" else rng.standard_normal
        out[..., k] = draw((clk.nsteps + 1,) + shape)
    return out


def noise(t, clk, arr):
    k = int(np.clip(np.floor((t - clk.t0) / clk.dt + 1e-9), 0, arr.shape[0] - 1))
    return arr[k]


# ----------------------------------------------------------------------------- overrides
class Override:
    """A parameter replaced by time series, whole or cell by cell.

    ``base`` has the variable's shape + (members,); ``series`` lists (cell index or None,
    times, values) where values are (len(times),) or (len(times), members).
    """

    __slots__ = ("base", "series")

    def __init__(self, base, series):
        self.base = base
        self.series = series


def overridden(t, ov: Override):
    if len(ov.series) == 1 and ov.series[0][0] is None and ov.base.ndim == 1:
        return np.broadcast_to(np.asarray(series(t, ov.series[0][1:]), dtype=float), ov.base.shape) \
            if ov.base.shape[-1] > 1 else np.atleast_1d(series(t, ov.series[0][1:]))
    vals = [np.asarray(series(t, s[1:]), dtype=float) for s in ov.series]
    m = max([ov.base.shape[-1]] + [v.shape[-1] if v.ndim else 1 for v in vals])
    out = np.array(np.broadcast_to(ov.base, ov.base.shape[:-1] + (m,)))
    for (cell, _, _), v in zip(ov.series, vals):
        if cell is None:
            out[...] = v
        else:
            out[cell] = v
    return out


def train_times(start, interval, width, end, t_end):
    """Switch times of PULSE TRAIN up to ``t_end``."""
    start, interval, width, end = (float(x) for x in (start, interval, width, end))
    if interval <= 0:
        return [start, start + width]
    out = []
    k = 0
    while True:
        s = start + k * interval
        if s > min(end, t_end) or k > 100_000:
            break
        out += [s, s + width]
        k += 1
    return out + [end]


def site_times(fname, t_end, *args):
    """Times at which a STEP/RAMP/PULSE/PULSE TRAIN call switches, flattened over members."""
    arrs = [np.atleast_1d(np.asarray(a, dtype=float)).ravel() for a in args]
    out: list[float] = []
    if fname == "step":
        out = list(arrs[1])
    elif fname == "ramp":
        out = list(arrs[1]) + (list(arrs[2]) if len(arrs) > 2 else [])
    elif fname == "pulse":
        out = list(arrs[0]) + list(np.add.outer(arrs[0], arrs[1]).ravel())
    elif fname == "pulse_train":
        for start, interval, width, end in zip(*np.broadcast_arrays(*arrs)):
            out += train_times(start, interval, width, end, t_end)
    return out
