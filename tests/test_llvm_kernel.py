"""Kernels compiled by LLVM from their source directly equal numba's compile of the same source,
bit for bit: the helpers one by one on awkward inputs, whole models on every path (single run,
ensemble on threads, RK4, a time series, a prepared run), and a source outside the translator's
subset falls back to numba and says so."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator import llvm_jit
from simulator.kernel_cache import KernelCache
from simulator.printers.llvm_ir import Arr, LlvmUnsupported, translate

pytest.importorskip("numba")
pytest.importorskip("llvmlite")

NUMBA = simulator.RunOptions(backend="numba")
F1, F2 = Arr("d", 1), Arr("d", 2)

PROBE = '''
def probe(xs, ys, v, b, out):
    n = xs.shape[0]
    for q in range(v.shape[0]):
        out[q, 0] = np.searchsorted(xs[0:n], v[q], side="left")
        out[q, 1] = np.searchsorted(xs[1:n], v[q], side="right")
        out[q, 2] = rtf.interp(v[q], xs, ys, 0, n)
        out[q, 3] = rtf.extrapolate(v[q], xs, ys, 0, n)
        out[q, 4] = rtf.look_forward(v[q], xs, ys, 0, n)
        out[q, 5] = rtf.hold_backward(v[q], xs, ys, 0, n)
        out[q, 6] = rtf.raw(v[q], xs, ys, 0, n)
        out[q, 7] = rtf.pymod(v[q], b[q])
        out[q, 8] = rtf.fmax(v[q], b[q])
        out[q, 9] = rtf.fmin(v[q], b[q])
        out[q, 10] = rtf.powlog(v[q], b[q])
        out[q, 11] = v[q] ** b[q]
        out[q, 12] = np.exp(b[q]) + np.log(v[q]) * np.sqrt(b[q]) - np.tanh(v[q])
        out[q, 13] = (v[q] if v[q] > b[q] or b[q] != b[q] else -b[q]) / 3.0
    return 0
'''


def _numba_probe():
    """numba's compile of the same text: the reference (numpy's own exp or pow may round differently)."""
    import numba

    from simulator.printers import numba_rt

    space = {"np": np, "rtf": numba_rt}
    exec(compile(PROBE, "<probe>", "exec"), space)  # noqa: S102 - this file's own text
    return numba.njit(error_model="numpy")(space["probe"])


def test_helpers_equal_numbas_on_awkward_inputs():
    ir = translate(PROBE, {"probe": (F1, F1, F1, F1, F2)})
    engine, addrs = llvm_jit.compile_ir(ir, ["probe"], None)
    probe = llvm_jit.Entry(addrs["probe"], [F1, F1, F1, F1, F2])
    rng = np.random.default_rng(7)
    xs = np.array([0.0, 1.0, 1.0, 2.5, 4.0, 7.0])  # a repeated point, as tables may have
    ys = np.array([3.0, -1.0, 2.0, 2.0, np.inf, 0.5])
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 2.5, 7.0, -1.0, 1e308, 5e-324]
    v = np.concatenate([special, rng.uniform(-2, 9, 200), xs])
    b = np.concatenate([special[::-1], rng.uniform(-3, 3, 200 + len(xs))])
    b[5:12] = [0.0, -0.0, np.nan, 2.0, 0.5, -1.0, 3.0]
    got = np.empty((len(v), 14))
    assert probe(xs, ys, v, b, got) == 0
    want = np.empty_like(got)
    assert _numba_probe()(xs, ys, v, b, want) == 0
    for col in range(got.shape[1]):
        assert np.array_equal(got[:, col], want[:, col], equal_nan=True), col
    numbers = ~np.isnan(want)  # a NaN's sign is whichever operand's NaN the CPU passed on
    assert np.array_equal(np.signbit(got[numbers]), np.signbit(want[numbers]))  # -0.0 stays -0.0
    del engine


def test_an_argument_of_the_wrong_layout_is_refused():
    ir = translate(PROBE, {"probe": (F1, F1, F1, F1, F2)})
    engine, addrs = llvm_jit.compile_ir(ir, ["probe"], None)
    probe = llvm_jit.Entry(addrs["probe"], [F1, F1, F1, F1, F2])
    xs = np.arange(4.0)
    with pytest.raises(LlvmUnsupported, match="C-ordered"):
        probe(xs, xs, xs, xs, np.empty((14, 4)).T)  # a transposed output would be written wrongly
    with pytest.raises(LlvmUnsupported, match="float64"):
        probe(xs.astype(np.float32), xs, xs, xs, np.empty((4, 14)))
    del engine


@pytest.mark.parametrize("src,why", [
    ("def f(a):\n    return [a]\n", "List"),
    ("def f(a):\n    import os\n    return 0\n", "Import"),
    ("def f(a):\n    return a.x\n", "a.x"),
    ("def f(a):\n    return 1 < a < 3\n", "chained"),
])
def test_constructs_outside_the_subset_are_refused(src, why):
    with pytest.raises(LlvmUnsupported, match=why):
        translate(src, {"f": ("double",)})


MODEL = """
City: A, B, C ~~|
S[City] = INTEG(inflow[City] - outflow[City], init[City]) ~ u ~|
init[City] = 1, 2, 3 ~ u ~|
inflow[City] = tab(MODULO(Time, 7)) * k[City] + ext(Time / 3) * share[City] ~ u ~|
tab([(0,0)-(10,10)],(0,1),(2,3),(5,2),(7,4)) ~ ~|
ext([(0,0)-(10,10)],(0,0.5),(1,1),(2,0.25)) ~ ~|
k[City] = 0.1, 0.2, 0.3 ~ ~|
share[City] = S[City] / SUM(S[City!]) ~ ~|
outflow[City] = IF THEN ELSE(S[City] > 2, S[City] ^ p * 0.1, MIN(S[City], 0.5) * 0.2)
    + MAX(0, SUM(S[City!]) - 10) * 0.01 ~ ~|
p = 0.7 ~ ~|
T = INTEG(g - T * 0.1 + EXP(-Time / 5) + LN(1 + T) + SQRT(T + 1) + ABS(SIN(Time)), 1) ~ ~|
g = SMOOTH(VMAX(S[City!]), 2) ~ ~|
"""


def _both(load_mdl, tmp_path, params=None, method="euler"):
    m = load_mdl(MODEL, final_time=20, time_step=0.125)
    got = {}
    for compiler in ("llvm", "numba"):
        mc = simulator.load(m.path, cache=KernelCache(tmp_path / compiler, compiler=compiler))
        res = mc.run(params, method=method, options=NUMBA)
        assert res.metadata["backend"] == "numba", res.metadata["backend"]
        assert res.metadata["fused"]["compiler"] == compiler
        got[compiler] = res
    return got["llvm"], got["numba"]


def _same(a, b):
    for name in b.data:
        assert np.array_equal(np.asarray(a[name]), np.asarray(b[name]), equal_nan=True), name


@pytest.mark.slow
def test_a_model_of_every_helper_equals_numbas_compile(load_mdl, tmp_path):
    _same(*_both(load_mdl, tmp_path))
    _same(*_both(load_mdl, tmp_path, method="rk4"))
    # an ensemble on threads, members varied, and a constant following a time series
    rng = np.random.default_rng(3)
    _same(*_both(load_mdl, tmp_path, {"p": rng.uniform(0.5, 0.9, 40)}))
    _same(*_both(load_mdl, tmp_path, {"p": ([0.0, 10.0, 20.0], [0.5, 0.9, 0.6])}))


def test_prepared_runs_use_llvms_initial_values(load_mdl, tmp_path):
    m = load_mdl(MODEL, final_time=20, time_step=0.125)
    m = simulator.load(m.path, cache=KernelCache(tmp_path / "c"))
    prepared = m.prepare(method="euler", options=NUMBA, names=["p"])
    assert prepared.why == ""
    fast = prepared.run_values([0.6])
    slow = m.run({"p": 0.6}, method="euler", options=NUMBA)
    for name in slow.data:
        assert np.array_equal(np.asarray(fast[name]), np.asarray(slow[name]), equal_nan=True), name


def test_a_source_outside_the_subset_falls_back_to_numba_and_says_why(load_mdl, tmp_path, monkeypatch):
    def refuse(src):
        raise LlvmUnsupported("a construct for this test")

    monkeypatch.setattr(llvm_jit, "kernel_ir", refuse)
    m = load_mdl("S = INTEG(k * (13.5 - S), 2) ~ u ~ |\nk = 0.3 ~ 1/Month ~ |\n")
    m = simulator.load(m.path, cache=KernelCache(tmp_path / "c"))
    res = m.run(method="euler", options=NUMBA)
    assert res.metadata["backend"] == "numba"
    assert res.metadata["fused"]["compiler"] == "numba (LLVM: a construct for this test)"


@pytest.mark.slow
def test_flagship_ensemble_of_perturbed_members_equals_numbas_compile(tmp_path):
    """Every column of the flagship, 20 members with every scalar constant moved by up to 5 %:
    LLVM's compile and numba's of the same kernel agree bit for bit (the ensemble driver on threads)."""
    path = Path(__file__).resolve().parent.parent / "models" / "zhejiang_innovation_openness.mdl"
    control = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}
    got = {}
    for compiler in ("llvm", "numba"):
        m = simulator.load(path, cache=KernelCache(tmp_path / compiler, compiler=compiler))
        rng = np.random.default_rng(11)
        params = {}
        for name, var in m.variables.items():
            if var.kind == "constant" and not var.dims and name.upper() not in control:
                value = float(np.ravel(m.default_value(name))[0])
                if value != 0 and np.isfinite(value):
                    params[name] = value * rng.uniform(0.95, 1.05, 20)
        res = m.run(params, method="euler", options=NUMBA)
        assert res.metadata["backend"] == "numba", res.metadata["backend"]
        assert res.metadata["fused"]["compiler"] == compiler
        got[compiler] = res
    assert len(got["numba"].data) > 300
    _same(got["llvm"], got["numba"])
