"""Dashboard views that explain the model (FastAPI TestClient): recorded data on the charts,
uncertainty bands, the documentation page and causal loop diagram, and lever settings given
as text (``innosim serve --set``)."""
from __future__ import annotations

import csv
import socket
from collections import defaultdict

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from conftest import dashboard_simulation  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from dashboard import DashboardError, Simulation, create_app  # noqa: E402
from dashboard.limits import Limits  # noqa: E402
from dashboard.security import Access  # noqa: E402
from dashboard.settings import parse_settings  # noqa: E402
from innosim.commands.serve import main as serve_main  # noqa: E402
from innosim.registry import resolve  # noqa: E402
from simulator.calibrate import load_setup  # noqa: E402

TOKEN = "test-facilitator-token-0123456789"
MEMBERS = 24    # small ensembles keep these tests fast; the page uses Limits().band_members


def client_of(sim, tmp_path, **limits) -> TestClient:
    access = Access(token=TOKEN, limits=Limits(band_members=MEMBERS, **limits))
    return TestClient(create_app(tmp_path / "data", simulation=sim, warm_up=False, access=access),
                      base_url="http://localhost")


@pytest.fixture(scope="module")
def sim():
    return dashboard_simulation()


@pytest.fixture(scope="module")
def plain_sim(sim):
    """The same model without its set-up: no data, no uncertainty file, no documentation file."""
    return Simulation(sim.model.path, catalogue=sim.catalogue)


@pytest.fixture
def client(sim, tmp_path):
    return client_of(sim, tmp_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- recorded data
def test_history_is_the_calibration_data_the_model_names(client, sim):
    info = resolve(sim.name)
    setup = load_setup(info.files["calibration_setup"], info.path)
    expected = defaultdict(list)
    with open(setup.targets, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            expected[row["series"]].append((float(row["year"]), float(row["value"]), row["source"]))
    got = client.get("/api/history").json()["series"]
    assert set(got) == set(expected)
    for name, rows in expected.items():
        rows.sort()
        assert got[name]["years"] == [r[0] for r in rows]
        assert got[name]["values"] == [r[1] for r in rows]
        assert got[name]["sources"] == [r[2] for r in rows]
        assert name in sim.model.variables
    assert client.get("/api/meta").json()["features"]["history"] is True
    # the points sit where the model's history is: every year is a year of the run
    years = client.get("/api/baseline").json()["years"]
    assert all(years[0] <= y <= years[-1] for s in got.values() for y in s["years"])


def test_a_model_without_data_has_no_points_and_no_bands(plain_sim, tmp_path, monkeypatch):
    import dashboard.modelviews as mv

    monkeypatch.setattr(mv, "loops_module", lambda: None)     # else the engine could draw a diagram
    c = client_of(plain_sim, tmp_path)
    features = c.get("/api/meta").json()["features"]
    assert features["history"] is False and features["bands"] is None and features["cld"] is False
    assert c.get("/api/history").json() == {"series": {}}
    r = c.post("/api/bands", json={"state": {}})
    assert r.status_code == 404 and "no uncertainty file" in r.json()["error"]
    assert c.get("/api/doc/cld").status_code == 404


# ----------------------------------------------------------------------------- uncertainty bands
def test_bands_are_ordered_percentiles_over_the_uncertainty_ensemble(client, sim):
    meta = client.get("/api/meta").json()
    assert meta["features"]["bands"]["members"] == MEMBERS
    r = client.post("/api/bands", json={"state": {}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["members"] == MEMBERS and body["cached"] is False and body["fixed"] == []
    n_years = len(meta["model"]["years"])
    assert set(body["bands"]) == {k for k in sim.kpis if not sim.model.variables[k].dims}
    spread = 0
    for name, b in body["bands"].items():
        q = np.array([b[p] for p in ("p5", "p25", "p50", "p75", "p95")], dtype=float)
        assert q.shape == (5, n_years), name
        assert np.all(np.diff(q, axis=0) >= -1e-9 * np.abs(q).max()), name
        spread += int(np.any(q[4] - q[0] > 1e-9 * np.abs(q).max()))
    assert spread >= len(body["bands"]) // 2          # the uncertainties do move most KPIs
    again = client.post("/api/bands", json={"state": {}}).json()
    assert again["cached"] is True and again["bands"] == body["bands"]


def test_bands_follow_the_scenario_and_keep_what_the_page_sets(client, sim):
    base = client.post("/api/bands", json={"state": {}}).json()["bands"]
    lever = next(iter(sim.catalogue.levers.values()))
    state = {"levers": {lever.id: lever.high}}
    moved = client.post("/api/bands", json={"state": state}).json()["bands"]
    assert any(moved[k]["p50"] != base[k]["p50"] for k in base)
    spec = client.app.state.views.bands.spec.names
    a = next(a for a in sim.assumptions.values() if a.constant in spec)   # an assumption is also uncertain
    fixed = client.post("/api/bands", json={"state": {"assumptions": {a.id: a.low}}}).json()
    assert fixed["fixed"] == [a.constant]


def test_bands_refuse_bad_states_and_too_many_requests(sim, tmp_path):
    c = client_of(sim, tmp_path, band_rate=(1, 60.0))
    r = c.post("/api/bands", json={"state": {"levers": {"no_such_lever": 1}}})
    assert r.status_code == 422 and "no_such_lever" in r.json()["error"]
    r = c.post("/api/bands", content='{"state": {"levers": {"x": NaN}}}', headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert c.post("/api/bands", json={"state": {}}).status_code == 200
    assert c.post("/api/bands", json={"state": {}}).status_code == 200        # cached: free
    lever = next(iter(sim.catalogue.levers.values()))
    r = c.post("/api/bands", json={"state": {"levers": {lever.id: lever.high}}})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_band_size_is_bounded():
    with pytest.raises(ValueError, match="band_members"):
        Limits(band_members=100_000)
    with pytest.raises(ValueError, match="band_wait"):
        Limits(band_wait=float("inf"))


# ----------------------------------------------------------------------------- documentation
def test_documentation_lists_every_variable_with_units_and_text(client, sim):
    doc = client.get("/api/doc").json()
    rows = {r["name"]: r for r in doc["variables"]}
    assert set(rows) == set(sim.model.variables)
    for name, var in sim.model.variables.items():
        assert rows[name]["units"] == (var.units or "") and rows[name]["kind"] == var.kind
        assert rows[name]["uses"] == sorted(set(var.dependencies) & set(rows))
        assert all(name in rows[u]["used_by"] for u in rows[name]["uses"])
    stock = sim.model.stocks[0]
    assert rows[stock]["uses"], "a stock uses its flows"
    documented = [r for r in rows.values() if r["zh"] and r["en"]]
    assert len(documented) >= 0.9 * len(rows)
    assert doc["model"]["title"] == sim.title and doc["model"]["description"]["zh"]
    page = client.get("/doc")
    assert page.status_code == 200 and 'id="var-table"' in page.text


def test_the_causal_loop_diagram_is_served_as_an_image(client):
    assert client.get("/api/doc").json()["features"]["cld"] is True
    r = client.get("/api/doc/cld")
    assert r.status_code == 200 and r.headers["content-type"] in ("image/png", "image/svg+xml")
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n" or b"<svg" in r.content[:500]
    assert client.get("/api/doc/cld?lang=<script>").status_code == 422      # only en or zh


# ----------------------------------------------------------------------------- settings as text
def test_settings_text_is_parsed_as_numbers_and_checked_against_the_catalogue(sim):
    lever = next(iter(sim.catalogue.levers.values()))
    value = lever.high
    state = parse_settings([f"{lever.id}={value!r}"], sim)
    assert state["levers"] == {lever.id: {"value": value}}
    cases = {
        f"{lever.id[:-1]}=1": f"Did you mean '{lever.id}'",          # a typo: the closest id
        f"{lever.id}=__import__('os').system('true')": "is not a number",
        f"{lever.id}=1e999": "is not a number",
        f"{lever.id}=nan": "is not a number",
        f"{lever.id}={lever.high + 10 * (lever.high - lever.low + 1)}": "outside",
        "no-equals-sign": "expected ID=VALUE",
        "a.no_such_assumption=1": "no such assumption",
    }
    for text, words in cases.items():
        with pytest.raises(DashboardError) as err:
            parse_settings([text], sim)
        assert words in str(err.value), (text, str(err.value))
        assert "\n" not in str(err.value)


def test_the_page_opens_with_the_settings_of_serve_set(sim, tmp_path):
    from dashboard import create_site
    from innosim.commands.serve import model_setup

    lever = next(iter(sim.catalogue.levers.values()))
    app = create_site([model_setup(resolve(sim.name))], tmp_path / "d", warm_up=False, simulation=sim,
                      access=Access(token=TOKEN),
                      initial=lambda s: parse_settings([f"{lever.id}={lever.high}"], s))
    meta = TestClient(app, base_url="http://localhost").get("/api/meta").json()
    assert meta["initial"]["levers"] == {lever.id: {"value": lever.high}}
    assert client_of(sim, tmp_path).get("/api/meta").json()["initial"] is None


def test_serve_set_errors_exit_2_with_one_line(sim, capsys):
    lever = next(iter(sim.catalogue.levers))
    code = serve_main(["--only", "--no-browser", "--port", str(_free_port()), "--set", f"{lever}x=1.5"])
    err = capsys.readouterr().err
    assert code == 2 and "not a lever or shock" in err and f"Did you mean '{lever}'" in err
    assert err.count("\n") == 1 and "Traceback" not in err


# ----------------------------------------------------------------------------- why: dominant loops
class _FakeLoop:
    def __init__(self, lid, polarity, variables):
        self.id, self.name, self.polarity, self.variables = lid, f"loop {lid}", polarity, tuple(variables)


class _FakeLoops:
    """Stands in for ``simulator.loops`` (same calls, fixed answers): tests the dashboard's shaping
    of the analysis, not the analysis (tests/test_loops*.py do that)."""

    __name__ = "fake_loops"

    def __init__(self):
        self.calls = []

    def find_loops(self, model, names=None):
        import types

        return types.SimpleNamespace(loops=[_FakeLoop("R1", "+", ["A", "B"]), _FakeLoop("B1", "-", ["B", "C"]),
                                            _FakeLoop("B2", "-", ["C"])], search="all cycles")

    def dominant_loops(self, model, params, *, top, loopset):
        import pandas as pd

        self.calls.append(params)
        rows = []
        for t, order in [(2008, ["R1", "B1"]), (2009, ["R1", "B2"]), (2010, ["B1", "R1"]), (2011, ["B1", "R1"])]:
            for r, lid in enumerate(order[:top], start=1):
                rows.append({"time": float(t), "rank": r, "loop": lid, "relative": 0.6 if r == 1 else -0.3})
        return pd.DataFrame(rows).set_index(["time", "rank"])


def test_why_panel_shapes_the_loop_analysis_into_periods(sim, tmp_path, monkeypatch):
    import dashboard.modelviews as mv

    fake = _FakeLoops()
    monkeypatch.setattr(mv, "loops_module", lambda: fake)
    c = client_of(sim, tmp_path, band_rate=(2, 60.0))
    assert c.get("/api/meta").json()["features"]["why"] is True
    w = c.post("/api/why", json={"state": {}}).json()
    assert w["periods"] == [{"from": 2008.0, "to": 2009.0, "loop": "R1"}, {"from": 2010.0, "to": 2011.0, "loop": "B1"}]
    assert w["top"]["2009"] == [{"loop": "R1", "relative": 0.6}, {"loop": "B2", "relative": -0.3}]
    assert w["loops"]["R1"] == {"name": "loop R1", "polarity": "+", "path": "A → B → A"}
    assert set(w["loops"]) == {"R1", "B1", "B2"} and w["cached"] is False
    assert c.post("/api/why", json={"state": {}}).json()["cached"] is True
    lever = next(iter(sim.catalogue.levers.values()))
    c.post("/api/why", json={"state": {"levers": {lever.id: lever.high}}})
    expected = sim.params(sim.normalize({"levers": {lever.id: lever.high}}))   # the scenario's parameters
    assert len(fake.calls) == 2 and set(fake.calls[1]) == set(expected) and fake.calls[0].keys() != fake.calls[1].keys()
    r = c.post("/api/why", json={"state": {"levers": {lever.id: lever.low}}})
    assert r.status_code == 429                          # bounded like the uncertainty bands
    assert c.post("/api/why", json={"state": {"levers": {"nope": 1}}}).status_code == 422


def test_why_panel_is_off_without_a_loop_analysis(plain_sim, tmp_path, monkeypatch):
    import dashboard.modelviews as mv

    monkeypatch.setattr(mv, "loops_module", lambda: None)
    c = client_of(plain_sim, tmp_path)
    assert c.get("/api/meta").json()["features"]["why"] is False
    r = c.post("/api/why", json={"state": {}})
    assert r.status_code == 404 and "loop analysis" in r.json()["error"]


def test_why_panel_reports_the_engines_dominant_loops(tmp_path):
    loops = pytest.importorskip("simulator.loops", reason="the engine's loop analysis (simulator.loops) is not there yet")
    small = dashboard_simulation("industrial_symbiosis")
    c = client_of(small, tmp_path)
    assert c.get("/api/meta").json()["features"]["why"] is True
    w = c.post("/api/why", json={"state": {}}).json()
    found = c.app.state.views.loops.loopset()
    direct = loops.dominant_loops(small.model, small.params(small.normalize({})), top=3, loopset=found)
    first = direct.xs(1, level="rank")
    leaders = [p["loop"] for p in w["periods"] for _ in range(int(p["to"] - p["from"]) + 1)]
    active = [lid for t, lid in zip(first.index, first["loop"]) if f"{t:g}" in w["top"]]
    assert [lp for lp in leaders if lp] == active
    assert all(p["loop"] in w["loops"] for p in w["periods"] if p["loop"])
    r = c.get("/api/doc/cld?lang=zh")
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
