"""Second code generator: one ensemble member's whole Euler/RK4 loop as scalar numba code.

It reads the same compiled representation as the numpy generator (the :class:`Compiler` that
made a :class:`Program`: syntax trees, variables, statefuls, state layout) and unrolls every
subscripted value into one scalar per cell. The kernel ``member`` runs one ensemble member from
the initial state to FINAL TIME: its state, stage derivatives and constants sit in small arrays
(``y``, ``d``, ``w``), its auxiliaries in locals, and it writes the requested outputs at the save
times. Numbers follow the numpy path operation for operation (same association order, same
tolerances, sequential sums); see :mod:`simulator.fused_rt`.

Constants are run-time inputs (``w``), never literals, so one kernel serves every parameter set
of a model structure, per-member arrays and time series included: while a constant follows a
time series, the kernel re-evaluates it, and every auxiliary computed from constants only, at
each evaluation, which is what the numpy path's "series" variant does.

As in :mod:`simulator.codegen`, only engine-made identifiers (``v12_3``, ``y7``, ``rtf.interp``)
and numbers that went through ``float()``/``int()`` reach the source; :func:`check_source`
verifies that token by token before anything is compiled.
"""
from __future__ import annotations

import io
import itertools
import re
import tokenize
from dataclasses import dataclass, field

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from .codegen import (
    ARITH,
    COMPARE,
    ELEMENTWISE,
    LOOKUP_CALLS,
    REDUCERS,
    UNSUPPORTED_STRUCTURES,
    Context,
)
from .names import normalize

CHUNK = 16  # members per output buffer in the parallel driver


class FusedUnsupported(Exception):
    """The model (variant) uses something the fused backend does not generate; ``str`` says what."""


@dataclass
class CellContext(Context):
    """An expression context at one cell: ``cell[j]`` indexes the elements of ``axes[j]``."""

    cell: tuple = ()


@dataclass
class FusedPlan:
    """Generated kernel source and how to lay out its run-time inputs.

    rows: the kernel's slow values ``w[r]``: ("const", idx, flat) a constant's cell (a call may
        make it a time series), ("aux", idx, flat) a cell of an auxiliary computed from constants
        only (recomputed every step while a time series is active), ("slot", slot, flat) an
        INITIAL value.
    tables: ("P", idx, flat or None) a lookup of the model (the call may replace it), or
        ("K", xs, ys) a table written inside an equation.
    cells: (idx, flat) every cell of every variable, in the order the kernel can save them.
    """

    source: str
    n_state: int
    rows: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    cells: list = field(default_factory=list)


ELEMENTWISE_SCALAR = {
    "abs": "abs", "exp": "np.exp", "sqrt": "np.sqrt", "ln": "np.log", "sin": "np.sin", "cos": "np.cos",
    "tan": "np.tan", "arcsin": "np.arcsin", "arccos": "np.arccos", "arctan": "np.arctan",
    "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh", "min": "rtf.fmin", "max": "rtf.fmax",
    "integer": "np.trunc", "quantum": "rtf.quantum", "modulo": "rtf.modulo", "xidz": "rtf.xidz",
    "zidz": "rtf.zidz",
}
LOOKUP_FUNCS = {"interpolate": "rtf.interp", "extrapolate": "rtf.extrapolate",
                "hold_backward": "rtf.hold_backward", "look_forward": "rtf.look_forward"}


def _flat(cell, shape) -> int:
    return int(np.ravel_multi_index(cell, shape)) if shape else 0


def _cells(shape):
    return itertools.product(*[range(n) for n in shape])


def _toposort(code: dict, deps: dict) -> list:
    """Nodes of ``code`` after the nodes they depend on; ties broken by sorting (deterministic)."""
    order, seen = [], set()
    for root in sorted(code):
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(sorted(deps.get(root, ()))))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                order.append(node)
            elif nxt in code and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(sorted(deps.get(nxt, ())))))
    return order


class ScalarCodegen:
    """Builds a :class:`FusedPlan` from a compiled program and the compiler that made it."""

    def __init__(self, compiler, program, header: str):
        self.c = compiler
        self.prog = program
        self.header = header
        self.by_idx = {v.idx: v for v in compiler.vars.values()}
        self.rows: dict = {}
        self.tables: dict = {}
        self.table_list: list = []
        self.deps: set = set()  # auxiliaries read by the equation being generated
        self.current = None  # the variable whose equation is being generated

    # ------------------------------------------------------------------ naming
    def row(self, key) -> str:
        if key not in self.rows:
            self.rows[key] = len(self.rows)
        return f"w[{self.rows[key]}]"

    def var_name(self, var, flat: int) -> str:
        """How the kernel reads a cell of a variable: a local (dynamic) or a slow value ``w[r]``."""
        if var.kind == "const":
            return self.row(("const", var.idx, flat))
        if var.static:
            self.deps.add(("v", var.idx))
            return self.row(("aux", var.idx, flat))
        self.deps.add(("v", var.idx))
        return f"v{var.idx}" if not var.dims else f"v{var.idx}_{flat}"

    def stateful_name(self, st, flat: int) -> str:
        if st.kind == "initial":
            return self.row(("slot", st.code["slot"], flat))
        self.deps.add(("s", st.sid))
        return f"s{st.sid}" if not st.shape else f"s{st.sid}_{flat}"

    def table(self, key) -> int:
        tk = key if key[0] == "P" else ("K", id(key[1]))
        if tk not in self.tables:
            self.tables[tk] = len(self.table_list)
            self.table_list.append(key)
        return self.tables[tk]

    # ------------------------------------------------------------------ expressions
    def expr(self, node, ctx: CellContext) -> str:
        if isinstance(node, (bool, np.bool_)):
            return self.number(float(node))
        if isinstance(node, (int, float, np.integer, np.floating)):
            return self.number(node)
        if isinstance(node, np.ndarray):
            return self.array_literal(node, ctx)
        kind = type(node).__name__
        if kind in UNSUPPORTED_STRUCTURES:
            raise FusedUnsupported(UNSUPPORTED_STRUCTURES[kind])
        handler = getattr(self, "_" + kind, None)
        if handler is None:
            raise FusedUnsupported(kind)
        return handler(node, ctx)

    @staticmethod
    def number(x) -> str:
        v = float(x)
        if np.isnan(v):
            return "np.nan"
        if np.isinf(v):
            return "np.inf" if v > 0 else "(-np.inf)"
        return f"({v!r})"

    def array_literal(self, arr, ctx: CellContext) -> str:
        arr = np.asarray(arr, dtype=float)
        shape = tuple(len(a[1]) for a in ctx.axes)
        if arr.size == int(np.prod(shape)) and arr.shape != shape:
            arr = arr.reshape(shape)
        try:
            full = np.broadcast_to(arr[..., None], shape + (1,))
        except ValueError:
            raise FusedUnsupported("an array constant that does not fit its equation") from None
        return self.number(full[tuple(ctx.cell) + (0,)])

    def power(self, base_code: str, exp_node, exp_code: str) -> str:
        # numpy turns an array to the power of these literals into square/sqrt/reciprocal
        if isinstance(exp_node, (int, float, np.integer, np.floating)) and not isinstance(exp_node, bool):
            e = float(exp_node)
            if e == 2.0:
                return f"rtf.square({base_code})"
            if e == 0.5:
                return f"np.sqrt({base_code})"
            if e == 1.0:
                return base_code
            if e == -1.0:
                return f"(1.0 / {base_code})"
        return f"({base_code} ** {exp_code})"

    def _ArithmeticStructure(self, node, ctx):
        ops, args = list(node.operators), list(node.arguments)
        if len(ops) == 1 and len(args) == 1:
            if ops[0] == "negative":
                return f"(-{self.expr(args[0], ctx)})"
            if ops[0] == "positive":
                return self.expr(args[0], ctx)
        if ops and ops[0] == "negative" and len(args) == len(ops):
            code = f"(-{self.expr(args[0], ctx)})"
            ops, args = ops[1:], args[1:]
        else:
            code = self.expr(args[0], ctx)
            args = args[1:]
        if ops == ["^"] and isinstance(node.arguments[0], (int, float, np.integer, np.floating)) \
                and float(node.arguments[0]) < 0:
            # as in codegen: "- 30 ^ x" is -(30 ^ x) in Vensim
            return f"(-({self.number(-float(node.arguments[0]))} ** {self.expr(args[0], ctx)}))"
        if ops == ["^"]:
            return self.power(code, node.arguments[-1], self.expr(args[0], ctx))
        # the numpy path's text "(a op b op c)": numba applies python's precedence and
        # associativity to it as python does (** binds tighter and to the right)
        parts = [code]
        for op, a in zip(ops, args):
            if op not in ARITH:
                raise FusedUnsupported(f"operator {op!r}")
            parts += [ARITH[op], self.expr(a, ctx)]
        return "(" + " ".join(parts) + ")"

    def _LogicStructure(self, node, ctx):
        ops, args = list(node.operators), list(node.arguments)
        if ops == [":NOT:"]:
            return f"(1.0 if {self.expr(args[0], ctx)} == 0.0 else 0.0)"
        if len(ops) == 1 and ops[0] in COMPARE:
            return f"(1.0 if {self.expr(args[0], ctx)} {COMPARE[ops[0]]} {self.expr(args[1], ctx)} else 0.0)"
        if all(o in (":AND:", ":OR:") for o in ops):
            groups, cur = [], [self.expr(args[0], ctx)]
            for op, a in zip(ops, args[1:]):
                if op == ":AND:":
                    cur.append(self.expr(a, ctx))
                else:
                    groups.append(cur)
                    cur = [self.expr(a, ctx)]
            groups.append(cur)
            terms = ["(" + " and ".join(f"{g} != 0.0" for g in grp) + ")" for grp in groups]
            return f"(1.0 if {' or '.join(terms)} else 0.0)"
        raise FusedUnsupported(f"logical operators {ops}")

    def _ReferenceStructure(self, node, ctx):
        key = normalize(node.reference)
        subs = node.subscripts.subscripts if node.subscripts is not None else None
        m = self.c
        if key == "time":
            return "tt"
        if key == "pi" and key not in m.vars:
            return self.number(np.pi)
        if key not in m.vars and m.space.is_range(key):
            j, els = m._match_axis(key, ctx, set())
            return self.number(m._position(els[ctx.cell[j]]))
        if key not in m.vars and m.space.is_element(key):
            return self.number(m._position(key))
        var = m.lookup_var(key, ctx)
        return self.var_name(var, self.cell_of(var, subs, ctx))

    def cell_of(self, var, subs, ctx: CellContext) -> int:
        """Flat index of the cell of ``var`` that ``ctx``'s current cell refers to."""
        if not var.dims:
            return 0
        cell = []
        for p in self.c._positions(var, subs, ctx):
            cell.append(p[1] if p[0] == "fixed" else p[2][ctx.cell[p[1]]])
        return _flat(tuple(cell), var.shape)

    def _CallStructure(self, node, ctx):
        fname = normalize(node.function.reference) if isinstance(node.function, ae.ReferenceStructure) else ""
        args = list(node.arguments)
        var = self.c.vars.get(fname)
        if var is not None and var.kind == "lookup":
            return self.lookup_call(var, node.function.subscripts, args[0], "interpolate", ctx)
        if fname in ("min", "max") and len(args) == 1:
            return self.reduce_call("v" + fname, args[0], ctx)
        if fname == "if_then_else":
            c, a, b = (self.expr(x, ctx) for x in args)
            return f"({a} if {c} != 0.0 else {b})"
        if fname == "power":
            return self.power(self.expr(args[0], ctx), args[1], self.expr(args[1], ctx))
        if fname == "log":
            x, base = (self.expr(a, ctx) for a in args)
            return f"(np.log({x}) / np.log({base}))"
        if fname in ELEMENTWISE_SCALAR:
            if len(args) != ELEMENTWISE[fname][1]:
                raise FusedUnsupported(f"{fname.upper()} with {len(args)} arguments")
            return f"{ELEMENTWISE_SCALAR[fname]}({', '.join(self.expr(a, ctx) for a in args)})"
        if fname in ("step", "ramp", "pulse", "pulse_train"):
            a = [self.expr(x, ctx) for x in args]
            if fname == "step" and len(a) == 2:
                return f"rtf.step(tt, dt, {a[0]}, {a[1]})"
            if fname == "ramp" and len(a) in (2, 3):
                return f"rtf.ramp{'3' if len(a) == 3 else ''}(tt, {', '.join(a)})"
            if fname == "pulse" and len(a) == 2:
                return f"rtf.pulse(tt, {a[0]}, {a[1]})"
            if fname == "pulse_train" and len(a) == 4:
                return f"rtf.pulse_train(tt, {', '.join(a)})"
            raise FusedUnsupported(f"{fname.upper()} with {len(a)} arguments")
        if fname in REDUCERS:
            return self.reduce_call(fname, args[0], ctx)
        if fname in LOOKUP_CALLS:
            tab = args[0]
            if not isinstance(tab, ae.ReferenceStructure):
                raise FusedUnsupported(f"{fname.upper()} on a non-lookup argument")
            tvar = self.c.lookup_var(normalize(tab.reference), ctx)
            return self.lookup_call(tvar, tab.subscripts, args[1], LOOKUP_CALLS[fname], ctx)
        if fname == "pi":
            return self.number(np.pi)
        if fname == "active_initial":
            if self.current is not None and self.current.static:
                raise FusedUnsupported("ACTIVE INITIAL in an auxiliary that depends on constants only")
            return self.expr(args[0], ctx)
        if fname in ("random_uniform", "random_normal"):
            raise FusedUnsupported(f"function {fname.replace('_', ' ').upper()}")
        raise FusedUnsupported(f"function {fname.replace('_', ' ').upper() or 'call'}")

    def lookup_call(self, var, subs_node, arg, kind, ctx):
        subs = subs_node.subscripts if subs_node is not None else None
        n = self.table(("P", var.idx, self.cell_of(var, subs, ctx) if var.dims else None))
        return f"{LOOKUP_FUNCS[kind]}({self.expr(arg, ctx)}, tabx, taby, tl{n}, th{n})"

    def _InlineLookupsStructure(self, node, ctx):
        kind = getattr(node.lookups, "type", "interpolate") or "interpolate"
        if kind not in LOOKUP_FUNCS:
            raise FusedUnsupported(f"lookup type {kind!r}")
        xs = np.asarray(node.lookups.x, dtype=float)
        ys = np.asarray(node.lookups.y, dtype=float)
        n = self.table(("K", xs, ys))
        return f"{LOOKUP_FUNCS[kind]}({self.expr(node.argument, ctx)}, tabx, taby, tl{n}, th{n})"

    def reduce_call(self, fname, arg, ctx):
        new_axes = self.c.reduction_axes(arg, ctx)
        terms = []
        for extra in _cells(tuple(len(a[1]) for a in new_axes)):
            inner = CellContext(axes=list(ctx.axes) + new_axes, mode=ctx.mode, owner=ctx.owner,
                                cell=tuple(ctx.cell) + tuple(extra))
            terms.append(self.expr(arg, inner))
        if not terms:
            raise FusedUnsupported("a reduction over an empty range")
        # sequential, in C order of the reduced cells, as runtime.reduce computes it
        code = terms[0]
        fn = REDUCERS[fname]
        for term in terms[1:]:
            if fn == "np.sum":
                code = f"({code} + {term})"
            elif fn == "np.prod":
                code = f"({code} * {term})"
            elif fn == "np.min":
                code = f"rtf.fmin({code}, {term})"
            else:
                code = f"rtf.fmax({code}, {term})"
        return code

    def _LookupsStructure(self, node, ctx):
        raise FusedUnsupported("a lookup table used as a value")

    def _stateful_ref(self, node, ctx):
        st = self.c.by_node.get(id(node))
        if st is None:
            raise FusedUnsupported("a stateful function the compiler did not register")
        return self.stateful_name(st, _flat(tuple(ctx.cell), st.shape))

    _IntegStructure = _SmoothStructure = _SmoothNStructure = _DelayStructure = _stateful_ref
    _DelayNStructure = _TrendStructure = _InitialStructure = _stateful_ref

    # ------------------------------------------------------------------ equations
    def var_lines(self, var) -> list[str]:
        """Run-time assignments of every cell of a variable (a local, or ``w[r]`` for a slow one)."""
        c = self.c
        if c.overrides.get(var.idx) == "series":
            raise FusedUnsupported("internal: a series variant reached the fused generator")
        self.current = var
        cells = list(_cells(var.shape))
        comps = var.element.components
        values: dict[int, str] = {}
        for comp in comps:
            if len(comps) == 1 and list(comp.lhs) == list(var.dims) and not comp.excepts:
                axes = [(d, c.space.ranges[d]) for d in var.dims]
                for cell in cells:
                    ctx = CellContext(axes=axes, mode="run", owner=var.name, cell=cell)
                    values[_flat(cell, var.shape)] = self.expr(comp.ast, ctx)
                continue
            axes = [(n if c.space.is_range(n) else None, c.space.elements(n)) for n in comp.lhs]
            per_pos = [[c.space.ranges[var.dims[p]].index(e) for e in c.space.elements(n)]
                       for p, n in enumerate(comp.lhs)]
            excluded = set()
            for ex in comp.excepts:
                excluded.update(itertools.product(*[c.space.elements(e) for e in ex]))
            for cell in _cells(tuple(len(a[1]) for a in axes)):
                if tuple(axes[p][1][k] for p, k in enumerate(cell)) in excluded:
                    continue
                ctx = CellContext(axes=axes, mode="run", owner=var.name, cell=cell)
                final = tuple(per_pos[p][k] for p, k in enumerate(cell))
                values[_flat(final, var.shape)] = self.expr(comp.ast, ctx)
        return [f"{self.var_name(var, _flat(cell, var.shape))} = "
                f"{values.get(_flat(cell, var.shape), 'np.nan')}" for cell in cells]

    def part(self, st, role, cell) -> str:
        self.current = None
        ctx = CellContext(axes=list(st.axes), mode="run", owner=st.owner, cell=cell)
        return self.expr(st.parts[role], ctx)

    def block_of(self, sid):
        return next(b for b in self.prog.blocks if b[0] == sid)

    def state_index(self, st, order: int, flat: int) -> int:
        _, a, _, _ = self.block_of(st.sid)
        size = int(np.prod(st.shape)) if st.shape else 1
        return a + order * size + flat

    def stateful_lines(self, st) -> list[str]:
        """The output ``s<sid>`` of a stateful (what equations read) from its state."""
        out = []
        for cell in _cells(st.shape):
            f = _flat(cell, st.shape)
            name = self.stateful_name(st, f)
            if st.kind == "integ":
                x = f"x[{self.state_index(st, 0, f)}]"
                out.append(f"{name} = rtf.fmax({x}, 0.0)" if st.non_negative else f"{name} = {x}")
            elif st.kind == "smooth":
                out.append(f"{name} = x[{self.state_index(st, st.order - 1, f)}]")
            elif st.kind == "delay":
                out.append(f"{name} = x[{self.state_index(st, st.order - 1, f)}] / ({self.part(st, 'time', cell)})")
            elif st.kind == "trend":
                x = f"x[{self.state_index(st, 0, f)}]"
                out.append(f"{name} = rtf.zidz(({self.part(st, 'input', cell)}) - {x}, "
                           f"({self.part(st, 'time', cell)}) * abs({x}))")
            else:
                raise FusedUnsupported(f"stateful kind {st.kind}")
        return out

    def derivative_lines(self, st) -> list[str]:
        out = []
        for cell in _cells(st.shape):
            f = _flat(cell, st.shape)
            if st.kind == "integ":
                j = self.state_index(st, 0, f)
                flow = self.part(st, "flow", cell)
                if st.non_negative:
                    out.append(f"fl{j} = {flow}")
                    out.append(f"d[{j}] = 0.0 if (x[{j}] <= 0 and fl{j} < 0) else fl{j}")
                else:
                    out.append(f"d[{j}] = {flow}")
            elif st.kind in ("smooth", "delay"):
                inp, tau = f"inp{st.sid}_{f}", f"tau{st.sid}_{f}"
                out.append(f"{inp} = {self.part(st, 'input', cell)}")
                out.append(f"{tau} = {self.part(st, 'time', cell)}")
                for o in range(st.order):
                    j = self.state_index(st, o, f)
                    prev = f"x[{self.state_index(st, o - 1, f)}]"
                    if st.kind == "smooth":
                        tgt = inp if o == 0 else prev
                        out.append(f"d[{j}] = ({tgt} - x[{j}]) * {float(st.order)!r} / {tau}")
                    else:
                        inflow = inp if o == 0 else f"({prev} / {tau})"
                        out.append(f"d[{j}] = ({inflow} - (x[{j}] / {tau})) * {float(st.order)!r}")
            elif st.kind == "trend":
                j = self.state_index(st, 0, f)
                out.append(f"d[{j}] = (({self.part(st, 'input', cell)}) - x[{j}]) / ({self.part(st, 'time', cell)})")
        return out

    # ------------------------------------------------------------------ assembly
    def build(self) -> FusedPlan:
        prog = self.prog
        n = prog.n_state
        # the numpy run order follows set iteration (hash seeds): sort again, deterministically,
        # so that the same model always gives the same source (and hits the disk cache)
        code, deps = {}, {}
        for node in sorted(prog.run_order):  # generating in a fixed order fixes the row numbers too
            self.deps = set()
            kind, i = node
            code[node] = self.var_lines(self.by_idx[i]) if kind == "v" else self.stateful_lines(prog.statefuls[i])
            deps[node] = self.deps - {node}
        body = [ln for node in _toposort(code, deps) for ln in code[node]]
        for st in prog.statefuls:
            if st.kind != "initial":
                body += self.derivative_lines(st)
        slow = self.slow_lines()
        clip = []
        for sid, a, b, _ in prog.blocks:
            st = prog.statefuls[sid]
            if st.kind == "integ" and st.non_negative:
                clip += [f"for j in range({a}, {b}):", "    y[j] = rtf.fmax(y[j], 0.0)"]
        cells, writes = [], []
        for var in sorted(self.by_idx.values(), key=lambda v: v.idx):
            if var.kind == "lookup":
                continue
            for cell in _cells(var.shape):
                f = _flat(cell, var.shape)
                writes.append(f"vals[{len(cells)}] = {self.var_name(var, f)}")
                cells.append((var.idx, f))
        src = self._assemble(n, slow, body, clip, writes)
        check_source(src)
        rows = [(k[0], k[1], k[2]) for k in sorted(self.rows, key=self.rows.get)]
        return FusedPlan(source=src, n_state=n, rows=rows, tables=list(self.table_list), cells=cells)

    def slow_lines(self) -> list[str]:
        """Auxiliaries computed from constants only, in dependency order: the kernel recomputes
        them at every evaluation while a constant follows a time series."""
        code, deps = {}, {}
        for var in self.by_idx.values():
            if var.kind not in ("const", "lookup") and var.static:
                self.deps = set()
                code[("v", var.idx)] = self.var_lines(var)
                deps[("v", var.idx)] = set(self.deps)
        return [ln for node in _toposort(code, deps) for ln in code[node]]

    def _assemble(self, n, slow, body, clip, writes) -> str:
        def block(lines, depth):
            return ["    " * depth + ln for ln in lines]

        args = ("yinit, wshared, wpm, wpmrow, tabx, taby, taboff, serx, sery, sermeta, act_row, act_ser, "
                "t0, dt, nsteps, rk, check, save_at, save_t, colmap, out")
        L = [self.header, "import numpy as np", "from numba import njit, prange", "",
             "from simulator import fused_rt as rtf", "",
             "", "@njit(cache=True, error_model='numpy', nogil=True)", f"def member(m, mo, {args}):"]
        head = ["nrows = wshared.shape[0]", "w = np.empty(max(nrows, 1))",
                "for r in range(nrows):", "    q = wpmrow[r]",
                "    w[r] = wshared[r] if q < 0 else wpm[q, m]",
                "wb = w.copy()", "nact = act_row.shape[0]"]
        for t in range(len(self.table_list)):
            head += [f"tl{t} = taboff[{t}]", f"th{t} = taboff[{t + 1}]"]
        head += [f"y = np.empty({n})", f"x = np.empty({n})", f"d = np.zeros({n})", f"k1 = np.zeros({n})",
                 f"k2 = np.zeros({n})", f"k3 = np.zeros({n})", f"vals = np.empty({max(len(writes), 1)})",
                 f"for j in range({n}):", "    y[j] = yinit[j, m]",
                 "nsv = save_at.shape[0]", "k = 0", "pos = 0", "stage = 0", "saving = False", "t = t0", "tt = t0"]
        loop = ["if stage == 0:",
                "    t = t0 + k * dt",
                "    if pos < nsv and save_at[pos] == k:",
                "        saving = True",
                "        tt = save_t[pos]",
                "    else:",
                "        if k == nsteps or pos >= nsv:",
                "            break",
                "        tt = t",
                f"    for j in range({n}):", "        x[j] = y[j]",
                "elif stage == 3:", "    tt = t + dt",
                f"    for j in range({n}):", "        x[j] = y[j] + dt * d[j]",
                "else:", "    tt = t + dt / 2",
                f"    for j in range({n}):", "        x[j] = y[j] + dt / 2 * d[j]",
                # constants that follow a time series in this call, then what depends on them
                "if nact > 0:",
                "    for q in range(nact):",
                "        r = act_row[q]",
                "        w[r] = rtf.series(tt, m, wb[r], act_ser[q], serx, sery, sermeta)"]
        loop += block(slow, 1)
        loop += body
        loop += ["if saving:", "    saving = False"]
        loop += block(writes, 1)
        loop += [f"    for q in range({len(writes)}):",
                 "        if colmap[q] >= 0:", "            out[pos, colmap[q], mo] = vals[q]",
                 "    pos += 1",
                 "    if pos < nsv and save_at[pos] == k:", "        continue",
                 "    if k == nsteps or pos >= nsv:", "        break",
                 "    if tt != t:", "        continue",
                 "if stage == 0 and check:",
                 f"    for j in range({n}):", "        if d[j] - d[j] != 0.0:", "            return 1",
                 "if rk:",
                 "    if stage < 3:",
                 f"        for j in range({n}):",
                 "            if stage == 0:", "                k1[j] = d[j]",
                 "            elif stage == 1:", "                k2[j] = d[j]",
                 "            else:", "                k3[j] = d[j]",
                 "        stage += 1", "        continue",
                 f"    for j in range({n}):",
                 "        y[j] = y[j] + dt / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + d[j])",
                 "    stage = 0",
                 "else:",
                 f"    for j in range({n}):", "        y[j] = y[j] + dt * d[j]"]
        loop += clip
        loop += ["if check:", f"    for j in range({n}):", "        if y[j] - y[j] != 0.0:", "            return 1",
                 "k += 1"]
        L += block(head, 1) + ["    while True:"] + block(loop, 2) + ["    return 0", ""]
        L += ["", "@njit(cache=True, nogil=True)", f"def run_serial({args}, bad):",
              "    for m in range(bad.shape[0]):",
              f"        bad[m] = member(m, m, {args})", ""]
        # members in chunks: each thread writes a chunk's outputs to a small buffer first, so that
        # the member-last output array is written in runs, not one scattered value at a time
        chunked = args.replace("out", "buf")
        L += ["", "@njit(cache=True, nogil=True, parallel=True)", f"def run_parallel({args}, bad):",
              "    nm = bad.shape[0]",
              f"    for c in prange((nm + {CHUNK - 1}) // {CHUNK}):",
              f"        m0 = c * {CHUNK}",
              f"        m1 = min(nm, m0 + {CHUNK})",
              f"        buf = np.empty((out.shape[0], out.shape[1], {CHUNK}))",
              "        for m in range(m0, m1):",
              f"            bad[m] = member(np.int64(m), np.int64(m - m0), {chunked})",
              "        out[:, :, m0:m1] = buf[:, :, :m1 - m0]", ""]
        return "\n".join(L)


# ------------------------------------------------------------------------------ safety net
_ENGINE_NAME = re.compile(r"^(?:[vs]\d+(?:_\d+)?|(?:fl|inp|tau)\d+(?:_\d+)?|t[lh]\d+)$")
_ALLOWED_NAMES = frozenset("""
    import numpy as np from numba njit prange simulator fused_rt rtf cache error_model nogil parallel True
    False def for in range if elif else while break continue return and or not max copy shape int64 empty
    zeros member run_serial run_parallel m yinit wshared wpm wpmrow tabx taby taboff serx sery sermeta
    act_row act_ser t0 dt nsteps rk check save_at save_t colmap out bad nrows w wb nact r q y x d j k1 k2 k3
    vals nsv k pos stage saving t tt abs mo nm c m0 m1 buf min nan inf pi exp sqrt log sin cos tan arcsin arccos arctan sinh cosh
    tanh trunc fmin fmax quantum modulo xidz zidz step ramp ramp3 pulse pulse_train interp extrapolate
    hold_backward look_forward series square""".split())
_ALLOWED_STRINGS = frozenset({"'numpy'"})


def check_source(src: str) -> None:
    """Refuse generated text holding anything but engine-made names, numbers and our operators."""
    toks = tokenize.generate_tokens(io.StringIO(src).readline)
    for tok in toks:
        if tok.type == tokenize.NAME and tok.string not in _ALLOWED_NAMES and not _ENGINE_NAME.match(tok.string):
            raise FusedUnsupported(f"internal: unexpected name {tok.string!r} in generated code")
        if tok.type == tokenize.STRING and tok.string not in _ALLOWED_STRINGS:
            raise FusedUnsupported("internal: unexpected string in generated code")
        if tok.type == tokenize.COMMENT and not re.fullmatch(r"# [0-9a-z ;:.,_/()-]*", tok.string):
            raise FusedUnsupported("internal: unexpected comment in generated code")
