"""How the numba printer writes conditions and saved cells, and that the kernel still equals numpy.

Conditions print as python conditions (``a > b``, ``p and q``) rather than 1.0/0.0 compared with
0.0, and the cells held in ``w`` rows are saved by one loop over a table: both only make the
kernel cheaper to compile, so every value must stay what the numpy path computes, NaN included.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import eq

import simulator
from simulator import RunOptions, fused

pytest.importorskip("numba")

NUMPY = RunOptions(backend="numpy")
NUMBA = RunOptions(backend="numba")
REGION = "Region: north, south, east\n\t~\t\n\t~\t\n\t|\n\n"
CTL = {"final_time": 10, "time_step": 0.25, "saveper": 0.5}

CONDITIONS = (
    eq("Stock", "INTEG(Inflow, 1)", "widgets")
    + eq("Inflow", "IF THEN ELSE(Stock > 3 :AND: Time < 8, -0.5, 0.8)", "widgets/Year")
    + eq("Missing", ":NA:", "Dmnl")
    + eq("Either", "IF THEN ELSE(Time >= 5 :OR: Stock <= 1.5, 10, 20)", "Dmnl")
    + eq("Negated", "IF THEN ELSE(:NOT: (Stock > 2), 1, 2)", "Dmnl")
    + eq("Nested", "IF THEN ELSE(:NOT: (Time > 3 :AND: (Stock < 2.5 :OR: Time = 9)), 1, 2)", "Dmnl")
    + eq("Plain", "IF THEN ELSE(Stock - 2, 1, 2)", "Dmnl")
    + eq("On missing", "IF THEN ELSE(Missing > 0, 1, 2)", "Dmnl")
    + eq("Not missing", "IF THEN ELSE(:NOT: (Missing > 0), 1, 2)", "Dmnl")
    + eq("Missing itself", "IF THEN ELSE(Missing, 1, 2)", "Dmnl")
    + eq("As value", "(Stock > 2) + (Time < 4 :AND: Stock > 1) * 10", "Dmnl")
)


def same(a, b) -> None:
    assert set(a.data) == set(b.data)
    for name in a.data:
        np.testing.assert_array_equal(a.data[name], b.data[name], err_msg=name)


def test_conditions_print_as_conditions_and_agree_with_numpy(write_mdl):
    model = simulator.load(write_mdl(CONDITIONS, **CTL))
    source = fused.build(model, frozenset()).plan.source
    assert "else 0.0) != 0.0" not in source and "(v0 > (3.0)) and (tt < (8.0))" in source
    assert "(not ((tt > (3.0)) and ((v0 < (2.5)) or (tt == (9.0)))))" in source
    a = model.run(method="euler", options=NUMPY)
    b = model.run(method="euler", options=NUMBA)
    assert b.metadata["backend"] == "numba"
    same(a, b)
    # the branches were taken both ways, and NaN compares false as numpy says
    assert set(np.unique(a["Either"])) == {10.0, 20.0} and set(np.unique(a["Nested"])) == {1.0, 2.0}
    assert (a["On missing"] == 2).all() and (a["Not missing"] == 1).all() and (a["Missing itself"] == 1).all()


SAVED = (
    REGION
    + eq("Stock", "INTEG(Rate * Doubled, 0)", "widgets")
    + eq("Rate", "0.5", "1/Year")
    + eq("Doubled", "Rate * 2", "1/Year")
    + eq("Share[Region]", "0.2, 0.3, 0.5", "Dmnl")
    + eq("Scaled[Region]", "Share[Region] * Rate", "1/Year")
    + eq("Regional[Region]", "Stock * Scaled[Region]", "widgets")
)


def test_constant_cells_are_saved_through_the_table_and_follow_a_series(write_mdl):
    model = simulator.load(write_mdl(SAVED, **CTL))
    source = fused.build(model, frozenset()).plan.source
    assert "wsave = np.array([" in source
    rate = pd.Series([0.5, 0.1, 0.9], index=[0.0, 4.0, 8.0])
    for params in (None, {"Rate": 0.7}, {"Rate": rate}, {"Share[east]": 0.9}):
        a = model.run(params, method="euler", options=NUMPY)
        b = model.run(params, method="euler", options=NUMBA)
        assert b.metadata["backend"] == "numba", params
        same(a, b)
    varied = model.run({"Rate": rate}, method="euler", options=NUMBA)
    assert np.ptp(varied["Doubled"]) > 0 and np.ptp(varied["Scaled"][:, 2]) > 0


def test_prepared_run_reads_its_columns_on_demand(write_mdl):
    model = simulator.load(write_mdl(SAVED, **CTL))
    prepared = model.prepare(method="euler", options=NUMBA)
    fast, full = prepared.run({"Rate": 0.3}), model.run({"Rate": 0.3}, method="euler", options=NUMBA)
    assert list(fast.data) == list(full.data) and len(fast.data) == len(full.data)
    assert "Regional" in fast.data and "nothing" not in fast.data
    same(fast, full)
    assert fast.to_frame().equals(full.to_frame())
