"""Engine hygiene: light imports, no module-level state, a checked IR, type hints that hold."""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from conftest import MODELS, ROOT, eq

import simulator
from simulator.ir import IRError, lower_model, validate
from simulator.ir.nodes import Binary, Num, Piece

HEAVY = ("pysd", "scipy", "pandas", "numba", "xarray", "matplotlib")


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_simulator_loads_no_heavy_dependency():
    code = f"import sys, simulator\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    assert _python(code) == "[]"


@pytest.mark.parametrize("compiler", ["llvm", "numba"])
def test_compilers_are_imported_only_when_a_run_uses_the_fused_backend(compiler, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setenv("INNOSIM_COMPILER", compiler)
    code = ("import sys, simulator\n"
            f"m = simulator.load({str(MODELS / 'decay.mdl')!r})\n"
            "m.run(method='euler', options=simulator.RunOptions(backend='numpy'))\n"
            "m.run(method='RK45')\n"
            "print('llvmlite' in sys.modules, 'numba' in sys.modules)\n"
            "r = m.run(method='euler', options=simulator.RunOptions(backend='numba'))\n"
            "print('llvmlite' in sys.modules, 'numba' in sys.modules, r.metadata['fused']['compiler'])\n")
    # LLVM compiles the kernel without numba's front end: numba is not even imported
    after = ["True", "False", "llvm"] if compiler == "llvm" else ["True", "True", "numba"]
    assert _python(code).split() == ["False", "False"] + after


def _module_state():
    """Every module-level container of the engine, by value."""
    state = {}
    for name, mod in sorted(sys.modules.items()):
        if not name.startswith("simulator") or not isinstance(mod, types.ModuleType):
            continue
        for attr, value in vars(mod).items():
            if isinstance(value, (dict, list, set, bytearray)) and not attr.startswith("__"):
                state[(name, attr)] = repr(value)
    return state


def test_running_models_leaves_no_module_level_state(load_mdl):
    m = load_mdl(eq("S", "INTEG(k * S, 1)") + eq("k", "0.1") + eq("x", "SMOOTH(S, 2) + STEP(1, 3)"))
    m.run(method="euler")  # import everything a run imports before taking the snapshot
    m.run(method="RK45")
    before = _module_state()
    assert before
    for backend in ("numpy", "auto"):
        m.run({"k": [0.1, 0.2]}, method="euler", options=simulator.RunOptions(backend=backend))
    simulator.load(MODELS / "logistic.mdl").run(method="rk4")
    assert _module_state() == before


def test_ir_is_plain_frozen_data():
    ir = lower_model(simulator.load(MODELS / "goal_seek.mdl").source)
    validate(ir)
    var = next(v for v in ir.vars if v.pieces)
    with pytest.raises(dataclasses.FrozenInstanceError):
        var.name = "other"  # type: ignore[misc]
    assert all(dataclasses.is_dataclass(v) for v in ir.vars + ir.states)


@pytest.mark.parametrize("bad", [
    Binary("__import__('os')", Num(1.0), Num(2.0)),  # an operator outside the fixed set
    Num("1; import os"),  # type: ignore[arg-type]  # a number that is not a float
    Binary("+", Num(1.0), Piece(shape=(), run=Num(1.0), init=Num(1.0))),  # type: ignore[arg-type]
])
def test_validator_refuses_ir_the_printers_do_not_expect(bad):
    ir = lower_model(simulator.load(MODELS / "goal_seek.mdl").source)
    var = next(v for v in ir.vars if v.pieces and not v.dims)
    broken = dataclasses.replace(var, pieces=(dataclasses.replace(var.pieces[0], run=bad),))
    ir2 = dataclasses.replace(ir, vars=tuple(broken if v.idx == var.idx else v for v in ir.vars))
    with pytest.raises(IRError, match="internal error in the lowered model"):
        validate(ir2)


def test_default_value_accessor(load_mdl):
    m = load_mdl(eq("k[D]", "1, 2, 3") + eq("g", "5") + eq("x", "g * 2")
                 + "D: d1, d2, d3\n\t~\t\n\t~\t\n\t|\n\n")
    np.testing.assert_array_equal(m.default_value("k")[:, 0], [1.0, 2.0, 3.0])
    assert m.default_value("g").tolist() == [5.0]
    np.testing.assert_array_equal(m.default_value("k"), m.program.defaults[m.variable("k").idx])
    with pytest.raises(simulator.ParameterError, match="'x' is not a constant"):
        m.default_value("x")


@pytest.mark.slow
def test_type_hints_hold():
    if shutil.which("mypy") is None and subprocess.run([sys.executable, "-m", "mypy", "--version"],
                                                       capture_output=True).returncode != 0:
        pytest.skip("mypy is not installed (the dev extra installs it)")
    out = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:]
