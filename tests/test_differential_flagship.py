"""Engine = pysd on the flagship model: every built-in scenario and seeded perturbations of all
its constants, both printers, every column to 1e-9 of the column's scale.

pysd takes 15-30 s per run of this model, so its outputs are stored in tests/references/flagship
(``python scripts/make_references.py --flagship``), each with the sha256 of the model file and of
the run's parameters. When the model or a scenario has changed since, the test skips and says so;
regenerating takes about ten minutes. Perturbations: every constant (each element of a
subscripted one; not the four control values) times an independent factor uniform in
[0.8, 1.2], 8 draws with a fixed seed (see the script); the parameters are stored with the output.
"""
from __future__ import annotations

import pytest
from difftools import (
    FLAGSHIP,
    REFERENCES,
    STALE,
    decode_params,
    file_sha256,
    flagship_reference,
    flagship_scenarios,
    frame_differences,
    load_reference,
    params_sha256,
    perturbable,
)

import simulator
from simulator.names import normalize

pytestmark = pytest.mark.skipif(not FLAGSHIP.is_file(), reason=f"{FLAGSHIP} is absent")
BACKENDS = ["numpy", "numba"]
CONTROL = {"initial_time", "final_time", "time_step", "saveper"}


def _scenario_ids():
    try:
        import policies
    except ImportError:
        return []
    from difftools import flagship_catalogue

    return sorted(policies.builtin_scenario_files(flagship_catalogue()))


PERTURBATIONS = sorted(p.stem for p in (REFERENCES / "flagship").glob("perturb-*.npz"))


@pytest.fixture(scope="module")
def model():
    return simulator.load(FLAGSHIP)


@pytest.fixture(scope="module")
def scenarios(model):
    return dict(flagship_scenarios(model))


def _stored(run_id):
    path = flagship_reference(run_id)
    if not path.is_file():
        pytest.skip(f"{path.name} is missing: run scripts/make_references.py --flagship")
    frame, meta = load_reference(path)
    if meta["model_sha256"] != file_sha256(FLAGSHIP):
        pytest.skip(STALE)
    return frame, meta


def _run(model, params, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    res = model.run(params, method="euler", options=simulator.RunOptions(backend=backend))
    ran = str(res.metadata.get("backend", backend))
    assert ran.startswith(backend), f"asked for the {backend} printer, ran {ran}"
    return res.to_frame()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sid", _scenario_ids())
def test_scenario_engine_equals_pysd(model, scenarios, sid, backend):
    expected, meta = _stored(f"scenario-{sid}")
    params = scenarios[sid]
    if params_sha256(params) != meta["params_sha256"]:
        pytest.skip(f"scenario {sid!r} has changed since its reference was made: "
                    "run scripts/make_references.py --flagship")
    problems = frame_differences(_run(model, params, backend), expected)
    assert not problems, f"scenario {sid} ({backend}):\n" + "\n".join(problems)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("run_id", PERTURBATIONS)
def test_perturbed_constants_engine_equals_pysd(model, run_id, backend):
    expected, meta = _stored(run_id)
    params = decode_params(meta["params"])
    assert params_sha256(params) == meta["params_sha256"]
    problems = frame_differences(_run(model, params, backend), expected)
    assert not problems, f"{run_id} ({backend}):\n" + "\n".join(problems)


def test_references_exist_for_every_scenario_and_perturbation():
    assert len(PERTURBATIONS) >= 5, "no perturbation references: run scripts/make_references.py --flagship"
    missing = [sid for sid in _scenario_ids() if not flagship_reference(f"scenario-{sid}").is_file()]
    assert not missing, f"no reference for {missing}: run scripts/make_references.py --flagship"
    # a stale reference skips its comparison: here it fails, so that no change of the model goes
    # through CI without the engine being compared with pysd on it
    stale = [p.stem for p in sorted((REFERENCES / "flagship").glob("*.npz"))
             if load_reference(p)[1]["model_sha256"] != file_sha256(FLAGSHIP)]
    assert not stale, f"references {stale[:3]} are for another model version: {STALE}"


def test_perturbations_cover_every_constant(model):
    """Each draw perturbs every constant of the model (all elements) but the dates, and only those."""
    _, meta = _stored(PERTURBATIONS[0]) if PERTURBATIONS else pytest.skip("no perturbation references")
    keys = {k for k in meta["params"] if normalize(k) not in CONTROL}
    bases = {k.split("[")[0] for k in keys}
    constants = perturbable(model)
    assert bases == constants, (sorted(constants - bases)[:5], sorted(bases - constants)[:5])
    cells = sum(len(list(_cells(model, n))) for n in constants)
    assert len(keys) == cells


def _cells(model, name):
    dims = model.variables[name].dims
    if not dims:
        yield name
        return
    import itertools

    for combo in itertools.product(*[model.subscripts[d] for d in dims]):
        yield f"{name}[{','.join(combo)}]"
