"""Scenario and catalogue files at the edge: non-finite and out-of-range numbers, unsafe ids, bounded
TOML. Each silent wrong answer seen before has a named regression test here. Parsing only: the
real catalogue, no model run."""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import flagship_catalogue

import policies
from policies import PolicyError, Scenario, Setting, scenario_from_dict
from policies.apply import check_horizon, profile_points
from simulator.errors import SimulatorError
from simulator.tomlfile import MAX_DEPTH, read_toml


@pytest.fixture(scope="module")
def cat():
    return flagship_catalogue()


def parse(cat, **top):
    return scenario_from_dict({"id": "t", **top}, source="t.toml", catalogue=cat)


def lever(cat, **setting):
    return parse(cat, levers={"incubators": {"value": 20, **setting}})


# ------------------------------------------------------------------------------ silent wrong answers
def test_ramp_nan_is_refused_instead_of_becoming_a_step(cat):
    with pytest.raises(PolicyError, match=r"t.toml: levers.incubators.ramp must be a finite number, got nan"):
        lever(cat, ramp=math.nan)


def test_ramp_inf_is_refused_instead_of_never_moving(cat):
    with pytest.raises(PolicyError, match=r"levers.incubators.ramp must be a finite number, got inf"):
        lever(cat, ramp=math.inf)


def test_budget_cap_nan_is_refused_instead_of_within_budget(cat):
    with pytest.raises(PolicyError, match=r"t.toml: budget_cap must be a finite number, got nan"):
        parse(cat, budget_cap=math.nan)


def test_scenarios_built_in_code_are_checked_before_a_run():
    """The dashboard and ``with_setting`` build Settings without a file: same rules."""
    bad = Scenario(id="t", name={}, description={}, source="code",
                   levers={"incubators": Setting(item="incubators", value=20, start=2025, ramp=math.nan)})
    with pytest.raises(PolicyError, match=r"code: levers.incubators.ramp = nan is not a finite number"):
        check_horizon(bad, 2008, 2050)
    capped = Scenario(id="t", name={}, description={}, source="code", budget_cap=math.nan)
    with pytest.raises(PolicyError, match=r"budget_cap = nan must be a finite number >= 0"):
        check_horizon(capped, 2008, 2050)


def test_a_ramp_still_ramps(cat):
    sc = lever(cat, start=2025, ramp=5)
    xs, ys = profile_points(sc.levers["incubators"], 10.0, 20.0, 2008, 2050)
    assert list(xs) == [2008, 2025, 2030, 2050] and list(ys) == [10, 10, 20, 20]


# ------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize("setting, words", [
    ({"start": math.nan}, "levers.incubators.start must be a finite number, got nan"),
    ({"start": math.inf}, "levers.incubators.start must be a finite number, got inf"),
    ({"end": math.nan}, "levers.incubators.end must be a finite number, got nan"),
    ({"end": -math.inf}, "levers.incubators.end must be a finite number, got -inf"),
    ({"value": math.nan}, "levers.incubators.value must be a finite number, got nan"),
    ({"value": 10**400}, "levers.incubators.value = 100000000000000000...0000000000000000000 is too large"),
    ({"value": 1e300}, "is outside the allowed range"),
    ({"ramp": -1}, "ramp = -1 must not be negative"),
    ({"start": 1.7e308, "ramp": 1.7e308}, "is not a finite year"),
    ({"value": True}, "value must be a number, got True"),
])
def test_non_finite_and_out_of_range_settings_name_the_field(cat, setting, words):
    with pytest.raises(PolicyError) as info:
        lever(cat, **setting)
    assert str(info.value).startswith("t.toml: ") and words in str(info.value)


def test_regional_settings_are_checked(cat):
    with pytest.raises(PolicyError, match=r"regional_fund.allocation.Quzhou must be a finite number, got nan"):
        parse(cat, levers={"regional_fund": {"allocation": {"Quzhou": math.nan}}})
    with pytest.raises(PolicyError, match=r"cities lists 'Quzhou' twice"):
        parse(cat, levers={"regional_fund": {"value": 5, "cities": ["Quzhou", "Quzhou"]}})
    with pytest.raises(PolicyError, match=r"cities must be a non-empty list of region names, got \[1, 2\]"):
        parse(cat, levers={"regional_fund": {"value": 5, "cities": [1, 2]}})


def test_budget_cap_must_be_finite_and_not_negative(cat):
    with pytest.raises(PolicyError, match="budget_cap must be a finite number, got inf"):
        parse(cat, budget_cap=math.inf)
    with pytest.raises(PolicyError, match="budget_cap = -1 must not be negative"):
        parse(cat, budget_cap=-1)
    assert parse(cat, budget_cap=0).budget_cap == 0


# ------------------------------------------------------------------------------ ids and texts
@pytest.mark.parametrize("sid, words", [
    ("../../ESCAPED", "not a safe file name"), ("/abs/path", "not a safe file name"),
    ("x" * 300, "300 characters long"), ("a..b", "contains '..'"), ("CON", "reserved device name"),
    (42, "must be text"),
])
def test_scenario_ids_are_safe_file_names(cat, sid, words):
    with pytest.raises(PolicyError) as info:
        scenario_from_dict({"id": sid}, source="s.toml", catalogue=cat)
    assert str(info.value).startswith("s.toml: id: ") and words in str(info.value)


def test_an_id_taken_from_the_file_name_says_so(cat, tmp_path):
    path = tmp_path / "my scenario.toml"
    path.write_text("[levers.incubators]\nvalue = 20\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"id \(taken from the file name; add id = \"...\"\)"):
        policies.load_scenario(path, catalogue=cat)


def test_every_built_in_scenario_id_is_safe(cat):
    assert len(policies.builtin_scenarios(catalogue=cat)) >= 5


def test_texts_and_extends_are_checked(cat):
    with pytest.raises(PolicyError, match=r"name.en is 201 characters long \(at most 200\)"):
        parse(cat, name={"en": "x" * 201})
    with pytest.raises(PolicyError, match=r"name.zh must be text, got 5"):
        parse(cat, name={"zh": 5})
    with pytest.raises(PolicyError, match=r"extends must be a scenario id or a .toml path, got 5"):
        parse(cat, extends=5)
    with pytest.raises(PolicyError, match=r"extends must be a scenario id"):
        parse(cat, extends="a\x00b")


def test_long_extends_chains_are_bounded(cat, tmp_path):
    for i in range(40):
        text = f'id = "s{i}"\n' + (f'extends = "{tmp_path / f"s{i + 1}.toml"}"\n' if i < 39 else "")
        (tmp_path / f"s{i}.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="'extends' chain is longer than 32 scenarios"):
        policies.load_scenario(tmp_path / "s0.toml", catalogue=cat)


# ------------------------------------------------------------------------------ the TOML reader
@pytest.mark.parametrize("text, words", [
    ("x = " + "[" * 100_000 + "]" * 100_000, "too deeply"),
    ("x = " + "{a = " * 50 + "1" + "}" * 50, f"more than {MAX_DEPTH} levels deep"),
    ("a." * 50_000 + "b = 1", f"more than {MAX_DEPTH} parts"),          # 100 s in tomllib
    ("[" + '"a" . ' * 20 + "b]", f"more than {MAX_DEPTH} parts"),
    ("x = " + "9" * 5000, "malformed TOML"),
    ("x = [" + ",".join(["1"] * 10_001) + "]", "x has more than 10000 items"),
    ("x = 1\ny == 2\n", "malformed TOML: Invalid value (at line 2, column 4)"),
], ids=["arrays-100k-deep", "inline-tables-50-deep", "dotted-key-50k", "quoted-header-20", "int-5000-digits",
        "array-10001", "syntax-error-line"])
def test_toml_reader_bounds_depth_size_and_numbers(tmp_path, text, words):
    path = tmp_path / "f.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SimulatorError) as info:
        read_toml(path, "scenario file")
    assert str(info.value).startswith(str(path)) and words in str(info.value)


def test_toml_reader_refuses_huge_files_and_devices(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (300 << 10), encoding="utf-8")
    with pytest.raises(SimulatorError, match="larger than 256 KiB"):
        read_toml(path, "scenario file")
    with pytest.raises(SimulatorError, match="larger than 256 KiB"):
        read_toml("/dev/zero", "scenario file")     # bounded read: no endless loop
    with pytest.raises(SimulatorError, match="is a folder"):
        read_toml(tmp_path, "scenario file")


def test_catalogue_numbers_must_be_finite(tmp_path):
    text = flagship_catalogue().path.read_text(encoding="utf-8")
    bad = tmp_path / "levers.toml"
    bad.write_text(text.replace("baseline = 0.05\n", "baseline = nan\n", 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"levers.toml: lever 'rd_subsidy': baseline must be a finite number"):
        policies.load_catalogue(bad)


@pytest.mark.parametrize("start, ramp, end", [(2010, 0, 2010), (2010, 2, 2012), (2010, 1e-9, 2010),
                                              (2010.1, 0.2, 2010.3)])
def test_profiles_that_end_when_they_arrive_have_increasing_times(cat, start, ramp, end):
    """Found by fuzzing: end == start + ramp gave a repeated break time (not a valid time series)."""
    sc = lever(cat, start=start, ramp=ramp, end=end)
    xs, ys = profile_points(sc.levers["incubators"], 10.0, 20.0, 2008, 2050)
    assert (np.diff(xs) > 0).all() and ys.max() == 20 and ys[0] == ys[-1] == 10
