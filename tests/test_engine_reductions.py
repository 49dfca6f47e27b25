"""Reductions with the bang operator (SUM, PROD, VMIN, VMAX) against pysd, both backends.

Regression for the bug where ``x[City] / SUM(x[City!])`` summed ``x`` at the outer element three
times (share = 1/3 each) instead of over the reduced axis (1/6, 2/6, 3/6). The reduced axis and the
equation's own axis have the same range name there; the bang must select the reduced one.
"""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

import simulator
from simulator.parsing import pysd_read_vensim

pytest.importorskip("pysd")

CITY = """
City: A, B, C
\t~\t
\t~\t|

Sub: A, C
\t~\t
\t~\t|

Year: y1, y2
\t~\t
\t~\t|

x[City] = 1, 2, 3
\t~\tDmnl
\t~\t|

m[City, Year] = 1, 2; 3, 4; 5, 7;
\t~\tDmnl
\t~\t|

"""

CASES = {
    "share_same_dim": "share[City] = x[City] / SUM(x[City!])",
    "share_time": "share[City] = x[City] * Time / SUM(x[City!] * Time + 1)",
    "outer_inside_sum": "share[City] = SUM(x[City!] * x[City])",
    "prod_same_dim": "share[City] = x[City] / PROD(x[City!])",
    "vmin_vmax_same_dim": "share[City] = (x[City] - VMIN(x[City!])) / (VMAX(x[City!]) - VMIN(x[City!]))",
    "scalar_sum": "share = SUM(x[City!])",
    "subrange_sum": "share[City] = x[City] / SUM(x[Sub!])",
    "row_sum_2d": "share[City] = SUM(m[City, Year!])",
    "col_share_2d": "share[City, Year] = m[City, Year] / SUM(m[City!, Year])",
    "total_2d": "share[City, Year] = m[City, Year] / SUM(m[City!, Year!])",
    "other_dim": "share[Year] = SUM(m[City!, Year]) / SUM(x[City!])",
}


def _model(tmp_path, name, equation):
    text = "{UTF-8}\n" + CITY + equation + "\n\t~\tDmnl\n\t~\t|\n\n" + (
        "FINAL TIME = 2\n\t~\tMonth\n\t~\t|\n\nINITIAL TIME = 0\n\t~\tMonth\n\t~\t|\n\n"
        "SAVEPER = 1\n\t~\tMonth\n\t~\t|\n\nTIME STEP = 0.5\n\t~\tMonth\n\t~\t|\n\n")
    path = tmp_path / f"{name}.mdl"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_reduction_matches_pysd(tmp_path, name, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    path = _model(tmp_path, name, CASES[name])
    copy = tmp_path / "pysd" / path.name
    copy.parent.mkdir()
    shutil.copy(path, copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pysd_read_vensim(copy).run()
    got = simulator.load(path).run(method="euler", options=simulator.RunOptions(backend=backend)).to_frame()
    cols = [c for c in expected.columns if c.startswith("share")]
    assert cols
    for col in cols:
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy(dtype=float),
                                   rtol=1e-12, atol=1e-12, err_msg=col)


def test_share_is_proportional(tmp_path):
    """The case from the bug report, checked by hand (no pysd needed)."""
    path = _model(tmp_path, "share", CASES["share_same_dim"])
    res = simulator.load(path).run(method="euler")
    np.testing.assert_allclose(res["share"][0, :, 0], [1 / 6, 2 / 6, 3 / 6], rtol=0, atol=1e-15)
