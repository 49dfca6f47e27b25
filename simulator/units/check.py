"""Dimensional consistency of every equation of a model.

Each variable's declared Vensim units are read with :class:`UnitSystem`; each equation's units are
inferred from its syntax tree (pysd's abstract model, as :func:`simulator.loader.read_source`
gives it, where Vensim's functions are still named) and compared with the declaration.

Rules (Vensim's, written down once):

- ``a + b``, ``a - b``, comparisons, MIN/MAX, IF THEN ELSE branches: the operands agree;
- ``*``/``/`` multiply units; ``x ^ n`` with a number ``n`` raises them; a power with an exponent
  that is not a number needs a dimensionless base; EXP/LN/LOG/trigonometric functions need a
  dimensionless argument;
- a number written in an equation takes the units its place needs (``1 - share``, ``max(0, x)``,
  ``x * 0.5``), as in Vensim and Stella;
- INTEG: the flow times the time unit (TIME STEP's units) is the stock's unit, and the initial
  value has the stock's units; SMOOTH/DELAY: the time argument is in time units, the initial value
  in the input's; STEP/RAMP/PULSE: their time arguments are in time units;
- a lookup call has the units of the lookup; its argument is not checked (a lookup's x axis has no
  declared units in Vensim);
- functions without a rule here (vector functions, ALLOCATE…, GET TIME VALUE) are reported as
  "not checked" warnings, never guessed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .parse import UnitsError, UnitSystem
from .render import render

if TYPE_CHECKING:
    from ..loader import Element

__all__ = ["UnitIssue", "Checker"]

class _Any:
    """A number written in an equation: it takes the units its place needs."""

    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()
SAME_ARGS = {"min", "max", "vmin", "vmax", "abs", "integer", "quantum", "modulo"}
DIMENSIONLESS_FN = {"exp", "ln", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
                    "sinh", "cosh", "tanh"}
TIME_NAMES = ("time_step", "initial_time", "final_time", "saveper")


@dataclass(frozen=True)
class UnitIssue:
    """One finding: ``severity`` is ``error`` (the equation's units differ from the declaration or
    within itself) or ``warning`` (a declaration missing, a function not checked)."""

    severity: str
    variable: str
    line: int | None
    message: str
    equation: str = ""
    declared: str = ""
    found: str = ""


class Checker:
    """Checks one parsed model (a :class:`simulator.loader.ModelSource`)."""

    def __init__(self, source) -> None:
        self.source = source
        self.units = UnitSystem()
        self.issues: list[UnitIssue] = []
        self._declared: dict[str, object] = {}
        self._names = {k: el.name for k, el in source.elements.items()}
        self._el: Element | None = None
        self._line: int | None = None
        self.time_unit = self._time_unit()

    @property
    def _element(self) -> Element:
        """The element being checked (set by :meth:`run`)."""
        if self._el is None:
            raise RuntimeError("units check: no element is being checked (call run())")
        return self._el

    # ------------------------------------------------------------------ entry
    def run(self) -> list[UnitIssue]:
        for key, el in self.source.elements.items():
            self._el, self._line = el, el.line
            declared = self.declared(key)
            for comp in el.components:
                self._line = comp.line or el.line
                if comp.is_lookup or comp.is_data:
                    continue
                self._component(comp.ast, declared)
        return self.issues

    def _component(self, ast, declared) -> None:
        kind = type(ast).__name__
        if declared is None:
            if not self._element.is_control:
                self._warn("no units declared")
            return
        if kind == "IntegStructure":
            flow = self.infer(ast.flow)
            if self.time_unit is not None and self._known(flow):
                self._expect(flow * self.time_unit, declared, ast.flow, "the flow times the time unit")
            self._expect(self.infer(ast.initial), declared, ast.initial, "the initial value")
            return
        self._expect(self.infer(ast), declared, ast, "the equation")

    # ------------------------------------------------------------------ declarations
    def declared(self, key: str):
        """The declared units of a variable (``None`` when it declares none or they are unreadable)."""
        if key in self._declared:
            return self._declared[key]
        el = self.source.elements.get(key)
        q = None
        if el is not None:
            try:
                q = self.units.parse(el.units)
            except UnitsError as exc:
                self.issues.append(UnitIssue("error", el.name, el.line, str(exc), declared=el.units))
        self._declared[key] = q
        return q

    def _time_unit(self):
        for key in TIME_NAMES:
            if key in self.source.elements:
                q = self.declared(key)
                if q is not None:
                    return q
        return None

    # ------------------------------------------------------------------ inference
    def infer(self, ast):
        """The units of an expression: a quantity, :data:`ANY` for a number, ``None`` if unknown."""
        if isinstance(ast, (int, float)) or ast is None:
            return ANY
        kind = type(ast).__name__
        method = getattr(self, "_" + kind, None)
        if method is None:
            if kind in ("DataStructure", "GetDataStructure", "GetConstantsStructure",
                        "GetLookupsStructure", "InlineLookupsStructure", "LookupsStructure"):
                return ANY
            if isinstance(ast, (tuple, list, str)) or hasattr(ast, "shape"):
                return ANY
            self._warn(f"not checked: {kind.replace('Structure', '')}")
            return None
        return method(ast)

    def _ReferenceStructure(self, ast):
        name = ast.reference
        if name == "time":
            return self.time_unit
        if name not in self.source.elements:
            return ANY  # a subscript element used as a number
        return self.declared(name)

    def _ArithmeticStructure(self, ast):
        ops, args = list(ast.operators), list(ast.arguments)
        if ops == ["negative"] or (len(ops) == 1 and len(args) == 1):
            return self.infer(args[0])
        acc = self.infer(args[0])
        for op, arg in zip(ops, args[1:]):
            if op == "^":
                acc = self._power(acc, arg, ast)
                continue
            rhs = self.infer(arg)
            if op in ("+", "-"):
                acc = self._agree(acc, rhs, ast)
            elif op in ("*", "/"):
                acc = self._mul(acc, rhs, op)
        return acc

    def _LogicStructure(self, ast):
        ops, args = list(ast.operators), list(ast.arguments)
        if any(op in ("=", "<>", "<", "<=", ">", ">=") for op in ops):
            vals = [self.infer(a) for a in args]
            acc = vals[0]
            for v in vals[1:]:
                acc = self._agree(acc, v, ast)
        else:
            for a in args:
                self.infer(a)
        return ANY

    def _CallStructure(self, ast):
        fn = ast.function
        name = getattr(fn, "reference", None)
        args = list(ast.arguments)
        if name is not None and name in self.source.elements:   # a lookup (or a variable called like one)
            for a in args:
                self.infer(a)
            return self.declared(name)
        vals = [self.infer(a) for a in args]
        return self._function(name, vals, args, ast)

    def _function(self, name, vals, args, ast):
        if name == "if_then_else":
            return self._agree(vals[1], vals[2], ast)
        if name in SAME_ARGS or name in ("sum",):
            acc = vals[0]
            for v in vals[1:]:
                acc = self._agree(acc, v, ast)
            return acc
        if name == "zidz":
            return self._mul(vals[0], vals[1], "/")
        if name == "xidz":
            return self._agree(self._mul(vals[0], vals[1], "/"), vals[2], ast)
        if name in DIMENSIONLESS_FN:
            for v, a in zip(vals, args):
                self._dimensionless(v, a, f"the argument of {name.upper()}")
            return ANY
        if name == "sqrt":
            return vals[0] if vals[0] is ANY or vals[0] is None else vals[0] ** 0.5
        if name == "power":
            return self._power(vals[0], args[1], ast)
        if name == "step":
            self._time_arg(vals[1], args[1], "STEP")
            return vals[0]
        if name in ("pulse", "pulse_train"):
            for v, a in zip(vals, args):
                self._time_arg(v, a, name.upper())
            return ANY
        if name == "ramp":
            for v, a in zip(vals[1:], args[1:]):
                self._time_arg(v, a, "RAMP")
            if vals[0] is ANY:
                return ANY  # a number as slope takes the units its place needs
            return self._mul(vals[0], self.time_unit, "*") if self.time_unit is not None else None
        if name in ("random_uniform", "random_normal"):
            return self._agree(vals[0], vals[1], ast)
        if name in ("random_0_1", "elmcount", "pi"):
            return ANY
        if name == "prod":
            return vals[0] if vals[0] is ANY else None
        if name == "active_initial":
            return self._agree(vals[0], vals[1], ast)
        self._warn(f"not checked: function {str(name).upper()}")
        return None

    # stateful functions
    def _smooth_like(self, ast, time_arg, label):
        x = self.infer(ast.input)
        self._time_arg(self.infer(getattr(ast, time_arg)), getattr(ast, time_arg), label)
        if getattr(ast, "initial", None) is not None:
            x = self._agree(x, self.infer(ast.initial), ast)
        return x

    def _SmoothStructure(self, ast):
        return self._smooth_like(ast, "smooth_time", "SMOOTH")

    _SmoothNStructure = _SmoothStructure

    def _DelayStructure(self, ast):
        return self._smooth_like(ast, "delay_time", "DELAY")

    _DelayNStructure = _DelayStructure
    _DelayFixedStructure = _DelayStructure

    def _TrendStructure(self, ast):
        self.infer(ast.input)
        self._time_arg(self.infer(ast.average_time), ast.average_time, "TREND")
        return None if self.time_unit is None else 1 / self.time_unit

    def _ForecastStructure(self, ast):
        x = self.infer(ast.input)
        self._time_arg(self.infer(ast.average_time), ast.average_time, "FORECAST")
        self._time_arg(self.infer(ast.horizon), ast.horizon, "FORECAST")
        return x

    def _InitialStructure(self, ast):
        return self.infer(ast.initial)

    def _SampleIfTrueStructure(self, ast):
        self.infer(ast.condition)
        return self._agree(self.infer(ast.input), self.infer(ast.initial), ast)

    def _IntegStructure(self, ast):  # an INTEG inside an expression (rare): its flow × time
        flow = self.infer(ast.flow)
        return self._mul(flow, self.time_unit, "*") if self.time_unit is not None else None

    # ------------------------------------------------------------------ algebra
    @staticmethod
    def _known(q) -> bool:
        return q is not None and q is not ANY

    def _mul(self, a, b, op):
        if a is None or b is None:
            return None
        if a is ANY and b is ANY:
            return ANY
        a = self.units.one if a is ANY else a
        b = self.units.one if b is ANY else b
        return a * b if op == "*" else a / b

    def _agree(self, a, b, ast):
        if a is None or b is None:
            return a if b is None else b
        if a is ANY:
            return b
        if b is ANY:
            return a
        if not self.units.same(a, b):
            self._error(f"operands disagree in {self._render(ast)}", a, b)
        return a

    def _power(self, base, exponent_ast, ast):
        exp_units = self.infer(exponent_ast)
        self._dimensionless(exp_units, exponent_ast, "an exponent")
        n = _number(exponent_ast)
        if base is ANY or base is None:
            return base
        if n is not None:
            return base ** n
        if not self.units.same(base, self.units.one):
            self._error(f"{self._render(ast)}: a quantity with units raised to an exponent that is not a "
                        "number", base, self.units.one)
            return None
        return base

    def _dimensionless(self, q, ast, what) -> None:
        if self._known(q) and not self.units.same(q, self.units.one):
            self._error(f"{what} must be dimensionless: {self._render(ast)}", q, self.units.one)

    def _time_arg(self, q, ast, fn) -> None:
        if self.time_unit is not None and self._known(q) and not self.units.same(q, self.time_unit):
            self._error(f"the time argument of {fn} is not in time units: {self._render(ast)}", q,
                        self.time_unit)

    def _expect(self, found, declared, ast, what) -> None:
        if not self._known(found) or self.units.same(found, declared):
            return
        scale = " (same dimension, different scale)" if self.units.same_dimension(found, declared) else ""
        self.issues.append(UnitIssue("error", self._element.name, self._line,
                                     f"{what} has units {self.units.format(found)}, declared "
                                     f"{self.units.format(declared)}{scale}", self._render(ast),
                                     self.units.format(declared), self.units.format(found)))

    # ------------------------------------------------------------------ reporting
    def _render(self, ast) -> str:
        return render(ast, self._names)

    def _error(self, message, a, b) -> None:
        fa, fb = self.units.format(a), self.units.format(b)
        scale = ", same dimension, different scale" if self.units.same_dimension(a, b) else ""
        self.issues.append(UnitIssue("error", self._element.name, self._line,
                                     f"{message} ({fa} vs {fb}{scale})", "", fb, fa))

    def _warn(self, message) -> None:
        if not any(i.variable == self._element.name and i.message == message for i in self.issues):
            self.issues.append(UnitIssue("warning", self._element.name, self._line, message))


def _number(ast):
    if isinstance(ast, (int, float)):
        return float(ast)
    if type(ast).__name__ == "ArithmeticStructure" and list(ast.operators) == ["negative"]:
        inner = _number(ast.arguments[0])
        return None if inner is None else -inner
    return None


def source_path(source) -> Path:
    return Path(source.path)
