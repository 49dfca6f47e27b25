"""Engine = pysd on small random models drawn from a grammar of Vensim equations (tests/modelgen.py).

Every column of every generated model is compared (Euler, the model's own TIME STEP and SAVEPER)
to 1e-9 of the column's scale. The numpy printer runs every model; the numba printer runs every
``INNOSIM_FUZZ_NUMBA_EVERY``-th one (default 20: each model is a new kernel to compile, ~1-2 s).
The examples are fixed (``derandomize=True``), 200 by default; more with
``INNOSIM_FUZZ_EXAMPLES=2000``. The terminal summary prints how often each feature occurred.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import pytest
from conftest import mdl_text
from difftools import frame_differences, numeric_frame, pysd_compat

import simulator
from simulator.conformance import run_pysd

pytest.importorskip("pysd")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from modelgen import models  # noqa: E402

# hypothesis keeps a cache and writes patch files of failing examples: never in the repository
_HOME = tempfile.mkdtemp(prefix="innosim-hypothesis-")
set_hypothesis_home_dir(_HOME)
atexit.register(shutil.rmtree, _HOME, True)

EXAMPLES = int(os.environ.get("INNOSIM_FUZZ_EXAMPLES", "200"))
# shrinking a failure re-runs pysd hundreds of times: only when asked (INNOSIM_FUZZ_SHRINK=1)
PHASES = [Phase.explicit, Phase.generate] + ([Phase.shrink] if os.environ.get("INNOSIM_FUZZ_SHRINK") else [])
NUMBA_EVERY = max(1, int(os.environ.get("INNOSIM_FUZZ_NUMBA_EVERY", "20")))
FEATURES: Counter = Counter()
SEEN = {"models": 0, "numba": 0, "equations": 0}


class _FeatureTable:
    """Prints the feature-frequency table in pytest's terminal summary (with or without -s)."""

    def pytest_terminal_summary(self, terminalreporter):
        if not SEEN["models"]:
            return
        tr = terminalreporter
        tr.section("generated models: feature frequency")
        tr.write_line(f"{SEEN['models']} models ({SEEN['equations']} equations), "
                      f"{SEEN['numba']} also through the numba printer")
        for name, n in sorted(FEATURES.items(), key=lambda kv: (-kv[1], kv[0])):
            tr.write_line(f"  {name:32s} {n:5d}  ({100 * n / SEEN['models']:.0f} % of models)")


@pytest.fixture(scope="module", autouse=True)
def feature_table(request):
    plugin = _FeatureTable()
    request.config.pluginmanager.register(plugin, "innosim-generated-feature-table")
    yield


def _engine(path: Path, backend: str):
    res = simulator.load(path).run(method="euler", options=simulator.RunOptions(backend=backend))
    return res.to_frame(), str(res.metadata.get("backend", backend))


@pytest.mark.slow
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(model=models())
def test_generated_model_engine_equals_pysd(model):
    SEEN["models"] += 1
    SEEN["equations"] += len(model.equations)
    FEATURES.update(model.features)
    text = mdl_text(model.text(), final_time=model.final_time, time_step=model.time_step,
                    saveper=model.saveper)
    with tempfile.TemporaryDirectory(prefix="innosim-gen-") as tmp:
        path = Path(tmp) / "generated.mdl"
        path.write_text(text, encoding="utf-8")
        with warnings.catch_warnings(), pysd_compat():
            warnings.simplefilter("ignore")
            expected = numeric_frame(run_pysd(path))
        backends = ["numpy"]
        if SEEN["models"] % NUMBA_EVERY == 1 or NUMBA_EVERY == 1:
            backends.append("numba")
            SEEN["numba"] += 1
        for backend in backends:
            got, ran = _engine(path, backend)
            problems = frame_differences(got, expected)
            assert not problems, f"{backend} printer ({ran}) differs from pysd on\n{text}\n" + "\n".join(problems)
