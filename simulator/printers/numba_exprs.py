"""IR expressions as numba scalar code, at a cell that may be symbolic (loop variables).

A cell is a tuple with one entry per context axis: an ``int`` (a fixed element, unrolled code) or
a loop variable's name (``"i0"``: the statement runs inside ``for i0 in range(n)``). A reference
whose element cannot be written as ``loop variable + offset`` raises :class:`Unrollable`, and the
statement is printed once per cell instead. Reductions become accumulating loops written before
the statement (``pre`` lines): sums and products in C order of the reduced cells, as the numpy
runtime's reduce.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..ir.analysis import Analysis
from ..ir.nodes import (
    Allocate,
    AxisValue,
    Binary,
    Bound,
    ByClock,
    Cells,
    DiscreteRef,
    Expr,
    Fixed,
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
from .chains import balanced, flat_chain


class FusedUnsupported(Exception):
    """The model (variant) uses something the numba printer does not print; ``str`` says what."""


class Unrollable(Exception):
    """This statement cannot run as a loop: print it cell by cell."""


UNARY = {"abs": "abs", "exp": "np.exp", "ln": "np.log", "sqrt": "np.sqrt", "sin": "np.sin", "cos": "np.cos",
         "tan": "np.tan", "arcsin": "np.arcsin", "arccos": "np.arccos", "arctan": "np.arctan",
         "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh", "trunc": "np.trunc"}
ARITH = {"+", "-", "*", "/"}
COMPARE = {"==", "!=", "<", "<=", ">", ">="}
CALLS = {"min": "rtf.fmin", "max": "rtf.fmax", "mod": "rtf.pymod"}
LOOKUPS = {"interpolate": "rtf.interp", "extrapolate": "rtf.extrapolate", "forward": "rtf.look_forward",
           "backward": "rtf.hold_backward", "raw": "rtf.raw"}
REDUCE_INFIX = {"sum": "+", "prod": "*"}
REDUCE_CALL = {"min": "rtf.fmin", "max": "rtf.fmax"}
# an accumulator's start: x + 0.0, x * 1.0, min(inf, x), max(-inf, x) are x (NaN stays NaN)
REDUCE_START = {"sum": "0.0", "prod": "1.0", "min": "np.inf", "max": "(-np.inf)"}


def cells_of(shape):
    return itertools.product(*[range(n) for n in shape])


def loop_vars(n: int, first: int = 0) -> list[str]:
    return [f"i{k}" for k in range(first, first + n)]


def number(x: float) -> str:
    if np.isnan(x):
        return "np.nan"
    if np.isinf(x):
        return "np.inf" if x > 0 else "(-np.inf)"
    return f"({float(x)!r})"


def flat_of(cell, shape):
    """C-order position of ``cell`` in an array of ``shape`` (as ``dims.flat_index``): an int,
    or the text of an index expression when an entry is a loop variable."""
    m = min(len(cell), len(shape))
    if all(isinstance(c, int) for c in cell[:m]):
        k = 0
        for c, n in zip(cell, shape):
            k = k * n + int(c)
        return k
    const, terms = 0, []
    for i in range(m):
        stride = int(np.prod(shape[i + 1:m])) if i + 1 < m else 1
        c = cell[i]
        if isinstance(c, int):
            const += c * stride
        else:
            terms.append(c if stride == 1 else f"{c} * {stride}")
    if const:
        terms.append(str(const))
    return "(" + " + ".join(terms) + ")"


def element(elements: tuple, c):
    """The variable's element read at context position ``c`` (an int or a loop variable)."""
    if isinstance(c, int):
        return elements[c]
    e0 = elements[0]
    if any(e != e0 + k for k, e in enumerate(elements)):
        raise Unrollable
    return c if e0 == 0 else f"({c} + {e0})"


def ref_flat(index, shape, cell):
    """The flat cell a reference reads (as ``dims.ref_cell``), int or index text."""
    return flat_of(tuple(i.element if isinstance(i, Fixed) else element(i.elements, cell[i.axis])
                         for i in index), shape)


class ExprPrinter:
    def __init__(self, ir: ModelIR, analysis: Analysis, header: str):
        self.ir = ir
        self.a = analysis
        self.header = header
        self.vars = {v.idx: v for v in ir.vars}
        self.rows: dict = {}
        self._lets: list[str] = []  # value code of the enclosing Let nodes (compilers merge repeats)
        self.tables: dict = {}
        self.table_list: list = []
        self._heads: set[int] = set()  # tables read at a fixed cell: their bounds are locals
        self._pre: list[str] = []
        self._nloop = 0
        self._ntemp = 0
        self.printed = 0

    # ------------------------------------------------------------------ statement scratch
    def begin_statement(self, loops: int) -> list[str]:
        """Fresh names for a statement's loops: numba's SSA passes slow down on reused names."""
        self._pre = []
        first = self._nloop
        self._nloop += loops
        return loop_vars(loops, first)

    def take_pre(self) -> list[str]:
        out, self._pre = self._pre, []
        return out

    def drop_pre(self) -> None:
        self._pre = []

    def table_heads(self) -> list[int]:
        return sorted(self._heads)

    # ------------------------------------------------------------------ names
    def row_block(self, kind: str, key: int, size: int) -> int:
        """The first of ``size`` consecutive slow-value rows holding a variable's cells."""
        first = (kind, key, 0)
        if first not in self.rows:
            for f in range(size):
                self.rows[(kind, key, f)] = len(self.rows)
        return self.rows[first]

    def var_name(self, idx: int, flat) -> str:
        """How the kernel reads a cell of a variable: a local, ``v<idx>[k]`` (dynamic) or ``w[r]``."""
        var = self.vars[idx]
        size = int(np.prod(var.shape)) if var.shape else 1
        if var.kind == "const" or idx not in self.a.dynamic:
            base = self.row_block("const" if var.kind == "const" else "aux", idx, size)
            return f"w[{plus(flat, base)}]"
        return f"v{idx}" if not var.dims else f"v{idx}[{flat}]"

    def table_block(self, key: tuple, size: int) -> int:
        if key not in self.tables:
            self.tables[key] = len(self.table_list)
            if key[0] == "K":
                t = self.ir.tables[key[1]]
                self.table_list.append(("K", np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float)))
            elif size == 0:
                self.table_list.append(("P", key[1], None))
            else:
                self.table_list += [("P", key[1], f) for f in range(size)]
        return self.tables[key]

    # ------------------------------------------------------------------ expressions
    def expr(self, e: Expr, cell: tuple) -> str:
        self.printed += 1
        if isinstance(e, Num):
            return number(e.value)
        if isinstance(e, Cells):
            return self.cells(e, cell)
        if isinstance(e, AxisValue):
            return self.axis_value(e, cell[e.axis])
        if isinstance(e, (Time, SwitchTime)):
            return "tt"
        if isinstance(e, TimeStep):
            return "dt"
        if isinstance(e, ByClock):
            return self.expr(e.fixed, cell)  # the kernel runs fixed-step methods only
        if isinstance(e, Ref):
            var = self.vars[e.var]
            return self.var_name(e.var, ref_flat(e.index, var.shape, cell) if var.dims else 0)
        if isinstance(e, StateRef):
            return f"x[{plus(flat_of(cell, self.ir.states[e.state].shape), self.a.offsets[e.state][0])}]"
        if isinstance(e, DiscreteRef):
            r = self.ir.registers[e.register]
            size = int(np.prod(r.shape)) if r.shape else 1
            return f"x[{plus(flat_of(cell, r.shape), self.a.reg_offsets[e.register][0] + e.slot * size)}]"
        if isinstance(e, InitialRef):
            shape = self.ir.initials[e.initial].shape
            base = self.row_block("initial", e.initial, int(np.prod(shape)) if shape else 1)
            return f"w[{plus(flat_of(cell, shape), base)}]"
        if isinstance(e, Unary):
            a = self.expr(e.arg, cell)
            if e.op == "neg":
                return f"(-{a})"
            if e.op == "not":
                return f"(1.0 if {a} == 0.0 else 0.0)"
            return f"{UNARY[e.op]}({a})"
        if isinstance(e, Binary):
            return self.binary(e, cell)
        if isinstance(e, If):
            return f"({self.expr(e.then, cell)} if {self.truth(e.cond, cell)} else {self.expr(e.other, cell)})"
        if isinstance(e, Let):
            self._lets.append(self.expr(e.value, cell))
            try:
                return self.expr(e.body, cell)
            finally:
                self._lets.pop()
        if isinstance(e, Bound):
            return self._lets[-1]
        if isinstance(e, Lookup):
            return self.lookup(e, cell)
        if isinstance(e, Reduce):
            return self.reduce(e, cell)
        if isinstance(e, Noise):
            raise FusedUnsupported("function RANDOM UNIFORM/RANDOM NORMAL")
        if isinstance(e, Vector):
            raise FusedUnsupported("function VECTOR SORT ORDER/RANK/REORDER")
        if isinstance(e, Allocate):
            raise FusedUnsupported("function ALLOCATE BY PRIORITY")
        raise FusedUnsupported(type(e).__name__)

    def cells(self, e: Cells, cell) -> str:
        # numpy broadcasting: the constant's axes line up with the context's last axes
        arr = np.asarray(e.values, dtype=float).reshape(e.shape)
        tail = cell[len(cell) - len(e.shape):] if e.shape else ()
        pos = tuple(c if n > 1 else 0 for c, n in zip(tail, e.shape))
        if all(isinstance(c, int) for c in pos):
            return number(arr[pos])
        flat = arr.ravel()
        if np.all(flat == flat[0]) or np.all(np.isnan(flat)):
            return number(flat[0])
        raise Unrollable

    @staticmethod
    def axis_value(e: AxisValue, c) -> str:
        if isinstance(c, int):
            return number(e.values[c])
        v = e.values
        step = v[1] - v[0] if len(v) > 1 else 0.0
        if any(v[0] + step * k != x for k, x in enumerate(v)):
            raise Unrollable
        return f"({float(v[0])!r} + {float(step)!r} * {c})"

    def lookup(self, e: Lookup, cell) -> str:
        if e.source[0] == "inline":
            n = self.table_block(("K", e.source[1]), 1)
        else:
            var = self.vars[e.source[1]]
            size = int(np.prod(var.shape)) if var.dims else 0
            n = self.table_block(("P", var.idx), size)
            if var.dims:
                n = plus(ref_flat(e.index, var.shape, cell), n)
        x = self.expr(e.x, cell)
        if isinstance(n, int):
            self._heads.add(n)
            return f"{LOOKUPS[e.mode]}({x}, tabx, taby, tl{n}, th{n})"
        return f"{LOOKUPS[e.mode]}({x}, tabx, taby, taboff[{n}], taboff[{n} + 1])"

    def reduce(self, e: Reduce, cell) -> str:
        mark = len(self._pre)
        names = loop_vars(len(e.sizes), self._nloop)
        self._nloop += len(e.sizes)
        acc = f"s{self._ntemp}"
        self._ntemp += 1
        outer = self._pre
        self._pre = []
        try:
            term = self.expr(e.arg, tuple(cell) + tuple(names))
        except Unrollable:
            self._pre = outer[:mark]
            if any(isinstance(c, str) for c in cell):
                raise
            # sequential, in C order of the reduced cells, as the numpy runtime's reduce
            terms = [self.expr(e.arg, tuple(cell) + extra) for extra in cells_of(e.sizes)]
            if e.op in REDUCE_INFIX:
                return "(" + f" {REDUCE_INFIX[e.op]} ".join(terms) + ")"
            return balanced(REDUCE_CALL[e.op], terms)
        inner = self._pre
        self._pre = outer
        step = f"{acc} {REDUCE_INFIX[e.op]} {term}" if e.op in REDUCE_INFIX else f"{REDUCE_CALL[e.op]}({acc}, {term})"
        body = inner + [f"{acc} = {step}"]
        for n, name in reversed(list(zip(e.sizes, names))):
            body = [f"for {name} in range({n}):"] + ["    " + ln for ln in body]
        self._pre += [f"{acc} = {REDUCE_START[e.op]}"] + body
        return acc

    def binary(self, e: Binary, cell) -> str:
        flat = flat_chain(e, lambda x: self.expr(x, cell))
        if flat is not None:
            return flat
        if e.op in ("and", "or"):
            self.printed -= 1  # truth() counts the node again
            return f"(1.0 if {self.truth(e, cell)} else 0.0)"
        a, b = self.expr(e.left, cell), self.expr(e.right, cell)
        if e.op in ARITH:
            return f"({a} {e.op} {b})"
        if e.op == "**":
            return self.power(a, e.right, b)
        if e.op == "powlog":  # libm's pow costs about twice its exp and log
            return f"rtf.powlog({a}, {b})"
        if e.op in COMPARE:
            return f"(1.0 if {a} {e.op} {b} else 0.0)"
        return f"{CALLS[e.op]}({a}, {b})"

    def truth(self, e: Expr, cell) -> str:
        """``e != 0.0`` as a python condition. A comparison, ``and``, ``or`` or ``not`` is printed as
        the condition itself rather than as 1.0/0.0 compared with 0.0 (the same truth, NaN included:
        every comparison with NaN is false either way): each 1.0/0.0 is a branch more for numba to
        type and lower, a sixth of the flagship's compile time."""
        if isinstance(e, Binary) and (e.op in COMPARE or e.op in ("and", "or")):
            self.printed += 1
            if e.op in COMPARE:
                return f"({self.expr(e.left, cell)} {e.op} {self.expr(e.right, cell)})"
            return f"({self.truth(e.left, cell)} {e.op} {self.truth(e.right, cell)})"
        if isinstance(e, Unary) and e.op == "not":  # x == 0.0 is not (x != 0.0), NaN included
            self.printed += 1
            return f"(not {self.truth(e.arg, cell)})"
        return f"({self.expr(e, cell)} != 0.0)"

    @staticmethod
    def power(base: str, exp_node: Expr, exp: str) -> str:
        # numpy turns an array to the power of these numbers into square/sqrt/reciprocal
        if isinstance(exp_node, Num):
            if exp_node.value == 2.0:
                return f"rtf.square({base})"
            if exp_node.value == 0.5:
                return f"np.sqrt({base})"
            if exp_node.value == 1.0:
                return base
            if exp_node.value == -1.0:
                return f"(1.0 / {base})"
        return f"({base} ** {exp})"


def plus(flat, offset: int):
    if isinstance(flat, int):
        return flat + offset
    return flat if offset == 0 else f"{flat} + {offset}"
