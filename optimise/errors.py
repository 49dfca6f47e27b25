"""Errors of the optimisation layer. Every message names the file, line and key that is wrong."""
from __future__ import annotations

from simulator.errors import SimulatorError


class ProblemError(SimulatorError):
    """An optimisation problem file is missing, malformed or inconsistent with its model."""
