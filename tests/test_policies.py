"""Policy layer: catalogue, scenarios, time profiles, fiscal costs, comparison reports."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import flagship_catalogue

import policies
import simulator
from innosim.cli import main as cli_main
from policies.compare import compare, terminal_table
from policies.report import write_report

CAT = flagship_catalogue()
MODEL = CAT.model_path


@pytest.fixture(scope="module")
def model():
    return simulator.load(MODEL)


@pytest.fixture(scope="module")
def cat():
    return CAT


@pytest.fixture(scope="module")
def baseline(model):
    return model.run(method="euler")


def run(model, sc, cat):
    return model.run(policies.scenario_params(sc, model, catalogue=cat), method="euler")


def at(res, name, year):
    return float(np.asarray(res.at(name, year)).sum(axis=tuple(range(np.ndim(res.at(name, year)) - 1))).ravel()[0])


# ----------------------------------------------------------------------------- catalogue
def test_catalogue_matches_model(model, cat):
    policies.check_against_model(cat, model)   # raises on any mismatch
    assert len(cat.levers) >= 9 and {"trade_barrier", "pandemic", "cost_squeeze"} <= set(cat.shocks)
    for lv in cat.levers.values():
        assert lv.name["zh"] and lv.name["en"] and lv.description["zh"] and lv.description["en"]
        assert lv.source and lv.cost_variables and lv.low <= lv.baseline <= lv.high


def test_catalogue_baseline_mismatch_is_reported(model, tmp_path):
    text = CAT.path.read_text(encoding="utf-8")
    bad = tmp_path / "levers.toml"
    bad.write_text(text.replace("baseline = 0.05\n", "baseline = 0.07\n", 1)
                   .replace('model = "../', f'model = "{CAT.path.parent.parent}/'), encoding="utf-8")
    with pytest.raises(policies.PolicyError, match=r"levers.toml: lever 'rd_subsidy' has baseline 0.07"):
        policies.check_against_model(policies.load_catalogue(bad), model)


def test_alone_scenarios_use_documented_strength(cat):
    for lv in cat.levers.values():
        sc = policies.load_scenario(f"alone-{lv.id}", catalogue=cat)
        assert list(sc.levers) == [lv.id] and not sc.shocks
        assert sc.levers[lv.id].value == lv.alone


# ----------------------------------------------------------------------------- effects
@pytest.mark.parametrize("item_id", [i for i in CAT.items if CAT.get(i).effects])
def test_each_lever_and_shock_alone_moves_kpis_as_documented(model, cat, baseline, item_id):
    item = cat.get(item_id)
    section = "levers" if item.kind == "lever" else "shocks"
    setting = {"value": item.alone}
    if item.alone_cities:
        setting["cities"] = list(item.alone_cities)
    sc = policies.scenario_from_dict({"id": f"t-{item_id}", section: {item_id: setting}}, catalogue=cat)
    res = run(model, sc, cat)
    for kpi, direction in item.effects.items():
        b, v = at(baseline, kpi, 2035), at(res, kpi, 2035)
        change = (v - b) / abs(b)
        assert (change > 1e-5) if direction == "up" else (change < -1e-5), \
            f"{item_id}: {kpi} should go {direction}, changed {change:+.2e}"
        # nothing moves before the policy starts
        assert at(res, kpi, 2024) == pytest.approx(at(baseline, kpi, 2024), rel=1e-12)


def test_regional_fund_targets_only_the_listed_regions(model, cat, baseline):
    sc = policies.scenario_from_dict({"id": "lishui", "levers": {"regional_fund": {"value": 10, "cities": ["Lishui"]}}},
                                     catalogue=cat, cities=model.subscripts["City"])
    res = run(model, sc, cat)
    cities = model.subscripts["City"]
    def share(r):
        v = np.asarray(r.at("City High Tech Enterprises", 2035))[..., 0]
        return v / v.sum()

    gain = share(res) - share(baseline)
    assert gain[cities.index("Lishui")] > 0
    assert all(gain[i] < 0 for i, c in enumerate(cities) if c != "Lishui")


# ----------------------------------------------------------------------------- time profiles
def test_profile_step_ramp_and_end():
    st = policies.Setting(item="x", value=5.0, start=2025, ramp=0, end=2030)
    xs, ys = policies.profile_points(st, 1.0, 5.0, 2008, 2050)
    def f(t):
        return np.interp(t, xs, ys)

    assert f(2024.99) == 1.0 and f(2025) == 5.0 and f(2030) == 5.0 and f(2030.01) == 1.0 and f(2050) == 1.0
    st = policies.Setting(item="x", value=3.0, start=2025, ramp=4)
    xs, ys = policies.profile_points(st, 1.0, 3.0, 2008, 2050)
    assert np.interp(2027, xs, ys) == pytest.approx(2.0) and np.interp(2040, xs, ys) == 3.0
    assert xs[0] == 2008 and xs[-1] == 2050


def test_ramp_reaches_the_model_halfway(model, cat):
    sc = policies.scenario_from_dict({"id": "r", "levers": {"incubators": {"value": 30, "start": 2026, "ramp": 4}}},
                                     catalogue=cat)
    res = model.run(policies.scenario_params(sc, model, catalogue=cat), method="euler",
                    outputs=policies.cost_variables(cat))
    costs = policies.lever_costs(res, catalogue=cat)["incubators"]
    assert costs.loc[2025] == 10 and costs.loc[2028] == pytest.approx(20) and costs.loc[2030] == 30


# ----------------------------------------------------------------------------- fiscal cost
def test_fiscal_costs_by_hand(model, cat):
    sc = policies.load_scenario("alone-rd_super_deduction", catalogue=cat)
    res = run(model, sc, cat)
    costs = policies.lever_costs(res, catalogue=cat)
    # super-deduction: forgone CIT = effective ratio × eligible R&D × effective CIT rate.
    # In 2030 the historical ratio is 1.0 and the lever 1.5, so the effective ratio is 1.5;
    # eligible share 0.75; CIT rate 25 % less the 10-point preference on the high-tech share of R&D.
    rd = at(res, "RD Expenditure", 2030)
    hte_share = float(np.ravel(model.program.defaults[model.variable("HTE Share of RD").idx])[0])
    by_hand = 1.5 * 0.75 * rd * (0.25 - 0.10 * hte_share)
    assert costs.loc[2030, "rd_super_deduction"] == pytest.approx(by_hand, rel=1e-12)
    # programme outlays are the lever value itself: incubators 10 亿元/yr at baseline
    assert costs.loc[2030, "incubators"] == 10
    # the CIT preference costs rate cut × profit per enterprise × enterprises: 0.10 × 0.1 × HTE
    assert costs.loc[2030, "cit_preference"] == pytest.approx(0.10 * 0.1 * at(res, "High Tech Enterprises", 2030))
    # lever costs add up to the model's Fiscal Cost in every year
    total = np.asarray(res["Fiscal Cost"])[:, 0]
    assert np.allclose(costs.sum(axis=1).to_numpy(), total, rtol=1e-12)


def test_cumulative_extra_cost_of_a_step(model, cat):
    comp = compare(model, ["alone-incubators"], years=[2030, 2035], catalogue=cat)
    row = comp.kpis[(comp.kpis.scenario == "alone-incubators") & (comp.kpis.kpi == "High Tech Exports")]
    by_year = row.set_index("year")
    # +20 亿元/yr from 2025: a tax-free outlay, plus the small CIT preference on the extra enterprises
    direct = comp.costs[(comp.costs.scenario == "alone-incubators") & (comp.costs.lever == "incubators")]
    assert np.allclose(direct[direct.time >= 2025].extra_cost, 20.0)
    # cumulative extra = 20 亿元/yr × 5 years of outlay + the induced tax expenditures (mostly the
    # CIT preference on the extra enterprises), integrated over the same years
    induced = comp.costs[(comp.costs.scenario == "alone-incubators") & (comp.costs.lever != "incubators")]
    induced = induced.groupby("time").extra_cost.sum()
    for year in (2030, 2035):
        seg = induced.loc[2025:year]
        trap = float(((seg.to_numpy()[1:] + seg.to_numpy()[:-1]) / 2).sum())
        assert by_year.loc[year, "cum_extra_fiscal_cost"] == pytest.approx(20.0 * (year - 2025) + trap, rel=0.01)
    assert by_year.loc[2035, "effect_per_yi"] == pytest.approx(
        by_year.loc[2035, "policy_effect"] / by_year.loc[2035, "cum_extra_fiscal_cost"], rel=1e-9)


# ----------------------------------------------------------------------------- validation
def _write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("text, message", [
    ('id = "x"\n[levers.rd_subsidi]\nvalue = 0.1\n', r"s.toml: unknown lever 'rd_subsidi'. Did you mean 'rd_subsidy'"),
    ('id = "x"\n[levers.rd_subsidy]\nvalue = 0.9\n', r"s.toml: levers.rd_subsidy.value = 0.9 is outside the allowed range \[0, 0.5\]"),
    ('id = "x"\n[levers.rd_subsidy]\nvalue = "high"\n', r"levers.rd_subsidy.value must be a number"),
    ('id = "x"\n[levers.rd_subsidy]\nvalue = 0.1\nstrat = 2030\n', r"levers.rd_subsidy: unknown key 'strat'. Did you mean 'start'"),
    ('id = "x"\n[levers.rd_subsidy]\nvalue = 0.1\nstart = 2030\nramp = 5\nend = 2032\n', r"end = 2032 is before the ramp is complete"),
    ('id = "x"\n[levers.trade_barrier]\nvalue = 0.1\n', r"'trade_barrier' is a shock; put it under \[shocks\]"),
    ('id = "x"\n[levers.regional_fund]\nvalue = 5\ncities = ["Lishiu"]\n', r"unknown region 'Lishiu'. Did you mean 'Lishui'"),
    ('id = "x"\nbudget = 3\n', r"s.toml: unknown key 'budget'"),
    ('id = "x"\nextends = "no-such-scenario"\n', r"unknown scenario 'no-such-scenario'"),
    ('id = "x"\n[levers.rd_subsidy\nvalue = 0.1\n', r"s.toml: malformed TOML"),
])
def test_scenario_validation_errors(tmp_path, model, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(policies.PolicyError, match=message):
        policies.load_scenario(path, catalogue=CAT, cities=model.subscripts["City"])


def test_start_year_outside_the_run(tmp_path, model, cat):
    sc = policies.load_scenario(_write(tmp_path, 'id = "x"\n[levers.rd_subsidy]\nvalue = 0.1\nstart = 2060\n'),
                                catalogue=cat)
    with pytest.raises(policies.PolicyError, match=r"s.toml: levers.rd_subsidy.start = 2060 is outside the run 2008-2050"):
        policies.scenario_params(sc, model, catalogue=cat)


def test_missing_file_and_extends_cycle(tmp_path):
    with pytest.raises(policies.PolicyError, match=r"nope.toml: scenario file not found"):
        policies.load_scenario(tmp_path / "nope.toml", catalogue=CAT)
    _write(tmp_path, f'id = "a"\nextends = "{tmp_path / "b.toml"}"\n', "a.toml")
    _write(tmp_path, f'id = "b"\nextends = "{tmp_path / "a.toml"}"\n', "b.toml")
    with pytest.raises(policies.PolicyError, match=r"'extends' makes a cycle"):
        policies.load_scenario(tmp_path / "a.toml", catalogue=CAT)


def test_cli_reports_errors_without_traceback(capsys):
    assert cli_main(["compare", "policy-packag", "--out", "/nonexistent/never"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario 'policy-packag'" in err and "Did you mean 'policy-package'" in err
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- extends, purity
def test_extends_equals_fully_written_form(model, cat):
    child = policies.load_scenario("trade-shock+package", catalogue=cat)
    parent = policies.load_scenario("policy-package", catalogue=cat)
    written = {"id": "trade-shock+package", "levers": {k: s.as_dict() for k, s in parent.levers.items()},
               "shocks": {"trade_barrier": {"value": 0.25, "start": 2026}}}
    full = policies.scenario_from_dict(written, catalogue=cat)
    assert child.settings == full.settings
    pa, pb = (policies.scenario_params(s, model, catalogue=cat) for s in (child, full))
    ra, rb = model.run(pa, method="euler"), model.run(pb, method="euler")
    for name in ("High Tech Exports", "Cumulative Fiscal Cost", "City Industrial Clusters"):
        assert np.array_equal(ra[name], rb[name])
    assert child.budget_cap == parent.budget_cap == 250


def test_applying_scenarios_never_changes_the_model(model, cat):
    defaults = copy.deepcopy(model.program.defaults)
    before = model.run(method="euler", outputs=["High Tech Exports", "Fiscal Cost"])
    for sc in policies.builtin_scenarios(catalogue=cat):
        params = policies.scenario_params(sc, model, catalogue=cat)
        model.run(params, method="euler", outputs=["High Tech Exports"])
    after = model.run(method="euler", outputs=["High Tech Exports", "Fiscal Cost"])
    assert defaults.keys() == model.program.defaults.keys()
    for k, v in defaults.items():
        assert np.array_equal(np.asarray(v, dtype=object), np.asarray(model.program.defaults[k], dtype=object))
    assert np.array_equal(before["High Tech Exports"], after["High Tech Exports"])
    assert np.array_equal(before["Fiscal Cost"], after["Fiscal Cost"])


def test_adaptive_solver_agrees_with_euler_on_a_scenario(model, cat):
    sc = policies.load_scenario("policy-package", catalogue=cat)
    p = policies.scenario_params(sc, model, catalogue=cat)
    e = model.run(p, method="euler", outputs=["High Tech Exports"])
    r = model.run(p, method="RK45", outputs=["High Tech Exports"])
    # Euler at dt = 1/16 against an accurate solution of the same ODE: close, not identical
    assert np.allclose(e["High Tech Exports"], r["High Tech Exports"], rtol=0.02)


# ----------------------------------------------------------------------------- reports, CLI
@pytest.fixture(scope="module")
def comparison(model, cat):
    return compare(model, ["policy-package", "trade-shock", "trade-shock+package", "xiasha-model"],
                   years=[2030, 2035], catalogue=cat)


def test_comparison_tables(comparison, cat):
    k = comparison.kpis
    assert set(k.scenario) == {"baseline", "policy-package", "trade-shock", "trade-shock+package", "xiasha-model"}
    base = k[k.scenario == "baseline"]
    assert np.allclose(base["diff"], 0) and np.allclose(base["cum_extra_fiscal_cost"], 0)
    row = k[(k.scenario == "trade-shock") & (k.kpi == "High Tech Exports") & (k.year == 2035)].iloc[0]
    assert row.pct_diff < -5 and np.isnan(row.effect_per_yi)
    # under a shock, the package's own effect is measured against the shock alone
    tsp = k[(k.scenario == "trade-shock+package") & (k.kpi == "High Tech Exports") & (k.year == 2035)].iloc[0]
    assert tsp.policy_effect == pytest.approx(tsp.value - row.value, rel=1e-12)
    assert tsp.policy_effect > 0
    table = terminal_table(comparison, year=2035, catalogue=cat)
    for sc in comparison.scenarios:
        assert sc.id in table
    s = comparison.summary.set_index("scenario")
    assert s.loc["xiasha-model", "within_budget"] in (True, False)
    assert s.loc["policy-package", "peak_extra_fiscal_cost"] > 0


def test_report_files(comparison, cat, tmp_path):
    files = write_report(comparison, tmp_path, catalogue=cat)
    for name in ("kpis.csv", "kpis.xlsx", "timeseries.csv", "costs.csv", "report.html",
                 "trajectories.png", "differences.png", "cost_effect.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    for sc in comparison.scenarios:
        assert f'id="sc-{sc.id}"' in html and sc.name["zh"] in html
    assert html.count("data:image/png;base64,") == 3
    assert comparison.metadata["model_sha256"] in html
    assert "http://" not in html and "https://" not in html
    x = pd.read_excel(files["kpis.xlsx"], sheet_name="kpis")
    assert len(x) == len(comparison.kpis)


def test_cli_compare_levers_and_run(tmp_path, capsys):
    assert cli_main(["compare", "alone-incubators", "--years", "2035", "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "alone-incubators" in out and "baseline" in out and (tmp_path / "c" / "report.html").exists()
    assert cli_main(["levers", "--scenarios"]) == 0
    out = capsys.readouterr().out
    assert "rd_super_deduction" in out and "xiasha-model" in out
    assert cli_main(["run", "xiasha-model", "--out", str(tmp_path / "r")]) == 0
    df = pd.read_csv(tmp_path / "r" / "xiasha-model_euler.csv", index_col=0)
    assert "High Tech Exports" in df.columns


def test_scenario_file_that_is_not_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes('id = "x"\nname = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(policies.PolicyError, match=r"latin1.toml: scenario file is not UTF-8 text"):
        policies.load_scenario(p, catalogue=CAT)
