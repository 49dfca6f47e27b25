"""Strength reduction (simulator.ir.strength): each rewrite's exact IR, its numbers against
``np.power`` (NaN and infinity included), NaN/inf caught where they were, and the flagship model
reduced equal to the flagship unreduced, every column."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import eq

import simulator
from simulator.ir.evaluate import evaluate
from simulator.ir.nodes import Binary, Bound, Let, Num, Ref, Unary
from simulator.ir.strength import ENV_SWITCH, power, reduce_expr

X = Ref(var=0, index=())
Y = Ref(var=1, index=())
ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "models" / "zhejiang_innovation_openness.mdl"
# bases: zero of both signs, tiny, ordinary, huge, negative, NaN and +inf
BASES = [0.0, -0.0, 1e-300, 1e-5, 0.3, 1.0, 1.7, 2.5, 1e5, 1e150, -2.0, -0.5, -1e-3, np.nan, np.inf]


def _mul(a, b):
    return Binary("*", a, b)


def _square_bound():
    return _mul(Bound(), Bound())


@pytest.mark.parametrize("c, expected", [
    (1.0, X),
    (2.0, _mul(X, X)),
    (3.0, _mul(_mul(X, X), X)),
    (4.0, Let(value=_mul(X, X), body=_square_bound())),
    (5.0, _mul(Let(value=_mul(X, X), body=_square_bound()), X)),
    (-1.0, Binary("/", Num(1.0), X)),
    (-3.0, Binary("/", Num(1.0), _mul(_mul(X, X), X))),
    (0.5, Unary("sqrt", X)),
    (1.5, _mul(X, Unary("sqrt", X))),
    (2.5, _mul(_mul(X, X), Unary("sqrt", X))),
    (-0.5, Binary("/", Num(1.0), Binary("+", Unary("sqrt", X), Num(0.0)))),
    (0.25, Unary("sqrt", Unary("sqrt", X))),
    (2.25, _mul(_mul(X, X), Unary("sqrt", Unary("sqrt", X)))),
])
def test_fixed_exponent_rewrites(c, expected):
    assert power(X, Num(c)) == expected


@pytest.mark.parametrize("c", [0.0, 0.3, 0.75, -2.7, 17.0, np.nan, np.inf])
def test_other_fixed_exponents_use_powlog_or_stay(c):
    got = power(X, Num(c))
    assert got == Binary("powlog", X, Num(c))


def test_compound_base_is_computed_once():
    base = Binary("+", X, Num(1.0))
    assert power(base, Num(3.0)) == Let(value=base, body=_mul(_square_bound(), Bound()))
    assert power(base, Num(0.5)) == Let(value=base, body=Unary("sqrt", Bound()))


def test_constant_base_through_its_logarithm():
    assert power(Num(10.0), Y) == Unary("exp", _mul(Y, Num(float(np.log(10.0)))))
    # zero, negative, one and non-finite bases keep pow's answers
    for b in (0.0, -2.0, 1.0, np.inf, np.nan):
        assert power(Num(b), Y) == Binary("powlog", Num(b), Y)


def test_variable_exponent_uses_powlog():
    assert power(X, Y) == Binary("powlog", X, Y)


def test_a_base_that_reads_an_enclosing_let_is_not_rebound():
    base = Binary("+", Bound(), Num(1.0))
    # a Let around the base would change what its Bound means: the base is read once, by powlog
    assert reduce_expr(Let(value=X, body=Binary("**", base, Num(3.0)))) == \
        Let(value=X, body=Binary("powlog", base, Num(3.0)))
    # a bare Bound is a leaf: repeating it is safe
    assert reduce_expr(Let(value=X, body=Binary("**", Bound(), Num(2.0)))) == \
        Let(value=X, body=_mul(Bound(), Bound()))


def test_rewrites_reach_nested_expressions():
    e = Binary("+", Num(1.0), Binary("**", Binary("**", X, Num(2.0)), Num(0.5)))
    assert reduce_expr(e) == Binary("+", Num(1.0), Let(value=_mul(X, X), body=Unary("sqrt", Bound())))


def _value(expr, x, y=0.0):
    return evaluate(expr, lambda i: x if i == 0 else y, t0=0.0, dt=1.0)


def _same(got, want, rtol=1e-14):
    if np.isnan(want):
        return np.isnan(got)
    if np.isinf(want) or want == 0.0:
        return got == want
    return abs(got - want) <= rtol * abs(want)


# exp(y ln b) is within |y ln b| units in the last place of pow: at most ~710 before exp overflows
LOG_RTOL = 2e-13


@pytest.mark.parametrize("c", [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 16.0, -1.0, -2.0, -3.0, 0.5, 1.5, 2.5, -0.5, -1.5,
                               0.25, 3.25, -0.25])
def test_fixed_exponent_numbers_equal_pow(c):
    form = power(X, Num(c))
    for x in BASES:
        with np.errstate(all="ignore"):
            want = float(np.power(x, c))
        got = _value(form, x)
        assert _same(got, want), f"{x!r} ** {c!r}: {got!r}, pow gives {want!r}"


@pytest.mark.parametrize("b", [0.001, 0.5, 2.0, 10.0, 1e10])
def test_constant_base_numbers_equal_pow(b):
    form = power(Num(b), Y)
    for y in [-30.0, -2.5, -1.0, 0.0, 0.3, 1.0, 7.5, 30.0, np.nan, np.inf, -np.inf]:
        with np.errstate(all="ignore"):
            want = float(np.power(b, y))
        got = _value(form, 0.0, y)
        assert _same(got, want, LOG_RTOL), f"{b!r} ** {y!r}: {got!r}, pow gives {want!r}"


def test_numba_powlog_equals_pow():
    pytest.importorskip("numba")
    from simulator.printers import numba_rt as rtf

    exps = [-3.7, -1.0, -0.5, 0.0, 0.3, 1.0, 2.0, 2.5, 11.3, np.nan, np.inf, -np.inf]
    for x in BASES + [-np.inf]:
        for y in exps:
            with np.errstate(all="ignore"):
                want = float(np.power(x, y))
            got = rtf.powlog(x, y)
            assert _same(got, want, LOG_RTOL), f"powlog({x!r}, {y!r}) = {got!r}, pow {want!r}"


# ------------------------------------------------------------------ models
POWER_CASES = ["(Time - 5) ^ 0.5", "(Time - 5) ^ 1.5", "(Time - 5) ^ (-1)", "(Time - 5) ^ (-2)",
               "(Time - 5) ^ e", "(5 - Time) ^ 0.25"]


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
@pytest.mark.parametrize("expr", POWER_CASES)
def test_non_finite_is_caught_as_before(write_mdl, expr, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    path = write_mdl(eq("S", "INTEG(flow, 1)") + eq("flow", expr) + eq("e", "0.7"), time_step=0.5)
    errors = []
    for reduced in (True, False):
        m = simulator.load(path, strength_reduction=reduced)
        with pytest.raises(simulator.NonFiniteError) as info:
            m.run(method="euler", options=simulator.RunOptions(backend=backend))
        errors.append((info.value.variable, info.value.time, info.value.member))
    assert errors[0] == errors[1] and errors[0][0] == "flow"


def test_switch_turns_the_pass_off(write_mdl, monkeypatch):
    path = write_mdl(eq("S", "INTEG(S ^ 3 * k, 1)") + eq("k", "-0.01"))
    assert "**" not in simulator.load(path).program.source_text
    assert "**" in simulator.load(path, strength_reduction=False).program.source_text
    monkeypatch.setenv(ENV_SWITCH, "0")
    assert "**" in simulator.load(path).program.source_text


def _flagship_difference(backend: str, runs: int) -> float:
    sys.path.insert(0, str(Path(__file__).parent))
    from difftools import flagship_scenarios

    on = simulator.load(FLAGSHIP, strength_reduction=True)
    off = simulator.load(FLAGSHIP, strength_reduction=False)
    opts = simulator.RunOptions(backend=backend)
    worst = 0.0
    for sid, params in [("baseline", None)] + flagship_scenarios(on)[:runs]:
        a = on.run(params, method="euler", options=opts)
        b = off.run(params, method="euler", options=opts)
        assert str(a.metadata["backend"]).startswith(backend), a.metadata["backend"]
        fa, fb = a.to_frame(), b.to_frame()
        assert list(fa.columns) == list(fb.columns)
        va, vb = fa.to_numpy(dtype=float), fb.to_numpy(dtype=float)
        assert np.array_equal(np.isnan(va), np.isnan(vb)), sid
        scale = np.nanmax(np.abs(vb), axis=0)
        scale[~(scale > 0)] = 1.0
        diff = float(np.nanmax(np.abs(va - vb) / scale))
        assert diff <= 1e-12, f"{sid}: reduced and unreduced differ by {diff:.3g} of a column's scale"
        worst = max(worst, diff)
    return worst


@pytest.mark.skipif(not FLAGSHIP.is_file(), reason=f"{FLAGSHIP} is absent")
def test_flagship_reduced_equals_unreduced_numpy():
    pytest.importorskip("policies")
    _flagship_difference("numpy", runs=0)


@pytest.mark.slow
@pytest.mark.skipif(not FLAGSHIP.is_file(), reason=f"{FLAGSHIP} is absent")
def test_flagship_reduced_equals_unreduced_numpy_scenarios():
    pytest.importorskip("policies")
    _flagship_difference("numpy", runs=6)


@pytest.mark.slow
@pytest.mark.skipif(not FLAGSHIP.is_file(), reason=f"{FLAGSHIP} is absent")
def test_flagship_reduced_equals_unreduced_numba():
    pytest.importorskip("numba")
    pytest.importorskip("policies")
    _flagship_difference("numba", runs=3)


def _power_cases():
    from difftools import sdxorg_cases

    out = []
    for case in sdxorg_cases():
        text = case[2].read_text(encoding="utf-8", errors="replace").lower()
        if "^" in text or "power" in text:
            out.append(pytest.param(case, id=case[0]))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", _power_cases())
def test_sdxorg_reduced_equals_unreduced(case):
    """Every vendored SDXorg case with a power: reduced and unreduced runs agree to 1e-12 of each
    column's scale (Euler, the numpy printer), NaN where NaN."""
    models, results = [], []
    for reduced in (True, False):
        try:
            models.append(simulator.load(case[2], strength_reduction=reduced))
        except simulator.SimulatorError as exc:
            results.append(type(exc).__name__)
    if results:
        assert results == [results[0]] * 2, f"reduced, unreduced: {results!r}"
        pytest.skip(f"the engine refuses this case ({results[0]}), reduced or not")
    if models[0].program.source_text == models[1].program.source_text:
        pytest.skip("no power to reduce")
    for m in models:
        try:
            results.append(m.run(method="euler", options=simulator.RunOptions(backend="numpy")).to_frame())
        except simulator.SimulatorError as exc:
            results.append(type(exc).__name__)
    if isinstance(results[0], str) or isinstance(results[1], str):
        assert results[0] == results[1], f"reduced: {results[0]!r}, unreduced: {results[1]!r}"
        pytest.skip(f"the run fails alike reduced or not ({results[0]})")
    a, b = (r.to_numpy(dtype=float) for r in results)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    scale = np.nanmax(np.abs(b), axis=0, initial=0.0)
    scale[~(scale > 0)] = 1.0
    assert np.nanmax(np.abs(a - b) / scale, initial=0.0) <= 1e-12
