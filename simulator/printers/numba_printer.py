"""Print a model's IR as one numba kernel: a member's whole Euler/RK4 run in compiled code.

Subscripted equations become loops over their dimensions (``for i0 in range(12): v7[i0] = ...``),
so the kernel grows with the number of equations, not of cells: a model of thousands of cells
compiles in seconds. A piece whose cells cannot be addressed by a loop index (a reference to a
scattered subset of a range, a constant array that differs per cell, an :EXCEPT: hole) is unrolled
into one statement per cell. Reductions (SUM, PROD, VMIN, VMAX) become small accumulating loops
printed before the statement that uses them.

The kernel's state, stage derivatives and slow values sit in small arrays (``y``, ``x``, ``d``,
``w``); a dynamic auxiliary is a local (scalar) or an array ``v<idx>`` (subscripted). Numbers follow
the numpy printer operation for operation (same association order, same primitives, sequential
sums), so the two agree to the last bit except where numpy's vectorised pow/exp round differently
from libm's, where a ``powlog`` power (:mod:`simulator.ir.strength`) is ``exp(y * log(x))`` here and
numpy's power there (and a sum's -0.0 that an accumulator starting at 0.0 prints as 0.0).

Constants are run-time inputs (``w`` rows), never literals, so one kernel serves every parameter
set of a model structure; while a constant follows a time series the kernel recomputes it, and
every auxiliary computed from constants only, at each evaluation.

The printer dispatches on IR node classes only; :func:`~simulator.printers.numba_kernel.check_source`
verifies the text token by token before anything is compiled.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir.analysis import Analysis
from ..ir.nodes import ModelIR
from .numba_exprs import (
    ExprPrinter,
    FusedUnsupported,
    Unrollable,
    cells_of,
    flat_of,
    plus,
)
from .numba_kernel import assemble, buffer_offsets, check_source

__all__ = ["FusedPlan", "FusedUnsupported", "print_numba"]


@dataclass
class FusedPlan:
    """Kernel source and how to lay out its run-time inputs.

    rows: the kernel's slow values ``w[r]``: ("const", idx, flat) a constant's cell (a call may
        make it a time series), ("aux", idx, flat) a cell of an auxiliary computed from constants
        only, ("initial", iid, flat) an INITIAL value. A variable's cells are consecutive rows.
    tables: ("P", idx, flat or None) a lookup of the model (a call may replace it), or
        ("K", xs, ys) a table written inside an equation.
    cells: (idx, flat) every cell of every variable, in the order the kernel can save them.
    size: IR nodes printed (loops count once): what compiling the kernel costs.
    """

    source: str
    n_state: int
    rows: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    size: int = 0


def _loop(shape: tuple, names: list[str], lines: list[str]) -> list[str]:
    """``lines`` inside nested loops over ``shape`` (one loop variable per axis)."""
    out = list(lines)
    for n, name in reversed(list(zip(shape, names))):
        out = [f"for {name} in range({n}):"] + ["    " + ln for ln in out]
    return out


class NumbaPrinter(ExprPrinter):
    # ------------------------------------------------------------------ statements
    def statement(self, target, e, cell) -> list[str]:
        """``target(cell) = e`` at one (possibly symbolic) cell, reductions printed before it."""
        self._pre = []
        code = self.expr(e, cell)
        return self.take_pre() + [f"{target(cell)} = {code}"]

    def looped(self, target, e, shape) -> list[str] | None:
        """Every cell of ``shape`` as one loop, or None when a cell needs its own statement."""
        names = self.begin_statement(len(shape))
        try:
            body = self.statement(target, e, tuple(names))
        except Unrollable:
            self.drop_pre()
            return None
        return _loop(shape, names, body)

    def unrolled(self, target, e, shape) -> list[str]:
        out = []
        for c in cells_of(shape):
            out += self.statement(target, e, c)
        return out

    def var_lines(self, idx: int, mode: str = "run") -> list[str]:
        """Assignments of every cell of a variable (a local, ``v<idx>[k]`` or ``w[r]``) from its
        run-time (``mode`` "run") or initial ("init") equations."""
        var = self.vars[idx]
        size = int(np.prod(var.shape)) if var.shape else 1
        lines: list[str] = []
        covered: set[int] = set()
        for p in var.pieces:
            n = int(np.prod(p.shape)) if p.shape else 1
            offset = _affine_cells(p.cells, n)
            e = getattr(p, mode)
            if p.shape and offset is not None:
                def target(c, p=p, offset=offset):
                    return self.var_name(idx, plus(flat_of(c, p.shape), offset))
                loop = self.looped(target, e, p.shape)
                if loop is not None:
                    lines += loop
                    covered.update(range(offset, offset + n))
                    continue
            cells = list(cells_of(p.shape))
            mapping = p.cells if p.cells is not None else [(k, k) for k in range(len(cells))]
            for src, dst in mapping:
                lines += self.statement(lambda c, dst=dst: self.var_name(idx, dst), e, cells[src])
                covered.add(dst)
        lines += [f"{self.var_name(idx, f)} = np.nan" for f in range(size) if f not in covered]
        return lines

    def flow_lines(self) -> list[str]:
        out = []
        for s in self.ir.states:
            lo = self.a.offsets[s.sid][0]

            def target(c, s=s, lo=lo):
                return f"d[{plus(flat_of(c, s.shape), lo)}]"
            loop = self.looped(target, s.flow, s.shape) if s.shape else None
            out += loop if loop is not None else self.unrolled(target, s.flow, s.shape)
        return out

    def register_lines(self) -> tuple[list[str], list[str]]:
        """The registers' next values, taken at the step's start (``u``), and their commit to ``y``."""
        take, commit = [], []
        first = self.a.reg_offsets[0][0] if self.a.reg_offsets else 0
        for r, (lo, hi) in zip(self.ir.registers, self.a.reg_offsets):
            size = (hi - lo) // r.length

            def target(c, r=r, lo=lo):
                return f"u[{plus(flat_of(c, r.shape), lo - first)}]"
            loop = self.looped(target, r.update, r.shape) if r.shape else None
            take += loop if loop is not None else self.unrolled(target, r.update, r.shape)
            if hi > lo + size:
                take += [f"for j in range({lo + size}, {hi}):", f"    u[j - {first}] = x[j - {size}]"]
        if take:
            commit = [f"for j in range({first}, {self.a.n_state}):", f"    y[j] = u[j - {first}]"]
        return take, commit

    def cells_lines(self, target, e, shape) -> list[str]:
        loop = self.looped(target, e, shape) if shape else None
        return loop if loop is not None else self.unrolled(target, e, shape)

    def init_lines(self) -> list[str]:
        """The initial values, in the kernel (a prepared runner's calls skip the numpy init): every
        state and register into ``x``, INITIAL values and auxiliaries of constants into
        their ``w`` rows, dynamic auxiliaries into their locals."""
        ir, a = self.ir, self.a
        out: list[str] = []
        for kind, k in a.init_order:
            if kind == "v":
                if self.vars[k].kind not in ("const", "lookup"):
                    out += self.var_lines(k, "init")
            elif kind == "s":
                s, lo = ir.states[k], a.offsets[k][0]
                out += self.cells_lines(lambda c, s=s, lo=lo: f"x[{plus(flat_of(c, s.shape), lo)}]", s.init, s.shape)
            elif kind == "r":
                r, lo = ir.registers[k], a.reg_offsets[k][0]
                size = int(np.prod(r.shape)) if r.shape else 1
                for slot in range(r.length):
                    out += self.cells_lines(
                        lambda c, r=r, o=lo + slot * size: f"x[{plus(flat_of(c, r.shape), o)}]", r.init, r.shape)
            else:
                i = ir.initials[k]
                base = self.row_block("initial", k, int(np.prod(i.shape)) if i.shape else 1)
                out += self.cells_lines(lambda c, i=i, b=base: f"w[{plus(flat_of(c, i.shape), b)}]", i.expr, i.shape)
        return out

    def save_lines(self, buffered: dict) -> tuple[list[str], list, list[str]]:
        """Copies of every cell into ``vals``, their order, and the module's tables of (slot,
        place) pairs: ``wsave`` for the cells held in ``w`` rows (constants and auxiliaries of
        constants, a third of the flagship's cells) and ``asave`` for those of the subscripted
        dynamic auxiliaries in the buffer ``ab`` (``buffered``: idx -> offset). One loop over each
        table copies them, instead of a statement or loop each, which numba would type and lower
        one by one; the scalar dynamic auxiliaries, locals, are copied a statement each."""
        cells: list[tuple[int, int]] = []
        writes: list[str] = []
        held: list[int] = []
        inbuf: list[int] = []
        for var in self.ir.vars:
            if var.kind == "lookup":
                continue
            size = int(np.prod(var.shape)) if var.shape else 1
            base = len(cells)
            if var.kind == "const" or var.idx not in self.a.dynamic:
                row = self.row_block("const" if var.kind == "const" else "aux", var.idx, size)
                held += [v for f in range(size) for v in (base + f, row + f)]
            elif var.idx in buffered:
                inbuf += [v for f in range(size) for v in (base + f, buffered[var.idx] + f)]
            else:
                writes.append(f"vals[{base}] = {self.var_name(var.idx, 0)}")
            cells += [(var.idx, f) for f in range(size)]
        tables = []
        for name, pairs, source in (("wsave", held, "w"), ("asave", inbuf, "ab")):
            if pairs:
                writes += [f"for q in range({len(pairs) // 2}):", f"    vals[{name}[2 * q]] = {source}[{name}[2 * q + 1]]"]
                tables.append(f"{name} = np.array([{', '.join(map(str, pairs))}])")
        return writes, cells, tables

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
        take, commit = self.register_lines()
        dyn = [v for v in ir.vars if v.dims and v.kind != "const" and v.idx in a.dynamic]
        arrays = [(f"v{v.idx}", int(np.prod(v.shape))) for v in dyn]
        writes, cells, tables = self.save_lines({v.idx: lo for v, lo in zip(dyn, buffer_offsets(arrays))})
        size = self.printed  # what ``member`` costs to compile; ``initial`` compiles only when prepared
        init = self.init_lines()
        src = assemble(self.header, a.n_state, self.table_heads(), arrays, len(cells),
                       (init, slow, body + _under_stage0(take), clip + commit, writes), tables)
        check_source(src)
        rows = sorted(self.rows, key=lambda k: self.rows[k])
        return FusedPlan(source=src, n_state=a.n_state, rows=rows, tables=list(self.table_list), cells=cells,
                         size=size)


def _affine_cells(pairs, n: int) -> int | None:
    """The first variable cell when a piece fills consecutive cells in order, else None."""
    if pairs is None:
        return 0
    if len(pairs) != n or not pairs:
        return None
    d0 = pairs[0][1]
    return d0 if all(src == k and dst == d0 + k for k, (src, dst) in enumerate(pairs)) else None


def _under_stage0(lines: list[str]) -> list[str]:
    return ["if stage == 0:"] + ["    " + ln for ln in lines] if lines else []


def _static_order(ir: ModelIR, static: list[int]) -> list[int]:
    from ..ir.analysis import refs

    by_idx = {v.idx: v for v in ir.vars}

    def refs_of(i):
        var = by_idx[i]
        return set().union(*(refs(p.run) for p in var.pieces)) if var.pieces else set()

    deps = {i: {j for k, j in refs_of(i) if k == "v" and j in static} for i in static}
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


def print_numba(ir: ModelIR, analysis: Analysis, header: str) -> FusedPlan:
    """The kernel plan of a validated IR (the numpy printer validated it when the model loaded)."""
    return NumbaPrinter(ir, analysis, header).plan()
