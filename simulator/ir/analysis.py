"""Facts about a model read from its IR: dependencies, what changes during a run, evaluation
orders, state layout, and which values may carry NaN as data. The printers use these; nothing is
ever read back from generated code.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import AlgebraicLoopError, UnsupportedFeatureError
from .nodes import (
    Allocate,
    Binary,
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

Node = tuple[str, int]  # ("v", var idx) | ("s", state id) | ("i", initial id)


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of an expression tree, parents first."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, Unary):
            stack.append(e.arg)
        elif isinstance(e, Binary):
            stack += [e.right, e.left]
        elif isinstance(e, If):
            stack += [e.other, e.then, e.cond]
        elif isinstance(e, ByClock):
            stack += [e.adaptive, e.fixed]
        elif isinstance(e, Lookup):
            stack.append(e.x)
        elif isinstance(e, Reduce):
            stack.append(e.arg)
        elif isinstance(e, Let):
            stack += [e.body, e.value]
        elif isinstance(e, Vector):
            stack += [e.arg] + ([e.order] if e.order is not None else [])
        elif isinstance(e, Allocate):
            stack += [e.supply, e.width, e.priority, e.request]


def refs(expr: Expr) -> set[Node]:
    """Variables, states and initial values an expression reads."""
    out: set[Node] = set()
    for e in walk(expr):
        if isinstance(e, Ref):
            out.add(("v", e.var))
        elif isinstance(e, StateRef):
            out.add(("s", e.state))
        elif isinstance(e, InitialRef):
            out.add(("i", e.initial))
        elif isinstance(e, DiscreteRef):
            out.add(("r", e.register))
    return out


def lookups_read(expr: Expr) -> set[int]:
    return {e.source[1] for e in walk(expr) if isinstance(e, Lookup) and e.source[0] == "var"}


def moves_with_time(expr: Expr) -> bool:
    """True when the expression changes during a run by itself (time, a state, noise)."""
    return any(isinstance(e, (Time, SwitchTime, StateRef, DiscreteRef, Noise)) for e in walk(expr))


def reads_clock(expr: Expr) -> bool:
    """True when the value depends on the run's clock settings (TIME STEP, fixed or adaptive)."""
    return any(isinstance(e, (TimeStep, ByClock, SwitchTime, Noise)) for e in walk(expr))


def size(expr: Expr) -> int:
    return sum(1 for _ in walk(expr))


def unrolled(expr: Expr) -> int:
    """Nodes a scalar printer writes for one cell: a reduction repeats its argument per reduced cell."""
    if isinstance(expr, Reduce):
        return 1 + int(np.prod(expr.sizes)) * unrolled(expr.arg)
    return 1 + sum(unrolled(c) for c in _children(expr))


def _children(e: Expr) -> list:
    if isinstance(e, Unary):
        return [e.arg]
    if isinstance(e, Binary):
        return [e.left, e.right]
    if isinstance(e, If):
        return [e.cond, e.then, e.other]
    if isinstance(e, ByClock):
        return [e.fixed]
    if isinstance(e, Lookup):
        return [e.x]
    if isinstance(e, Let):
        return [e.value, e.body]
    if isinstance(e, Vector):
        return [e.arg] + ([e.order] if e.order is not None else [])
    if isinstance(e, Allocate):
        return [e.request, e.priority, e.width, e.supply]
    return []


@dataclass(frozen=True)
class Analysis:
    dynamic: frozenset  # var idx computed at every evaluation (the others once, at the initial time)
    run_order: tuple  # dynamic var idx, in evaluation order
    init_order: tuple  # nodes, in evaluation order at the initial time
    run_statics: tuple  # static var idx the run-time code reads
    offsets: tuple  # (start, stop) rows of each state in the state vector
    reg_offsets: tuple  # (start, stop) rows of each register (slot-major), after the states
    n_state: int  # rows of the state vector: states, then registers
    na_vars: frozenset  # var idx that may carry NaN as data (:NA:, missing values)
    strict_rows: np.ndarray  # state rows that must stay finite
    init_reads_clock: bool
    has_noise: bool
    run_size: int  # IR nodes evaluated per derivative evaluation, times cells (scalar work)
    run_nodes: int  # IR nodes evaluated per derivative evaluation (vectorised work)
    kernel_size: int  # IR nodes a scalar (numba) kernel writes out, all cells and reductions unrolled


def analyse(ir: ModelIR) -> Analysis:
    by_idx = {v.idx: v for v in ir.vars}
    run_deps: dict[Node, set[Node]] = {}
    init_deps: dict[Node, set[Node]] = {}
    moving: set[int] = set()
    for v in ir.vars:
        if v.kind == "lookup":
            continue
        node = ("v", v.idx)
        run_deps[node] = set().union(*(refs(p.run) for p in v.pieces)) if v.pieces else set()
        init_deps[node] = set().union(*(refs(p.init) for p in v.pieces)) if v.pieces else set()
        if v.series or any(moves_with_time(p.run) or p.run != p.init for p in v.pieces):
            moving.add(v.idx)
    for s in ir.states:
        init_deps[("s", s.sid)] = refs(s.init)
    for i in ir.initials:
        init_deps[("i", i.iid)] = refs(i.expr)
    for r in ir.registers:
        init_deps[("r", r.rid)] = refs(r.init)

    dynamic: set[int] = set()
    seen: dict[int, bool] = {}

    def is_dynamic(idx: int) -> bool:
        if idx in seen:
            return seen[idx]
        seen[idx] = False  # provisional: cycles are reported by the sort
        res = idx in moving or any(k == "v" and is_dynamic(j) for k, j in run_deps.get(("v", idx), ()))
        seen[idx] = res
        return res

    for v in ir.vars:
        if v.kind == "aux" or v.series:
            if is_dynamic(v.idx):
                dynamic.add(v.idx)
    _static_control(ir, dynamic)
    names = {("v", v.idx): repr(v.name) for v in ir.vars}
    for s in ir.states:
        names[("s", s.sid)] = f"a stock or delay in {by_idx[s.owner].name!r}"
    for i in ir.initials:
        names[("i", i.iid)] = f"INITIAL in {by_idx[i.owner].name!r}"
    for r in ir.registers:
        names[("r", r.rid)] = f"a DELAY FIXED or SAMPLE IF TRUE in {by_idx[r.owner].name!r}"
    dyn_nodes = [("v", i) for i in sorted(dynamic)]
    # dependencies in sorted order: the same model gives the same evaluation order (and so the same
    # kernel source, which the disk cache finds) whatever the process's string hash seed
    run_order = _toposort(dyn_nodes, lambda n: sorted(d for d in run_deps[n] if d[0] == "v" and d[1] in dynamic),
                          names, f"{ir.path}: algebraic loop (a cycle of auxiliaries not broken by a stock)")
    all_nodes = sorted(init_deps)
    init_order = _toposort(all_nodes, lambda n: sorted(init_deps[n]), names,
                           f"{ir.path}: initialisation loop (initial values that depend on each other)")
    statics: set[int] = set()
    for idx in dynamic:
        statics |= {j for k, j in run_deps[("v", idx)] if k == "v" and j not in dynamic}
    for e in [s.flow for s in ir.states] + [r.update for r in ir.registers]:
        statics |= {j for k, j in refs(e) if k == "v" and j not in dynamic}
    offsets, off = [], 0
    for s in ir.states:
        n = int(np.prod(s.shape)) if s.shape else 1
        offsets.append((off, off + n))
        off += n
    reg_offsets = []
    for r in ir.registers:
        n = r.length * (int(np.prod(r.shape)) if r.shape else 1)
        reg_offsets.append((off, off + n))
        off += n
    na = _na_nodes(ir, run_deps, init_deps)
    strict = np.ones(off, dtype=bool)
    for s, (a, b) in zip(ir.states, offsets):
        strict[a:b] = ("s", s.sid) not in na
    for r, (a, b) in zip(ir.registers, reg_offsets):
        strict[a:b] = ("r", r.rid) not in na
    init_exprs = [p.init for v in ir.vars for p in v.pieces] + [s.init for s in ir.states] + \
        [i.expr for i in ir.initials] + [r.init for r in ir.registers]
    run_size = sum(size(p.run) * (int(np.prod(p.shape)) if p.shape else 1)
                   for i in dynamic for p in by_idx[i].pieces)
    run_size += sum(size(s.flow) * (int(np.prod(s.shape)) if s.shape else 1) for s in ir.states)
    run_nodes = sum(size(p.run) for i in dynamic for p in by_idx[i].pieces) + sum(size(s.flow) for s in ir.states)
    run_nodes += sum(size(r.update) for r in ir.registers)
    cells = [(p.run, p.shape) for v in ir.vars if v.kind == "aux" for p in v.pieces] + \
        [(s.flow, s.shape) for s in ir.states] + [(r.update, r.shape) for r in ir.registers]
    kernel_size = sum(unrolled(e) * (int(np.prod(shape)) if shape else 1) for e, shape in cells)
    return Analysis(
        dynamic=frozenset(dynamic), run_order=tuple(n[1] for n in run_order), init_order=tuple(init_order),
        run_statics=tuple(sorted(j for j in statics if by_idx[j].kind != "lookup")), offsets=tuple(offsets),
        reg_offsets=tuple(reg_offsets),
        n_state=off, na_vars=frozenset(i for k, i in na if k == "v"), strict_rows=strict,
        init_reads_clock=any(reads_clock(e) for e in init_exprs) or bool(ir.noises),
        has_noise=bool(ir.noises), run_size=run_size, run_nodes=run_nodes, kernel_size=kernel_size)


# the control values, as pysd's translator names them
CONTROL_KEYS = ("initial_time", "final_time", "time_step", "saveper")


def _static_control(ir: ModelIR, dynamic: set[int]) -> None:
    """Refuse a control value that changes during the run (it reads Time, a stock or a variable that
    does): the engine fixes the time grid before the run, so it would silently use the first value."""
    for v in ir.vars:
        if v.key in CONTROL_KEYS and v.idx in dynamic:
            raise UnsupportedFeatureError(
                f"{ir.path}: {v.name} changes during the run (its equation reads Time, a stock or a "
                f"variable that changes): a control value that changes is not supported; give "
                f"{v.name} a constant value")


def dependencies(ir: ModelIR) -> dict[int, set[int]]:
    """Variable -> the variables its equations read, through its own stocks' flows and initial
    values, lookups included."""
    owned: dict[int, list[Expr]] = {}
    for s in ir.states:
        owned.setdefault(s.owner, []).extend([s.flow, s.init])
    for i in ir.initials:
        owned.setdefault(i.owner, []).append(i.expr)
    for r in ir.registers:
        owned.setdefault(r.owner, []).extend([r.init, r.update])
    out: dict[int, set[int]] = {}
    for v in ir.vars:
        exprs = [e for p in v.pieces for e in (p.run, p.init)] + owned.get(v.idx, [])
        deps: set[int] = set()
        for e in exprs:
            deps |= {j for k, j in refs(e) if k == "v"} | lookups_read(e)
        deps.discard(v.idx)
        out[v.idx] = deps
    return out


def _na_nodes(ir: ModelIR, run_deps, init_deps) -> set[Node]:
    """Nodes whose values may hold NaN as data: they read Vensim's :NA:, a constant or lookup with
    missing values, or something that does (NaN made by arithmetic, such as 0/0, never is)."""
    na: set[Node] = set()
    na_tables = {idx for idx, tabs in ir.lookup_tables.items() if any(np.isnan(t.y).any() for t in tabs)}
    deps: dict[Node, set[Node]] = {}
    for v in ir.vars:
        node = ("v", v.idx)
        if v.kind == "const":
            d = ir.defaults.get(v.idx)
            if d is not None and np.isnan(np.asarray(d, dtype=float)).any():
                na.add(node)
        elif v.kind == "aux":
            exprs = [e for p in v.pieces for e in (p.run, p.init)]
            if any(_has_na(e, na_tables) for e in exprs) or not _covers(v):
                na.add(node)
            deps[node] = run_deps[node] | init_deps[node]
    for s in ir.states:
        node = ("s", s.sid)
        if _has_na(s.flow, na_tables) or _has_na(s.init, na_tables):
            na.add(node)
        deps[node] = refs(s.flow) | refs(s.init)
    for i in ir.initials:
        node = ("i", i.iid)
        if _has_na(i.expr, na_tables):
            na.add(node)
        deps[node] = refs(i.expr)
    for r in ir.registers:
        node = ("r", r.rid)
        if _has_na(r.init, na_tables) or _has_na(r.update, na_tables):
            na.add(node)
        deps[node] = refs(r.init) | refs(r.update)
    changed = True
    while changed:
        changed = False
        for node, ds in deps.items():
            if node not in na and ds & na:
                na.add(node)
                changed = True
    return na


def _covers(var) -> bool:
    """True when the variable's equations define every one of its cells."""
    if any(p.cells is None for p in var.pieces):
        return True
    size = int(np.prod(var.shape)) if var.shape else 1
    return len({dst for p in var.pieces for _, dst in p.cells}) == size


def _has_na(expr: Expr, na_tables: set[int]) -> bool:
    for e in walk(expr):
        if isinstance(e, Num) and np.isnan(e.value):
            return True
        if isinstance(e, Cells) and np.isnan(e.values).any():
            return True
        if isinstance(e, Lookup) and (e.mode == "raw" or (e.source[0] == "var" and e.source[1] in na_tables)):
            return True
    return False


def _toposort(nodes, deps_of, names, what: str) -> list:
    order, state = [], {}
    allowed = set(nodes)
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
                raise AlgebraicLoopError(f"{what}: " + " -> ".join(names.get(c, str(c)) for c in cyc))
            if s is None:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(deps_of(nxt))))
    return order
