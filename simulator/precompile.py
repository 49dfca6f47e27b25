"""Ahead-of-time compile: fill the kernel cache with a model's numba kernels before its first run.

A model's first ``backend="numba"`` run compiles its kernel (about 1.5 s for the flagship by LLVM
directly, 8–18 s where numba compiles it) and leaves the machine code in the
:class:`~simulator.kernel_cache.KernelCache`; every later process loads it. :func:`precompile`
pays that cost up front (``innosim compile``, e.g. right after installing): it runs the model once
on the numba backend, which compiles the kernel (LLVM: every function at once), and, where numba
compiles, once as a small ensemble, which compiles the multi-threaded ensemble driver. Nothing else
is kept: the runs only exist to compile exactly what later runs will call.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .model import Model, RunOptions

__all__ = ["Precompiled", "precompile"]


@dataclass(frozen=True)
class Precompiled:
    """What :func:`precompile` did for one model.

    backend: "numba" when the kernels are in the cache, else the numpy path's reason (numba
        missing, a kernel too large, ...), as ``Result.metadata["backend"]`` gives it.
    seconds: driver ("run_serial", "run_parallel") -> seconds spent compiling it, or loading it
        when the cache already held it.
    cached: the cache folder, or None when the kernels could only be compiled in memory.
    compiler: "llvm" (one object file holds every function: the single run, the prepared run's
        initial values and the ensemble driver) or "numba" (a function compiled per driver).
    """

    backend: str
    seconds: dict = field(default_factory=dict)
    cached: str | None = None
    compiler: str = ""


def _ensemble_params(model: Model, members: int) -> dict:
    """Every member at the file's values: one constant given a member axis (the kernel is the same)."""
    for name in model.constants:
        value = model.default_value(name)
        return {name: np.repeat(value, members, axis=-1)}
    return {}


def precompile(model: Model, *, ensemble: bool = True) -> Precompiled:
    """Compile ``model``'s numba kernels into its cache (or load them when it holds them already).

    ensemble: also compile the driver that runs ensembles on several threads (about as long again).
    """
    from . import fused

    opts = RunOptions(backend="numba")
    res = model.run(method="euler", options=opts)
    backend = res.metadata["backend"]
    seconds = dict((res.metadata.get("fused") or {}).get("compile_seconds", {}))
    compiler = (res.metadata.get("fused") or {}).get("compiler", "")
    wanted = ensemble and backend == "numba" and compiler != "llvm"  # LLVM compiled the driver already
    params = _ensemble_params(model, fused.PARALLEL_MIN_MEMBERS) if wanted else {}
    if params:
        ens = model.run(params, method="euler", options=opts)
        backend = ens.metadata["backend"]
        seconds.update((ens.metadata.get("fused") or {}).get("compile_seconds", {}))
    folder = model.cache.folder()
    if compiler == "llvm":
        seconds.setdefault("run_parallel", 0.0)
    return Precompiled(backend=backend, seconds=seconds, cached=str(folder) if folder is not None else None,
                       compiler=compiler)
