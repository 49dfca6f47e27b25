"""A model file is data: hostile names, units, comments and file names never become code.

The engine generates python source from the model and ``exec``s it; these tests check that only
engine-made identifiers and numbers reach that source, by running hostile models in a scratch
directory with ``os.system``/``subprocess``/``eval``-style escape hatches booby-trapped.
"""
from __future__ import annotations

import builtins
import os
import subprocess

import numpy as np
import pytest

import simulator
from innosim.cli import main

HOSTILE_STOCK = "\"__import__('os').system('touch PWNED')\""
HOSTILE_FLOW = "\"'); import os; os.system('touch PWNED'); ('\""
HOSTILE_CONST = "\"exec(open('PWNED', 'w').write('x'))\""
HOSTILE_INIT = "\"eval(compile('import os', 'f', 'exec'))\""
HOSTILE_LOOKUP = "\"lambda: __import__('subprocess').call(['touch', 'PWNED'])\""
HOSTILE_RANGE = "\"os.system('touch PWNED')\""
HOSTILE_ELEMS = ["\"'); touch('PWNED\"", "\"${touch PWNED}\""]
HOSTILE_SUBSCRIPTED = "\"{__import__('os').system('touch PWNED')}\""

HOSTILE_MODEL = f"""{{UTF-8}}
{HOSTILE_RANGE}: {", ".join(HOSTILE_ELEMS)}
\t~\t__import__('os').system('touch PWNED')
\t~\tsubscript range with code in it
\t|

{HOSTILE_STOCK}= INTEG (
\t{HOSTILE_FLOW} - {HOSTILE_CONST},
\t\t{HOSTILE_INIT})
\t~\tos.system('touch PWNED') [0,?]
\t~\t\"\"\"); __import__('os').system('touch PWNED'); (\"\"\" import os; os.system("touch PWNED")
\t|

{HOSTILE_FLOW}=
\t0.1 * {HOSTILE_STOCK} + {HOSTILE_LOOKUP}(Time)
\t~\t__import__("os").system("touch PWNED")/Month
\t~\t{{__import__('os').system('touch PWNED')}} ${{os.system('touch PWNED')}} %(x)s {{0}}
\t|

{HOSTILE_CONST}=
\t2
\t~\t'; import os #
\t~\t
\t|

{HOSTILE_INIT}=
\t100
\t~\t
\t~\t\\
\t\tlambda: __import__('subprocess').call(['touch', 'PWNED'])
\t|

{HOSTILE_LOOKUP}(
\t[(0,0)-(10,10)],(0,0),(10,1))
\t~\t__import__('os').system('touch PWNED')
\t~\tlookup: exec('import os')
\t|

{HOSTILE_SUBSCRIPTED}[{HOSTILE_ELEMS[0]}]=
\t{HOSTILE_STOCK} * 2
\t~\t{{}}.__class__.__base__.__subclasses__()
\t~\t
\t|

{HOSTILE_SUBSCRIPTED}[{HOSTILE_ELEMS[1]}]=
\t3
\t~\t{{}}.__class__.__base__.__subclasses__()
\t~\t
\t|

********************************************************
\t.Control
********************************************************~
\t\tSimulation Control Parameters
\t|

FINAL TIME  = 10
\t~\tMonth
\t~\tThe final time for the simulation.
\t|

INITIAL TIME  = 0
\t~\tMonth
\t~\t
\t|

SAVEPER  = 1
\t~\tMonth [0,?]
\t~\t
\t|

TIME STEP  = 0.25
\t~\tMonth [0,?]
\t~\t
\t|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*View 1
10,1,__import__('os').system('touch PWNED'),307,235,40,20,3,3,0,0,0,0,0,0
"""

NAMES = [HOSTILE_STOCK, HOSTILE_FLOW, HOSTILE_CONST, HOSTILE_INIT, HOSTILE_LOOKUP, HOSTILE_SUBSCRIPTED]


@pytest.fixture
def trapped(tmp_path, monkeypatch):
    """Run in tmp_path with process spawning and shell calls turned into recorded failures."""
    calls = []

    def trap(name):
        def _trap(*a, **k):
            calls.append((name, a))
            raise AssertionError(f"model text reached {name}{a!r}")
        return _trap

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "system", trap("os.system"))
    monkeypatch.setattr(os, "popen", trap("os.popen"))
    monkeypatch.setattr(subprocess, "Popen", trap("subprocess.Popen"))
    monkeypatch.setattr(subprocess, "call", trap("subprocess.call"))
    real_open = builtins.open

    def guarded_open(file, *a, **k):
        if "PWNED" in str(file):
            calls.append(("open", file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", guarded_open)
    yield tmp_path, calls
    assert not calls, calls
    assert not list(tmp_path.rglob("PWNED*"))


def write(tmp_path, name="hostile.mdl"):
    path = tmp_path / name
    path.write_text(HOSTILE_MODEL, encoding="utf-8")
    return path


def test_hostile_model_loads_and_runs_without_running_its_text(trapped):
    tmp, _ = trapped
    m = simulator.load(write(tmp))
    assert m.stocks == [HOSTILE_STOCK]
    assert set(m.lookups) == {HOSTILE_LOOKUP}
    assert HOSTILE_FLOW in m.auxiliaries
    assert {HOSTILE_CONST, HOSTILE_INIT} <= set(m.constants)
    assert m.variables[HOSTILE_STOCK].units == "os.system('touch PWNED')"
    assert "touch PWNED" in m.variables[HOSTILE_STOCK].documentation
    assert list(m.subscripts) == [HOSTILE_RANGE]
    assert m.variables[HOSTILE_SUBSCRIPTED].dims == (HOSTILE_RANGE,)
    assert HOSTILE_FLOW in m.dependencies[HOSTILE_STOCK]

    for method in ("euler", "RK45", "BDF"):
        res = m.run(method=method)
        assert np.isfinite(res[HOSTILE_STOCK]).all()
    res = m.run(method="euler")
    # dS/dt = 0.1 S + t/10 - 2 from S(0) = 100: first Euler step by hand
    assert res[HOSTILE_STOCK][0, 0] == 100.0
    np.testing.assert_allclose(res[HOSTILE_SUBSCRIPTED][0, :, 0], [200.0, 3.0])
    frame = res.to_frame()
    assert HOSTILE_STOCK in frame.columns
    assert f"{HOSTILE_SUBSCRIPTED}[{HOSTILE_ELEMS[1]}]" in frame.columns


def test_hostile_names_work_as_parameters(trapped):
    tmp, _ = trapped
    m = simulator.load(write(tmp))
    base = m.run(method="euler")
    res = m.run({HOSTILE_CONST: 0.0, HOSTILE_INIT: np.array([50.0, 100.0]),
                 HOSTILE_LOOKUP: ([0.0, 10.0], [0.0, 0.0])}, method="euler")
    assert res.n_members == 2
    assert res[HOSTILE_STOCK][0].tolist() == [50.0, 100.0]
    assert res[HOSTILE_STOCK][-1, 1] > base[HOSTILE_STOCK][-1, 0]
    with pytest.raises(simulator.ParameterError, match="Did you mean"):
        m.run({HOSTILE_CONST[:-3] + "x')\"": 1.0})


def test_generated_source_contains_no_model_text(trapped):
    tmp, _ = trapped
    m = simulator.load(write(tmp))
    src = m.program.source_text
    for name in NAMES + [HOSTILE_RANGE] + HOSTILE_ELEMS:
        assert name not in src
        assert name.strip('"') not in src
    for needle in ("PWNED", "import", "os.", "system", "exec", "eval", "compile", "subprocess",
                   "lambda", "__", "Month", "open("):
        assert needle not in src, needle
    # the variants compiled for overrides (series / constant replacing an auxiliary) too
    m.run({HOSTILE_FLOW: 1.0}, method="euler")
    m.run({HOSTILE_CONST: (np.array([0.0, 10.0]), np.array([1.0, 2.0]))}, method="RK45")
    for prog in m._variants.values():
        assert "PWNED" not in prog.source_text and "import" not in prog.source_text


def test_hostile_file_name(trapped):
    tmp, _ = trapped
    path = write(tmp, name="x'); __import__('os').system('touch PWNED'); ('.mdl")
    m = simulator.load(path)
    assert m.run(method="euler").metadata["model"] == str(path)
    assert "PWNED" not in m.program.source_text


def test_cli_info_and_run_on_hostile_model(trapped, capsys):
    tmp, _ = trapped
    path = write(tmp)
    assert main(["info", str(path)]) == 0
    assert main(["run", str(path), "--out", str(tmp / "out")]) == 0
    out = capsys.readouterr().out
    assert HOSTILE_STOCK in out
    assert (tmp / "out" / "hostile_euler.csv").is_file()
