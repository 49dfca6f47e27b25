"""Lower a whole model (:class:`~simulator.loader.ModelSource`) into a :class:`ModelIR`.

Variables are declared from the file (dimensions, kind), each equation is lowered twice (its run
form and its initial-time form, which differ only for ACTIVE INITIAL), and every stateful
function met on the way becomes explicit states (:mod:`simulator.ir.stateful`).
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import ModelLoadError, UnsupportedFeatureError
from ..loader import Element, ModelSource
from ..names import normalize, suggest
from . import stateful as st
from .dims import Ctx, Dims
from .evaluate import NotStatic, evaluate
from .external import ExternalReader
from .lower import NUMBER_TYPES, ExprLowerer
from .nodes import (
    Axis,
    Expr,
    Initial,
    Lookup,
    ModelIR,
    NoiseSite,
    Num,
    Piece,
    Ref,
    Register,
    State,
    SwitchSite,
    Table,
    Time,
    Var,
)

MAX_ORDER = 1000  # DELAY N / SMOOTH N: one state per stage and cell; beyond this a typo, not a model
MAX_PIPELINE = 100_000  # DELAY FIXED: slots per cell (delay time / TIME STEP)
TIME_CALLS = {"step", "ramp", "pulse", "pulse_train", "random_0_1", "random_uniform", "random_normal",
              "random_exponential", "random_triangular"}
NOISE_SITE_BASE = 1_000_000  # noise streams are seeded by (seed, site, member)


@dataclass
class VarDecl:
    """A variable while the model is being lowered."""

    idx: int
    key: str
    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    kind: str
    element: Element
    series: bool = False
    is_stock: bool = False
    external: bool = False  # values (constants, tables) or a time series read from data files


class Builder:
    def __init__(self, src: ModelSource, overrides: dict[int, str] | None = None):
        self.src = src
        self.path = src.path
        self.space = src.subscripts
        self.dims = Dims(self.space, str(src.path))
        self.overrides = overrides or {}  # var idx -> "series" | "const"
        self.lower = ExprLowerer(self)
        self.vars: dict[str, VarDecl] = {}
        self.states: list[State | None] = []
        self.initials: list[Initial | None] = []
        self.registers: list[Register | None] = []
        self._varies: dict[str, bool] = {}
        self._data_tables: dict[int, tuple[Table, ...]] = {}
        self._macros: dict[int, object] = {}
        self.reader = ExternalReader(src.path, self.space)
        self.tables: list[Table] = []
        self._table_ids: dict[int, int] = {}
        self.switches: list[SwitchSite] = []
        self.noises: list[NoiseSite] = []
        self._noise_ids: dict[int, int] = {}
        self.statefuls: dict[int, st.Stateful] = {}
        self._pending: list[st.Stateful] = []
        self._declare()

    # ------------------------------------------------------------------ variables
    def _declare(self) -> None:
        for i, el in enumerate(self.src.elements.values()):
            npos = {len(c.lhs) for c in el.components}
            if len(npos) != 1:
                raise ModelLoadError(f"{self.path}: variable {el.name!r} has equations with different "
                                     "numbers of subscripts")
            n = npos.pop()
            dims = []
            for p in range(n):
                names = [c.lhs[p] for c in el.components]
                for nm in names:
                    if not (self.space.is_range(nm) or self.space.is_element(nm)):
                        raise ModelLoadError(f"{self.path}: variable {el.name!r}: unknown subscript {nm!r}")
                dims.append(self.space.final_dim(names, f"{self.path}: variable {el.name!r}"))
            shape = tuple(len(self.space.ranges[d]) for d in dims)
            kinds = {_component_kind(c) for c in el.components}
            external = bool(kinds & {"get_constants", "get_lookups", "data"})
            if kinds <= {"lookup", "get_lookups"}:
                kind = "lookup"
            elif kinds <= {"number", "get_constants"}:
                kind = "const"
            elif "data" in kinds and not kinds <= {"data", "number", "get_constants"}:
                raise UnsupportedFeatureError(f"{self.path}: variable {el.name!r} mixes DATA equations with "
                                              "other equations, which is not supported")
            else:
                kind = "aux"
            over = self.overrides.get(i)
            is_stock = kind == "aux" and any(type(c.ast).__name__ == "IntegStructure" for c in el.components)
            if over in ("const", "series"):
                kind = "const"
            self.vars[el.key] = VarDecl(idx=i, key=el.key, name=el.name, dims=tuple(dims), shape=shape,
                                        kind=kind, element=el, series=over == "series", is_stock=is_stock,
                                        external=external)
        self.by_idx = {v.idx: v for v in self.vars.values()}

    def lookup_var(self, key: str, ctx: Ctx) -> VarDecl:
        var = self.vars.get(key)
        if var is None:
            raise ModelLoadError(f"{self.path}: variable {ctx.owner_name!r} refers to undefined name "
                                 f"{key!r}.{suggest(key, [v.name for v in self.vars.values()])}")
        return var

    def dims_of(self, key: str) -> tuple[str, ...]:
        var = self.vars.get(key)
        return var.dims if var is not None else ()

    # ------------------------------------------------------------------ registrations
    def new_state(self) -> int:
        self.states.append(None)
        return len(self.states) - 1

    def set_state(self, state: State) -> None:
        self.states[state.sid] = state

    def new_initial(self) -> int:
        self.initials.append(None)
        return len(self.initials) - 1

    def set_initial(self, initial: Initial) -> None:
        self.initials[initial.iid] = initial

    def new_register(self) -> int:
        self.registers.append(None)
        return len(self.registers) - 1

    def set_register(self, reg: Register) -> None:
        self.registers[reg.rid] = reg

    def time_step(self) -> float | None:
        """The model file's TIME STEP when it is a number (run options do not change structure)."""
        v = self.vars.get("time_step")
        return self._control_literal("time_step", 1.0) if v is not None and v.kind == "const" else None

    def varies(self, node) -> bool:
        """True when an expression may change during a run (reads Time, a time function, a
        stateful function, or a variable that does), judged from the syntax trees."""
        kind = type(node).__name__
        if kind == "ReferenceStructure":
            key = normalize(node.reference)
            if key == "time":
                return True
            var = self.vars.get(key)
            if var is None or var.kind != "aux":
                return False
            if key not in self._varies:
                self._varies[key] = False  # provisional: a cycle is not a reason to vary
                self._varies[key] = any(self.varies(c.ast) for c in var.element.components)
            return self._varies[key] or self.overrides.get(var.idx) == "series"
        if kind == "CallStructure" and type(node.function).__name__ == "ReferenceStructure" \
                and normalize(node.function.reference) in TIME_CALLS:
            return True
        if kind.endswith("Structure") and kind not in ("ArithmeticStructure", "LogicStructure", "CallStructure",
                                                         "ReferenceStructure", "InlineLookupsStructure",
                                                         "SubscriptsReferenceStructure", "LookupsStructure"):
            return kind != "InitialStructure"  # every other stateful function moves with time
        children = [getattr(node, f) for f in node.__dataclass_fields__] if hasattr(node, "__dataclass_fields__") \
            else list(node) if isinstance(node, (list, tuple)) else []
        return any(self.varies(c) for c in children)

    def expand_macro(self, call, key: str, ctx: Ctx):
        """The syntax tree a macro call stands for: the macro's equation with its parameters
        replaced by the call's arguments and its inner variables by their equations. A copy per
        call, so that every call has its own stocks."""
        expanded = self._macros.get(id(call))
        if expanded is not None:
            return expanded
        macro = self.src.macros[key]
        where = f"{self.path}: variable {ctx.owner_name!r}: macro {macro.name!r}"
        if len(call.arguments) != len(macro.params):
            raise ModelLoadError(f"{where} takes {len(macro.params)} arguments, got {len(call.arguments)}")
        params = dict(zip(macro.params, call.arguments))

        def body(k: str, stack: tuple):
            el = macro.elements.get(k)
            if el is None or len(el.components) != 1 or el.components[0].lhs:
                raise UnsupportedFeatureError(f"{where}: only macros of unsubscripted single equations are supported")
            if k in stack:
                raise UnsupportedFeatureError(f"{where}: a feedback loop inside a macro is not supported")
            return subst(el.components[0].ast, stack + (k,))

        def subst(node, stack):
            if type(node).__name__ == "ReferenceStructure":
                k = normalize(node.reference)
                if k in params and node.subscripts is None:
                    return subst_outer(params[k])
                if k in macro.elements:
                    return body(k, stack)
                return dataclasses.replace(node)
            if hasattr(node, "__dataclass_fields__"):
                return dataclasses.replace(node, **{f: subst(getattr(node, f), stack)
                                                    for f in node.__dataclass_fields__})
            if isinstance(node, (list, tuple)):
                return type(node)(subst(x, stack) for x in node)
            return node

        def subst_outer(node):  # an argument: the caller's names, copied so the call owns its states
            if hasattr(node, "__dataclass_fields__"):
                return dataclasses.replace(node, **{f: subst_outer(getattr(node, f)) for f in node.__dataclass_fields__})
            if isinstance(node, (list, tuple)):
                return type(node)(subst_outer(x) for x in node)
            return node

        expanded = body(key, ())
        self._macros[id(call)] = expanded
        return expanded

    def inline_table(self, lookups, ctx: Ctx) -> int:
        tid = self._table_ids.get(id(lookups))
        if tid is None:
            tid = len(self.tables)
            self.tables.append(_table(lookups, f"{self.path}: variable {ctx.owner_name!r}"))
            self._table_ids[id(lookups)] = tid
        return tid

    def switch_site(self, kind: str, args: list, ctx: Ctx) -> None:
        self.switches.append(SwitchSite(kind=kind, shape=ctx.shape, args=tuple(args)))

    def noise_site(self, node, kind: str, ctx: Ctx) -> int:
        site = self._noise_ids.get(id(node))
        if site is None:
            site = NOISE_SITE_BASE + len(self.noises)
            self.noises.append(NoiseSite(site=site, kind=kind, shape=ctx.shape))
            self._noise_ids[id(node)] = site
        return site

    def stateful(self, node, ctx: Ctx, kind: str, order: int) -> Expr:
        """The value of a stateful function in ``ctx``: its states are made the first time."""
        rec = self.statefuls.get(id(node))
        if rec is None:
            if kind != "initial" and order < 1:
                raise ModelLoadError(f"{self.path}: variable {ctx.owner_name!r}: delay/smooth order must be >= 1")
            rec = st.register(self, node, ctx, kind, order)
            self.statefuls[id(node)] = rec
            self._pending.append(rec)
        return st.output(self, rec, ctx)

    def static_order(self, node, ctx: Ctx) -> int:
        """DELAY N / SMOOTH N order: fixed when the model initialises, so evaluated at INITIAL TIME."""
        try:
            value = self.static_value(node, ctx)
        except NotStatic:
            raise UnsupportedFeatureError(
                f"{self.path}: variable {ctx.owner_name!r}: the order of DELAY N/SMOOTH N must be computable "
                "from constants at the initial time") from None
        if not (np.isfinite(value) and 1 <= int(value) <= MAX_ORDER):
            raise ModelLoadError(
                f"{self.path}: variable {ctx.owner_name!r}: the order of DELAY N/SMOOTH N is {value:g}; "
                f"it must be between 1 and {MAX_ORDER}")
        return int(value)

    def static_value(self, node, ctx: Ctx, seen: frozenset = frozenset()) -> float:
        """A scalar expression of constants, evaluated at the initial time (model defaults)."""
        sub = Ctx(axes=(), mode="init", owner=ctx.owner, owner_name=ctx.owner_name)
        expr = self.lower.expr(node, sub)

        def value_of(idx: int) -> float:
            v = self.by_idx[idx]
            if v.dims or v.kind == "lookup" or idx in seen or v.is_stock or v.series:
                raise NotStatic
            comp = v.element.components[0]
            if v.kind == "const":
                if self.overrides.get(idx) == "const":
                    raise NotStatic
                return float(np.ravel(np.asarray(comp.ast, dtype=float))[0])
            return self.static_value(comp.ast, ctx, seen | {idx})

        return evaluate(expr, value_of, t0=self._control_literal("initial_time", 0.0),
                        dt=self._control_literal("time_step", 1.0))

    def _control_literal(self, key: str, default: float) -> float:
        v = self.vars.get(key)
        if v is not None and v.kind == "const":
            return float(np.ravel(np.asarray(v.element.components[0].ast, dtype=float))[0])
        return default

    # ------------------------------------------------------------------ lowering
    def _data_pieces(self, var: VarDecl) -> tuple[Piece, ...]:
        """A variable with GET ... DATA equations: their time series read like a lookup of Time;
        its other equations (numbers, GET ... CONSTANTS) as usual."""
        where = f"{self.path}: variable {var.name!r}"
        comps = var.element.components
        data = [c for c in comps if c.is_data]
        mode, tables = self.reader.data(var, data, where)
        unused = Table(x=(0.0,), y=(0.0,))  # cells an equation gives no series never read their table
        self._data_tables[var.idx] = tuple(t if t is not None else unused for t in tables)
        pieces = []
        for comp in comps:
            axes = self.dims.lhs_axes(comp.lhs)
            shape = tuple(len(a[1]) for a in axes)
            cells = self.dims.piece_cells(var.dims, var.shape, comp.lhs, comp.excepts)
            if comp.is_data and type(comp.ast).__name__ == "ReferenceStructure":
                expr: Expr = self._data_alias(var, comp, axes, mode)
            elif comp.is_data:
                index = tuple(Axis(axis=p, elements=tuple(self.space.ranges[d].index(e) for e in axes[p][1]))
                              for p, d in enumerate(var.dims))
                expr = Lookup(source=("var", var.idx), index=index, x=Time(), mode=mode)
            elif _component_kind(comp) == "get_constants":
                values = self.reader.constant_piece(var, comp, where)
                expr = self.lower.array(values, Ctx(axes=axes, mode="run", owner=var.idx, owner_name=var.name)) \
                    if var.dims else Num(float(np.ravel(values)[0]))
            else:
                expr = self.lower.expr(comp.ast, Ctx(axes=axes, mode="run", owner=var.idx, owner_name=var.name))
            pieces.append(Piece(shape=shape, run=expr, init=expr, cells=cells))
        return tuple(pieces)

    def _data_alias(self, var: VarDecl, comp, axes, mode: str) -> Expr:
        """``x := y`` with y a data variable: y's series read with x's keyword (x :RAW: := y gives
        :NA: between y's points), following a chain of such names to the series."""
        ctx = Ctx(axes=axes, mode="run", owner=var.idx, owner_name=var.name)
        node, seen = comp.ast, {var.idx}
        while True:
            target = self.lookup_var(normalize(node.reference), ctx)
            comps = target.element.components
            if target.idx in seen or not all(c.is_data for c in comps):
                raise UnsupportedFeatureError(f"{self.path}: variable {var.name!r} is a DATA equation naming "
                                              f"{target.name!r}, which is not a data variable: not supported")
            seen.add(target.idx)
            if self.overrides.get(target.idx) is not None:  # replaced by a series for this run
                return Ref(var=target.idx, index=self.dims.index(
                    target.name, target.dims, node.subscripts.subscripts if node.subscripts else None, ctx))
            if len(comps) == 1 and type(comps[0].ast).__name__ == "ReferenceStructure" and not target.dims:
                node = comps[0].ast
                continue
            subs = node.subscripts.subscripts if node.subscripts is not None else None
            index = self.dims.index(target.name, target.dims, subs, ctx) if target.dims else ()
            return Lookup(source=("var", target.idx), index=index, x=Time(), mode=mode)

    def _pieces(self, var: VarDecl) -> tuple[Piece, ...]:
        if var.external:
            return self._data_pieces(var)
        pieces = []
        for comp in var.element.components:
            axes = ((d, self.space.ranges[d]) for d in var.dims) if list(comp.lhs) == list(var.dims) \
                else self.dims.lhs_axes(comp.lhs)
            axes = tuple(axes)
            forms = {}
            for mode in ("run", "init"):
                ctx = Ctx(axes=axes, mode=mode, owner=var.idx, owner_name=var.name)
                forms[mode] = self.lower.expr(comp.ast, ctx)
            cells = self.dims.piece_cells(var.dims, var.shape, comp.lhs, comp.excepts)
            pieces.append(Piece(shape=tuple(len(a[1]) for a in axes), run=forms["run"], init=forms["init"],
                                cells=cells))
        return tuple(pieces)

    def build(self) -> ModelIR:
        lowered = {}
        for var in self.vars.values():
            if var.kind == "aux":
                lowered[var.idx] = self._pieces(var)
        while self._pending:  # a stateful's parts may hold further statefuls
            st.lower_parts(self, self._pending.pop(0))
        variables = tuple(
            Var(idx=v.idx, key=v.key, name=v.name, dims=v.dims, shape=v.shape, kind=v.kind,
                pieces=lowered.get(v.idx, ()), series=v.series, is_stock=v.is_stock)
            for v in sorted(self.vars.values(), key=lambda v: v.idx))
        defaults, lookup_tables = self._defaults()
        lookup_tables.update(self._data_tables)
        assert all(s is not None for s in self.states) and all(i is not None for i in self.initials)
        assert all(r is not None for r in self.registers)
        return ModelIR(path=str(self.path), vars=variables, states=tuple(self.states),  # type: ignore[arg-type]
                       initials=tuple(self.initials), tables=tuple(self.tables),  # type: ignore[arg-type]
                       registers=tuple(self.registers),  # type: ignore[arg-type]
                       switches=tuple(self.switches), noises=tuple(self.noises),
                       lookup_tables=lookup_tables, defaults=defaults)

    def _defaults(self) -> tuple[dict, dict]:
        """Constants' values (shape + (1,), scalars (1,)) and lookups' tables per flat cell."""
        consts: dict[int, np.ndarray] = {}
        tables: dict[int, tuple[Table, ...]] = {}
        for var in self.vars.values():
            el = var.element
            if var.kind == "const" and self.overrides.get(var.idx) is None and var.external:
                consts[var.idx] = self.reader.constants(var, el.components, f"{self.path}: variable {var.name!r}")
            elif var.kind == "const" and self.overrides.get(var.idx) is None:
                size = int(np.prod(var.shape)) if var.shape else 1
                flat = np.full((size, 1), np.nan)
                for comp in el.components:
                    cshape = tuple(len(self.space.elements(n)) for n in comp.lhs)
                    val = np.asarray(comp.ast, dtype=float)
                    if val.size == int(np.prod(cshape)) and val.shape != cshape:
                        val = val.reshape(cshape)
                    val = np.broadcast_to(val, cshape).reshape(-1)
                    cells = self.dims.piece_cells(var.dims, var.shape, comp.lhs, comp.excepts)
                    if cells is None:
                        flat[:, 0] = val
                    else:
                        for src, dst in cells:
                            flat[dst, 0] = val[src]
                consts[var.idx] = flat.reshape(var.shape + (1,)) if var.dims else flat.reshape(1)
            elif var.kind == "lookup":
                where = f"{self.path}: lookup {var.name!r}"
                cells_tab: list[Table | None] = [None] * (int(np.prod(var.shape)) if var.shape else 1)
                for comp in el.components:
                    if _component_kind(comp) == "get_lookups":
                        for k, t in enumerate(self.reader.lookups(var, [comp], where, partial=True)):
                            if t is not None:
                                cells_tab[k] = t
                        continue
                    tab = _table(comp.ast, where)
                    per_pos = [[self.space.ranges[var.dims[p]].index(e) for e in self.space.elements(n)]
                               for p, n in enumerate(comp.lhs)]
                    for cell in itertools.product(*per_pos):
                        cells_tab[int(np.ravel_multi_index(cell, var.shape)) if var.shape else 0] = tab
                # cells no equation defines are missing data: their lookups give NaN (:NA:)
                missing = Table(x=(0.0,), y=(float("nan"),))
                tables[var.idx] = tuple(t if t is not None else missing for t in cells_tab)
        return consts, tables


def _component_kind(comp) -> str:
    name = type(comp.ast).__name__
    if comp.is_data:
        return "data"
    if name == "GetLookupsStructure":
        return "get_lookups"
    if comp.is_lookup:
        return "lookup"
    if name == "GetConstantsStructure":
        return "get_constants"
    if isinstance(comp.ast, NUMBER_TYPES + (np.ndarray,)):
        return "number"
    return "equation"


def _table(lookups, where: str) -> Table:
    xs = np.asarray(lookups.x, dtype=float).ravel()
    ys = np.asarray(lookups.y, dtype=float).ravel()
    if len(xs) != len(ys) or len(xs) == 0:
        raise ModelLoadError(f"{where}: a lookup table needs as many x as y values, at least one")
    return Table(x=tuple(float(x) for x in xs), y=tuple(float(y) for y in ys))


def lower_model(src: ModelSource, overrides: dict[int, str] | None = None) -> ModelIR:
    """The IR of ``src``; ``overrides`` turns variables into parameters ("const") or time series."""
    try:
        return Builder(src, overrides).build()
    except ModelLoadError as exc:
        raise _with_line(exc, src) from None


def _with_line(exc: ModelLoadError, src: ModelSource) -> ModelLoadError:
    """``exc`` with the file line of the variable its message names ("<path>: variable 'x': ...")."""
    text = str(exc)
    head = f"{src.path}: "
    for kind in ("variable", "lookup"):
        start = f"{head}{kind} '"
        if not text.startswith(start):
            continue
        name = text[len(start):].split("'", 1)[0]
        el = src.elements.get(normalize(name))
        if el is not None and el.line:
            return type(exc)(f"{head}line {el.line}, {kind} '{text[len(start):]}")
    return exc
