"""The numba kernel's source compiled to LLVM IR directly, without numba's front end.

The numba printer writes a kernel in a small, checked subset of python (:func:`numba_kernel.check_source`
verifies it token by token): scalar float and integer locals, flat numpy arrays of fixed layout,
``for ... in range``, ``while``, ``if``, conditional expressions, ``np``/``rtf`` scalar functions.
Numba spends most of a large kernel's first compile typing and lowering that text (the flagship:
about 6 of its 8 s); LLVM itself optimises and generates the same code in about 1 s. This module
translates the same text statement by statement into LLVM IR, with numba's choices where results
depend on them: the same LLVM intrinsics and libm functions (``np.exp`` is ``llvm.exp.f64``,
``x ** y`` is ``llvm.pow.f64``), no fast-math flags and no contraction, python's evaluation order
and association. The helpers of :mod:`numba_rt` are translated from their own source, so there is
one definition of each; ``np.searchsorted`` is numpy's binary search written out.

Functions are typed per call like numba's (a helper called with other argument types is another
function). Arrays are (pointer, dimensions) pairs, C-contiguous; an array a function creates is
allocated on the heap and freed at its return. Anything outside the subset raises
:class:`LlvmUnsupported` and the caller keeps numba.
"""
from __future__ import annotations

import ast
from pathlib import Path

from .llvm_exprs import Expressions
from .llvm_types import BIT, ELEM, F64, I64, Arr, ArrVal, LlvmUnsupported, Typing, fnum

__all__ = ["Arr", "BIT", "F64", "I64", "LlvmUnsupported", "translate"]

RT_SOURCE = Path(__file__).with_name("numba_rt.py")  # read, not imported: importing it imports numba

# numpy's binary search (npy_binsearch for one key), NaN sorted last as numpy compares
SEARCH = '''
def ss_left(a, lo, hi, v):
    imin = lo
    imax = hi
    while imin < imax:
        mid = imin + ((imax - imin) >> 1)
        if a[mid] < v or (v != v and a[mid] == a[mid]):
            imin = mid + 1
        else:
            imax = mid
    return imin - lo


def ss_right(a, lo, hi, v):
    imin = lo
    imax = hi
    while imin < imax:
        mid = imin + ((imax - imin) >> 1)
        if v < a[mid] or (a[mid] != a[mid] and v == v):
            imax = mid
        else:
            imin = mid + 1
    return imin - lo
'''


class Module:
    """An LLVM module built from python function definitions (the kernel's and the helpers')."""

    def __init__(self, kernel_src: str):
        tree = ast.parse(kernel_src)
        self.funcs: dict[str, ast.FunctionDef] = {}
        self.globals: dict[str, ArrVal] = {}
        self.out: list[str] = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                self.funcs[node.name] = node
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                self._table(node)
        self.rt = {n.name: n for n in ast.parse(RT_SOURCE.read_text(encoding="utf-8")).body if isinstance(n, ast.FunctionDef)}
        self.rt.update({n.name: n for n in ast.parse(SEARCH).body if isinstance(n, ast.FunctionDef)})
        self.instances: dict[tuple, tuple[str, str]] = {}  # (scope, name, argtypes) -> (symbol, return type)
        self.pending: list = []
        self.decls: set[str] = set()

    def _table(self, node: ast.Assign) -> None:
        name = node.targets[0].id  # type: ignore[attr-defined]
        vals = [int(e.value) for e in node.value.args[0].elts]  # type: ignore[attr-defined]
        self.out.append(f"@{name} = internal constant [{len(vals)} x i64] [{', '.join('i64 %d' % v for v in vals)}]")
        self.globals[name] = ArrVal(Arr("i", 1), f"@{name}", [str(len(vals))])

    def function(self, scope: str, name: str, argtypes: tuple) -> tuple[str, str]:
        """The symbol and return type of ``name`` typed for ``argtypes`` (translated on first use)."""
        key = (scope, name, argtypes)
        if key not in self.instances:
            table = self.rt if scope == "rt" else self.funcs
            if name not in table:
                raise LlvmUnsupported(f"function {name}")
            fn = Function(self, scope, table[name], argtypes, f"{scope}.{name}.{len(self.instances)}")
            self.instances[key] = (fn.symbol, fn.infer())
            self.out += fn.emit()
        return self.instances[key]

    def export(self, name: str, argtypes: tuple) -> None:
        """An entry ``entry_<name>(ptr argv)`` reading the arguments from an array of 8-byte slots
        (array: address then dimensions; integer and flag: the value; float: its bits)."""
        sym, ret = self.function("k", name, argtypes)
        lines = [f"define i64 @entry_{name}(ptr %argv) {{", "entry:"]
        args, slot = [], 0

        def load(ty):
            nonlocal slot
            p = f"%p{slot}"
            lines.append(f"  {p} = getelementptr i64, ptr %argv, i64 {slot}")
            slot += 1
            lines.append(f"  {p}v = load {ty}, ptr {p}")
            return f"{p}v"

        for t in argtypes:
            if isinstance(t, Arr):
                args.append(f"ptr {load('ptr')}")
                args += [f"i64 {load('i64')}" for _ in range(t.ndim)]
            elif t == BIT:
                v = load("i64")
                lines.append(f"  {v}b = icmp ne i64 {v}, 0")
                args.append(f"i1 {v}b")
            else:
                args.append(f"{t} {load(t)}")
        lines.append(f"  %r = call {ret} @\"{sym}\"({', '.join(args)})")
        if ret == I64:
            lines += ["  ret i64 %r", "}"]
        else:
            raise LlvmUnsupported(f"{name} must return an integer")
        self.out += lines

    def text(self) -> str:
        decls = sorted(self.decls)
        return "\n".join(decls + self.out) + "\n"


class Function(Typing, Expressions):
    """One typed instance of a python function, as LLVM IR."""

    def __init__(self, mod: Module, scope: str, node: ast.FunctionDef, argtypes: tuple, symbol: str):
        self.mod, self.scope, self.node, self.symbol = mod, scope, node, symbol
        params = [a.arg for a in node.args.args]
        if len(params) != len(argtypes):
            raise LlvmUnsupported(f"{node.name}: {len(argtypes)} arguments for {len(params)} parameters")
        self.params = dict(zip(params, argtypes))
        self.types: dict[str, object] = dict(self.params)  # name -> scalar type or Arr
        self.ret: str | None = None
        self.lines: list[str] = []
        self.n = 0
        self.loops: list[tuple[str, str]] = []  # (continue label, break label)
        self.arrays: dict[str, ArrVal] = {}
        self.heap: list[str] = []  # slots of the arrays this function allocated

    # ------------------------------------------------------------------ types
    def tmp(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def label(self, what: str) -> str:
        self.n += 1
        return f"{what}{self.n}"

    def emit(self) -> list[str]:
        sig = []
        for name, t in self.params.items():
            if isinstance(t, Arr):
                sig.append(f"ptr %a.{name}")
                sig += [f"i64 %a.{name}.d{k}" for k in range(t.ndim)]
                self.arrays[name] = ArrVal(t, f"%a.{name}", [f"%a.{name}.d{k}" for k in range(t.ndim)])
            else:
                sig.append(f"{t} %a.{name}")
        body: list[str] = []
        self.lines = body
        for name, t in self.types.items():
            if not isinstance(t, Arr):
                body.append(f"  %v.{name} = alloca {t}")
        for name, t in self.params.items():
            if not isinstance(t, Arr):
                body.append(f"  store {t} %a.{name}, ptr %v.{name}")
        self.block_body(self.node.body, top=True)
        if not self.terminated():
            self.ret_value(None)
        attrs = " noinline" if self.scope == "k" else ""
        head = [f"define internal {self.ret} @\"{self.symbol}\"({', '.join(sig)}){attrs} {{", "entry:"]
        return head + body + ["}", ""]

    def terminated(self) -> bool:
        last = self.lines[-1].strip() if self.lines else ""
        return last.startswith(("ret ", "br ", "unreachable"))

    def start(self, label: str) -> None:
        self.lines.append(f"{label}:")

    def ret_value(self, value) -> None:
        for slot in self.heap:
            p = self.tmp()
            self.lines += [f"  {p} = load ptr, ptr {slot}", f"  call void @free(ptr {p})"]
        if value is None:
            if self.ret == F64:
                self.lines.append(f"  ret double {fnum(float('nan'))}")
            else:
                self.lines.append(f"  ret {self.ret} 0")
        else:
            self.lines.append(f"  ret {self.ret} {self.convert(value, str(self.ret))}")

    def block_body(self, body, top=False) -> None:
        for s in body:
            if self.terminated():  # code after a break/continue/return is unreachable
                self.start(self.label("dead"))
            self.stmt(s, top)

    def stmt(self, s, top: bool) -> None:
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant):
            return  # a docstring
        if isinstance(s, ast.Assign):
            if len(s.targets) != 1:
                raise LlvmUnsupported("chained assignment")
            self.assign(s.targets[0], s.value, top)
        elif isinstance(s, ast.AugAssign):
            self.assign(s.target, ast.BinOp(s.target, s.op, s.value), top)
        elif isinstance(s, ast.For):
            self.for_range(s)
        elif isinstance(s, ast.While):
            self.while_(s)
        elif isinstance(s, ast.If):
            self.if_(s)
        elif isinstance(s, ast.Break):
            self.lines.append(f"  br label %{self.loops[-1][1]}")
        elif isinstance(s, ast.Continue):
            self.lines.append(f"  br label %{self.loops[-1][0]}")
        elif isinstance(s, ast.Return):
            self.ret_value(None if s.value is None else self.expr(s.value))
        elif isinstance(s, ast.Raise):
            self.ret_value(None)  # only interp's empty table: NaN, which the run's check sends to numpy
        else:
            raise LlvmUnsupported(type(s).__name__)

    def assign(self, tgt, value, top: bool) -> None:
        if isinstance(tgt, ast.Name):
            t = self.types[tgt.id]
            if isinstance(t, Arr):
                if not top or tgt.id in self.arrays:
                    raise LlvmUnsupported(f"array {tgt.id} made inside a block")
                self.arrays[tgt.id] = self.make_array(value, t)
                return
            v = self.expr(value)
            self.lines.append(f"  store {t} {self.convert(v, str(t))}, ptr %v.{tgt.id}")
            return
        if isinstance(tgt, ast.Subscript):
            arr = self.array(tgt.value)
            ptr = self.element(arr, tgt.slice)
            ty = ELEM[arr.t.elem]
            v = self.convert(self.expr(value), F64 if arr.t.elem == "d" else I64)
            if arr.t.elem == "b":
                raise LlvmUnsupported("a store into a flag array")
            self.lines.append(f"  store {ty} {v}, ptr {ptr}")
            return
        raise LlvmUnsupported(ast.unparse(tgt))

    def make_array(self, value, t: Arr) -> ArrVal:
        if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice):  # a view ab[lo:hi]
            base = self.array(value.value)
            lo = self.convert(self.expr(value.slice.lower), I64)
            hi = self.convert(self.expr(value.slice.upper), I64)
            p, n = self.tmp(), self.tmp()
            self.lines += [f"  {p} = getelementptr double, ptr {base.ptr}, i64 {lo}", f"  {n} = sub i64 {hi}, {lo}"]
            return ArrVal(t, p, [n])
        f = value.func
        if isinstance(f, ast.Attribute) and f.attr == "copy":
            src = self.array(f.value)
            out = self.alloc(src.dims[0])
            nbytes = self.tmp()
            self.lines += [f"  {nbytes} = mul i64 {src.dims[0]}, 8",
                           f"  call void @llvm.memcpy.p0.p0.i64(ptr {out}, ptr {src.ptr}, i64 {nbytes}, i1 false)"]
            self.mod.decls.add("declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)")
            return ArrVal(t, out, list(src.dims))
        n = self.convert(self.expr(value.args[0]), I64)
        out = self.alloc(n)
        if f.attr == "zeros":
            nbytes = self.tmp()
            self.lines += [f"  {nbytes} = mul i64 {n}, 8",
                           f"  call void @llvm.memset.p0.i64(ptr {out}, i8 0, i64 {nbytes}, i1 false)"]
            self.mod.decls.add("declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)")
        return ArrVal(t, out, [n])

    def alloc(self, n: str) -> str:
        slot, nbytes, p = self.tmp(), self.tmp(), self.tmp()
        self.lines.insert(0, f"  {slot} = alloca ptr")
        self.lines.insert(1, f"  store ptr null, ptr {slot}")
        self.lines += [f"  {nbytes} = mul i64 {n}, 8", f"  {p} = call ptr @malloc(i64 {nbytes})",
                       f"  store ptr {p}, ptr {slot}"]
        self.heap.append(slot)
        self.mod.decls |= {"declare noalias ptr @malloc(i64)", "declare void @free(ptr)"}
        return p

    def array(self, e) -> ArrVal:
        if isinstance(e, ast.Name):
            if e.id in self.arrays:
                return self.arrays[e.id]
            if e.id in self.mod.globals:
                return self.mod.globals[e.id]
        raise LlvmUnsupported(f"not an array: {ast.unparse(e)}")

    def element(self, arr: ArrVal, index) -> str:
        idx = index.elts if isinstance(index, ast.Tuple) else [index]
        if len(idx) != arr.t.ndim:
            raise LlvmUnsupported("an index of another rank")
        flat = None
        for k, ie in enumerate(idx):
            v = self.convert(self.expr(ie), I64)
            if flat is None:
                flat = v
            else:
                a, b = self.tmp(), self.tmp()
                self.lines += [f"  {a} = mul i64 {flat}, {arr.dims[k]}", f"  {b} = add i64 {a}, {v}"]
                flat = b
        p = self.tmp()
        self.lines.append(f"  {p} = getelementptr {ELEM[arr.t.elem]}, ptr {arr.ptr}, i64 {flat}")
        return p

    # ------------------------------------------------------------------ control flow
    def for_range(self, s: ast.For) -> None:
        it = s.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id in ("range", "prange")
                and 1 <= len(it.args) <= 2 and not s.orelse):
            raise LlvmUnsupported("a for loop other than over range")
        lo = "0" if len(it.args) == 1 else self.convert(self.expr(it.args[0]), I64)
        hi = self.convert(self.expr(it.args[-1]), I64)
        # python's range: the bound is taken once; the loop variable is a fresh counter each time
        cnt = self.tmp()
        self.lines.insert(0, f"  {cnt} = alloca i64")
        var = s.target.id  # type: ignore[attr-defined]
        head, body, step, done = (self.label(k) for k in ("for", "body", "next", "done"))
        self.lines += [f"  store i64 {lo}, ptr {cnt}", f"  br label %{head}"]
        self.start(head)
        c, ok = self.tmp(), self.tmp()
        self.lines += [f"  {c} = load i64, ptr {cnt}", f"  {ok} = icmp slt i64 {c}, {hi}",
                       f"  br i1 {ok}, label %{body}, label %{done}"]
        self.start(body)
        self.lines.append(f"  store i64 {c}, ptr %v.{var}")
        self.loops.append((step, done))
        self.body_then(s.body, step)
        self.loops.pop()
        self.start(step)
        c2, c3 = self.tmp(), self.tmp()
        self.lines += [f"  {c2} = load i64, ptr {cnt}", f"  {c3} = add i64 {c2}, 1", f"  store i64 {c3}, ptr {cnt}",
                       f"  br label %{head}"]
        self.start(done)

    def while_(self, s: ast.While) -> None:
        if s.orelse:
            raise LlvmUnsupported("while ... else")
        head, body, done = self.label("while"), self.label("wbody"), self.label("wdone")
        self.lines.append(f"  br label %{head}")
        self.start(head)
        self.lines.append(f"  br i1 {self.truth(s.test)}, label %{body}, label %{done}")
        self.start(body)
        self.loops.append((head, done))
        self.body_then(s.body, head)
        self.loops.pop()
        self.start(done)

    def if_(self, s: ast.If) -> None:
        then, other, done = self.label("then"), self.label("else"), self.label("endif")
        self.lines.append(f"  br i1 {self.truth(s.test)}, label %{then}, label %{other}")
        self.start(then)
        self.body_then(s.body, done)
        self.start(other)
        self.body_then(s.orelse, done)
        self.start(done)

    def body_then(self, body, label: str) -> None:
        """``body``, then a branch to ``label`` unless it ended in a break, continue or return."""
        self.block_body(body)
        if not self.terminated():
            self.lines.append(f"  br label %{label}")

    # ------------------------------------------------------------------ expressions
def translate(kernel_src: str, exports: dict) -> str:
    """LLVM IR of ``kernel_src`` with an entry per exported function (name -> argument types)."""
    mod = Module(kernel_src)
    for name, types in exports.items():
        mod.export(name, types)
    return mod.text()
