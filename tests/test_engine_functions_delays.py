"""DELAY MATERIAL and DELAY INFORMATION: Vensim defines both as DELAY FIXED while the delay time
is constant (a pure pipeline: the input of one delay time ago, the initial value before that);
with a delay time that changes, where they differ, the engine refuses them by name and line."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import eq

import simulator

INPUT = eq("inp", "1 + STEP(2, 3) + RAMP(0.5, 6, 9)") + eq("d", "2.5")


def test_material_and_information_delays_are_the_pipeline(load_mdl):
    eqs = (INPUT + eq("a", "DELAY MATERIAL(inp, d, 7, 0)") + eq("b", "DELAY INFORMATION(inp, d, 7)")
           + eq("c", "DELAY FIXED(inp, d, 7)") + eq("s", "INTEG(a - b, 0)"))
    f = load_mdl(eqs, final_time=12, time_step=0.5, saveper=0.5).run(method="euler").to_frame()
    t = f.index.to_numpy()
    inp = f["inp"].to_numpy()
    shifted = np.where(t >= 2.5, np.interp(t - 2.5, t, inp), 7.0)
    for col in ("a", "b", "c"):
        np.testing.assert_array_equal(f[col].to_numpy(), shifted, err_msg=col)
    assert (f["s"] == 0).all()  # two call sites, two independent pipelines that agree


def test_a_changing_delay_time_is_refused_by_name(load_mdl):
    with pytest.raises(simulator.UnsupportedFeatureError,
                       match=r"line \d+, variable 'e' uses DELAY MATERIAL with a delay time that changes"):
        load_mdl(INPUT + eq("e", "DELAY MATERIAL(inp, 1 + Time / 10, 7, 0)"))
    with pytest.raises(simulator.UnsupportedFeatureError, match="DELAY INFORMATION with a delay time"):
        load_mdl(INPUT + eq("e", "DELAY INFORMATION(inp, d + STEP(1, 5), 7)"))
