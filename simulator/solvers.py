"""Time integration of a compiled model: Vensim-compatible Euler/RK4 and scipy's solve_ivp.

All integrators work on the state array ``y`` of shape (n_state, members) and return the
states at the save times. Ensembles keep per-member error control: the adaptive explicit
methods accept a step only when every member's own RMS error is within tolerance.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError

FIXED = ("euler", "rk4")
MAX_STEPS = 10_000_000  # TIME STEPs in one run: beyond this a run takes hours or never ends
MAX_OUTPUT_VALUES = 200_000_000  # saved values (rows x cells x members): 1.6 GB of float64
ADAPTIVE = ("RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau")
METHODS = FIXED + ADAPTIVE


class NonFiniteState(Exception):
    """Internal: a derivative or state stopped being finite at time ``t``."""

    def __init__(self, t, y):
        super().__init__(t)
        self.t = t
        self.y = y


@dataclass
class SolverStats:
    method: str
    nfev: int = 0
    steps: int = 0
    segments: int = 0
    success: bool = True
    message: str = ""
    extra: dict = field(default_factory=dict)


def _member_norm(base, n: int, m: int):
    """A scipy explicit RK class whose error norm is the worst member's RMS norm."""
    from scipy.integrate import DOP853
    if base is DOP853:
        def norm(self, K, h, scale):
            err5 = (np.dot(K.T, self.E5) / scale).reshape(m, n)
            err3 = (np.dot(K.T, self.E3) / scale).reshape(m, n)
            e5 = np.sum(err5 ** 2, axis=1)
            e3 = np.sum(err3 ** 2, axis=1)
            denom = e5 + 0.01 * e3
            with np.errstate(divide="ignore", invalid="ignore"):
                per = np.where(denom > 0, np.abs(h) * e5 / np.sqrt(np.where(denom > 0, denom, 1.0) * n), 0.0)
            return float(np.max(per))
    else:
        def norm(self, K, h, scale):
            err = (self._estimate_error(K, h) / scale).reshape(m, n)
            return float(np.max(np.sqrt(np.mean(err ** 2, axis=1))))
    return type(f"Member{base.__name__}", (base,), {"_estimate_error_norm": norm})


def save_indices(t0: float, dt: float, save_times: np.ndarray) -> np.ndarray:
    return np.rint((save_times - t0) / dt).astype(int)


@dataclass(frozen=True)
class TimeGrid:
    """The clock of one run: ``nsteps`` TIME STEPs from ``t0`` and the times the result holds."""

    t0: float
    tf: float
    dt: float
    saveper: float
    nsteps: int
    save_times: np.ndarray


def time_grid(where: str, t0: float, tf: float, dt: float, saveper: float, *, fixed: bool,
              max_steps: int = MAX_STEPS) -> TimeGrid:
    """Check the control values and lay out the run's steps and save times.

    A fixed-step run holds states at step times only: when SAVEPER is not a multiple of TIME STEP
    the rows are labelled with the step time whose state they hold (the step nearest to each
    multiple of SAVEPER), never with a time the state does not belong to.
    """
    for name, v in (("INITIAL TIME", t0), ("FINAL TIME", tf), ("TIME STEP", dt), ("SAVEPER", saveper)):
        if not np.isfinite(v):
            raise ParameterError(f"{where}: {name} must be a finite number, got {v}")
    if not dt > 0:
        raise ParameterError(f"{where}: TIME STEP must be positive, got {dt}")
    if not saveper > 0:
        raise ParameterError(f"{where}: SAVEPER must be positive, got {saveper}")
    if tf < t0:
        raise ParameterError(f"{where}: FINAL TIME {tf} is before INITIAL TIME {t0}")
    span = tf - t0
    if not np.isfinite(span) or span / dt > max_steps:
        raise ParameterError(
            f"{where}: the run would take {span / dt:.3g} steps of TIME STEP {dt:g} from {t0:g} to {tf:g}; "
            f"the limit is {max_steps:,} (RunOptions.max_steps)")
    nsteps = int(np.floor(span / dt + 1e-9))
    nsave = span / saveper
    if nsave > max_steps:
        raise ParameterError(f"{where}: SAVEPER {saveper:g} would save {nsave:.3g} rows; "
                             f"the limit is {max_steps:,} (RunOptions.max_steps)")
    save_times = t0 + saveper * np.arange(int(np.floor(nsave + 1e-9)) + 1)
    if fixed:
        k = save_indices(t0, dt, save_times)
        on_grid = np.abs(save_times - (t0 + k * dt)) <= 1e-6 * dt + 4 * np.finfo(float).eps * np.abs(save_times)
        if not on_grid.all():
            k = np.unique(np.minimum(k, nsteps))
            save_times = t0 + dt * k
    return TimeGrid(t0=t0, tf=tf, dt=dt, saveper=saveper, nsteps=nsteps, save_times=save_times)


def finite_check(strict_rows):
    """``ok(values)`` for a state-shaped array: rows in ``strict_rows`` must be finite; the others
    may hold NaN (missing data, Vensim's :NA:) but not infinity. ``None`` when nothing is checked."""
    if strict_rows is None:
        return None
    strict = np.asarray(strict_rows, dtype=bool)
    if strict.all():
        return lambda y: bool(np.isfinite(y).all())
    return lambda y: bool(np.isfinite(y[strict]).all() and not np.isinf(y).any())


@dataclass(frozen=True)
class StepHooks:
    """What a fixed step does besides integrating: ``clip`` (start, stop) row blocks held at or
    above zero (non-negative stocks); ``check`` None or ``ok(array)`` from :func:`finite_check`;
    ``update(t, y)`` the next values of the register rows from ``registers`` on (taken at the
    step's start, written after the step)."""

    clip: tuple = ()
    check: Callable[[np.ndarray], bool] | None = None
    update: Callable[[float, np.ndarray], np.ndarray] | None = None
    registers: int = 0


def integrate_fixed(rhs, y0, grid: TimeGrid, method: str, hooks: StepHooks):
    """Euler or classic RK4 at a fixed TIME STEP, Vensim's way (state saved before the step)."""
    t0, dt, nsteps, save_times = grid.t0, grid.dt, grid.nsteps, grid.save_times
    check, clip_blocks = hooks.check, hooks.clip
    save_at = save_indices(t0, dt, save_times)
    out = np.empty((len(save_times),) + y0.shape)
    y = y0.copy()
    pos = 0
    nfev = 0
    for k in range(nsteps + 1):
        while pos < len(save_at) and save_at[pos] == k:
            out[pos] = y
            pos += 1
        if k == nsteps or pos >= len(save_at):
            break
        t = t0 + k * dt
        nxt = hooks.update(t, y) if hooks.update is not None else None
        if method == "euler":
            dy = rhs(t, y)
            nfev += 1
            if check is not None and not check(dy):
                raise NonFiniteState(t, y)
            y = y + dt * dy
        else:
            k1 = rhs(t, y)
            if check is not None and not check(k1):
                raise NonFiniteState(t, y)
            k2 = rhs(t + dt / 2, y + dt / 2 * k1)
            k3 = rhs(t + dt / 2, y + dt / 2 * k2)
            k4 = rhs(t + dt, y + dt * k3)
            nfev += 4
            y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        for a, b in clip_blocks:
            np.maximum(y[a:b], 0.0, out=y[a:b])
        if nxt is not None:
            y[hooks.registers:] = nxt
        if check is not None and not check(y):
            raise NonFiniteState(t + dt, y)
    if pos < len(save_at):
        out = out[:pos]
    return out, SolverStats(method=method, nfev=nfev, steps=nsteps, segments=1)


@dataclass(frozen=True)
class Adaptive:
    """An adaptive method and its settings; ``switch_times`` are where the inputs jump."""

    method: str
    rtol: float
    atol: float
    max_step: float = np.inf
    switch_times: tuple = ()


def integrate_adaptive(rhs, y0, grid: TimeGrid, setup: Adaptive, clock, check=None):
    """scipy ``solve_ivp``, restarted at every known discontinuity of the inputs.

    ``check``: None (derivatives must be finite), or ``ok(array)`` from :func:`finite_check`.
    """
    t_span, save_times, method = (grid.t0, grid.tf), grid.save_times, setup.method
    rtol, atol, max_step, switch_times = setup.rtol, setup.atol, setup.max_step, setup.switch_times
    if check is None:
        check = finite_check(np.ones(y0.shape[0], dtype=bool))
    from scipy.integrate import DOP853, RK23, RK45, solve_ivp  # imported when first needed: ~0.5 s

    n, m = y0.shape
    t0, tf = t_span
    cuts = sorted({float(s) for s in switch_times if t0 < s < tf})
    edges = [t0] + cuts + [tf]
    opts: dict = {}
    if method in ("RK45", "RK23", "DOP853"):
        solver = _member_norm({"RK45": RK45, "RK23": RK23, "DOP853": DOP853}[method], n, m) if m > 1 else method
    else:
        solver = method
        if m > 1:
            # the error norm of these methods is an RMS over the whole ensemble; tightening the
            # tolerance by sqrt(M) bounds every member's own RMS error by its tolerance
            rtol = rtol / np.sqrt(m)
            atol = atol / np.sqrt(m)
            if method in ("BDF", "Radau"):
                from scipy.sparse import block_diag
                opts["jac_sparsity"] = block_diag([np.ones((n, n))] * m, format="csc")
            else:
                opts["lband"] = n - 1
                opts["uband"] = n - 1

    def fun(t, z):
        y = z.reshape(m, n).T
        dy = rhs(t, y)
        if not check(dy):
            raise NonFiniteState(t, np.ascontiguousarray(y))
        return dy.T.ravel()

    out = np.empty((len(save_times), n, m))
    filled = np.zeros(len(save_times), dtype=bool)
    z = y0.T.ravel().copy()
    stats = SolverStats(method=method)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        if b <= a:
            continue
        last = i == len(edges) - 2
        sel = np.where((save_times >= a - 1e-12) & ((save_times < b - 1e-12) | last) & ~filled)[0]
        # the segment starts exactly on a save time: the state is known without integrating
        at_a = sel[np.abs(save_times[sel] - a) <= 1e-12]
        for j in at_a:
            out[j] = z.reshape(m, n).T
            filled[j] = True
        sel = np.setdiff1d(sel, at_a)
        t_eval = np.unique(np.concatenate([save_times[sel], [b]]))
        clock.mid = 0.5 * (a + b)
        sol = solve_ivp(fun, (a, b), z, method=solver, t_eval=t_eval, rtol=rtol, atol=atol,
                        max_step=max_step, **opts)
        sol_t = np.atleast_1d(np.asarray(sol.t, dtype=float))  # a list when scipy stops early
        stats.nfev += int(sol.nfev)
        stats.steps += int(sol_t.size)
        stats.segments += 1
        if sol.status != 0:
            stats.success = False
            stats.message = f"{sol.message} (at t={float(sol_t[-1]) if sol_t.size else a:g})"
            break
        for j in sel:
            k = int(np.argmin(np.abs(sol_t - save_times[j])))
            out[j] = sol.y[:, k].reshape(m, n).T
            filled[j] = True
        z = sol.y[:, -1].copy()
    clock.mid = None
    if not stats.success:
        out = out[: int(np.argmin(filled)) if not filled.all() else len(save_times)]
    return out, stats


def check_method(method: str) -> str:
    for m in METHODS:
        if method.lower() == m.lower():
            return m
    raise ParameterError(f"unknown integration method {method!r}; choose one of {', '.join(METHODS)}")
