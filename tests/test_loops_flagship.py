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
