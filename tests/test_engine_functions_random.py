"""The Vensim RANDOM family beyond UNIFORM and NORMAL, against the distributions' analytic moments.

Each call site draws one standard uniform per TIME STEP, cell and member from a stream derived
from (run seed, site, member index) and turns it into the distribution by its inverse CDF, so the
draws are exact samples of the truncated distribution (no clipping mass at the bounds).
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import eq

import simulator

N = 4000  # draws per check: the standard error of a mean is ~1.6 % of the standard deviation


def draws(load_mdl, expr, seed=7):
    m = load_mdl(eq("x", expr), final_time=N - 1, time_step=1, saveper=1)
    return m.run(method="euler", seed=seed)["x"][:, 0]


def test_random_0_1_is_standard_uniform(load_mdl):
    x = draws(load_mdl, "RANDOM 0 1()")
    assert x.min() >= 0 and x.max() < 1
    assert x.mean() == pytest.approx(0.5, abs=0.02)
    assert x.var() == pytest.approx(1 / 12, rel=0.06)


def test_random_exponential_shift_and_stretch(load_mdl):
    # RANDOM EXPONENTIAL(min, max, shift, stretch, seed): shift + stretch * Exp(1)
    x = draws(load_mdl, "RANDOM EXPONENTIAL(0, 1e9, 2, 3, 0)")
    assert x.min() >= 2
    assert x.mean() == pytest.approx(5.0, rel=0.05)
    assert x.std() == pytest.approx(3.0, rel=0.06)


def test_random_exponential_truncation(load_mdl):
    # truncated above at 4: the mean of shift + Exp(1) given < 4 is known in closed form
    x = draws(load_mdl, "RANDOM EXPONENTIAL(0, 4, 1, 1, 0)")
    assert x.min() >= 1 and x.max() <= 4
    a = 3.0  # the width of the window above the shift, in stretches
    mean = 1 + 1 - a * np.exp(-a) / (1 - np.exp(-a))
    assert x.mean() == pytest.approx(mean, rel=0.03)
    # a minimum above the shift starts the distribution there (the exponential forgets)
    y = draws(load_mdl, "RANDOM EXPONENTIAL(5, 1e9, 1, 2, 0)")
    assert y.min() >= 5 and y.mean() == pytest.approx(7.0, rel=0.05)


def test_random_triangular_moments(load_mdl):
    x = draws(load_mdl, "RANDOM TRIANGULAR(-100, 100, 1, 2, 5, 0)")
    a, c, b = 1.0, 2.0, 5.0
    assert x.min() >= a and x.max() <= b
    assert x.mean() == pytest.approx((a + b + c) / 3, rel=0.03)
    var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18
    assert x.var() == pytest.approx(var, rel=0.08)
    assert np.median(x) == pytest.approx(b - np.sqrt((b - a) * (b - c) / 2), rel=0.03)


def test_random_triangular_truncated_and_degenerate(load_mdl):
    x = draws(load_mdl, "RANDOM TRIANGULAR(2, 3, 0, 2, 4, 0)")
    # inside [2, 3] the density falls linearly from 0.5 to 0.25: mean 2 + 4/9
    assert x.min() >= 2 and x.max() <= 3
    assert x.mean() == pytest.approx(2 + 4 / 9, rel=0.02)
    # a peak at the start: a right triangle, mean (2*start + end)/3
    y = draws(load_mdl, "RANDOM TRIANGULAR(0, 10, 0, 0, 3, 0)")
    assert np.isfinite(y).all() and y.mean() == pytest.approx(1.0, rel=0.04)


def test_random_family_seeded_and_ensemble_equals_members(load_mdl):
    eqs = eq("k", "1") + eq("x", "k * RANDOM EXPONENTIAL(0, 10, 0, 1, 0)") + eq("y", "RANDOM TRIANGULAR(0, 1, 0, 0.5, 1, 0)")
    m = load_mdl(eqs, final_time=50, time_step=1, saveper=1)
    a, b = m.run(method="euler", seed=11), m.run(method="euler", seed=11)
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.allclose(a["x"][:, 0], m.run(method="euler", seed=12)["x"][:, 0])
    ens = m.run({"k": [1.0, 1.0]}, method="euler", seed=11)
    assert not np.allclose(ens["y"][:, 0], ens["y"][:, 1])
    np.testing.assert_array_equal(ens["y"][:, 0], a["y"][:, 0])


def test_random_function_left_out_names_itself(load_mdl):
    with pytest.raises(simulator.UnsupportedFeatureError, match=r"model.mdl: line 2, variable 'x' calls function RANDOM POISSON, which is not supported"):
        load_mdl(eq("x", "RANDOM POISSON(0, 10, 2, 0, 1, 0)"))


def test_numba_request_falls_back_to_numpy_and_says_why(load_mdl):
    pytest.importorskip("numba")
    m = load_mdl(eq("x", "RANDOM EXPONENTIAL(0, 10, 0, 1, 0)") + eq("s", "INTEG(x, 0)"), final_time=5)
    got = m.run(method="euler", seed=1, options=simulator.RunOptions(backend="numba"))
    assert got.metadata["backend"].startswith("numpy (fused backend: unsupported function RANDOM")
    ref = m.run(method="euler", seed=1, options=simulator.RunOptions(backend="numpy"))
    np.testing.assert_array_equal(got["s"], ref["s"])
