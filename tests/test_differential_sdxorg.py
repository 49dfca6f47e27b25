"""Engine = pysd on every SDXorg model (tests/sdxorg, and ../shared/conformance), every column.

Tolerance: 1e-9 of each column's scale (max |pysd|), 1e-12 absolute for all-zero columns; same
save times; NaN in the same cells. pysd's outputs are stored in tests/references/sdxorg (made by
``scripts/make_references.py --sdxorg``, keyed by the model file's sha256), so CI does not run
pysd on 150 models. The numpy printer runs every case, the numba printer NUMBA_CASES (every case
with INNOSIM_CONFORMANCE_ALL_NUMBA=1). A model under ../shared/conformance that is not one of the
vendored files is compared with a live pysd run.

A difference is a failure. The expected ones are strict xfails: the engine's (the same list as
the conformance test: missing features and bugs) and PYSD_FAULTS, where pysd departs from Vensim
and the engine does not.
"""
from __future__ import annotations

import warnings

import pytest
from conftest import SHARED_CONFORMANCE
from difftools import (
    STALE,
    case_reference,
    file_sha256,
    frame_differences,
    load_reference,
    numeric_frame,
    pysd_compat,
    sdxorg_cases,
)
from test_conformance_sdxorg import ALL_NUMBA, ENGINE_FAILURES, NUMBA_CASES, OUT_OF_SCOPE_FAILURES

import simulator
from simulator import UnsupportedFeatureError
from simulator.conformance import find_cases, read_scope, run_engine, run_pysd

CASES = sdxorg_cases()
PYSD_FAULTS = {
    "tests/arguments": (
        "pysd lowers DELAY3's order when 3 x TIME STEP exceeds the delay time (DELAY3(Time, "
        "MODULO(29, 3)) at TIME STEP 1 runs with 2 stages: 'Delay time very small, casting delay "
        "order from 3 to 2'); Vensim keeps 3 stages and the engine matches Vensim's output"),
}
NOT_COMPARABLE = {
    "samples/Query_file": "RANDOM UNIFORM: the engine and pysd draw different random streams",
}
EXPECTED = {**ENGINE_FAILURES, **OUT_OF_SCOPE_FAILURES, **PYSD_FAULTS}


def _param(case, backend):
    case_id = case[0]
    marks = [pytest.mark.xfail(strict=True, reason=EXPECTED[case_id])] if case_id in EXPECTED else []
    return pytest.param(case, backend, id=f"{case_id}-{backend}", marks=marks)


PARAMS = [_param(c, "numpy") for c in CASES] + [_param(c, "numba") for c in CASES
                                                if ALL_NUMBA or c[0] in NUMBA_CASES]


def _stored(case_id, model):
    path = case_reference(case_id)
    if not path.is_file():
        pytest.skip(f"{path.name} is missing: run scripts/make_references.py --sdxorg")
    frame, meta = load_reference(path)
    if meta["model_sha256"] != file_sha256(model):
        pytest.skip(f"{case_id}: {STALE}")
    if "pysd_error" in meta:
        pytest.skip(f"{case_id}: pysd cannot run this model ({meta['pysd_error']})")
    return frame


@pytest.mark.parametrize("case,backend", PARAMS)
def test_engine_equals_pysd(case, backend):
    case_id, folder, model, ref = case
    if case_id in NOT_COMPARABLE:
        pytest.skip(f"{case_id}: {NOT_COMPARABLE[case_id]}")
    if backend == "numba":
        pytest.importorskip("numba")
    expected = _stored(case_id, model)
    in_scope, reason = read_scope(folder)
    try:
        got = run_engine(model, backend)
    except UnsupportedFeatureError as exc:
        if in_scope:
            raise
        pytest.skip(f"{case_id} is out of scope ({reason}) and the engine refuses it: {exc}")
    problems = frame_differences(got, expected)
    assert not problems, f"{case_id} ({backend}):\n" + "\n".join(problems)


def test_every_case_has_a_stored_pysd_output():
    stale = [c[0] for c in CASES if not case_reference(c[0]).is_file()
             or load_reference(case_reference(c[0]))[1]["model_sha256"] != file_sha256(c[2])]
    if stale:
        pytest.skip(f"{len(stale)} case(s), e.g. {stale[:3]}: {STALE}")
    runs = sum("pysd_error" not in load_reference(case_reference(c[0]))[1] for c in CASES)
    assert runs >= len(CASES) - 5, f"pysd ran only {runs} of {len(CASES)} cases"


def _shared_cases():
    if not SHARED_CONFORMANCE.is_dir():
        return []
    return [(folder, model) for folder, model, _ in find_cases([SHARED_CONFORMANCE])]


@pytest.mark.skipif(not SHARED_CONFORMANCE.is_dir(), reason=f"{SHARED_CONFORMANCE} is absent")
def test_shared_conformance_models_are_covered():
    """Every model under ../shared/conformance is a vendored one (same bytes), or is compared live."""
    vendored = {file_sha256(m): cid for cid, _, m, _ in CASES}
    others = [(f, m) for f, m in _shared_cases() if file_sha256(m) not in vendored]
    for _folder, model in others:
        with warnings.catch_warnings(), pysd_compat():
            warnings.simplefilter("ignore")
            expected = numeric_frame(run_pysd(model))
        got = simulator.load(model).run(method="euler",
                                        options=simulator.RunOptions(backend="numpy")).to_frame()
        problems = frame_differences(got, expected)
        assert not problems, f"{model}:\n" + "\n".join(problems)
    assert len(_shared_cases()) >= 70
