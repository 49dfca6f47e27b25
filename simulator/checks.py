"""NaN and infinity made by arithmetic are errors that name the variable, member and time.

NaN in a variable that reads Vensim's :NA: or missing values (``analysis.na_vars``, decided from
the IR) is data, not a failure; infinity never is.
"""
from __future__ import annotations

import numpy as np

from .errors import NonFiniteError, SimulatorError


def _bad(prog, idx: int, arr: np.ndarray) -> np.ndarray:
    return np.isinf(arr) if idx in prog.na_vars else ~np.isfinite(arr)


def cell_label(model, var, cell) -> str:
    if not var.dims:
        return ""
    space = model.source.subscripts
    return "[" + ",".join(space.display.get(space.ranges[d][int(i)], "?") for d, i in zip(var.dims, cell)) + "]"


def check_outputs(model, prog, data: dict, times) -> None:
    """A variable that feeds no stock can still turn NaN/inf: report it, never return it silently."""
    for v in prog.ir.vars:
        arr = data.get(v.name)
        if arr is None:
            continue
        bad = _bad(prog, v.idx, arr)
        if bad.any():
            k, *cell = np.argwhere(bad)[0]
            raise NonFiniteError(
                f"{model.path}: variable {v.name!r}{cell_label(model, v, cell[:-1])} has a non-finite value "
                f"({float(arr[(k, *cell)])}) at time {float(times[k]):g} in member {int(cell[-1])}",
                variable=v.name, member=int(cell[-1]), time=float(times[k]))


def diagnose(model, prog, P, S, clock, t, y, initial: bool = False) -> SimulatorError:
    """The error for a state or derivative that stopped being finite at time ``t``: the first
    variable (in evaluation order) with a bad value, else the stock itself."""
    with np.errstate(all="ignore"):
        try:
            vals = prog.values(np.float64(t), y, P, S, clock)
        except Exception:  # noqa: BLE001 - diagnosis must not mask the original problem
            vals = {}
    pos = {idx: i for i, idx in enumerate(prog.analysis.run_order)}
    for v in sorted(prog.ir.vars, key=lambda v: pos.get(v.idx, -1)):
        if v.idx not in vals:
            continue
        arr = np.asarray(vals[v.idx], dtype=float)
        bad = _bad(prog, v.idx, arr)
        if bad.any():
            cell = np.argwhere(bad)[0]
            member = int(cell[-1]) if arr.ndim else 0
            what = "initial value" if initial else "value"
            return NonFiniteError(
                f"{model.path}: variable {v.name!r}{cell_label(model, v, cell[:-1])} has a non-finite {what} "
                f"({float(arr[tuple(cell)])}) at time {float(t):g} in member {member}",
                variable=v.name, member=member, time=float(t))
    strict = prog.strict_rows
    bad = np.argwhere(np.where(strict[:, None], ~np.isfinite(y), np.isinf(y)))
    member = int(bad[0][-1]) if len(bad) else 0
    row = int(bad[0][0]) if len(bad) else 0
    names = {v.idx: v.name for v in prog.ir.vars}
    owner = next((names[s.owner] for s, (a, b) in zip(prog.ir.states, prog.analysis.offsets) if a <= row < b), "?")
    return NonFiniteError(f"{model.path}: stock {owner!r} became non-finite at time {float(t):g} "
                          f"in member {member}", variable=owner, member=member, time=float(t))
