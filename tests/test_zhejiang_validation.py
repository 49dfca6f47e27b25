"""Behaviour reproduction in and out of sample, the calibration files, metrics and the CLI.

The hold-out fit (targets up to 2018 only) must beat a naive trend forecast made from the same
early data on 2019-2024 for exports and R&D (Theil's U < 1); the full fit, stored in the .mdl
constants, must meet the in-sample thresholds of the model v2 issue.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.calibrate import metrics
from simulator.calibrate.cli import calibration_paths, model_constants
from simulator.calibrate.mdlfile import read_elements, write_params_to_mdl
from simulator.calibrate.records import load_calibrated_params
from simulator.calibrate.setup import SetupError, default_setup_path, load_setup, read_targets
from simulator.calibrate.validate import validation_table
from simulator.tomlfile import read_toml

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "zhejiang_innovation_openness.mdl"
FULL, HOLDOUT = calibration_paths(MODEL)
SETUP = default_setup_path(MODEL)


@pytest.fixture(scope="module")
def model():
    return simulator.load(MODEL)


@pytest.fixture(scope="module")
def setup():
    return load_setup(SETUP, MODEL, model_constants(MODEL))


@pytest.fixture(scope="module")
def table(model, setup):
    targets = read_targets(setup.targets)
    return validation_table(model, targets, load_calibrated_params(HOLDOUT), None, setup.holdout_until)


# ----------------------------------------------------------------------------- metrics
def test_theil_decomposition_adds_up():
    rng = np.random.default_rng(3)
    a = rng.normal(10, 2, 30)
    s = 0.8 * a + 3 + rng.normal(0, 1, 30)
    d = metrics.theil_decomposition(s, a)
    assert d["UM"] + d["US"] + d["UC"] == pytest.approx(1.0, rel=1e-12)
    assert metrics.theil_decomposition(a + 1.0, a)["UM"] == pytest.approx(1.0)


def test_naive_trend_and_theil_u():
    f = metrics.naive_trend([2016, 2018], [100.0, 121.0], np.array([2019, 2020]))
    np.testing.assert_allclose(f, [133.1, 146.41])
    data = np.array([1.0, 2.0, 3.0])
    assert metrics.theil_u(data, data + 1, data) == 0.0
    assert metrics.theil_u(data + 2, data + 1, data) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        metrics.naive_trend([2018], [1.0], [2019])


# ----------------------------------------------------------------------------- out of sample
def test_holdout_fit_uses_no_data_after_2018(setup):
    data = read_toml(HOLDOUT, what="calibration file")
    assert data["calibration"]["fitted_until"] == setup.holdout_until == 2018
    assert set(data["params"]) == set(setup.names)


@pytest.mark.parametrize("series", ["High Tech Exports", "RD Expenditure"])
def test_out_of_sample_beats_naive_trend(table, series):
    row = table.loc[series]
    assert row["n_out"] >= 5 and row["theil_u"] < 1, row.to_dict()
    assert row[["UM", "US", "UC"]].sum() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- in sample
def test_full_fit_in_the_model_file(model, setup):
    fitted = load_calibrated_params(FULL)
    consts = model_constants(MODEL)
    assert set(fitted) == set(setup.names)
    for name, value in fitted.items():
        assert consts[name] == pytest.approx(value, rel=1e-5), f"{name}: .mdl differs from {FULL.name}"


def test_in_sample_thresholds(model):
    df = model.run(method="euler").to_frame()
    t = read_targets(SETUP.parent / "targets.csv")

    def mape(series):
        sub = t[t["series"] == series]
        return metrics.mape(df[series].loc[sub["year"].to_numpy()].to_numpy(), sub["value"].to_numpy())

    assert mape("RD Expenditure") <= 0.05
    assert mape("High Tech Exports") <= 0.10
    assert abs(df["High Tech Enterprises"][2023] / 42000 - 1) <= 0.10
    assert abs(df["Industrial Clusters"][2024] - 19) <= 1


def test_parameters_not_on_their_bounds():
    data = read_toml(FULL, what="calibration file")
    near = [k for k, v in data["params"].items()
            if min(v - data["bounds"][k][0], data["bounds"][k][1] - v) < 1e-3 * (data["bounds"][k][1] - data["bounds"][k][0])]
    assert len(near) <= 2, near


# ----------------------------------------------------------------------------- files and CLI
def test_setup_errors_name_the_file(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text('[fit]\ntargets = "t.csv"\n[parameters."X"]\nlower = 1\nupper = 0\n', encoding="utf-8")
    with pytest.raises(SetupError, match="lower bound 1.0 is not below upper 0.0"):
        load_setup(bad, MODEL)
    bad.write_text('[fit]\ntarget = "t.csv"\n', encoding="utf-8")
    with pytest.raises(SetupError, match=r"s.toml: \[fit\] has unknown key 'target'"):
        load_setup(bad, MODEL)
    csv = tmp_path / "t.csv"
    csv.write_text("year,series,value,source\n2018,X,0,here\n", encoding="utf-8")
    with pytest.raises(SetupError, match=r"t.csv: line 2: value 0.0"):
        read_targets(csv)


def test_writer_changes_only_the_constant(tmp_path):
    copy = tmp_path / "m.mdl"
    text = MODEL.read_text(encoding="utf-8")
    copy.write_text(text, encoding="utf-8")
    write_params_to_mdl(copy, {"Base Birth Rate": 0.333, "Reference Export Demand": 512.5})
    els = read_elements(copy)
    assert els["Base Birth Rate"].equation.endswith("0.333")
    assert els["Reference Export Demand"].equation.endswith("512.5")
    new = copy.read_text(encoding="utf-8")
    assert len(new.splitlines()) == len(text.splitlines())
    changed = [a for a, b in zip(text.splitlines(), new.splitlines()) if a != b]
    assert len(changed) == 2
    with pytest.raises(ValueError, match="no constant named 'No Such Constant'"):
        write_params_to_mdl(copy, {"No Such Constant": 1.0})
    with pytest.raises(ValueError, match="not a scalar constant"):
        write_params_to_mdl(copy, {"Birth Rate": 1.0})
    assert simulator.load(copy).run({}, method="euler", outputs=["High Tech Exports"]) is not None


def test_calibrate_cli_writes_to_out_folder(tmp_path, capsys):
    from innosim.cli import main

    code = main(["calibrate", "--out", str(tmp_path), "--maxiter", "2", "--popsize", "3",
                 "--param", "Reference RD Intensity", "--param", "Initial RD Intensity", "--no-polish"])
    assert code == 0
    fitted = load_calibrated_params(tmp_path / FULL.name)
    assert set(fitted) == {"Reference RD Intensity", "Initial RD Intensity"}
    assert (tmp_path / FULL.with_suffix(".png").name).stat().st_size > 10_000
    assert "RD Expenditure" in capsys.readouterr().out
    assert main(["calibrate", "--param", "No Such Thing", "--out", str(tmp_path)]) == 2


def test_validate_cli(tmp_path, capsys):
    from innosim.cli import main

    assert main(["validate", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "theil_u" in out and "High Tech Exports" in out
    df = pd.read_csv(tmp_path / "validation.csv", index_col=0)
    assert {"mape_in_holdout_fit", "mape_out", "theil_u", "UM", "US", "UC"} <= set(df.columns)
    assert (tmp_path / "validation.png").stat().st_size > 20_000


def test_every_reference_key_is_listed():
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", (ROOT / "docs" / "references.md").read_text(encoding="utf-8"), re.M))
    used = set()
    for path in [MODEL, SETUP.parent / "targets.csv", ROOT / "docs" / "levers-evidence.md",
                 ROOT / "models" / "zhejiang_innovation_openness.md"]:
        used |= set(re.findall(r"\[ref:([a-z0-9_]+)", path.read_text(encoding="utf-8")))
    assert used and not used - listed, sorted(used - listed)




def test_every_reference_key_in_the_project_is_listed():
    """Every [ref:key] in documentation, models, their data and the code resolves to docs/references.md."""
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", (ROOT / "docs" / "references.md").read_text(encoding="utf-8"), re.M))
    missing = {}
    patterns = ("docs/*.md", "models/*.md", "models/*.mdl", "models/*/*.toml", "models/*/*.csv",
                "models/*/scenarios/*.toml", "simulator/**/*.py", "policies/*.py", "dashboard/*.py")
    for pattern in patterns:
        for path in ROOT.glob(pattern):
            for key in re.findall(r"\[ref:([a-z0-9_]+)", path.read_text(encoding="utf-8")):
                if key not in listed and key not in ("key", "k"):  # the placeholder of the syntax's description
                    missing.setdefault(key, path.relative_to(ROOT).as_posix())
    assert not missing, missing


def test_no_internal_file_names_in_user_text():
    for path in [MODEL, ROOT / "docs" / "levers-evidence.md", ROOT / "models" / "zhejiang_innovation_openness.md",
                 SETUP.parent / "levers.toml", SETUP.parent / "uncertainties.toml"]:
        text = path.read_text(encoding="utf-8")
        for word in ("parameters.md", "domain.md", "../shared", "seed 00"):
            assert word not in text, f"{path.name} mentions {word!r}"
