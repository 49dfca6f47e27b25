"""Lower pysd's abstract syntax trees into IR expressions.

:class:`ExprLowerer` turns one syntax tree into an :class:`~simulator.ir.nodes.Expr` in a
context (:class:`~simulator.ir.dims.Ctx`). What a name means, which cells a subscript reads, what a
Vensim function computes: all of it is decided here, once, for every backend.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ModelLoadError, UnsupportedFeatureError
from ..names import normalize
from . import vensim
from .allocation import lower_allocate_by_priority
from .dims import Ctx
from .nodes import Axis as AxisIndex
from .nodes import (
    AxisValue,
    Binary,
    Bound,
    Cells,
    Expr,
    If,
    Let,
    Lookup,
    Noise,
    Num,
    Reduce,
    Ref,
    Time,
    Unary,
    Vector,
)
from .vectors import lower_vector_elm_map, lower_vector_lookup

UNARY_FUNCS = {"abs": "abs", "exp": "exp", "sqrt": "sqrt", "ln": "ln", "sin": "sin", "cos": "cos",
               "tan": "tan", "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "sinh": "sinh",
               "cosh": "cosh", "tanh": "tanh", "integer": "trunc"}
BINARY_FUNCS = {"power": "**", "min": "min", "max": "max"}
REDUCERS = {"sum": "sum", "prod": "prod", "vmin": "min", "vmax": "max", "vmin_xmile": "min",
            "vmax_xmile": "max"}
LOOKUP_CALLS = {"lookup_extrapolate": "extrapolate", "lookup_forward": "forward",
                "lookup_backward": "backward"}
LOOKUP_TYPES = {"interpolate": "interpolate", "extrapolate": "extrapolate", "hold_backward": "backward",
                "look_forward": "forward"}
TIME_FUNCS = {"step": (2,), "ramp": (2, 3), "pulse": (2,), "pulse_train": (4,)}
# arguments: the bounds, the distribution's own, then the seed (RANDOM 0 1 takes none)
RANDOM_ARITY = {"random_0_1": (0,), "random_uniform": (3,), "random_normal": (5,), "random_exponential": (5,),
                "random_triangular": (6,)}
ARITH = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**"}
COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 3}
UNSUPPORTED_STRUCTURES = {
    "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
    "ForecastStructure": "FORECAST",
    "GetLookupsStructure": "GET XLS/DIRECT LOOKUPS", "GetDataStructure": "GET XLS/DIRECT DATA",
    "GetConstantsStructure": "GET XLS/DIRECT CONSTANTS", "DataStructure": "DATA",
}
NUMBER_TYPES = (bool, np.bool_, int, float, np.integer, np.floating)


class ExprLowerer:
    """Syntax tree -> IR expression. ``model`` (:class:`~simulator.ir.build.Builder`) knows the
    variables, the subscripts and registers what an expression creates (states, tables, sites)."""

    def __init__(self, model):
        self.m = model
        self._pipelines: dict = {}  # id(call node) -> (node, its DELAY FIXED structure)

    def expr(self, node, ctx: Ctx) -> Expr:
        if isinstance(node, NUMBER_TYPES):
            return Num(float(node))
        if isinstance(node, np.ndarray):
            return self.array(node, ctx)
        kind = type(node).__name__
        if kind in UNSUPPORTED_STRUCTURES:
            raise self.unsupported(UNSUPPORTED_STRUCTURES[kind], ctx)
        handler = getattr(self, "_" + kind, None)
        if handler is None:
            raise self.unsupported(kind, ctx)
        return handler(node, ctx)

    def unsupported(self, what: str, ctx: Ctx) -> UnsupportedFeatureError:
        return UnsupportedFeatureError(
            f"{self.m.path}: variable {ctx.owner_name!r} uses {what}, which is not supported by this engine")

    def array(self, arr: np.ndarray, ctx: Ctx) -> Expr:
        arr = np.asarray(arr, dtype=float)
        shape = ctx.shape
        if arr.size == int(np.prod(shape)) and arr.shape != shape:
            arr = arr.reshape(shape)
        return Cells(shape=tuple(int(n) for n in arr.shape), values=tuple(float(x) for x in arr.ravel()))

    # ------------------------------------------------------------------ operators
    def _ArithmeticStructure(self, node, ctx):
        ops, args = list(node.operators), list(node.arguments)
        if len(ops) == 1 and len(args) == 1:
            if ops[0] == "negative":
                return Unary("neg", self.expr(args[0], ctx))
            if ops[0] == "positive":
                return self.expr(args[0], ctx)
        if ops == ["^"] and isinstance(args[0], NUMBER_TYPES) and float(args[0]) < 0:
            # pysd folds "- 30 ^ x" into the literal -30; Vensim's unary minus binds looser than ^
            return Unary("neg", Binary("**", Num(-float(args[0])), self.expr(args[1], ctx)))
        if ops and ops[0] == "negative" and len(args) == len(ops):
            first: Expr = Unary("neg", self.expr(args[0], ctx))
            ops, args = ops[1:], args[1:]
        else:
            first = self.expr(args[0], ctx)
            args = args[1:]
        for op in ops:
            if op not in ARITH:
                raise self.unsupported(f"operator {op!r}", ctx)
        return _chain(first, [ARITH[o] for o in ops], [self.expr(a, ctx) for a in args])

    def _LogicStructure(self, node, ctx):
        ops, args = list(node.operators), list(node.arguments)
        if ops == [":NOT:"]:
            return Unary("not", self.expr(args[0], ctx))
        if len(ops) == 1 and ops[0] in ("=", "<>") and any(_is_na(a) for a in args):
            # Vensim's documented test for missing data: x = :NA: (NaN here, which equals nothing)
            x = self.expr(args[1] if _is_na(args[0]) else args[0], ctx)
            missing = Let(x, Binary("!=", Bound(), Bound()))
            return missing if ops[0] == "=" else Unary("not", missing)
        if all(o in COMPARE for o in ops):
            out = self.expr(args[0], ctx)
            for op, a in zip(ops, args[1:]):
                out = Binary(COMPARE[op], out, self.expr(a, ctx))
            return out
        if all(o in (":AND:", ":OR:") for o in ops):
            # :AND: binds tighter than :OR:
            groups, cur = [], [self.expr(args[0], ctx)]
            for op, a in zip(ops, args[1:]):
                if op == ":AND:":
                    cur.append(self.expr(a, ctx))
                else:
                    groups.append(cur)
                    cur = [self.expr(a, ctx)]
            groups.append(cur)
            terms = [_fold("and", g) for g in groups]
            return _fold("or", terms)
        raise self.unsupported(f"logical operators {ops}", ctx)

    # ------------------------------------------------------------------ references
    def _ReferenceStructure(self, node, ctx):
        key = normalize(node.reference)
        subs = node.subscripts.subscripts if node.subscripts is not None else None
        m = self.m
        if key == "time":
            return Time()
        if key == "pi" and key not in m.vars:
            return Num(math.pi)
        if key not in m.vars and m.space.is_range(key):
            j, values = m.dims.axis_value(key, ctx)
            return AxisValue(axis=j, values=values)
        if key not in m.vars and m.space.is_element(key):
            return Num(m.dims.position(key))
        var = m.lookup_var(key, ctx)
        if var.kind == "lookup":
            raise ModelLoadError(
                f"{m.path}: variable {ctx.owner_name!r} uses lookup {var.name!r} without an argument")
        return Ref(var=var.idx, index=m.dims.index(var.name, var.dims, subs, ctx))

    def _CallStructure(self, node, ctx):
        fname = normalize(node.function.reference) if _is_reference(node.function) else ""
        args = list(node.arguments)
        var = self.m.vars.get(fname)
        if var is not None and var.kind == "lookup":
            return self.lookup(var, node.function.subscripts, args[0], "interpolate", ctx)
        if fname in self.m.src.macros:
            return self.expr(self.m.expand_macro(node, fname, ctx), ctx)
        if fname in ("min", "max") and len(args) == 1:
            return self.reduce(fname, args[0], ctx)
        if fname in REDUCERS:
            return self.reduce(REDUCERS[fname], args[0], ctx)
        if fname in LOOKUP_CALLS:
            tab = args[0]
            if not _is_reference(tab):
                raise self.unsupported(f"{fname.upper()} on a non-lookup argument", ctx)
            tvar = self.m.lookup_var(normalize(tab.reference), ctx)
            if tvar.kind != "lookup":
                raise ModelLoadError(f"{self.m.path}: variable {ctx.owner_name!r}: {fname.upper()} needs a "
                                     f"lookup, {tvar.name!r} is not one")
            return self.lookup(tvar, tab.subscripts, args[1], LOOKUP_CALLS[fname], ctx)
        if fname == "active_initial":
            self.arity(fname, args, (2,), ctx)
            return self.expr(args[1] if ctx.mode == "init" else args[0], ctx)
        if fname == "elmcount":
            return self.elmcount(args, ctx)
        if fname == "vector_select":
            return self.vector_select(args, ctx)
        if fname == "sinteg":
            return self.sinteg(node, args, ctx)
        if fname in ("delay_material", "delay_information"):
            return self.delay_pipeline(node, fname, args, ctx)
        if fname == "vector_lookup":
            return lower_vector_lookup(self, args, ctx)
        if fname == "vector_elm_map":
            return lower_vector_elm_map(self, args, ctx)
        if fname in ("vector_sort_order", "vector_rank", "vector_reorder"):
            return self.vector(fname, args, ctx)
        if fname in RANDOM_ARITY:
            return self.random(node, fname, args, ctx)
        if fname == "pi" and not args:
            return Num(math.pi)
        low = [self.expr(a, ctx) for a in args]
        out = self.function(fname, low, ctx)
        site = "pulse" if fname == "vensim_pulse" else fname  # Vensim's PULSE in an XMILE file
        if site in TIME_FUNCS and ctx.mode == "run":
            self.m.switch_site(site, low, ctx)
        return out

    def function(self, fname: str, a: list, ctx: Ctx) -> Expr:
        """A Vensim function of already lowered arguments."""
        if fname in UNARY_FUNCS:
            self.arity(fname, a, (1,), ctx)
            return Unary(UNARY_FUNCS[fname], a[0])
        if fname in BINARY_FUNCS:
            self.arity(fname, a, (2,), ctx)
            return Binary(BINARY_FUNCS[fname], a[0], a[1])
        simple: dict[str, tuple[int, Any]] = {"log": (2, vensim.log), "quantum": (2, vensim.quantum), "modulo": (2, vensim.modulo),
                  "xidz": (3, vensim.xidz), "zidz": (2, vensim.zidz), "if_then_else": (3, If),
                  "step": (2, vensim.step), "pulse": (2, vensim.pulse), "pulse_train": (4, vensim.pulse_train),
                  "xpulse": (2, vensim.xmile_pulse), "xpulse_train": (3, vensim.xmile_pulse_train),
                  "game": (1, vensim.game), "vensim_pulse": (2, vensim.pulse)}
        if fname in simple:
            n, fn = simple[fname]
            self.arity(fname, a, (n,), ctx)
            return fn(*a)
        if fname == "ramp":
            self.arity(fname, a, (2, 3), ctx)
            return vensim.ramp(a[0], a[1], a[2] if len(a) == 3 else None)
        shown = fname.replace("_", " ").upper() if fname else "a call"
        raise UnsupportedFeatureError(
            f"{self.m.path}: variable {ctx.owner_name!r} calls function {shown}, which is not supported")

    def arity(self, fname, args, allowed, ctx):
        if len(args) not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise ModelLoadError(f"{self.m.path}: variable {ctx.owner_name!r}: {fname.replace('_', ' ').upper()} "
                                 f"takes {want} arguments, got {len(args)}")

    def lookup(self, var, subs_node, arg, mode: str, ctx: Ctx) -> Expr:
        subs = subs_node.subscripts if subs_node is not None else None
        index = self.m.dims.index(var.name, var.dims, subs, ctx) if var.dims else ()
        return Lookup(source=("var", var.idx), index=index, x=self.expr(arg, ctx), mode=mode)

    def reduction_axes(self, arg, ctx: Ctx) -> list:
        """The axes a reduction adds; a range marked with a bang (``x[B!]``) must exist."""
        for written in _bang_subscripts(arg):
            key = normalize(written)
            if not (self.m.space.is_range(key) or self.m.space.is_element(key)):
                raise ModelLoadError(f"{self.m.path}: variable {ctx.owner_name!r}: {written + '!'!r} marks "
                                     f"{written!r} for a reduction, but no subscript range is called {written!r}")
        return self.m.dims.reduction_axes(arg, ctx, self.m.dims_of)

    def reduce(self, op: str, arg, ctx: Ctx) -> Expr:
        new_axes = self.reduction_axes(arg, ctx)
        inner = ctx.extended(new_axes)
        return Reduce(op=op, arg=self.expr(arg, inner), sizes=tuple(len(a[1]) for a in new_axes))

    def vector_select(self, args, ctx: Ctx) -> Expr:
        """VECTOR SELECT(selection[d!], values[d!], missing, action, error action): the values whose
        selection is non-zero, combined by ``action`` (0 sum of selection * value, 1 product,
        2 min, 3 max, 4 mean of selection * value, 5 product of value ^ selection, 6-10 the same
        on the values alone); ``missing`` where nothing is selected (pysd's rules, Vensim's)."""
        self.arity("vector_select", args, (5,), ctx)
        try:
            errors = int(self.m.static_value(args[4], ctx))
        except Exception:  # noqa: BLE001 - any failure means the argument is not a number
            errors = -1
        if errors != 0:
            raise self.unsupported("VECTOR SELECT with an error action other than 0", ctx)
        new_axes = self.reduction_axes((args[0], args[1]), ctx)
        inner = ctx.extended(new_axes)
        sizes = tuple(len(a[1]) for a in new_axes)
        sel, val = self.expr(args[0], inner), self.expr(args[1], inner)
        picked = Binary("!=", sel, Num(0.0))
        count = Reduce(op="sum", arg=If(picked, Num(1.0), Num(0.0)), sizes=sizes)

        def combined(action: int) -> Expr:
            v = Binary("*", sel, val) if action < 5 else Binary("**", val, sel) if action == 5 else val
            kind = ("sum", "prod", "min", "max", "sum", "prod", "sum", "prod", "min", "max", "sum")[action]
            neutral = {"sum": 0.0, "prod": 1.0, "min": math.inf, "max": -math.inf}[kind]
            out: Expr = Reduce(op=kind, arg=If(picked, v, Num(neutral)), sizes=sizes)
            return Binary("/", out, count) if action in (4, 10) else out

        try:
            if self.m.varies(args[3]):
                raise ValueError("the action changes during the run")
            actions = [int(self.m.static_value(args[3], ctx))]
        except Exception:  # noqa: BLE001 - not fixed at load: every action, chosen at each evaluation
            actions = list(range(11))
        code = self.expr(args[3], ctx)
        out = combined(actions[-1]) if actions[-1] in range(11) else Binary("/", Num(0.0), Num(0.0))
        for action in reversed(actions[:-1]):
            out = If(Binary("==", code, Num(float(action))), combined(action), out)
        return If(Binary("==", count, Num(0.0)), self.expr(args[2], ctx), out)

    def sinteg(self, node, args, ctx: Ctx) -> Expr:
        """SINTEG(rate, initial, min, max, quant, spec, thresh): INTEG whose value is kept within
        [min, max], a multiple of quant, and spec when within thresh of it; the last five are
        numbers or :NA: (Vensim's definition)."""
        from pysd.translators.structures.abstract_expressions import IntegStructure

        self.arity("sinteg", args, (7,), ctx)
        special = []
        for a in args[2:]:
            try:
                special.append(float(self.m.static_value(a, ctx)) if not self.m.varies(a) else None)
            except Exception:  # noqa: BLE001 - anything but a number fixed at load
                special.append(None)
        if None in special:
            raise self.unsupported("SINTEG with a restriction that is not a number or :NA:", ctx)
        integ = self._pipelines.get(id(node))
        if integ is None:  # one structure per call site: its state is keyed by the node
            integ = self._pipelines[id(node)] = (node, IntegStructure(args[0], args[1]))
        out = self.m.stateful(integ[1], ctx, "integ", 1)
        self.m.statefuls[id(integ[1])].special = tuple(special)
        return out

    def delay_pipeline(self, node, fname: str, args, ctx: Ctx) -> Expr:
        """DELAY MATERIAL(input, delay time, initial, missing) and DELAY INFORMATION(input, delay
        time, initial): Vensim defines both as DELAY FIXED while the delay time stays constant;
        they differ only in how they treat a changing one, which is not supported."""
        from pysd.translators.structures.abstract_expressions import DelayFixedStructure

        self.arity(fname, args, (4,) if fname == "delay_material" else (3,), ctx)
        if self.m.varies(args[1]):
            raise self.unsupported(f"{fname.replace('_', ' ').upper()} with a delay time that changes during "
                                   "the run", ctx)
        fixed = self._pipelines.get(id(node))
        if fixed is None:  # one structure per call site: its state is keyed by the node
            fixed = self._pipelines[id(node)] = (node, DelayFixedStructure(args[0], args[1], args[2]))
        return self._DelayFixedStructure(fixed[1], ctx)

    def vector(self, fname: str, args, ctx: Ctx) -> Expr:
        """VECTOR SORT ORDER / RANK / REORDER along the last subscript of the first argument."""
        self.arity(fname, args, (2,), ctx)
        arg = self.expr(args[0], ctx)
        if not (isinstance(arg, Ref) and arg.index and isinstance(arg.index[-1], AxisIndex)):
            raise self.unsupported(f"{fname.replace('_', ' ').upper()} of something other than a subscripted "
                                   "variable", ctx)
        axis = arg.index[-1].axis
        if fname == "vector_reorder":
            return Vector(op="reorder", arg=arg, axis=axis, order=self.expr(args[1], ctx))
        try:
            if self.m.varies(args[1]):
                raise ValueError("a direction that changes")
            descending = self.m.static_value(args[1], ctx) <= 0
        except Exception:  # noqa: BLE001 - the direction must be a number fixed for the run
            raise self.unsupported(f"{fname.replace('_', ' ').upper()} with a direction not fixed at load", ctx) from None
        return Vector(op="sort_order" if fname == "vector_sort_order" else "rank", arg=arg, axis=axis,
                      descending=bool(descending))

    def elmcount(self, args, ctx: Ctx) -> Expr:
        ref = args[0] if args else None
        if ref is None or not _is_reference(ref) or not self.m.space.is_range(normalize(ref.reference)):
            raise ModelLoadError(f"{self.m.path}: variable {ctx.owner_name!r}: ELMCOUNT needs a subscript range")
        return Num(float(len(self.m.space.ranges[normalize(ref.reference)])))

    def random(self, node, fname, args, ctx: Ctx) -> Expr:
        """A RANDOM function: one standard draw per TIME STEP, cell and member, transformed.

        The seed argument (last) is not used: every call site draws from its own stream, derived
        from the run's seed, the site number and the member index (runtime.make_noise).
        """
        self.arity(fname, args, RANDOM_ARITY[fname], ctx)
        noise = Noise(site=self.m.noise_site(node, "normal" if fname == "random_normal" else "uniform", ctx))
        a = [self.expr(x, ctx) for x in args]
        if fname == "random_0_1":
            return noise
        if fname == "random_uniform":
            return vensim.random_uniform(a[0], a[1], noise)
        if fname == "random_exponential":
            return vensim.random_exponential(a[0], a[1], a[2], a[3], noise)
        if fname == "random_triangular":
            return vensim.random_triangular(a[0], a[1], a[2], a[3], a[4], noise)
        return vensim.random_normal(a[0], a[1], a[2], a[3], noise)

    def _AllocateByPriorityStructure(self, node, ctx):
        return lower_allocate_by_priority(self, node, ctx)

    def _GameStructure(self, node, ctx):
        return vensim.game(self.expr(node.expression, ctx))

    def _InlineLookupsStructure(self, node, ctx):
        kind = getattr(node.lookups, "type", "interpolate") or "interpolate"
        if kind not in LOOKUP_TYPES:
            raise self.unsupported(f"lookup type {kind!r}", ctx)
        tid = self.m.inline_table(node.lookups, ctx)
        return Lookup(source=("inline", tid), index=(), x=self.expr(node.argument, ctx), mode=LOOKUP_TYPES[kind])

    def _LookupsStructure(self, node, ctx):
        raise ModelLoadError(f"{self.m.path}: variable {ctx.owner_name!r}: a lookup table is used as a value")

    # ------------------------------------------------------------------ stateful constructs
    def _IntegStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "integ", 1)

    def _SmoothStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "smooth", int(node.order))

    def _SmoothNStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "smooth", self.m.static_order(node.order, ctx))

    def _DelayStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "delay", int(node.order))

    def _DelayNStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "delay_n", self.m.static_order(node.order, ctx))

    def _DelayFixedStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "delay_fixed", 1)

    def _SampleIfTrueStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "sample", 1)

    def _TrendStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "trend", 1)

    def _InitialStructure(self, node, ctx):
        return self.m.stateful(node, ctx, "initial", 0)


def _is_na(node) -> bool:
    return isinstance(node, NUMBER_TYPES) and node != node


def _is_reference(node) -> bool:
    # pysd's syntax classes are recognised by name: importing pysd costs a second at start-up
    return type(node).__name__ == "ReferenceStructure"


def _bang_subscripts(node) -> list[str]:
    """The subscripts written with a bang (``B`` of ``x[B!]``) in the references of ``node``."""
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if _is_reference(n) and n.subscripts is not None:
            out += [s.strip()[:-1].strip() for s in n.subscripts.subscripts if s.strip().endswith("!")]
        if hasattr(n, "__dataclass_fields__"):
            stack += [getattr(n, f) for f in n.__dataclass_fields__]
        elif isinstance(n, (list, tuple)):
            stack += list(n)
    return out


def _fold(op: str, terms: list) -> Expr:
    out = terms[0]
    for t in terms[1:]:
        out = Binary(op, out, t)
    return out


def _chain(first: Expr, ops: list[str], rest: list[Expr]) -> Expr:
    """``first op0 rest0 op1 rest1 ...`` with the usual precedence: ** binds tightest and to the
    right, then * and /, then + and -, both to the left (the order pysd's generated code and the
    previous engine evaluated in, so the floating-point results are the same)."""
    operands = [first] + list(rest)
    output: list[Expr] = [operands[0]]
    pending: list[str] = []

    def reduce_top():
        op = pending.pop()
        right = output.pop()
        left = output.pop()
        output.append(Binary(op, left, right))

    for op, operand in zip(ops, operands[1:]):
        p = PRECEDENCE[op]
        while pending and (PRECEDENCE[pending[-1]] > p or (PRECEDENCE[pending[-1]] == p and op != "**")):
            reduce_top()
        pending.append(op)
        output.append(operand)
    while pending:
        reduce_top()
    return output[0]
