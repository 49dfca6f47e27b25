"""Shared helpers of the test suite.

``write_mdl`` builds a minimal Vensim file from equation text so that each test can state the
model it needs in a few lines; the analytic fixtures live in ``tests/models/``. ``model_info`` and
``flagship_catalogue`` give the bundled models through the registry (tests may name them; the
generic packages may not).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MODELS = TESTS / "models"
SHARED_CONFORMANCE = ROOT.parent / "shared" / "conformance"
FLAGSHIP = "zhejiang_innovation_openness"
SYMBIOSIS = "industrial_symbiosis"


def model_info(name: str = FLAGSHIP):
    """A bundled model's registry entry (:class:`innosim.registry.ModelInfo`)."""
    from innosim.registry import load_registry

    return load_registry().get(name)


def flagship_catalogue():
    """The flagship model's lever catalogue."""
    return model_info(FLAGSHIP).catalogue()


def dashboard_simulation(name: str = FLAGSHIP):
    """The dashboard's :class:`Simulation` of a bundled model, as ``innosim serve`` builds it."""
    from dashboard import Simulation
    from innosim.commands.serve import model_setup

    return Simulation.from_setup(model_setup(model_info(name)))

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
