"""The flagship's documented feedback loops are all found in its structure, with their polarity.

The list is read from the documentation (models/README.md and the model's own documentation
file named in its model.toml), never written here.
"""
from __future__ import annotations

import pytest

import simulator
from simulator import loops
from simulator.loops.annotations import documented_loops, match
from tests.conftest import FLAGSHIP, ROOT, model_info


def _documented():
    """The loop tables of models/README.md and of the model's own documentation file."""
    return documented_loops(ROOT / "models" / "README.md") + documented_loops(model_info(FLAGSHIP).documentation)


@pytest.fixture(scope="module")
def flagship_loops():
    info = model_info(FLAGSHIP)
    return loops.find_loops(simulator.load(info.path))


@pytest.mark.slow
def test_every_documented_loop_is_found_with_its_polarity(flagship_loops):
    documented = _documented()
    assert documented, "no table with loop | polarity | path columns in the flagship's documentation"
    found = match(flagship_loops, documented)
    missing = [f"{d.id} ({d.polarity}: {' → '.join(', '.join(s) for s in d.steps)}; {d.source})"
               for d in documented if d.id not in found]
    assert not missing, "documented loops not found in the model's structure: " + "; ".join(missing)


@pytest.mark.slow
def test_float32_loop_products_keep_the_dominant_loops(flagship_loops):
    """The large-ensemble option: loop products in float32 name the same dominant loop wherever
    the two strongest loops are not tied, and relative scores differ by less than 1e-5."""
    import numpy as np

    model = simulator.load(model_info(FLAGSHIP).path)
    traj = loops.trajectory(model, {"Talent Supply Elasticity": np.array([0.8, 1.0, 1.2])})
    a = loops.score_trajectory(traj, flagship_loops)
    b = loops.score_trajectory(traj, flagship_loops, dtype=np.float32)
    assert a.relative.dtype == np.float64 and b.relative.dtype == np.float32
    np.testing.assert_allclose(b.relative, a.relative, rtol=0, atol=1e-5)
    top2 = np.sort(np.abs(a.relative), axis=0)[-2:]
    clear = top2[1] - top2[0] > 1e-4
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(np.abs(a.relative).argmax(axis=0)[clear], np.abs(b.relative).argmax(axis=0)[clear])
