"""Compiling a kernel while the user waits: the compiler in a thread with a larger stack, a progress
message on stderr against an estimate from the kernel's size, and a time limit after which the
compile goes on in the background."""
from __future__ import annotations

import sys
import threading
import time

from .ir import deep_trees
from .kernel_cache import forget_compiled, unreadable_cache

COMPILE_SECONDS_PER_NODE = 0.02  # numba's compile time per printed IR node (the flagship, one quiet core)

COMPILE_STACK_BYTES = 256 * 1024 * 1024


PROGRESS_AFTER = 0.5  # seconds of compiling before the progress message appears (a cache hit is faster)


class Progress:
    """"compiling the model for this machine (first run only)…" on stderr, with the seconds spent
    against an estimate from the kernel's size, while numba compiles; silent for a cache hit."""

    def __init__(self, expected: float, stream=None):
        self.expected = max(expected, 1.0)
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self.shown = False

    def tick(self) -> None:
        spent = time.perf_counter() - self.started
        if spent < PROGRESS_AFTER:
            return
        tty = getattr(self.stream, "isatty", lambda: False)()
        # a terminal line is rewritten every tick; a log gets a line every 10 s
        if tty or not self.shown or int(spent) // 10 != int(spent - 1.0) // 10:
            how = f"about {int(100 * spent / self.expected)} %" if spent < 0.95 * self.expected else \
                f"a model this size usually takes {self.expected:.0f} s; a busy machine takes longer"
            self.stream.write(f"compiling the model for this machine (first run only)… {spent:.0f} s, {how}"
                              + ("\r" if tty else "\n"))
            self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write(f"compiling the model for this machine (first run only)… done in "
                              f"{time.perf_counter() - self.started:.1f} s\n")
            self.stream.flush()


def expected_compile_seconds(size: int) -> float:
    """A rough compile time of a kernel of ``size`` printed IR nodes (numba, one quiet core)."""
    return 2.0 + size * COMPILE_SECONDS_PER_NODE


def compile_within(job, limit: float | None, expected: float = 10.0) -> str | None:
    """Run ``job`` (a compile; returns None or why it failed); None when done, else why the kernel
    cannot be used now.

    The compiler runs in a thread while this one reports progress on stderr. With a ``limit``,
    a compile not done in time is left running (a daemon thread: it finishes and fills the disk
    cache in the background) and the caller goes on with numpy.
    """
    box: dict = {}

    def work():
        # numba's passes recurse along the kernel's expressions: a large flagship kernel comes
        # within a few hundred frames of Python's default limit
        with deep_trees():
            box["error"] = job()

    thread = threading.Thread(target=work, name="innosim-kernel-compile", daemon=True)
    old_size = threading.stack_size(COMPILE_STACK_BYTES)  # room for the deeper recursion
    try:
        thread.start()  # the stack size applies to threads started from here on
    finally:
        threading.stack_size(old_size)
    progress = Progress(expected)
    deadline = None if limit is None else time.perf_counter() + limit
    while thread.is_alive():
        wait = 1.0 if progress.shown else PROGRESS_AFTER
        if deadline is not None:
            wait = min(wait, max(deadline - time.perf_counter(), 0.0))
        thread.join(wait)
        progress.tick()
        if deadline is not None and thread.is_alive() and time.perf_counter() >= deadline:
            progress.finish()
            return (f"compiling the kernel took longer than {limit:g} s; it goes on in the background "
                    "and later processes find it in the cache")
    progress.finish()
    return box.get("error")


def numba_job(disp, sig):
    """Compiling ``disp`` for ``sig`` with numba, as a job for :func:`compile_within`."""
    def job() -> str | None:
        try:
            try:
                disp.compile(sig)
            except Exception as exc:  # noqa: BLE001 - sorted out just below
                if not unreadable_cache(exc):
                    raise
                # a damaged cache file (a full disk, a killed writer of an old numba): delete
                # this kernel's compiled files and compile it again, once
                sys.stderr.write(forget_compiled(disp.py_func.__globals__.get("__file__", ""), exc) + "\n")
                disp.compile(sig)
        except Exception as exc:  # noqa: BLE001 - a numba failure is a reason to use numpy
            return f"numba could not compile the kernel ({type(exc).__name__})"
        return None
    return job
