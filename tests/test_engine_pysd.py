"""The engine's Euler against pysd's Euler on the same file: same arithmetic, so 1e-12 relative.

pysd runs through simulator.conformance.run_pysd (a copy in a temporary folder, since pysd writes
its translation beside the model). Models: the lead's benchmark model
(benchmarks/models/benchmark_model.mdl, skipped while it does not exist), the teacup sample, and
a few SDXorg test models that exercise subscripts, delays, smooths and lookups (the vendored
copies in tests/sdxorg; every SDXorg case is compared in tests/test_differential_sdxorg.py).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import ROOT
from difftools import SDXORG

import simulator
from simulator.conformance import run_pysd

pysd = pytest.importorskip("pysd")

BENCHMARK = ROOT / "benchmarks" / "models" / "benchmark_model.mdl"
TEACUP = SDXORG / "samples" / "teacup" / "teacup.mdl"
SDX = SDXORG / "tests"
SDX_MODELS = [
    "subscripted_flows/test_subscripted_flows.mdl",
    "subscript_mapping_simple/test_subscript_mapping_simple.mdl",
    "subscripted_delays/test_subscripted_delays.mdl",
    "delay_parentheses/test_delay_parentheses.mdl",
    "smooth_and_stock/test_smooth_and_stock.mdl",
    "lookups/test_lookups.mdl",
    "trend/test_trend.mdl",
]
REL = 1e-12


def compare_with_pysd(src, tmp_path, min_columns):
    if not src.is_file():
        pytest.skip(f"{src} does not exist (yet)")
    path = src
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = run_pysd(path)
    got = simulator.load(path).run(method="euler").to_frame()
    np.testing.assert_allclose(got.index.to_numpy(), expected.index.to_numpy(dtype=float), rtol=0, atol=1e-12)
    common = [c for c in expected.columns if c in got.columns]
    assert len(common) >= min_columns, f"only {len(common)} columns in common: {sorted(got.columns)[:10]}"
    missing = [c for c in expected.columns if c not in got.columns]
    assert not missing, f"pysd columns the engine does not report: {missing[:10]}"
    for col in common:
        a = got[col].to_numpy(dtype=float)
        b = expected[col].to_numpy(dtype=float)
        np.testing.assert_allclose(a, b, rtol=REL, atol=REL * max(1.0, np.nanmax(np.abs(b))), err_msg=col)
    return common


def test_benchmark_model_matches_pysd(tmp_path):
    compare_with_pysd(BENCHMARK, tmp_path, min_columns=20)
    assert len(simulator.load(BENCHMARK).stocks) >= 5


def test_teacup_matches_pysd(tmp_path):
    common = compare_with_pysd(TEACUP, tmp_path, min_columns=4)
    assert "Teacup Temperature" in common


@pytest.mark.parametrize("rel", SDX_MODELS, ids=lambda r: r.split("/")[0])
def test_sdxorg_models_match_pysd(tmp_path, rel):
    compare_with_pysd(SDX / rel, tmp_path, min_columns=3)
