"""Compile a :class:`~simulator.loader.ModelSource` into vectorised numpy functions.

The product, :class:`Program`, holds three generated functions and the data they need:

* ``init(P, t0, C, M) -> (y0, S)``: every value at the initial time; ``S`` caches values that do
  not change during the run (constants' derived values, INITIAL, random noise);
* ``rhs(t, y, P, S, C) -> dy``: derivatives of the state array ``y`` (n_state, members);
* ``values(t, y, P, S, C) -> dict``: every variable at one time, for output.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from . import runtime as rt
from .codegen import Context, ExprCompiler, Stateful
from .errors import AlgebraicLoopError, ModelLoadError, UnsupportedFeatureError
from .loader import Element, ModelSource
from .names import normalize, suggest

BANG = "!"  # suffix of the name of an axis that a reduction sums over
NUMBER_TYPES = (int, float, np.integer, np.floating, np.ndarray, bool, np.bool_)


@dataclass
class VarInfo:
    idx: int
    key: str
    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    kind: str  # const | lookup | aux
    element: Element
    is_stock: bool = False
    static: bool = True


@dataclass
class Program:
    """A compiled model variant (pure data + generated functions)."""

    vars: dict[str, VarInfo]
    order: list[VarInfo]
    statefuls: list[Stateful]
    blocks: list[tuple[int, int, int, tuple]]  # (sid, start, stop, shape incl. order axis)
    n_state: int
    defaults: dict[int, object]
    init: object
    rhs: object
    values: object
    switches: object
    run_order: list[tuple[str, int]]
    source_text: str
    stock_names: list[str] = field(default_factory=list)
    compiler: object = None  # the Compiler (syntax trees, layout) for other code generators
    init_uses_clock: bool = True  # False: init() gives the same values whatever the clock says


class _NotStatic(Exception):
    pass


class Compiler:
    def __init__(self, src: ModelSource, overrides: dict[int, str] | None = None):
        self.src = src
        self.path = src.path
        self.space = src.subscripts
        self.overrides = overrides or {}  # var idx -> "series" | "const"
        self.ns: dict[str, object] = {"np": np, "rt": rt}
        self.nconst = 0
        self.statefuls: list[Stateful] = []
        self.by_node: dict[int, Stateful] = {}
        self.slots = itertools.count(1_000_000)
        self.random_sites: list[tuple[int, str, tuple]] = []
        self.switch_sites: list = []
        self.ec = ExprCompiler(self)
        self.vars: dict[str, VarInfo] = {}
        self._declare()

    # ------------------------------------------------------------------ variables
    def _declare(self):
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
            if all(c.is_lookup for c in el.components):
                kind = "lookup"
            elif all(isinstance(c.ast, NUMBER_TYPES) for c in el.components):
                kind = "const"
            else:
                kind = "aux"
            over = self.overrides.get(i)
            if over == "const":
                kind = "const"
            info = VarInfo(idx=i, key=el.key, name=el.name, dims=tuple(dims), shape=shape, kind=kind,
                           element=el)
            info.is_stock = kind == "aux" and any(type(c.ast).__name__ == "IntegStructure"
                                                  for c in el.components)
            self.vars[el.key] = info

    def lookup_var(self, key: str, ctx: Context) -> VarInfo:
        var = self.vars.get(key)
        if var is None:
            raise ModelLoadError(f"{self.path}: variable {ctx.owner!r} refers to undefined name "
                                 f"{key!r}.{suggest(key, [v.name for v in self.vars.values()])}")
        return var

    def const(self, value) -> str:
        name = f"_k{self.nconst}"
        self.nconst += 1
        self.ns[name] = value
        return name

    def const_table(self, lk) -> str:
        xs = np.asarray(lk.x, dtype=float)
        ys = np.asarray(lk.y, dtype=float)
        return self.const((xs, ys))

    # ------------------------------------------------------------------ subscripts
    def _positions(self, var: VarInfo, subs, ctx: Context):
        raw = [normalize(s).strip() for s in subs] if subs else list(var.dims)
        if len(raw) != len(var.dims):
            raise ModelLoadError(f"{self.path}: variable {ctx.owner!r} refers to {var.name!r} with "
                                 f"{len(raw)} subscripts; it has {len(var.dims)}")
        out = []
        used = set()
        for i, r in enumerate(raw):
            s = r.rstrip("!").strip()
            dim_els = self.space.ranges[var.dims[i]]
            if self.space.is_range(s):
                j, els = self._match_axis(s, ctx, used, bang=r.endswith("!"))
                if j is None:
                    raise ModelLoadError(
                        f"{self.path}: variable {ctx.owner!r}: subscript {self.space.display.get(s, s)!r} "
                        f"of {var.name!r} matches no subscript of the left-hand side")
                used.add(j)
                try:
                    idx = [dim_els.index(e) for e in els]
                except ValueError:
                    raise ModelLoadError(
                        f"{self.path}: variable {ctx.owner!r}: subscript {self.space.display.get(s, s)!r} "
                        f"is not part of {var.name!r}'s range") from None
                out.append(("axis", j, idx))
            elif s in dim_els:
                out.append(("fixed", dim_els.index(s)))
            else:
                raise ModelLoadError(f"{self.path}: variable {ctx.owner!r}: {s!r} is not a subscript of "
                                     f"{var.name!r}")
        return out

    def _match_axis(self, s: str, ctx: Context, used: set, bang: bool = False):
        """The context axis a subscript ``s`` of a reference runs along.

        Axes added by a reduction (``SUM(x[Region!])``) are named ``region!`` and match only a
        reference that carries the bang; a plain ``Region`` inside the same reduction is the
        equation's own (outer) axis, as in Vensim.
        """
        axes = ctx.axes
        if bang:
            for j, (name, els) in enumerate(axes):
                if name == s + BANG and j not in used:
                    return j, els
        for j, (name, els) in enumerate(axes):
            if name == s and j not in used:
                return j, els
        for j, (name, els) in enumerate(axes):
            if name is not None and not name.endswith(BANG) and j not in used \
                    and self.space.maps(s, name) and len(self.space.ranges[s]) == len(els):
                return j, self.space.ranges[s]
        target = set(self.space.ranges[s])
        for exact in (True, False):
            for j, (name, els) in enumerate(axes):
                if name is None or name.endswith(BANG) or j in used:
                    continue
                if (set(els) == target) if exact else (set(els) <= target):
                    return j, els
        return None, None

    def _index_code(self, base: str, var: VarInfo, subs, ctx: Context) -> str:
        pos = self._positions(var, subs, ctx)
        n = len(ctx.axes)
        axes_pos = [p for p in pos if p[0] == "axis"]
        if len(axes_pos) == len(pos):
            js = [p[1] for p in pos]
            identity = all(p[2] == list(range(len(self.space.ranges[var.dims[k]])))
                           for k, p in enumerate(pos))
            if identity and js == list(range(n - len(js), n)):
                return base
        index = []
        for p in pos:
            if p[0] == "fixed":
                index.append(p[1])
            else:
                shp = [1] * n
                shp[p[1]] = len(p[2])
                index.append(np.asarray(p[2], dtype=np.intp).reshape(shp))
        return f"{base}[{self.const(tuple(index))}]"

    def reference(self, var: VarInfo, subs, ctx: Context) -> str:
        if not var.dims:
            return f"v{var.idx}"
        return self._index_code(f"v{var.idx}", var, subs, ctx)

    def table_ids(self, var: VarInfo, subs, ctx: Context) -> str:
        tid = np.arange(int(np.prod(var.shape))).reshape(var.shape + (1,))
        return self._index_code(self.const(tid), var, subs, ctx)

    def reduction_axes(self, arg, ctx: Context) -> list:
        """The axes a reduction (SUM, PROD, VMIN, VMAX) adds to its argument's context.

        Ranges marked with a bang (``x[Region!]``) are reduced, each as an axis named ``region!``;
        without a bang (XMILE style), the ranges that match no axis of ``ctx``.
        """
        bang: list = []
        self.collect_bang(arg, bang)
        if bang:
            return [(b + BANG, self.space.elements(b)) for b in bang]
        self.collect_free(arg, ctx, bang)
        return [(b, self.space.elements(b)) for b in bang]

    def collect_bang(self, node, out: list):
        from pysd.translators.structures import abstract_expressions as ae
        if isinstance(node, ae.ReferenceStructure) and node.subscripts is not None:
            for s in node.subscripts.subscripts:
                if s.endswith("!"):
                    k = normalize(s[:-1])
                    if k not in out:
                        out.append(k)
        if hasattr(node, "__dataclass_fields__"):
            for f in node.__dataclass_fields__:
                self.collect_bang(getattr(node, f), out)
        elif isinstance(node, (list, tuple)):
            for x in node:
                self.collect_bang(x, out)

    def collect_free(self, node, ctx: Context, out: list):
        """Ranges named in references of ``node`` that match no axis of ``ctx``."""
        from pysd.translators.structures import abstract_expressions as ae
        names = {a[0] for a in ctx.axes}
        if isinstance(node, ae.ReferenceStructure):
            var = self.vars.get(normalize(node.reference))
            if node.subscripts is not None:
                subs = [normalize(x).rstrip("!") for x in node.subscripts.subscripts]
            elif var is not None:
                subs = list(var.dims)
            else:
                subs = []
            for k in subs:
                if self.space.is_range(k) and k not in names and k not in out:
                    out.append(k)
        if hasattr(node, "__dataclass_fields__"):
            for f in node.__dataclass_fields__:
                self.collect_free(getattr(node, f), ctx, out)
        elif isinstance(node, (list, tuple)):
            for x in node:
                self.collect_free(x, ctx, out)

    def _position(self, elem: str) -> float:
        """1-based position of an element in its family: the largest range holding it."""
        best = max((els for els in self.space.ranges.values() if elem in els), key=len)
        return float(best.index(elem) + 1)

    def element_value(self, key: str) -> str:
        """An element used as a number (Vensim): its position in its family range."""
        return repr(self._position(key))

    def subscript_value(self, key: str, ctx: Context) -> str:
        """A subscript range used as a number: the 1-based position of the current element."""
        j, els = self._match_axis(key, ctx, set())
        if j is None:
            raise ModelLoadError(f"{self.path}: variable {ctx.owner!r} uses subscript "
                                 f"{self.space.display.get(key, key)!r} as a value outside its range")
        pos = np.asarray([self._position(e) for e in els], dtype=float)
        shp = [1] * len(ctx.axes) + [1]
        shp[j] = len(pos)
        return self.const(pos.reshape(shp))

    # ------------------------------------------------------------------ statefuls
    def stateful_for(self, node, kind, ctx, order, parts, non_negative):
        st = self.by_node.get(id(node))
        if st is None:
            if order < 1 and kind != "initial":
                raise ModelLoadError(f"{self.path}: variable {ctx.owner!r}: delay/smooth order must be >= 1")
            st = Stateful(sid=len(self.statefuls), kind=kind, owner=ctx.owner, axes=list(ctx.axes),
                          order=order, parts=parts, non_negative=non_negative,
                          shape=tuple(len(a[1]) for a in ctx.axes))
            self.statefuls.append(st)
            self.by_node[id(node)] = st
            if kind == "initial":
                st.code["slot"] = next(self.slots)
        return st

    def static_order(self, node, ctx) -> int:
        """DELAY N / SMOOTH N order: fixed when the model initialises, so evaluated at INITIAL TIME."""
        try:
            return int(self._init_value(node, ctx.owner, set()))
        except _NotStatic:
            raise UnsupportedFeatureError(
                f"{self.path}: variable {ctx.owner!r}: the order of DELAY N/SMOOTH N must be computable "
                "from constants at the initial time") from None

    def _init_value(self, node, owner, seen):
        sub = Context(axes=[], mode="init", owner=owner)
        code = self.ec.expr(node, sub)
        if sub.uses_random or any(d[0] == "s" for d in sub.deps):
            raise _NotStatic
        env = dict(self.ns)
        for d in sub.deps:
            v = self._by_idx(d[1])
            if v.dims or v.kind == "lookup" or v.idx in seen or v.is_stock:
                raise _NotStatic
            if v.kind == "const":
                env[f"v{v.idx}"] = float(np.ravel(np.asarray(v.element.components[0].ast, dtype=float))[0])
            else:
                env[f"v{v.idx}"] = self._init_value(v.element.components[0].ast, owner, seen | {v.idx})
        t0 = self._control_literal("initial_time", 0.0)
        env["t"] = t0
        env["C"] = rt.Clock(dt=self._control_literal("time_step", 1.0), fixed=True, t0=t0)
        # the text is engine-generated from the syntax tree (identifiers v<n>/_k<n>, floats)
        return float(np.ravel(eval(code, env))[0])  # noqa: S307

    def _control_literal(self, key, default):
        v = self.vars.get(key)
        if v is not None and v.kind == "const":
            return float(np.ravel(np.asarray(v.element.components[0].ast, dtype=float))[0])
        return default

    def random_site(self, fname, ctx) -> int:
        slot = next(self.slots)
        self.random_sites.append((slot, fname, tuple(len(a[1]) for a in ctx.axes)))
        return slot

    # ------------------------------------------------------------------ equations
    def _compile_var(self, var: VarInfo, mode: str):
        """Source lines assigning ``v{idx}``, and the context (deps, time use)."""
        el = var.element
        ctx = Context(axes=[], mode=mode, owner=el.name)
        i = var.idx
        if self.overrides.get(i) == "series":
            ctx.uses_time = True
            return [f"v{i} = rt.overridden(t, P[{i}])"], ctx
        if var.kind == "const":
            return [f"v{i} = P[{i}]"], ctx
        comps = el.components
        c0 = comps[0]
        if len(comps) == 1 and list(c0.lhs) == list(var.dims) and not c0.excepts:
            ctx.axes = [(d, self.space.ranges[d]) for d in var.dims]
            code = self.ec.expr(c0.ast, ctx)
            if var.dims:
                return [f"v{i} = rt.full({code}, {var.shape!r})"], ctx
            return [f"v{i} = {code}"], ctx
        lines, names = [], []
        for k, comp in enumerate(comps):
            ctx.axes = [(n if self.space.is_range(n) else None, self.space.elements(n)) for n in comp.lhs]
            code = self.ec.expr(comp.ast, ctx)
            lines.append(f"_c{k} = {code}")
            names.append(f"_c{k}")
        lines.append(f"v{i} = np.full({var.shape!r} + (rt.members({', '.join(names)}),), np.nan)")
        for k, comp in enumerate(comps):
            fidx, cidx, cshape = self._assign_index(var, comp)
            if cidx is None:
                lines.append(f"v{i}[{self.const(fidx)}] = _c{k}")
            else:
                lines.append(f"v{i}[{self.const(fidx)}] = rt.full(_c{k}, {cshape!r})[{self.const(cidx)}]")
        return lines, ctx

    def _assign_index(self, var: VarInfo, comp):
        """Where a component's values go in the variable's array.

        Returns ``(final_index, comp_index, comp_shape)``: numpy index tuples (the second is None
        for a plain rectangular block) over the variable's and the component's cells.
        """
        per_pos = []
        for p, n in enumerate(comp.lhs):
            dim_els = self.space.ranges[var.dims[p]]
            per_pos.append([dim_els.index(e) for e in self.space.elements(n)])
        comp_els = [self.space.elements(n) for n in comp.lhs]
        cshape = tuple(len(e) for e in comp_els)
        if not comp.excepts:
            return np.ix_(*per_pos), None, cshape
        excluded = set()
        for ex in comp.excepts:
            excluded.update(itertools.product(*[self.space.elements(e) for e in ex]))
        fi, ci = [], []
        for cell in itertools.product(*[range(len(e)) for e in comp_els]):
            names = tuple(comp_els[p][c] for p, c in enumerate(cell))
            if names in excluded:
                continue
            fi.append(tuple(per_pos[p][c] for p, c in enumerate(cell)))
            ci.append(cell)
        final_idx = tuple(np.asarray(col, dtype=np.intp) for col in zip(*fi))
        comp_idx = tuple(np.asarray(col, dtype=np.intp) for col in zip(*ci))
        return final_idx, comp_idx, cshape

    def _compile_stateful_parts(self, st: Stateful):
        for role, node in st.parts.items():
            for mode in ("run", "init"):
                if (role, mode) in st.code:
                    continue
                if role == "init" and mode == "run":
                    continue
                ctx = Context(axes=list(st.axes), mode=mode, owner=st.owner)
                st.code[(role, mode)] = self.ec.expr(node, ctx)
                st.deps[(role, mode)] = set(ctx.deps)
                st.code[(role, mode, "time")] = ctx.uses_time or ctx.uses_random

    # ------------------------------------------------------------------ assembly
    def compile(self) -> Program:
        var_code = {}
        for var in self.vars.values():
            if var.kind == "lookup":
                continue
            for mode in ("run", "init"):
                var_code[(var.idx, mode)] = self._compile_var(var, mode)
        done = 0
        while done < len(self.statefuls):  # parts may create nested statefuls
            self._compile_stateful_parts(self.statefuls[done])
            done += 1
        by_idx = {v.idx: v for v in self.vars.values()}

        def run_deps(node):
            kind, i = node
            if kind == "v":
                return var_code[(i, "run")][1].deps if (i, "run") in var_code else set()
            st = self.statefuls[i]
            if st.kind == "delay":
                return st.deps[("time", "run")]
            if st.kind == "trend":
                return st.deps[("input", "run")] | st.deps[("time", "run")]
            return set()

        def init_deps(node):
            kind, i = node
            if kind == "v":
                return var_code[(i, "init")][1].deps if (i, "init") in var_code else set()
            st = self.statefuls[i]
            deps = set(st.deps[("init", "init")])
            if st.kind in ("delay", "trend"):
                deps |= st.deps[("time", "init")]
            if st.kind == "trend":
                deps |= st.deps[("input", "init")]
            return deps

        # dynamic classification
        dynamic: dict = {}

        def is_dyn(node, stack=()):
            if node in dynamic:
                return dynamic[node]
            kind, i = node
            if kind == "s":
                res = self.statefuls[i].kind != "initial"
            else:
                var = by_idx[i]
                if var.kind == "lookup":
                    res = False
                elif (i, "run") in var_code and var_code[(i, "run")][1].uses_time:
                    res = True
                elif var.kind == "const":
                    res = False
                else:
                    dynamic[node] = False  # provisional, cycles are reported by the sort
                    res = any(is_dyn(d) for d in run_deps(node))
            dynamic[node] = res
            return res

        all_nodes = [("v", v.idx) for v in self.vars.values() if v.kind != "lookup"] + \
                    [("s", st.sid) for st in self.statefuls]
        for n in all_nodes:
            is_dyn(n)
        for v in self.vars.values():
            v.static = not dynamic.get(("v", v.idx), False)

        dyn_nodes = [n for n in all_nodes if dynamic[n]]
        run_order = self._toposort(dyn_nodes, lambda n: [d for d in run_deps(n) if dynamic.get(d)],
                                   "algebraic loop (a cycle of auxiliaries not broken by a stock)")
        init_order = self._toposort(all_nodes, lambda n: list(init_deps(n)),
                                    "initialisation loop (initial values that depend on each other)")
        # state layout
        blocks, off = [], 0
        for st in self.statefuls:
            if st.kind == "initial":
                continue
            shape = ((st.order,) if st.kind in ("smooth", "delay") else ()) + st.shape
            size = int(np.prod(shape)) if shape else 1
            blocks.append((st.sid, off, off + size, shape))
            off += size
        n_state = off
        defaults = self._defaults()
        src = self._emit(var_code, run_order, init_order, blocks, n_state, run_deps, init_deps, dynamic)
        code = compile(src, f"<compiled {self.path.name}>", "exec")
        ns = dict(self.ns)
        exec(code, ns)  # noqa: S102 - source built only from engine-made identifiers and floats
        order = sorted(self.vars.values(), key=lambda v: v.idx)
        return Program(vars=self.vars, order=order, statefuls=self.statefuls, blocks=blocks,
                       n_state=n_state, defaults=defaults, init=ns["_init"], rhs=ns["_rhs"],
                       values=ns["_values"], switches=ns["_switches"], run_order=run_order,
                       source_text=src,
                       stock_names=[v.name for v in order if v.is_stock], compiler=self,
                       init_uses_clock=bool(re.search(r"\bC\b", src[src.index(":", src.index("def _init")):
                                                                       src.index("def _rhs")])))

    def _toposort(self, nodes, deps_of, what):
        order, state = [], {}
        allowed = set(nodes)
        names = {("v", v.idx): v.name for v in self.vars.values()}

        def label(n):
            return names.get(n) or f"{self.statefuls[n[1]].kind.upper()} in {self.statefuls[n[1]].owner!r}"

        for root in nodes:
            if root in state:
                continue
            stack = [(root, iter(deps_of(root)))]
            state[root] = 1
            path = [root]
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    path.pop()
                    state[node] = 2
                    order.append(node)
                    continue
                if nxt not in allowed:
                    continue
                s = state.get(nxt)
                if s == 1:
                    cyc = path[path.index(nxt):] + [nxt]
                    raise AlgebraicLoopError(
                        f"{self.path}: {what}: " + " -> ".join(repr(label(c)) for c in cyc))
                if s is None:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append((nxt, iter(deps_of(nxt))))
        return order

    def _defaults(self) -> dict[int, object]:
        out = {}
        for var in self.vars.values():
            el = var.element
            if var.kind == "const" and self.overrides.get(var.idx) != "const":
                arr = np.full(var.shape + (1,), np.nan)
                for comp in el.components:
                    fidx, cidx, cshape = self._assign_index(var, comp)
                    val = np.asarray(comp.ast, dtype=float)
                    if val.size == int(np.prod(cshape)) and val.shape != cshape:
                        val = val.reshape(cshape)
                    val = np.broadcast_to(val, cshape)[..., None]
                    if cidx is not None:
                        arr[fidx] = val[cidx]
                    else:
                        arr[fidx] = val
                out[var.idx] = arr if var.dims else arr.reshape(1)
            elif var.kind == "lookup":
                tables = []
                for comp in el.components:
                    xs = np.asarray(comp.ast.x, dtype=float)
                    ys = np.asarray(comp.ast.y, dtype=float)
                    tables.append((comp, (xs, ys)))
                if not var.dims:
                    out[var.idx] = tables[0][1]
                else:
                    flat = [None] * int(np.prod(var.shape))
                    for comp, tab in tables:
                        per_pos = [[self.space.ranges[var.dims[p]].index(e) for e in self.space.elements(n)]
                                   for p, n in enumerate(comp.lhs)]
                        for cell in itertools.product(*per_pos):
                            flat[int(np.ravel_multi_index(cell, var.shape))] = tab
                    missing = [i for i, t in enumerate(flat) if t is None]
                    if missing:
                        raise ModelLoadError(f"{self.path}: lookup {var.name!r} is not defined for every "
                                             "subscript element")
                    out[var.idx] = flat
        return out

    def _emit(self, var_code, run_order, init_order, blocks, n_state, run_deps, init_deps, dynamic):
        block_of = {b[0]: b for b in blocks}
        L = []
        # ---------------- init
        L.append("def _init(P, t, C, M):")
        L.append("    S = {}")
        for slot, fname, shape in self.random_sites:
            L.append(f"    S[{slot}] = rt.make_noise(C, {fname!r}, {shape!r}, M, {slot})")
        for node in init_order:
            kind, i = node
            if kind == "v":
                lines, _ = var_code[(i, "init")]
                L += ["    " + ln for ln in lines]
                L.append(f"    S[{i}] = v{i}")
            else:
                L += ["    " + ln for ln in self._state_init(self.statefuls[i])]
        L.append(f"    y = np.empty(({n_state}, M))")
        for sid, a, b, shape in blocks:
            L.append(f"    y[{a}:{b}] = np.broadcast_to(st{sid}, {shape!r} + (M,)).reshape({b - a}, M)")
        L.append("    return y, S")
        # ---------------- run-time body shared by rhs and values
        body = []
        for sid, a, b, shape in blocks:
            if shape:
                body.append(f"    st{sid} = y[{a}:{b}].reshape({shape!r} + (y.shape[1],))")
            else:
                body.append(f"    st{sid} = y[{a}]")
        needed_static = set()
        for node in run_order:
            for d in run_deps(node):
                if not dynamic.get(d) and d[0] == "v":
                    needed_static.add(d[1])
        for st in self.statefuls:
            if st.kind == "initial":
                continue
            for key, deps in st.deps.items():
                if key[1] == "run":
                    needed_static |= {d[1] for d in deps if d[0] == "v" and not dynamic.get(d)}
        load = [f"    v{i} = S[{i}]" for i in sorted(needed_static)
                if self._by_idx(i).kind != "lookup"]
        initial_loads = [f"    s{st.sid} = S[{st.code['slot']}]" for st in self.statefuls if st.kind == "initial"]
        compute = []
        for kind, i in run_order:
            if kind == "v":
                compute += ["    " + ln for ln in var_code[(i, "run")][0]]
            else:
                compute.append("    " + self._state_output(self.statefuls[i], "run"))
        L.append("def _rhs(t, y, P, S, C):")
        L += body + load + initial_loads + compute
        L.append("    dy = np.empty_like(y)")
        for st in self.statefuls:
            if st.kind == "initial":
                continue
            sid, a, b, shape = block_of[st.sid]
            d = self._state_ddt(st)
            if shape:
                L.append(f"    dy[{a}:{b}].reshape({shape!r} + (y.shape[1],))[...] = {d}")
            else:
                L.append(f"    dy[{a}] = {d}")
        L.append("    return dy")
        # ---------------- values at one time
        L.append("def _values(t, y, P, S, C):")
        L += body + load + initial_loads + compute
        out = []
        for v in self.vars.values():
            if v.kind == "lookup":
                continue
            src = f"v{v.idx}" if dynamic.get(("v", v.idx)) else f"S[{v.idx}]"
            out.append(f"{v.idx}: {src}")
        L.append("    return {" + ", ".join(out) + "}")
        # ---------------- switch times of STEP/RAMP/PULSE with run-constant arguments
        L.append("def _switches(P, S, C, t_end):")
        L.append("    out = []")
        for fname, codes, deps, timed in self.switch_sites:
            if timed or any(dynamic.get(d) for d in deps):
                continue
            loads = sorted({d[1] for d in deps if d[0] == "v" and self._by_idx(d[1]).kind != "lookup"})
            L += [f"    v{i} = S[{i}]" for i in loads]
            L.append(f"    out += rt.site_times({fname!r}, t_end, {', '.join(codes)})")
        L.append("    return out")
        return "\n".join(L) + "\n"

    def _by_idx(self, i):
        for v in self.vars.values():
            if v.idx == i:
                return v
        raise KeyError(i)

    def _state_init(self, st: Stateful) -> list[str]:
        c = st.code
        sid = st.sid
        full = st.shape
        if st.kind == "initial":
            return [f"s{sid} = {c[('init', 'init')]}", f"S[{c['slot']}] = s{sid}"]
        if st.kind == "integ":
            lines = [f"st{sid} = rt.full({c[('init', 'init')]}, {full!r})"]
        elif st.kind == "smooth":
            lines = [f"st{sid} = np.broadcast_to(rt.full({c[('init', 'init')]}, {full!r}), "
                     f"({st.order},) + {full!r} + (M,))"]
        elif st.kind == "delay":
            lines = [f"st{sid} = np.broadcast_to(rt.full(({c[('init', 'init')]}) * ({c[('time', 'init')]}), "
                     f"{full!r}), ({st.order},) + {full!r} + (M,))"]
        else:  # trend
            lines = [f"st{sid} = rt.full(({c[('input', 'init')]}) / (1 + ({c[('init', 'init')]}) * "
                     f"({c[('time', 'init')]})), {full!r})"]
        lines.append(self._state_output(st, "init"))
        return lines

    def _state_output(self, st: Stateful, mode: str) -> str:
        sid, c = st.sid, st.code
        if st.kind == "integ":
            return f"s{sid} = np.maximum(st{sid}, 0.0)" if st.non_negative else f"s{sid} = st{sid}"
        if st.kind == "smooth":
            return f"s{sid} = st{sid}[-1]"
        if st.kind == "delay":
            return f"s{sid} = st{sid}[-1] / ({c[('time', mode)]})"
        if st.kind == "trend":
            return f"s{sid} = rt.zidz(({c[('input', mode)]}) - st{sid}, ({c[('time', mode)]}) * np.abs(st{sid}))"
        return f"s{sid} = S[{c['slot']}]"

    def _state_ddt(self, st: Stateful) -> str:
        sid, c = st.sid, st.code
        if st.kind == "integ":
            if st.non_negative:
                return f"np.where((st{sid} <= 0) & (({c[('flow', 'run')]}) < 0), 0.0, {c[('flow', 'run')]})"
            return c[("flow", "run")]
        if st.kind == "smooth":
            return f"rt.smooth_ddt(st{sid}, {c[('input', 'run')]}, {c[('time', 'run')]}, {st.order})"
        if st.kind == "delay":
            return f"rt.delay_ddt(st{sid}, {c[('input', 'run')]}, {c[('time', 'run')]}, {st.order})"
        return f"(({c[('input', 'run')]}) - st{sid}) / ({c[('time', 'run')]})"
