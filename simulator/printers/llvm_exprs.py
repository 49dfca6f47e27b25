"""Expressions of the LLVM translator: python's arithmetic, comparisons, conditions and calls
as LLVM instructions, with numba's choices of intrinsics and libm functions (no fast-math flags)."""
from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from .llvm_types import BIT, ELEM, F64, I64, Arr, LlvmUnsupported, fnum

INTRINSIC = {"exp": "llvm.exp.f64", "log": "llvm.log.f64", "sqrt": "llvm.sqrt.f64", "sin": "llvm.sin.f64",
             "cos": "llvm.cos.f64", "trunc": "llvm.trunc.f64"}
LIBM = {"tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh",
        "tanh": "tanh"}
FCMP = {ast.Eq: "oeq", ast.NotEq: "une", ast.Lt: "olt", ast.LtE: "ole", ast.Gt: "ogt", ast.GtE: "oge"}
ICMP = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "slt", ast.LtE: "sle", ast.Gt: "sgt", ast.GtE: "sge"}
FOP = {ast.Add: "fadd", ast.Sub: "fsub", ast.Mult: "fmul", ast.Div: "fdiv"}
IOP = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.RShift: "ashr"}

class Expressions:
    """The expression half of a translated function (mixed into ``llvm_ir.Function``)."""

    mod: Any
    scope: str
    lines: list
    types: dict

    if TYPE_CHECKING:  # the statement half's, in llvm_ir.Function
        def tmp(self) -> str: ...
        def label(self, what: str) -> str: ...
        def start(self, label: str) -> None: ...
        def array(self, e) -> Any: ...
        def element(self, arr, index) -> str: ...
        def etype(self, e) -> Any: ...
        def _callee(self, e: ast.Call) -> Any: ...

    def convert(self, tv, to: str) -> str:
        t, v = tv
        if t == to:
            return v
        r = self.tmp()
        if t == I64 and to == F64:
            self.lines.append(f"  {r} = sitofp i64 {v} to double")
        elif t == BIT and to == I64:
            self.lines.append(f"  {r} = zext i1 {v} to i64")
        elif t == BIT and to == F64:
            self.lines.append(f"  {r} = uitofp i1 {v} to double")
        elif to == BIT:
            return self.truth_of(tv)
        else:
            raise LlvmUnsupported(f"{t} used as {to}")
        return r

    def truth_of(self, tv) -> str:
        t, v = tv
        if t == BIT:
            return v
        r = self.tmp()
        self.lines.append(f"  {r} = fcmp une double {v}, 0.0" if t == F64 else f"  {r} = icmp ne i64 {v}, 0")
        return r

    def truth(self, e) -> str:
        return self.truth_of(self.expr(e))

    def expr(self, e):
        """(type, value) of an expression, its code appended."""
        if isinstance(e, ast.Constant):
            if isinstance(e.value, bool):
                return BIT, "true" if e.value else "false"
            if isinstance(e.value, int):
                return I64, str(e.value)
            if isinstance(e.value, float):
                return F64, fnum(e.value)
            raise LlvmUnsupported("a constant that is not a number")
        if isinstance(e, ast.Name):
            t = self.types.get(e.id)
            if t is None or isinstance(t, Arr):
                raise LlvmUnsupported(f"name {e.id}")
            r = self.tmp()
            self.lines.append(f"  {r} = load {t}, ptr %v.{e.id}")
            return t, r
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "np":
            if e.attr in ("nan", "inf"):
                return F64, fnum(float(e.attr))
        if isinstance(e, ast.Subscript):
            if isinstance(e.value, ast.Attribute) and e.value.attr == "shape":
                k = e.slice.value  # type: ignore[attr-defined]
                return I64, self.array(e.value.value).dims[k]
            arr = self.array(e.value)
            p = self.element(arr, e.slice)
            r = self.tmp()
            self.lines.append(f"  {r} = load {ELEM[arr.t.elem]}, ptr {p}")
            if arr.t.elem == "b":
                r2 = self.tmp()
                self.lines.append(f"  {r2} = icmp ne i8 {r}, 0")
                return BIT, r2
            return (F64 if arr.t.elem == "d" else I64), r
        if isinstance(e, ast.BinOp):
            return self.binop(e)
        if isinstance(e, ast.UnaryOp):
            if isinstance(e.op, ast.Not):
                r = self.tmp()
                self.lines.append(f"  {r} = xor i1 {self.truth(e.operand)}, true")
                return BIT, r
            if isinstance(e.op, ast.USub):
                t, v = self.expr(e.operand)
                r = self.tmp()
                if t == F64:
                    self.lines.append(f"  {r} = fneg double {v}")
                    return F64, r
                self.lines.append(f"  {r} = sub i64 0, {self.convert((t, v), I64)}")
                return I64, r
        if isinstance(e, ast.Compare):
            return self.compare(e)
        if isinstance(e, ast.BoolOp):
            return self.boolop(e)
        if isinstance(e, ast.IfExp):
            return self.ifexp(e)
        if isinstance(e, ast.Call):
            return self.call(e)
        raise LlvmUnsupported(ast.unparse(e))

    def binop(self, e: ast.BinOp):
        a, b = self.expr(e.left), self.expr(e.right)
        r = self.tmp()
        if isinstance(e.op, ast.Pow):
            self.mod.decls.add("declare double @llvm.pow.f64(double, double)")
            self.lines.append(f"  {r} = call double @llvm.pow.f64(double {self.convert(a, F64)}, double {self.convert(b, F64)})")
            return F64, r
        if a[0] != F64 and b[0] != F64 and type(e.op) in IOP:
            self.lines.append(f"  {r} = {IOP[type(e.op)]} i64 {self.convert(a, I64)}, {self.convert(b, I64)}")
            return I64, r
        if type(e.op) not in FOP:
            raise LlvmUnsupported(f"operator {type(e.op).__name__}")
        self.lines.append(f"  {r} = {FOP[type(e.op)]} double {self.convert(a, F64)}, {self.convert(b, F64)}")
        return F64, r

    def compare(self, e: ast.Compare):
        if len(e.ops) != 1:
            raise LlvmUnsupported("a chained comparison")
        a, b = self.expr(e.left), self.expr(e.comparators[0])
        r = self.tmp()
        op = type(e.ops[0])
        if a[0] == F64 or b[0] == F64:
            self.lines.append(f"  {r} = fcmp {FCMP[op]} double {self.convert(a, F64)}, {self.convert(b, F64)}")
        else:
            self.lines.append(f"  {r} = icmp {ICMP[op]} i64 {self.convert(a, I64)}, {self.convert(b, I64)}")
        return BIT, r

    def boolop(self, e: ast.BoolOp):
        """``and``/``or`` in a condition, evaluated as python does: the right only when needed."""
        is_and = isinstance(e.op, ast.And)
        done = self.label("bdone")
        incoming = []
        for k, v in enumerate(e.values):
            c = self.truth(v)
            here = self.label("bpart")
            self.lines.append(f"  br label %{here}")
            self.start(here)
            incoming.append((c, here))
            if k < len(e.values) - 1:
                nxt = self.label("bnext")
                self.lines.append(f"  br i1 {c}, label %{nxt if is_and else done}, label %{done if is_and else nxt}")
                self.start(nxt)
            else:
                self.lines.append(f"  br label %{done}")
        self.start(done)
        r = self.tmp()
        self.lines.append(f"  {r} = phi i1 " + ", ".join(f"[{c}, %{lab}]" for c, lab in incoming))
        return BIT, r

    def ifexp(self, e: ast.IfExp):
        t = self.etype(e)
        then, other, done = self.label("ithen"), self.label("ielse"), self.label("idone")
        self.lines.append(f"  br i1 {self.truth(e.test)}, label %{then}, label %{other}")
        self.start(then)
        a = self.convert(self.expr(e.body), t)
        end_a = self.label("iend")
        self.lines += [f"  br label %{end_a}", f"{end_a}:", f"  br label %{done}"]
        self.start(other)
        b = self.convert(self.expr(e.orelse), t)
        end_b = self.label("iend")
        self.lines += [f"  br label %{end_b}", f"{end_b}:", f"  br label %{done}"]
        self.start(done)
        r = self.tmp()
        self.lines.append(f"  {r} = phi {t} [{a}, %{end_a}], [{b}, %{end_b}]")
        return t, r

    def call(self, e: ast.Call):
        f = e.func
        if isinstance(f, ast.Name) and f.id in ("abs", "max", "min"):
            args = [self.expr(a) for a in e.args]
            t = self.etype(e)
            r = self.tmp()
            if f.id == "abs":
                if t != F64:
                    raise LlvmUnsupported("abs of an integer")
                self.mod.decls.add("declare double @llvm.fabs.f64(double)")
                self.lines.append(f"  {r} = call double @llvm.fabs.f64(double {args[0][1]})")
                return F64, r
            if t != I64 or len(args) != 2:
                raise LlvmUnsupported(f"{f.id} of floats")
            a, b = (self.convert(x, I64) for x in args)
            c = self.tmp()
            # python's max/min: the first unless the second is strictly greater/smaller
            self.lines += [f"  {c} = icmp {'sgt' if f.id == 'max' else 'slt'} i64 {b}, {a}",
                           f"  {r} = select i1 {c}, i64 {b}, i64 {a}"]
            return I64, r
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "np":
            return self.np_call(f.attr, e)
        if isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id == "rtf"):
            raise LlvmUnsupported(ast.unparse(f))
        sym, ret = self._callee(e)
        args = []
        for arg in e.args:
            t = self.etype(arg)
            if isinstance(t, Arr):  # an array: its address and dimensions
                arr = self.array(arg)
                args.append(f"ptr {arr.ptr}")
                args += [f"i64 {d}" for d in arr.dims]
            else:
                args.append(f"{t} {self.expr(arg)[1]}")
        r = self.tmp()
        self.lines.append(f"  {r} = call {ret} @\"{sym}\"({', '.join(args)})")
        return ret, r

    def np_call(self, name: str, e: ast.Call):
        if name == "int64":
            return I64, self.convert(self.expr(e.args[0]), I64)
        if name == "searchsorted":
            sl, side = e.args[0], e.keywords[0].value.value  # type: ignore[attr-defined]
            if not (isinstance(sl, ast.Subscript) and isinstance(sl.slice, ast.Slice)):
                raise LlvmUnsupported("searchsorted of a whole array")
            lo = sl.slice.lower or ast.Constant(0)
            hi = sl.slice.upper
            if hi is None:
                raise LlvmUnsupported("searchsorted of an open slice")
            call = ast.Call(ast.Name(f"ss_{side}"), [sl.value, lo, hi, e.args[1]], [])
            scope, self.scope = self.scope, "rt"
            try:
                return self.call(call)
            finally:
                self.scope = scope
        args = [self.convert(self.expr(a), F64) for a in e.args]
        r = self.tmp()
        if name in INTRINSIC:
            fn = INTRINSIC[name]
        elif name in LIBM:
            fn = LIBM[name]
        elif name == "fmod":
            self.lines.append(f"  {r} = frem double {args[0]}, {args[1]}")
            return F64, r
        elif name == "copysign":
            fn = "llvm.copysign.f64"
        else:
            raise LlvmUnsupported(f"np.{name}")
        self.mod.decls.add(f"declare double @{fn}({', '.join(['double'] * len(args))})")
        self.lines.append(f"  {r} = call double @{fn}({', '.join('double ' + a for a in args)})")
        return F64, r
