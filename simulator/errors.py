"""Exceptions raised by the simulator. Every message names the file, variable or parameter."""
from __future__ import annotations


class SimulatorError(Exception):
    """Base class of every error the simulator raises on purpose."""


class ModelLoadError(SimulatorError):
    """The model file is missing, malformed or uses something the engine cannot run."""


class UnsupportedFeatureError(ModelLoadError):
    """A function or construct outside the supported Vensim/XMILE subset."""


class UnsafeModelTextError(ModelLoadError):
    """Text where the model format allows only a number (a lookup range, a lookup point, ...)."""


class ModelLimitError(ModelLoadError):
    """The model exceeds a documented size bound (see ``simulator.parsing.limits``)."""


class AlgebraicLoopError(ModelLoadError):
    """A cycle of auxiliaries not broken by a stock."""


class ParameterError(SimulatorError):
    """An override names an unknown variable or has a wrong shape or type."""


class NonFiniteError(SimulatorError):
    """A variable became NaN or infinite during a run."""

    def __init__(self, message: str, *, variable: str, member: int, time: float):
        super().__init__(message)
        self.variable = variable
        self.member = member
        self.time = time


class SolverError(SimulatorError):
    """The ODE solver failed (and the caller did not ask for a status instead)."""
