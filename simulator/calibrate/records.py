"""Calibration files: the fitted values with their bounds and fit statistics, as TOML."""
from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path

from simulator.tomlfile import read_toml

from .fit import CalibrationResult
from .setup import SetupError


def _key(k: str) -> str:
    return '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_calibration(path: str | Path, result: CalibrationResult, *, model: Path, setup: Path) -> Path:
    """Write fitted parameters, bounds, priors and per-series MAPE of a fit."""
    path = Path(path)
    sha = hashlib.sha256(Path(model).read_bytes()).hexdigest()
    until = "all data" if result.until is None else f"targets up to {result.until:g}"
    lines = [
        "# Written by `innosim calibrate`: fitted values of the free parameters of the model below.",
        f"# Fitted on {until}. load_calibrated_params(path) returns [params] as run parameters.",
        "", "[calibration]",
        f"model = {_key(Path(model).name)}",
        f"model_sha256_at_fit = {_key(sha)}",
        f"setup = {_key(Path(setup).name)}",
        "fitted_until = " + ('"all"' if result.until is None else f"{result.until:g}"),
        f"objective = {result.objective:.6g}",
        f"evaluations = {result.evaluations}",
        f"created = {_key(_dt.date.today().isoformat())}",
        "", "[params]",
        *[f"{_key(k)} = {v:.6g}" for k, v in result.params.items()],
        "", "[bounds]",
        *[f"{_key(p.name)} = [{p.lower:g}, {p.upper:g}]" for p in result.free],
        "", "[prior]",
        *[f"{_key(p.name)} = {p.prior:g}" for p in result.free],
        "", "[mape]",
        *[f"{_key(k)} = {v:.6g}" for k, v in result.mape.items()],
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def load_calibrated_params(path: str | Path) -> dict[str, float]:
    """The ``[params]`` table of a calibration file: {Vensim name: value}."""
    data = read_toml(path, what="calibration file", error=SetupError)
    return {k: float(v) for k, v in data.get("params", {}).items()}
