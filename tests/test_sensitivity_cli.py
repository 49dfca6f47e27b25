"""``innosim sensitivity`` / ``innosim robustness`` through their ``main(argv)`` functions: the files
they write, and errors reported without a traceback (exit code 2)."""
from __future__ import annotations

import argparse
import base64

import pandas as pd
import pytest
from conftest import eq

from innosim.commands.sensitivity import add_commands, main_robustness, main_sensitivity

MODEL = (eq("Stock", "INTEG(Growth, 10)", "widgets")
         + eq("Growth", "Rate * Stock * (1 - Stock / Capacity)", "widgets/Month")
         + eq("Rate", "0.5", "1/Month", "range: 0.2..0.8")
         + eq("Capacity", "1000", "widgets", "range: 500..2000")
         + eq("Delay", "3", "Month", "range: 1..5")
         + eq("Perceived", "SMOOTH(Stock, Delay)", "widgets"))
TOML = """
[uncertainties.Rate]
source = "test range"
[uncertainties.Capacity]
distribution = "triangular"
min = 500
mode = 1000
max = 2000
[uncertainties.Delay]
distribution = "normal"
mean = 3
sd = 1
min = 1
max = 5
"""


@pytest.fixture
def setup(write_mdl, tmp_path):
    model = write_mdl(MODEL, final_time=12, time_step=0.25, saveper=1)
    toml = tmp_path / "u.toml"
    toml.write_text(TOML, encoding="utf-8")
    return ["--model", str(model), "--uncertainties", str(toml), "--kpi", "Stock", "--kpi", "Perceived",
            "--year", "6", "--year", "12", "--no-progress"]


def png_count(html: str) -> int:
    n = html.count("data:image/png;base64,")
    start = html.index("data:image/png;base64,") + len("data:image/png;base64,")
    assert base64.b64decode(html[start:html.index("'", start)])[:8] == b"\x89PNG\r\n\x1a\n"
    return n


@pytest.mark.parametrize("method, samples, table, figures", [
    ("oat", None, "oat", 4), ("mc", "200", "bands", 2), ("morris", "8", "morris", 4), ("sobol", "64", "sobol", 4),
])
def test_sensitivity_methods_write_csv_charts_and_html(setup, tmp_path, capsys, method, samples, table, figures):
    out = tmp_path / "out"
    argv = setup + ["--method", method, "--out", str(out)] + (["--samples", samples] if samples else [])
    assert main_sensitivity(argv) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out / 'index.html'}" in printed
    df = pd.read_csv(out / f"{table}.csv")
    assert len(df) > 0
    assert png_count((out / "index.html").read_text(encoding="utf-8")) == figures
    assert len(list(out.glob("*.png"))) == figures
    assert set(pd.read_csv(out / "uncertainties.csv")["parameter"]) == {"Rate", "Capacity", "Delay"}
    if method == "sobol":
        assert "64 is not" not in printed and "320 runs" in printed  # 64 (3 + 2)
        assert set(df["output"]) == {"Stock (6)", "Stock (12)", "Perceived (6)", "Perceived (12)"}
        assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(df.columns)
    if method == "mc":
        members = pd.read_csv(out / "members.csv")
        assert len(members) == 200 and {"Rate", "Stock (12)"} <= set(members.columns)


def test_sensitivity_is_reproducible_with_seed(setup, tmp_path):
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert main_sensitivity(setup + ["--method", "mc", "--samples", "50", "--seed", seed,
                                         "--out", str(tmp_path / name)]) == 0
    a, b, c = (pd.read_csv(tmp_path / n / "summary.csv") for n in "abc")
    pd.testing.assert_frame_equal(a, b)
    assert not a["p50"].equals(c["p50"])


@pytest.mark.parametrize("toml, message", [
    ('[uncertainties.Rait]\n', "no constant named 'Rait'"),
    ('[uncertainties.Rate\n', "malformed TOML"),
    ('[uncertainties.Rate]\nmin = 2\nmax = 1\n', "bounds reversed"),
])
def test_bad_uncertainty_file_exits_2_without_traceback(setup, tmp_path, capsys, toml, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(toml, encoding="utf-8")
    argv = setup[:2] + ["--uncertainties", str(bad), "--out", str(tmp_path / "o")]
    assert main_sensitivity(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("innosim sensitivity: error: ") and str(bad) in err and message in err
    assert "Traceback" not in err


def test_missing_files_and_bad_kpi_exit_2(setup, tmp_path, capsys):
    assert main_sensitivity(setup[:2] + ["--uncertainties", str(tmp_path / "none.toml")]) == 2
    assert "uncertainty file not found" in capsys.readouterr().err
    assert main_sensitivity(["--model", str(tmp_path / "none.mdl")]) == 2
    assert "model file not found" in capsys.readouterr().err
    assert main_sensitivity(setup[:4] + ["--kpi", "Stok", "--out", str(tmp_path / "o")]) == 2
    assert "Did you mean 'Stock'" in capsys.readouterr().err


def test_workers_and_scheduler_are_exclusive(setup, capsys):
    assert main_sensitivity(setup + ["--workers", "2", "--scheduler", "tcp://localhost:8786"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not allowed with argument" in err and len(err.splitlines()) == 1


def test_add_commands_wires_both_into_a_parent_parser(setup, tmp_path):
    parser = argparse.ArgumentParser(prog="innosim")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sensitivity"] + setup + ["--method", "oat", "--out", str(tmp_path / "o")])
    assert args.func(args) == 0
    assert (tmp_path / "o" / "oat.csv").is_file()
    args = parser.parse_args(["robustness", "a", "b", "--samples", "10"])
    # the KPI and its direction default to the model's (its model.toml and catalogue), read when run
    assert (args.scenarios, args.kpi, args.direction) == (["a", "b"], None, None)


def test_robustness_cli_on_built_in_scenarios(tmp_path, capsys):
    out = tmp_path / "rob"
    code = main_robustness(["baseline", "policy-package", "--samples", "40", "--year", "2035",
                            "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    pairs = pd.read_csv(out / "pairs.csv")
    regret = pd.read_csv(out / "regret.csv")
    assert set(regret["scenario"]) == {"baseline", "policy-package"}
    s_ab = pairs.set_index(["a", "b"]).loc[("policy-package", "baseline"), "share_a_beats_b"]
    s_ba = pairs.set_index(["a", "b"]).loc[("baseline", "policy-package"), "share_a_beats_b"]
    assert 0 <= s_ab <= 1 and s_ab + s_ba <= 1
    assert (regret["max_regret"] >= 0).all()
    assert "shares.png" in (out / "index.html").read_text(encoding="utf-8")


def test_robustness_cli_unknown_scenario_exits_2(tmp_path, capsys):
    pytest.importorskip("policies")
    assert main_robustness(["baseline", "no-such-scenario", "--samples", "5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no-such-scenario" in err and "Traceback" not in err
