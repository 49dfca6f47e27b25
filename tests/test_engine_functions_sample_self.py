"""SAMPLE IF TRUE whose condition names the variable itself: Vensim computes SAMPLE IF TRUE like a
level, so the name reads the value held so far. ``low = SAMPLE IF TRUE(x < low, x, x)`` is then
the running minimum of x (the beer game's Minimum Inventory), ``high`` the running maximum."""
from __future__ import annotations

import numpy as np
from conftest import eq


def test_self_referencing_sample_if_true_is_a_running_extreme(load_mdl):
    m = load_mdl(eq("x", "SIN(Time) * Time") + eq("low", "SAMPLE IF TRUE(x < low, x, x)")
                 + eq("high", "SAMPLE IF TRUE(x > high, x, x)"), final_time=20, time_step=0.25, saveper=0.25)
    f = m.run(method="euler").to_frame()
    t = f.index.to_numpy()
    x = np.sin(t) * t
    np.testing.assert_allclose(f["x"], x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f["low"], np.minimum.accumulate(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f["high"], np.maximum.accumulate(x), rtol=1e-12, atol=1e-12)


def test_self_reference_in_a_subscripted_sample_if_true(load_mdl):
    m = load_mdl("R: (r1-r3) ~~|\n" + eq("x[R]", "SIN(Time * R)") + eq("low[R]", "SAMPLE IF TRUE(x[R] < low[R], x[R], x[R])"),
                 final_time=10, time_step=0.5, saveper=0.5)
    f = m.run(method="euler").to_frame()
    for k in (1, 2, 3):
        np.testing.assert_allclose(f[f"low[r{k}]"], np.minimum.accumulate(f[f"x[r{k}]"].to_numpy()), atol=1e-12)
