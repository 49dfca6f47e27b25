"""Hostile model files (tests/hostile/, written by tests/hostile/make_corpus.py): opening a model never
runs its text, and every file ends in a clean one-line error naming the file (and the line and
variable where one is to blame) or in a model that runs to a finite result.

The corpus' manifest (tests/hostile/expected.json) gives each file's expected outcome. Payloads
would create a file named PWNED in the working directory; process spawning is booby-trapped too.
"""
from __future__ import annotations

import builtins
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import MODELS, ROOT, SHARED_CONFORMANCE, eq, mdl_text

import simulator
import simulator.errors as errors
from simulator.loader import read_source

HOSTILE = Path(__file__).resolve().parent / "hostile"
MANIFEST = json.loads((HOSTILE / "expected.json").read_text(encoding="utf-8"))
SUFFIXES = (".mdl", ".xmile", ".stmx")
FILES = sorted(p.name for p in HOSTILE.iterdir() if p.suffix in SUFFIXES)


@pytest.fixture
def trapped(tmp_path, monkeypatch):
    """cwd = tmp_path; shell and process calls recorded as failures; no PWNED file afterwards."""
    calls = []

    def trap(name):
        def _trap(*a, **k):
            calls.append((name, a))
            raise AssertionError(f"model text reached {name}")
        return _trap

    monkeypatch.chdir(tmp_path)
    for mod, name in ((os, "system"), (os, "popen"), (subprocess, "Popen"), (subprocess, "call"),
                      (subprocess, "run")):
        monkeypatch.setattr(mod, name, trap(f"{mod.__name__}.{name}"))
    yield tmp_path, calls
    assert not calls, calls
    for where in (tmp_path, HOSTILE, ROOT):
        assert not list(where.glob("PWNED*")), f"a payload ran: PWNED in {where}"


def test_manifest_lists_every_file_and_the_corpus_is_large():
    assert sorted(MANIFEST) == FILES
    assert len(FILES) >= 60
    assert sum(name.endswith((".xmile", ".stmx")) for name in FILES) >= 15


def _outcome(path: Path):
    """(error or None, result or None); anything but a SimulatorError fails the test."""
    try:
        result = simulator.load(path).run(method="euler")
    except simulator.SimulatorError as exc:
        return exc, None
    except BaseException as exc:  # noqa: BLE001 - the point is that nothing else escapes
        pytest.fail(f"{path.name}: {type(exc).__name__} escaped instead of a SimulatorError: {exc}")
    return None, result


@pytest.mark.parametrize("name", FILES)
def test_hostile_model(name, trapped):
    tmp, _ = trapped
    case = MANIFEST[name]
    path = tmp / name
    shutil.copy(HOSTILE / name, path)
    exc, result = _outcome(path)
    if case["expect"] == "runs":
        assert exc is None, f"{name} ({case['class']}) should run: {exc}"
        frame = result.to_frame()
        assert np.isfinite(frame.to_numpy(dtype=float)).all()
        return
    assert exc is not None, f"{name} ({case['class']}) loaded and ran; expected {case['expect']}"
    expected = getattr(errors, case["expect"])
    assert isinstance(exc, expected), f"{name}: {type(exc).__name__}: {exc}"
    msg = str(exc)
    assert "\n" not in msg and len(msg) < 800, msg
    assert msg.startswith(f"{path}: ") or f"{path}: " in msg, msg
    if case["line"] is not None:
        assert f"line {case['line']}" in msg, msg
    if case["variable"] is not None:
        assert repr(case["variable"]) in msg, msg


def _all_model_files() -> list[Path]:
    files = [HOSTILE / n for n in FILES]
    files += sorted((ROOT / "models").glob("*.mdl")) + sorted(MODELS.glob("*.mdl"))
    if SHARED_CONFORMANCE.is_dir():
        files += sorted(p for p in SHARED_CONFORMANCE.rglob("*") if p.suffix in SUFFIXES)
    return files


def test_no_eval_or_exec_is_reached_with_model_text(tmp_path, monkeypatch):
    """Tripwires on builtins.eval/exec and a recorder on the parser pysd's modules see instead."""
    from simulator.parsing import guard

    reached, seen = [], []

    def tripwire(name):
        def _trip(*a, **k):
            reached.append((name, str(a[0])[:80] if a else ""))
            raise AssertionError(f"{name} reached")
        return _trip

    real_safe_eval = guard.safe_eval

    def recording(source, *a, **k):
        seen.append(source)
        return real_safe_eval(source, *a, **k)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(builtins, "eval", tripwire("eval"))
    monkeypatch.setattr(builtins, "exec", tripwire("exec"))
    monkeypatch.setattr(guard, "safe_eval", recording)
    loaded = 0
    for path in _all_model_files():
        try:
            read_source(path)
            loaded += 1
        except simulator.SimulatorError:
            pass
        assert not reached, (path, reached)
        # outside a translation the pysd modules see the builtin again
        assert all(v is builtins.eval for v in guard.pysd_eval_bindings().values())
    monkeypatch.undo()
    assert loaded >= 20
    assert seen, "pysd never asked for a literal: the recorder is not installed where pysd looks"
    assert not list(tmp_path.glob("PWNED*"))


def test_pysd_modules_see_the_literal_parser_while_translating(monkeypatch, tmp_path):
    from simulator.parsing import guard

    bindings = []
    real = guard.safe_eval

    def spy(source, *a, **k):
        bindings.append(guard.pysd_eval_bindings())
        return real(source, *a, **k)

    monkeypatch.setattr(guard, "safe_eval", spy)
    read_source(MODELS / "decay.mdl")
    assert bindings and all(v is spy for b in bindings for v in b.values())
    assert all(v is builtins.eval for v in guard.pysd_eval_bindings().values())


def test_wrong_pysd_version_refuses_to_parse(monkeypatch):
    from simulator.parsing import guard

    monkeypatch.setattr(guard, "INSTALLED_PYSD_VERSION", "3.15.0")
    with pytest.raises(simulator.ModelLoadError, match=r"pysd 3\.14\.3 exactly.*pysd 3\.15\.0 is installed"):
        read_source(MODELS / "decay.mdl")


# ---------------------------------------------------------------------- pysd's own models
@pytest.mark.parametrize("name,outcome", [
    ("doc_docstring_breakout.mdl", "runs"),
    ("name_quote_breakout.mdl", "UnsafeModelTextError"),
    ("function_name_breakout.mdl", "UnsafeModelTextError"),
    ("lookup_range_import.mdl", "UnsafeModelTextError"),
    ("with_lookup_range_open.mdl", "UnsafeModelTextError"),
    ("dup_var_underscore.mdl", "ModelLoadError"),
])
def test_pysd_models_go_through_the_layer(name, outcome, trapped):
    """pysd's code generator pastes documentation and some names into Python source unescaped."""
    from simulator.parsing import pysd_read_vensim

    tmp, _ = trapped
    path = tmp / name
    shutil.copy(HOSTILE / name, path)
    if outcome == "runs":
        frame = pysd_read_vensim(path).run()
        assert np.isfinite(frame.to_numpy(dtype=float)).all()
    else:
        with pytest.raises(getattr(errors, outcome)) as info:
            pysd_read_vensim(path)
        assert str(path) in str(info.value)


def test_pysd_xmile_model_through_the_layer(tmp_path):
    from simulator.parsing import pysd_read_xmile

    path = tmp_path / "ok.xmile"
    shutil.copy(HOSTILE / "xmile_ok.xmile", path)
    frame = pysd_read_xmile(path).run()
    ours = simulator.load(path).run(method="euler").to_frame()
    np.testing.assert_allclose(ours["Level"].to_numpy(), frame["Level"].to_numpy(dtype=float), rtol=1e-12)


# ---------------------------------------------------------------------- named regressions
def _error(tmp_path, body: str, *, text: str | None = None, **control) -> str:
    """The one-line ModelLoadError of a model of ``body`` (or of the whole file ``text``)."""
    path = tmp_path / "model.mdl"
    path.write_text(mdl_text(body, **control) if text is None else text, encoding="utf-8")
    with pytest.raises(simulator.ModelLoadError) as info:
        simulator.load(path).run(method="euler")
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    return msg


@pytest.mark.parametrize("other", ["Dup_Var", "dup var", "DUP  VAR", "dup_ var"])
def test_names_differing_in_case_spaces_or_underscores_are_one_variable(tmp_path, other):
    # lines: 1 {UTF-8}, 2 "Dup Var = 1", 7 the other spelling
    msg = _error(tmp_path, eq("Dup Var", "1") + eq(other, "2") + eq("y", "Dup Var * 3"))
    assert "line 2 and line 7" in msg and "'Dup Var'" in msg and repr(" ".join(other.split())) in msg
    assert "same variable" in msg


def test_identical_definitions_twice(tmp_path):
    msg = _error(tmp_path, eq("k", "1") + eq("k", "2") + eq("y", "k"))
    assert "line 2 and line 7" in msg and "variable 'k' is defined twice" in msg


def test_a_subscript_cell_defined_twice(tmp_path):
    msg = _error(tmp_path, eq("A: a1, a2", "").replace(" = ", "") + eq("x[A]", "1") + eq("x[a1]", "2"))
    assert "variable 'x' is defined twice for [a1]" in msg and "line 7 and line 12" in msg


def test_control_variable_defined_twice(tmp_path):
    msg = _error(tmp_path, eq("TIME STEP", "0.5") + eq("y", "Time"))
    assert "line 2" in msg and "'TIME STEP'" in msg and "defined twice" in msg


def test_duplicate_subscript_element_is_an_error(tmp_path):
    msg = _error(tmp_path, "A: a1, a2, a1\n\t~\t\n\t~\t\n\t|\n\n" + eq("x[A]", "1"))
    assert "line 2" in msg and "subscript range 'A' lists element 'a1' more than once" in msg


_RANGES = "A: a1, a2, a3\n\t~\t\n\t~\t\n\t|\n\n" + "SubA: a1\n\t~\t\n\t~\t\n\t|\n\n"  # lines 2-5, 7-10


@pytest.mark.parametrize("lhs,values,needle", [
    ("c[SubA]", "1, 2, 3, 4, 5", "variable 'c' gives 5 values but its range 'SubA' has 1 element"),
    ("c[A]", "1, 2", "variable 'c' gives 2 values but its range 'A' has 3 elements"),
    ("c[A, A]", "1, 2; 3, 4;", "variable 'c' gives 2 rows of 2 values but [A, A] has 3 x 3 = 9 cells"),
], ids=["more", "fewer", "rows"])
def test_a_list_of_numbers_must_fit_its_range(tmp_path, lhs, values, needle):
    # was ValueError: operands could not be broadcast together, while the model was lowered
    msg = _error(tmp_path, _RANGES + eq(lhs, values) + eq("s", "INTEG(1, 0)"))
    assert "line 12" in msg and needle in msg


def test_a_reduction_over_an_undefined_range(tmp_path):
    # was KeyError: 'b' while the model was lowered
    msg = _error(tmp_path, _RANGES + eq("c[A]", "1, 2, 3") + eq("y", "SUM(c[B!])"))
    assert "line 17" in msg and "variable 'y'" in msg and "no subscript range is called 'B'" in msg


def test_a_misspelt_control_value_is_an_error_naming_it(tmp_path):
    # was KeyError: 'initial_time' when the model ran
    text = mdl_text(eq("s", "INTEG(1, 0)")).replace("INITIAL TIME  =", "INITIAL TIMME =")
    msg = _error(tmp_path, "", text=text)
    assert "no equation defines INITIAL TIME (" in msg


def test_an_equation_with_one_tilde_is_not_dropped_as_a_group_heading(tmp_path):
    # pysd reads 'x = 1 ~ units |' as a group heading and drops it: here SAVEPER, then KeyError: 'saveper'
    text = mdl_text(eq("s", "INTEG(1, 0)")).replace("SAVEPER  = 1\n\t~\t", "SAVEPER  = 1\n\t")
    msg = _error(tmp_path, "", text=text)
    assert "line 23" in msg and "'SAVEPER = 1 Month [0,?]' has 2 parts" in msg and "group heading" in msg


@pytest.mark.parametrize("name", ["Time", "TIME", "time"])
def test_time_cannot_be_redefined(tmp_path, name):
    msg = _error(tmp_path, eq(name, "5") + eq("y", f"{name} * 2"))
    assert "line 2" in msg and f"{name!r} is the simulation clock" in msg


@pytest.mark.parametrize("name,what", [("A", "subscript range 'A'"), ("a2", "element 'a2'")])
def test_variable_shadowing_a_subscript(tmp_path, name, what):
    msg = _error(tmp_path, "A: a1, a2\n\t~\t\n\t~\t\n\t|\n\n" + eq(name, "3") + eq("x[A]", name))
    assert "line 7" in msg and what in msg and "ambiguous" in msg


def test_block_without_tildes_is_not_silently_dropped(tmp_path):
    msg = _error(tmp_path, "x = 1 |\n\n" + eq("k", "2") + eq("y", "k"))
    assert "line 2" in msg and "drop the rest of the file" in msg


def test_xmile_points_cut_short_by_numpy_are_an_error():
    exc, _ = _outcome(HOSTILE / "xmile_ypts_truncated.xmile")
    assert isinstance(exc, simulator.ModelLoadError) and "'abc'" in str(exc)


@pytest.mark.parametrize("body,needle", [
    ("A: (a1-a20000000)\n\t~\t\n\t~\t\n\t|\n\n" + eq("x[A]", "1"), "20000000 elements"),
    (eq("y", "(" * 500 + "1" + ")" * 500), "nested 500 deep"),
    (eq("y", "+".join(["Time"] * 5000)), "terms"),
], ids=["range_of_20M", "nesting_500", "sum_of_5000"])
def test_bounds(tmp_path, body, needle):
    assert needle in _error(tmp_path, body)


def test_flagship_model_loads_with_lines():
    src = read_source(ROOT / "models" / "zhejiang_innovation_openness.mdl")
    lines = [el.line for el in src.elements.values()]
    assert all(isinstance(n, int) and n > 0 for n in lines)
    assert len(set(lines)) == len(lines)
