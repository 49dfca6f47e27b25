"""Errors of the application layer. Messages name the file, the model or the option that is wrong."""
from __future__ import annotations

from simulator.errors import SimulatorError


class RegistryError(SimulatorError):
    """A model name, the model registry or a model's ``model.toml`` is unknown, missing or malformed."""
