"""Fused backend: a model's whole Euler/RK4 run as one compiled kernel per ensemble member.

The numpy path pays python's per-operation overhead for every equation at every TIME STEP; the
fused kernel (printed from the IR by :mod:`simulator.printers.numba_printer`) runs one member from
the initial state to FINAL TIME in compiled code and writes only the requested outputs at the save
times. Members run independently (in chunks of 16 on a pool of threads), so results do not depend
on the number of threads or on how an ensemble is split.

Two compilers take the same kernel source (the cache's ``compiler``): LLVM directly
(:mod:`simulator.llvm_jit`, the default: the flagship in about 1.5 s, every function of the kernel
at once, numba not even imported) and numba (8–18 s; only what a call needs: ``member`` for a
single run, ``run_parallel`` the first time an ensemble of :data:`PARALLEL_MIN_MEMBERS` or more
runs). A source outside the LLVM translator's subset goes to numba, and
``metadata["fused"]["compiler"]`` says so. Both give the same numbers, bit for bit.

The backend keeps the name "numba" (``RunOptions(backend="numba")``) and needs numba installed
(the ``fast`` extra, which brings llvmlite); without it, or for anything the printer does not
handle, the engine runs the numpy path and says why in ``Result.metadata["backend"]``; a member
that turns non-finite sends the run back to the numpy path, which reports where (or keeps :NA: as
data). One kernel serves a model structure: constants, lookups and time series are inputs, not
code. Kernels live in the model's :class:`~simulator.kernel_cache.KernelCache`.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import llvm_jit
from . import runtime as rt
from .compiling import compile_within, expected_compile_seconds, numba_job
from .ir import deep_trees
from .printers.numba_kernel import UnsafeSource
from .printers.numba_printer import FusedPlan, FusedUnsupported, print_numba
from .printers.numpy_printer import INITIAL_SLOT

PARALLEL_MIN_MEMBERS = 16  # below this, thread start-up costs more than it saves
# backend="auto" uses the kernel for models whose single run takes the numpy path at least this
# long (judged from the model's size and number of steps, never from the ensemble size or from what
# happens to be compiled); kernels of more than AUTO_MAX_KERNEL_SIZE printed IR nodes (a loop over a
# subscript range counts once; the flagship's ~1 000 compile in about 17 s of one core's time) stay on
# numpy, and no backend prints one over MAX_KERNEL_SIZE; a compile still running after
# AUTO_COMPILE_SECONDS goes on in the background while the run (and the model's later runs) use
# numpy. backend="numba" waits for the compiler, however long it takes; it shows its progress on stderr.
AUTO_MIN_SECONDS = 0.05
AUTO_MAX_KERNEL_SIZE = 6000
MAX_KERNEL_SIZE = 50_000
# LLVM's memory while compiling grows with the number of loops of one function: the SDXorg
# vector_select sample prints 3 060 small loops and took more than 20 GB; the flagship prints 150
MAX_KERNEL_LOOPS = 1000
AUTO_COMPILE_SECONDS = 60.0
NUMPY_SECONDS_PER_NODE = 0.6e-6  # numpy's cost of one IR node per derivative evaluation (any size)
LLVM_SECONDS_PER_NODE = 0.0008  # the same compiled by LLVM from the source directly (flagship ~1.5 s)


def numba_missing() -> str | None:
    """Why numba cannot be used here, or None when it can. Finding it does not import it (about half
    a second): a kernel LLVM compiles never needs it; one numba compiles imports it then."""
    if "numba" in sys.modules and sys.modules["numba"] is None:
        return "numba is not available (ImportError: numba is blocked in this process)"
    try:
        found = importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError) as exc:
        return f"numba is not available ({type(exc).__name__}: {exc})"
    return None if found else "numba is not available (ModuleNotFoundError: No module named 'numba')"


def _header() -> str:
    """The first line of every kernel source: what its machine code depends on besides the text."""
    from .printers import numba_kernel

    helpers = hashlib.sha256(Path(numba_kernel.__file__).with_name("numba_rt.py").read_bytes()).hexdigest()
    try:
        version = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        version = "none"
    return f"# innosim fused kernel; helpers sha256 {helpers}; numba {version}"


def _as_cells(value, shape) -> np.ndarray:
    """A value with subscript axes first and members last, as (cells, member columns)."""
    a = np.asarray(value, dtype=float)
    want = len(shape) + 1
    if a.ndim == want and a.shape[:-1] == tuple(shape):
        return a.reshape(-1, a.shape[-1])
    if a.ndim < want:
        a = a.reshape((1,) * (want - a.ndim) + a.shape)
    a = np.broadcast_to(a, tuple(shape) + (a.shape[-1],))
    return a.reshape(-1, a.shape[-1])


class _SerialDriver:
    """``run_serial`` without compiling it: one call of the compiled ``member`` per member."""

    def __init__(self, member):
        self.member = member

    def __call__(self, *args) -> None:
        *rest, bad = args
        for m in range(bad.shape[0]):
            bad[m] = self.member(m, m, *rest)


@dataclass
class FusedRun:
    """What a kernel call produced: (save, column, member) outputs of the dynamic variables."""

    layout: dict  # var idx -> (first column, end column)
    out: np.ndarray
    npos: int  # saves written
    nfev: int

    def collect(self, S, chosen, members: int) -> dict:
        """Output arrays (time, *subscripts, member): the kernel's columns, or initial values held."""
        data = {}
        for v in chosen:
            if v.idx in self.layout:
                a, b = self.layout[v.idx]
                data[v.name] = self.out[:self.npos, a:b].reshape((self.npos,) + v.shape + (members,))
            else:
                data[v.name] = np.empty((self.npos,) + v.shape + (members,))
                data[v.name][...] = np.asarray(S[v.idx], dtype=float)
        return data

    def finite_columns(self, chosen) -> set:
        """Names whose columns came from the kernel, finite (the kernel checked every state)."""
        if not np.isfinite(self.out[:self.npos]).all():
            return set()
        return {v.name for v in chosen if v.idx in self.layout}


@dataclass
class Kernel:
    """The fused kernel of one program (model variant): its source, compiled when first needed."""

    plan: FusedPlan
    sha: str  # sha256 of the source
    header: str
    module: Any = None  # the loaded kernel module (member, run_parallel, initial...)
    origin: str = ""  # where the module came from: memory | disk | uncached | compiled
    compiler: str = ""  # who compiled it: llvm | numba
    why_not_llvm: str = ""  # why numba compiled it when LLVM was asked to
    compile_seconds: dict = field(default_factory=dict)  # driver -> seconds of its first compile/load
    last_seconds: float = 0.0  # time spent inside the compiled loop by the last call

    @cached_property
    def loops(self) -> int:
        """Loops in the source (what LLVM's compile memory grows with)."""
        return len(re.findall(r"^\s*for ", self.plan.source, re.M))

    def _driver(self, cache, parallel: bool, args, limit: float | None):
        """The compiled driver for ``args``: ``run_parallel`` for an ensemble worth threads, else one
        that runs the members one after the other.

        The kernel is compiled by LLVM from its source directly (:mod:`simulator.llvm_jit`) when the
        cache's compiler is "llvm" and the source is within that translator's subset, else by numba.
        With numba, a single run needs no compiled driver: compiling ``run_serial`` would type
        ``member`` again and hand its whole LLVM module to the optimiser a second time (numba links
        a callee into its caller and optimises the result), for a loop that python runs as fast.
        """
        name = "run_parallel" if parallel else "run_serial"
        if self.module is None:
            self._load(cache, limit)
        if self.compiler == "llvm":
            self.compile_seconds.setdefault(name, 0.0)  # compiled with the module
            return self.module.run_parallel if parallel else self.module.run_serial
        disp = self.module.run_parallel if parallel else self.module.member
        if name not in self.compile_seconds:
            import numba

            sig = tuple(numba.typeof(a) for a in (args if parallel else (0, 0) + args[:-1]))
            started = time.perf_counter()
            error = compile_within(numba_job(disp, sig), limit, expected_compile_seconds(self.plan.size))
            if error is not None:
                raise FusedUnsupported(error)
            self.compile_seconds[name] = time.perf_counter() - started
        return disp if parallel else self.serial()

    def _load(self, cache, limit: float | None) -> None:
        """The kernel's module: compiled by LLVM (with progress), or numba's module of the source."""
        if getattr(cache, "compiler", "llvm") == "llvm" and llvm_jit.llvm_missing() is None:
            known = cache.remembered("llvm:" + self.sha)
            if known is not None:
                self.module, self.origin, self.compiler = known, "memory", "llvm"
                self.compile_seconds["run_serial"] = 0.0
                return
            box: dict = {}

            def job() -> str | None:
                try:
                    box["module"] = llvm_jit.compile_kernel(self.plan.source, cache.folder())
                except llvm_jit.LlvmUnsupported as exc:
                    box["unsupported"] = str(exc)
                except Exception as exc:  # noqa: BLE001 - LLVM failing is a reason to use numba
                    box["unsupported"] = f"LLVM could not compile the kernel ({type(exc).__name__}: {exc})"
                return None

            started = time.perf_counter()
            error = compile_within(job, limit, LLVM_SECONDS_PER_NODE * self.plan.size)
            if error is not None:
                raise FusedUnsupported(error)
            if "module" in box:
                self.module, self.origin = box["module"]
                self.compiler = "llvm"
                cache.remember("llvm:" + self.sha, self.module)
                self.compile_seconds["run_serial"] = time.perf_counter() - started
                return
            self.why_not_llvm = box["unsupported"]
        missing = numba_missing()
        if missing is not None:
            raise FusedUnsupported(f"{missing}; LLVM: {self.why_not_llvm or 'not asked'}")
        try:
            self.module, self.origin = cache.load(self.plan.source, self.sha, self.header)
        except ImportError as exc:  # a broken numba installation
            raise FusedUnsupported(f"numba is not available ({type(exc).__name__}: {exc})") from None
        self.compiler = "numba"
        for fn in (self.module.member, self.module.initial):
            # numba's rewrite passes (array expressions, branches on constants) find nothing in a
            # kernel of scalar statements and cost a tenth of its compile; the machine code is
            # the same, so a cache filled with or without them serves both
            fn.targetoptions["no_rewrites"] = True

    def serial(self):
        """A callable taking ``run_serial``'s arguments that runs the compiled ``member`` once per
        member (the module must be loaded): what a caller of ``run_serial`` can use instead."""
        if self.compiler == "llvm":
            return self.module.run_serial
        return _SerialDriver(self.module.member)

    def integrate(self, model, prog, P, S, y0, grid, *, rk, check, wanted, members, compile_limit=None):
        """Run every member of a call of variant ``prog``; None when a member became non-finite
        (the numpy path then runs and reports it). Raises :class:`FusedUnsupported` when numba
        cannot compile the kernel (in time)."""
        plan = self.plan
        m = members
        wshared, wpm, wpmrow = _rows(plan, prog, P, S)
        tabx, taby, taboff = _tables(plan, P)
        serx, sery, sermeta, act_row, act_ser = _series(plan, P, prog)
        colmap = np.full(max(len(plan.cells), 1), -1, dtype=np.int64)
        slots = {cell: k for k, cell in enumerate(plan.cells)}
        layout, ncols = {}, 0
        for v in wanted:
            if v.idx not in prog.analysis.dynamic:
                continue
            size = int(np.prod(v.shape)) if v.shape else 1
            layout[v.idx] = (ncols, ncols + size)
            for f in range(size):
                colmap[slots[(v.idx, f)]] = ncols + f
            ncols += size
        save_at = np.rint((grid.save_times - grid.t0) / grid.dt).astype(np.int64)
        npos = int(np.searchsorted(save_at, grid.nsteps, side="right"))
        out = np.empty((len(grid.save_times), ncols, m))
        bad = np.zeros(m, dtype=np.int64)
        args = (np.ascontiguousarray(y0, dtype=float), wshared, wpm, wpmrow, tabx, taby, taboff, serx, sery,
                sermeta, act_row, act_ser, float(grid.t0), float(grid.dt), int(grid.nsteps), bool(rk), bool(check),
                np.ascontiguousarray(prog.strict_rows, dtype=np.bool_), save_at, np.ascontiguousarray(grid.save_times, dtype=float), colmap, out, bad)
        parallel = m >= PARALLEL_MIN_MEMBERS
        driver = self._driver(model.cache, parallel, args, compile_limit)
        started = time.perf_counter()
        if parallel:
            with model.cache.launch_lock:
                driver(*args)
        else:
            driver(*args)
        self.last_seconds = time.perf_counter() - started
        if check and bad.any():
            return None
        steps = int(save_at[-1]) if npos == len(save_at) and npos else int(grid.nsteps)
        return FusedRun(layout=layout, out=out, npos=npos, nfev=steps * (4 if rk else 1))


def _rows(plan, prog, P, S):
    """Slow values: one column shared by all members, plus (row, member) for those that vary."""
    by_idx = {v.idx: v for v in prog.ir.vars}
    cache: dict = {}
    shared = np.empty(len(plan.rows))
    pmrow = np.full(len(plan.rows), -1, dtype=np.int64)
    pm: list[np.ndarray] = []
    for r, (kind, key, flat) in enumerate(plan.rows):
        if (kind, key) not in cache:
            if kind == "const":
                val = P[key]
                val = val.base if isinstance(val, rt.Override) else val
                shape = by_idx[key].shape
            elif kind == "aux":
                val, shape = S[key], by_idx[key].shape
            else:
                val, shape = S[INITIAL_SLOT + key], prog.ir.initials[key].shape
            cache[(kind, key)] = _as_cells(val, shape)
        cells = cache[(kind, key)]
        if cells.shape[1] == 1:
            shared[r] = cells[flat, 0]
        else:
            shared[r] = np.nan
            pmrow[r] = len(pm)
            pm.append(cells[flat])
    wpm = np.array(pm) if pm else np.zeros((0, 1))
    return shared, np.ascontiguousarray(wpm, dtype=float), pmrow


def _tables(plan, P):
    """Lookup tables (the call may have replaced the model's), packed end to end."""
    xs_list, ys_list = [], []
    for ref in plan.tables:
        if ref[0] == "P":
            tab = P[ref[1]] if ref[2] is None else P[ref[1]][ref[2]]
        else:
            tab = ref[1:]
        xs_list.append(np.asarray(tab[0], dtype=float).ravel())
        ys_list.append(np.asarray(tab[1], dtype=float).ravel())
    taboff = np.zeros(len(xs_list) + 1, dtype=np.int64)
    taboff[1:] = np.cumsum([len(x) for x in xs_list])
    tabx = np.concatenate(xs_list) if xs_list else np.zeros(0)
    taby = np.concatenate(ys_list) if ys_list else np.zeros(0)
    return tabx, taby, taboff


def _series(plan, P, prog):
    """Time series replacing constants in this call: values packed end to end, (x offset, n,
    y offset, member columns) per series, and which slow value each one drives."""
    by_idx = {v.idx: v for v in prog.ir.vars}
    rows = {(key, flat): r for r, (kind, key, flat) in enumerate(plan.rows) if kind == "const"}
    xs_all: list[np.ndarray] = []
    ys_all: list[np.ndarray] = []
    meta: list[tuple[int, int, int, int]] = []
    act: dict[int, int] = {}
    xo = yo = 0
    for idx, ov in P.items():
        if not isinstance(ov, rt.Override):
            continue
        shape = by_idx[idx].shape
        size = int(np.prod(shape)) if shape else 1
        for cell, xs, ys in ov.series:
            ys = np.asarray(ys, dtype=float)
            j = len(meta)
            meta.append((xo, len(xs), yo, 0 if ys.ndim == 1 else ys.shape[1]))
            xs_all.append(np.asarray(xs, dtype=float))
            ys_all.append(ys.ravel())
            xo += len(xs)
            yo += ys.size
            flats = range(size) if cell is None else [int(np.ravel_multi_index(cell, shape)) if shape else 0]
            for f in flats:
                if (idx, f) in rows:  # the last series naming a cell wins, as in runtime.overridden
                    act[rows[(idx, f)]] = j
    sermeta = np.array(meta, dtype=np.int64).reshape(-1, 4)
    serx = np.concatenate(xs_all) if xs_all else np.zeros(0)
    sery = np.concatenate(ys_all) if ys_all else np.zeros(0)
    act_row = np.array(sorted(act), dtype=np.int64)
    act_ser = np.array([act[r] for r in sorted(act)], dtype=np.int64)
    return serx, sery, sermeta, act_row, act_ser


def numpy_seconds(prog, nsteps: int, rk: bool) -> float:
    """A rough estimate of the numpy path's time for one member, from the size of its IR."""
    return nsteps * (4 if rk else 1) * prog.analysis.run_nodes * NUMPY_SECONDS_PER_NODE


def build(model, kkey: frozenset) -> Kernel:
    """The kernel of ``model``'s variant ``kkey`` (compiled by numba when first run)."""
    prog = model._program(kkey)
    header = _header()
    with deep_trees():
        plan = print_numba(prog.ir, prog.analysis, header)
    return Kernel(plan=plan, sha=hashlib.sha256(plan.source.encode()).hexdigest(), header=header)


def select(model, prog, variant, method: str, opts, nsteps: int):
    """(kernel or None, backend label) for one run of ``model``'s variant ``variant``.

    Time series replacing constants are inputs of the kernel, not a structural change: the kernel
    is built from the variant in which every other override is a plain constant.
    """
    if opts.backend == "auto" and numpy_seconds(prog, nsteps, method == "rk4") < AUTO_MIN_SECONDS:
        return None, "numpy (fused backend: auto leaves a run this short to numpy; backend='numba' forces it)"
    base_kind = {v.idx: v.kind for v in model.program.ir.vars}
    kkey = frozenset((i, "const") for i, kind in variant if not (kind == "series" and base_kind[i] == "const"))
    kernel = model._fused.get(kkey)
    if kernel is None:
        kernel = numba_missing()
        if kernel is None:
            try:
                kernel = build(model, kkey)
            except FusedUnsupported as exc:
                kernel = f"unsupported {exc}"
            except (UnsafeSource, Exception) as exc:  # noqa: BLE001 - the numpy path is always there and right
                kernel = f"kernel generation failed ({type(exc).__name__}: {exc})"
        model._fused[kkey] = kernel
    if not isinstance(kernel, str):
        loops = kernel.loops
        if loops > MAX_KERNEL_LOOPS:
            return None, (f"numpy (fused backend: a kernel of {loops:,} loops is too large: compiling it would "
                          f"need more memory than a machine has; the engine compiles at most {MAX_KERNEL_LOOPS:,})")
        size = kernel.plan.size
        if size > MAX_KERNEL_SIZE or (opts.backend == "auto" and size > AUTO_MAX_KERNEL_SIZE):
            why = "compiling it would take minutes; backend='numba' forces it" if size <= MAX_KERNEL_SIZE \
                else f"the engine prints kernels of at most {MAX_KERNEL_SIZE:,}"
            return None, f"numpy (fused backend: a kernel of {size:,} operations is too large: {why})"
    if isinstance(kernel, str):
        return None, f"numpy (fused backend: {kernel})"
    return kernel, "numba"


def attempt(model, prog, variant, method, opts, *, P, S, y0, grid, chosen, members):
    """Run on the fused kernel when it can: (FusedRun or None, backend label, metadata or None)."""
    kernel, backend = select(model, prog, variant, method, opts, grid.nsteps)
    if kernel is None:
        return None, backend, None
    limit = AUTO_COMPILE_SECONDS if opts.backend == "auto" else None
    try:
        run = kernel.integrate(model, prog, P, S, y0, grid, rk=method == "rk4", check=opts.check_finite,
                               wanted=chosen, members=members, compile_limit=limit)
    except FusedUnsupported as exc:
        for k, v in list(model._fused.items()):  # later runs of this model go straight to numpy
            if v is kernel:
                model._fused[k] = str(exc)
        return None, f"numpy (fused backend: {exc})", None
    compiler = kernel.compiler + (f" (LLVM: {kernel.why_not_llvm})" if kernel.why_not_llvm else "")
    meta = {"kernel": kernel.origin, "compiler": compiler, "compile_seconds": dict(kernel.compile_seconds),
            "loop_seconds": kernel.last_seconds}
    if run is None:
        return None, "numpy (fused backend: a value became NaN or infinite; the numpy path handles it)", meta
    return run, "numba", meta
