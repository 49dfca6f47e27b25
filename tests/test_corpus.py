"""The corpus of published models (tests/corpus, docs/corpus.md) through the engine.

Every model either runs and agrees, by the one conformance metric (simulator.conformance), with
pysd's stored output (tests/corpus/references/<hash>.csv.gz, written by
``python scripts/corpus.py --store``) and with Vensim's published output where the source has one,
or is refused at load with an error that names the line (and the variable or feature). The
models the engine does not run or match yet are listed in ENGINE_FAILURES with what stops them,
as strict xfails: when one starts to pass, its entry must go.
"""
from __future__ import annotations

import re
import sys
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.conformance import compare_frames, norm_column

sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
from corpus import CORPUS, MANIFEST, drop_random, failure_path, read_published, read_stored  # noqa: E402 - the script holds the layout

with open(MANIFEST, "rb") as _fh:
    MODELS = tomllib.load(_fh)["model"]
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=(
    f"{CORPUS}: the published models are not beside the project (docs/corpus.md says where they come from)"))
LICENCES = ("MIT", "CC-BY-3.0")

# what stops each model (the engine's own error, or the column it disagrees on); see docs/corpus.md
ENGINE_FAILURES = {
    "sdxorg/display/1style.stmx": "Stella display sample: a stock without an equation (line 20); pysd fails too",
    "sdxorg/display/multipoint-connection.stmx": "Stella display sample: an aux without an equation (line 20); pysd fails too",
    "simlin/covid19-us-homer/Covid19US v8.mdl": "its data spreadsheet is not published (line 1649); pysd fails too",
    "simlin/social-network-valuation/groupon 1.mdl": "GET XLS DATA from a file alias '?groupon data' whose spreadsheet is not published (line 27)",
    "simlin/FREE/free 6.mdl": "a DATA equation computed from other data series, OilGas EIA := Oil EIA + Gas EIA (line 3027); pysd fails too",
    "simlin/social-network-valuation/groupon 2.mdl": "a DATA equation computed from another data series (line 62), which reads the unpublished '?groupon data'",
    "simlin/social-network-valuation/groupon 3.mdl": "a DATA equation computed from another data series (line 98), which reads the unpublished '?groupon data'",
}
# refusals that do not name a line yet
NO_LINE: set[str] = set()
# models whose load and run take more than a few seconds on the 2-core machine
SLOW = {m["id"] for m in MODELS if CORPUS.is_dir() and (CORPUS / m["file"]).stat().st_size > 60_000}


def _param(m):
    marks = [pytest.mark.slow] if m["id"] in SLOW else []
    if m["id"] in ENGINE_FAILURES:
        marks.append(pytest.mark.xfail(strict=True, reason=ENGINE_FAILURES[m["id"]]))
    return pytest.param(m, id=m["id"], marks=marks)


def test_manifest_names_source_licence_and_authors():
    ids = [m["id"] for m in MODELS]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    for m in MODELS:
        assert (CORPUS / m["file"]).is_file(), m["id"]
        assert re.fullmatch(r"[0-9a-f]{40}", m["commit"]), m["id"]
        assert m["source"].count("/") == 1 and m["upstream"] and m["authors"], m["id"]
        assert m["licence"].startswith(LICENCES), f"{m['id']}: licence {m['licence']!r}"
        if "vensim_reference" in m:
            assert (CORPUS / m["vensim_reference"]).is_file(), m["id"]
    for folder in ("sdxorg", "mtk", "sdeverywhere"):
        assert (CORPUS / folder / "LICENSE").is_file()


def test_every_stored_reference_belongs_to_a_model():
    from corpus import model_hash

    hashes = {model_hash(CORPUS / m["file"]) for m in MODELS}
    stored = {p.name.split(".")[0] for p in (MANIFEST.parent / "references").iterdir()}
    assert stored and stored <= hashes, f"stale references: {sorted(stored - hashes)}"


def _run(path: Path, params: dict | None = None):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        model = simulator.load(path)
        return model.run(params or None, method="euler", options=simulator.RunOptions(backend="numpy")).to_frame()


@pytest.mark.parametrize("m", [m for m in MODELS if m["id"] in ENGINE_FAILURES], ids=lambda m: m["id"])
def test_refusal_names_the_file_and_line(m):
    with pytest.raises(simulator.SimulatorError) as info:
        _run(CORPUS / m["file"])
    text = str(info.value).splitlines()[0]
    assert Path(m["file"]).name in text, text
    if m["id"] in NO_LINE:
        pytest.xfail(f"refused without a line: {ENGINE_FAILURES[m['id']]}")
    assert re.search(r"line \d+", text), text
    assert re.search(r"line (\d+)", text).group(1) in ENGINE_FAILURES[m["id"]], text


@pytest.mark.parametrize("m", [_param(m) for m in MODELS])
def test_model_runs_and_agrees(m):
    path = CORPUS / m["file"]
    out = _run(path, m.get("compare_params"))  # e.g. noise amplitudes set to 0 (docs/corpus.md)
    ref = read_stored(path)
    vensim = read_published(CORPUS / m["vensim_reference"]) if "vensim_reference" in m else None
    if m.get("random"):
        pytest.skip(f"runs; not comparable: {m['random']}")
    if ref is None and vensim is None:
        # pysd fails on it and the source publishes no output: nothing can check the numbers
        assert failure_path(path).is_file(), "no stored reference: run scripts/corpus.py --store --missing"
        assert np.isfinite(out.to_numpy(dtype=float)).any()
        return
    if ref is not None and m.get("pysd_fault"):
        ref, out = ref.iloc[:1], out.iloc[:1]  # pysd is wrong after the initial time: test_corpus_pysd_faults.py
    if ref is not None and m.get("random_columns"):
        out, ref = drop_random(out, m["random_columns"]), drop_random(ref, m["random_columns"])
    if ref is not None:
        cmp = compare_frames(out, ref)
        assert cmp.matches, f"pysd: {cmp.worst_column} off {cmp.worst_error:.3g}x; missing {cmp.missing[:3]}"
    if vensim is not None:
        known = {norm_column(c) for c in out.columns} | ({norm_column(c) for c in ref.columns} if ref is not None else set())
        vensim = vensim[[c for c in vensim.columns if norm_column(c) in known]]
        if not len(vensim.columns):
            return  # the folder's published output names none of this file's variables
        cmp = compare_frames(out, vensim)
        assert cmp.matches, f"Vensim: {cmp.worst_column} off {cmp.worst_error:.3g}x; missing {cmp.missing[:3]}"
