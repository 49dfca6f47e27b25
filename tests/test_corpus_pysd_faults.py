"""pysd faults found by the corpus (docs/corpus.md), each on a small model: the engine's numbers
against a hand-written Euler computation, and a strict xfail that runs pysd and expects them.

World3-03 (tests/corpus/simlin/WRLD3-03) meets two: SMOOTHI with an integer initial value
(tests/test_differential_pysd_faults.py) and the one here, a SMOOTH whose input is an ACTIVE
INITIAL (Perceived Food Ratio of food ratio): pysd runs the smooth one step late.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

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


# ---------------------------------------------------------------------------- the obstacles that the
# corpus references work around (scripts/corpus_pysd.py, docs/corpus.md): each shown on a small model
def _write(tmp_path, equations, **control):
    path = tmp_path / "m.mdl"
    path.write_text(mdl_text(equations, **control), encoding="utf-8")
    return path


def _engine(path):
    return simulator.load(path).run(method="euler", options=simulator.RunOptions(backend="numpy")).to_frame()


def _pysd(path, workarounds=()):
    pytest.importorskip("pysd")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from corpus_pysd import applied

    with applied(list(workarounds)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_pysd(path)


# scientific revolution 7 and 8: every stock over one range, and LN of one of them
SAME_SHAPE = ("A: a1, a2\n\t~\t\n\t~\t\n\t|\n\n" + eq("s[A]", "INTEG(1, 1)") + eq("u[A]", "INTEG(s[A], 2)")
              + eq("l[A]", "LN(s[A])"))


def _same_shape_euler(n):
    s, u, out = 1.0, 2.0, [0.0]
    for _ in range(n):
        s, u = s + 0.5, u + 0.5 * s
        out.append(np.log(s))
    return np.array(out), u


def test_engine_takes_ln_of_stocks_over_one_range(tmp_path):
    got = _engine(_write(tmp_path, SAME_SHAPE, final_time=2, time_step=0.5, saveper=0.5))
    logs, u = _same_shape_euler(4)
    np.testing.assert_allclose(got["l[a2]"].to_numpy(dtype=float), logs, rtol=1e-15)
    assert got["u[a1]"].iloc[-1] == pytest.approx(u, rel=1e-15)


def test_pysd_with_the_states_workaround_takes_ln_of_stocks(tmp_path):
    got = _pysd(_write(tmp_path, SAME_SHAPE, final_time=2, time_step=0.5, saveper=0.5), ["states"])
    logs, u = _same_shape_euler(4)
    np.testing.assert_allclose(got["l[a2]"].to_numpy(dtype=float), logs, rtol=1e-12)
    assert float(got["u[a1]"].iloc[-1]) == pytest.approx(u, rel=1e-12)


@pytest.mark.xfail(strict=True, raises=TypeError, reason=(
    "pysd stacks states of one shape with np.array([...], dtype=object) into a 2-D object array "
    "and hands each stock back an object-dtype array: LN fails with 'loop of ufunc does not support "
    "argument 0 of type float which has no callable log method' (scientific revolution 7 and 8)"))
def test_pysd_takes_ln_of_stocks_over_one_range(tmp_path):
    _pysd(_write(tmp_path, SAME_SHAPE, final_time=2, time_step=0.5, saveper=0.5))


# thyroid dynamics: DELAY MATERIAL with a constant delay time, which Vensim defines as DELAY FIXED
MATERIAL = eq("inflow", "STEP(4, 1)") + eq("out", "DELAY MATERIAL(inflow, 1.5, 0.5, 0)")


def _material_expected(t):
    return np.where(t < 1.5, 0.5, np.where(t >= 2.5, 4.0, 0.0))


def test_engine_delay_material_is_delay_fixed(tmp_path):
    got = _engine(_write(tmp_path, MATERIAL, final_time=4, time_step=0.5, saveper=0.5))
    t = got.index.to_numpy(dtype=float)
    np.testing.assert_allclose(got["out"].to_numpy(dtype=float), _material_expected(t), atol=1e-15)


def test_pysd_with_the_delay_material_workaround(tmp_path):
    got = _pysd(_write(tmp_path, MATERIAL, final_time=4, time_step=0.5, saveper=0.5), ["delay-material"])
    t = got.index.to_numpy(dtype=float)
    np.testing.assert_allclose(got["out"].to_numpy(dtype=float), _material_expected(t), atol=1e-12)


@pytest.mark.xfail(strict=True, raises=NotImplementedError, reason=(
    "pysd 3.14 does not implement DELAY MATERIAL ('Not implemented function delay_material'); "
    "the thyroid reference is made with it read as DELAY FIXED (scripts/corpus_pysd.py)"))
def test_pysd_runs_delay_material(tmp_path):
    _pysd(_write(tmp_path, MATERIAL, final_time=4, time_step=0.5, saveper=0.5))


# pink noise, bathtub statistics, critical slowing, early warnings, thyroid: TIME STEP$ in a macro
MACRO = (":MACRO: STEPPER(x)\nSTEPPER = INTEG(x * TIME STEP$, 0)\n\t~\t\n\t~\t\n\t|\n\n:END OF MACRO:\n"
         + eq("y", "STEPPER(2)"))


def test_engine_reads_time_step_dollar_in_a_macro(tmp_path):
    got = _engine(_write(tmp_path, MACRO, final_time=2, time_step=0.5, saveper=0.5))
    np.testing.assert_allclose(got["y"].to_numpy(dtype=float), 2 * 0.5 * np.arange(5) * 0.5, rtol=1e-15)


@pytest.mark.xfail(strict=True, raises=KeyError, reason=(
    "pysd's own macro translation does not know TIME STEP$ (Vensim's name, inside a macro, for the "
    "calling model's TIME STEP): KeyError 'time_step$'. The corpus hands pysd the text with the "
    "macros expanded (simulator.parsing.macros), which is why the references exist"))
def test_pysd_reads_time_step_dollar_in_a_macro(tmp_path):
    pysd = pytest.importorskip("pysd")
    path = _write(tmp_path, MACRO, final_time=2, time_step=0.5, saveper=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = pysd.read_vensim(str(path)).run()  # our own test text: nothing from outside is evaluated
    np.testing.assert_allclose(got["y"].to_numpy(dtype=float), 2 * 0.5 * np.arange(5) * 0.5, rtol=1e-12)


# DICE (Vensim-exported XMILE): GAME(x) in an XMILE file
GAME_XMILE = Path(__file__).resolve().parent / "sdxorg" / "tests" / "game" / "test_game.xmile"


def _game_xmile(tmp_path):
    text = GAME_XMILE.read_text(encoding="utf-8")
    assert "<eqn>(Stock+Constant)</eqn>" in text
    path = tmp_path / "game.xmile"
    path.write_text(text.replace("<eqn>(Stock+Constant)</eqn>", "<eqn>GAME(Stock+Constant)</eqn>"), encoding="utf-8")
    return path


def test_pysd_with_the_xmile_game_workaround_reads_game_as_its_input(tmp_path):
    got = _pysd(_game_xmile(tmp_path), ["xmile-game"])
    engine = simulator.load(_game_xmile(tmp_path)).run(method="euler").to_frame()
    stock = got["Stock"].to_numpy(dtype=float)
    np.testing.assert_allclose(got["Gamed Equation"].to_numpy(dtype=float), stock + 3, rtol=1e-15)
    np.testing.assert_allclose(engine["Gamed Equation"].to_numpy(dtype=float), stock + 3, rtol=1e-15)


@pytest.mark.xfail(strict=True, raises=NotImplementedError, reason=(
    "pysd's XMILE translator has no GAME (its Vensim translator reads GAME(x) as x): 'Not implemented "
    "function game'; the DICE reference is made with the Vensim translator's reading (scripts/corpus_pysd.py)"))
def test_pysd_reads_game_in_xmile(tmp_path):
    _pysd(_game_xmile(tmp_path))
