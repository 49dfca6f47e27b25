"""Uncertainty files at the edge: non-finite, reversed or overflowing settings and wrong types give
an ``UncertaintySpecError`` naming the file and the parameter, never another exception."""
from __future__ import annotations

import math

import pytest
from conftest import eq

from innosim.commands.sensitivity import main_sensitivity
from sensitivity.errors import UncertaintySpecError
from sensitivity.uncertainty import (
    Normal,
    Triangular,
    Uniform,
    load_uncertainties,
    parse_uncertainties,
)

MODEL = (eq("Stock", "INTEG(Rate * Stock, 10)", "widgets")
         + eq("Rate", "0.05", "1/Month", "range: 0.01..0.1")
         + eq("Wild", "1", "", "range: 0..1e999"))


def spec(**settings):
    return parse_uncertainties({"uncertainties": {"Rate": settings}}, path="u.toml")


def refused(words, **settings) -> str:
    with pytest.raises(UncertaintySpecError) as info:
        spec(**settings)
    message = str(info.value)
    assert message.startswith('u.toml: [uncertainties."Rate"]: '), message
    assert words in message, message
    return message


# ------------------------------------------------------------------------------ silent wrong answers
@pytest.mark.parametrize("settings", [
    {"min": 0.0, "max": math.inf}, {"min": -math.inf, "max": 1.0}, {"range": [0.0, math.inf]},
])
def test_infinite_bounds_are_refused_instead_of_a_zero_tornado_swing(settings):
    refused("must be a finite number, got", **settings)


@pytest.mark.parametrize("settings", [
    {"min": math.nan, "max": 1.0}, {"range": [0.0, math.nan]},
    {"distribution": "normal", "mean": math.nan, "sd": 1.0},
    {"distribution": "triangular", "min": 0, "mode": math.nan, "max": 1},
    {"distribution": "lognormal", "median": math.inf, "sigma": 1.0},
])
def test_nan_settings_are_refused(settings):
    refused("must be a finite number, got", **settings)


def test_unbounded_normal_says_to_leave_the_bound_out():
    refused("(leave max out for no bound)", distribution="normal", mean=0, sd=1, max=math.inf)


# ------------------------------------------------------------------------------ ranges and sizes
@pytest.mark.parametrize("settings, words", [
    ({"min": 2, "max": 1}, "bounds reversed or empty: min = 2, max = 1"),
    ({"min": 1, "max": 1}, "bounds reversed or empty"),
    ({"distribution": "normal", "mean": 0, "sd": 0}, "sd must be positive, got 0.0"),
    ({"distribution": "normal", "mean": 0, "sd": -1}, "sd must be positive"),
    ({"distribution": "lognormal", "median": 1, "sigma": 0}, "sigma must be positive"),
    ({"min": -1e308, "max": 1e308}, "gives values that are not finite numbers"),
    ({"distribution": "triangular", "min": -1e200, "mode": 0, "max": 1e200}, "not finite numbers"),
    ({"distribution": "normal", "mean": 1e308, "sd": 1e308}, "not finite numbers"),
    ({"min": 0, "max": 10**400}, "is too large"),
    ({"min": 0, "max": "1"}, "max must be a number, got '1'"),
    ({"min": 0, "max": True}, "max must be a number, got True"),
    ({"distribution": ["normal"]}, "unknown distribution ['normal']"),
    ({"distribution": "uniform", "min": 0, "max": 1, "source": 5}, "source must be text"),
    ({"min": 0, "max": 1, "source": "x" * 2001}, "source is 2001 characters long"),
    ({"range": [0]}, "range must be [min, max], got [0]"),
])
def test_bad_settings_name_the_parameter(settings, words):
    refused(words, **settings)


def test_distributions_built_in_code_check_themselves():
    for make in (lambda: Uniform(0, math.inf), lambda: Triangular(-math.inf, 0, 1), lambda: Normal(math.nan, 1)):
        with pytest.raises(ValueError):
            make()


def test_wrong_types_at_the_top_are_errors_not_type_errors():
    with pytest.raises(UncertaintySpecError, match=r"\[spec\] model must be text, got 5"):
        parse_uncertainties({"spec": {"model": 5}, "uncertainties": {"Rate": {"min": 0, "max": 1}}}, path="u.toml")
    with pytest.raises(UncertaintySpecError, match="expected a table"):
        parse_uncertainties([1, 2], path="u.toml")
    with pytest.raises(UncertaintySpecError, match="a parameter name must be 1-200 characters"):
        parse_uncertainties({"uncertainties": {"x" * 201: {"min": 0, "max": 1}}}, path="u.toml")


def test_a_documented_infinite_range_is_not_used(load_mdl):
    model = load_mdl(MODEL)
    with pytest.raises(UncertaintySpecError, match=r"Wild.*give min and max \(the model documents no range"):
        parse_uncertainties({"uncertainties": {"Wild": {}}}, model=model, path="u.toml")


def test_deep_file_is_an_uncertainty_error(tmp_path):
    path = tmp_path / "u.toml"
    path.write_text("x = " + "[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(UncertaintySpecError, match="too deeply"):
        load_uncertainties(path)


def test_cli_reports_an_infinite_bound_in_one_line(write_mdl, tmp_path, capsys):
    model = write_mdl(MODEL)
    toml = tmp_path / "u.toml"
    toml.write_text("[uncertainties.Rate]\nmin = 0.01\nmax = inf\n", encoding="utf-8")
    assert main_sensitivity(["--model", str(model), "--uncertainties", str(toml), "--kpi", "Stock",
                             "--method", "oat", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert 'u.toml: [uncertainties."Rate"]: max must be a finite number, got inf' in err
    assert not (tmp_path / "o").exists()
