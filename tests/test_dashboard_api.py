"""Workshop dashboard API (FastAPI TestClient): catalogue, runs, validation, exercises, submissions."""
from __future__ import annotations

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from conftest import dashboard_simulation  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from dashboard import DashboardError, create_app, load_assumptions, load_exercises  # noqa: E402
from dashboard.security import Access  # noqa: E402
from dashboard.store import default_data_dir  # noqa: E402
from innosim.commands.serve import main as serve_main  # noqa: E402

STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"
YEAR = 2035
TOKEN = "test-facilitator-token-0123456789"
FAC = {"Authorization": f"Bearer {TOKEN}"}


def make_client(sim, data_dir) -> TestClient:
    """An app on ``data_dir`` with a known facilitator token, addressed as http://localhost."""
    app = create_app(data_dir, simulation=sim, warm_up=False, access=Access(token=TOKEN))
    return TestClient(app, base_url="http://localhost")


@pytest.fixture(scope="module")
def sim():
    return dashboard_simulation()


@pytest.fixture
def client(sim, tmp_path):
    return make_client(sim, tmp_path / "data")


def run(client, state=None, **extra):
    r = client.post("/api/run", json={"state": state or {}, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def at(series, meta_years, year=YEAR):
    return series[meta_years.index(year)]


# ----------------------------------------------------------------------------- catalogue and assets
def test_meta_is_generated_from_catalogue_model_and_assumptions(client, sim):
    meta = client.get("/api/meta").json()
    cat = sim.catalogue
    assert [lv["id"] for lv in meta["levers"]] == list(cat.levers)
    assert [s["id"] for s in meta["shocks"]] == list(cat.shocks)
    for item in meta["levers"] + meta["shocks"]:
        assert item["name"]["zh"] and item["name"]["en"] and item["low"] <= item["baseline"] <= item["high"]
    assert {k["variable"] for k in meta["kpis"]} == set(cat.kpis)
    assert all(k["doc"]["zh"] and k["doc"]["en"] for k in meta["kpis"])     # labels from the model docs
    assert meta["defaults"]["charts"] == cat.headline_kpis[:4]
    assert meta["model"]["version"] == sim.model.sha256[:12]
    assert meta["model"]["cities"] == sim.model.subscripts["City"]
    assert len(meta["assumptions"]) >= 8
    for a in meta["assumptions"]:
        assert a["constant"] in sim.model.constants
        assert a["low"] <= a["baseline"] <= a["high"] and a["low"] < a["high"]
        assert f"range: {a['low']:g}..{a['high']:g}" in sim.model.variables[a["constant"]].documentation
        assert a["name"]["zh"] and a["name"]["en"] and a["doc"]["zh"] and a["doc"]["en"]
    assert len(meta["exercises"]) >= 4
    for ex in meta["exercises"]:
        assert ex["title"]["zh"] and ex["title"]["en"] and ex["brief"]["zh"] and ex["brief"]["en"]
        assert "solution" not in ex


def test_plotly_is_served_from_the_installed_package_and_pages_load_nothing_external(client):
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200 and "plotly.js" in r.text[:200]
    assert client.get("/").status_code == 200 and client.get("/facilitator").status_code == 200
    external = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import|fonts\.googleapis""")
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not external.search(text), f"{path.name} refers to an external resource"
        assert "cdn" not in text.lower(), path.name


# ----------------------------------------------------------------------------- runs
def test_run_changes_kpis_against_the_baseline_and_reports_extra_cost(client):
    years = client.get("/api/meta").json()["model"]["years"]
    base = client.get("/api/baseline").json()
    res = run(client, {"levers": {"rd_super_deduction": {"value": 1.5}}},
              kpis=["High Tech Exports", "RD Expenditure"], city_kpi="City Industrial Clusters", city_year=YEAR)
    assert set(res["kpis"]) == {"High Tech Exports", "RD Expenditure"}   # only what the page shows
    assert len(res["kpis"]["High Tech Exports"]) == len(years)
    assert at(res["kpis"]["RD Expenditure"], years) > at(base["kpis"]["RD Expenditure"], years) * 1.05
    assert at(res["kpis"]["High Tech Exports"], years) > at(base["kpis"]["High Tech Exports"], years)
    assert at(res["kpis"]["High Tech Exports"], years, 2020) == at(base["kpis"]["High Tech Exports"], years, 2020)
    cost = res["extra_cost"]
    assert at(cost, years, 2024) == 0 and at(cost, years) > 0 and cost[-1] > at(cost, years)
    assert res["city"]["year"] == YEAR and len(res["city"]["values"]) == 12
    assert res["state"] == {"levers": {"rd_super_deduction": {"value": 1.5}}, "shocks": {}, "assumptions": {}}


def test_shocks_and_assumptions_change_the_world_not_the_budget(client):
    years = client.get("/api/meta").json()["model"]["years"]
    base = client.get("/api/baseline").json()["kpis"]["High Tech Exports"]
    shock = run(client, {"shocks": {"trade_barrier": {"value": 0.25, "start": 2026}}}, kpis=["High Tech Exports"])
    assert at(shock["kpis"]["High Tech Exports"], years) < 0.9 * at(base, years)
    assert all(c == 0 for c in shock["extra_cost"])        # a shock never counts as saving money
    lbe = run(client, {"assumptions": {"lbe": 0.0}}, kpis=["High Tech Exports"])
    assert at(lbe["kpis"]["High Tech Exports"], years) < at(base, years)
    assert all(c == 0 for c in lbe["extra_cost"])


def test_regional_fund_for_chosen_cities_moves_those_cities(client):
    meta = client.get("/api/meta").json()
    cities = meta["model"]["cities"]
    base = client.get("/api/baseline").json()["cities"]["City High Tech Enterprises"]
    k = meta["model"]["years"].index(YEAR)
    res = run(client, {"levers": {"regional_fund": {"value": 20, "cities": ["Lishui", "Quzhou"]}}},
              city_kpi="City High Tech Enterprises", city_year=YEAR)
    values = res["city"]["values"]
    for c in ("Quzhou", "Lishui"):
        assert values[cities.index(c)] > 1.1 * base[k][cities.index(c)]
    assert values[cities.index("Hangzhou")] < base[k][cities.index("Hangzhou")] * 1.001
    alloc = run(client, {"levers": {"regional_fund": {"allocation": {"Lishui": 10, "Quzhou": 5}}}})
    assert alloc["state"]["levers"]["regional_fund"] == {"allocation": {"Lishui": 10.0, "Quzhou": 5.0}}


def test_settings_that_change_nothing_share_the_baseline_run(client, sim):
    same = {"levers": {"rd_subsidy": {"value": 0.05, "start": 2030, "ramp": 2},
                       "regional_fund": {"value": 0, "cities": ["Lishui"]}},
            "assumptions": {"lbe": sim.assumptions["lbe"].baseline}}
    res = run(client, same)
    assert res["state"] == {"levers": {}, "shocks": {}, "assumptions": {}}
    assert res["kpis"] == run(client, {})["kpis"]


@pytest.mark.parametrize("body, status, words", [
    ({"state": {"levers": {"rd_subsidyy": {"value": 0.2}}}}, 422, ["unknown lever", "rd_subsidy"]),
    ({"state": {"levers": {"rd_subsidy": {"value": 5}}}}, 422, ["outside the allowed range", "0.5"]),
    ({"state": {"levers": {"rd_subsidy": {"value": "lots"}}}}, 422, ["levers.rd_subsidy.value", "number"]),
    ({"state": {"levers": {"rd_subsidy": {"value": 0.1, "colour": 1}}}}, 422, ["colour"]),
    ({"state": {"levers": {"trade_barrier": {"value": 0.2}}}}, 422, ["is a shock"]),
    ({"state": {"levers": {"regional_fund": {"value": 5, "cities": ["Lishiu"]}}}}, 422, ["unknown region", "Lishui"]),
    ({"state": {"levers": {"rd_subsidy": {"value": 0.1, "start": 1990}}}}, 422, ["outside the run"]),
    ({"state": {"levers": {"rd_subsidy": {"value": 0.1, "ramp": -1}}}}, 422, ["ramp"]),
    ({"state": {"assumptions": {"lbee": 0.1}}}, 422, ["unknown assumption", "lbe"]),
    ({"state": {"assumptions": {"lbe": 0.9}}}, 422, ["documented range", "LBE Coefficient"]),
    ({"state": {}, "kpis": ["Exports"]}, 422, ["unknown KPI"]),
    ({"state": {}, "city_kpi": "High Tech Exports"}, 422, ["city_kpi"]),
    ({"state": {}, "exercise": "nope"}, 404, ["unknown exercise"]),
    ({"state": {}, "oops": 1}, 422, ["oops"]),
])
def test_bad_input_is_a_4xx_with_a_clear_message(client, body, status, words):
    r = client.post("/api/run", json=body)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    for w in words:
        assert w in message, message


def test_runs_from_many_threads_equal_runs_one_by_one(sim):
    states = [sim.normalize({"levers": {"incubators": {"value": v}}}) for v in (15.0, 35.0, 55.0, 75.0)]
    alone = [sim._compute(s).series["High Tech Exports"] for s in states]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda s: sim._compute(s).series["High Tech Exports"], states))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- exercises
def test_each_exercise_goal_is_reachable_but_not_met_by_its_start(client, sim):
    exercises = client.app.state.exercises
    assert len(exercises) >= 4
    for ex in exercises.values():
        start = client.post(f"/api/exercises/{ex.id}/check", json={"state": ex.preset}).json()
        assert start["met"] is False, ex.id
        assert ex.solution is not None, ex.id
        done = client.post(f"/api/exercises/{ex.id}/check", json={"state": ex.solution}).json()
        assert done["met"] is True, (ex.id, done)
        assert done["goal_ok"] and done["within_budget"] and not done["locked_broken"]
        # the run endpoint reports the same check for the page
        assert run(client, ex.solution, exercise=ex.id)["goal"]["met"] is True
    sol = client.get("/api/exercises/jiangsu_catch_up/solution", headers=FAC).json()
    assert sol["goal"]["met"] is True


def test_goal_fails_over_budget_or_with_a_locked_setting_changed(client):
    exercises = client.app.state.exercises
    trade = exercises["trade_barrier"]
    no_barrier = {"shocks": {"us_eu_share": {"value": 0.5, "start": 2026}}}
    res = client.post("/api/exercises/trade_barrier/check", json={"state": no_barrier}).json()
    assert res["met"] is False and res["locked_broken"] == ["trade_barrier"]
    clusters = exercises["jiangsu_catch_up"]
    lavish = {"levers": {"incubators": {"value": 200}, "innovation_finance": {"value": 500},
                         "cit_preference": {"value": 0.25}}}
    res = client.post(f"/api/exercises/{clusters.id}/check", json={"state": lavish}).json()
    assert res["goal_ok"] is True and res["within_budget"] is False and res["met"] is False
    assert res["cost"] > clusters.goal.budget
    assert trade.goal.budget is not None


def test_predictions_are_revealed_by_the_server(client, sim):
    lbe = client.post("/api/exercises/learning_by_exporting/reveal", json={"prediction": -5}).json()
    base = client.get("/api/baseline").json()["kpis"]["High Tech Exports"]
    years = client.get("/api/meta").json()["model"]["years"]
    off = run(client, {"assumptions": {"lbe": 0.0}}, kpis=["High Tech Exports"])["kpis"]["High Tech Exports"]
    expected = 100 * (at(off, years) / at(base, years) - 1)
    assert lbe["answer"] == pytest.approx(expected, abs=1e-3)   # the page gets 6 significant digits
    assert lbe["error"] == pytest.approx(-5 - lbe["answer"]) and lbe["close"] is (abs(lbe["error"]) <= 1.0)
    choice = client.post("/api/exercises/exports_per_yuan/reveal", json={"prediction": "incubators"}).json()
    per = [r["per_yuan"] for r in choice["ranking"]]
    assert per == sorted(per, reverse=True) and choice["answer"] == choice["ranking"][0]["lever"]
    assert choice["close"] is (choice["answer"] == "incubators")
    bad = client.post("/api/exercises/exports_per_yuan/reveal", json={"prediction": "magic"})
    assert bad.status_code == 422 and "one of the levers" in bad.json()["error"]


def test_exercise_and_assumption_files_are_validated(sim, tmp_path):
    bad = tmp_path / "exercises.toml"
    bad.write_text('[[exercise]]\nid = "x"\ntitle = {zh = "x", en = "x"}\nbrief = {zh = "x", en = "x"}\n'
                   'lesson = {zh = "x", en = "x"}\n[exercise.goal]\nkpi = "Exports"\nyear = 2035\n'
                   'comparator = ">="\nthreshold = 1\n', encoding="utf-8")
    with pytest.raises(DashboardError, match="'Exports' is not a KPI"):
        load_exercises(sim, bad)
    bad_a = tmp_path / "assumptions.toml"
    bad_a.write_text('[[assumption]]\nid = "x"\nconstant = "No Such Constant"\nname = {zh = "x", en = "x"}\n',
                     encoding="utf-8")
    with pytest.raises(DashboardError, match="No Such Constant"):
        load_assumptions(sim.model, bad_a)


# ----------------------------------------------------------------------------- facilitator mode
def test_submissions_persist_across_app_instances(sim, tmp_path):
    data = tmp_path / "innosim-data"
    first = make_client(sim, data)
    state = {"levers": {"platform_fdi": {"value": 90}}}
    r = first.post("/api/submissions", json={"team": "  Team 西湖 ", "name": "finance push", "state": state,
                                             "exercise": "exports_per_yuan"})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["team"] == "Team 西湖" and sub["goal"]["met"] is True and sub["extra_cost"] > 0
    assert (data / "submissions.sqlite3").exists()

    second = make_client(sim, data)   # as after a restart
    answer = second.get("/api/submissions", params={"series": "High Tech Exports"}, headers=FAC).json()
    listed = answer["submissions"]
    assert [(s["team"], s["name"]) for s in listed] == [("Team 西湖", "finance push")]
    assert listed[0]["kpis"]["High Tech Exports"] > answer["baseline"]["High Tech Exports"]
    assert len(listed[0]["series"]["High Tech Exports"]) == len(sim.baseline().years)

    text = second.get("/api/submissions.csv", headers=FAC).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][2] == "(baseline)" and rows[2][2] == "Team 西湖" and rows[2][5] == "yes"
    assert any("High Tech Exports 2035" in h for h in rows[0])

    assert second.delete(f"/api/submissions/{sub['id']}", headers=FAC).status_code == 200
    assert second.delete(f"/api/submissions/{sub['id']}", headers=FAC).status_code == 404
    assert first.get("/api/submissions", headers=FAC).json()["submissions"] == []


@pytest.mark.parametrize("team, words", [("", "must not be empty"), ("a\x00b", "control characters"),
                                         ("x" * 61, "longer than 60")])
def test_bad_submissions_are_rejected(client, team, words):
    r = client.post("/api/submissions", json={"team": team, "name": "s", "state": {}})
    assert r.status_code == 422 and words in r.json()["error"]
    r = client.post("/api/submissions", json={"team": "t", "name": "s", "state": {"levers": {"nope": 1}}})
    assert r.status_code == 422 and "unknown lever" in r.json()["error"]


def test_data_dir_defaults_follow_the_platform_convention(monkeypatch, tmp_path):
    monkeypatch.setenv("INNOSIM_DATA_DIR", str(tmp_path / "env"))
    assert default_data_dir() == tmp_path / "env"
    monkeypatch.delenv("INNOSIM_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("sys.platform", "linux")
    assert default_data_dir() == tmp_path / "xdg" / "innosim"


def test_serve_rejects_a_bad_port_before_loading_anything(capsys):
    assert serve_main(["--port", "0", "--no-browser"]) == 2
    assert "not a TCP port" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        serve_main(["--bogus"])
