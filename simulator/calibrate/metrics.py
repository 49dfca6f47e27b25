"""Forecast-error measures: MAPE, a naive trend forecast, Theil's U and Theil's decomposition.

Theil's U here is the ratio of root mean squared errors of the model and of a benchmark forecast
over the same years (U < 1: the model beats the benchmark). The decomposition splits the model's
mean squared error into bias (U^M), unequal variation (U^S) and unequal co-variation (U^C), which
add up to 1 (Theil 1966; Sterman 1984).
"""
from __future__ import annotations

import numpy as np


def mape(model: np.ndarray, data: np.ndarray) -> float:
    """Mean absolute percentage error as a fraction."""
    model, data = np.asarray(model, float), np.asarray(data, float)
    return float(np.mean(np.abs(model - data) / np.abs(data)))


def rmse(model: np.ndarray, data: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(model, float) - np.asarray(data, float)) ** 2)))


def naive_trend(years: np.ndarray, values: np.ndarray, horizon: np.ndarray) -> np.ndarray:
    """Extrapolate the average compound growth between the first and last observation.

    Needs at least two observations; the forecast starts from the last one.
    """
    years, values = np.asarray(years, float), np.asarray(values, float)
    if len(years) < 2:
        raise ValueError("a trend needs at least two observations")
    order = np.argsort(years)
    years, values = years[order], values[order]
    growth = (values[-1] / values[0]) ** (1.0 / (years[-1] - years[0]))
    return values[-1] * growth ** (np.asarray(horizon, float) - years[-1])


def theil_u(model: np.ndarray, benchmark: np.ndarray, data: np.ndarray) -> float:
    """RMSE of the model over RMSE of the benchmark on the same data."""
    return rmse(model, data) / rmse(benchmark, data)


def theil_decomposition(model: np.ndarray, data: np.ndarray) -> dict[str, float]:
    """Shares of the mean squared error: bias ``UM``, variance ``US``, covariance ``UC``."""
    s, a = np.asarray(model, float), np.asarray(data, float)
    mse = float(np.mean((s - a) ** 2))
    if mse == 0:
        return {"UM": 0.0, "US": 0.0, "UC": 0.0, "MSE": 0.0}
    ss, sa = s.std(), a.std()
    r = float(np.corrcoef(s, a)[0, 1]) if ss > 0 and sa > 0 else 0.0
    um = (s.mean() - a.mean()) ** 2 / mse
    us = (ss - sa) ** 2 / mse
    uc = 2 * (1 - r) * ss * sa / mse
    return {"UM": float(um), "US": float(us), "UC": float(uc), "MSE": mse}
