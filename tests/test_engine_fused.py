"""The fused (numba) Euler/RK4 backend gives the numpy path's numbers, or falls back to it.

Bitwise where the two paths use the same floating-point operations (the benchmark model); within
1e-12 where numpy's vectorised pow/exp (SIMD, last-bit differences) meet libm's in the kernel
(the Zhejiang model). Kernels compile once per machine (numba's disk cache): the first run of
this file on a fresh machine spends ~1 minute compiling.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator import ParameterError, RunOptions
from simulator.kernel_cache import KernelCache

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "models" / "benchmark_model.mdl"
FLAGSHIP = ROOT / "models" / "zhejiang_innovation_openness.mdl"
NUMPY = RunOptions(backend="numpy")
NUMBA = RunOptions(backend="numba")


@pytest.fixture(scope="module")
def bench():
    return simulator.load(BENCH)


@pytest.fixture(scope="module")
def flagship():
    return simulator.load(FLAGSHIP)


def max_rel(a, b) -> float:
    """Largest difference over every output relative to its column's scale (the largest absolute
    value of that cell and member over time; 0 when bitwise equal). Point by point, a value that
    passes near zero would turn the last-bit differences of libm's and numpy's pow into noise."""
    worst = 0.0
    assert a.data.keys() == b.data.keys()
    for k in a.data:
        x, y = a.data[k], b.data[k]
        assert x.shape == y.shape, k
        assert np.array_equal(np.isnan(x), np.isnan(y)), k
        ok = ~np.isnan(x)
        if ok.any():
            scale = np.maximum(np.nanmax(np.abs(x), axis=0, keepdims=True), 1e-300)
            worst = max(worst, float(np.max((np.abs(x - y) / scale)[ok])))
    return worst


def both(model, params=None, **kw):
    a = model.run(params, options=NUMPY, **{"method": "euler", **kw})
    b = model.run(params, options=NUMBA, **{"method": "euler", **kw})
    assert a.metadata["backend"] == "numpy"
    assert b.metadata["backend"] == "numba", b.metadata["backend"]
    np.testing.assert_array_equal(a.times, b.times)
    assert a.metadata["solver"] == b.metadata["solver"]
    return a, b


def members(model, names, n, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name in names:
        base = float(np.ravel(model.program.defaults[model.variable(name).idx])[0])
        out[name] = base * rng.uniform(0.9, 1.1, n)
    return out


# ------------------------------------------------------------------ same numbers
def test_benchmark_model_single_run_is_bitwise(bench):
    a, b = both(bench)
    assert max_rel(a, b) == 0.0
    assert b.metadata["fused"]["compile_seconds"]


def test_benchmark_model_ensemble_is_bitwise(bench):
    params = members(bench, ["Contact Rate", "Adoption Fraction", "Product Life", "Salary", "Learning Rate",
                             "Price Sensitivity", "Hiring Delay", "Budget Delay"], 50)
    a, b = both(bench, params)
    assert b.n_members == 50
    assert max_rel(a, b) == 0.0


def test_benchmark_model_time_series_and_lookup_overrides_are_bitwise(bench):
    t = np.linspace(0, 40, 9)
    params = {
        "Order Shock": pd.Series(np.linspace(0.0, 3.0, 9), index=t),                    # one series
        "Salary": pd.DataFrame(np.outer(np.linspace(1, 2, 9), [1.0, 1.1, 1.2]), index=t),  # per member
        "Contact Rate": np.array([90.0, 100.0, 110.0]),
        "Price Effect": ([0.0, 1.0, 2.0, 3.0], [1.5, 1.0, 0.6, 0.4]),                    # a lookup
        "Desired Inventory": pd.Series([100.0, 300.0, 200.0], index=[0.0, 20.0, 40.0]),  # an auxiliary
    }
    a, b = both(bench, params)
    assert max_rel(a, b) == 0.0


def test_benchmark_model_rk4_and_outputs_are_bitwise(bench):
    a, b = both(bench, method="rk4", outputs=["Adopters", "Price", "Revenue", "Total Market"])
    assert list(b.data) == list(a.data)
    assert max_rel(a, b) == 0.0


def test_flagship_single_run(flagship):
    a, b = both(flagship)
    assert max_rel(a, b) <= 1e-12


def test_flagship_ensemble_with_per_member_arrays(flagship):
    n = 50
    params = members(flagship, ["RD Subsidy Rate", "CIT Preference", "Knowledge Depreciation Rate",
                                "Innovation Finance Support", "Tax Price Elasticity of RD"], n)
    rng = np.random.default_rng(1)
    params["Regional Fund"] = rng.uniform(0, 5, (12, n))             # every city, every member
    params["City Export Share 2024[Yiwu]"] = rng.uniform(0.1, 0.12, n)  # one element
    a, b = both(flagship, params)
    assert max_rel(a, b) <= 1e-12


def test_flagship_time_series_overrides(flagship):
    years = np.arange(2008.0, 2051.0)
    n = 4
    params = {
        "RD Subsidy Rate": pd.Series(np.where(years < 2025, 0.05, 0.15), index=years),
        "Regional Fund[Hangzhou]": pd.Series(np.linspace(0, 20, years.size), index=years),
        "Brand Programme": pd.DataFrame(np.outer(np.linspace(5, 10, years.size), np.arange(1.0, n + 1)),
                                        index=years),
        "External Demand Index": pd.Series([1.0, 1.3, 0.9], index=[2008.0, 2024.0, 2050.0]),  # an auxiliary
        "CIT Preference": np.linspace(0.08, 0.12, n),
    }
    a, b = both(flagship, params)
    assert b.n_members == n
    assert max_rel(a, b) <= 1e-12


def test_ensemble_equals_members_one_by_one(bench):
    params = members(bench, ["Contact Rate", "Salary"], 20, seed=3)  # 20 members: the parallel driver
    whole = bench.run(params, method="euler", options=NUMBA, outputs=["Adopters", "Cash"])
    for k in (0, 7, 19):
        one = bench.run({n: v[k] for n, v in params.items()}, method="euler", options=NUMBA,
                        outputs=["Adopters", "Cash"])
        for name in one.data:
            np.testing.assert_array_equal(whole[name][..., k], one[name][..., 0])


# ------------------------------------------------------------------ falling back, never wrong
RANDOM_MODEL = """
Stock = INTEG(inflow, 0) ~ units ~ |
inflow = RANDOM UNIFORM(0, 1, 1) ~ units ~ |
"""

BLOWUP_MODEL = """
S = INTEG(S * S, 1) ~ units ~ |
"""


def test_unsupported_function_falls_back_with_the_reason(load_mdl):
    m = load_mdl(RANDOM_MODEL)
    got = m.run(method="euler", options=NUMBA, seed=4)
    want = m.run(method="euler", options=NUMPY, seed=4)
    assert got.metadata["backend"].startswith("numpy (fused backend: unsupported function RANDOM UNIFORM")
    np.testing.assert_array_equal(got["Stock"], want["Stock"])


def test_non_finite_values_are_reported_by_the_numpy_path(load_mdl):
    m = load_mdl(BLOWUP_MODEL)
    with pytest.raises(simulator.NonFiniteError) as numba_err:
        m.run(method="euler", options=NUMBA)
    with pytest.raises(simulator.NonFiniteError) as numpy_err:
        m.run(method="euler", options=NUMPY)
    assert str(numba_err.value) == str(numpy_err.value)
    res = m.run(method="euler", options=RunOptions(backend="numba", check_finite=False))
    ref = m.run(method="euler", options=RunOptions(backend="numpy", check_finite=False))
    assert res.metadata["backend"] == "numba"
    np.testing.assert_array_equal(res["S"], ref["S"])


def test_adaptive_methods_and_numpy_backend_ignore_numba(bench):
    assert bench.run(method="RK45", options=NUMBA).metadata["backend"] == "numpy"
    assert "fused" not in bench.run(method="euler", options=NUMPY).metadata


def test_backend_option_is_validated():
    with pytest.raises(ParameterError, match="backend"):
        RunOptions(backend="cuda")


def test_missing_numba_falls_back(load_mdl, monkeypatch):
    from simulator import fused

    monkeypatch.setattr(fused, "numba_missing", lambda: "numba is not available (test)")
    m = load_mdl(RANDOM_MODEL.replace("RANDOM UNIFORM(0, 1, 1)", "0.5"))
    res = m.run(method="euler", options=NUMBA)
    assert res.metadata["backend"] == "numpy (fused backend: numba is not available (test))"


def test_a_kernel_numba_cannot_compile_falls_back_once(load_mdl, monkeypatch):
    from simulator import fused

    calls = []

    def refuse(self, cache, parallel, args, limit):
        calls.append(parallel)
        raise fused.FusedUnsupported("numba could not compile the kernel (TypingError)")

    monkeypatch.setattr(fused.Kernel, "_driver", refuse)
    m = load_mdl("S = INTEG(k * (10 - S), 2) ~ u ~ |\nk = 0.25 ~ 1/Month ~ |\n")
    for _ in range(2):
        res = m.run(method="euler", options=NUMBA)
        assert res.metadata["backend"] == "numpy (fused backend: numba could not compile the kernel (TypingError))"
    assert len(calls) == 1
    np.testing.assert_array_equal(res["S"], m.run(method="euler", options=NUMPY)["S"])


def test_a_cache_folder_others_can_write_is_not_used(load_mdl, tmp_path, monkeypatch):

    shared = tmp_path / "shared"
    (shared / "fused").mkdir(parents=True)
    (shared / "fused").chmod(0o777)
    monkeypatch.setenv("INNOSIM_CACHE", str(shared))
    assert KernelCache.from_env().folder() is None
    m = load_mdl("S = INTEG(k * (10 - S), 3) ~ u ~ |\nk = 0.5 ~ 1/Month ~ |\n")
    res = m.run(method="euler", options=NUMBA)
    assert res.metadata["backend"] == "numba"
    assert res.metadata["fused"]["kernel"] in ("uncached", "memory")
    assert not list((shared / "fused").iterdir())


def test_engine_runs_without_numba_installed(tmp_path):
    code = ("import sys; sys.modules['numba'] = None\n"
            "import simulator\n"
            f"m = simulator.load({str(BENCH)!r})\n"
            "r = m.run(method='euler', options=simulator.RunOptions(backend='numba'))\n"
            "print(r.metadata['backend'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**os.environ, "INNOSIM_CACHE": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("numpy (fused backend: numba is not available")


# ------------------------------------------------------------------ auto, caching
def test_auto_picks_by_model_size_not_by_ensemble_size(bench, load_mdl):
    tiny = load_mdl("S = INTEG(k * (10 - S), 2) ~ u ~ |\nk = 0.3 ~ 1/Month ~ |\n")
    for n in (1, 500):
        res = tiny.run({"k": np.full(n, 0.3)}, method="euler")
        assert res.metadata["backend"].startswith("numpy (fused backend: auto leaves a run this short")
        assert bench.run({"Salary": np.full(n, 5000.0)}, method="euler").metadata["backend"] == "numba"
    assert bench.run(method="rk4").metadata["backend"] == "numba"


def kernel_files(cache, compiler: str) -> list:
    """The cached kernels of a cache folder: numba's sources or LLVM's object files."""
    return list((cache / "fused").glob("innosim_fused_*.py" if compiler == "numba" else "innosim_llvm_*.o"))


@pytest.mark.parametrize("compiler", ["llvm", "numba"])
def test_compiled_kernel_is_cached_on_disk(write_mdl, tmp_path, compiler):
    cache = tmp_path / "cache"
    path = write_mdl("S = INTEG(k * (10 - S) + 0.125, 2) ~ u ~ |\nk = 0.3 ~ 1/Month ~ |\n")
    code = ("import simulator\n"
            f"r = simulator.load({str(path)!r}).run(method='euler', "
            "options=simulator.RunOptions(backend='numba'))\n"
            "f = r.metadata['fused']\n"
            "print(r.metadata['backend'], f['kernel'], f['compile_seconds']['run_serial'], float(r['S'][-1, 0]))\n")
    runs = []
    for _ in range(2):  # two processes: the second finds the first one's kernel
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                             env={**os.environ, "INNOSIM_CACHE": str(cache), "INNOSIM_COMPILER": compiler})
        assert out.returncode == 0, out.stderr
        runs.append(out.stdout.split())
    assert [r[:2] for r in runs] == [["numba", "disk"]] * 2
    assert runs[0][3] == runs[1][3]
    kernels = kernel_files(cache, compiler)
    assert len(kernels) == 1
    if compiler == "numba":
        assert list((cache / "fused" / "__pycache__").glob(kernels[0].stem + ".member-*.nbi"))
    assert float(runs[1][2]) < float(runs[0][2])  # loading machine code beats compiling it


@pytest.mark.parametrize("compiler", ["llvm", "numba"])
def test_two_processes_compiling_the_same_model_share_one_cache(write_mdl, tmp_path, compiler):
    cache = tmp_path / "cache"
    path = write_mdl("S = INTEG(k * (12.5 - S) + 0.375, 2) ~ u ~ |\nk = 0.3 ~ 1/Month ~ |\n")
    code = ("import simulator\n"
            f"r = simulator.load({str(path)!r}).run(method='euler', "
            "options=simulator.RunOptions(backend='numba'))\n"
            "print(r.metadata['backend'], float(r['S'][-1, 0]))\n")
    env = {**os.environ, "INNOSIM_CACHE": str(cache), "INNOSIM_COMPILER": compiler}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    assert outs[0][0] == outs[1][0] and outs[0][0].split()[0] == "numba"
    assert len(kernel_files(cache, compiler)) == 1
    assert not list((cache / "fused").glob(".*.tmp"))  # no partial file left behind


@pytest.mark.parametrize("compiler", ["llvm", "numba"])
def test_cache_folder_given_as_an_argument(load_mdl, tmp_path, compiler):
    m = load_mdl("S = INTEG(k * (11.5 - S), 2) ~ u ~ |\nk = 0.3 ~ 1/Month ~ |\n")
    m2 = simulator.load(m.path, cache=KernelCache(tmp_path / "mine", compiler=compiler))
    res = m2.run(method="euler", options=NUMBA)
    assert res.metadata["fused"]["kernel"] == "disk"
    assert res.metadata["fused"]["compiler"] == compiler
    assert len(kernel_files(tmp_path / "mine", compiler)) == 1


def test_kernels_of_other_engine_versions_are_pruned(load_mdl, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "fused" / "__pycache__").mkdir(parents=True, mode=0o700)
    (cache / "fused").chmod(0o700)
    stale = cache / "fused" / "innosim_fused_0123456789abcdef01234567.py"
    stale.write_text("# innosim fused kernel; helpers sha256 0000; numba 0.0\n")
    stale_nbi = cache / "fused" / "__pycache__" / (stale.stem + ".member-8.py311.nbi")
    stale_nbi.write_text("")
    monkeypatch.setenv("INNOSIM_CACHE", str(cache))
    monkeypatch.setenv("INNOSIM_COMPILER", "numba")  # numba's kernel sources carry its version
    # a structure no other test compiles: the kernel is written now, not found in memory
    m = load_mdl("S = INTEG(k * (17.25 - S) - 0.0625 * S, 4) ~ u ~ |\nk = 0.75 ~ 1/Month ~ |\n")
    assert m.run(method="euler", options=NUMBA).metadata["fused"]["kernel"] == "disk"
    assert not stale.exists() and not stale_nbi.exists()
    assert len(list((cache / "fused").glob("innosim_fused_*.py"))) == 1


def test_kernel_source_is_deterministic_across_hash_seeds():
    code = ("import hashlib, simulator\n"
            "from simulator.printers.numba_printer import print_numba\n"
            f"for path in ({str(FLAGSHIP)!r}, {str(BENCH)!r}):\n"
            "    m = simulator.load(path)\n"
            "    src = print_numba(m.program.ir, m.program.analysis, '# k').source\n"
            "    print(hashlib.sha256(src.encode()).hexdigest())\n")
    shas = set()
    for seed in ("1", "2", "3"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        assert out.returncode == 0, out.stderr
        shas.add(out.stdout.strip())
    assert len(shas) == 1


# ------------------------------------------------------------------ generated code is engine-made
HOSTILE = """
"__import__('os').system('touch PWNED')" = INTEG("'); import os; os.system('x'); ('" - 1, 100) ~ u ~ |
"'); import os; os.system('x'); ('" = 0.1 * "__import__('os').system('touch PWNED')" ~ u ~ |
"""


def test_kernel_source_holds_no_model_text(load_mdl, tmp_path, monkeypatch):
    from simulator.printers.numba_kernel import UnsafeSource, check_source
    from simulator.printers.numba_printer import print_numba

    monkeypatch.chdir(tmp_path)
    m = load_mdl(HOSTILE)
    src = print_numba(m.program.ir, m.program.analysis, "# kernel").source
    for needle in ("PWNED", "os.", "system", "__import__", "'); "):
        assert needle not in src
    a = m.run(method="euler", options=NUMPY)
    b = m.run(method="euler", options=NUMBA)
    assert b.metadata["backend"] == "numba"
    assert max_rel(a, b) == 0.0
    assert not list(tmp_path.rglob("PWNED*"))
    for bad in ("v1 = os.system", "v1 = __import__('os')", "v1 = 'text'", "v1 = 1  # rm -rf ~"):
        with pytest.raises(UnsafeSource):
            check_source(bad)
