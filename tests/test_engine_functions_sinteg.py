"""SINTEG(rate, initial, min, max, quant, spec, thresh): Vensim's restricted integration. With
Euler each step lands on the restricted value of stock + TIME STEP * rate; the restrictions given
as :NA: do nothing, so SINTEG with five :NA: is INTEG."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import eq

import simulator

NA = ":NA:"


def _run(load_mdl, rate, init, *special, method="euler"):
    args = ", ".join([rate, init, *special])
    m = load_mdl(eq("r", "0.3") + eq("s", f"SINTEG({args})") + eq("i", f"INTEG({rate}, {init})"),
                 final_time=6, time_step=0.5, saveper=0.5)
    return m.run(method=method).to_frame()


def test_sinteg_without_restrictions_is_integ(load_mdl):
    f = _run(load_mdl, "r * Time", "1", NA, NA, NA, NA, NA)
    np.testing.assert_array_equal(f["s"], f["i"])


def test_sinteg_stays_within_its_bounds(load_mdl):
    up = _run(load_mdl, "r", "0", NA, "1", NA, NA, NA)
    np.testing.assert_allclose(up["s"], np.minimum(0.15 * np.arange(13), 1.0), atol=1e-12)
    down = _run(load_mdl, "-r", "0.5", "0", NA, NA, NA, NA)
    np.testing.assert_allclose(down["s"], np.maximum(0.5 - 0.15 * np.arange(13), 0.0), atol=1e-12)


def test_sinteg_quantum_and_snap(load_mdl):
    q = _run(load_mdl, "r", "0", NA, NA, "0.25", NA, NA)["s"].to_numpy()
    np.testing.assert_allclose(q / 0.25, np.round(q / 0.25), atol=1e-12)  # multiples of quant
    assert q[1] == 0.25 and q[2] == 0.5  # 0.15 -> 0.25, 0.25 + 0.15 -> 0.5
    snap = _run(load_mdl, "r", "0", NA, NA, NA, "0.5", "0.2")["s"].to_numpy()
    np.testing.assert_allclose(snap[:3], [0.0, 0.15, 0.3], atol=1e-12)
    assert (snap[3:] == 0.5).all()  # 0.45 is within 0.2 of 0.5, and so is every later step


def test_sinteg_adaptive_run_stops_at_the_bound(load_mdl):
    # the flow stops once the stock reaches a bound; the solver's last step may pass it by a
    # small amount (its step is not cut at the bound), after which the stock holds
    f = _run(load_mdl, "r", "0", NA, "1", NA, NA, NA, method="RK45")
    assert f["s"].max() == pytest.approx(1.0, abs=1e-3) and (f["s"].iloc[-4:] == f["s"].iloc[-1]).all()


def test_sinteg_restriction_that_changes_is_refused(load_mdl):
    with pytest.raises(simulator.UnsupportedFeatureError, match=r"line \d+, variable 's' uses SINTEG with a restriction"):
        _run(load_mdl, "r", "0", NA, "Time", NA, NA, NA)
