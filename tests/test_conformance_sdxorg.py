"""The vendored SDXorg core cases (tests/sdxorg) through the engine, against Vensim's output.

One metric (simulator.conformance): a column matches when max|x - ref| <= 1e-3 max|ref| + 1e-6.
Every core case runs with the numpy printer; NUMBA_CASES also with the numba printer (each is a
kernel to compile; every case with INNOSIM_CONFORMANCE_ALL_NUMBA=1). A case the engine does not
pass yet is listed in ENGINE_FAILURES with the engine bug or missing feature, as a strict xfail:
when it starts to pass, the xfail fails and the entry must go. Out-of-scope cases
(tests/sdxorg/cases.toml) must match or be refused with UnsupportedFeatureError, never answered
wrongly. pysd's verdicts, from its stored outputs, are in tests/sdxorg/CASES.md.
"""
from __future__ import annotations

import json
import os
import re

import pytest
from difftools import SDXORG, sdxorg_cases

from innosim.cli import main
from simulator.conformance import judge, read_reference, read_scope, run_engine

CASES = sdxorg_cases()
CORE = [c for c in CASES if read_scope(c[1])[0]]
OUT = [c for c in CASES if not read_scope(c[1])[0]]
pytestmark = pytest.mark.skipif(not CASES, reason=f"{SDXORG} holds no cases")

ENGINE_FAILURES = {
    "tests/get_time_value": "GET TIME VALUE not implemented: UnsupportedFeatureError; pysd fails too (NotImplementedError: relativeto=1)",
    "tests/non_negative_flows": (
        "the file is not well-formed XML (the </flow> of 'if_else3' is missing): the loader refuses it "
        "with a ModelLoadError naming line 45 rather than guess the structure as lxml's recover mode "
        "would; pysd, reading through the same loader, is refused too"),
}
OUT_OF_SCOPE_FAILURES = {
    "samples/Query_file": (
        "RANDOM UNIFORM drives most columns: the engine draws its own random stream, which cannot "
        "reproduce Vensim's (a different draw, not a wrong answer)"),
}
# small kernels (1-4 s to compile each); subscripted_delays alone takes ~50 s
NUMBA_CASES = {
    "samples/teacup", "samples/Roessler_Chaos", "tests/lookups", "tests/trend",
    "tests/subscript_mapping_vensim", "tests/xidz_zidz", "tests/if_stmt", "tests/smooth_and_stock",
    "tests/subscript_subranges", "tests/active_initial", "tests/subscripted_flows",
}
ALL_NUMBA = os.environ.get("INNOSIM_CONFORMANCE_ALL_NUMBA") == "1"


def _param(case, table):
    case_id = case[0]
    marks = [pytest.mark.xfail(strict=True, reason=table[case_id])] if case_id in table else []
    return pytest.param(case, id=case_id, marks=marks)


def _check(case, backend="numpy"):
    case_id, folder, model, ref = case
    verdict = judge(lambda: run_engine(model, backend), read_reference(ref))
    assert verdict.outcome == "match", f"{case_id} ({backend}): {verdict.outcome}: {verdict.message}"
    assert verdict.compared > 0 and verdict.worst_error <= 1.0


@pytest.mark.parametrize("case", [_param(c, ENGINE_FAILURES) for c in CORE])
def test_core_case_matches_vensim(case):
    _check(case)


@pytest.mark.slow
@pytest.mark.parametrize("case", [_param(c, ENGINE_FAILURES) for c in CORE
                                  if ALL_NUMBA or c[0] in NUMBA_CASES])
def test_core_case_matches_vensim_numba(case):
    pytest.importorskip("numba")
    _check(case, backend="numba")


@pytest.mark.parametrize("case", [_param(c, OUT_OF_SCOPE_FAILURES) for c in OUT])
def test_out_of_scope_case_matches_or_is_refused(case):
    case_id, folder, model, ref = case
    verdict = judge(lambda: run_engine(model), read_reference(ref))
    assert verdict.outcome in ("match", "unsupported"), f"{case_id}: {verdict.outcome}: {verdict.message}"
    if verdict.outcome == "unsupported":
        assert "not supported" in verdict.message and model.name in verdict.message


def test_known_failures_name_existing_cases():
    ids = {c[0] for c in CASES}
    assert set(ENGINE_FAILURES) <= {c[0] for c in CORE}, set(ENGINE_FAILURES) - ids
    assert set(OUT_OF_SCOPE_FAILURES) <= {c[0] for c in OUT}
    assert NUMBA_CASES <= ids


def test_manifest_gives_a_reason_for_every_excluded_case():
    assert len(CORE) >= 140 and OUT
    for case_id, folder, _, _ in OUT:
        in_scope, reason = read_scope(folder)
        assert not in_scope and len(reason) > 20, case_id


def test_cases_md_lists_every_case():
    text = (SDXORG / "CASES.md").read_text(encoding="utf-8")
    for case_id, *_ in CASES:
        assert f"| `{case_id}` |" in text, f"{case_id} missing from CASES.md: run scripts/make_references.py --cases-md"


def test_licence_and_authors_travel_with_the_models():
    assert "MIT" in (SDXORG / "LICENSE").read_text(encoding="utf-8")
    assert "Houghton" in (SDXORG / "AUTHORS").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- the CLI
def _cli(argv, capsys):
    rc = main(["conformance", *argv])
    out = capsys.readouterr()
    return rc, out.out.strip().splitlines(), out.err


def test_cli_reports_each_case_and_the_summary(tmp_path, capsys):
    js = tmp_path / "c.json"
    rc, lines, _ = _cli([str(SDXORG / "samples" / "teacup"), str(SDXORG / "tests" / "abs"), "--json", str(js)], capsys)
    assert rc == 0
    assert len(lines) == 3
    m = re.fullmatch(r"conformance: (\d+)/(\d+) match(?: \(pysd (\d+)/(\d+)\))?", lines[-1])
    assert m and m.group(1) == m.group(2) == "2", lines[-1]
    data = json.loads(js.read_text(encoding="utf-8"))
    assert [d["outcome"] for d in data] == ["match", "match"]
    assert {"folder", "model", "in_scope", "engine", "pysd"} <= set(data[0])
    if m.group(3) is not None:  # pysd is installed: its verdict is printed beside the engine's
        assert m.group(3) == "2" and all("| pysd match" in line for line in lines[:-1])


def test_cli_goes_on_past_a_crash_and_fails(capsys):
    """A model that breaks the loader is one 'crash' line, not the end of the batch; exit 1."""
    folders = [SDXORG / "tests" / "non_negative_flows", SDXORG / "tests" / "abs"]
    rc, lines, _ = _cli([str(f) for f in folders], capsys)
    assert rc == 1
    assert lines[0].startswith(("crash", "unsupported", "error", "differ", "match"))
    assert lines[1].startswith("match") and "abs" in lines[1]
    assert lines[-1].startswith("conformance: ") and "/2 match" in lines[-1]


def test_cli_exit_status_counts_in_scope_cases_only(capsys):
    rc, lines, _ = _cli([str(SDXORG / "tests" / "forecast"), str(SDXORG / "tests" / "abs")], capsys)
    assert rc == 0, lines
    assert "[out of scope: FORECAST" in lines[0]
    assert lines[-1].startswith("conformance: 1/1 match") and "1 out-of-scope case(s) not counted" in lines[-1]


def test_cli_missing_folder_is_a_user_error(tmp_path, capsys):
    rc, _, err = _cli([str(tmp_path / "absent")], capsys)
    assert rc == 2 and err.startswith("innosim: error: ")


def test_cli_differing_case_fails(tmp_path, capsys):
    """A case whose output differs from the reference makes the batch fail (exit 1)."""
    folder = tmp_path / "teacup"
    folder.mkdir()
    src = SDXORG / "samples" / "teacup"
    text = (src / "teacup.mdl").read_text(encoding="utf-8")
    assert "Characteristic Time=\n\t10\n" in text
    (folder / "teacup.mdl").write_text(text.replace("Characteristic Time=\n\t10\n", "Characteristic Time=\n\t11\n"),
                                       encoding="utf-8")
    (folder / "output.csv").write_text((src / "output.csv").read_text(encoding="utf-8"), encoding="utf-8")
    rc, lines, _ = _cli([str(folder)], capsys)
    assert rc == 1 and lines[0].startswith("differ"), lines
    assert lines[-1].startswith("conformance: 0/1 match")


def test_reference_reader_handles_vensim_and_stella_exports():
    """cp1252 names (unicode_characters), CR line ends (SIR), times rounded to 6 digits."""
    uni = read_reference(SDXORG / "tests" / "unicode_characters" / "output.tab")
    assert any("é" in c for c in uni.columns), list(uni.columns)
    sir = read_reference(SDXORG / "samples" / "SIR" / "output.csv")
    assert len(sir) > 100 and "Infectious" in sir.columns
    ros = read_reference(SDXORG / "samples" / "Roessler_Chaos" / "output.tab")
    assert 12.0312 in set(ros.index)
