"""Calibration and validation of a model against recorded data.

``setup``    the calibration set-up file beside the model (free parameters, bounds, priors, hold-out)
``mdlfile``  reading constants and documentation out of a Vensim file; writing fitted constants back
``fit``      the objective (ensemble runs through the engine's ``params``) and the optimiser
``metrics``  MAPE, Theil's U against a naive trend forecast, Theil's inequality decomposition
``validate`` ``innosim validate``: in- and out-of-sample errors, chart
``cli``      ``innosim calibrate``
"""
from .fit import CalibrationResult, FitOptions, calibrate, simulate
from .mdlfile import doc_field, mdl_elements, write_params_to_mdl
from .metrics import mape, naive_trend, theil_decomposition, theil_u
from .setup import CalibrationSetup, FreeParameter, SetupError, load_setup, read_targets

__all__ = [
    "CalibrationResult", "FitOptions", "calibrate", "simulate", "doc_field", "mdl_elements",
    "write_params_to_mdl", "mape", "naive_trend", "theil_decomposition", "theil_u",
    "CalibrationSetup", "FreeParameter", "SetupError", "load_setup", "read_targets",
]
