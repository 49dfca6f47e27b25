"""Subscripted equations as loops in the numba kernel, and ``Model.prepare``'s runner.

Both compare with the numpy path (the reference printer): the kernel's loops and its own
initialisation must give the numpy path's numbers. No timing is asserted (see benchmarks/).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator import ParameterError, RunOptions
from simulator.kernel_cache import KernelCache

pytest.importorskip("numba")

NUMPY = RunOptions(backend="numpy")
NUMBA = RunOptions(backend="numba")

# 1 000 cells: an aging chain over two ranges, a reduction, a mapped subrange, lookups per cell
ARRAY_MODEL = """
Region: (R1-R40) ~~|
Age: (A1-A25) ~~|
Young: (A1-A10) ~~|
Inflow Share[Region] = 0.025 ~~|
Rate[Region, Age] = 0.012 ~~|
Births = 100 + 5 * SIN(Time) ~~|
Pop[Region, Age] = INTEG(Enter[Region, Age] - Leave[Region, Age], 10) ~~|
Enter[Region, Age] = IF THEN ELSE(Age = 1, Births * Inflow Share[Region], 0) ~~|
Leave[Region, Age] = Pop[Region, Age] * Rate[Region, Age] * Crowding[Region] ~~|
Total[Region] = SUM(Pop[Region, Age!]) ~~|
Young Total[Region] = SUM(Pop[Region, Young!]) ~~|
Crowding[Region] = Crowding Curve(Total[Region] / 250) ~~|
Crowding Curve((0, 0.5), (1, 1), (4, 3)) ~~|
Largest = VMAX(Total[Region!]) ~~|
Share Young[Region] = Young Total[Region] / MAX(Total[Region], 1e-9) ~~|
"""


def max_rel(a, b) -> float:
    worst = 0.0
    for k in b.data:
        x, y = np.asarray(a.data[k]), np.asarray(b.data[k])
        assert x.shape == y.shape, k
        scale = np.maximum(np.nanmax(np.abs(y), axis=0, keepdims=True), 1e-300)
        worst = max(worst, float(np.nanmax(np.abs(x - y) / scale)))
    return worst


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    from conftest import mdl_text

    folder = tmp_path_factory.mktemp("arrays")
    path = folder / "arrays.mdl"
    path.write_text(mdl_text(ARRAY_MODEL, final_time=20, time_step=0.25), encoding="utf-8")
    return simulator.load(path, cache=KernelCache(folder / "cache"))


@pytest.mark.slow
def test_a_thousand_cell_model_runs_as_loops_and_equals_numpy(arrays):
    from simulator import fused

    kernel = fused.build(arrays, frozenset())
    # the kernel grows with the equations, not with the 1 000 cells
    assert "for i0 in range(40):" in kernel.plan.source
    assert kernel.plan.size < 400
    got = arrays.run(method="euler", options=NUMBA)
    assert got.metadata["backend"] == "numba"
    assert max_rel(got, arrays.run(method="euler", options=NUMPY)) <= 1e-12
    got = arrays.run(method="rk4", options=NUMBA)
    assert max_rel(got, arrays.run(method="rk4", options=NUMPY)) <= 1e-12


@pytest.mark.slow
def test_prepared_runs_equal_model_run(arrays):
    prepared = arrays.prepare(method="euler", outputs=["Total", "Largest", "Pop"], names=None)
    assert prepared.backend == "numba" and prepared.why == ""
    for params in (None, {"Inflow Share": 0.03}, {"Rate[R3, A2]": 0.2},
                   {"Inflow Share": pd.Series([0.02, 0.04], index=[0.0, 20.0])},
                   {"Crowding Curve": ([0, 2, 4], [0.4, 1.5, 2.0])}):
        got = prepared.run(params)
        want = arrays.run(params, method="euler", options=NUMPY, outputs=["Total", "Largest", "Pop"])
        assert got.metadata["backend"] == "numba (prepared)", params
        assert max_rel(got, want) <= 1e-12, params
    # what the prepared path does not cover goes to Model.run, with its numbers and messages
    ens = prepared.run({"Inflow Share": [0.02, 0.03]})
    assert ens.n_members == 2 and ens.metadata["backend"] != "numba (prepared)"
    with pytest.raises(ParameterError):
        prepared.run({"No Such Thing": 1.0})


@pytest.mark.slow
def test_prepared_run_values(load_mdl):
    m = load_mdl("""
Stock = INTEG(Inflow - Outflow, Start) ~~|
Inflow = Gain * Stock * (1 - Stock / Capacity) ~~|
Outflow = Loss * Stock ~~|
Start = 1 ~~|
Gain = 0.5 ~~|
Loss = 0.1 ~~|
Capacity = 100 ~~|
""")
    prepared = m.prepare(method="rk4", names=["Gain", "Start"])
    got = prepared.run_values([0.7, 3.0])
    want = m.run({"Gain": 0.7, "Start": 3.0}, method="rk4", options=NUMPY)
    assert max_rel(got, want) <= 1e-12
    # results own their arrays: a later call does not change an earlier result
    first = np.array(got["Stock"])
    prepared.run_values([0.2, 1.0])
    np.testing.assert_array_equal(got["Stock"], first)
    with pytest.raises(ParameterError):
        prepared.run_values([1.0])
    with pytest.raises(ParameterError):
        prepared.run_values([np.nan, 1.0])
    with pytest.raises(ParameterError):
        m.prepare(method="RK45")
    with pytest.raises(ParameterError):
        m.prepare(names=["Stock"])


def test_compile_progress_message(monkeypatch):
    import io

    from simulator import compiling

    monkeypatch.setattr(compiling, "PROGRESS_AFTER", 0.0)
    out = io.StringIO()
    progress = compiling.Progress(expected=10.0, stream=out)
    progress.tick()
    progress.finish()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("compiling the model for this machine (first run only)… 0 s, about 0 %")
    assert lines[-1].startswith("compiling the model for this machine (first run only)… done in")
    quiet = io.StringIO()
    monkeypatch.setattr(compiling, "PROGRESS_AFTER", 60.0)
    hit = compiling.Progress(expected=10.0, stream=quiet)  # a cache hit is done before the message is due
    hit.tick()
    hit.finish()
    assert quiet.getvalue() == ""


@pytest.mark.slow
def test_the_dashboard_runs_through_the_prepared_runner():
    from conftest import dashboard_simulation

    warm = dashboard_simulation()
    if warm.options is None:
        pytest.skip("this engine has no fused backend")
    assert warm.warm_up() == "numba"
    cold = dashboard_simulation()  # never warmed up: Model.run
    lever = next(iter(warm.catalogue.levers))
    for state in ({}, {"levers": {lever: {"value": warm.catalogue.levers[lever].high}}}):
        got, want = warm.run(state), cold.run(state)
        assert warm.last_backend == "numba (prepared)"
        for name in want.series:
            a, b = got.series[name], want.series[name]
            scale = np.maximum(np.nanmax(np.abs(b), axis=0), 1e-300)
            assert float(np.nanmax(np.abs(a - b) / scale)) <= 1e-12, name


def test_model_control_is_computed_once_and_cannot_be_changed_through_its_answer(load_mdl):
    """Every scenario applied asks for the time grid; it is read once, and handing it out twice
    must not let one caller's edit reach the next (nor a run's own time options)."""
    model = load_mdl("Stock = INTEG(0.1 * Stock, 1) ~~|\n", final_time=10, time_step=0.5, saveper=0.5)
    first = model.control
    assert first == {"initial_time": 0.0, "final_time": 10.0, "time_step": 0.5, "saveper": 0.5}
    first["final_time"] = 99.0
    model.run(method="euler", options=RunOptions(final_time=4, backend="numpy"))
    assert model.control == {"initial_time": 0.0, "final_time": 10.0, "time_step": 0.5, "saveper": 0.5}
