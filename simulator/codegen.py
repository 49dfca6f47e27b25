"""Translate pysd abstract syntax trees into numpy expressions (source text).

Only identifiers this module makes up (``v12``, ``s3``, ``_k7``, ``rt.xidz`` ...) and numbers
that went through ``float()`` ever appear in the generated text; names, units and comments of
the model file never do, so a hostile model file cannot inject code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from .errors import ModelLoadError, UnsupportedFeatureError
from .names import normalize

ELEMENTWISE = {
    "abs": ("np.abs", 1), "exp": ("np.exp", 1), "sqrt": ("np.sqrt", 1), "ln": ("np.log", 1),
    "sin": ("np.sin", 1), "cos": ("np.cos", 1), "tan": ("np.tan", 1), "arcsin": ("np.arcsin", 1),
    "arccos": ("np.arccos", 1), "arctan": ("np.arctan", 1), "sinh": ("np.sinh", 1),
    "cosh": ("np.cosh", 1), "tanh": ("np.tanh", 1), "power": ("np.power", 2),
    "min": ("np.minimum", 2), "max": ("np.maximum", 2), "log": ("rt.log", 2),
    "integer": ("rt.integer", 1), "quantum": ("rt.quantum", 2), "modulo": ("rt.modulo", 2),
    "xidz": ("rt.xidz", 3), "zidz": ("rt.zidz", 2), "if_then_else": ("rt.if_then_else", 3),
}
TIMEFUNCS = {"step": 2, "ramp": (2, 3), "pulse": 2, "pulse_train": 4}
REDUCERS = {"sum": "np.sum", "prod": "np.prod", "vmin": "np.min", "vmax": "np.max",
            "vmin_xmile": "np.min", "vmax_xmile": "np.max"}
LOOKUP_CALLS = {"lookup_extrapolate": "extrapolate", "lookup_forward": "look_forward",
                "lookup_backward": "hold_backward"}
UNSUPPORTED_STRUCTURES = {
    "GameStructure": "GAME", "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
    "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY", "DelayFixedStructure": "DELAY FIXED",
    "ForecastStructure": "FORECAST", "SampleIfTrueStructure": "SAMPLE IF TRUE",
    "GetLookupsStructure": "GET XLS/DIRECT LOOKUPS", "GetDataStructure": "GET XLS/DIRECT DATA",
    "GetConstantsStructure": "GET XLS/DIRECT CONSTANTS", "DataStructure": "DATA",
}
ARITH = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**"}
COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class Stateful:
    """A state-carrying construct (INTEG, SMOOTH*, DELAY*, TREND, INITIAL) inside an equation."""

    sid: int
    kind: str  # integ | smooth | delay | trend | initial
    owner: str  # variable name, for messages
    axes: list  # context axes (name, elements)
    order: int
    parts: dict  # role -> ast
    non_negative: bool = False
    shape: tuple = ()
    code: dict = field(default_factory=dict)  # (role, mode) -> source
    deps: dict = field(default_factory=dict)  # (role, mode) -> set of nodes


@dataclass
class Context:
    axes: list  # [(range key or None, tuple of element keys)]
    mode: str  # "run" or "init"
    owner: str
    deps: set = field(default_factory=set)
    uses_time: bool = False
    uses_random: bool = False


class ExprCompiler:
    """Turns syntax trees into expressions over the model's arrays.

    ``model`` is the :class:`~simulator.compiler.Compiler`, which knows variables, subscripts and
    constants; this class only does expressions.
    """

    def __init__(self, model):
        self.m = model

    # ------------------------------------------------------------------ entry points
    def expr(self, node, ctx: Context) -> str:
        if isinstance(node, (bool, np.bool_)):
            return self.number(float(node))
        if isinstance(node, (int, float, np.integer, np.floating)):
            return self.number(node)
        if isinstance(node, np.ndarray):
            return self.array_literal(node, ctx)
        kind = type(node).__name__
        if kind in UNSUPPORTED_STRUCTURES:
            raise self.unsupported(UNSUPPORTED_STRUCTURES[kind], ctx)
        handler = getattr(self, "_" + kind, None)
        if handler is None:
            raise self.unsupported(kind, ctx)
        return handler(node, ctx)

    def unsupported(self, what: str, ctx: Context) -> UnsupportedFeatureError:
        return UnsupportedFeatureError(
            f"{self.m.path}: variable {ctx.owner!r} uses {what}, which is not supported by this engine")

    def number(self, x) -> str:
        # numpy scalars, not python floats: 1/0 or 10^400 in a constant expression then give
        # inf/nan (IEEE, reported as NonFiniteError) instead of raising ZeroDivision/OverflowError
        return self.m.const(np.float64(x))

    def array_literal(self, arr: np.ndarray, ctx: Context) -> str:
        arr = np.asarray(arr, dtype=float)
        shape = tuple(len(a[1]) for a in ctx.axes)
        if arr.size == int(np.prod(shape)) and arr.shape != shape:
            arr = arr.reshape(shape)
        return self.m.const(arr[..., None])

    # ------------------------------------------------------------------ operators
    def _ArithmeticStructure(self, node, ctx):
        ops, args = list(node.operators), list(node.arguments)
        if len(ops) == 1 and len(args) == 1:
            if ops[0] == "negative":
                return f"(-{self.expr(args[0], ctx)})"
            if ops[0] == "positive":
                return self.expr(args[0], ctx)
        if ops and ops[0] == "negative" and len(args) == len(ops):
            # defensive: a leading unary minus folded into the chain
            first = f"(-{self.expr(args[0], ctx)})"
            ops, args = ops[1:], args[1:]
            parts = [first]
        else:
            parts = [self.expr(args[0], ctx)]
            args = args[1:]
        if ops == ["^"] and isinstance(node.arguments[0], (int, float, np.integer, np.floating)) \
                and float(node.arguments[0]) < 0:
            # pysd folds "- 30 ^ x" into the literal -30; Vensim's unary minus binds looser than ^
            return f"(-({self.number(-float(node.arguments[0]))} ** {self.expr(args[0], ctx)}))"
        for op, a in zip(ops, args):
            if op not in ARITH:
                raise self.unsupported(f"operator {op!r}", ctx)
            parts.append(ARITH[op])
            parts.append(self.expr(a, ctx))
        return "(" + " ".join(parts) + ")"

    def _LogicStructure(self, node, ctx):
        ops, args = list(node.operators), list(node.arguments)
        if ops == [":NOT:"]:
            return f"np.logical_not({self.expr(args[0], ctx)})"
        if all(o in COMPARE for o in ops):
            parts = [self.expr(args[0], ctx)]
            for op, a in zip(ops, args[1:]):
                parts += [COMPARE[op], self.expr(a, ctx)]
            return "(" + " ".join(parts) + ")"
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
            terms = [g[0] if len(g) == 1 else f"rt.logical_and({', '.join(g)})" for g in groups]
            return terms[0] if len(terms) == 1 else f"rt.logical_or({', '.join(terms)})"
        raise self.unsupported(f"logical operators {ops}", ctx)

    # ------------------------------------------------------------------ references
    def _ReferenceStructure(self, node, ctx):
        key = normalize(node.reference)
        subs = node.subscripts.subscripts if node.subscripts is not None else None
        if key == "time":
            ctx.uses_time = True
            return "t"
        if key in ("pi",) and key not in self.m.vars:
            return self.number(np.pi)
        if key not in self.m.vars and self.m.space.is_range(key):
            return self.m.subscript_value(key, ctx)
        if key not in self.m.vars and self.m.space.is_element(key):
            return self.m.element_value(key)
        var = self.m.lookup_var(key, ctx)
        if var.kind == "lookup":
            raise ModelLoadError(
                f"{self.m.path}: variable {ctx.owner!r} uses lookup {var.name!r} without an argument")
        ctx.deps.add(("v", var.idx))
        return self.m.reference(var, subs, ctx)

    def _CallStructure(self, node, ctx):
        fname = normalize(node.function.reference) if isinstance(node.function, ae.ReferenceStructure) else ""
        args = list(node.arguments)
        var = self.m.vars.get(fname)
        if var is not None and var.kind == "lookup":
            return self.lookup_call(var, node.function.subscripts, args[0], "interpolate", ctx)
        if fname in ELEMENTWISE:
            fn, n = ELEMENTWISE[fname]
            if fname in ("min", "max") and len(args) == 1:
                return self.reduce_call(REDUCERS["v" + fname], args[0], ctx)
            if len(args) != n:
                raise ModelLoadError(
                    f"{self.m.path}: variable {ctx.owner!r}: {fname.upper()} takes {n} arguments, got {len(args)}")
            return f"{fn}({', '.join(self.expr(a, ctx) for a in args)})"
        if fname in TIMEFUNCS:
            ctx.uses_time = True
            code = f"rt.{fname}(t, C, {', '.join(self.expr(a, ctx) for a in args)})"
            if ctx.mode == "run":
                sub = Context(axes=list(ctx.axes), mode="run", owner=ctx.owner)
                tcodes = [self.expr(a, sub) for a in args]
                self.m.switch_sites.append((fname, tcodes, set(sub.deps), sub.uses_time or sub.uses_random))
            return code
        if fname in REDUCERS:
            return self.reduce_call(REDUCERS[fname], args[0], ctx)
        if fname in LOOKUP_CALLS:
            tab = args[0]
            if not isinstance(tab, ae.ReferenceStructure):
                raise self.unsupported(f"{fname.upper()} on a non-lookup argument", ctx)
            tvar = self.m.lookup_var(normalize(tab.reference), ctx)
            if tvar.kind != "lookup":
                raise ModelLoadError(
                    f"{self.m.path}: variable {ctx.owner!r}: {fname.upper()} needs a lookup, "
                    f"{tvar.name!r} is not one")
            return self.lookup_call(tvar, tab.subscripts, args[1], LOOKUP_CALLS[fname], ctx)
        if fname == "pi":
            return self.number(np.pi)
        if fname == "active_initial":
            return self.expr(args[1] if ctx.mode == "init" else args[0], ctx)
        if fname in ("random_uniform", "random_normal"):
            return self.random_call(fname, args, ctx)
        shown = fname.replace("_", " ").upper() if fname else str(node.function)
        raise UnsupportedFeatureError(
            f"{self.m.path}: variable {ctx.owner!r} calls function {shown}, which is not supported")

    def lookup_call(self, var, subs_node, arg, kind, ctx):
        ctx.deps.add(("v", var.idx))
        fn = "rt.LOOKUP_KINDS[" + repr(kind) + "]"  # kind is one of four fixed literals
        x = self.expr(arg, ctx)
        if not var.dims:
            if kind == "interpolate":
                return f"rt.lookup({x}, P[{var.idx}])"
            return f"{fn}({x}, P[{var.idx}])"
        subs = subs_node.subscripts if subs_node is not None else None
        tid = self.m.table_ids(var, subs, ctx)
        return f"rt.lookup_many({fn}, {x}, P[{var.idx}], {tid})"

    def reduce_call(self, fn, arg, ctx):
        new_axes = self.m.reduction_axes(arg, ctx)
        inner = Context(axes=list(ctx.axes) + new_axes, mode=ctx.mode, owner=ctx.owner, deps=ctx.deps)
        code = self.expr(arg, inner)
        ctx.uses_time |= inner.uses_time
        ctx.uses_random |= inner.uses_random
        lens = tuple(len(a[1]) for a in new_axes)
        return f"rt.reduce({fn}, {code}, {len(ctx.axes)}, {lens!r})"

    def random_call(self, fname, args, ctx):
        ctx.uses_random = True
        ctx.uses_time = True
        slot = self.m.random_site(fname, ctx)
        a = [self.expr(x, ctx) for x in args]
        noise = f"rt.noise(t, C, S[{slot}])"
        if fname == "random_uniform":
            return f"({a[0]} + ({a[1]} - {a[0]}) * {noise})"
        return f"np.clip({a[2]} + {a[3]} * {noise}, {a[0]}, {a[1]})"

    def _InlineLookupsStructure(self, node, ctx):
        tab = self.m.const_table(node.lookups)
        x = self.expr(node.argument, ctx)
        kind = getattr(node.lookups, "type", "interpolate") or "interpolate"
        if kind not in ("interpolate", "extrapolate", "hold_backward", "look_forward"):
            raise self.unsupported(f"lookup type {kind!r}", ctx)
        return f"rt.LOOKUP_KINDS[{kind!r}]({x}, {tab})"

    def _LookupsStructure(self, node, ctx):
        raise ModelLoadError(f"{self.m.path}: variable {ctx.owner!r}: a lookup table is used as a value")

    # ------------------------------------------------------------------ stateful constructs
    def _stateful(self, kind, node, ctx, order, parts, non_negative=False):
        st = self.m.stateful_for(node, kind, ctx, order, parts, non_negative)
        ctx.deps.add(("s", st.sid))
        if kind != "initial":
            ctx.uses_time = True
        return f"s{st.sid}"

    def _IntegStructure(self, node, ctx):
        return self._stateful("integ", node, ctx, 1, {"flow": node.flow, "init": node.initial},
                              bool(getattr(node, "non_negative", False)))

    def _SmoothStructure(self, node, ctx):
        return self._stateful("smooth", node, ctx, int(node.order),
                              {"input": node.input, "time": node.smooth_time, "init": node.initial})

    def _SmoothNStructure(self, node, ctx):
        order = self.m.static_order(node.order, ctx)
        return self._stateful("smooth", node, ctx, order,
                              {"input": node.input, "time": node.smooth_time, "init": node.initial})

    def _DelayStructure(self, node, ctx):
        return self._stateful("delay", node, ctx, int(node.order),
                              {"input": node.input, "time": node.delay_time, "init": node.initial})

    def _DelayNStructure(self, node, ctx):
        order = self.m.static_order(node.order, ctx)
        return self._stateful("delay", node, ctx, order,
                              {"input": node.input, "time": node.delay_time, "init": node.initial})

    def _TrendStructure(self, node, ctx):
        return self._stateful("trend", node, ctx, 1,
                              {"input": node.input, "time": node.average_time, "init": node.initial_trend})

    def _InitialStructure(self, node, ctx):
        return self._stateful("initial", node, ctx, 0, {"init": node.initial})
