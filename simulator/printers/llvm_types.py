"""Types of the LLVM translator: scalar and array types, and the inference of a function's
locals and return value (python names hold one type each; an integer that meets a float is a float,
as numba unifies them)."""
from __future__ import annotations

import ast
import struct
from dataclasses import dataclass
from typing import Any


class LlvmUnsupported(Exception):
    """The kernel text holds a construct this translator does not handle; ``str`` says which."""


F64, I64, BIT = "double", "i64", "i1"  # scalar types
ELEM = {"d": "double", "i": "i64", "b": "i8"}  # array element types (numpy bool is a byte)


@dataclass(frozen=True)
class Arr:
    elem: str  # "d", "i" or "b"
    ndim: int


@dataclass
class ArrVal:
    t: Arr
    ptr: str
    dims: list


def fnum(x: float) -> str:
    """A double constant exactly, as LLVM's hexadecimal form."""
    return "0x%016X" % struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def join(a, b):
    if a == b:
        return a
    if {a, b} <= {F64, I64, BIT}:
        return F64 if F64 in (a, b) else I64
    raise LlvmUnsupported(f"a name holds both {a} and {b}")


class Typing:
    """The inference half of a translated function (mixed into ``llvm_ir.Function``)."""

    mod: Any
    node: ast.FunctionDef
    scope: str
    types: dict
    ret: str | None

    def infer(self) -> str:
        """Types of the locals and of the return value (a fixpoint over the body)."""
        for _ in range(4):
            before = (dict(self.types), self.ret)
            self._infer_body(self.node.body)
            if (dict(self.types), self.ret) == before:
                break
        if self.ret is None:
            raise LlvmUnsupported(f"{self.node.name} returns nothing")
        return self.ret

    def _infer_body(self, body):
        for s in body:
            if isinstance(s, ast.Assign):
                tgt = s.targets[0]
                if isinstance(tgt, ast.Name):
                    self._bind(tgt.id, self.etype(s.value))
            elif isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
                self._bind(s.target.id, self.etype(ast.BinOp(s.target, s.op, s.value)))
            elif isinstance(s, ast.For):
                self._bind(s.target.id, I64)  # type: ignore[attr-defined]
                self._infer_body(s.body)
            elif isinstance(s, (ast.While, ast.If)):
                self._infer_body(s.body)
                self._infer_body(s.orelse)
            elif isinstance(s, ast.Return) and s.value is not None:
                t = self.etype(s.value)
                self.ret = t if self.ret is None else join(self.ret, t)
            elif isinstance(s, ast.Raise):
                self.ret = self.ret or F64

    def _bind(self, name, t):
        old = self.types.get(name)
        if isinstance(t, Arr) or isinstance(old, Arr):
            if old is not None and old != t:
                raise LlvmUnsupported(f"array {name} assigned twice")
            self.types[name] = t
            return
        if t is None:
            return
        self.types[name] = t if old is None else join(old, t)

    def etype(self, e):
        """The type of an expression: F64, I64, BIT or an Arr (None when not known yet)."""
        if isinstance(e, ast.Constant):
            if isinstance(e.value, bool):
                return BIT
            return I64 if isinstance(e.value, int) else F64
        if isinstance(e, ast.Name):
            if e.id in self.mod.globals:
                return self.mod.globals[e.id].t
            return self.types.get(e.id)
        if isinstance(e, ast.Attribute):
            return F64  # np.nan, np.inf
        if isinstance(e, ast.Subscript):
            if isinstance(e.value, ast.Attribute):
                return I64  # a.shape[k]
            at = self.etype(e.value)
            if isinstance(e.slice, ast.Slice):
                return at
            if not isinstance(at, Arr):
                return None
            return BIT if at.elem == "b" else (F64 if at.elem == "d" else I64)
        if isinstance(e, ast.BinOp):
            a, b = self.etype(e.left), self.etype(e.right)
            if a is None or b is None:
                return None
            if isinstance(e.op, (ast.Div, ast.Pow)):
                return F64
            return I64 if (a != F64 and b != F64) else F64
        if isinstance(e, ast.UnaryOp):
            return BIT if isinstance(e.op, ast.Not) else self.etype(e.operand)
        if isinstance(e, (ast.Compare, ast.BoolOp)):
            return BIT
        if isinstance(e, ast.IfExp):
            a, b = self.etype(e.body), self.etype(e.orelse)
            if a is None or b is None:
                return a or b
            return join(a, b)
        if isinstance(e, ast.Call):
            return self._call_type(e)
        raise LlvmUnsupported(type(e).__name__)

    def _call_type(self, e: ast.Call):
        f = e.func
        if isinstance(f, ast.Name):
            if f.id in ("abs",):
                return self.etype(e.args[0])
            if f.id in ("max", "min"):
                return join(self.etype(e.args[0]) or I64, self.etype(e.args[1]) or I64)
            return self._callee(e)[1]
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            if f.value.id == "np":
                if f.attr in ("empty", "zeros"):
                    return Arr("d", 1)
                if f.attr in ("int64", "searchsorted"):
                    return I64
                return F64
            if f.value.id == "rtf":
                return self._callee(e)[1]
            if f.attr == "copy":
                return self.etype(f.value)
        raise LlvmUnsupported(ast.unparse(f))

    def _callee(self, e: ast.Call):
        scope = "rt" if isinstance(e.func, ast.Attribute) or self.scope == "rt" else "k"
        name = e.func.attr if isinstance(e.func, ast.Attribute) else e.func.id  # type: ignore[attr-defined]
        types = tuple(self.etype(a) for a in e.args)
        if any(t is None for t in types):
            return None, None
        return self.mod.function(scope, name, types)
