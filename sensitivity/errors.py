"""Exceptions of the sensitivity package. Messages name the file, the key or the parameter."""
from __future__ import annotations

from simulator.errors import SimulatorError


class SensitivityError(SimulatorError):
    """Base class of every error the sensitivity package raises on purpose."""


class UncertaintySpecError(SensitivityError):
    """An uncertainty file is missing, malformed or names something the model does not have."""
