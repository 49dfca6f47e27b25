"""Where compiled kernels live: an explicit cache object, no module-level state.

``KernelCache(folder, compiler="llvm")``: LLVM compiles a kernel's source directly and its machine
code is stored as an object file named by the sha256 of the LLVM IR and of the machine (CPU,
features, LLVM version), with a checksum: a file that is not whole is deleted and compiled again,
with a message on stderr (:mod:`simulator.llvm_jit`). ``compiler="numba"`` (or
``$INNOSIM_COMPILER=numba``; also where a kernel is outside LLVM's subset): the kernel's source is
written under the cache folder, named by the sha256 of its text, and loaded from there, so that
numba's own cache (``cache=True``, machine code beside the file) serves later processes; a cached
kernel numba cannot read is deleted and compiled again, with a message (:func:`forget_compiled`).
Either way the cost is paid once per machine and model structure. Writes are atomic (a private
temporary file renamed into place), content-addressed files are never rewritten, and two processes
compiling the same model at once both end with the same, complete file.

The folder is ``KernelCache(path)``, else ``$INNOSIM_CACHE``, else ``$INNOSIM_CACHE_DIR``
(older name), else ``$XDG_CACHE_HOME/innosim`` or ``~/.cache/innosim``; kernels go in its
``fused`` subfolder. A folder that others can write to is never used (numba's cache files are
pickles, object files are machine code): kernels then compile in memory, every process anew.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import traceback
import types
from pathlib import Path

COMPILERS = ("llvm", "numba")


class KernelCache:
    """Generated kernel modules, in memory for this object's life and on disk across processes."""

    def __init__(self, root: str | Path | None = None, *, compiler: str = "llvm"):
        if compiler not in COMPILERS:
            raise ValueError(f"KernelCache: compiler must be one of {', '.join(COMPILERS)}, got {compiler!r}")
        self.root = Path(root) if root is not None else None
        self.compiler = compiler  # who compiles kernels: "llvm" (numba where LLVM's subset ends) or "numba"
        self._loaded: dict[str, object] = {}
        self._lock = threading.Lock()
        self.launch_lock = threading.Lock()  # one multi-threaded numba launch at a time

    @classmethod
    def from_env(cls) -> "KernelCache":
        root = os.environ.get("INNOSIM_CACHE") or os.environ.get("INNOSIM_CACHE_DIR")
        compiler = os.environ.get("INNOSIM_COMPILER", "") or "llvm"
        if compiler not in COMPILERS:
            sys.stderr.write(f"innosim: INNOSIM_COMPILER={compiler!r} is not one of {', '.join(COMPILERS)}; "
                             "using llvm\n")
            compiler = "llvm"
        return cls(root or None, compiler=compiler)

    def folder(self) -> Path | None:
        """The folder of kernel modules, created if needed; None when it is unusable."""
        if self.root is not None:
            base = self.root
        else:
            xdg = os.environ.get("XDG_CACHE_HOME")
            base = (Path(xdg) if xdg else Path.home() / ".cache") / "innosim"
        path = base / "fused"
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            st = path.stat()
        except OSError:
            return None
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
            return None
        return path if os.access(path, os.W_OK) else None

    def remembered(self, key: str):
        """A compiled module this cache holds in memory under ``key``, or None."""
        with self._lock:
            return self._loaded.get(key)

    def remember(self, key: str, module) -> None:
        with self._lock:
            self._loaded.setdefault(key, module)

    def load(self, src: str, sha: str, header: str) -> tuple[types.ModuleType, str]:
        """The module of a kernel source: from memory, or written to (or found in) the disk cache.

        Returns (module, origin) with origin "memory", "disk" or "uncached".
        """
        with self._lock:
            known = self._loaded.get(sha)
            if isinstance(known, types.ModuleType):
                return known, "memory"
            name = f"innosim_fused_{sha[:24]}"
            folder = self.folder()
            text, where, origin = src, "<innosim fused kernel>", "uncached"
            if folder is None:
                text = src.replace("cache=True", "cache=False")  # numba caches only functions of files
            else:
                path = folder / f"{name}.py"
                if not _same(path, src):
                    # content-addressed: never rewritten once right (numba's cache keys on its mtime)
                    _atomic_write(path, src)
                    prune(folder, header)
                where, origin = str(path), "disk"
            mod = types.ModuleType(name)
            mod.__file__ = where
            sys.modules[name] = mod  # numba's cache looks the module up by name
            # engine-made text, checked token by token by the numba printer before it got here
            exec(compile(text, where, "exec"), mod.__dict__)  # noqa: S102
            self._loaded[sha] = mod
            return mod, origin


def unreadable_cache(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while numba read a cached kernel (not while compiling one)."""
    return any(Path(frame.f_code.co_filename).name == "caching.py" and "numba" in frame.f_code.co_filename
               for frame, _ in traceback.walk_tb(exc.__traceback__))


def forget_compiled(kernel_file: str | Path, exc: BaseException) -> str:
    """Delete the machine code numba cached for the kernel module at ``kernel_file`` (every
    function of it, index and data files); returns the message that says so."""
    path = Path(kernel_file)
    gone = []
    for stale in (path.parent / "__pycache__").glob(path.stem + ".*"):
        try:
            stale.unlink()
            gone.append(stale.name)
        except OSError:
            pass
    return (f"innosim: the compiled kernel cached beside {path} could not be read ({type(exc).__name__}: "
            f"{str(exc)[:120]}); deleted {len(gone)} cache file(s) and compiled it again")


def _same(path: Path, src: str) -> bool:
    try:
        return path.is_file() and path.read_text(encoding="utf-8") == src
    except OSError:
        return False


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if _same(path, text):  # another process got there first
            return
        os.replace(tmp, path)
        tmp = ""
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def prune(folder: Path, header: str) -> None:
    """Delete kernels made by another version of the helpers or of numba: nothing can load them."""
    for path in folder.glob("innosim_fused_*.py"):
        try:
            with path.open(encoding="utf-8") as f:
                if f.readline().rstrip("\n") == header:
                    continue
            for stale in [path, *(folder / "__pycache__").glob(path.stem + ".*")]:
                stale.unlink(missing_ok=True)
        except OSError:
            pass
