"""Scalar evaluation of a constant IR expression at load time (a DELAY N order, for instance).

The operations are numpy's, the same the numpy printer emits, so a value computed here equals the
value the model computes at its initial time.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .nodes import Binary, Bound, ByClock, Expr, If, Let, Num, Ref, Time, TimeStep, Unary

UNARY_NP = {
    "neg": np.negative, "not": np.logical_not, "abs": np.abs, "exp": np.exp, "ln": np.log,
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin,
    "arccos": np.arccos, "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "trunc": np.trunc,
}
BINARY_NP = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power,
    "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
    ">=": np.greater_equal, "and": np.logical_and, "or": np.logical_or, "min": np.minimum,
    "max": np.maximum, "mod": np.mod, "powlog": np.power,
}


class NotStatic(Exception):
    """The expression depends on something that is not a constant of the model."""


def evaluate(expr: Expr, value_of: Callable[[int], float], *, t0: float, dt: float) -> float:
    """The value of a scalar expression; ``value_of(var idx)`` gives a referenced variable's."""

    lets: list = []

    def ev(e: Expr) -> np.float64:
        if isinstance(e, Let):
            lets.append(ev(e.value))
            try:
                return ev(e.body)
            finally:
                lets.pop()
        if isinstance(e, Bound):
            return lets[-1]
        if isinstance(e, Num):
            return np.float64(e.value)
        if isinstance(e, Time):
            return np.float64(t0)
        if isinstance(e, TimeStep):
            return np.float64(dt)
        if isinstance(e, Ref) and not e.index:
            return np.float64(value_of(e.var))
        if isinstance(e, Unary):
            return np.float64(UNARY_NP[e.op](ev(e.arg)))
        if isinstance(e, Binary):
            return np.float64(BINARY_NP[e.op](ev(e.left), ev(e.right)))
        if isinstance(e, If):
            return ev(e.then) if ev(e.cond) else ev(e.other)
        if isinstance(e, ByClock):
            return ev(e.fixed)
        raise NotStatic

    with np.errstate(all="ignore"):
        return float(ev(expr))
