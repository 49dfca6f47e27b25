"""Save times when SAVEPER is not a multiple of TIME STEP, with the control values of the SDXorg
pendulum sample (SAVEPER 0.1, TIME STEP 1/128) on a pendulum written here.

A fixed-step run holds states at step times only, so each saved row is the step nearest to a
multiple of SAVEPER and is labelled with that step's own time: a row never carries a time other
than the one whose values it holds. (The SDXorg suite publishes no Vensim output for its
pendulum sample; pysd saves only the times that are multiples of both, every 0.5 s here.)
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import eq, mdl_text

import simulator

DT, SAVEPER = 1 / 128, 0.1
PENDULUM = (eq("angle", "INTEG(angular velocity, 0.5)") + eq("angular velocity", "INTEG(acceleration, 0)")
            + eq("acceleration", "-9.81 / length * SIN(angle)") + eq("length", "1"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    path = tmp_path_factory.mktemp("pendulum") / "pendulum.mdl"
    path.write_text(mdl_text(PENDULUM, final_time=100, time_step=DT, saveper=SAVEPER), encoding="utf-8")
    m = simulator.load(path)
    opts = simulator.RunOptions(backend="numpy")
    coarse = m.run(method="euler", options=opts).to_frame()
    every_step = m.run({"SAVEPER": DT}, method="euler", options=opts).to_frame()
    return coarse, every_step


def test_rows_are_step_times_nearest_each_saveper(runs):
    coarse, _ = runs
    t = coarse.index.to_numpy(dtype=float)
    steps = t / DT
    np.testing.assert_array_equal(steps, np.rint(steps))  # every label is a step time
    wanted = SAVEPER * np.arange(len(t))
    assert np.all(np.abs(t - wanted) <= DT / 2 + 1e-12)   # the nearest step to k * SAVEPER
    assert t[0] == 0.0 and t[-1] == pytest.approx(100.0) and len(t) == 1001


def test_each_row_holds_the_state_of_its_own_time(runs):
    coarse, every_step = runs
    fine = every_step.loc[coarse.index]  # the per-step run at the labelled times
    for col in coarse.columns.drop("SAVEPER"):  # the one value the two runs set apart
        np.testing.assert_array_equal(coarse[col].to_numpy(), fine[col].to_numpy(), err_msg=col)
    assert coarse["angle"].abs().max() > 0.4  # it swings
