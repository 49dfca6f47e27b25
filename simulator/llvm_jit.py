"""A fused kernel compiled by LLVM from its source directly (:mod:`simulator.printers.llvm_ir`).

The result behaves as the numba module of the same source does for the engine: ``member``,
``initial`` and the drivers take the same numpy arrays and write the same outputs, bit for bit
(the same LLVM intrinsics and libm functions, no fast-math). It compiles several times faster
because numba's typing and lowering of a large function is skipped; a kernel outside the
translator's subset raises :class:`~simulator.printers.llvm_ir.LlvmUnsupported` and the engine
keeps numba.

Machine code is cached as an object file beside the numba kernels, named by the sha256 of the
IR and of the machine (CPU, its features, LLVM's version), written atomically; a damaged file is
compiled again. Calls go through ``ctypes``, which releases the GIL: an ensemble runs on a pool of
threads, members in chunks of 16, each member independent, so results do not depend on threads.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import numpy as np

from .printers.llvm_ir import BIT, F64, I64, Arr, LlvmUnsupported, translate
from .printers.numba_kernel import ARGS, CHUNK

__all__ = ["Entry", "LlvmModule", "LlvmUnsupported", "compile_ir", "compile_kernel", "kernel_ir", "llvm_missing"]

F1, F2, F3, I1, I2, B1 = Arr("d", 1), Arr("d", 2), Arr("d", 3), Arr("i", 1), Arr("i", 2), Arr("b", 1)
# the kernel's arguments (numba_kernel.ARGS), typed
ARG_TYPES = {"yinit": F2, "wshared": F1, "wpm": F2, "wpmrow": I1, "tabx": F1, "taby": F1, "taboff": I1,
             "serx": F1, "sery": F1, "sermeta": I2, "act_row": I1, "act_ser": I1, "t0": F64, "dt": F64, "nsteps": I64,
             "rk": BIT, "check": BIT, "strict": B1, "save_at": I1, "save_t": F1, "colmap": I1, "out": F3,
             "bad": I1, "w": F1, "m": I64, "mo": I64, "m0": I64, "m1": I64}
NAMES = [a.strip() for a in ARGS.split(",")]
INITIAL = ["w", "tabx", "taby", "taboff", "serx", "sery", "sermeta", "act_row", "act_ser", "t0", "dt", "yinit"]
DRIVER = f"""

def run_range(m0, m1, {ARGS}, bad):
    for m in range(m0, m1):
        bad[m] = member(m, m, {ARGS})
    return 0
"""
DTYPES = {"d": np.float64, "i": np.int64, "b": np.bool_}
_llvm_lock = threading.Lock()  # LLVM's global state (targets, the JIT's symbol table) is not thread safe
_ready = False


def llvm_missing() -> str | None:
    """Why llvmlite cannot be used here, or None when it can."""
    try:
        import llvmlite.binding  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means "use numba or numpy"
        return f"llvmlite is not available ({type(exc).__name__})"
    return None


def _init():
    global _ready
    import llvmlite.binding as llvm

    if not _ready:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _ready = True
    return llvm


def _machine(llvm):
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                        opt=3, reloc="static", codemodel="jitdefault", jit=True)


def machine_tag() -> str:
    """What machine code depends on besides the IR: the CPU, its features and LLVM's version."""
    llvm = _init()
    text = f"{llvm.get_host_cpu_name()};{llvm.get_host_cpu_features().flatten()};{llvm.llvm_version_info}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def kernel_ir(src: str) -> str:
    """The LLVM IR of a numba kernel source, with entries for ``member``, ``initial``, ``run_range``."""
    types = [ARG_TYPES[n] for n in NAMES]
    return translate(src + DRIVER, {"member": (I64, I64, *types), "initial": tuple(ARG_TYPES[n] for n in INITIAL),
                                    "run_range": (I64, I64, *types, ARG_TYPES["bad"])})


def compile_kernel(src: str, folder: Path | None) -> tuple["LlvmModule", str]:
    """The compiled kernel of ``src``: (module, origin "disk" when its machine code is in ``folder``,
    "uncached" without a folder). Raises LlvmUnsupported for a source outside the translator's subset."""
    engine, addrs = compile_ir(kernel_ir(src), ("member", "initial", "run_range"), folder)
    return LlvmModule(engine, addrs), "disk" if folder is not None else "uncached"


def compile_ir(ir: str, entries, folder: Path | None) -> tuple[object, dict]:
    """Machine code of LLVM IR ``ir`` (from ``folder``'s object files when there, else compiled at
    -O3 for this CPU and stored there): (engine that owns it, entry name -> address)."""
    with _llvm_lock:
        llvm = _init()
        key = hashlib.sha256(ir.encode()).hexdigest()[:24] + "-" + machine_tag()
        path = folder / f"innosim_llvm_{key}.o" if folder is not None else None
        obj = _read_object(path) if path is not None else None
        tm = _machine(llvm)
        if obj is None:
            mod = llvm.parse_assembly(ir)
            mod.verify()
            pto = llvm.create_pipeline_tuning_options(speed_level=3)
            pb = llvm.create_pass_builder(tm, pto)
            pb.getModulePassManager().run(mod, pb)
            obj = tm.emit_object(mod)
            if path is not None:
                _atomic_write(path, MAGIC + hashlib.sha256(obj).digest() + obj)
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
        engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        engine.finalize_object()
        addrs = {name: engine.get_function_address(f"entry_{name}") for name in entries}
    if not all(addrs.values()):
        raise LlvmUnsupported("the compiled kernel lacks an entry")
    return engine, addrs


MAGIC = b"innosim-llvm-object-1\n"


def _read_object(path: Path) -> bytes | None:
    """The machine code stored at ``path``, or None when there is none; a file that is not whole
    (its checksum differs: a full disk, a killed writer) is deleted, with a message on stderr,
    and the kernel compiled again: LLVM would load a damaged object file without a word."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC)
    obj = data[head + 32:]
    if data[:head] == MAGIC and hashlib.sha256(obj).digest() == data[head:head + 32]:
        return obj
    try:
        path.unlink()
    except OSError:
        pass
    sys.stderr.write(f"innosim: the compiled kernel {path} could not be read (damaged); deleted it and "
                     "compiled it again\n")
    return None


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


class Entry:
    """One compiled entry: packs numpy arrays and numbers into 8-byte slots and calls it.

    The slots of the last call are kept per thread and an array's slots are refilled only when
    the call passes another array object (known by a weak reference: nothing is kept alive): a
    prepared run passes the same tables and frame arrays every time, and looking up an array's
    address costs more than a small model's whole run.
    """

    def __init__(self, addr: int, types: list):
        self.fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(addr)
        self.types = types
        # (argument, first slot[, rank, dtype])
        self.arrays: list[tuple[int, int, int, np.dtype]] = []
        self.floats: list[tuple[int, int]] = []
        self.ints: list[tuple[int, int]] = []
        n = 0
        for k, t in enumerate(types):
            if isinstance(t, Arr):
                self.arrays.append((k, n, t.ndim, np.dtype(DTYPES[t.elem])))
                n += 1 + t.ndim
            else:
                (self.floats if t == F64 else self.ints).append((k, n))
                n += 1
        self.nslots = n
        self._local = threading.local()

    def pack(self, args) -> np.ndarray:
        """The slots of ``args`` (this thread's array: used by the call that follows)."""
        if len(args) != len(self.types):
            raise TypeError(f"expected {len(self.types)} arguments, got {len(args)}")
        st = self._local
        argv = getattr(st, "argv", None)
        if argv is None:
            argv = st.argv = np.zeros(self.nslots, dtype=np.int64)
            st.argf = argv.view(np.float64)
            st.refs = [None] * len(self.types)
            st.address = argv.ctypes.data
        refs = st.refs
        for k, off, ndim, dtype in self.arrays:
            a = args[k]
            ref = refs[k]
            if ref is not None and ref() is a:
                continue
            if not (type(a) is np.ndarray and (a.dtype is dtype or a.dtype == dtype) and a.ndim == ndim
                    and a.flags.c_contiguous):
                raise LlvmUnsupported(f"a kernel argument is not a C-ordered {ndim}-d {dtype.name} array")
            shape = a.shape
            argv[off] = _address(a)
            argv[off + 1] = shape[0]
            if ndim > 1:
                argv[off + 2:off + 1 + ndim] = shape[1:]
            refs[k] = weakref.ref(a)
        argf = st.argf
        for k, off in self.floats:
            argf[off] = args[k]
        for k, off in self.ints:
            argv[off] = int(args[k])
        return argv

    def __call__(self, *args) -> int:
        self.pack(args)
        # the arrays are alive in ``args`` for the length of the call
        return self.fn(self._local.address)


def _address(a: np.ndarray) -> int:
    """The address of an array's first element (a quarter of ``a.ctypes.data``'s cost)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(cast(Any, a)))  # an ndarray is a writable buffer
    except (TypeError, ValueError):  # read-only or empty
        return a.ctypes.data


class LlvmModule:
    """``member``, ``initial``, ``run_serial`` and ``run_parallel`` of a kernel compiled by LLVM,
    with the numba module's signatures."""

    def __init__(self, engine, addrs: dict):
        self._engine = engine  # owns the machine code
        types = [ARG_TYPES[n] for n in NAMES]
        self.member = Entry(addrs["member"], [I64, I64, *types])
        self.initial = Entry(addrs["initial"], [ARG_TYPES[n] for n in INITIAL])
        self._range = Entry(addrs["run_range"], [I64, I64, *types, ARG_TYPES["bad"]])

    def run_serial(self, *args) -> None:
        self._range(0, args[-1].shape[0], *args)

    def run_parallel(self, *args) -> None:
        members = args[-1].shape[0]
        argv = self._range.pack((0, members) + args).copy()
        workers = threads()
        # a few chunks per thread: even loads without a task's overhead (tens of µs) per 16 members
        size = max(CHUNK, -(-members // (4 * workers)))
        chunks = [(m0, min(members, m0 + size)) for m0 in range(0, members, size)]

        def work(chunk):
            mine = argv.copy()
            mine[0], mine[1] = chunk
            self._range.fn(mine.ctypes.data)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, chunks))  # ``args`` keeps the arrays alive until every chunk is done


def threads() -> int:
    """Threads for an ensemble: ``NUMBA_NUM_THREADS`` when set (a Dask worker sets 1), else the CPUs
    this process may use."""
    env = os.environ.get("NUMBA_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return max(os.cpu_count() or 1, 1)
