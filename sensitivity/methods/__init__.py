"""Sensitivity methods, one module each (``oat``, ``mc``, ``morris``, ``sobol``), SALib style: each works
on any vectorised function X (n, D) -> Y (n,) or (n, K) and has ``sample``/``design``, ``analyze`` and
a one-call function named after the module (re-exported by ``sensitivity``). ``sensitivity.study``
wires them to a system-dynamics model."""
from . import mc, morris, oat, sobol

__all__ = ["mc", "morris", "oat", "sobol"]
