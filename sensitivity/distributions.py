"""Distributions of uncertain parameters: each maps the unit interval onto values through its
quantile function (``ppf``), so one unit-hypercube design serves every method. Settings are
checked when a distribution is made: bounds finite and ordered, spreads positive."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np
from scipy import stats

TAIL = 1e-3  # normal/lognormal tails are cut at these quantiles, so that the unit cube's corners stay finite


class Distribution(Protocol):
    kind: ClassVar[str]

    def ppf(self, u: np.ndarray) -> np.ndarray: ...

    def describe(self) -> str: ...


def _check_bounds(low: float, high: float, *, finite: bool = False) -> None:
    if math.isnan(low) or math.isnan(high):
        raise ValueError("min and max must be numbers")
    if finite and not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"min and max must be finite, got [{low:g}, {high:g}]")
    if not low < high:
        raise ValueError(f"bounds reversed or empty: min = {low:g}, max = {high:g} (need min < max)")


@dataclass(frozen=True)
class Uniform:
    """Uniform on [low, high]."""

    low: float
    high: float
    kind: ClassVar[str] = "uniform"

    def __post_init__(self):
        _check_bounds(self.low, self.high, finite=True)

    def ppf(self, u):
        """Quantile function: values at probabilities ``u`` (array in [0, 1])."""
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def describe(self) -> str:
        """Short text, e.g. ``uniform(2, 6)``."""
        return f"uniform({self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class Triangular:
    """Triangular on [low, high] with its peak at ``mode``."""

    low: float
    mode: float
    high: float
    kind: ClassVar[str] = "triangular"

    def __post_init__(self):
        _check_bounds(self.low, self.high, finite=True)
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"mode {self.mode:g} lies outside [min, max] = [{self.low:g}, {self.high:g}]")

    def ppf(self, u):
        """Quantile function: values at probabilities ``u`` (array in [0, 1])."""
        u = np.asarray(u, dtype=float)
        a, c, b = self.low, self.mode, self.high
        fc = (c - a) / (b - a)
        left = a + np.sqrt(np.clip(u, 0, 1) * (b - a) * (c - a))
        right = b - np.sqrt(np.clip(1 - u, 0, 1) * (b - a) * (b - c))
        return np.where(u < fc, left, right)

    def describe(self) -> str:
        """Short text, e.g. ``triangular(0.12, 0.15, 0.3)``."""
        return f"triangular({self.low:g}, {self.mode:g}, {self.high:g})"


class _Truncated:
    """Quantiles of a scipy distribution restricted to [low, high] and to its TAIL..1-TAIL quantiles."""

    low: float
    high: float

    def _base(self):
        raise NotImplementedError

    def _window(self) -> tuple[float, float]:
        base = self._base()
        # bounds far out in a tail (or none) leave the tail cut at TAIL, so quantiles stay finite
        a = max(float(base.cdf(self.low)), TAIL) if math.isfinite(self.low) else TAIL
        b = min(float(base.cdf(self.high)), 1 - TAIL) if math.isfinite(self.high) else 1 - TAIL
        return a, b

    def _check_mass(self):
        _check_bounds(self.low, self.high)
        a, b = self._window()
        if not b - a > 1e-12:
            raise ValueError(f"[min, max] = [{self.low:g}, {self.high:g}] holds no probability mass")

    def ppf(self, u):
        """Quantile function: values at probabilities ``u`` (array in [0, 1])."""
        a, b = self._window()
        return self._base().ppf(a + (b - a) * np.asarray(u, dtype=float))

    def _bounds_text(self) -> str:
        if math.isinf(self.low) and math.isinf(self.high):
            return ""
        return f" in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Normal(_Truncated):
    """Normal(mean, sd), optionally truncated to [low, high]."""

    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf
    kind: ClassVar[str] = "normal"

    def __post_init__(self):
        if not math.isfinite(self.mean):
            raise ValueError(f"mean must be a finite number, got {self.mean!r}")
        if not (math.isfinite(self.sd) and self.sd > 0):
            raise ValueError(f"sd must be positive, got {self.sd!r}")
        self._check_mass()

    def _base(self):
        return stats.norm(loc=self.mean, scale=self.sd)

    def describe(self) -> str:
        """Short text, e.g. ``normal(4, 1) in [2, 6]``."""
        return f"normal({self.mean:g}, {self.sd:g}){self._bounds_text()}"


@dataclass(frozen=True)
class LogNormal(_Truncated):
    """Lognormal with the given median and log-space standard deviation ``sigma``, optionally truncated."""

    median: float
    sigma: float
    low: float = 0.0
    high: float = math.inf
    kind: ClassVar[str] = "lognormal"

    def __post_init__(self):
        if not (math.isfinite(self.median) and self.median > 0):
            raise ValueError(f"median must be positive, got {self.median!r}")
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be positive, got {self.sigma!r}")
        if self.low < 0:
            raise ValueError(f"min must be >= 0 for a lognormal, got {self.low:g}")
        self._check_mass()

    def _base(self):
        return stats.lognorm(s=self.sigma, scale=self.median)

    def describe(self) -> str:
        """Short text, e.g. ``lognormal(median 4, sigma 0.35) in [2, 10]``."""
        bounds = "" if self.low == 0 and math.isinf(self.high) else f" in [{self.low:g}, {self.high:g}]"
        return f"lognormal(median {self.median:g}, sigma {self.sigma:g}){bounds}"
