"""Every error path: the right exception class, and a message naming file, variable, member, time."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import MODELS, eq, mdl_text

import simulator
from innosim.cli import main


def load_error(write_mdl, body, exc=simulator.ModelLoadError, **ctl):
    path = write_mdl(body, **ctl)
    with pytest.raises(exc) as info:
        simulator.load(path)
    return path, str(info.value)


# ---------------------------------------------------------------------- unsupported features
@pytest.mark.parametrize("expr,function", [
    ("GET TIME VALUE(0, 0, 0)", "GET TIME VALUE"),
    ("FORECAST(inp, 2, 1)", "FORECAST"),
])
def test_unsupported_function_names_function_variable_and_file(write_mdl, expr, function):
    body = eq("inp", "Time * 2") + eq("Suspicious Output", expr) + eq("S", "INTEG(Suspicious Output, 0)")
    path, msg = load_error(write_mdl, body, simulator.UnsupportedFeatureError)
    assert str(path) in msg
    assert "'Suspicious Output'" in msg
    assert function in msg
    assert "not supported" in msg


def test_unsupported_is_a_model_load_error():
    assert issubclass(simulator.UnsupportedFeatureError, simulator.ModelLoadError)
    assert issubclass(simulator.AlgebraicLoopError, simulator.ModelLoadError)
    assert issubclass(simulator.ModelLoadError, simulator.SimulatorError)


def test_macro_runs_and_a_macro_algebraic_loop_is_an_error(tmp_path):
    text = mdl_text(":MACRO: DOUBLE(x)\nDOUBLE = 2 * x\n\t~\t\n\t~\t\n\t|\n\n:END OF MACRO:\n"
                    + eq("y", "DOUBLE(3) + DOUBLE(Time)"))
    path = tmp_path / "macro.mdl"
    path.write_text(text, encoding="utf-8")
    res = simulator.load(path).run(method="euler")
    np.testing.assert_array_equal(res["y"][:, 0], 6 + 2 * res.times)
    loop = mdl_text(":MACRO: LOOPY(x)\nLOOPY = a\n\t~\t\n\t~\t\n\t|\n\na = LOOPY * x\n\t~\t\n\t~\t\n\t|\n\n"
                    ":END OF MACRO:\n" + eq("y", "LOOPY(3)"))
    path.write_text(loop, encoding="utf-8")
    # macros are expanded into ordinary equations, so a loop inside one is the model's loop
    with pytest.raises(simulator.AlgebraicLoopError, match=r"y\.LOOPY") as info:
        simulator.load(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------- algebraic loops
def test_static_algebraic_loop_names_both_variables(write_mdl):
    path, msg = load_error(write_mdl, eq("a", "b + 1") + eq("b", "a * 2") + eq("c", "a"),
                           simulator.AlgebraicLoopError)
    assert str(path) in msg
    assert "'a'" in msg and "'b'" in msg
    assert "'c'" not in msg


def test_dynamic_algebraic_loop_names_both_variables(write_mdl):
    body = eq("alpha", "beta + Time") + eq("beta", "alpha * 2") + eq("S", "INTEG(alpha, 0)")
    path, msg = load_error(write_mdl, body, simulator.AlgebraicLoopError)
    assert "algebraic loop" in msg
    assert "'alpha' -> 'beta' -> 'alpha'" in msg or "'beta' -> 'alpha' -> 'beta'" in msg


def test_loop_through_a_stock_is_not_an_algebraic_loop(write_mdl):
    m = simulator.load(write_mdl(eq("S", "INTEG(f, 1)") + eq("f", "-g") + eq("g", "0.5 * S")))
    assert m.run(method="euler")["S"][-1, 0] == pytest.approx(0.9375 ** 80)


# ---------------------------------------------------------------------- non-finite values
def test_ln_of_negative_feeding_a_stock(write_mdl):
    # S: 2.8, 2.3, ..., 0.3 at t=2.5, -0.2 at t=3 -> LN(S) is NaN at t = 3
    body = eq("S", "INTEG(-1, 2.8)") + eq("Log Level", "LN(S)") + eq("Acc", "INTEG(Log Level, 0)")
    path = write_mdl(body, time_step=0.5)
    m = simulator.load(path)
    with pytest.raises(simulator.NonFiniteError) as info:
        m.run(method="euler")
    err = info.value
    assert (err.variable, err.member, err.time) == ("Log Level", 0, 3.0)
    msg = str(err)
    assert str(path) in msg and "'Log Level'" in msg and "time 3" in msg and "member 0" in msg


def test_non_finite_reports_the_member_that_failed(write_mdl):
    body = eq("S", "INTEG(flow, 1)") + eq("flow", "1 / (Time - k)") + eq("k", "5")
    m = simulator.load(write_mdl(body, time_step=0.5))
    with pytest.raises(simulator.NonFiniteError) as info:
        m.run({"k": [20.0, 5.0, 30.0]}, method="euler")
    assert (info.value.variable, info.value.member, info.value.time) == ("flow", 1, 5.0)
    assert "member 1" in str(info.value) and "'flow'" in str(info.value)
    # the healthy members alone run fine
    assert m.run({"k": [20.0, 30.0]}, method="euler").n_members == 2


def test_non_finite_initial_value(write_mdl):
    m = simulator.load(write_mdl(eq("S", "INTEG(0, s0 / d)") + eq("s0", "1") + eq("d", "0")))
    with pytest.raises(simulator.NonFiniteError, match=r"'S' has a non-finite initial value") as info:
        m.run()
    assert info.value.variable == "S" and info.value.time == 0.0


def test_non_finite_in_adaptive_run(write_mdl):
    body = eq("S", "INTEG(-1, 2.8)") + eq("Log Level", "LN(S)") + eq("Acc", "INTEG(Log Level, 0)")
    m = simulator.load(write_mdl(body))
    with pytest.raises(simulator.NonFiniteError) as info:
        m.run(method="RK45")
    assert info.value.variable == "Log Level"
    assert 2.8 <= info.value.time <= 3.0  # S reaches 0 at t = 2.8


def test_division_by_zero_of_time_literal_expression(write_mdl):
    body = eq("S", "INTEG(flow, 1)") + eq("flow", "1 / (Time - 5)")
    m = simulator.load(write_mdl(body, time_step=0.5))
    with pytest.raises(simulator.NonFiniteError) as info:
        m.run(method="euler")
    assert (info.value.variable, info.value.time) == ("flow", 5.0)


@pytest.mark.parametrize("expr", ["(Time - 5) ^ 0.5", "(Time - 5) ^ (-1)", "10 ^ (Time * 100)"])
def test_power_of_time_literal_expression(write_mdl, expr):
    m = simulator.load(write_mdl(eq("S", "INTEG(flow, 1)") + eq("flow", expr), time_step=0.5))
    with pytest.raises(simulator.NonFiniteError) as info:
        m.run(method="euler")
    assert info.value.variable == "flow"


def test_non_finite_output_only_auxiliary(write_mdl):
    m = simulator.load(write_mdl(eq("S", "INTEG(-1, 2.8)") + eq("Log Level", "LN(S)"), time_step=0.5))
    with pytest.raises(simulator.NonFiniteError) as info:
        m.run(method="euler")
    assert info.value.variable == "Log Level"


def test_check_finite_false_returns_nan(write_mdl):
    body = eq("S", "INTEG(-1, 2.8)") + eq("Log Level", "LN(S)") + eq("Acc", "INTEG(Log Level, 0)")
    m = simulator.load(write_mdl(body, time_step=0.5))
    res = m.run(method="euler", options=simulator.RunOptions(check_finite=False))
    assert res.times[:4].tolist() == [0.0, 1.0, 2.0, 3.0]
    np.testing.assert_allclose(res["Log Level"][:3, 0], np.log([2.8, 1.8, 0.8]), rtol=1e-14)
    assert np.isnan(res["Log Level"][3:]).all() and np.isnan(res["Acc"][4:]).all()


def test_singular_flow_with_adaptive_solver_is_a_solver_error(write_mdl):
    body = eq("S", "INTEG(flow, 1)") + eq("flow", "1 / (Time - k)") + eq("k", "5.01")
    path = write_mdl(body)
    with pytest.raises(simulator.SolverError) as info:
        simulator.load(path).run(method="RK45")
    assert str(path) in str(info.value) and "RK45" in str(info.value)
    res = simulator.load(path).run(method="RK45", status=True)
    assert res.status[0]["success"] is False


# ---------------------------------------------------------------------- parameters
@pytest.fixture(scope="module")
def goal():
    return simulator.load(MODELS / "goal_seek.mdl")


@pytest.mark.parametrize("wrong,right", [
    ("Adjustmnt Time", "Adjustment Time"), ("goal", None), ("Gaol", "Goal"), ("adjustment_time", None),
])
def test_unknown_parameter_suggests_closest_name(goal, wrong, right):
    if right is None:  # case, spaces and underscores do not matter
        goal.run({wrong: 3.0}, method="euler")
        return
    with pytest.raises(simulator.ParameterError) as info:
        goal.run({wrong: 3.0})
    msg = str(info.value)
    assert f"no variable named {wrong!r}" in msg
    assert f"Did you mean {right!r}" in msg
    assert "goal_seek.mdl" in msg


def test_parameter_errors(goal):
    with pytest.raises(simulator.ParameterError, match="'Level' is a stock"):
        goal.run({"Level": 1.0})
    with pytest.raises(simulator.ParameterError, match="expected a number"):
        goal.run({"Goal": "fifty"})
    with pytest.raises(simulator.ParameterError, match="strictly increasing"):
        import pandas as pd
        goal.run({"Goal": pd.Series([1.0, 2.0], index=[3.0, 1.0])})
    with pytest.raises(simulator.ParameterError, match="no variable named 'Nothing like it'"):
        goal.run({"Nothing like it": 1.0})
    with pytest.raises(simulator.ParameterError, match="'Goal' has 0 subscripts, 1 given"):
        goal.run({"Goal[a]": 1.0})
    with pytest.raises(simulator.ParameterError, match="time_step must be a positive number"):
        simulator.RunOptions(time_step=0)
    with pytest.raises(KeyError, match="Did you mean 'Level'"):
        goal.run(method="euler")["Levle"]


# ---------------------------------------------------------------------- files
def test_syntax_error_names_file_and_offending_text(tmp_path):
    path = tmp_path / "broken.mdl"
    path.write_text(mdl_text(eq("S", "INTEG(-k, 3)") + eq("k", "1") + eq("j", "k * * 2")), encoding="utf-8")
    with pytest.raises(simulator.ModelLoadError) as info:
        simulator.load(path)
    msg = str(info.value)
    assert type(info.value) is simulator.ModelLoadError
    assert str(path) in msg and "syntax error" in msg and "* * 2" in msg


def test_syntax_error_names_the_file_line(tmp_path):
    path = tmp_path / "broken.mdl"
    text = mdl_text(eq("S", "INTEG(-k, 3)") + eq("k", "1") + eq("j", "k * * 2"))
    assert text.splitlines()[11] == "j = k * * 2"  # file line 12
    path.write_text(text, encoding="utf-8")
    with pytest.raises(simulator.ModelLoadError, match=r"\bline 12\b") as info:
        simulator.load(path)
    assert "variable 'j'" in str(info.value)


def test_undefined_name_suggests(write_mdl):
    path, msg = load_error(write_mdl, eq("S", "INTEG(-rat * S, 3)") + eq("rate", "1"))
    assert str(path) in msg and "'S' refers to undefined name 'rat'" in msg and "Did you mean 'rate'" in msg


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.mdl"
    with pytest.raises(simulator.ModelLoadError, match="model file not found") as info:
        simulator.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("suffix", [".txt", ".py", ""])
def test_unsupported_extension(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_text(mdl_text(eq("k", "1")), encoding="utf-8")
    with pytest.raises(simulator.ModelLoadError, match="unsupported file type") as info:
        simulator.load(path)
    assert str(path) in str(info.value) and ".mdl" in str(info.value)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin.mdl"
    path.write_bytes(mdl_text(eq("caf\u00e9", "1")).encode("latin-1"))
    with pytest.raises(simulator.ModelLoadError, match="not valid UTF-8") as info:
        simulator.load(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------- CLI
@pytest.mark.parametrize("case", ["missing", "extension", "syntax", "unsupported", "nonfinite", "method"])
def test_cli_reports_errors_without_traceback(tmp_path, capsys, case):
    if case == "missing":
        argv = ["run", str(tmp_path / "none.mdl")]
    elif case == "extension":
        (tmp_path / "m.txt").write_text("x", encoding="utf-8")
        argv = ["info", str(tmp_path / "m.txt")]
    else:
        body = {"syntax": eq("j", "1 * * 2"), "unsupported": eq("x", "GET TIME VALUE(0, 0, 0)"),
                "nonfinite": eq("S", "INTEG(-1, 2.8)") + eq("L", "LN(S)") + eq("A", "INTEG(L, 0)"),
                "method": eq("k", "1")}[case]
        (tmp_path / "m.mdl").write_text(mdl_text(body, time_step=0.5), encoding="utf-8")
        argv = ["run", str(tmp_path / "m.mdl"), "--out", str(tmp_path / "out")]
        if case == "method":
            argv += ["--method", "heun"]
    assert main(argv) == 2
    out = capsys.readouterr()
    assert out.err.startswith("innosim: error: ")
    assert "Traceback" not in out.err + out.out
    assert out.err.count("\n") == 1


def test_cli_division_by_zero_is_reported(tmp_path, capsys):
    (tmp_path / "m.mdl").write_text(mdl_text(eq("S", "INTEG(f, 1)") + eq("f", "1 / (Time - 5)"), time_step=0.5),
                                    encoding="utf-8")
    assert main(["run", str(tmp_path / "m.mdl"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("innosim: error: ")


def test_cli_run_and_info_succeed(tmp_path, capsys):
    model = MODELS / "decay.mdl"
    assert main(["run", str(model), "--method", "RK45", "--out", str(tmp_path)]) == 0
    csv = tmp_path / "decay_RK45.csv"
    assert csv.is_file()
    import pandas as pd
    df = pd.read_csv(csv, index_col=0)
    assert df["Stock"].iloc[-1] == pytest.approx(100 * np.exp(-3), rel=1e-5)
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "stock" in out and "Stock" in out and "(1/Month)" in out
