"""One check of the IR before any code is printed from it.

The printers turn IR into python source; this validator guarantees that what they read is what
they expect: every node of a known class, every operator from the fixed sets, every number a
float, every index inside the variable or context it points into, every state, table and site
that is referenced defined. Model names never reach a printer, so with this check no text of a
model file can reach generated code.
"""
from __future__ import annotations

import math

from ..errors import ModelLoadError
from .nodes import (
    BINARY,
    LOOKUP_MODES,
    NOISE_KINDS,
    REDUCERS,
    UNARY,
    VAR_KINDS,
    VECTOR_OPS,
    Allocate,
    Axis,
    AxisValue,
    Binary,
    Bound,
    ByClock,
    Cells,
    DiscreteRef,
    Expr,
    Fixed,
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
    Var,
    Vector,
)

SWITCH_KINDS = frozenset({"step", "ramp", "pulse", "pulse_train"})


class IRError(ModelLoadError):
    """The lowered model is inconsistent (an engine bug, not a model error)."""


def validate(ir: ModelIR) -> None:
    """Raise :class:`IRError` naming the first inconsistency."""
    v = _Validator(ir)
    for var in ir.vars:
        v.var(var)
    for s in ir.states:
        where = f"state {s.sid}"
        v.shape(s.shape, where)
        v.expr(s.flow, s.shape, where)
        v.expr(s.init, s.shape, where)
    for r in ir.registers:
        where = f"register {r.rid}"
        v.shape(r.shape, where)
        v.check(isinstance(r.length, int) and r.length >= 1, f"{where}: length")
        v.expr(r.init, r.shape, where)
        v.expr(r.update, r.shape, where)
    for i in ir.initials:
        v.shape(i.shape, f"initial {i.iid}")
        v.expr(i.expr, i.shape, f"initial {i.iid}")
    for k, sw in enumerate(ir.switches):
        v.check(sw.kind in SWITCH_KINDS, f"switch site {k}: kind {sw.kind!r}")
        for a in sw.args:
            v.expr(a, sw.shape, f"switch site {k}")
    for n in ir.noises:
        v.check(n.kind in NOISE_KINDS and isinstance(n.site, int), f"noise site {n.site}")
        v.shape(n.shape, f"noise site {n.site}")
    for k, t in enumerate(ir.tables):
        v.table(t, f"table {k}")
    for idx, tabs in ir.lookup_tables.items():
        lvar = v.vars.get(idx)
        v.check(lvar is not None and len(tabs) == _size(lvar.shape),
                f"lookup tables of variable {idx}")
        for t in tabs:
            v.table(t, f"lookup {idx}")


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


class _Validator:
    def __init__(self, ir: ModelIR):
        self.ir = ir
        self.vars = {var.idx: var for var in ir.vars}
        self.states = {s.sid: s for s in ir.states}
        self.initials = {i.iid: i for i in ir.initials}
        self.registers = {r.rid: r for r in ir.registers}
        self.lets = 0
        self.sites = {n.site: n for n in ir.noises}
        if len(self.vars) != len(ir.vars):
            raise IRError(f"{ir.path}: internal: two variables share an index")

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise IRError(f"{self.ir.path}: internal error in the lowered model: {what}")

    def shape(self, shape, where: str) -> None:
        self.check(isinstance(shape, tuple) and all(isinstance(n, int) and n >= 1 for n in shape),
                   f"{where}: shape {shape!r}")

    def table(self, t, where: str) -> None:
        self.check(len(t.x) == len(t.y) >= 1 and all(isinstance(x, float) for x in t.x + t.y), where)

    def var(self, var: Var) -> None:
        where = f"variable {var.idx}"
        self.check(var.kind in VAR_KINDS and len(var.dims) == len(var.shape), where)
        self.shape(var.shape, where)
        self.check((var.kind == "aux") == bool(var.pieces), f"{where}: pieces of a {var.kind}")
        size = _size(var.shape)
        for p in var.pieces:
            self.shape(p.shape, where)
            if p.cells is None:
                self.check(p.shape == var.shape, f"{where}: a whole-variable piece of another shape")
            else:
                n = _size(p.shape)
                self.check(all(0 <= a < n and 0 <= b < size for a, b in p.cells), f"{where}: piece cells")
            self.expr(p.run, p.shape, where)
            self.expr(p.init, p.shape, where)

    def index(self, index, var, ctx, where: str) -> None:
        self.check(len(index) == len(var.dims), f"{where}: {len(index)} subscripts for {len(var.dims)} dims")
        for ix, n in zip(index, var.shape):
            if isinstance(ix, Fixed):
                self.check(isinstance(ix.element, int) and 0 <= ix.element < n, f"{where}: element")
            else:
                self.check(isinstance(ix, Axis) and 0 <= ix.axis < len(ctx)
                           and len(ix.elements) == ctx[ix.axis]
                           and all(isinstance(e, int) and 0 <= e < n for e in ix.elements), f"{where}: axis map")

    def expr(self, e: Expr, ctx: tuple, where: str) -> None:
        if isinstance(e, Num):
            self.check(isinstance(e.value, float), f"{where}: number {e.value!r}")
        elif isinstance(e, Cells):
            self.check(len(e.values) == _size(e.shape) and all(isinstance(x, float) for x in e.values)
                       and _broadcasts(e.shape, ctx), f"{where}: array constant")
        elif isinstance(e, AxisValue):
            self.check(0 <= e.axis < len(ctx) and len(e.values) == ctx[e.axis]
                       and all(isinstance(x, float) and math.isfinite(x) for x in e.values), f"{where}: axis value")
        elif isinstance(e, (Time, TimeStep, SwitchTime)):
            pass
        elif isinstance(e, ByClock):
            self.expr(e.fixed, ctx, where)
            self.expr(e.adaptive, ctx, where)
        elif isinstance(e, Ref):
            var = self.vars.get(e.var)
            self.check(var is not None and var.kind != "lookup", f"{where}: reference to variable {e.var}")
            self.index(e.index, var, ctx, where)
        elif isinstance(e, StateRef):
            s = self.states.get(e.state)
            self.check(s is not None and s.shape == ctx, f"{where}: state {e.state} in a context of {ctx}")
        elif isinstance(e, DiscreteRef):
            r = self.registers.get(e.register)
            self.check(r is not None and r.shape == ctx and 0 <= e.slot < r.length,
                       f"{where}: register {e.register} slot {e.slot}")
        elif isinstance(e, InitialRef):
            i = self.initials.get(e.initial)
            self.check(i is not None and i.shape == ctx, f"{where}: initial {e.initial}")
        elif isinstance(e, Unary):
            self.check(e.op in UNARY, f"{where}: operator {e.op!r}")
            self.expr(e.arg, ctx, where)
        elif isinstance(e, Binary):
            self.check(e.op in BINARY, f"{where}: operator {e.op!r}")
            self.expr(e.left, ctx, where)
            self.expr(e.right, ctx, where)
        elif isinstance(e, If):
            for part in (e.cond, e.then, e.other):
                self.expr(part, ctx, where)
        elif isinstance(e, Let):
            self.expr(e.value, ctx, where)
            self.lets += 1
            self.expr(e.body, ctx, where)
            self.lets -= 1
        elif isinstance(e, Bound):
            self.check(self.lets > 0, f"{where}: a bound value outside its Let")
        elif isinstance(e, Lookup):
            self.check(e.mode in LOOKUP_MODES, f"{where}: lookup mode {e.mode!r}")
            kind, k = e.source
            if kind == "var":
                var = self.vars.get(k)
                self.check(var is not None and k in self.ir.lookup_tables, f"{where}: lookup variable {k}")
                self.index(e.index, var, ctx, where)
            else:
                self.check(kind == "inline" and 0 <= k < len(self.ir.tables) and not e.index, f"{where}: table {k}")
            self.expr(e.x, ctx, where)
        elif isinstance(e, Reduce):
            self.check(e.op in REDUCERS and all(isinstance(n, int) and n >= 1 for n in e.sizes),
                       f"{where}: reduction")
            self.expr(e.arg, ctx + e.sizes, where)
        elif isinstance(e, Vector):
            self.check(e.op in VECTOR_OPS and 0 <= e.axis < len(ctx) and (e.order is None) == (e.op != "reorder"),
                       f"{where}: vector function")
            self.expr(e.arg, ctx, where)
            if e.order is not None:
                self.expr(e.order, ctx, where)
        elif isinstance(e, Allocate):
            self.check(isinstance(e.axis, int) and 0 <= e.axis < len(ctx), f"{where}: allocation axis")
            for arg in (e.request, e.priority, e.width, e.supply):
                self.expr(arg, ctx, where)
        elif isinstance(e, Noise):
            n = self.sites.get(e.site)
            self.check(n is not None and n.shape == ctx, f"{where}: noise site {e.site}")
        else:
            self.check(False, f"{where}: unknown node {type(e).__name__}")


def _broadcasts(shape: tuple, ctx: tuple) -> bool:
    if len(shape) > len(ctx):
        return False
    return all(a in (1, b) for a, b in zip(shape[::-1], ctx[::-1]))
