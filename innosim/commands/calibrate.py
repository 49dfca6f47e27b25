"""``innosim calibrate | validate``: the calibration commands of :mod:`simulator.calibrate`, for a
registered model.

``--model NAME`` (default: the registry's default model) picks the model; its ``model.toml``
names the set-up, calibration and hold-out files, which are passed on explicitly. A model whose
``model.toml`` says ``calibrated = false`` has no data to fit: the command says so and stops.
"""
from __future__ import annotations

import argparse

from simulator.calibrate import cli as calibrate_cli
from simulator.calibrate import validate as validate_cli

from ..errors import RegistryError
from ..registry import ModelInfo
from .common import chosen_model


def _split(argv: list[str] | None) -> tuple[str | None, list[str]]:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--model", default=None)
    known, rest = pre.parse_known_args(list(argv or []))
    return known.model, rest


def _calibrated(info: ModelInfo, command: str) -> ModelInfo:
    if not info.calibrated or "calibration_setup" not in info.files:
        why = info.notice["en"] if info.notice else "its model.toml names no calibration set-up"
        raise RegistryError(f"model {info.name!r} is not calibrated ({why}); "
                            f"{command} works on models whose model.toml says calibrated = true and names "
                            "a calibration_setup file")
    return info


def _asks_help(rest: list[str]) -> bool:
    return "-h" in rest or "--help" in rest


def run_calibrate(argv: list[str] | None = None) -> int:
    """``innosim calibrate [--model NAME] ...`` (the other options as :mod:`simulator.calibrate.cli`)."""
    name, rest = _split(argv)
    if _asks_help(rest):
        return calibrate_cli.main(["--model", "MODEL", *rest])
    info = _calibrated(chosen_model(name), "calibrate")
    files = ["--model", str(info.path), "--setup", str(info.files["calibration_setup"])]
    for key, option in (("calibration", "--calibration"), ("calibration_holdout", "--holdout-calibration")):
        if key in info.files:
            files += [option, str(info.files[key])]
    return calibrate_cli.main([*files, *rest])


def run_validate(argv: list[str] | None = None) -> int:
    """``innosim validate [--model NAME] ...`` (the other options as :mod:`simulator.calibrate.validate`)."""
    name, rest = _split(argv)
    if _asks_help(rest):
        return validate_cli.main(["--model", "MODEL", *rest])
    info = _calibrated(chosen_model(name), "validate")
    files = ["--model", str(info.path), "--setup", str(info.files["calibration_setup"])]
    if "calibration_holdout" in info.files:
        files += ["--holdout-params", str(info.files["calibration_holdout"])]
    return validate_cli.main([*files, *rest])
