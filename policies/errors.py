"""Errors of the policy layer. Every message names the file and the key that is wrong."""
from __future__ import annotations

from simulator.errors import SimulatorError


class PolicyError(SimulatorError):
    """A lever catalogue or scenario file is missing, malformed or inconsistent with the model."""
