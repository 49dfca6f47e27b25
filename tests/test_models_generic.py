"""One suite for every registered model: the same checks, whatever the model.

For each model of ``models/registry.toml``: its ``model.toml`` and data files agree with the model
file; the catalogue's baselines are the ``.mdl`` constants; every lever and shock, alone at its
documented strength, moves each KPI in the direction its catalogue documents (at 2035); the
levers' cost rules add up to the model's annual cost variable and that integrates to the
cumulative one; the built-in scenarios run; the dashboard exercises' solutions meet their goals;
a small Monte Carlo study over the model's uncertainty file runs; and (slow) the engine agrees
with pysd over the first years. A second model added to the registry is tested by this file with
no new test code.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import model_info

import policies
import simulator
from innosim.registry import load_registry

MODELS = list(load_registry().names)
EFFECT_YEAR = 2035.0          # the catalogues document each effect's direction in this year
PYSD_YEARS = 4.0              # years of the engine-against-pysd comparison (pysd is slow)


def numpy_options(**kw) -> simulator.RunOptions:
    """Run options of the plain numpy path: the engine's reference path, for the pysd comparison."""
    names = {f.name for f in dataclasses.fields(simulator.RunOptions)}
    return simulator.RunOptions(**({"backend": "numpy"} if "backend" in names else {}), **kw)


def fast_options(**kw) -> simulator.RunOptions:
    """The engine's default options (its fused kernel where it has one: the suite compiles it
    once per machine for the dashboard tests anyway)."""
    return simulator.RunOptions(**kw)


@pytest.fixture(scope="module", params=MODELS)
def case(request):
    info = model_info(request.param)
    model = simulator.load(info.path)
    return info, model, info.catalogue()


def run(model, catalogue, scenario, outputs=None):
    params = policies.scenario_params(scenario, model, catalogue=catalogue)
    return model.run(params, method="euler", options=fast_options(), outputs=outputs)


def at(result, name: str, year: float) -> float:
    k = int(np.argmin(np.abs(result.times - year)))
    return float(np.asarray(result[name])[k].sum())   # a per-region variable: summed over regions


# ---------------------------------------------------------------------------- data files
def test_model_toml_matches_the_model_and_its_files(case):
    info, model, cat = case
    assert info.title["zh"] and info.title["en"] and info.description["en"]
    assert cat.model_path.resolve() == info.path
    assert set(info.default_kpis) <= set(cat.kpis), "default KPIs must be catalogue KPIs"
    t0, tf = (float(model.control[k]) for k in ("initial_time", "final_time"))
    assert info.report_years and all(t0 <= y <= tf for y in info.report_years)
    assert info.calibrated == ("calibration_setup" in info.files)
    if not info.calibrated:
        assert info.notice and "ncalibrated" in info.notice["en"]   # the CLI, report and page show it
    for key in ("levers", "scenarios", "uncertainties", "exercises", "assumptions"):
        assert key in info.files, f"{info.name} has no {key}"


def test_catalogue_baselines_are_the_model_constants(case):
    info, model, cat = case
    policies.check_against_model(cat, model)     # raises on any mismatch
    for item in cat.items.values():
        value = policies.constant_value(model, item.constant)
        assert value is not None and np.allclose(value, item.baseline), item.id
        assert "kind: " + item.kind in model.variables[item.constant].documentation, item.id
    assert cat.areas and all(cat.areas[i.area]["zh"] for i in cat.items.values())


def test_every_built_in_scenario_runs_and_ids_are_unique(case):
    info, model, cat = case
    scenarios = policies.builtin_scenarios(catalogue=cat)
    ids = [s.id for s in scenarios]
    assert ids[0] == "baseline" and len(set(ids)) == len(ids)
    for lv in cat.levers.values():
        assert f"alone-{lv.id}" in ids, f"{info.name}: no alone-{lv.id} scenario"
    outputs = list(dict.fromkeys([*cat.kpis, *policies.cost_variables(cat)]))
    for sc in scenarios:
        res = run(model, cat, sc, outputs)
        for name in cat.kpis:
            assert np.isfinite(np.asarray(res[name])).all(), (sc.id, name)


# ---------------------------------------------------------------------------- behaviour
def test_each_lever_and_shock_alone_moves_kpis_as_documented(case):
    info, model, cat = case
    base = model.run(method="euler", options=fast_options())
    checked = 0
    for item in cat.items.values():
        if not item.effects:
            continue
        setting = {"value": item.alone}
        if item.subscript and item.alone_cities:
            setting["cities"] = list(item.alone_cities)
        section = "levers" if item.kind == "lever" else "shocks"
        sc = policies.scenario_from_dict({"id": f"t-{item.id}", section: {item.id: setting}}, catalogue=cat,
                                         cities=policies.regions(model, cat))
        res = run(model, cat, sc)
        for kpi, direction in item.effects.items():
            diff = at(res, kpi, EFFECT_YEAR) - at(base, kpi, EFFECT_YEAR)
            assert (diff > 0) if direction == "up" else (diff < 0), \
                f"{info.name}: {item.id} should move {kpi} {direction} in {EFFECT_YEAR:g}, moved {diff:+.4g}"
            checked += 1
    assert checked >= len(cat.levers)


def test_lever_costs_add_up_to_the_model_cost_variables(case):
    info, model, cat = case
    everything = {lv.id: {"value": lv.high} for lv in cat.levers.values()}
    sc = policies.scenario_from_dict({"id": "all-high", "levers": everything}, catalogue=cat)
    res = run(model, cat, sc, policies.cost_variables(cat))
    costs = policies.lever_costs(res, catalogue=cat)
    annual = np.asarray(res[cat.costs.annual])[:, 0]
    np.testing.assert_allclose(costs.sum(axis=1).to_numpy(), annual, rtol=1e-9, atol=1e-9)
    assert annual[-1] > 0
    # the cumulative cost is the integral of the annual one (Euler sums at the model's TIME STEP)
    fine = model.run(policies.scenario_params(sc, model, catalogue=cat), method="euler",
                     options=fast_options(), outputs=[cat.costs.annual, cat.costs.cumulative])
    cum = np.asarray(fine[cat.costs.cumulative])[:, 0]
    assert cum[0] == pytest.approx(0.0, abs=1e-9) and np.all(np.diff(cum) >= -1e-9)
    span = float(fine.times[-1] - fine.times[0])
    mean_annual = cum[-1] / span
    lo, hi = np.min(np.asarray(fine[cat.costs.annual])), np.max(np.asarray(fine[cat.costs.annual]))
    assert lo - 1e-9 <= mean_annual <= hi + 1e-9


def test_comparison_and_report_work(case, tmp_path):
    from policies.compare import compare, terminal_table
    from policies.report import write_report

    info, model, cat = case
    alone = next(f"alone-{lv}" for lv in cat.levers)
    comp = compare(model, [alone], catalogue=cat, years=list(info.report_years))
    table = terminal_table(comp, catalogue=cat, lang="zh")
    assert alone in table and cat.kpis[cat.headline_kpis[0]].short_label("zh") in table
    files = write_report(comp, tmp_path, catalogue=cat, title=info.title, notice=info.notice)
    html = files["report.html"].read_text(encoding="utf-8")
    assert info.title["en"] in html
    if info.notice:
        assert info.notice["en"] in html and info.notice["zh"] in html


def test_exercises_are_reachable_and_not_met_at_their_start(case):
    from dashboard.exercises import check_goal, load_exercises
    from dashboard.simulation import Simulation
    from innosim.commands.serve import model_setup

    info, model, cat = case
    sim = Simulation.from_setup(model_setup(info))
    sim.options = fast_options()
    exercises = load_exercises(sim, info.files["exercises"])
    assert exercises, f"{info.name} has no exercise"
    for ex in exercises.values():
        assert not check_goal(sim, ex, ex.preset)["met"], ex.id
        assert ex.solution is not None, ex.id
        done = check_goal(sim, ex, ex.solution)
        assert done["met"], (info.name, ex.id, done)


def test_small_monte_carlo_study_runs(case):
    from innosim.commands.sensitivity import default_kpis, default_year
    from sensitivity import EnsembleOptions, Study, load_uncertainties

    info, model, cat = case
    spec = load_uncertainties(info.files["uncertainties"], model=model)
    kpis = default_kpis(info)
    study = Study(model, spec, kpis=kpis, years=(default_year(info),),
                  options=EnsembleOptions(run_options=fast_options(), progress=False))
    mc = study.monte_carlo(16, seed=3)
    values = study.kpi_values(mc.ensemble)
    assert values.shape == (16, len(kpis)) and np.isfinite(values).all()
    assert (np.ptp(values, axis=0) > 0).any(), "the uncertainties move no KPI"


# ---------------------------------------------------------------------------- against pysd
@pytest.mark.slow
def test_engine_agrees_with_pysd_over_the_first_years(case):
    """Euler against Euler at the model's own TIME STEP: every common column within 1e-9 relative."""
    import pysd

    from simulator.parsing import pysd_read_vensim

    info, model, cat = case
    t0 = float(model.control["initial_time"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        translated = pysd_read_vensim(info.path)
    theirs = pysd.load(translated.py_model_file).run(final_time=t0 + PYSD_YEARS)
    ours = model.run(method="euler", options=numpy_options(final_time=t0 + PYSD_YEARS)).to_frame()
    control = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER", "Time"}
    common = [c for c in ours.columns if c in theirs.columns and c not in control]
    assert len(common) >= 0.8 * len([c for c in ours.columns if c not in control])
    assert list(ours.index) == list(pd.Index(theirs.index, dtype=float))
    rel = (ours[common] - theirs[common]).abs() / theirs[common].abs().clip(lower=1e-12)
    worst = rel.max().sort_values(ascending=False)
    assert worst.iloc[0] <= 1e-9, worst.head()
