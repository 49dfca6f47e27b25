"""Ensembles, discontinuous inputs, time-series overrides, and runs never changing the model.

Ensemble vs one-by-one: an ensemble run takes steps chosen for its worst member, so each member's
trajectory differs from its solo run by at most the sum of two global errors. With rtol = atol
= 1e-8 the bound is 2x the analytic-test bound per method (see test_engine_analytic.py):
RK45 40, DOP853 40, BDF 1000 times the tolerance; Euler is the same arithmetic and must agree
to rounding (1e-13).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import MODELS, eq

import simulator

TOL = 1e-8
ENSEMBLE_BOUND = {"RK45": 40, "DOP853": 40, "BDF": 1000, "euler": 1e-5}  # x tolerance
N = 8


def normalized_diff(a, b, tol=TOL):
    return float(np.max(np.abs(a - b) / (tol + tol * np.max(np.abs(b)))))


@pytest.fixture(scope="module")
def logistic():
    return simulator.load(MODELS / "logistic.mdl")


@pytest.mark.parametrize("method", list(ENSEMBLE_BOUND))
def test_ensemble_equals_members_run_one_by_one(logistic, method):
    r = np.linspace(0.2, 1.5, N)
    K = np.linspace(500, 2000, N)
    opts = simulator.RunOptions(rtol=TOL, atol=TOL)
    ens = logistic.run({"r": r, "K": K}, method=method, options=opts)
    assert ens.n_members == N
    assert ens["Population"].shape == (len(ens.times), N)
    assert ens["r"][0].tolist() == r.tolist()
    for i in range(N):
        solo = logistic.run({"r": r[i], "K": K[i]}, method=method, options=opts)
        assert solo.n_members == 1
        d = normalized_diff(ens["Population"][:, i], solo["Population"][:, 0])
        assert d <= ENSEMBLE_BOUND[method], f"member {i}: {d:.3g} x tolerance"
        if method == "euler":
            np.testing.assert_allclose(ens["Growth"][:, i], solo["Growth"][:, 0], rtol=1e-13)


def test_ensemble_members_really_differ(logistic):
    ens = logistic.run({"r": np.linspace(0.2, 1.5, N)}, method="RK45")
    final = ens.final("Population")
    assert final.shape == (N,)
    assert np.all(np.diff(final) > 0)  # faster growth -> closer to K at the end


STEP_MODEL = (eq("Stock", "INTEG(Inflow - Stock / tau, 0)")
              + eq("Inflow", "STEP(h, ts) + 4 * PULSE(5, 2)")
              + eq("Narrow", "INTEG(10 * PULSE(6.3, 0.1), 0)")
              + eq("tau", "2") + eq("h", "10") + eq("ts", "3"))


def step_exact(t, h=10.0, ts=3.0, tau=2.0):
    """Stock for Inflow = h*STEP(ts) + 4*(PULSE from 5 to 7): sum of first-order step responses."""
    def resp(c, a):
        return np.where(t >= a, c * tau * (1 - np.exp(-np.clip(t - a, 0, None) / tau)), 0.0)
    return resp(h, ts) + resp(4.0, 5.0) - resp(4.0, 7.0)


@pytest.fixture
def step_model(write_mdl):
    return simulator.load(write_mdl(STEP_MODEL, final_time=20, time_step=0.25, saveper=0.5))


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau"])
def test_adaptive_runs_restart_at_step_and_pulse_times(step_model, method):
    res = step_model.run(method=method, options=simulator.RunOptions(rtol=TOL, atol=TOL))
    # switch times 3 (STEP), 5 and 7 (PULSE), 6.3 and 6.4 (narrow PULSE): 6 segments
    assert res.metadata["solver"]["segments"] == 6
    # a 0.1-wide pulse is integrated exactly, not stepped over
    assert res["Narrow"][-1, 0] == pytest.approx(1.0, abs=1e-9)
    # analytic solution, to a small multiple of the tolerance (BDF's bound, the loosest)
    assert normalized_diff(res["Stock"][:, 0], step_exact(res.times)) <= 500


def test_adaptive_matches_euler_at_tiny_time_step(step_model):
    fine = step_model.run(method="euler", options=simulator.RunOptions(time_step=1 / 1024))
    for method in ("RK45", "BDF"):
        res = step_model.run(method=method)
        np.testing.assert_array_equal(res.times, fine.times)
        # Euler's O(dt) error: ~2e-3 absolute on a value of ~22 at dt = 1/1024
        np.testing.assert_allclose(res["Stock"][:, 0], fine["Stock"][:, 0], rtol=0, atol=5e-3)
        # the narrow pulse: Euler integrates whole steps, 102 or 103 steps of 1/1024
        assert abs(res["Narrow"][-1, 0] - fine["Narrow"][-1, 0]) < 1e-2


def test_ensemble_with_member_specific_step_times(step_model):
    ts = np.array([1.3, 2.7, 3.0, 4.1, 5.5, 6.0, 7.25, 8.9])
    h = np.arange(1.0, 9.0)
    opts = simulator.RunOptions(rtol=TOL, atol=TOL)
    for method in ("RK45", "BDF"):
        ens = step_model.run({"ts": ts, "h": h}, method=method, options=opts)
        for i in range(N):
            ref = step_exact(ens.times, h=h[i], ts=ts[i])
            assert normalized_diff(ens["Stock"][:, i], ref) <= 500, (method, i)


# ---------------------------------------------------------------------- time-series overrides
XS = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 10.0])
YS = np.array([0.0, 5.0, 1.0, 3.0, 3.0, 0.0])
SERIES_MODEL = eq("Stock", "INTEG(Input - Stock / tau, 1)") + eq("Input", "2") + eq("tau", "3")
POINTS = ",".join(f"({x:g},{y:g})" for x, y in zip(XS, YS))
LOOKUP_MODEL = (eq("Stock", "INTEG(Input - Stock / tau, 1)") + eq("Input", "Input Table(Time)")
                + f"Input Table(\n\t[(0,0)-(10,10)],{POINTS})\n\t~\t\n\t~\t\n\t|\n\n" + eq("tau", "3"))


@pytest.fixture
def series_pair(write_mdl):
    ctl = dict(final_time=10, time_step=0.125, saveper=0.5)
    return (simulator.load(write_mdl(SERIES_MODEL, name="series", **ctl)),
            simulator.load(write_mdl(LOOKUP_MODEL, name="lookup", **ctl)))


def test_series_override_changes_results_and_equals_lookup_model_euler(series_pair):
    m, lk = series_pair
    base = m.run(method="euler")
    over = m.run({"Input": pd.Series(YS, index=XS)}, method="euler")
    ref = lk.run(method="euler")
    assert np.all(base["Input"] == 2.0)
    assert not np.allclose(base["Stock"], over["Stock"])
    np.testing.assert_allclose(over["Input"][:, 0], np.interp(over.times, XS, YS), rtol=1e-15)
    np.testing.assert_allclose(over["Stock"], ref["Stock"], rtol=1e-13)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "BDF"])
def test_series_override_equals_lookup_model_adaptive(series_pair, method):
    m, lk = series_pair
    opts = simulator.RunOptions(rtol=TOL, atol=TOL)
    over = m.run({"Input": pd.Series(YS, index=XS)}, method=method, options=opts)
    # the series' breakpoints are switch times; the lookup model is told them explicitly
    ref = lk.run(method=method, options=simulator.RunOptions(rtol=TOL, atol=TOL, switch_times=tuple(XS)))
    assert normalized_diff(over["Stock"][:, 0], ref["Stock"][:, 0]) <= ENSEMBLE_BOUND[method]


@pytest.mark.xfail(strict=True, reason="engine limitation: breakpoints of a lookup of Time are not "
                   "switch times, so RK45 steps across the kinks and misses rtol=1e-6 by ~300x "
                   "(a time-series override of the same data is exact)")
def test_lookup_of_time_is_integrated_to_tolerance(series_pair):
    m, lk = series_pair
    exact = m.run({"Input": pd.Series(YS, index=XS)}, method="RK45",
                  options=simulator.RunOptions(rtol=1e-10, atol=1e-10))
    res = lk.run(method="RK45")  # default rtol = atol = 1e-6
    assert normalized_diff(res["Stock"][:, 0], exact["Stock"][:, 0], tol=1e-6) <= 40


def test_series_as_xy_tuple_and_per_member_frame(series_pair):
    m, _ = series_pair
    a = m.run({"Input": pd.Series(YS, index=XS)}, method="euler")
    b = m.run({"Input": (XS, YS)}, method="euler")
    np.testing.assert_array_equal(a["Stock"], b["Stock"])
    frame = pd.DataFrame({0: YS, 1: 2 * YS, 2: np.full_like(YS, 2.0)}, index=XS)
    ens = m.run({"Input": frame}, method="euler")
    assert ens.n_members == 3
    np.testing.assert_allclose(ens["Stock"][:, 0], a["Stock"][:, 0], rtol=1e-13)
    np.testing.assert_allclose(ens["Stock"][:, 2], m.run(method="euler")["Stock"][:, 0], rtol=1e-13)


# ---------------------------------------------------------------------- purity of run()
def snapshot(model):
    return {k: (np.array(v, copy=True) if not isinstance(v, tuple) else tuple(np.array(x) for x in v))
            for k, v in model.program.defaults.items()}


def test_params_never_mutate_the_model(series_pair, logistic):
    m, lk = series_pair
    for model, overrides in (
        (m, [{"Input": pd.Series(YS, index=XS)}, {"tau": np.array([1.0, 2.0, 4.0])}, {"Input": 7.0}]),
        (lk, [{"Input Table": (XS, YS[::-1])}, {"Input": 0.5}]),
        (logistic, [{"r": np.linspace(0.1, 1, 5), "K": 10.0}, {"P0": 1.0}]),
    ):
        before = snapshot(model)
        baseline = model.run(method="RK45")
        for params in overrides:
            copy = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in params.items()}
            res = model.run(params, method="RK45")
            assert res.metadata["params"].keys() == params.keys()
            for k, v in params.items():  # the caller's objects are untouched too
                if isinstance(v, (np.ndarray, pd.Series)):
                    np.testing.assert_array_equal(np.asarray(v), np.asarray(copy[k]))
        again = model.run(method="RK45")
        assert again.n_members == 1
        for name in baseline.data:
            np.testing.assert_array_equal(again[name], baseline[name], err_msg=name)
        after = snapshot(model)
        assert before.keys() == after.keys()
        for k in before:
            if isinstance(before[k], tuple):
                for x, y in zip(before[k], after[k]):
                    np.testing.assert_array_equal(x, y)
            else:
                np.testing.assert_array_equal(before[k], after[k])


def test_element_override_leaves_other_elements(write_mdl):
    body = ("Region: north, south, east\n\t~\t\n\t~\t\n\t|\n\n"
            + eq("Pop[Region]", "INTEG(rate[Region] * Pop[Region], 100)") + eq("rate[Region]", "0.01, 0.02, 0.03"))
    m = simulator.load(write_mdl(body, final_time=4, time_step=0.5, saveper=1))
    base = m.run(method="euler")
    res = m.run({"rate[south]": [0.0, 0.1]}, method="euler")
    assert res.n_members == 2
    np.testing.assert_array_equal(res["Pop"][:, 0, 0], base["Pop"][:, 0, 0])
    np.testing.assert_array_equal(res["Pop"][:, 2, 1], base["Pop"][:, 2, 0])
    assert np.all(res["Pop"][:, 1, 0] == 100.0)
    assert res["Pop"][-1, 1, 1] == pytest.approx(100 * 1.05 ** 8)
    np.testing.assert_array_equal(m.run(method="euler")["Pop"], base["Pop"])
    # a time series for one element only
    ts = m.run({"rate[south]": pd.Series([0.0, 0.1], index=[0.0, 4.0])}, method="euler")
    np.testing.assert_allclose(ts["rate"][:, 1, 0], 0.1 * ts.times / 4, rtol=1e-15)
    np.testing.assert_array_equal(ts["rate"][:, [0, 2], 0], base["rate"][:, [0, 2], 0])
    np.testing.assert_array_equal(ts["Pop"][:, 0, 0], base["Pop"][:, 0, 0])


def test_inconsistent_ensemble_sizes_rejected(logistic):
    with pytest.raises(simulator.ParameterError, match=r"different ensemble sizes: \[2, 3\]"):
        logistic.run({"r": [0.1, 0.2, 0.3], "K": [1.0, 2.0]})
