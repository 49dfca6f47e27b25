"""Fuzzing the dashboard API with hypothesis: every answer is a clean JSON 4xx or a valid result.

Never a 500, never a traceback, never a long echo of what was sent. The seed is fixed
(``derandomize=True``); CI runs ``INNOSIM_FUZZ_EXAMPLES`` cases per test (default 300), e.g.

    INNOSIM_FUZZ_EXAMPLES=5000 python3 -m pytest tests/test_dashboard_fuzz.py -q
"""
from __future__ import annotations

import json
import math
import os
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
hypothesis = pytest.importorskip("hypothesis")

from conftest import dashboard_simulation  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dashboard import create_app  # noqa: E402
from dashboard.limits import Limits  # noqa: E402
from dashboard.security import Access  # noqa: E402

EXAMPLES = int(os.environ.get("INNOSIM_FUZZ_EXAMPLES", "300"))
TOKEN = "fuzz-facilitator-token-0123456789"
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    sim = dashboard_simulation()
    # rates opened wide so that the fuzzer reaches the code behind them (the limits have their own tests)
    limits = Limits(client_rate=(10**9, 1.0), team_rate=(10**9, 1.0))
    app = create_app(tmp_path_factory.mktemp("fuzz"), simulation=sim, warm_up=False,
                     access=Access(token=TOKEN, limits=limits))
    c = TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
    c.meta = c.get("/api/meta").json()
    return c


# ----------------------------------------------------------------------------- strategies
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
                    st.sampled_from([0, 1, -1, 0.5, 2025, 2026, 2035, 2050, 1e308, -1e308, 5e-324]))
texts = st.one_of(st.text(max_size=30), st.sampled_from(["", "Hangzhou", "Lishui", "all", "../../etc", "=1+1"]))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), numbers, texts),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(texts, inner, max_size=4)),
                           max_leaves=12)


@st.composite
def states(draw, meta):
    levers = [lv["id"] for lv in meta["levers"]]
    shocks = [s["id"] for s in meta["shocks"]]
    assumptions = [a["id"] for a in meta["assumptions"]]
    cities = meta["model"]["cities"]
    setting_keys = st.sampled_from(["value", "start", "ramp", "end", "cities", "allocation", "colour"])
    setting_value = st.one_of(numbers, st.lists(st.one_of(st.sampled_from(cities), texts), max_size=4),
                              st.dictionaries(st.one_of(st.sampled_from(cities), texts), numbers, max_size=3),
                              json_values)
    setting = st.one_of(numbers, st.dictionaries(setting_keys, setting_value, max_size=4), json_values)
    out = {}
    if draw(st.booleans()):
        out["levers"] = draw(st.dictionaries(st.one_of(st.sampled_from(levers), texts), setting, max_size=3))
    if draw(st.booleans()):
        out["shocks"] = draw(st.dictionaries(st.one_of(st.sampled_from(shocks), texts), setting, max_size=2))
    if draw(st.booleans()):
        out["assumptions"] = draw(st.dictionaries(st.one_of(st.sampled_from(assumptions), texts),
                                                  st.one_of(numbers, json_values), max_size=2))
    if draw(st.integers(0, 9)) == 0:
        out[draw(texts)] = draw(json_values)
    return out


@st.composite
def valid_states(draw, meta):
    """States within the catalogue's ranges, so that the fuzzer also reaches runs and storage."""
    out = {"levers": {}, "shocks": {}, "assumptions": {}}
    for section in ("levers", "shocks"):
        for item in draw(st.lists(st.sampled_from(meta[section]), max_size=3, unique_by=lambda x: x["id"])):
            setting = {"value": draw(st.floats(item["low"], item["high"]))}
            if draw(st.booleans()):
                setting["start"] = draw(st.sampled_from([2025, 2026, 2030, 2040]))
                setting["ramp"] = draw(st.sampled_from([0, 1, 3, 10]))
            out[section][item["id"]] = setting
    for a in draw(st.lists(st.sampled_from(meta["assumptions"]), max_size=2, unique_by=lambda x: x["id"])):
        out["assumptions"][a["id"]] = draw(st.floats(a["low"], a["high"]))
    return out


def maybe(strategy):
    """Mostly present: a missing field is one kind of bad input among many."""
    return st.one_of(strategy, strategy, strategy, st.just(None))


@st.composite
def bodies(draw, meta, kind):
    if draw(st.integers(0, 11)) == 0:      # anything at all
        return draw(json_values)
    kpis = [k["variable"] for k in meta["kpis"]]
    exercises = [e["id"] for e in meta["exercises"]]
    any_state = st.one_of(states(meta), valid_states(meta))
    names = st.one_of(texts, st.sampled_from(["Team 1", "Team 2", "西湖", "=cmd|' /C calc'!A0", "-5"]))
    fields = {
        "run": {"state": any_state,
                "kpis": st.one_of(st.lists(st.sampled_from(kpis), max_size=3),
                                  st.lists(st.one_of(st.sampled_from(kpis), texts), max_size=3)),
                "city_kpi": st.one_of(st.sampled_from([p["variable"] for p in meta["per_city"]] * 3), texts),
                "city_year": st.one_of(st.sampled_from(meta["model"]["years"]), numbers),
                "exercise": st.one_of(st.sampled_from(exercises), texts)},
        "check": {"state": any_state},
        "reveal": {"prediction": st.one_of(numbers, st.sampled_from([lv["id"] for lv in meta["levers"]] * 3), texts)},
        "submit": {"team": names, "name": names, "state": any_state,
                   "exercise": st.one_of(st.just(None), st.sampled_from(exercises), texts),
                   "submission_id": st.one_of(st.uuids().map(str), st.uuids().map(str), texts)},
        "login": {"token": st.one_of(texts, st.just(TOKEN))},
    }[kind]
    out = {}
    for key, strategy in fields.items():
        value = draw(maybe(strategy))
        if value is not None:
            out[key] = value
    return out


headers = st.fixed_dictionaries({}, optional={
    "Authorization": st.sampled_from([f"Bearer {TOKEN}", "Bearer nope", "token x", "Basic abc", ""]),
    "X-Team-Token": st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=50),
    "Content-Type": st.sampled_from(["application/json"] * 6 + ["text/plain", "application/x-www-form-urlencoded"]),
})


# ----------------------------------------------------------------------------- checks
def check_answer(r, years: int) -> None:
    hypothesis.event(f"HTTP {r.status_code}")
    assert r.status_code < 500, (r.status_code, r.text[:500])
    assert "Traceback" not in r.text and 'File "' not in r.text
    if 300 <= r.status_code < 400:            # e.g. a trailing slash: redirected to our own path
        assert r.headers["location"].startswith(("/", "http://localhost/")), r.headers["location"]
        return
    if r.headers.get("content-type", "").startswith("text/csv"):
        assert r.status_code == 200
        return
    body = r.json()
    if r.status_code >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
        assert len(r.text) < 4000, r.text[:300]
        return
    if isinstance(body, dict) and "run_ms" in body:      # a run: whole yearly series, finite or null
        for values in body["kpis"].values():
            assert len(values) == years and all(v is None or math.isfinite(v) for v in values)
        assert len(body["extra_cost"]) == years
    if isinstance(body, dict) and "submission_id" in body:      # a stored submission
        assert isinstance(body["id"], int) and body["id"] >= 1 and body["team"] and body["name"]
        for value in (body["kpis"] or {}).values():
            assert value is None or math.isfinite(value)


def send(client, method: str, path: str, body, hdrs: dict, raw: bool = False):
    if raw:
        content = body
    else:
        content = json.dumps(body, allow_nan=True).encode()   # NaN and Infinity reach the server as such
    h = {"Content-Type": "application/json", **hdrs}
    return client.request(method, path, content=content, headers=h)


# ----------------------------------------------------------------------------- tests
ENDPOINTS = {"run": "/api/run", "check": "/api/exercises/{eid}/check", "reveal": "/api/exercises/{eid}/reveal",
             "submit": "/api/submissions", "login": "/api/facilitator/login"}


@pytest.mark.parametrize("kind", sorted(ENDPOINTS))
def test_post_bodies(client, kind):
    meta = client.meta
    years = len(meta["model"]["years"])
    exercise_ids = st.one_of(st.sampled_from([e["id"] for e in meta["exercises"]]),
                             st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=20))

    @FUZZ
    @given(body=bodies(meta, kind), eid=exercise_ids, hdrs=headers)
    def run(body, eid, hdrs):
        check_answer(send(client, "POST", ENDPOINTS[kind].format(eid=eid), body, hdrs), years)

    run()


def test_raw_bytes_as_bodies(client):
    years = len(client.meta["model"]["years"])

    @FUZZ
    @given(data=st.one_of(st.binary(max_size=200), st.just(b"[" * 30000), st.just(b'{"state":' * 5000),
                          st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass"))),
           path=st.sampled_from(list(ENDPOINTS.values())))
    def run(data, path):
        check_answer(send(client, "POST", path.format(eid="trade_barrier"), data, {}, raw=True), years)

    run()


def test_queries_and_paths(client):
    years = len(client.meta["model"]["years"])
    values = st.one_of(numbers.map(str), texts, st.integers(-10**25, 10**25).map(str))
    query = st.dictionaries(st.sampled_from(["year", "limit", "offset", "since", "series", "token", "lang"]),
                            values, max_size=4)
    path = st.one_of(
        st.sampled_from(["/api/submissions", "/api/submissions.csv", "/api/facilitator", "/facilitator"]),
        st.one_of(st.integers(-10**25, 10**25).map(str), texts).map(lambda x: f"/api/submissions/{quote(x, safe='')}"),
        texts.map(lambda x: f"/api/exercises/{quote(x, safe='')}/solution"))

    @FUZZ
    @given(path=path, params=query, method=st.sampled_from(["GET", "GET", "DELETE", "POST"]), hdrs=headers)
    def run(path, params, method, hdrs):
        r = client.request(method, path, params=params, headers=hdrs, follow_redirects=False)
        if path == "/facilitator" and r.status_code in (200, 303):
            return                          # the page itself, or the redirect that sets the cookie
        check_answer(r, years)

    run()
