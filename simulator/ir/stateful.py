"""Stateful functions expanded into explicit states, flows and initial values.

Each function written in an equation (INTEG, SMOOTH*, DELAY*, DELAY N, SMOOTH N, TREND, INITIAL)
becomes states of the equation's shape with a flow and an initial-time expression, plus an output
expression that the equation reads; the formulas (and their order of operations) are Vensim's and
pysd's, written here once:

* SMOOTH of order k: stages s_i' = (target_i - s_i) * k / T, target_0 = input, target_i = s_(i-1),
  every stage starting at the initial value; output s_(k-1).
* DELAY of order k: stages s_i' = (inflow_i - s_i / T) * k, inflow_0 = input,
  inflow_i = s_(i-1) / T, every stage starting at initial * T; output s_(k-1) / T.
* TREND: s' = (input - s) / T from input / (1 + initial trend * T); output ZIDZ(input - s, T * |s|).
* INTEG: s' = flow from the initial value; :NON-NEGATIVE: holds the flow at 0 while the stock is
  at or below 0 and reads the stock as max(s, 0).
* DELAY N: the order drops while order * TIME STEP exceeds the delay time at the initial time
  (pysd's rule). pysd applies it to DELAY1/DELAY3 too, which Vensim does not (SDXorg case
  ``arguments``: DELAY3 of 2 at TIME STEP 1 stays third-order). DELAY N with a delay time that changes during the run lets each
  stage keep the delay time it was filled with: stage i drains with the delay time of i steps
  ago (a shift register of delay times) and the output divides by last step's delay time.
* DELAY FIXED: a pipeline of round(delay time / TIME STEP) steps (at least 1), filled with the
  initial value; SAMPLE IF TRUE: one slot, replaced by the input at every step whose condition
  holds; the value read is the input while the condition holds, the slot otherwise. A condition
  or input that names the variable itself (``low = SAMPLE IF TRUE(x < low, x, x)``, a running
  minimum) reads the slot: Vensim computes SAMPLE IF TRUE like a level, so the name means the
  value held so far, not the value being computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace

from ..errors import UnsupportedFeatureError
from .dims import Ctx
from .nodes import (
    Binary,
    ByClock,
    DiscreteRef,
    Expr,
    If,
    Initial,
    InitialRef,
    Num,
    Ref,
    Register,
    State,
    StateRef,
    TimeStep,
    Unary,
)
from .vensim import zidz

# role names of each function's arguments in pysd's abstract syntax
PARTS = {
    "integ": {"flow": "flow", "init": "initial"},
    "smooth": {"input": "input", "time": "smooth_time", "init": "initial"},
    "delay": {"input": "input", "time": "delay_time", "init": "initial"},
    "delay_n": {"input": "input", "time": "delay_time", "init": "initial"},
    "delay_fixed": {"input": "input", "time": "delay_time", "init": "initial"},
    "sample": {"cond": "condition", "input": "input", "init": "initial"},
    "trend": {"input": "input", "time": "average_time", "init": "initial_trend"},
    "initial": {"init": "initial"},
}


@dataclass
class Stateful:
    """A stateful function being lowered: where it was written and the states it owns."""

    kind: str
    order: int
    owner: int
    owner_name: str
    axes: tuple
    parts: dict  # role -> syntax tree
    non_negative: bool = False
    sids: list = field(default_factory=list)
    iid: int = -1
    rid: int = -1
    length: int = 0  # register slots
    special: tuple = ()  # SINTEG's (min, max, quant, spec, thresh), NaN where not given

    def ctx(self, mode: str) -> Ctx:
        return Ctx(axes=self.axes, mode=mode, owner=self.owner, owner_name=self.owner_name)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a[1]) for a in self.axes)


def register(builder, node, ctx: Ctx, kind: str, order: int) -> Stateful:
    rec = Stateful(kind=kind, order=order, owner=ctx.owner, owner_name=ctx.owner_name, axes=ctx.axes,
                   parts={role: getattr(node, attr) for role, attr in PARTS[kind].items()},
                   non_negative=bool(getattr(node, "non_negative", False)))
    if kind == "delay_n":
        rec.order = _short_delay_order(builder, rec)
        if builder.varies(rec.parts["time"]):
            rec.length = max(rec.order - 1, 1)
        else:
            rec.kind = "delay"  # a delay time fixed for the run: DELAY N is DELAY of its order
    if kind == "initial":
        rec.iid = builder.new_initial()
        return rec
    if kind == "delay_fixed":
        rec.length = _pipeline_length(builder, rec)
    elif kind == "sample":
        rec.length = 1
    else:
        rec.sids = [builder.new_state() for _ in range(rec.order if rec.kind in ("smooth", "delay", "delay_n")
                                                       else 1)]
    if rec.length:
        rec.rid = builder.new_register()
    return rec


def _special_flow(s: Expr, flow: Expr, special: tuple) -> Expr:
    """SINTEG's restrictions as a flow: a fixed step lands on the restricted value of
    ``s + dt * flow`` (kept within [min, max], a multiple of quant, snapped to spec within thresh);
    an adaptive solver gets the flow stopped at the bounds (the continuous form of the same)."""
    lo, hi, quant, spec, thresh = special
    x: Expr = Binary("+", s, Binary("*", TimeStep(), flow))
    if quant == quant:  # the nearest multiple, halves away from zero
        units = Binary("/", x, Num(quant))
        nearest = If(Binary(">=", units, Num(0.0)), Unary("trunc", Binary("+", units, Num(0.5))),
                     Unary("trunc", Binary("-", units, Num(0.5))))
        x = Binary("*", Num(quant), nearest)
    if lo == lo:
        x = Binary("max", x, Num(lo))
    if hi == hi:
        x = Binary("min", x, Num(hi))
    if spec == spec and thresh == thresh:
        x = If(Binary("<", Unary("abs", Binary("-", x, Num(spec))), Num(thresh)), Num(spec), x)
    fixed = Binary("/", Binary("-", x, s), TimeStep())
    adaptive = flow
    if lo == lo:
        adaptive = If(Binary("and", Binary("<=", s, Num(lo)), Binary("<", flow, Num(0.0))), Num(0.0), adaptive)
    if hi == hi:
        adaptive = If(Binary("and", Binary(">=", s, Num(hi)), Binary(">", flow, Num(0.0))), Num(0.0), adaptive)
    return ByClock(fixed=fixed, adaptive=adaptive)


def _init_scalar(builder, rec: Stateful, role: str) -> float | None:
    """A part's value at the initial time when it is a scalar of constants, else None."""
    from ..errors import ModelLoadError
    from .evaluate import NotStatic

    try:
        return builder.static_value(rec.parts[role], rec.ctx("init"))
    except (NotStatic, ModelLoadError):
        return None


def _short_delay_order(builder, rec: Stateful) -> int:
    time = _init_scalar(builder, rec, "time")
    dt = builder.time_step()
    order = rec.order
    if time is not None and dt is not None:
        while order > 1 and order * dt > time:
            order -= 1
    return order


def _pipeline_length(builder, rec: Stateful) -> int:
    time = _init_scalar(builder, rec, "time")
    dt = builder.time_step()
    if time is None or dt is None or not time == time:
        raise UnsupportedFeatureError(
            f"{builder.path}: variable {rec.owner_name!r}: the delay time of DELAY FIXED must be computable "
            "from constants at the initial time")
    n = round(max(time / dt, 1.0) + 1e-6)
    from .build import MAX_PIPELINE

    if n > MAX_PIPELINE:
        raise UnsupportedFeatureError(
            f"{builder.path}: variable {rec.owner_name!r}: DELAY FIXED of {n} steps; at most {MAX_PIPELINE}")
    return n


def output(builder, rec: Stateful, ctx: Ctx) -> Expr:
    """What the equation reads, in ``ctx``'s mode."""
    if rec.kind == "initial":
        return InitialRef(rec.iid)
    if rec.kind == "delay_fixed":
        return DiscreteRef(rec.rid, rec.length - 1)
    if rec.kind == "sample":
        c = rec.ctx(ctx.mode)
        return If(_sample_part(builder, rec, "cond", c), _sample_part(builder, rec, "input", c),
                  DiscreteRef(rec.rid, 0))
    last = StateRef(rec.sids[-1])
    if rec.kind == "delay_n":
        return Binary("/", last, DiscreteRef(rec.rid, 0))
    if rec.kind == "integ" and rec.special:  # an adaptive step may pass a bound: read within them
        lo, hi = rec.special[:2]
        held = Binary("max", last, Num(lo)) if lo == lo else last
        return Binary("min", held, Num(hi)) if hi == hi else held
    if rec.kind == "integ":
        return Binary("max", last, Num(0.0)) if rec.non_negative else last
    if rec.kind == "smooth":
        return last
    time = builder.lower.expr(rec.parts["time"], rec.ctx(ctx.mode))
    if rec.kind == "delay":
        return Binary("/", last, time)
    inp = builder.lower.expr(rec.parts["input"], rec.ctx(ctx.mode))
    return zidz(Binary("-", inp, last), Binary("*", time, Unary("abs", last)))


def lower_parts(builder, rec: Stateful) -> None:
    """Flows and initial values of ``rec``'s states (or its INITIAL value)."""
    run, init = rec.ctx("run"), rec.ctx("init")

    def part(role: str, ctx: Ctx) -> Expr:
        return builder.lower.expr(rec.parts[role], ctx)

    shape = rec.shape
    if rec.kind in ("delay_fixed", "sample"):
        update = part("input", run)
        if rec.kind == "sample":
            update = If(_sample_part(builder, rec, "cond", run), _sample_part(builder, rec, "input", run),
                        DiscreteRef(rec.rid, 0))
        builder.set_register(Register(rid=rec.rid, owner=rec.owner, shape=shape, length=rec.length,
                                      init=part("init", init), update=update))
        return
    if rec.kind == "delay_n":
        builder.set_register(Register(rid=rec.rid, owner=rec.owner, shape=shape, length=rec.length,
                                      init=part("time", init), update=part("time", run)))
    if rec.kind == "initial":
        builder.set_initial(Initial(iid=rec.iid, owner=rec.owner, shape=shape, expr=part("init", init)))
        return
    if rec.kind == "integ":
        s = StateRef(rec.sids[0])
        flow: Expr = part("flow", run)
        if rec.non_negative:
            flow = If(Binary("and", Binary("<=", s, Num(0.0)), Binary("<", flow, Num(0.0))), Num(0.0), flow)
        if rec.special:
            flow = _special_flow(s, flow, rec.special)
        builder.set_state(State(sid=rec.sids[0], owner=rec.owner, shape=shape, flow=flow,
                                init=part("init", init), non_negative=rec.non_negative))
        return
    if rec.kind == "trend":
        s = StateRef(rec.sids[0])
        inp, time = part("input", run), part("time", run)
        start = Binary("/", part("input", init),
                       Binary("+", Num(1.0), Binary("*", part("init", init), part("time", init))))
        builder.set_state(State(sid=rec.sids[0], owner=rec.owner, shape=shape,
                                flow=Binary("/", Binary("-", inp, s), time), init=start))
        return
    inp, time = part("input", run), part("time", run)
    k = Num(float(rec.order))
    if rec.kind == "smooth":
        first_init = part("init", init)
    else:
        first_init = Binary("*", part("init", init), part("time", init))
    for i, sid in enumerate(rec.sids):
        s = StateRef(sid)
        prev = StateRef(rec.sids[i - 1]) if i else None
        if rec.kind == "smooth":
            target = inp if prev is None else prev
            flow = Binary("/", Binary("*", Binary("-", target, s), k), time)
        elif rec.kind == "delay":
            inflow = inp if prev is None else Binary("/", prev, time)
            flow = Binary("*", Binary("-", inflow, Binary("/", s, time)), k)
        else:  # each stage drains with the delay time it was filled with
            own = time if i == 0 else DiscreteRef(rec.rid, i - 1)
            before = time if i <= 1 else DiscreteRef(rec.rid, i - 2)
            inflow = inp if prev is None else Binary("/", prev, before)
            flow = Binary("*", Binary("-", inflow, Binary("/", s, own)), k)
        # later stages start where the first does: read its initial value, computed once
        begin: Expr = first_init if i == 0 else StateRef(rec.sids[0])
        builder.set_state(State(sid=sid, owner=rec.owner, shape=shape, flow=flow, init=begin))


def _sample_part(builder, rec: Stateful, role: str, ctx: Ctx) -> Expr:
    """A SAMPLE IF TRUE argument in which the variable's own cell reads the held slot."""
    expr = builder.lower.expr(rec.parts[role], ctx)
    var = builder.by_idx.get(rec.owner)
    if var is None:
        return expr
    own = Ref(var=var.idx, index=builder.dims.index(var.name, var.dims, None, ctx))
    return _substitute(expr, own, DiscreteRef(rec.rid, 0))


def _substitute(expr, old, new):
    if expr == old:
        return new
    if not is_dataclass(expr) or isinstance(expr, type):
        return expr
    changes = {}
    for f in fields(expr):
        value = getattr(expr, f.name)
        if is_dataclass(value):
            out = _substitute(value, old, new)
        elif isinstance(value, tuple) and any(is_dataclass(v) for v in value):
            out = tuple(_substitute(v, old, new) for v in value)
        else:
            continue
        if out is not value:
            changes[f.name] = out
    return replace(expr, **changes) if changes else expr
