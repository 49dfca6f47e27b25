"""Shared helpers for the engine test suite (tests/test_engine_*.py).

``write_mdl`` builds a minimal Vensim file from equation text so that each test can state the
model it needs in a few lines; the analytic fixtures live in ``tests/models/``.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MODELS = TESTS / "models"
SHARED_CONFORMANCE = ROOT.parent / "shared" / "conformance"

_CONTROL = """
********************************************************
\t.Control
********************************************************~
\t\tSimulation Control Parameters
\t|

FINAL TIME  = {final_time}
\t~\tMonth
\t~\tThe final time for the simulation.
\t|

INITIAL TIME  = {initial_time}
\t~\tMonth
\t~\tThe initial time for the simulation.
\t|

SAVEPER  = {saveper}
\t~\tMonth [0,?]
\t~\tThe frequency with which output is stored.
\t|

TIME STEP  = {time_step}
\t~\tMonth [0,?]
\t~\tThe time step for the simulation.
\t|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
"""


def mdl_text(equations: str, *, final_time=10, initial_time=0, time_step=0.125, saveper=1) -> str:
    """A complete Vensim model: ``equations`` (each ``name = expr ~ units ~ doc |``) + control."""
    body = textwrap.dedent(equations).strip("\n")
    return "{UTF-8}\n" + body + "\n" + _CONTROL.format(
        final_time=final_time, initial_time=initial_time, time_step=time_step, saveper=saveper)


def eq(name: str, expr: str, units: str = "", doc: str = "") -> str:
    """One Vensim equation block."""
    return f"{name} = {expr}\n\t~\t{units}\n\t~\t{doc}\n\t|\n\n"


@pytest.fixture
def write_mdl(tmp_path):
    """``write_mdl(equations, name="model", **control) -> Path`` of a model file in tmp_path."""

    def _write(equations: str, name: str = "model", **control) -> Path:
        path = tmp_path / f"{name}.mdl"
        path.write_text(mdl_text(equations, **control), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def load_mdl(write_mdl):
    """``load_mdl(equations, **control) -> simulator.Model``."""
    import simulator

    def _load(equations: str, name: str = "model", **control):
        return simulator.load(write_mdl(equations, name=name, **control))

    return _load
