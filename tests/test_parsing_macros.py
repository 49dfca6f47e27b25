"""Vensim macros, expanded by the parsing layer into one set of equations per call site.

Synthetic models against analytic Euler answers, the naming of the copies, the errors (each with
file and line), and real macro models from the public metasd collection against pysd, which runs
the same expanded text.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.parsing.macros import expand_macros

MACROS = Path(__file__).parent / "models" / "macros"
FEATURES = MACROS / "macro_features.mdl"


def _frame(path, **kw):
    return simulator.load(path).run(method="euler", **kw).to_frame()


def _write(tmp_path, body: str, name="m.mdl") -> Path:
    control = "".join(f"{k} = {v}\n\t~\tMonth\n\t~\t\n\t|\n\n" for k, v in
                      (("INITIAL TIME", 0), ("FINAL TIME", 2), ("TIME STEP", 1), ("SAVEPER", 1)))
    path = tmp_path / name
    path.write_text("{UTF-8}\n" + body + control, encoding="utf-8")
    return path


def _eq(lhs, rhs):
    return f"{lhs} = {rhs}\n\t~\t\n\t~\t\n\t|\n\n"


def test_each_call_has_its_own_stock_and_matches_the_analytic_answer():
    f = _frame(FEATURES)
    n = np.arange(len(f))  # Euler steps of 0.5, saved every step
    np.testing.assert_allclose(f["fast"], 100 * (1 - 0.5 / 2) ** n, rtol=1e-12)
    np.testing.assert_allclose(f["slow"], 50 * (1 - 0.5 / 4) ** n, rtol=1e-12)
    np.testing.assert_allclose(f["regional[north]"], 10 * 0.5 ** n, rtol=1e-12)
    np.testing.assert_allclose(f["regional[south]"], 20 * 0.5 ** n, rtol=1e-12)


def test_extra_outputs_and_macros_calling_macros():
    f = _frame(FEATURES)
    t = f.index.to_numpy()
    np.testing.assert_allclose(f["y"], t + 1)
    np.testing.assert_allclose(f["twice"], 2 * t)  # named by the call: STATS(Time : twice, half)
    np.testing.assert_allclose(f["half"], t / 2)
    np.testing.assert_allclose(f["nested"], 3 * t)  # ACCUM(1) + ACCUM(2), two stocks


def test_copies_are_named_after_the_calling_variable():
    cols = set(_frame(FEATURES).columns)
    assert {'"fast.DECAY"', '"fast.DECAY.outflow"', '"slow.DECAY"', '"regional.DECAY"[north]',
            '"nested.RAMPSUM"', '"nested.RAMPSUM.ACCUM"', '"nested.RAMPSUM.ACCUM#2"'} <= cols
    assert not any(c.lower() in ("decay", "outflow", "accum", "stats") for c in cols)


def test_macro_model_equals_pysd():
    from simulator.conformance import run_pysd

    pytest.importorskip("pysd")
    ours, ref = _frame(FEATURES), run_pysd(FEATURES)
    common = [c for c in ref.columns if c in ours.columns]
    assert '"fast.DECAY"' in common and "nested" in common
    for c in common:
        np.testing.assert_allclose(ours[c].to_numpy(float), ref[c].to_numpy(float), rtol=1e-12, err_msg=c)


def test_lines_after_a_macro_are_the_files_lines(tmp_path):
    body = (":MACRO: TWICE(x)\n" + _eq("TWICE", "2 * x") + ":END OF MACRO:\n"
            + _eq("a", "TWICE(3)") + _eq("b", "NO SUCH FUNCTION(a)"))
    path = _write(tmp_path, body)
    line = path.read_text().splitlines().index("b = NO SUCH FUNCTION(a)") + 1
    with pytest.raises(simulator.ModelLoadError, match=rf"line {line}\b.*'b'"):
        simulator.load(path)


def test_an_error_inside_a_macro_names_the_macro_line(tmp_path):
    body = (":MACRO: BAD(x)\n" + _eq("BAD", "x + inner") + _eq("inner", "NO SUCH FUNCTION(x)")
            + ":END OF MACRO:\n" + _eq("a", "BAD(1)"))
    path = _write(tmp_path, body)
    line = path.read_text().splitlines().index("inner = NO SUCH FUNCTION(x)") + 1
    with pytest.raises(simulator.ModelLoadError, match=rf"line {line}\b.*a\.BAD\.inner"):
        simulator.load(path)


@pytest.mark.parametrize("body, pattern", [
    (":MACRO: SELF(x)\n" + _eq("SELF", "SELF(x) + 1") + ":END OF MACRO:\n" + _eq("a", "SELF(1)"),
     r"line 3, variable 'a.SELF': not supported: a recursive MACRO \(SELF -> SELF\)"),
    (":MACRO: PING(x)\n" + _eq("PING", "PONG(x)") + ":END OF MACRO:\n"
     ":MACRO: PONG(x)\n" + _eq("PONG", "PING(x)") + ":END OF MACRO:\n" + _eq("a", "PING(1)"),
     r"not supported: a recursive MACRO \(PING -> PONG -> PING\)"),
    (":MACRO: TWO(x, y)\n" + _eq("TWO", "x + y") + ":END OF MACRO:\n" + _eq("a", "TWO(1)"),
     r"line 9, variable 'a': macro 'TWO' takes 2 argument\(s\), the call gives 1"),
    (":MACRO: OPEN(x)\n" + _eq("OPEN", "x"), r"line 2: ':MACRO:' is never closed"),
    (":MACRO: NOOUT(x)\n" + _eq("other", "x") + ":END OF MACRO:\n" + _eq("a", "NOOUT(1)"),
     r"line 2: macro 'NOOUT' has no equation named 'NOOUT'"),
    (":MACRO: ARR(x)\n" + _eq("ARR[r]", "x") + ":END OF MACRO:\n",
     r"line 3: macro 'ARR', variable 'ARR': not supported: a subscripted equation inside a MACRO"),
    (":MACRO: M(x : o)\n" + _eq("M", "x") + ":END OF MACRO:\n",
     r"line 2: macro 'M' declares the output 'o' but has no equation for it"),
])
def test_macro_errors_name_the_file_and_line(tmp_path, body, pattern):
    path = _write(tmp_path, body)
    with pytest.raises(simulator.ModelLoadError, match=pattern) as info:
        simulator.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_expansion_keeps_every_line_and_maps_copies_back():
    text = FEATURES.read_text()
    equations = text.split("\\\\\\---///")[0]
    x = expand_macros(FEATURES, equations)
    original = equations.count("\n")
    assert x.text.count("\n") >= original and x.origin[:original] == list(range(1, original + 1))
    copy = x.text.splitlines().index('"fast.DECAY.outflow" = "fast.DECAY" / 2')
    assert text.splitlines()[x.origin[copy] - 1] == "outflow = DECAY / tau"
    assert x.instances == 7  # fast, slow, regional, y, nested and the two ACCUMs inside it


def test_a_model_without_macros_is_left_alone():
    text = "a = 1\n\t~\t\n\t~\t\n\t|\n"
    x = expand_macros(Path("m.mdl"), text)
    assert x.text is text and x.origin is None


def _pink_noise_without_random_start(tmp_path) -> Path:
    """The published model with its random initial values replaced by the mean, so that the
    macro's copy and the hand-built structure can be driven by one given white noise."""
    text = (MACROS / "pink_noise_2010.mdl").read_text(encoding="utf-8")
    for random_start in ("mean+std deviation*RANDOM NORMAL(-6,6,0,1,seed\\\n\t\t))",
                         "mean+std deviation*RANDOM NORMAL(-6,\\\n\t\t6,0,1,seed))"):
        assert text.count(random_start) == 1
        text = text.replace(random_start, "mean)")
    path = tmp_path / "pink.mdl"
    path.write_text(text, encoding="utf-8")
    return path


def _noise_params():
    t = np.arange(0, 1001.0)
    noise = pd.Series(1.3 * np.sin(0.37 * t) + np.cos(0.11 * t), index=t)
    return {"white noise": noise, '"PINK NOISE macro output.PINK NOISE.white noise"': noise}


def test_pink_noise_macro_equals_the_structure_it_packages(tmp_path):
    path = _pink_noise_without_random_start(tmp_path)
    f = _frame(path, params=_noise_params())
    assert f["PINK NOISE structure"].std() > 0.5
    np.testing.assert_allclose(f["PINK NOISE macro output"], f["PINK NOISE structure"], rtol=1e-12)


@pytest.mark.slow
def test_pink_noise_macro_model_equals_pysd(tmp_path):
    from simulator.conformance import run_pysd

    pytest.importorskip("pysd")
    path = _pink_noise_without_random_start(tmp_path)
    ours, ref = _frame(path, params=_noise_params()), run_pysd(path, _noise_params())
    common = [c for c in ref.columns if c in ours.columns]
    assert "PINK NOISE macro output" in common
    for c in common:
        np.testing.assert_allclose(ours[c].to_numpy(float), ref[c].to_numpy(float), rtol=1e-9, err_msg=c)


@pytest.mark.slow
def test_industrial_dynamics_with_a_macro_and_inline_comments_equals_pysd():
    from simulator.conformance import run_pysd

    pytest.importorskip("pysd")
    path = MACROS / "idch15d.mdl"
    ours, ref = _frame(path), run_pysd(path)
    common = [c for c in ref.columns if c in ours.columns]
    assert '"SSR.CLIP"' in common and len(common) > 100
    for c in common:
        np.testing.assert_allclose(ours[c].to_numpy(float), ref[c].to_numpy(float), rtol=1e-12, err_msg=c)


def test_the_word_macro_in_documentation_is_text(tmp_path):
    body = "a = 2\n\t~\t\n\t~\tUse the :MACRO: version, see :END OF MACRO: below.\n\t|\n\n"
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    np.testing.assert_array_equal(f["a"], 2.0)


def test_an_exponential_expansion_is_bounded(tmp_path):
    body = ":MACRO: M0(x)\n" + _eq("M0", "x") + ":END OF MACRO:\n"
    for k in range(1, 6):  # each level calls the one below ten times: 10**5 copies
        body += f":MACRO: M{k}(x)\n" + _eq(f"M{k}", " + ".join([f"M{k - 1}(x)"] * 10)) + ":END OF MACRO:\n"
    path = _write(tmp_path, body + _eq("a", "M5(1)"))
    with pytest.raises(simulator.ModelLimitError, match=r"macro calls expand to more than 20000 copies"):
        simulator.load(path)
