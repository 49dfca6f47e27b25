"""Parameter overrides: shapes a caller may reasonably pass."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator

SUBSCRIPTED = """
Region: north, south ~ ~ |
Fund[Region] = 1, 2 ~ money ~ |
Stock[Region] = INTEG(Fund[Region], 0) ~ money ~ |
Total = SUM(Stock[Region!]) ~ money ~ |
"""


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_plain_number_for_a_subscripted_constant_sets_every_element(load_mdl, backend):
    m = load_mdl(SUBSCRIPTED)
    opts = simulator.RunOptions(backend=backend)
    res = m.run({"Fund": 5}, method="euler", options=opts)
    ref = m.run({"Fund": np.array([5.0, 5.0])[:, None]}, method="euler", options=opts)
    np.testing.assert_array_equal(res["Stock"], ref["Stock"])
    np.testing.assert_allclose(res.final("Stock")[:, 0], [50.0, 50.0])
    assert res["Fund"].shape == (11, 2, 1)


def test_plain_number_for_the_flagship_regional_fund():
    model = simulator.load(Path(__file__).resolve().parent.parent / "models" / "zhejiang_innovation_openness.mdl")
    res = model.run({"Regional Fund": 5}, method="euler", outputs=["Regional Fund"])
    assert res["Regional Fund"].shape[1:] == (12, 1)
    assert (res["Regional Fund"] == 5.0).all()


def test_numpy_scalar_and_zero_d_array_too(load_mdl):
    m = load_mdl(SUBSCRIPTED)
    for value in (np.float64(3.0), np.array(3.0), 3):
        res = m.run({"Fund": value}, method="euler", options=simulator.RunOptions(backend="numpy"))
        assert (res["Fund"] == 3.0).all()
