"""Engine = pysd on small models with all their constants perturbed (live pysd, Euler).

Models: the analytic fixtures in tests/models and a set of vendored SDXorg cases that cover
subscripts, delays, smooths, lookups and trends. Each gets DRAWS (2) parameter sets with a fixed seed
(every constant, each element of a subscripted one, times a factor uniform in [0.8, 1.2]); both
printers (numba for the models in NUMBA and tests/models), every column, to 1e-9 of the column's scale. The flagship's perturbations are in
test_differential_flagship.py (stored pysd outputs: pysd is too slow there).
"""
from __future__ import annotations

import warnings

import pytest
from difftools import SDXORG, frame_differences, numeric_frame, perturbed_constants, pysd_compat

import simulator
from simulator.conformance import run_pysd_many

pytest.importorskip("pysd")
TESTS_MODELS = SDXORG.parent / "models"


def _model(name: str):
    return next(iter(sorted((SDXORG / "tests" / name).glob("*.mdl"))), SDXORG / "tests" / name / "absent.mdl")


# the numba printer runs the models whose kernels the conformance tests compile anyway (and the
# four analytic ones, whose kernels are small): a kernel serves every value of the constants
NUMBA = [SDXORG / "samples/teacup/teacup.mdl"] + [_model(name) for name in (
    "smooth_and_stock", "trend", "subscript_subranges", "active_initial", "subscript_mapping_vensim",
    "subscripted_flows")]
NUMPY_ONLY = [_model(name) for name in (
    "subscript_2d_arrays", "subscripted_xidz", "chained_initialization", "subscript_transposition",
    "subscripted_if_then_else", "subscripted_smooth", "subscript_aggregation", "subscripted_ramp_step")]
MODELS = sorted(TESTS_MODELS.glob("*.mdl")) + NUMBA + NUMPY_ONLY
DRAWS = 2
SEED = 20240613


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_perturbed_constants_engine_equals_pysd(path):
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    model = simulator.load(path)
    sets = perturbed_constants(model, draws=DRAWS, seed=SEED)
    assert sets and sets[0], f"{path.name} has no constants to perturb"
    with warnings.catch_warnings(), pysd_compat():
        warnings.simplefilter("ignore")
        expected = [numeric_frame(f) for f in run_pysd_many(path, sets)]
    for k, (params, exp) in enumerate(zip(sets, expected)):
        for backend in ("numpy", "numba") if path not in NUMPY_ONLY else ("numpy",):
            res = model.run(params, method="euler", options=simulator.RunOptions(backend=backend))
            problems = frame_differences(res.to_frame(), exp)
            assert not problems, f"{path.name} draw {k} ({backend}, ran {res.metadata.get('backend')}):\n" + \
                "\n".join(problems)
