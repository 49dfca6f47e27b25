"""Hypothesis strategies for small random Vensim models (the grammar of the differential tests).

A model has up to two subscript ranges (``A: a1..a3`` with subrange ``SubA: a1, a2``, and
``B: b1, b2``), constants (scalar, per element, 2-D tables), auxiliaries, stocks, lookups and
stateful functions, written so that its values stay finite and away from ties:

- every variable reads only variables defined before it, except stocks, which can be read by any
  equation and whose flows may read anything (so no algebraic loop can arise);
- stocks goal-seek towards a target clamped to [-10, 10]: ``INTEG((target - s) / tau, init)``;
- EXP, LN, SQRT and divisions are applied to arguments made safe (``EXP(-ABS(x))``,
  ``LN(ABS(x) + 1)``, ``x / (ABS(y) + 1)``); MODULO divides by a positive number;
- delay and smoothing times are at least order x TIME STEP (Euler stays stable and neither
  pysd's nor Vensim's rule for lowering a delay's order applies);
- numbers always carry a fractional part (pysd keeps integer initial values as integer state);
- times of STEP, RAMP and PULSE are multiples of 1/4, as are TIME STEP and SAVEPER, so that
  Time is exact in binary and both tools agree on which step a switch happens in.

pysd runs these models inside ``difftools.pysd_compat()`` (two of its faults would otherwise
stop it on ordinary subscripted models). ``GeneratedModel.features`` names what the model uses, for the frequency table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

RANGES = {"A": ["a1", "a2", "a3"], "SubA": ["a1", "a2"], "B": ["b1", "b2"]}
DIM_CHOICES = [(), (), ("A",), ("B",), ("A", "B"), ("SubA",)]
COMPARE = [">", "<", ">=", "<=", "<>"]


@dataclass
class Var:
    name: str
    dims: tuple[str, ...]
    kind: str  # const | aux | stock | lookup


@dataclass
class GeneratedModel:
    equations: list[str]
    final_time: float
    time_step: float
    saveper: float
    features: set[str] = field(default_factory=set)
    uses_subscripts: bool = False

    def text(self) -> str:
        ranges = ""
        if self.uses_subscripts:
            ranges = ("A:\n\ta1, a2, a3\n\t~\t\n\t~\t\t|\n\n"
                      "SubA:\n\ta1, a2\n\t~\t\n\t~\t\t|\n\n"
                      "B:\n\tb1, b2\n\t~\t\n\t~\t\t|\n\n")
        return ranges + "".join(self.equations)


def num(draw, lo: float = 0.1, hi: float = 5.0) -> str:
    """A literal with a fractional part, negative ones in parentheses."""
    v = draw(st.integers(int(lo * 100), int(hi * 100))) / 100
    if float(v).is_integer():
        v += 0.25
    return f"({v:.2f})" if v < 0 else f"{v:.2f}"


def quarter(draw, lo: float, hi: float) -> str:
    return f"{draw(st.integers(int(lo * 4), int(hi * 4))) / 4:.2f}"


def block(lhs: str, rhs: str) -> str:
    return f"{lhs} =\n\t{rhs}\n\t~\t\n\t~\t\t|\n\n"


class Builder:
    """Draws one model, variable by variable; ``vars`` are the ones defined so far."""

    def __init__(self, draw, time_step: float, final_time: float):
        self.draw = draw
        self.dt = time_step
        self.final = final_time
        self.vars: list[Var] = []
        self.stocks: list[Var] = []
        self.lookups: list[Var] = []
        self.features: set[str] = set()
        self.equations: list[str] = []
        self.count = 0

    def new_name(self, stem: str) -> str:
        self.count += 1
        # spaces and mixed case exercise name normalisation
        return f"{stem} {self.count}" if self.count % 2 else f"{stem.capitalize()}_{self.count}"

    def lhs(self, name: str, dims: tuple[str, ...]) -> str:
        return f"{name}[{','.join(dims)}]" if dims else name

    # ------------------------------------------------------------------ references
    def readable(self, dims: tuple[str, ...]) -> list[Var]:
        return [v for v in self.vars + self.stocks if v.kind != "lookup"]

    def ref(self, v: Var, dims: tuple[str, ...]) -> str:
        """``v`` read in an equation over ``dims``: broadcast, an element, or a reduction."""
        draw = self.draw
        if not v.dims:
            return v.name
        subs = []
        reduced = []
        for d in v.dims:
            same = d if d in dims else ("SubA" if d == "A" and "SubA" in dims else None)
            # a range the equation also runs over is usually read element by element, but may
            # be reduced with the bang (SUM(x[A!]) inside an equation over A) or picked
            choice = draw(st.sampled_from(["same", "same", "same", "bang", "elem"] if same else ["bang", "elem"]))
            if choice == "same":
                subs.append(same)
            elif choice == "elem":
                subs.append(draw(st.sampled_from(RANGES[d])))
                self.features.add("element reference")
            else:
                subs.append(d + "!")
                reduced.append(d)
                if same:
                    self.features.add("bang over the equation's own range")
        text = f"{v.name}[{','.join(subs)}]"
        if reduced:
            fn = draw(st.sampled_from(["SUM", "SUM", "PROD", "VMIN", "VMAX"]))
            self.features.add(f"{fn} (bang)")
            if len(v.dims) == 2:
                self.features.add("2-D reduction")
            return f"{fn}({text})"
        if "SubA" in subs:
            self.features.add("subrange")
        return text

    def leaf(self, dims: tuple[str, ...]) -> str:
        draw = self.draw
        options = ["num", "time"] + ["var"] * 4
        kind = draw(st.sampled_from(options))
        pool = self.readable(dims)
        if kind == "var" and pool:
            # mostly variables that vary along the equation's ranges: that is where reductions,
            # mappings and broadcasting can go wrong
            near = [v for v in pool if set(v.dims) & (set(dims) | ({"A"} if "SubA" in dims else set()))]
            v = draw(st.sampled_from(near if near and draw(st.integers(0, 3)) else pool))
            if v.dims:
                self.features.add("subscripted reference")
            return self.ref(v, dims)
        if kind == "time":
            self.features.add("Time")
            return "Time"
        return num(draw, -3, 5)

    # ------------------------------------------------------------------ expressions
    def expr(self, dims: tuple[str, ...], depth: int = 2) -> str:
        draw = self.draw
        if depth <= 0:
            return self.leaf(dims)
        op = draw(st.sampled_from(["leaf", "leaf", "+", "-", "*", "/", "MIN", "MAX", "ABS", "IF",
                                   "EXP", "LN", "SQRT", "XIDZ", "ZIDZ", "MODULO", "INTEGER",
                                   "STEP", "RAMP", "PULSE", "LOOKUP", "NESTED"]))
        sub = lambda: self.expr(dims, depth - 1)  # noqa: E731
        if op == "leaf":
            return self.leaf(dims)
        self.features.add(op if op not in "+-*/" else "arithmetic")
        if op in "+-":
            return f"({sub()} {op} {sub()})"
        if op == "*":
            return f"({sub()} * {num(draw, -2, 2)})"
        if op == "/":
            return f"({sub()} / (ABS({sub()}) + 1.00))"
        if op in ("MIN", "MAX"):
            return f"{op}({sub()}, {sub()})"
        if op == "ABS":
            return f"ABS({sub()})"
        if op == "IF":
            cond = f"{sub()} {draw(st.sampled_from(COMPARE))} {num(draw, -1, 4)}"
            if draw(st.booleans()):
                self.features.add("logical operators")
                cond = f"({cond}) {draw(st.sampled_from([':AND:', ':OR:']))} (Time > {quarter(draw, 0, self.final)})"
            return f"IF THEN ELSE({cond}, {sub()}, {sub()})"
        if op == "EXP":
            return f"EXP(-ABS({sub()}))"
        if op == "LN":
            return f"LN(ABS({sub()}) + 1.00)"
        if op == "SQRT":
            return f"SQRT(ABS({sub()}))"
        if op == "XIDZ":
            return f"XIDZ({sub()}, {self.maybe_zero(dims, depth)}, {num(draw, -2, 2)})"
        if op == "ZIDZ":
            return f"ZIDZ({sub()}, {self.maybe_zero(dims, depth)})"
        if op == "MODULO":
            return f"MODULO({sub()}, {num(draw, 0.5, 3)})"
        if op == "INTEGER":
            return f"INTEGER({sub()})"
        if op == "STEP":
            return f"STEP({num(draw, -2, 3)}, {quarter(draw, 0, self.final)})"
        if op == "RAMP":
            start = draw(st.integers(0, int(self.final * 4))) / 4
            end = start + draw(st.integers(1, 12)) / 4
            return f"RAMP({num(draw, -1, 1)}, {start:.2f}, {end:.2f})"
        if op == "PULSE":
            return f"PULSE({quarter(draw, 0, self.final)}, {quarter(draw, 0.25, 3)})"
        if op == "LOOKUP":
            return self.lookup_call(dims, depth)
        # NESTED: a stateful function inside an expression (pysd and Vensim add a hidden state)
        self.features.add("stateful nested in expression")
        return f"({self.stateful(dims)} + {num(draw, 0, 1)})"

    def maybe_zero(self, dims, depth) -> str:
        """A divisor that is exactly zero for part of the run (or a plain expression)."""
        if self.draw(st.booleans()):
            self.features.add("division by exact zero")
            return f"STEP(1.50, {quarter(self.draw, 0.25, self.final)})"
        return self.expr(dims, depth - 1)

    def table(self) -> str:
        draw = self.draw
        n = draw(st.integers(1, 4))
        xs = sorted({draw(st.integers(1, 40)) / 4 for _ in range(n)} | {0.0})  # two points or more
        pts = ",".join(f"({x:.2f},{num(draw, -2, 4).strip('()')})" for x in xs)
        if draw(st.booleans()):
            return f"[(0,-2)-(10,4)],{pts}"
        return pts

    def lookup_call(self, dims, depth) -> str:
        draw = self.draw
        if not self.lookups or draw(st.booleans()):
            name = self.new_name("tbl")
            self.equations.append(f"{name}(\n\t{self.table()})\n\t~\t\n\t~\t\t|\n\n")
            self.lookups.append(Var(name, (), "lookup"))
        self.features.add("lookup (separate)")
        return f"{draw(st.sampled_from(self.lookups)).name}({self.expr(dims, depth - 1)})"

    def delay_time(self, order: int) -> str:
        return f"{max(order * self.dt, self.draw(st.integers(1, 20)) / 4):.2f}"

    def stateful(self, dims: tuple[str, ...]) -> str:
        draw = self.draw
        fn = draw(st.sampled_from(["SMOOTH", "SMOOTHI", "SMOOTH3", "SMOOTH3I", "DELAY1", "DELAY1I",
                                   "DELAY3", "DELAY3I", "DELAY N", "TREND", "INITIAL", "SMOOTH N"]))
        self.features.add(fn)
        x = self.expr(dims, 1)
        order = 3 if fn in ("SMOOTH3", "SMOOTH3I", "DELAY3", "DELAY3I") else 1
        if fn == "INITIAL":
            return f"INITIAL({x})"
        if fn == "TREND":
            # TREND divides by its average, which starts at input / (1 + initial trend x average
            # time): keep the input positive and the initial trend >= 0 so that neither is ever 0
            return f"TREND(ABS({x}) + 1.00, {self.delay_time(1)}, {num(draw, 0, 0.5)})"
        if fn in ("DELAY N", "SMOOTH N"):
            n = draw(st.integers(1, 4))
            return f"{fn}({x}, {self.delay_time(n)}, {num(draw, -1, 3)}, {n})"
        init = f", {num(draw, -1, 3)}" if fn.endswith("I") else ""
        return f"{fn}({x}, {self.delay_time(order)}{init})"

    # ------------------------------------------------------------------ definitions
    def constant(self, dims: tuple[str, ...] | None = None) -> None:
        draw = self.draw
        dims = draw(st.sampled_from(DIM_CHOICES)) if dims is None else dims
        name = self.new_name("const")
        if not dims:
            self.equations.append(block(name, num(draw, -2, 5)))
        elif len(dims) == 1:
            self.features.add("subscripted constant")
            vals = ", ".join(num(draw, 0.1, 5) for _ in RANGES[dims[0]])
            self.equations.append(block(self.lhs(name, dims), vals))
        else:
            self.features.add("2-D constant table")
            rows = "; ".join(", ".join(num(draw, 0.1, 5) for _ in RANGES[dims[1]]) for _ in RANGES[dims[0]])
            self.equations.append(block(self.lhs(name, dims), rows + ";"))
        self.vars.append(Var(name, dims, "const"))

    def auxiliary(self) -> None:
        draw = self.draw
        dims = draw(st.sampled_from(DIM_CHOICES))
        name = self.new_name("aux")
        kind = draw(st.sampled_from(["expr", "expr", "expr", "stateful", "with lookup", "by element"]))
        if kind == "by element" and dims == ("A",):
            # one equation for the subrange, one for the remaining element
            self.features.add("equations per subrange/element")
            self.equations.append(block(self.lhs(name, ("SubA",)), self.expr(("SubA",))))
            self.equations.append(block(self.lhs(name, ("a3",)), self.expr(())))
        elif kind == "stateful":
            self.equations.append(block(self.lhs(name, dims), self.stateful(dims)))
        elif kind == "with lookup":
            self.features.add("WITH LOOKUP (inline)")
            self.equations.append(block(self.lhs(name, dims),
                                        f"WITH LOOKUP({self.expr(dims, 1)}, ({self.table()}))"))
        else:
            self.equations.append(block(self.lhs(name, dims), self.expr(dims)))
        if dims:
            self.features.add(f"{len(dims)}-D variable")
        self.vars.append(Var(name, dims, "aux"))

    def stock_equations(self) -> None:
        draw = self.draw
        for s in self.stocks:
            # clamped, so that a flow that feeds on its own stock cannot explode
            target = f"MIN(MAX({self.expr(s.dims)}, -10.00), 10.00)"
            tau = self.delay_time(1)
            init = num(draw, -2, 5)
            consts = [v for v in self.vars if v.kind == "const"]
            if consts and draw(st.booleans()):
                init = self.ref(draw(st.sampled_from(consts)), s.dims)
            self.equations.append(block(self.lhs(s.name, s.dims),
                                        f"INTEG(({target} - {self.lhs(s.name, s.dims)}) / {tau}, {init})"))
        if self.stocks:
            self.features.add("stock")


@st.composite
def models(draw, max_vars: int = 9) -> GeneratedModel:
    """A small, valid, bounded Vensim model."""
    dt = draw(st.sampled_from([0.25, 0.5, 1.0]))
    final = draw(st.sampled_from([4.0, 6.0, 8.0]))
    saveper = dt * draw(st.sampled_from([1, 1, 2]))
    b = Builder(draw, dt, final)
    for _ in range(draw(st.integers(0, 2))):
        s = Var(b.new_name("stock"), draw(st.sampled_from(DIM_CHOICES)), "stock")
        b.stocks.append(s)
    for _ in range(draw(st.integers(1, 2))):
        b.constant()
    for _ in range(draw(st.integers(1, max_vars))):
        if draw(st.integers(0, 3)) == 0:
            b.constant()
        else:
            b.auxiliary()
    b.stock_equations()
    dims_used = {d for v in b.vars + b.stocks for d in v.dims}
    return GeneratedModel(b.equations, final, dt, saveper, b.features, bool(dims_used))
