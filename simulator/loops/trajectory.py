"""The state arrays of a run at its save times: what the loop scores are computed from.

A :class:`~simulator.result.Result` holds variables, not the states of delays and smooths, so
the run is made here through the model's own set-up and integrator (numpy backend): the same
parameters, solver and clock as ``Model.run`` gives.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SolverError
from ..model import Model, RunOptions
from ..params import resolve
from ..printers.numpy_printer import Program
from ..solvers import FIXED, check_method, finite_check
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
    """Run ``model`` (same arguments as :meth:`Model.run`) keeping the state array at save times."""
    method = check_method(method)
    opts = options or RunOptions()
    req = resolve(model, params)
    prog = model._program(req.variant)
    y0, S, C, P = model._initialise(prog, req.P, req.members, fixed=method in FIXED, seed=seed, opts=opts)
    check = finite_check(prog.strict_rows) if opts.check_finite else None
    states, stats = model._integrate(prog, method, opts, P, S, y0, C, req.switch_times, check)
    if not stats.success:
        raise SolverError(f"{model.path}: solver {method} failed: {stats.message}")
    grid = C["grid"]
    y = np.asarray(states)
    return Trajectory(prog=prog, times=np.asarray(grid.save_times[: len(y)], dtype=float), y=y,
                      point=Point(P=P, S=S, C=C["clock"]), dt=float(grid.dt), members=req.members)
