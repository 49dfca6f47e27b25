"""SDXorg conformance models (../shared/conformance, beside the project) through the engine.

Expected state: at least 70 models match Vensim's canonical output; the models using
out-of-scope features (DELAY FIXED, GET DATA, GET XLS CONSTANTS) load with
UnsupportedFeatureError and count as "unsupported" - never a crash, never a silent wrong answer.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import SHARED_CONFORMANCE

from innosim.cli import main
from simulator.conformance import run_conformance

pytestmark = pytest.mark.skipif(
    not SHARED_CONFORMANCE.is_dir(),
    reason=f"{SHARED_CONFORMANCE} is absent: the shared conformance models live beside the project, not in it")

OUT_OF_SCOPE = {
    "delay_pipeline": "DELAY FIXED",
    "partial_range_definitions": "DATA",
    "with_lookup": "GET XLS/DIRECT CONSTANTS",
}


@pytest.fixture(scope="module")
def results():
    lines = []
    res = run_conformance([SHARED_CONFORMANCE], echo=lines.append)
    return res, lines


def test_at_least_70_models_match(results):
    res, lines = results
    outcomes = [r.outcome for r in res]
    assert len(res) >= 76
    assert set(outcomes) <= {"match", "differ", "unsupported"}
    n_match = outcomes.count("match")
    assert n_match >= 70, "\n".join(line for line in lines if not line.startswith("match"))
    for r in res:
        if r.outcome == "match":
            assert r.compared > 0 and r.worst_error <= 1e-3, r


def test_out_of_scope_models_are_unsupported(results):
    res, _ = results
    by_folder = {Path(r.folder).name: r for r in res}
    present = [name for name in OUT_OF_SCOPE if (SHARED_CONFORMANCE / "tests" / name).is_dir()]
    assert present, "none of the out-of-scope models is present"
    for name in present:
        r = by_folder[name]
        assert r.outcome == "unsupported", (name, r.outcome, r.message)
        assert OUT_OF_SCOPE[name] in r.message
        assert "variable '" in r.message and r.model in r.message


def test_unsupported_means_unsupported_feature_only(results):
    res, _ = results
    for r in res:
        if r.outcome == "unsupported":
            assert "not supported" in r.message, r


def test_summary_line(results):
    res, lines = results
    p = sum(r.outcome == "match" for r in res)
    f = sum(r.outcome == "differ" for r in res)
    u = sum(r.outcome == "unsupported" for r in res)
    assert lines[-1] == f"conformance: {p}/{len(res)} match, {f} differ, {u} unsupported"
    assert len(lines) == len(res) + 1


def test_cli_conformance_prints_summary_and_writes_json(tmp_path, capsys):
    out = tmp_path / "conformance.json"
    folder = SHARED_CONFORMANCE / "samples"
    rc = main(["conformance", str(folder), str(SHARED_CONFORMANCE / "tests" / "delay_pipeline"),
               "--json", str(out)])
    assert rc == 0
    stdout = capsys.readouterr().out.strip().splitlines()
    m = re.fullmatch(r"conformance: (\d+)/(\d+) match, (\d+) differ, (\d+) unsupported", stdout[-1])
    assert m, stdout[-1]
    p, t, f, u = map(int, m.groups())
    assert p + f + u == t == len(stdout) - 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data) == t
    assert sum(d["outcome"] == "match" for d in data) == p
    assert {"folder", "model", "outcome", "compared", "worst_column", "worst_error", "message"} <= set(data[0])
    names = {Path(d["folder"]).name: d for d in data}
    assert names["teacup"]["outcome"] == "match"
    assert names["delay_pipeline"]["outcome"] == "unsupported"


def test_cli_conformance_missing_folder(tmp_path, capsys):
    assert main(["conformance", str(tmp_path / "absent")]) == 2
    assert capsys.readouterr().err.startswith("innosim: error: ")
