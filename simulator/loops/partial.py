"""Partial changes: a variable's equation re-evaluated with one input at its new value.

The equations are not copied: each target's IR expression is printed by the engine's numpy
printer (the same code the run executes) into a function of an *environment*, a dict from the
printer's names (``v12``, ``st3``, ``ini0``, ``reg1``) to arrays of shape (*cells, members).
Swapping one source's entries between the environments of two times gives the change of the
target due to that source alone, for every member at once.

The two times are a saved time ``t`` and ``t + dt`` one computation step later (the engine's
Euler step from the state saved at ``t``), so scores are those of the computation step that
starts at each saved time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import runtime as rt
from ..ir.analysis import refs
from ..printers.numpy_printer import INITIAL_SLOT, NumpyPrinter, Program
from .graph import Node, Structure


def _names_read(exprs) -> list[str]:
    prefix = {"v": "v", "s": "st", "i": "ini", "r": "reg"}
    out = set()
    for e in exprs:
        out |= {f"{prefix[k]}{j}" for k, j in refs(e)}
    return sorted(out)


class Evaluators:
    """One compiled function per node: an auxiliary's value, or a state's net flow."""

    def __init__(self, prog: Program, structure: Structure):
        printer = NumpyPrinter(prog.ir, prog.analysis)
        by_idx = {v.idx: v for v in prog.ir.vars}
        lines: list[str] = []
        self.targets: dict[Node, str] = {}
        for n in structure.nodes:
            fname = f"_f{n[0]}{n[1]}"
            if n[0] == "v":
                var = by_idx[n[1]]
                if var.series:
                    continue
                exprs = [p.run for p in var.pieces]
                body = printer.var_lines(n[1], "run") + [f"return v{n[1]}"]
            else:
                s = prog.ir.states[n[1]]
                exprs = [s.flow]
                body = [f"return rt.full({printer.expr(s.flow, s.shape)}, {s.shape!r})"]
            head = [f"{name} = E[{name!r}]" for name in _names_read(exprs)]
            lines += [f"def {fname}(t, E, P, S, C):"] + ["    " + ln for ln in head + body]
            self.targets[n] = fname
        ns: dict[str, Any] = dict(printer.ns)  # exec fills it with the functions below
        ns.setdefault("rt", rt)
        # engine-made text: the printer's identifiers and namespace constants only
        exec(compile("\n".join(lines) + "\n", "<innosim loop scores>", "exec"), ns)  # noqa: S102
        self._fn = {n: ns[f] for n, f in self.targets.items()}
        self.structure = structure
        self.prog = prog

    def source_names(self, node: Node) -> list[str]:
        """The environment entries that hold ``node``'s value."""
        if node[0] == "v":
            return [f"v{node[1]}"]
        out = [f"st{node[1]}"]
        var = self.structure.stock_var.get(node[1])
        if var is not None:
            out.append(f"v{var}")
        return out

    def __call__(self, node: Node, t: float, env: dict, point) -> np.ndarray:
        return np.asarray(self._fn[node](np.float64(t), env, point.P, point.S, point.C), dtype=float)

    def current(self, node: Node, t: float, env: dict, point) -> np.ndarray:
        """The node's value in an environment made by :func:`environment` (an auxiliary's value is
        already there, computed by the same printed code; a state's net flow is evaluated)."""
        if node[0] == "v":
            return np.asarray(env[f"v{node[1]}"], dtype=float)
        return self(node, t, env, point)


@dataclass
class Point:
    """What the generated functions read besides the environment: parameters, run constants, clock."""

    P: dict
    S: dict
    C: object


def environment(prog: Program, t: float, y: np.ndarray, point: Point) -> dict:
    """Every value the printed functions may read at time ``t`` with state array ``y``."""
    with np.errstate(all="ignore"):
        vals = prog.values(np.float64(t), y, point.P, point.S, point.C)
    env = {f"v{k}": v for k, v in vals.items()}
    a = prog.analysis
    m = y.shape[1]
    for s, (lo, hi) in zip(prog.ir.states, a.offsets):
        env[f"st{s.sid}"] = y[lo:hi].reshape(s.shape + (m,)) if s.shape else y[lo]
    for r, (lo, hi) in zip(prog.ir.registers, a.reg_offsets):
        env[f"reg{r.rid}"] = y[lo:hi].reshape((r.length,) + r.shape + (m,))
    for i in prog.ir.initials:
        env[f"ini{i.iid}"] = point.S[INITIAL_SLOT + i.iid]
    return env


def euler_step(prog: Program, t: float, y: np.ndarray, dt: float, point: Point) -> np.ndarray:
    """The state one computation step after ``t`` (Euler, with the engine's clipping and registers)."""
    with np.errstate(all="ignore"):
        nxt = prog.update(np.float64(t), y, point.P, point.S, point.C) if prog.update is not None else None
        y1 = y + dt * prog.rhs(np.float64(t), y, point.P, point.S, point.C)
    a = prog.analysis
    for s, (lo, hi) in zip(prog.ir.states, a.offsets):
        if s.non_negative:
            np.maximum(y1[lo:hi], 0.0, out=y1[lo:hi])
    if nxt is not None:
        y1[a.reg_offsets[0][0]:] = nxt
    return y1
