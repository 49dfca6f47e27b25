"""Where pysd (3.14, with xarray 2026) is wrong or stops, and the engine is right.

Each fault has two tests: the engine's numbers checked against a hand-written Euler computation
(or Vensim's output), and a strict xfail that runs pysd and expects the engine's numbers. The
xfail's reason names pysd's behaviour; when pysd is fixed, the xfail passes, fails as XPASS, and
the workaround or exclusion that the fault made necessary elsewhere can go.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import eq, mdl_text
from difftools import SDXORG, frame_differences, numeric_frame, pysd_compat

import simulator
from simulator.conformance import judge, read_reference, run_engine, run_pysd

pytest.importorskip("pysd")
RANGES = "A:\n\ta1, a2, a3\n\t~\t\n\t~\t\t|\n\nB:\n\tb1, b2\n\t~\t\n\t~\t\t|\n\n"


def _model(tmp_path, body, **control):
    path = tmp_path / "m.mdl"
    path.write_text(mdl_text(body, **control), encoding="utf-8")
    return path


def _engine(path):
    return simulator.load(path).run(method="euler", options=simulator.RunOptions(backend="numpy")).to_frame()


def _pysd(path, compat=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if compat:
            with pysd_compat():
                return numeric_frame(run_pysd(path))
        return numeric_frame(run_pysd(path))


# ---------------------------------------------------------------------------- SMOOTHI, integer init
SMOOTHI = eq("x", "3.7") + eq("s", "SMOOTHI(x, 2, 1)")


def _smoothi_euler(n):
    s = [1.0]
    for _ in range(n):
        s.append(s[-1] + 1.0 * (3.7 - s[-1]) / 2)
    return np.array(s)


def test_engine_smoothi_with_integer_initial_value_is_euler(tmp_path):
    got = _engine(_model(tmp_path, SMOOTHI, final_time=4, time_step=1, saveper=1))
    np.testing.assert_allclose(got["s"].to_numpy(), _smoothi_euler(4), rtol=1e-15)
    assert got["s"].iloc[1] == pytest.approx(2.35)


@pytest.mark.xfail(strict=True, reason=(
    "pysd builds SMOOTHI's state from the initial value as np.array([1]) (an integer array when "
    "the initial value is an integer literal), and its ddt writes the input into a copy of that "
    "array, so the first step reads int(3.7) = 3: s(1) = 2.0 instead of 2.35, and every later "
    "value lags the Euler (and Vensim) answer"))
def test_pysd_smoothi_with_integer_initial_value(tmp_path):
    path = _model(tmp_path, SMOOTHI, final_time=4, time_step=1, saveper=1)
    np.testing.assert_allclose(_pysd(path)["s"].to_numpy(), _smoothi_euler(4), rtol=1e-12)


# ---------------------------------------------------------------------------- DELAY3 order
DELAY3 = eq("d", "DELAY3(Time, 2)")


def _delay3_euler(n, tau=2.0, dt=1.0):
    stages = np.zeros(3)  # the input (Time) starts at 0, so every stage starts empty
    out = []
    for k in range(n + 1):
        out.append(stages[2] / (tau / 3))
        rates = stages / (tau / 3)
        inflow = np.array([k * dt, rates[0], rates[1]])
        stages = stages + dt * (inflow - rates)
    return np.array(out)


def test_engine_delay3_keeps_three_stages(tmp_path):
    got = _engine(_model(tmp_path, DELAY3, final_time=6, time_step=1, saveper=1))
    np.testing.assert_allclose(got["d"].to_numpy(), _delay3_euler(6), rtol=1e-12, atol=1e-12)


def test_engine_matches_vensim_where_delay3_is_short():
    """SDXorg 'arguments': DELAY3(Time, MODULO(29, 3)) at TIME STEP 1, Vensim's own output."""
    folder = SDXORG / "tests" / "arguments"
    verdict = judge(lambda: run_engine(folder / "test_arguments.mdl"), read_reference(folder / "output.tab"))
    assert verdict.outcome == "match", verdict


@pytest.mark.xfail(strict=True, reason=(
    "pysd lowers the order of DELAY3 to delay time / TIME STEP when 3 x TIME STEP exceeds the "
    "delay time ('Delay time very small, casting delay order from 3 to 2'); Vensim keeps three "
    "stages (SDXorg 'arguments', where pysd misses Vensim's output by 6.8x the allowance)"))
def test_pysd_delay3_keeps_three_stages(tmp_path):
    path = _model(tmp_path, DELAY3, final_time=6, time_step=1, saveper=1)
    np.testing.assert_allclose(_pysd(path)["d"].to_numpy(), _delay3_euler(6), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- pysd stops
RAGGED = RANGES + eq("x[A]", "INTEG(1 + y[A,b1] / 10, 1)") + eq("y[A,B]", "INTEG(x[A], 2)")
SCALAR = RANGES + eq("r[A]", "RAMP(1, 2, 3)") + eq("w[A,B]", "WITH LOOKUP(Time, ((0,1),(4,3)))") + \
    eq("m[B]", "MIN(Time, 2)")


def test_engine_runs_stocks_of_different_shapes(tmp_path):
    got = _engine(_model(tmp_path, RAGGED, final_time=2, time_step=0.5, saveper=0.5))
    x, y = 1.0, 2.0
    for _ in range(4):
        x, y = x + 0.5 * (1 + y / 10), y + 0.5 * x
    assert got["x[a2]"].iloc[-1] == pytest.approx(x, rel=1e-14)
    assert got["y[a3,b2]"].iloc[-1] == pytest.approx(y, rel=1e-14)
    assert not frame_differences(got, _pysd(tmp_path / "m.mdl", compat=True))


@pytest.mark.xfail(strict=True, raises=ValueError, reason=(
    "pysd stacks the states of all stateful elements with np.array([...], dtype=object), which "
    "raises 'could not broadcast input array from shape (3,2) into shape (3,)' for stocks over "
    "[A] and [A,B]; the differential tests run pysd inside difftools.pysd_compat()"))
def test_pysd_runs_stocks_of_different_shapes(tmp_path):
    _pysd(_model(tmp_path, RAGGED, final_time=2, time_step=0.5, saveper=0.5))


def test_engine_spreads_scalars_over_subscripted_equations(tmp_path):
    got = _engine(_model(tmp_path, SCALAR, final_time=4, time_step=0.5, saveper=0.5))
    t = got.index.to_numpy()
    np.testing.assert_allclose(got["r[a2]"], np.clip(t - 2, 0, 1), atol=1e-15)
    np.testing.assert_allclose(got["w[a1,b2]"], 1 + t / 2, atol=1e-15)
    np.testing.assert_allclose(got["m[b1]"], np.minimum(t, 2), atol=1e-15)
    assert not frame_differences(got, _pysd(tmp_path / "m.mdl", compat=True))


@pytest.mark.xfail(strict=True, raises=ValueError, reason=(
    "pysd spreads a scalar over a subscripted equation with xr.DataArray(value, coords, dims); "
    "xarray 2026 refuses a numpy scalar there ('different number of dimensions on data and dims: "
    "0 vs 1'), so RAMP, MIN, a lookup or a stateful's output in a subscripted equation stops the "
    "run; the differential tests run pysd inside difftools.pysd_compat()"))
def test_pysd_spreads_scalars_over_subscripted_equations(tmp_path):
    _pysd(_model(tmp_path, SCALAR, final_time=4, time_step=0.5, saveper=0.5))
