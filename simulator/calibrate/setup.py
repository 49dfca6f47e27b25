"""The calibration set-up file of a model: free parameters, bounds, priors, hold-out year.

It lives in the model's data folder (``models/<name>/calibration_setup.toml`` beside
``models/<name>.mdl``; the model's ``model.toml`` names it)::

    [fit]
    targets = "targets.csv"            # year, series, value, source, weight
    holdout_until = 2018               # the out-of-sample fit uses targets up to this year
    prior_weight = 0.02                # weight of the pull towards each parameter's prior
    headline = ["Output A", "Output B"]

    [parameters."Adoption Rate"]
    lower = 0.15
    upper = 0.8
    prior = 0.3                        # optional: default = the model file's value

Bounds and priors are data: nothing about the model is written in the code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from simulator.tomlfile import read_toml


class SetupError(ValueError):
    """A calibration set-up or targets file is malformed (the message names the file and key)."""


@dataclass(frozen=True)
class FreeParameter:
    """A constant to fit: Vensim name, bounds and prior (centre of the prior pull)."""

    name: str
    lower: float
    upper: float
    prior: float

    def __post_init__(self):
        if not self.lower < self.upper:
            raise SetupError(f"{self.name!r}: lower bound {self.lower} is not below upper {self.upper}")
        if not self.lower <= self.prior <= self.upper:
            raise SetupError(f"{self.name!r}: prior {self.prior} is outside [{self.lower}, {self.upper}]")


@dataclass(frozen=True)
class CalibrationSetup:
    path: Path
    model: Path
    targets: Path
    parameters: tuple[FreeParameter, ...]
    holdout_until: float | None = None
    prior_weight: float = 0.0
    headline: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def only(self, names: list[str]) -> "CalibrationSetup":
        unknown = sorted(set(names) - set(self.names))
        if unknown:
            raise SetupError(f"{self.path}: not a free parameter: {', '.join(unknown)}")
        keep = tuple(p for p in self.parameters if p.name in names)
        return CalibrationSetup(self.path, self.model, self.targets, keep, self.holdout_until,
                                self.prior_weight, self.headline)


def data_folder(model: str | Path) -> Path:
    """The data folder of a model file: ``models/<name>.mdl`` -> ``models/<name>/``."""
    model = Path(model)
    return model.parent / model.stem


def default_setup_path(model: str | Path) -> Path:
    """``models/<name>.mdl`` -> ``models/<name>/calibration_setup.toml``."""
    return data_folder(model) / "calibration_setup.toml"


def _num(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SetupError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def load_setup(path: str | Path, model: str | Path, model_values: dict[str, float] | None = None) -> CalibrationSetup:
    """Read a set-up file. ``model_values`` gives default priors (the model's current constants)."""
    path = Path(path)
    if not path.exists():
        raise SetupError(f"{path}: calibration set-up file not found")
    data = read_toml(path, what="calibration set-up file", error=SetupError)
    fit = data.get("fit", {})
    unknown = set(fit) - {"targets", "holdout_until", "prior_weight", "headline"}
    if unknown:
        raise SetupError(f"{path}: [fit] has unknown key {sorted(unknown)[0]!r}")
    targets = path.parent / fit.get("targets", "targets.csv")
    params = []
    for name, spec in data.get("parameters", {}).items():
        where = f"{path}: parameters.{name!r}"
        if not isinstance(spec, dict) or not {"lower", "upper"} <= set(spec):
            raise SetupError(f"{where} needs 'lower' and 'upper'")
        bad = set(spec) - {"lower", "upper", "prior", "note"}
        if bad:
            raise SetupError(f"{where} has unknown key {sorted(bad)[0]!r}")
        lo, hi = _num(spec["lower"], f"{where}.lower"), _num(spec["upper"], f"{where}.upper")
        default = (model_values or {}).get(name, (lo + hi) / 2)
        prior = _num(spec.get("prior", min(max(default, lo), hi)), f"{where}.prior")
        params.append(FreeParameter(name, lo, hi, prior))
    if not params:
        raise SetupError(f"{path}: no [parameters] to fit")
    until = fit.get("holdout_until")
    return CalibrationSetup(path=path, model=Path(model), targets=targets, parameters=tuple(params),
                            holdout_until=None if until is None else _num(until, f"{path}: fit.holdout_until"),
                            prior_weight=_num(fit.get("prior_weight", 0.0), f"{path}: fit.prior_weight"),
                            headline=tuple(fit.get("headline", ())))


def read_targets(path: str | Path) -> pd.DataFrame:
    """Read a targets CSV with columns year, series, value, source and an optional weight."""
    path = Path(path)
    if not path.exists():
        raise SetupError(f"{path}: targets file not found")
    df = pd.read_csv(path)
    missing = {"year", "series", "value", "source"} - set(df.columns)
    if missing:
        raise SetupError(f"{path}: targets file lacks columns {sorted(missing)}")
    if "weight" not in df.columns:
        df["weight"] = 1.0
    try:
        df = df.astype({"year": float, "value": float, "weight": float})
    except ValueError as exc:
        raise SetupError(f"{path}: a year, value or weight is not a number ({exc})") from None
    for i, v in enumerate(df["value"]):
        if v == 0 or not math.isfinite(v):
            raise SetupError(f"{path}: line {i + 2}: value {v} makes relative errors undefined")
    return df
