"""Monte Carlo: an ensemble over the uncertainty and its percentile bands over time."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..ensemble import Ensemble

PERCENTILES = (5, 25, 50, 75, 95)


def percentile_bands(values: np.ndarray, times: np.ndarray, *,
                     percentiles: Sequence[float] = PERCENTILES) -> pd.DataFrame:
    """Bands of ``values`` (member, time): a DataFrame indexed by time, columns p5 ... p95 and mean."""
    values = np.asarray(values, dtype=float)
    q = np.percentile(values, list(percentiles), axis=0)
    df = pd.DataFrame({f"p{p:g}": q[i] for i, p in enumerate(percentiles)}, index=pd.Index(times, name="time"))
    df["mean"] = values.mean(axis=0)
    return df


def bands(ensemble: Ensemble, *, percentiles: Sequence[float] = PERCENTILES) -> pd.DataFrame:
    """Tidy bands of every kept output (and every cell of subscripted ones).

    Columns: variable, time, p5, p25, p50, p75, p95, mean.
    """
    frames = []
    for name, da in ensemble.dataset.data_vars.items():
        sub = [d for d in da.dims if d not in ("member", "time")]
        if sub:
            stacked = da.stack(cell=sub).transpose("member", "time", "cell")
            cells = [(f"{name}[{','.join(map(str, c if isinstance(c, tuple) else (c,)))}]", stacked[..., j])
                     for j, c in enumerate(stacked["cell"].values)]
        else:
            cells = [(name, da.transpose("member", "time"))]
        for label, arr in cells:
            df = percentile_bands(arr.to_numpy(), ensemble.times, percentiles=percentiles).reset_index()
            frames.append(df.assign(variable=label))
    out = pd.concat(frames, ignore_index=True)
    return out[["variable", "time"] + [c for c in out.columns if c not in ("variable", "time")]]
