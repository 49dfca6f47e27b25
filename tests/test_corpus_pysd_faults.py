"""pysd faults found by the corpus (docs/corpus.md), each on a small model: the engine's numbers
against a hand-written Euler computation, and a strict xfail that runs pysd and expects them.

World3-03 (tests/corpus/simlin/WRLD3-03) meets two: SMOOTHI with an integer initial value
(tests/test_differential_pysd_faults.py) and the one here, a SMOOTH whose input is an ACTIVE
INITIAL (Perceived Food Ratio of food ratio): pysd runs the smooth one step late.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import eq, mdl_text

import simulator
from simulator.conformance import run_pysd

# the first step of World3-03's Perceived Food Ratio: food ratio = 269.325 / 230 at 1900
ACTIVE = eq("fpc", "269.325 + 0 * Time") + eq("fr", "ACTIVE INITIAL(fpc / 230, 1)") + eq("pfr", "SMOOTH(fr, 2)")
DT = 0.5


def _euler(n):
    fr, pfr = 269.325 / 230, [1.0]  # the smooth starts from fr's initial value, 1
    for _ in range(n):
        pfr.append(pfr[-1] + DT * (fr - pfr[-1]) / 2)
    return np.array(pfr)


def _model(tmp_path):
    path = tmp_path / "m.mdl"
    path.write_text(mdl_text(ACTIVE, final_time=2, time_step=DT, saveper=DT), encoding="utf-8")
    return path


def test_engine_smooth_of_active_initial_is_euler(tmp_path):
    got = simulator.load(_model(tmp_path)).run(method="euler", options=simulator.RunOptions(backend="numpy"))
    np.testing.assert_allclose(got["pfr"][:, 0], _euler(4), rtol=1e-15)
    assert got["pfr"][1, 0] == pytest.approx(1.0427445652173912, rel=1e-15)


@pytest.mark.xfail(strict=True, reason=(
    "pysd evaluates the first step of SMOOTH(fr, 2) with fr's ACTIVE INITIAL value (1, cached "
    "from the initialisation) instead of its active value (1.17098): pfr(0.5) = 1.0 and every "
    "later value is the Euler answer one step late"))
def test_pysd_smooth_of_active_initial(tmp_path):
    pytest.importorskip("pysd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = run_pysd(_model(tmp_path))
    np.testing.assert_allclose(got["pfr"].to_numpy(dtype=float), _euler(4), rtol=1e-12)
