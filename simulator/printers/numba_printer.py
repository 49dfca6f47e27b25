"""Print a model's IR as one numba kernel: a member's whole Euler/RK4 run in scalar code.

Every subscripted value is unrolled into one scalar per cell. The kernel's state, stage
derivatives and slow values sit in small arrays (``y``, ``x``, ``d``, ``w``), dynamic auxiliaries in
locals. Numbers follow the numpy printer operation for operation (same association order, same
primitives, sequential sums), so the two agree to the last bit except where numpy's vectorised
pow/exp round differently from libm's.

Constants are run-time inputs (``w`` rows), never literals, so one kernel serves every parameter
set of a model structure; while a constant follows a time series the kernel recomputes it, and
every auxiliary computed from constants only, at each evaluation.

The printer dispatches on IR node classes only; :func:`~simulator.printers.numba_kernel.check_source`
verifies the text token by token before anything is compiled.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..ir.analysis import Analysis, refs
from ..ir.dims import flat_index, ref_cell
from ..ir.nodes import (
    Allocate,
    AxisValue,
    Binary,
    Bound,
    ByClock,
    Cells,
    DiscreteRef,
    Expr,
    If,
    InitialRef,
    Let,
    Lookup,
    ModelIR,
    Noise,
    Num,
    Reduce,
    Ref,
    StateRef,
    SwitchTime,
    Time,
    TimeStep,
    Unary,
    Vector,
)
from .chains import balanced, flat_chain
from .numba_kernel import assemble, check_source


class FusedUnsupported(Exception):
    """The model (variant) uses something the numba printer does not print; ``str`` says what."""


@dataclass
class FusedPlan:
    """Kernel source and how to lay out its run-time inputs.

    rows: the kernel's slow values ``w[r]``: ("const", idx, flat) a constant's cell (a call may
        make it a time series), ("aux", idx, flat) a cell of an auxiliary computed from constants
        only, ("initial", iid, flat) an INITIAL value.
    tables: ("P", idx, flat or None) a lookup of the model (a call may replace it), or
        ("K", xs, ys) a table written inside an equation.
    cells: (idx, flat) every cell of every variable, in the order the kernel can save them.
    """

    source: str
    n_state: int
    rows: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    cells: list = field(default_factory=list)


UNARY = {"abs": "abs", "exp": "np.exp", "ln": "np.log", "sqrt": "np.sqrt", "sin": "np.sin", "cos": "np.cos",
         "tan": "np.tan", "arcsin": "np.arcsin", "arccos": "np.arccos", "arctan": "np.arctan",
         "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh", "trunc": "np.trunc"}
ARITH = {"+", "-", "*", "/"}
COMPARE = {"==", "!=", "<", "<=", ">", ">="}
CALLS = {"min": "rtf.fmin", "max": "rtf.fmax", "mod": "rtf.pymod"}
LOOKUPS = {"interpolate": "rtf.interp", "extrapolate": "rtf.extrapolate", "forward": "rtf.look_forward",
           "backward": "rtf.hold_backward", "raw": "rtf.raw"}
REDUCE_INFIX = {"sum": "+", "prod": "*"}
REDUCE_CALL = {"min": "rtf.fmin", "max": "rtf.fmax"}


def _cells(shape):
    return itertools.product(*[range(n) for n in shape])


def _number(x: float) -> str:
    if np.isnan(x):
        return "np.nan"
    if np.isinf(x):
        return "np.inf" if x > 0 else "(-np.inf)"
    return f"({float(x)!r})"


class NumbaPrinter:
    def __init__(self, ir: ModelIR, analysis: Analysis, header: str):
        self.ir = ir
        self.a = analysis
        self.header = header
        self.vars = {v.idx: v for v in ir.vars}
        self.rows: dict = {}
        self._lets: list[str] = []  # value code of the enclosing Let nodes (compilers merge repeats)
        self.tables: dict = {}
        self.table_list: list = []

    # ------------------------------------------------------------------ names
    def row(self, key) -> str:
        if key not in self.rows:
            self.rows[key] = len(self.rows)
        return f"w[{self.rows[key]}]"

    def var_name(self, idx: int, flat: int) -> str:
        """How the kernel reads a cell of a variable: a local (dynamic) or a slow value ``w[r]``."""
        var = self.vars[idx]
        if var.kind == "const":
            return self.row(("const", idx, flat))
        if idx not in self.a.dynamic:
            return self.row(("aux", idx, flat))
        return f"v{idx}" if not var.dims else f"v{idx}_{flat}"

    def state_row(self, sid: int, flat: int) -> int:
        return self.a.offsets[sid][0] + flat

    def table(self, key) -> int:
        tk = key if key[0] == "P" else ("K", key[1])
        if tk not in self.tables:
            self.tables[tk] = len(self.table_list)
            if key[0] == "K":
                t = self.ir.tables[key[1]]
                key = ("K", np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float))
            self.table_list.append(key)
        return self.tables[tk]

    # ------------------------------------------------------------------ expressions
    def expr(self, e: Expr, cell: tuple) -> str:
        if isinstance(e, Num):
            return _number(e.value)
        if isinstance(e, Cells):
            # numpy broadcasting: the constant's axes line up with the context's last axes
            arr = np.asarray(e.values, dtype=float).reshape(e.shape)
            tail = cell[len(cell) - len(e.shape):] if e.shape else ()
            return _number(arr[tuple(c if n > 1 else 0 for c, n in zip(tail, e.shape))])
        if isinstance(e, AxisValue):
            return _number(e.values[cell[e.axis]])
        if isinstance(e, (Time, SwitchTime)):
            return "tt"
        if isinstance(e, TimeStep):
            return "dt"
        if isinstance(e, ByClock):
            return self.expr(e.fixed, cell)  # the kernel runs fixed-step methods only
        if isinstance(e, Ref):
            var = self.vars[e.var]
            return self.var_name(e.var, ref_cell(e.index, var.shape, cell) if var.dims else 0)
        if isinstance(e, StateRef):
            return f"x[{self.state_row(e.state, flat_index(cell, self.ir.states[e.state].shape))}]"
        if isinstance(e, DiscreteRef):
            r = self.ir.registers[e.register]
            size = int(np.prod(r.shape)) if r.shape else 1
            return f"x[{self.a.reg_offsets[e.register][0] + e.slot * size + flat_index(cell, r.shape)}]"
        if isinstance(e, InitialRef):
            return self.row(("initial", e.initial, flat_index(cell, self.ir.initials[e.initial].shape)))
        if isinstance(e, Unary):
            a = self.expr(e.arg, cell)
            if e.op == "neg":
                return f"(-{a})"
            if e.op == "not":
                return f"(1.0 if {a} == 0.0 else 0.0)"
            return f"{UNARY[e.op]}({a})"
        if isinstance(e, Binary):
            return self.binary(e, cell)
        if isinstance(e, If):
            return f"({self.expr(e.then, cell)} if {self.expr(e.cond, cell)} != 0.0 else {self.expr(e.other, cell)})"
        if isinstance(e, Let):
            self._lets.append(self.expr(e.value, cell))
            try:
                return self.expr(e.body, cell)
            finally:
                self._lets.pop()
        if isinstance(e, Bound):
            return self._lets[-1]
        if isinstance(e, Lookup):
            if e.source[0] == "inline":
                n = self.table(("K", e.source[1]))
            else:
                var = self.vars[e.source[1]]
                n = self.table(("P", var.idx, ref_cell(e.index, var.shape, cell) if var.dims else None))
            return f"{LOOKUPS[e.mode]}({self.expr(e.x, cell)}, tabx, taby, tl{n}, th{n})"
        if isinstance(e, Reduce):
            # sequential, in C order of the reduced cells, as the numpy runtime's reduce
            terms = [self.expr(e.arg, tuple(cell) + extra) for extra in _cells(e.sizes)]
            if e.op in REDUCE_INFIX:
                return "(" + f" {REDUCE_INFIX[e.op]} ".join(terms) + ")"
            return balanced(REDUCE_CALL[e.op], terms)
        if isinstance(e, Noise):
            raise FusedUnsupported("function RANDOM UNIFORM/RANDOM NORMAL")
        if isinstance(e, Vector):
            raise FusedUnsupported("function VECTOR SORT ORDER/RANK/REORDER")
        if isinstance(e, Allocate):
            raise FusedUnsupported("function ALLOCATE BY PRIORITY")
        raise FusedUnsupported(type(e).__name__)

    def binary(self, e: Binary, cell) -> str:
        flat = flat_chain(e, lambda x: self.expr(x, cell))
        if flat is not None:
            return flat
        a, b = self.expr(e.left, cell), self.expr(e.right, cell)
        if e.op in ARITH:
            return f"({a} {e.op} {b})"
        if e.op == "**":
            return self.power(a, e.right, b)
        if e.op in COMPARE:
            return f"(1.0 if {a} {e.op} {b} else 0.0)"
        if e.op == "and":
            return f"(1.0 if ({a} != 0.0 and {b} != 0.0) else 0.0)"
        if e.op == "or":
            return f"(1.0 if ({a} != 0.0 or {b} != 0.0) else 0.0)"
        return f"{CALLS[e.op]}({a}, {b})"

    @staticmethod
    def power(base: str, exp_node: Expr, exp: str) -> str:
        # numpy turns an array to the power of these numbers into square/sqrt/reciprocal
        if isinstance(exp_node, Num):
            if exp_node.value == 2.0:
                return f"rtf.square({base})"
            if exp_node.value == 0.5:
                return f"np.sqrt({base})"
            if exp_node.value == 1.0:
                return base
            if exp_node.value == -1.0:
                return f"(1.0 / {base})"
        return f"({base} ** {exp})"

    # ------------------------------------------------------------------ statements
    def var_lines(self, idx: int) -> list[str]:
        """Run-time assignments of every cell of a variable (a local, or ``w[r]`` for a slow one)."""
        var = self.vars[idx]
        size = int(np.prod(var.shape)) if var.shape else 1
        values: dict[int, str] = {}
        for p in var.pieces:
            cells = list(_cells(p.shape))
            mapping = p.cells if p.cells is not None else [(k, k) for k in range(len(cells))]
            for src, dst in mapping:
                values[dst] = self.expr(p.run, cells[src])
        return [f"{self.var_name(idx, f)} = {values.get(f, 'np.nan')}" for f in range(size)]

    def flow_lines(self) -> list[str]:
        out = []
        for s in self.ir.states:
            for cell in _cells(s.shape):
                out.append(f"d[{self.state_row(s.sid, flat_index(cell, s.shape))}] = {self.expr(s.flow, cell)}")
        return out

    def register_lines(self) -> tuple[list[str], list[str]]:
        """The registers' next values, taken at the step's start (``u``), and their commit to ``y``."""
        take, commit = [], []
        first = self.a.reg_offsets[0][0] if self.a.reg_offsets else 0
        for r, (lo, hi) in zip(self.ir.registers, self.a.reg_offsets):
            size = (hi - lo) // r.length
            for cell in _cells(r.shape):
                f = flat_index(cell, r.shape)
                take.append(f"u[{lo - first + f}] = {self.expr(r.update, cell)}")
            for row in range(lo + size, hi):
                take.append(f"u[{row - first}] = x[{row - size}]")
        if take:
            commit = [f"for j in range({first}, {self.a.n_state}):", f"    y[j] = u[j - {first}]"]
        return take, commit

    def plan(self) -> FusedPlan:
        ir, a = self.ir, self.a
        if any(v.series for v in ir.vars):
            raise FusedUnsupported("internal: a series variant reached the numba printer")
        body = [ln for idx in a.run_order for ln in self.var_lines(idx)]
        body += self.flow_lines()
        # auxiliaries of constants only, in dependency order: recomputed while a series is active
        static = [v.idx for v in ir.vars if v.kind == "aux" and v.idx not in a.dynamic]
        slow = [ln for idx in _static_order(ir, static) for ln in self.var_lines(idx)]
        clip = []
        for s, (lo, hi) in zip(ir.states, a.offsets):
            if s.non_negative:
                clip += [f"for j in range({lo}, {hi}):", "    y[j] = rtf.fmax(y[j], 0.0)"]
        cells: list[tuple[int, int]] = []
        writes: list[str] = []
        for var in ir.vars:
            if var.kind == "lookup":
                continue
            for f in range(int(np.prod(var.shape)) if var.shape else 1):
                writes.append(f"vals[{len(cells)}] = {self.var_name(var.idx, f)}")
                cells.append((var.idx, f))
        take, commit = self.register_lines()
        src = assemble(self.header, a.n_state, len(self.table_list), slow, body + _under_stage0(take),
                       clip + commit, writes)
        check_source(src)
        rows = sorted(self.rows, key=lambda k: self.rows[k])
        return FusedPlan(source=src, n_state=a.n_state, rows=rows, tables=list(self.table_list), cells=cells)


def _under_stage0(lines: list[str]) -> list[str]:
    return ["if stage == 0:"] + ["    " + ln for ln in lines] if lines else []


def _static_order(ir: ModelIR, static: list[int]) -> list[int]:
    deps = {i: {j for k, j in refs_of(ir, i) if k == "v" and j in static} for i in static}
    order, done = [], set()

    def visit(i, stack=()):
        if i in done:
            return
        for j in sorted(deps[i]):
            if j not in stack:
                visit(j, stack + (i,))
        done.add(i)
        order.append(i)

    for i in sorted(static):
        visit(i)
    return order


def refs_of(ir: ModelIR, idx: int) -> set:
    var = next(v for v in ir.vars if v.idx == idx)
    return set().union(*(refs(p.run) for p in var.pieces)) if var.pieces else set()


def print_numba(ir: ModelIR, analysis: Analysis, header: str) -> FusedPlan:
    """The kernel plan of a validated IR (the numpy printer validated it when the model loaded)."""
    return NumbaPrinter(ir, analysis, header).plan()
