"""Print a model's IR as vectorised numpy functions (every array: subscript axes, then members).

The product, :class:`Program`, holds four generated functions and the data they need:

* ``init(P, t, C, M) -> (y, S)``: every value at the initial time; ``S`` keeps what does not
  change during the run (static variables, INITIAL values, noise);
* ``rhs(t, y, P, S, C) -> dy``: derivatives of the state array ``y`` (n_state, members);
* ``values(t, y, P, S, C) -> dict``: every variable at one time, for output;
* ``switches(P, S, C, t_end) -> list``: switch times of STEP/RAMP/PULSE with run-constant
  arguments, where adaptive solvers restart;
* ``update(t, y, P, S, C) -> rows``: the registers' next values (DELAY FIXED, SAMPLE IF TRUE),
  taken once per fixed step (None when the model has no register).

The printer dispatches on IR node classes only. The source holds engine-made names (``v12``,
``st3``, ``_k7``, ``rt.reduce``) and nothing else: numbers are constants of the namespace.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import runtime as rt
from ..ir.analysis import Analysis, analyse, walk
from ..ir.nodes import (
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
    Vector,
)
from ..ir.strength import reduce_strength
from ..ir.validate import validate
from .chains import flat_chain

INITIAL_SLOT = 2_000_000  # S keys of INITIAL values; variables use their index, noise its site
UNARY_CODE = {"abs": "np.abs", "exp": "np.exp", "ln": "np.log", "sqrt": "np.sqrt", "sin": "np.sin",
              "cos": "np.cos", "tan": "np.tan", "arcsin": "np.arcsin", "arccos": "np.arccos",
              "arctan": "np.arctan", "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh",
              "trunc": "np.trunc", "not": "np.logical_not"}
INFIX = {"+", "-", "*", "/", "**", "==", "!=", "<", "<=", ">", ">="}
CALLS = {"and": "np.logical_and", "or": "np.logical_or", "min": "np.minimum", "max": "np.maximum",
         "mod": "np.mod"}
LOGICAL = {"==", "!=", "<", "<=", ">", ">=", "and", "or"}
REDUCE_FN = {"sum": "np.sum", "prod": "np.prod", "min": "np.min", "max": "np.max"}
LOOKUP_FN = {"interpolate": "rt.lookup", "extrapolate": "rt.lookup_extrapolate",
             "forward": "rt.lookup_forward", "backward": "rt.lookup_backward", "raw": "rt.lookup_raw"}


@dataclass
class Program:
    """A printed model variant: its IR, the facts about it and the generated functions."""

    ir: ModelIR
    analysis: Analysis
    init: Any
    rhs: Any
    values: Any
    switches: Any
    update: Any
    source_text: str
    defaults: dict = field(default_factory=dict)  # var idx -> default parameter value (P entry)

    @property
    def n_state(self) -> int:
        return self.analysis.n_state

    @property
    def na_vars(self) -> frozenset:
        return self.analysis.na_vars

    @property
    def strict_rows(self) -> np.ndarray:
        return self.analysis.strict_rows


def is_logical(e: Expr) -> bool:
    return (isinstance(e, Binary) and e.op in LOGICAL) or (isinstance(e, Unary) and e.op == "not")


class NumpyPrinter:
    def __init__(self, ir: ModelIR, analysis: Analysis):
        self.ir = ir
        self.a = analysis
        self.vars = {v.idx: v for v in ir.vars}
        self.ns: dict[str, object] = {"np": np, "rt": rt}
        self._consts: dict[object, str] = {}
        self._lets: list[list] = []  # [name, value code, bound yet] of the enclosing Let nodes
        self._nlets = 0

    # ------------------------------------------------------------------ constants
    def const(self, value, key=None) -> str:
        if key is not None and key in self._consts:
            return self._consts[key]
        name = f"_k{len(self.ns) - 2}"
        self.ns[name] = value
        if key is not None:
            self._consts[key] = name
        return name

    def number(self, x: float) -> str:
        # numpy scalars: 1/0 in a constant expression gives inf (IEEE), never ZeroDivisionError
        return self.const(np.float64(x), key=("n", struct.pack("<d", x)))

    # ------------------------------------------------------------------ expressions
    def expr(self, e: Expr, ctx: tuple[int, ...], as_bool: bool = False) -> str:
        code = self._expr(e, ctx)
        if is_logical(e) and not as_bool:
            return f"({code} * 1.0)"  # numbers, not booleans: True + True is 2 in Vensim
        return code

    def _expr(self, e: Expr, ctx: tuple[int, ...]) -> str:
        if isinstance(e, Num):
            return self.number(e.value)
        if isinstance(e, Cells):
            arr = np.asarray(e.values, dtype=float).reshape(e.shape)
            return self.const(arr[..., None])
        if isinstance(e, AxisValue):
            shp = [1] * (len(ctx) + 1)
            shp[e.axis] = len(e.values)
            return self.const(np.asarray(e.values, dtype=float).reshape(shp))
        if isinstance(e, Time):
            return "t"
        if isinstance(e, TimeStep):
            return "C.dt"
        if isinstance(e, SwitchTime):
            return "C.tc(t)"
        if isinstance(e, ByClock):
            return f"({self.expr(e.fixed, ctx)} if C.fixed else {self.expr(e.adaptive, ctx)})"
        if isinstance(e, Ref):
            return self.indexed(f"v{e.var}", self.vars[e.var].shape, e.index, ctx)
        if isinstance(e, StateRef):
            return f"st{e.state}"
        if isinstance(e, DiscreteRef):
            return f"reg{e.register}[{e.slot}]"
        if isinstance(e, InitialRef):
            return f"ini{e.initial}"
        if isinstance(e, Unary):
            if e.op == "neg":
                return f"(-{self.expr(e.arg, ctx)})"
            return f"{UNARY_CODE[e.op]}({self.expr(e.arg, ctx, as_bool=e.op == 'not')})"
        if isinstance(e, Binary):
            flat = flat_chain(e, lambda x: self.expr(x, ctx))
            if flat is not None:
                return flat
            logic = e.op in ("and", "or")
            a, b = self.expr(e.left, ctx, as_bool=logic), self.expr(e.right, ctx, as_bool=logic)
            if e.op in INFIX:
                return f"({a} {e.op} {b})"
            if e.op == "powlog":  # numpy's vectorised power is faster than its exp and log
                return f"({a} ** {b})"
            return f"{CALLS[e.op]}({a}, {b})"
        if isinstance(e, If):
            return f"np.where({self.expr(e.cond, ctx, as_bool=True)}, {self.expr(e.then, ctx)}, " \
                   f"{self.expr(e.other, ctx)})"
        if isinstance(e, Let):
            self._nlets += 1
            self._lets.append([f"_b{self._nlets}", self.expr(e.value, ctx), False])
            try:
                return self.expr(e.body, ctx)
            finally:
                self._lets.pop()
        if isinstance(e, Bound):
            let = self._lets[-1]
            if let[2]:
                return let[0]
            let[2] = True  # the first use, in evaluation order, computes the value once
            return f"({let[0]} := {let[1]})"
        if isinstance(e, Lookup):
            return self.lookup(e, ctx)
        if isinstance(e, Reduce):
            arg = self.expr(e.arg, ctx + e.sizes)
            return f"rt.reduce({REDUCE_FN[e.op]}, {arg}, {len(ctx)}, {e.sizes!r})"
        if isinstance(e, Vector):
            full = f"rt.full({self.expr(e.arg, ctx)}, {ctx!r})"
            if e.order is not None:
                return f"rt.vector_reorder({full}, rt.full({self.expr(e.order, ctx)}, {ctx!r}), {e.axis})"
            return f"rt.vector_{e.op}({full}, {e.axis}, {e.descending!r})"
        if isinstance(e, Allocate):
            args = ", ".join(f"rt.full({self.expr(x, ctx)}, {ctx!r})" for x in (e.request, e.priority, e.width, e.supply))
            return f"rt.allocate_by_priority({args}, {e.axis})"
        if isinstance(e, Noise):
            return f"rt.noise(t, C, S[{e.site}])"
        raise TypeError(f"internal: no numpy printing for {type(e).__name__}")

    def indexed(self, base: str, shape: tuple[int, ...], index, ctx: tuple[int, ...]) -> str:
        """``base`` (an array of ``shape`` + members) read at the cells ``index`` gives in ``ctx``."""
        if not index:
            return base
        n = len(ctx)
        if all(isinstance(i, Axis) for i in index):
            js = [i.axis for i in index]
            identity = all(i.elements == tuple(range(d)) for i, d in zip(index, shape))
            if identity and js == list(range(n - len(js), n)):
                return base  # numpy broadcasting aligns the trailing axes
        parts: list[object] = []
        for i in index:
            if isinstance(i, Fixed):
                parts.append(i.element)
            else:
                shp = [1] * n
                shp[i.axis] = len(i.elements)
                parts.append(np.asarray(i.elements, dtype=np.intp).reshape(shp))
        return f"{base}[{self.const(tuple(parts))}]"

    def lookup(self, e: Lookup, ctx) -> str:
        x = self.expr(e.x, ctx)
        fn = LOOKUP_FN[e.mode]
        kind, k = e.source
        if kind == "inline":
            t = self.ir.tables[k]
            tab = self.const((np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float)))
            return f"{fn}({x}, {tab})"
        var = self.vars[k]
        if not var.dims:
            return f"{fn}({x}, P[{k}])"
        tid = np.arange(int(np.prod(var.shape))).reshape(var.shape + (1,))
        return f"rt.lookup_many({fn}, {x}, P[{k}], {self.indexed(self.const(tid), var.shape, e.index, ctx)})"

    # ------------------------------------------------------------------ statements
    def var_lines(self, idx: int, mode: str) -> list[str]:
        var = self.vars[idx]
        if var.series:
            return [f"v{idx} = rt.overridden(t, P[{idx}])"]
        if var.kind == "const":
            return [f"v{idx} = P[{idx}]"]
        pieces = var.pieces
        if len(pieces) == 1 and pieces[0].cells is None:
            code = self.expr(getattr(pieces[0], mode), pieces[0].shape)
            return [f"v{idx} = rt.full({code}, {var.shape!r})" if var.dims else f"v{idx} = {code}"]
        lines, names = [], []
        for k, p in enumerate(pieces):
            lines.append(f"_c{k} = {self.expr(getattr(p, mode), p.shape)}")
            names.append(f"_c{k}")
        size = int(np.prod(var.shape))
        lines.append(f"v{idx} = np.full(({size}, rt.members({', '.join(names)})), np.nan)")
        for k, p in enumerate(pieces):
            cells = p.cells if p.cells is not None else tuple((c, c) for c in range(size))
            src = self.const(np.asarray([c[0] for c in cells], dtype=np.intp))
            dst = self.const(np.asarray([c[1] for c in cells], dtype=np.intp))
            n = int(np.prod(p.shape))
            lines.append(f"v{idx}[{dst}] = rt.full(_c{k}, {p.shape!r}).reshape({n}, -1)[{src}]")
        lines.append(f"v{idx} = v{idx}.reshape({var.shape!r} + (v{idx}.shape[-1],))")
        return lines

    def program(self, defaults: dict) -> Program:
        a, ir = self.a, self.ir
        L = ["def _init(P, t, C, M):", "    S = {}"]
        for n in ir.noises:
            L.append(f"    S[{n.site}] = rt.make_noise(C, {n.kind!r}, {n.shape!r}, M, {n.site})")
        for kind, k in a.init_order:
            if kind == "v":
                L += ["    " + ln for ln in self.var_lines(k, "init")] + [f"    S[{k}] = v{k}"]
            elif kind == "s":
                s = ir.states[k]
                L.append(f"    st{k} = rt.full({self.expr(s.init, s.shape)}, {s.shape!r})")
            elif kind == "r":
                r = ir.registers[k]
                L += [f"    reg{k} = rt.full({self.expr(r.init, r.shape)}, {r.shape!r})",
                      f"    reg{k} = np.broadcast_to(reg{k}[None], ({r.length},) + reg{k}.shape)"]
            else:
                i = ir.initials[k]
                L += [f"    ini{k} = {self.expr(i.expr, i.shape)}", f"    S[{INITIAL_SLOT + k}] = ini{k}"]
        L.append(f"    y = np.empty(({a.n_state}, M))")
        for s, (lo, hi) in zip(ir.states, a.offsets):
            L.append(f"    y[{lo}:{hi}] = np.broadcast_to(st{s.sid}, {s.shape!r} + (M,)).reshape({hi - lo}, M)")
        for r, (lo, hi) in zip(ir.registers, a.reg_offsets):
            shp = (r.length,) + r.shape
            L.append(f"    y[{lo}:{hi}] = np.broadcast_to(reg{r.rid}, {shp!r} + (M,)).reshape({hi - lo}, M)")
        L.append("    return y, S")
        body = []
        for s, (lo, hi) in zip(ir.states, a.offsets):
            body.append(f"    st{s.sid} = y[{lo}:{hi}].reshape({s.shape!r} + (y.shape[1],))" if s.shape
                        else f"    st{s.sid} = y[{lo}]")
        for r, (lo, hi) in zip(ir.registers, a.reg_offsets):
            body.append(f"    reg{r.rid} = y[{lo}:{hi}].reshape({(r.length,) + r.shape!r} + (y.shape[1],))")
        body += [f"    v{i} = S[{i}]" for i in a.run_statics]
        body += [f"    ini{i.iid} = S[{INITIAL_SLOT + i.iid}]" for i in ir.initials]
        for idx in a.run_order:
            body += ["    " + ln for ln in self.var_lines(idx, "run")]
        L += ["def _rhs(t, y, P, S, C):"] + body + ["    dy = np.empty_like(y)"]
        for s, (lo, hi) in zip(ir.states, a.offsets):
            flow = self.expr(s.flow, s.shape)
            L.append(f"    dy[{lo}:{hi}].reshape({s.shape!r} + (y.shape[1],))[...] = {flow}" if s.shape
                     else f"    dy[{lo}] = {flow}")
        if ir.registers:
            L.append(f"    dy[{a.reg_offsets[0][0]}:] = 0.0")
        L.append("    return dy")
        if ir.registers:
            first = a.reg_offsets[0][0]
            L += ["def _update(t, y, P, S, C):"] + body + [f"    u = np.empty(({a.n_state - first}, y.shape[1]))"]
            for r, (lo, hi) in zip(ir.registers, a.reg_offsets):
                size = (hi - lo) // r.length
                L.append(f"    u[{lo - first}:{lo - first + size}].reshape({r.shape!r} + (y.shape[1],))[...] = "
                         f"{self.expr(r.update, r.shape)}")
                if r.length > 1:  # every other slot takes its neighbour's old value
                    L.append(f"    u[{lo - first + size}:{hi - first}] = y[{lo}:{hi - size}]")
            L.append("    return u")
        out = [f"{v.idx}: v{v.idx}" if v.idx in a.dynamic else f"{v.idx}: S[{v.idx}]"
               for v in ir.vars if v.kind != "lookup"]
        L += ["def _values(t, y, P, S, C):"] + body + ["    return {" + ", ".join(out) + "}"]
        L += ["def _switches(P, S, C, t_end):", "    out = []"]
        for site in ir.switches:
            if any(isinstance(x, (Time, SwitchTime, StateRef, Noise, InitialRef)) for arg in site.args
                   for x in walk(arg)):
                continue
            reads = {x.var for arg in site.args for x in walk(arg) if isinstance(x, Ref)}
            if reads & a.dynamic:
                continue
            L += [f"    v{i} = S[{i}]" for i in sorted(reads)]
            args = ", ".join(self.expr(x, site.shape) for x in site.args)
            L.append(f"    out += rt.site_times({site.kind!r}, t_end, {args})")
        L.append("    return out")
        src = "\n".join(L) + "\n"
        ns = dict(self.ns)
        # the text is engine-made: identifiers of this printer and namespace constants only
        exec(compile(src, "<innosim numpy program>", "exec"), ns)  # noqa: S102
        return Program(ir=ir, analysis=a, init=ns["_init"], rhs=ns["_rhs"], values=ns["_values"],
                       switches=ns["_switches"], update=ns.get("_update"), source_text=src, defaults=defaults)


def parameter_defaults(ir: ModelIR) -> dict:
    """The parameter dict of a run before overrides: constants' values and lookups' tables."""
    out: dict = dict(ir.defaults)
    for idx, tabs in ir.lookup_tables.items():
        pairs = [(np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float)) for t in tabs]
        out[idx] = pairs[0] if not next(v for v in ir.vars if v.idx == idx).dims else pairs
    return out


def print_numpy(ir: ModelIR, *, reduce: bool | None = None) -> Program:
    """Strength-reduce (:mod:`simulator.ir.strength`; ``reduce`` None follows the environment),
    validate, analyse and print ``ir``. The program's IR is the reduced one, which the numba
    printer prints in turn."""
    ir = reduce_strength(ir, enabled=reduce)
    validate(ir)
    return NumpyPrinter(ir, analyse(ir)).program(parameter_defaults(ir))
