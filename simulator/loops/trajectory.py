"""The state arrays of a run at its save times: what the loop scores are computed from.

A :class:`~simulator.result.Result` holds variables, not states. Where each state is some
variable's value the states are read from ``Model.run``'s result; otherwise the run is made here
through the model's own set-up and integrator (numpy backend): the same parameters, solver and
clock either way.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SolverError
from ..model import Model, RunOptions
from ..params import resolve
from ..printers.numpy_printer import Program
from ..solvers import FIXED, check_method, finite_check
from .graph import _is_state_value
from .partial import Point


@dataclass
class Trajectory:
    """States ``y`` (save time, state row, member) of one (ensemble) run and what its printed
    functions read."""

    prog: Program
    times: np.ndarray
    y: np.ndarray
    point: Point
    dt: float
    members: int


def trajectory(model: Model, params: dict | None = None, *, method: str = "euler",
               options: RunOptions | None = None, seed: int = 0) -> Trajectory:
    """Run ``model`` (same arguments as :meth:`Model.run`) keeping the state array at save times.

    When every state is the value of a variable (stocks, first-order smooths) the run is
    ``Model.run`` itself, on whichever backend it chooses, and the states are read from its
    result; otherwise (higher-order delays, DELAY FIXED) the numpy integrator keeps them."""
    method = check_method(method)
    opts = options or RunOptions()
    req = resolve(model, params)
    prog = model._program(req.variant)
    y0, S, C, P = model._initialise(prog, req.P, req.members, fixed=method in FIXED, seed=seed, opts=opts)
    grid = C["grid"]
    point = Point(P=P, S=S, C=C["clock"])
    readable = _state_variables(prog)
    if readable is not None:
        res = model.run(params, method=method, options=opts, seed=seed,
                        outputs=sorted({v.name for v in readable.values()}))
        y = np.empty((len(res.times), prog.analysis.n_state, req.members))
        for s, (lo, hi) in zip(prog.ir.states, prog.analysis.offsets):
            y[:, lo:hi] = res[readable[s.sid].name].reshape(len(res.times), hi - lo, req.members)
        return Trajectory(prog=prog, times=np.asarray(res.times, dtype=float), y=y, point=point,
                          dt=float(grid.dt), members=req.members)
    check = finite_check(prog.strict_rows) if opts.check_finite else None
    states, stats = model._integrate(prog, method, opts, P, S, y0, C, req.switch_times, check)
    if not stats.success:
        raise SolverError(f"{model.path}: solver {method} failed: {stats.message}")
    y = np.asarray(states)
    return Trajectory(prog=prog, times=np.asarray(grid.save_times[: len(y)], dtype=float), y=y,
                      point=point, dt=float(grid.dt), members=req.members)


def _state_variables(prog: Program) -> dict | None:
    """State id -> the variable whose value is that state, when every state has one (a stock
    clipped at zero equals its state, which the integrator clips too); None otherwise."""
    if prog.ir.registers:
        return None
    by_idx = {v.idx: v for v in prog.ir.vars}
    out = {}
    for s in prog.ir.states:
        var = by_idx[s.owner]
        if len(var.pieces) != 1 or var.pieces[0].cells is not None or var.shape != s.shape \
                or not _is_state_value(var.pieces[0].run, s.sid):
            return None
        out[s.sid] = var
    return out
