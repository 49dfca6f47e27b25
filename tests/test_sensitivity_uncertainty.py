"""Uncertainty specifications: distributions, sampling, defaults from the model, and errors that
name the file and the key."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, eq
from scipy import stats

import simulator
from sensitivity import (
    LogNormal,
    Normal,
    Triangular,
    Uncertainty,
    UncertaintySpec,
    UncertaintySpecError,
    Uniform,
    load_uncertainties,
)
from sensitivity.uncertainty import TAIL, from_model

MODEL = (eq("Stock", "INTEG(Rate * Stock, Initial)", "widgets")
         + eq("Rate", "0.1", "1/Month", "en: growth; source: test; range: 0.05..0.2")
         + eq("Initial", "10", "widgets [1,100]", "only Vensim limits")
         + eq("Fixed", "3", "widgets", "range: 3..3")
         + eq("Lever", "1", "Dmnl", "a decision; range: 0..2; kind: lever")
         + eq("Shock", "0", "Dmnl", "range: 0..1; kind: shock")
         + eq("Calibrated Thing", "0.5", "Dmnl", "range: 0.1..0.9; kind: calibrated")
         + eq("Output", "Stock * Lever + Shock + Fixed * Calibrated Thing"))


@pytest.fixture
def model(write_mdl):
    return simulator.load(write_mdl(MODEL))


def write(tmp_path, text, name="u.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------ distributions
def test_quantile_functions_match_scipy():
    u = np.linspace(0.01, 0.99, 41)
    np.testing.assert_allclose(Uniform(2, 6).ppf(u), 2 + 4 * u)
    np.testing.assert_allclose(Triangular(0.1, 0.3, 1.0).ppf(u),
                               stats.triang(c=0.2 / 0.9, loc=0.1, scale=0.9).ppf(u), rtol=1e-12)
    # a truncated normal is scipy's truncnorm (bounds well inside the TAIL cut)
    d = Normal(4, 1, 3, 6)
    np.testing.assert_allclose(d.ppf(u), stats.truncnorm(-1, 2, loc=4, scale=1).ppf(u), rtol=1e-10)
    assert LogNormal(4, 0.5).ppf(np.array([0.5]))[0] == pytest.approx(4)


def test_unbounded_tails_are_cut_so_the_cube_corners_stay_finite():
    d = Normal(0, 1)
    lo, hi = d.ppf(np.array([0.0, 1.0]))
    assert (lo, hi) == pytest.approx((stats.norm.ppf(TAIL), stats.norm.ppf(1 - TAIL)))
    assert np.isfinite(LogNormal(1, 2).ppf(np.array([0.0, 1.0]))).all()
    # a bound far in the tail does not bring infinity back (cdf(3) rounds to 1 here)
    assert np.isfinite(Normal(0.4, 0.04, 0, 3).ppf(np.array([0.0, 1.0]))).all()


@pytest.mark.parametrize("make, message", [
    (lambda: Uniform(1, 1), "bounds reversed or empty"),
    (lambda: Uniform(2, 1), "bounds reversed"),
    (lambda: Triangular(0, 2, 1), "mode 2 lies outside"),
    (lambda: Normal(0, 0), "sd must be positive"),
    (lambda: Normal(0, 1, 50, 60), "holds no probability mass"),
    (lambda: LogNormal(-1, 1), "median must be positive"),
])
def test_distributions_validate_themselves(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_sampling_is_reproducible_and_seed_dependent():
    spec = UncertaintySpec((Uncertainty("a", Uniform(0, 1)), Uncertainty("b", Normal(5, 2, 0, 10))))
    s1, s2, s3 = (spec.sample(500, seed=s) for s in (7, 7, 8))
    assert s1.equals(s2)
    assert not np.allclose(s1.to_numpy(), s3.to_numpy())
    assert list(s1.columns) == ["a", "b"] and s1.index.name == "member"
    assert s1["b"].between(0, 10).all()
    # a Generator works as well as an int seed
    assert spec.sample(5, seed=np.random.default_rng(7)).equals(spec.sample(5, seed=7))


def test_latin_hypercube_puts_one_point_in_every_slice():
    spec = UncertaintySpec((Uncertainty("a", Uniform(0, 1)), Uncertainty("b", Uniform(0, 10))))
    s = spec.sample(50, seed=1, scheme="latin")
    for col, width in (("a", 1), ("b", 10)):
        slots = np.floor(s[col].to_numpy() / width * 50).astype(int)
        assert sorted(slots) == list(range(50))


# ------------------------------------------------------------------ files
def test_file_with_every_distribution_and_model_defaults(tmp_path, model):
    p = write(tmp_path, """
        [spec]
        description = "test"
        [uncertainties.rate]              # names are matched as Vensim does: case and spaces
        source = "documented range"
        [uncertainties.Initial]
        distribution = "uniform"          # no min/max: the Vensim [1,100] limits
        [uncertainties."Calibrated Thing"]
        distribution = "triangular"
        min = 0.2
        mode = 0.5
        max = 0.9
        assumption = true
    """)
    spec = load_uncertainties(p, model=model)
    assert spec.names == ["Rate", "Initial", "Calibrated Thing"]
    assert spec["rate"].distribution == Uniform(0.05, 0.2)
    assert spec["Initial"].distribution == Uniform(1, 100)
    assert spec["Calibrated Thing"].assumption is True
    assert spec.description == "test"
    table = spec.to_frame()
    assert table["low"].tolist() == pytest.approx([0.05, 1, 0.2])
    assert table["high"].tolist() == pytest.approx([0.2, 100, 0.9])


def test_normal_and_lognormal_entries_with_truncation(tmp_path):
    p = write(tmp_path, """
        [uncertainties.a]
        distribution = "normal"
        mean = 4.0
        sd = 1.0
        min = 2
        max = 6
        [uncertainties.b]
        distribution = "lognormal"
        median = 4.0
        sigma = 0.35
        range = [2, 10]
    """)
    spec = load_uncertainties(p)  # no model: names are not checked, ranges must be explicit
    assert spec["a"].distribution == Normal(4, 1, 2, 6)
    assert spec["b"].distribution == LogNormal(4, 0.35, 2, 10)
    x = spec.sample(2000, seed=0)
    assert x["a"].between(2, 6).all() and x["b"].between(2, 10).all()
    assert x["b"].median() == pytest.approx(4, rel=0.05)


@pytest.mark.parametrize("text, fragments", [
    ('[uncertainties."Rait"]\n', ["[uncertainties.\"Rait\"]", "no constant named 'Rait'", "Did you mean 'Rate'"]),
    ('[uncertainties.Rate]\ndistribution = "gaussian"\n', ["[uncertainties.\"Rate\"]", "unknown distribution 'gaussian'"]),
    ('[uncertainties.Rate]\nmin = 0.3\nmax = 0.1\n', ["[uncertainties.\"Rate\"]", "bounds reversed", "min = 0.3, max = 0.1"]),
    ('[uncertainties.Rate]\ndistribution = "triangular"\nmin = 0\nmax = 1\n', ["needs mode"]),
    ('[uncertainties.Rate]\ndistribution = "normal"\nmean = 1\nsigma = 1\n', ["unknown key(s) sigma", "mean, sd"]),
    ('[uncertainties.Rate]\nmin = "low"\nmax = 1\n', ["min must be a number"]),
    ('[uncertainties.Lever]\n', ["[uncertainties.\"Lever\"]", "is a lever (a decision)", "scenario"]),
    ('[uncertainties.Shock]\n', ["is a shock (a scenario input)"]),
    ('[uncertainties.Output]\n', ["'Output' is a auxiliary, not a constant"]),
    ('[uncertainties.Fixed]\n', ["give min and max", "no range"]),
    ('[uncertainties.Rate\nmin = 1\n', ["malformed TOML", "line 1"]),
    ('[uncertainties]\n', ["no [uncertainties.\"Name\"] tables"]),
    ('[uncertanties.Rate]\n', ["unknown top-level key(s) uncertanties"]),
])
def test_validation_errors_name_file_and_key(tmp_path, model, text, fragments):
    p = write(tmp_path, text)
    with pytest.raises(UncertaintySpecError) as info:
        load_uncertainties(p, model=model)
    msg = str(info.value)
    assert msg.startswith(str(p)), msg
    for f in fragments:
        assert f in msg, msg


def test_missing_file(tmp_path):
    with pytest.raises(UncertaintySpecError, match=r"nope\.toml: uncertainty file not found"):
        load_uncertainties(tmp_path / "nope.toml")


def test_subscripted_cells_are_resolved_and_checked(write_mdl, tmp_path):
    body = ("Region: north, south\n\t~\t\n\t~\t\n\t|\n\n"
            + eq("Share[Region]", "0.4, 0.6", "Dmnl [0,1]") + eq("Total", "SUM(Share[Region!])"))
    m = simulator.load(write_mdl(body))
    spec = load_uncertainties(write(tmp_path, '[uncertainties."share[NORTH]"]\n'), model=m)
    assert spec.names == ["Share[north]"] and spec.uncertainties[0].distribution == Uniform(0, 1)
    with pytest.raises(UncertaintySpecError, match="'west' is not an element of 'Region'"):
        load_uncertainties(write(tmp_path, '[uncertainties."Share[west]"]\n', "bad.toml"), model=m)


def test_from_model_skips_levers_shocks_fixed_and_controls(model):
    spec = from_model(model)
    assert spec.names == ["Rate", "Initial", "Calibrated Thing"]


def test_flagship_uncertainty_file():
    model = simulator.load(ROOT / "models" / "zhejiang_innovation_openness.mdl")
    spec = load_uncertainties(ROOT / "models" / "zhejiang_innovation_openness" / "uncertainties.toml", model=model)
    assert len(spec) >= 12
    assert all(u.source for u in spec), "every entry cites its source"
    # sources are reference keys into docs/references.md, never paths a user does not have
    assert sum("[ref:" in u.source for u in spec) >= 8
    assert not any("parameters.md" in u.source or "../shared" in u.source for u in spec)
    kinds = {n: v.documentation for n, v in model.variables.items()}
    for u in spec:
        assert "kind: lever" not in kinds[u.name] and "kind: shock" not in kinds[u.name]
    spans = spec.spans()
    assert np.all(spans[:, 0] < spans[:, 1]) and np.isfinite(spans).all()
    assert spec.model_path.resolve() == (ROOT / "models" / "zhejiang_innovation_openness.mdl").resolve()
    med = spec.medians()
    assert np.all((spans[:, 0] <= med) & (med <= spans[:, 1]))
