"""The model's recorded data, drawn as points on the charts.

A calibrated model names its data in its calibration set-up (``[fit] targets = "targets.csv"``:
year, series, value, source): the observations the model is calibrated and validated against.
Showing them on the charts lets a workshop see the fit and where the history ends. A model
without a set-up has no points.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DashboardError


def load_history(setup_path: str | Path, model) -> dict:
    """Recorded data of ``model`` from its calibration set-up file.

    Returns ``{variable: {"years", "values", "sources"}}`` (sources are reference keys);
    a series that is not a variable of the model is an error naming the file and the series.
    """
    from simulator.calibrate import SetupError, load_setup, read_targets

    try:
        setup = load_setup(setup_path, model.path)
        table = read_targets(setup.targets)
    except SetupError as exc:
        raise DashboardError(str(exc)) from None
    series = {}
    for name, rows in table.groupby("series", sort=False):
        if name not in model.variables:
            raise DashboardError(f"{setup.targets}: series {name!r} is not a variable of {model.path.name}")
        rows = rows.sort_values("year")
        values = rows["value"].to_numpy(dtype=float)
        keep = np.isfinite(values)
        series[str(name)] = {"years": [float(y) for y in rows["year"].to_numpy()[keep]],
                             "values": [float(v) for v in values[keep]],
                             "sources": [str(s) for s in rows["source"].to_numpy()[keep]]}
    return series
