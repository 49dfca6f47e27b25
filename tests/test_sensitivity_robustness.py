"""Policy robustness on cases with a known answer: shares of members in which one scenario beats
another, and regret tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import eq

import simulator
from sensitivity import (
    EnsembleOptions,
    SensitivityError,
    Uncertainty,
    UncertaintySpec,
    Uniform,
    robustness,
    robustness_tables,
)

# Score = Policy * (Theta - 0.3): policy A (Policy = 1) beats B (Policy = -1) exactly when Theta > 0.3
MODEL = (eq("Score", "Policy * (Theta - 0.3) + Bonus", "points")
         + eq("Policy", "0", "Dmnl", "range: -1..1; kind: lever")
         + eq("Bonus", "0", "points", "range: 0..1; kind: lever")
         + eq("Theta", "0.5", "Dmnl", "an assumption; range: 0..1")
         + eq("Noise Free Stock", "INTEG(Score, 0)", "points*Year"))


@pytest.fixture
def model(write_mdl):
    return simulator.load(write_mdl(MODEL, final_time=10, time_step=0.5, saveper=1))


SPEC = UncertaintySpec((Uncertainty("Theta", Uniform(0, 1)),))


def test_share_a_beats_b_matches_the_samples_exactly(model):
    res = robustness(model, {"A": {"Policy": 1.0}, "B": {"Policy": -1.0}}, SPEC, "Score", 10, 1000, 42)
    theta = SPEC.sample(1000, seed=42)["Theta"].to_numpy()
    assert res.samples["Theta"].to_numpy().tolist() == theta.tolist()  # the same members for every scenario
    assert res.share("A", "B") == np.mean(theta > 0.3)
    assert res.share("B", "A") == np.mean(theta < 0.3)
    assert res.share("A", "B") == pytest.approx(0.7, abs=0.04)
    # regret: best minus own value; |2 (theta - 0.3)| for the loser of each member, 0 for the winner
    reg = res.regret.set_index("scenario")
    gap = 2 * np.abs(theta - 0.3)
    assert reg.loc["A", "mean_regret"] == pytest.approx(np.mean(np.where(theta < 0.3, gap, 0)))
    assert reg.loc["B", "max_regret"] == pytest.approx(np.max(np.where(theta > 0.3, gap, 0)))
    assert reg.loc["A", "share_best"] == pytest.approx(np.mean(theta >= 0.3))
    pairs = res.pairs().set_index(["a", "b"])
    assert pairs.loc[("A", "B"), "mean_difference"] == pytest.approx(np.mean(2 * (theta - 0.3)))


def test_minimise_mirrors_the_shares(model):
    scen = {"A": {"Policy": 1.0}, "B": {"Policy": -1.0}}
    hi = robustness(model, scen, SPEC, "Score", 10, 300, 1)
    lo = robustness(model, scen, SPEC, "Score", 10, 300, 1, direction="minimise")
    assert lo.share("A", "B") == hi.share("B", "A")
    assert lo.regret.set_index("scenario").loc["A", "max_regret"] == \
        pytest.approx(hi.regret.set_index("scenario").loc["B", "max_regret"])


def test_time_series_scenarios_and_sampled_values_win(model):
    # C switches its bonus on at t = 5 (a time series, broadcast over members); D sets Theta itself,
    # but the uncertainty member's value takes precedence over a scenario's value of an uncertainty
    bonus = pd.Series([0.0, 0.0, 1.0, 1.0], index=[0, 4.99, 5, 10])
    scen = {"C": {"Policy": 1.0, "Bonus": bonus}, "D": {"Policy": 1.0, "Theta": 100.0}}
    res = robustness(model, scen, SPEC, "Score", 10, 50, 0, options=EnsembleOptions(method="rk4"))
    np.testing.assert_allclose(res.values["C"] - res.values["D"], 1.0)
    assert res.share("C", "D") == 1.0
    assert res.metadata["overridden_by_samples"] == {"D": ["Theta"]}


def test_tables_on_a_hand_made_case():
    values = pd.DataFrame({"x": [1.0, 5.0, 3.0], "y": [2.0, 2.0, 3.0], "z": [0.0, 6.0, 1.0]})
    shares, regret = robustness_tables(values, "maximise")
    assert shares.loc["x", "y"] == pytest.approx(1 / 3) and shares.loc["y", "x"] == pytest.approx(1 / 3)
    assert shares.loc["z", "x"] == pytest.approx(1 / 3) and np.isnan(shares.loc["x", "x"])
    r = regret.set_index("scenario")
    # best per member: 2, 6, 3  -> regrets x: 1, 1, 0; y: 0, 4, 0; z: 2, 0, 2
    assert r.loc["x", ["mean_regret", "max_regret"]].tolist() == pytest.approx([2 / 3, 1])
    assert r.loc["y", ["mean_regret", "max_regret"]].tolist() == pytest.approx([4 / 3, 4])
    assert r.loc["z", ["mean_regret", "max_regret"]].tolist() == pytest.approx([4 / 3, 2])
    assert list(regret["scenario"]) == ["x", "z", "y"]  # least max regret first
    assert r.loc["y", "share_best"] == pytest.approx(2 / 3)  # ties count as best for both


def test_robustness_errors(model):
    with pytest.raises(SensitivityError, match="at least two scenarios"):
        robustness(model, {"A": {}}, SPEC, "Score", 10, 10, 0)
    with pytest.raises(SensitivityError, match="direction must be one of"):
        robustness(model, {"A": {}, "B": {}}, SPEC, "Score", 10, 10, 0, direction="up")
    with pytest.raises(SensitivityError, match="NaN"):
        robustness_tables(pd.DataFrame({"a": [1.0, np.nan], "b": [1.0, 2.0]}))
