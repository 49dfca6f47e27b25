"""The corpus script's readers and options (scripts/corpus.py, scripts/corpus_pysd.py), without
the corpus folder: Vensim's .dat export, the random columns left out, the named workarounds."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from corpus import drop_random, read_published, run_options  # noqa: E402
from corpus_pysd import applied  # noqa: E402


def test_vensim_dat_export_is_read_with_constants_held(tmp_path):
    path = tmp_path / "run.dat"
    path.write_text("Stock\n0\t1\n1\t1.5\n2\t2.25\nRate r\n0\t0.5\n", encoding="utf-8")
    got = read_published(path)
    assert list(got.index) == [0.0, 1.0, 2.0]
    assert list(got["Stock"]) == [1.0, 1.5, 2.25]
    assert list(got["Rate r"]) == [0.5, 0.5, 0.5]  # written once, at the initial time


def test_a_bad_dat_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "run.dat"
    path.write_text("Stock\n0\t1\n1\t2\t3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"run\.dat: line 3"):
        read_published(path)


def test_random_columns_are_left_out():
    frame = pd.DataFrame({"Stock": [1.0], "PINK NOISE.white noise": [0.3], "White Noise": [0.1]})
    assert list(drop_random(frame, ["white noise"]).columns) == ["Stock"]


def test_run_options_come_from_the_manifest_entry():
    entry = {"compare_params": {"noise SD": 0}, "pysd_workarounds": ["states"]}
    assert run_options(entry) == {"params": {"noise SD": 0}, "workarounds": ["states"]}
    assert run_options({}) == {"params": {}, "workarounds": []}


def test_an_unknown_workaround_is_named():
    with pytest.raises(ValueError, match="'no-such'"):
        with applied(["no-such"]):
            pass
