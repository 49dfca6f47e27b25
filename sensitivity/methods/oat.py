"""One at a time: each parameter to its low and its high value, the others at their base values.

The swing (output at high minus output at low) ranks the parameters for a tornado chart. Cheap
(1 + 2D runs) and local: it misses interactions, which Morris and Sobol capture.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..uncertainty import UncertaintySpec
from ._common import as_outputs, evaluate


def design(spec: UncertaintySpec, base: Sequence[float] | None = None) -> np.ndarray:
    """Rows: the base point, then (low_i, high_i) for each parameter i; shape (1 + 2D, D).

    low/high are the ends of each distribution's support (unbounded tails cut at TAIL);
    base defaults to the medians.
    """
    base = spec.medians() if base is None else np.asarray(base, dtype=float)
    spans = spec.spans()
    X = np.tile(base, (1 + 2 * len(spec), 1))
    for i in range(len(spec)):
        X[1 + 2 * i, i] = spans[i, 0]
        X[2 + 2 * i, i] = spans[i, 1]
    return X


def analyze(spec: UncertaintySpec, X: np.ndarray, Y: np.ndarray,
            outputs: Sequence[str] | None = None) -> pd.DataFrame:
    """Tornado table: one row per (output, parameter), sorted by |swing| within each output."""
    Y, names = as_outputs(Y, len(X), outputs)
    rows = []
    for k, out in enumerate(names):
        for i, p in enumerate(spec.names):
            lo, hi = Y[1 + 2 * i, k], Y[2 + 2 * i, k]
            rows.append({"output": out, "parameter": p, "base_value": X[0, i], "low": X[1 + 2 * i, i],
                         "high": X[2 + 2 * i, i], "y_base": Y[0, k], "y_low": lo, "y_high": hi,
                         "swing": hi - lo})
    df = pd.DataFrame(rows)
    df["abs_swing"] = df["swing"].abs()
    df["_order"] = df["output"].map({o: j for j, o in enumerate(names)})
    df = df.sort_values(["_order", "abs_swing"], ascending=[True, False], kind="stable")
    return df.drop(columns="_order").reset_index(drop=True)


def oat(func: Callable[[np.ndarray], np.ndarray], spec: UncertaintySpec, *,
        base: Sequence[float] | None = None, outputs: Sequence[str] | None = None) -> pd.DataFrame:
    """Run the one-at-a-time design through ``func`` (X (n, D) -> Y (n,) or (n, K)) and analyse it."""
    X = design(spec, base)
    Y, names = evaluate(func, X, outputs)
    return analyze(spec, X, Y, names)
