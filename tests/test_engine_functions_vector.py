"""VECTOR LOOKUP: the elements of a vector (from the element named to the end of its last
dimension) read as a lookup whose x values are spread evenly from xmin to xmax. Each mode must
equal the same table written as a Vensim lookup read by the matching lookup function."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import eq, mdl_text

import simulator

SUBS = "i: (i1-i5)\n\t~\t\n\t~\t\n\t|\n\n"
TABLE = "tab((0,2),(0.25,1),(0.5,3),(0.75,5),(1,4))"
MODES = {0: "tab(x)", 2: "LOOKUP BACKWARD(tab, x)", 3: "LOOKUP EXTRAPOLATE(tab, x)", 4: "LOOKUP FORWARD(tab, x)"}


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    eqs = SUBS + eq("y[i]", "2,1,3,5,4") + eq("x", "Time / 40 - 0.2") + f"{TABLE}\n\t~\t\n\t~\t\n\t|\n\n"
    for mode, via_table in MODES.items():
        eqs += eq(f"v{mode}", f"VECTOR LOOKUP(y[i1], x, 0, 1, {mode})") + eq(f"t{mode}", via_table)
    eqs += eq("tail", "VECTOR LOOKUP(y[i3], x, 0, 1, 0)") + eq("shifted", "VECTOR LOOKUP(y[i1], x * 2 + 3, 3, 5, 0)")
    path = tmp_path_factory.mktemp("vector") / "m.mdl"
    path.write_text(mdl_text(eqs, final_time=56, time_step=1, saveper=1), encoding="utf-8")
    return simulator.load(path).run(method="euler", options=simulator.RunOptions(backend="numpy")).to_frame()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_vector_lookup_equals_the_lookup_of_the_same_table(frame, mode):
    np.testing.assert_allclose(frame[f"v{mode}"], frame[f"t{mode}"], rtol=0, atol=1e-12)
    assert frame["x"].min() < 0 and frame["x"].max() > 1  # both ends are passed


def test_vector_lookup_from_a_later_element_and_other_bounds(frame):
    x = frame["x"].to_numpy()
    np.testing.assert_allclose(frame["tail"], np.interp(x, [0, 0.5, 1], [3, 5, 4]), atol=1e-12)
    np.testing.assert_allclose(frame["shifted"], frame["t0"], atol=1e-12)


@pytest.mark.parametrize("mode, what", [(1, "mode 1"), (5, "mode 5"), ("Time", "not fixed at load")])
def test_vector_lookup_modes_left_out_name_themselves(load_mdl, mode, what):
    with pytest.raises(simulator.UnsupportedFeatureError, match=f"line \\d+, variable 'v'.*VECTOR LOOKUP.*{what}"):
        load_mdl(SUBS + eq("y[i]", "2,1,3,5,4") + eq("v", f"VECTOR LOOKUP(y[i1], 0.5, 0, 1, {mode})"))


def test_vector_elm_map(load_mdl):
    eqs = (SUBS + eq("y[i]", "10, 20, 30, 40, 50") + eq("a", "VECTOR ELM MAP(y[i2], 2)")
           + eq("b[i]", "VECTOR ELM MAP(y[i1], i - 1)") + eq("c[i]", "VECTOR ELM MAP(y[i], 1)")
           + eq("d", "VECTOR ELM MAP(y[i4], -3.5)") + eq("k", "1 + STEP(1, 2)") + eq("e", "VECTOR ELM MAP(y[i1], k)"))
    r = load_mdl(eqs, final_time=3, time_step=1, saveper=1).run(method="euler", options=simulator.RunOptions(backend="numpy"))
    assert (r["a"][:, 0] == 40).all()
    np.testing.assert_array_equal(r["b"][0, :, 0], [10, 20, 30, 40, 50])
    np.testing.assert_array_equal(r["c"][0, :4, 0], [20, 30, 40, 50])
    assert np.isnan(r["c"][0, 4, 0])  # past the end: :NA:
    assert (r["d"][:, 0] == 10).all()  # INTEGER(-3.5) = -3
    np.testing.assert_array_equal(r["e"][:, 0], [20, 20, 30, 30])  # the offset may change in the run
