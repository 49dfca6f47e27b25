"""Helpers shared by the methods: outputs as a 2-D array with names."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import SensitivityError


def evaluate(func: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
             outputs: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """``func(X)`` as an (n, K) float array, with K output names (default y0, y1, ...)."""
    Y = np.asarray(func(X), dtype=float)
    return as_outputs(Y, len(X), outputs)


def as_outputs(Y, n: int, outputs: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != n:
        raise SensitivityError(f"the model function must return shape ({n},) or ({n}, K), got {Y.shape}")
    names = list(outputs) if outputs is not None else (
        ["y"] if Y.shape[1] == 1 else [f"y{k}" for k in range(Y.shape[1])])
    if len(names) != Y.shape[1]:
        raise SensitivityError(f"{len(names)} output names for {Y.shape[1]} outputs")
    if not np.isfinite(Y).all():
        bad = np.argwhere(~np.isfinite(Y))[0]
        raise SensitivityError(f"output {names[bad[1]]!r} is not finite for sample {bad[0]}; "
                               "narrow the uncertainty ranges or check the model")
    return Y, names
