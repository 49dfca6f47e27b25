"""Sterman (2000, ch. 21) tests of the flagship model, automated.

Extreme conditions (every lever and shock at both ends, zero external demand, zero R&D) run as one
ensemble; integration error (half the time step, RK45 against Euler); the policy responses the
model must reproduce from the published evidence (docs/levers-evidence.md); the budget ceiling.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import flagship_catalogue

import policies
import simulator
from simulator.calibrate.mdlfile import doc_field, read_elements

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "zhejiang_innovation_openness.mdl"
ELEMENTS = read_elements(MODEL)
KPIS = ["High Tech Exports", "RD Expenditure", "High Tech Enterprises", "Industrial Clusters",
        "Export Competitiveness", "Fiscal Cost"]
HEADLINE = ["High Tech Exports", "RD Expenditure", "High Tech Enterprises"]


@pytest.fixture(scope="module")
def model():
    return simulator.load(MODEL)


@pytest.fixture(scope="module")
def cat():
    return flagship_catalogue()


@pytest.fixture(scope="module")
def base(model):
    return model.run(method="euler").to_frame()


def _range(name: str) -> tuple[float, float]:
    lo, hi = doc_field(ELEMENTS[name].doc, "range").split("..")
    return float(lo), float(hi)


def _kind(kind: str) -> list[str]:
    return [n for n, e in ELEMENTS.items() if doc_field(e.doc, "kind") == kind]


def _stocks(model) -> list[str]:
    return list(model.stocks)


# ----------------------------------------------------------------------------- extreme conditions
def _extreme_cases(model):
    names = _kind("lever") + _kind("shock")
    cities = model.subscripts["City"]
    cases = [({n: _range(n)[i]}, f"{n}={'lo' if i == 0 else 'hi'}") for n in names for i in (0, 1)]
    cases += [({n: _range(n)[i] for n in names}, f"all={'lo' if i == 0 else 'hi'}") for i in (0, 1)]
    cases += [({"External Demand Multiplier": 0.0}, "zero demand"),
              ({"Reference RD Intensity": 0.0, "Initial RD Intensity": 0.0}, "zero R&D"),
              ({"Budget Ceiling Switch": 0.0, **{n: _range(n)[1] for n in _kind("lever")}},
               "all levers max, no ceiling")]
    members = {}
    for i, (case, _) in enumerate(cases):
        for name, v in case.items():
            keys = [f"{name}[{c}]" for c in cities] if ELEMENTS[name].equation.startswith(f"{name}[") else [name]
            for k in keys:
                members.setdefault(k, {})[i] = v
    return cases, members


@pytest.fixture(scope="module")
def extreme(model):
    cases, members = _extreme_cases(model)
    n = len(cases)
    params = {}
    for key, vals in members.items():
        name = key.split("[")[0]
        default = float(np.ravel(model.program.defaults[model.variable(name).idx])[0])
        arr = np.full(n, default)
        for i, v in vals.items():
            arr[i] = v
        params[key] = arr
    res = model.run(params, method="euler", options=simulator.RunOptions(check_finite=False))
    return cases, res


def test_extreme_conditions_no_nan_no_negative_stock(model, extreme):
    cases, res = extreme
    bad = []
    for name in _stocks(model) + ["Export Competitiveness", "Technology Level", "High Tech Exports"]:
        arr = np.asarray(res[name], dtype=float)
        arr = arr.reshape(arr.shape[0], -1, arr.shape[-1])
        for i, (_, label) in enumerate(cases):
            v = arr[..., i]
            if not np.isfinite(v).all():
                bad.append(f"{label}: {name} not finite")
            elif name != "Export Competitiveness" and v.min() < -1e-9:
                bad.append(f"{label}: {name} negative ({v.min():.3g})")
    assert not bad, "\n".join(bad[:20])
    tc = np.asarray(res["Export Competitiveness"])
    assert tc.min() >= -1 and tc.max() <= 1
    assert np.asarray(res["Technology Level"]).max() <= 1


def test_zero_demand_means_no_exports_and_fewer_firms(extreme):
    cases, res = extreme
    labels = [c[1] for c in cases]
    z = labels.index("zero demand")
    exports = np.asarray(res["High Tech Exports"])[:, z]
    assert np.all(exports == 0)
    cap = np.asarray(res["High Tech Export Capacity"])[:, z]
    assert cap[-1] < 0.01 * cap[0]
    hte = np.asarray(res["High Tech Enterprises"])
    base_i = labels.index("External Demand Multiplier=hi")  # demand doubled
    assert hte[-1, z] < hte[-1, base_i]


def test_zero_rd_means_no_knowledge(extreme):
    cases, res = extreme
    z = [c[1] for c in cases].index("zero R&D")
    k = np.asarray(res["RD Knowledge Stock"])[:, z]
    rd = np.asarray(res["RD Expenditure"])[:, z]
    talent = np.asarray(res["RD Talent"])[:, z]
    assert np.all(rd == 0) and np.all(talent == 0)
    # no researchers: no absorptive capacity, so no spillovers either
    assert np.all(np.asarray(res["Absorptive Capacity"])[:, z] == 0) and np.all(k == 0)


def test_rd_stopped_knowledge_decays(model):
    df = model.run({"Reference RD Intensity": 0.0}, method="euler").to_frame()
    k = df["RD Knowledge Stock"]
    assert df["RD Expenditure"][2030] < 1e-3 * df["RD Expenditure"][2008]
    assert k[2050] < 0.02 * k.max()


# ----------------------------------------------------------------------------- integration error
def test_integration_error_half_step_and_rk45(model, cat):
    dt = model.control["time_step"]
    sc = policies.load_scenario("policy-package", catalogue=cat)
    for params in ({}, policies.scenario_params(sc, model, catalogue=cat)):
        eu = model.run(params, method="euler", outputs=KPIS).to_frame()
        half = model.run(params, method="euler", options=simulator.RunOptions(time_step=dt / 2),
                         outputs=KPIS).to_frame()
        rk = model.run(params, method="RK45", options=simulator.RunOptions(rtol=1e-8, atol=1e-8),
                       outputs=KPIS).to_frame()
        _check_close(eu, half, rk)


def _check_close(eu, half, rk):
    for other, label in ((half, "dt/2"), (rk, "RK45")):
        rel = ((eu[KPIS] - other[KPIS]).abs() / other[KPIS].abs().clip(lower=1e-9)).to_numpy().max()
        assert rel < 0.01, f"Euler vs {label}: {rel:.2%}"


# ----------------------------------------------------------------------------- policy responses
def _scenario(model, cat, levers=None, shocks=None):
    sc = policies.scenario_from_dict({"id": "t", "levers": levers or {}, "shocks": shocks or {}}, catalogue=cat)
    return model.run(policies.scenario_params(sc, model, catalogue=cat), method="euler").to_frame()


def _change(df, base, name, year):
    return df[name][year] / base[name][year] - 1


def test_super_deduction_response_within_published_range(model, cat, base):
    df = _scenario(model, cat, {"rd_super_deduction": {"value": 1.5, "start": 2025}})
    assert 0.05 <= _change(df, base, "RD Expenditure", 2035) <= 0.30


@pytest.mark.parametrize("lever", [lv for lv in flagship_catalogue().levers if lv != "odi_ma_support"])
def test_every_lever_moves_a_headline_kpi_at_its_maximum(model, cat, base, lever):
    lv = cat.levers[lever]
    setting = {"value": lv.high, "start": 2025}
    if lv.alone_cities:
        setting["cities"] = list(lv.alone_cities)
    df = _scenario(model, cat, {lever: setting})
    # a headline KPI, or an outcome the catalogue says the lever is for (regional and market levers
    # move shares and concentration, not province totals); the cost is not an outcome
    outcomes = [*HEADLINE, *(k for k in lv.effects if k != "Fiscal Cost")]
    moves = {k: abs(_change(df, base, k, 2035)) for k in outcomes}
    assert max(moves.values()) >= 0.01, moves
    for kpi, direction in lv.effects.items():  # and in the direction the catalogue states
        change = _change(df, base, kpi, 2035)
        assert change > 0 if direction == "up" else change < 0, (kpi, direction, change)


def test_odi_support_matters_only_above_the_absorptive_threshold(model, cat, base):
    high = {"odi_ma_support": {"value": 100, "start": 2025}}
    df = _scenario(model, cat, high)
    assert max(abs(_change(df, base, k, 2035)) for k in HEADLINE) < 0.01
    lo = _range("ODI Absorptive Threshold")[0]
    b2 = model.run({"ODI Absorptive Threshold": lo}, method="euler").to_frame()
    sc = policies.scenario_from_dict({"id": "t", "levers": high}, catalogue=cat)
    p = {**policies.scenario_params(sc, model, catalogue=cat), "ODI Absorptive Threshold": lo}
    d2 = model.run(p, method="euler").to_frame()
    assert _change(d2, b2, "RD Knowledge Stock", 2035) > 0.002


def test_all_levers_at_maximum_keep_rd_intensity_bounded(model, cat, base):
    df = _scenario(model, cat, {lv.id: {"value": lv.high, "start": 2025} for lv in cat.levers.values()})
    assert df["RD Intensity"].max() <= 2.4 * base["RD Intensity"][2023]
    assert df["Fiscal Lever Scale"].min() < 1  # the ceiling binds ...
    assert df["Fiscal Cost Share of GDP"].max() <= model_value(model, "Budget Ceiling Share") + 1e-9


def model_value(model, name):
    return float(np.ravel(model.program.defaults[model.variable(name).idx])[0])


def test_budget_ceiling_can_be_switched_off(model, cat):
    levers = {lv.id: {"value": lv.high, "start": 2025} for lv in cat.levers.values()}
    sc = policies.scenario_from_dict({"id": "t", "levers": levers}, catalogue=cat)
    p = policies.scenario_params(sc, model, catalogue=cat)
    on = model.run(p, method="euler").to_frame()
    off = model.run({**p, "Budget Ceiling Switch": 0}, method="euler").to_frame()
    assert (off["Fiscal Lever Scale"] == 1).all()
    assert off["Fiscal Cost"][2035] > on["Fiscal Cost"][2035]


def test_clusters_saturate(base):
    assert base["Industrial Clusters"][2050] <= 45


def test_half_external_demand_hits_exports_and_enterprises(model, cat, base):
    df = _scenario(model, cat, shocks={"external_demand": {"value": 0.5, "start": 2025}})
    assert _change(df, base, "High Tech Exports", 2030) <= -0.25
    assert _change(df, base, "High Tech Enterprises", 2035) <= -0.05
    assert _change(df, base, "High Tech Export Capacity", 2035) <= -0.25


def test_investment_flows_within_20_percent(base):
    assert abs(base["FDI Inflow"][2017] / 1207.3 - 1) <= 0.2
    # 亿元 = 1e8 yuan; January-November and January-August figures annualised
    assert abs(base["FDI Inflow"][2023] / (18.93e9 * 12 / 11 * 7.0467 / 1e8) - 1) <= 0.2
    assert abs(base["ODI Outflow"][2016] / (7.69e9 * 12 / 8 * 6.6423 / 1e8) - 1) <= 0.2


def test_one_effective_cit_rate_in_tax_price_and_cost(base):
    t = base["Effective CIT Rate on RD"]
    price = (1 - base["Applied RD Subsidy Rate"]) * (1 - t * (1 + base["Effective Super Deduction Ratio"]))
    np.testing.assert_allclose(base["Tax Price of RD"], price, rtol=1e-12)
    cost = base["Effective Super Deduction Ratio"] * base["Eligible RD Share"] * base["RD Expenditure"] * t
    np.testing.assert_allclose(base["Super Deduction Cost"], cost, rtol=1e-12)
