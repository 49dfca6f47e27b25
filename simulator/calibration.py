"""Compatibility entry point of ``innosim calibrate``; the code lives in :mod:`simulator.calibrate`.

Kept so that ``python -m simulator.calibration`` and existing imports keep working.
"""
from __future__ import annotations

from simulator.calibrate.cli import main
from simulator.calibrate.mdlfile import doc_field, mdl_elements, write_params_to_mdl
from simulator.calibrate.records import load_calibrated_params, write_calibration
from simulator.calibrate.setup import FreeParameter, default_setup_path, load_setup, read_targets

__all__ = ["main", "doc_field", "mdl_elements", "write_params_to_mdl", "load_calibrated_params",
           "write_calibration", "FreeParameter", "default_setup_path", "load_setup", "read_targets",
           "free_parameters"]


def free_parameters(model_path, only: list[str] | None = None) -> list[FreeParameter]:
    """The free parameters of the set-up file beside ``model_path`` (optionally only some)."""
    from simulator.calibrate.cli import model_constants

    setup = load_setup(default_setup_path(model_path), model_path, model_constants(model_path))
    if only:
        setup = setup.only(list(only))
    return list(setup.parameters)


if __name__ == "__main__":
    raise SystemExit(main())
