"""Terminal tables: fully translated with --lang zh, one number format, full ids, budget overruns
with amount and years; calibration shows no score for a one-point series."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import innosim
from innosim.cli import main
from policies.compare import budget_text, display_width, fmt_number, terminal_table, unit_text

SMALL = "industrial_symbiosis"


@pytest.fixture(scope="module")
def comparison():
    return innosim.compare(SMALL, years=[2035]), innosim.catalogue(SMALL)


def test_zh_table_has_no_english_headers_or_units(comparison):
    comp, cat = comparison
    zh = terminal_table(comp, catalogue=cat, lang="zh")
    header = zh.splitlines()[1]
    for word in ("scenario", "extra cost", "budget", "Year", "Dmnl", "baseline levels", "change vs."):
        assert word not in zh.replace("baseline ", "", 0) or word == "baseline levels" and word not in zh, word
    assert header.split()[0] == "情景" and "新增成本" in header and "预算" in header
    en = terminal_table(comp, catalogue=cat, lang="en")
    assert en.splitlines()[1].split()[0] == "scenario"


def test_ids_in_full_and_columns_aligned(comparison):
    comp, cat = comparison
    for lang in ("en", "zh"):
        lines = terminal_table(comp, catalogue=cat, lang=lang).splitlines()
        rows = lines[3:3 + len(comp.scenarios)]
        assert [r.split()[0] for r in rows] == [sc.id for sc in comp.scenarios]   # never truncated
        ends = {display_width(r.rsplit("  ", 1)[0].rstrip()) for r in rows}
        assert len(ends) == 1, (lang, ends)   # the numeric columns end at the same terminal column


def test_one_number_format():
    assert fmt_number(9985.2) == "9,985" and fmt_number(11750.4) == "11,750"
    assert fmt_number(3.14159) == "3.14" and fmt_number(float("nan")) == "-"
    assert not any("e+" in fmt_number(v) for v in (1e3, 1.175e4, 2.5e7))
    assert unit_text("亿元/Year", "zh") == "亿元/年" and unit_text("亿元/Year", "en") == "亿元/Year"


def test_budget_overrun_shows_amount_and_years():
    row = pd.Series({"within_budget": False, "peak_extra_fiscal_cost": 130.0, "budget_cap": 100.0,
                     "years_over_budget": "2027-2029"})
    assert budget_text(row, "en") == "over by 30 亿元/yr in 2027-2029"
    assert budget_text(row, "zh") == "超出 30 亿元/年 (2027-2029 年)"
    assert budget_text(pd.Series({"within_budget": True}), "en") == "ok"
    assert budget_text(pd.Series({"within_budget": np.nan}), "en") == "-"


def test_levers_in_chinese(capsys):
    assert main(["levers", "--model", SMALL, "--lang", "zh", "--scenarios"]) == 0
    out = capsys.readouterr().out
    assert "政策杠杆:" in out and "内置情景:" in out
    assert not re.search(r"\b(levers|shocks|drives|sources|built-in)\b", out)


def test_calibration_table_scores_no_one_point_series():
    from simulator.calibrate.cli import mape_table

    targets = pd.DataFrame({"series": ["A", "A", "B"], "year": [2020, 2021, 2020], "value": [1.0, 2.0, 3.0]})
    lines = mape_table({"A": 0.0312, "B": 0.0}, targets, None).splitlines()
    assert lines[1].split() == ["A", "2", "3.12"]
    assert lines[2].split()[:2] == ["B", "1"] and "0.00" not in lines[2] and "not scored" in lines[2]
