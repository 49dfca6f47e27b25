"""Ensemble runner invariants: ensemble = members one by one, chunked = unchunked (bit for bit with
fixed steps), Dask LocalCluster = single process, reproducible Monte Carlo bands, tidy outputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, eq

import simulator
from sensitivity import (
    Compute,
    EnsembleOptions,
    SensitivityError,
    Study,
    Uncertainty,
    UncertaintySpec,
    Uniform,
    executor,
    run_ensemble,
)

REGION = "Region: north, south\n\t~\t\n\t~\t\n\t|\n\n"
MODEL = (REGION
         + eq("Stock", "INTEG(Growth, Initial)", "widgets")
         + eq("Growth", "Rate * Stock * (1 - Stock / Capacity) + Push", "widgets/Month")
         + eq("Rate", "0.5", "1/Month", "range: 0.2..0.8")
         + eq("Capacity", "1000", "widgets", "range: 500..2000")
         + eq("Initial", "10", "widgets [1,100]")
         + eq("Push", "0", "widgets/Month", "range: 0..5; kind: lever")
         + eq("Share[Region]", "0.4, 0.6", "Dmnl [0,1]")
         + eq("Regional Stock[Region]", "Stock * Share[Region]", "widgets")
         + eq("Log Stock", "LN(Stock)", "Dmnl"))
CTL = {"final_time": 20, "time_step": 0.125, "saveper": 1}


@pytest.fixture
def model(write_mdl):
    return simulator.load(write_mdl(MODEL, **CTL))


@pytest.fixture
def spec():
    return UncertaintySpec((Uncertainty("Rate", Uniform(0.2, 0.8)), Uncertainty("Capacity", Uniform(500, 2000)),
                            Uncertainty("Share[south]", Uniform(0.5, 0.7))))


OUTS = ("Stock", "Regional Stock", "Log Stock")


def test_ensemble_equals_members_run_one_by_one(model, spec):
    samples = spec.sample(6, seed=0)
    ens = run_ensemble(model, samples, options=EnsembleOptions(outputs=OUTS))
    for i in range(6):
        solo = model.run({k: float(samples.loc[i, k]) for k in samples.columns}, method="euler",
                         outputs=list(OUTS))
        np.testing.assert_allclose(ens.series("Stock")[i], solo["Stock"][:, 0], rtol=1e-13)
        np.testing.assert_allclose(ens.dataset["Regional Stock"].values[i], solo["Regional Stock"][..., 0],
                                   rtol=1e-13)
    # the sampled cell moved, the other cell kept its model value
    south = ens.dataset["Regional Stock"].sel(Region="south").values / ens.series("Stock")
    north = ens.dataset["Regional Stock"].sel(Region="north").values / ens.series("Stock")
    np.testing.assert_allclose(south, samples["Share[south]"].to_numpy()[:, None] * np.ones_like(south))
    np.testing.assert_allclose(north, 0.4)


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_chunked_equals_unchunked_exactly(model, spec, method):
    samples = spec.sample(203, seed=5)
    whole = run_ensemble(model, samples, options=EnsembleOptions(outputs=OUTS, method=method, chunk_size=1000))
    parts = run_ensemble(model, samples, options=EnsembleOptions(outputs=OUTS, method=method, chunk_size=17))
    assert parts.metadata["chunks"] == 12 and whole.metadata["chunks"] == 1
    for name in ("Stock", "Regional Stock", "Log Stock"):
        assert np.array_equal(whole.dataset[name].values, parts.dataset[name].values), name


def test_chunked_sobol_gives_the_same_indices_as_unchunked(model, spec):
    """A study streams its members through chunks; the Sobol table cannot tell (fixed seed, euler)."""
    def table(chunk_size):
        study = Study(model, spec, kpis=("Stock", "Regional Stock[south]"), years=(5, 20),
                      options=EnsembleOptions(chunk_size=chunk_size))
        return study.sobol(32, seed=3)

    whole, parts = table(10_000), table(7)     # 32 (3 + 2) = 160 runs: 1 chunk against 23
    pd.testing.assert_frame_equal(whole, parts)
    assert set(whole["parameter"]) == set(spec.names) and whole["ST"].notna().all()


def test_chunked_equals_unchunked_on_the_flagship():
    m = simulator.load(ROOT / "models" / "zhejiang_innovation_openness.mdl")
    spec = UncertaintySpec((Uncertainty("Trade Elasticity", Uniform(2, 6)),
                            Uncertainty("Knowledge Depreciation Rate", Uniform(0.12, 0.3)),
                            Uncertainty("Base Birth Rate", Uniform(0.22, 0.3))))
    samples = spec.sample(60, seed=1)
    outs = ("High Tech Exports", "RD Expenditure", "Industrial Clusters", "Export Competitiveness")
    opts = EnsembleOptions(outputs=outs, times=(2024, 2035, 2050))
    a = run_ensemble(m, samples, options=opts)
    b = run_ensemble(m, samples, options=EnsembleOptions(outputs=outs, times=(2024, 2035, 2050), chunk_size=25))
    assert a.dataset["High Tech Exports"].shape == (60, 3)
    for name in a.dataset.data_vars:
        assert np.array_equal(a.dataset[name].values, b.dataset[name].values), name
    assert np.ptp(a.values("High Tech Exports", 2035)) > 0


def test_dask_local_cluster_with_two_workers_equals_single_process(model, spec):
    samples = spec.sample(240, seed=11)
    opts = EnsembleOptions(outputs=OUTS, chunk_size=50)
    single = run_ensemble(model, samples, options=opts)
    distributed = run_ensemble(model, samples, options=opts, compute=Compute(workers=2))
    assert distributed.metadata["compute"] == "dask LocalCluster, 2 processes"
    for name in single.dataset.data_vars:
        assert np.array_equal(single.dataset[name].values, distributed.dataset[name].values), name
    assert distributed.samples.equals(single.samples)


def test_one_executor_serves_several_ensembles_and_reports_worker_errors(model, spec):
    samples = spec.sample(40, seed=2)
    with executor(Compute(workers=2, processes=False)) as ex:
        a = run_ensemble(model, samples, options=EnsembleOptions(outputs=("Stock",), chunk_size=9), compute=ex)
        b = run_ensemble(model, samples, options=EnsembleOptions(outputs=("Stock",), chunk_size=40), compute=ex)
        assert np.array_equal(a.dataset["Stock"].values, b.dataset["Stock"].values)
        bad = pd.DataFrame({"Initial": np.r_[np.ones(23), -np.ones(17)]})  # a negative stock explodes
        with pytest.raises(simulator.NonFiniteError, match=r"non-finite .* \[ensemble member 23\]") as info:
            run_ensemble(model, bad, options=EnsembleOptions(outputs=("Log Stock",), chunk_size=10), compute=ex)
        assert info.value.member == 23


def test_monte_carlo_bands_reproducible_with_seed(model, spec):
    study = Study(model, spec, kpis=("Stock", "Regional Stock[north]"), years=(10, 20))
    a, b, c = study.monte_carlo(300, seed=3), study.monte_carlo(300, seed=3), study.monte_carlo(300, seed=4)
    pd.testing.assert_frame_equal(a.bands, b.bands)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert not np.allclose(a.bands["p50"], c.bands["p50"])
    stock = a.bands[a.bands["variable"] == "Stock"].set_index("time")
    assert set(a.bands["variable"]) == {"Stock", "Regional Stock[north]", "Regional Stock[south]"}
    assert len(stock) == 21
    assert (stock["p5"] <= stock["p25"]).all() and (stock["p75"] <= stock["p95"]).all()
    # the band is what numpy says it is over the members
    np.testing.assert_allclose(stock.loc[20.0, "p95"], np.percentile(a.ensemble.series("Stock")[:, 20], 95))
    assert list(a.summary["output"]) == ["Stock (10)", "Stock (20)", "Regional Stock[north] (10)",
                                         "Regional Stock[north] (20)"]


def test_dataset_layout_tidy_frame_and_kept_times(model, spec):
    samples = spec.sample(5, seed=0)
    ens = run_ensemble(model, samples, options=EnsembleOptions(outputs=("Stock", "Regional Stock"), times=(5, 20)))
    ds = ens.to_xarray()
    assert ds["Stock"].dims == ("member", "time")
    assert ds["Regional Stock"].dims == ("member", "time", "Region")
    assert ds["time"].values.tolist() == [5.0, 20.0]
    assert ds["Stock"].attrs["units"] == "widgets"
    df = ens.to_frame()
    assert list(df.columns) == ["member", "time", "variable", "value"]
    assert len(df) == 5 * 2 * 3
    assert set(df["variable"]) == {"Stock", "Regional Stock[north]", "Regional Stock[south]"}
    assert ens.values("Regional Stock[SOUTH]", 20).shape == (5,)
    with pytest.raises(SensitivityError, match="time 7 was not kept"):
        ens.values("Stock", 7)
    with pytest.raises(SensitivityError, match="subscripted by"):
        ens.values("Regional Stock", 20)


def test_errors_before_running(model, spec):
    samples = spec.sample(3, seed=0)
    with pytest.raises(SensitivityError, match=r"time\(s\) 2\.5 are not save times"):
        run_ensemble(model, samples, options=EnsembleOptions(outputs=("Stock",), times=(2.5,)))
    with pytest.raises(SensitivityError, match="no output named 'Stok'. Did you mean 'Stock'"):
        run_ensemble(model, samples, options=EnsembleOptions(outputs=("Stok",)))
    with pytest.raises(SensitivityError, match="either workers or scheduler"):
        Compute(workers=2, scheduler="tcp://localhost:1")


def test_shared_params_time_series_broadcast_over_members(model, spec):
    samples = spec.sample(8, seed=0)
    push = pd.Series([0.0, 0.0, 5.0, 5.0], index=[0, 9.99, 10, 20])
    base = run_ensemble(model, samples, options=EnsembleOptions(outputs=("Stock",)))
    pushed = run_ensemble(model, samples, params={"Push": push}, options=EnsembleOptions(outputs=("Stock",)))
    s0, s1 = base.series("Stock"), pushed.series("Stock")
    np.testing.assert_array_equal(s0[:, :11], s1[:, :11])  # nothing changes before the push starts
    assert np.all(s1[:, -1] > s0[:, -1])
    assert pushed.metadata["shared_params"] == ["Push"]


def test_adaptive_method_runs_chunked(model, spec):
    samples = spec.sample(30, seed=0)
    a = run_ensemble(model, samples, options=EnsembleOptions(outputs=("Stock",), method="RK45", chunk_size=30))
    b = run_ensemble(model, samples, options=EnsembleOptions(outputs=("Stock",), method="RK45", chunk_size=8))
    # adaptive steps depend on the chunk's members: equal within solver tolerance, not bit for bit
    np.testing.assert_allclose(a.series("Stock"), b.series("Stock"), rtol=1e-4)


WORKER_THREADS_SCRIPT = r"""
import os, sys, numba, numpy as np
import simulator
from sensitivity import Compute, executor

@numba.njit(parallel=True)
def total(x):
    s = 0.0
    for i in numba.prange(x.size):
        s += x[i]
    return s

def chunk_threads(model, job, shared, chunk):
    total(np.ones(8))
    return numba.get_num_threads()


def worker_environment():
    return os.environ.get("NUMBA_NUM_THREADS")


def main():
    total(np.ones(8))  # this process's numba thread pool starts here, at its default size
    before = os.environ.get("NUMBA_NUM_THREADS")
    with executor(Compute(workers=1)) as ex:
        worker = ex.client.run(worker_environment)
        model = simulator.load(sys.argv[1])
        ran = dict(ex.map_chunks(chunk_threads, model, None, None, [0]))
    assert os.environ.get("NUMBA_NUM_THREADS") == before, os.environ.get("NUMBA_NUM_THREADS")
    numba.njit(lambda y: y + 1.0)(1.0)  # compiling after the cluster reloads numba's configuration
    print(list(worker.values())[0], ran[0])


if __name__ == "__main__":  # the worker processes are spawned and import this file
    main()
"""


@pytest.mark.slow
def test_worker_processes_get_one_numba_thread_without_touching_this_process(tmp_path, write_mdl):
    """Dask's nanny writes its pre-spawn variables into the parent's os.environ; a NUMBA_NUM_THREADS
    there made every later numba compile in the parent fail once its thread pool had started."""
    pytest.importorskip("distributed")
    pytest.importorskip("numba")
    import subprocess
    import sys

    script = tmp_path / "worker_threads.py"
    script.write_text(WORKER_THREADS_SCRIPT, encoding="utf-8")
    env = {k: v for k, v in __import__("os").environ.items() if k != "NUMBA_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, str(script), str(write_mdl(MODEL, **CTL))], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "1 1"
