"""Dashboard hardening: facilitator token, team ownership, Host allow-list, body and rate limits,
CSV neutralisation, idempotent submissions, schema migration, paging from stored summaries."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import sys
import uuid
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from conftest import dashboard_simulation  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from dashboard import create_app  # noqa: E402
from dashboard.limits import Limits, RateLimiter  # noqa: E402
from dashboard.security import Access, Guard, clip, split_host  # noqa: E402
from dashboard.store import DB_NAME, SubmissionStore  # noqa: E402
from dashboard.submissions import csv_cell  # noqa: E402
from innosim.commands.serve import main as serve_main  # noqa: E402

TOKEN = "security-test-token-0123456789abcdef"
FAC = {"Authorization": f"Bearer {TOKEN}"}
GENEROUS = Limits(client_rate=(10**6, 1.0), team_rate=(10**6, 1.0))
LEVER = {"levers": {"incubators": {"value": 40}}}


@pytest.fixture(scope="module")
def sim():
    return dashboard_simulation()


def make(sim, data_dir, *, limits: Limits = GENEROUS, base_url: str = "http://localhost", **access) -> TestClient:
    app = create_app(data_dir, simulation=sim, warm_up=False,
                     access=Access(token=TOKEN, limits=limits, **access))
    return TestClient(app, base_url=base_url)


@pytest.fixture
def client(sim, tmp_path):
    return make(sim, tmp_path / "data")


def submit(client, team="Team A", name="s", state=None, token=None, **extra):
    headers = {"X-Team-Token": token} if token else {}
    return client.post("/api/submissions", json={"team": team, "name": name, "state": state or LEVER, **extra},
                       headers=headers)


# ----------------------------------------------------------------------------- facilitator token
FACILITATOR_ONLY = [("get", "/api/submissions"), ("get", "/api/submissions.csv"), ("delete", "/api/submissions/1"),
                    ("get", "/api/exercises/trade_barrier/solution"), ("get", "/api/facilitator")]


@pytest.mark.parametrize("method, path", FACILITATOR_ONLY)
def test_facilitator_endpoints_need_the_token(client, method, path):
    r = getattr(client, method)(path)
    assert r.status_code == 401 and "facilitator token" in r.json()["error"]
    assert r.headers["www-authenticate"] == "Bearer"
    r = getattr(client, method)(path, headers={"Authorization": "Bearer wrong-token"})
    assert r.status_code == 403 and r.json() == {"error": "wrong facilitator token"}
    r = getattr(client, method)(path, headers=FAC)
    assert r.status_code in (200, 404), r.text      # 404: no submission #1 to delete


def test_the_token_link_sets_an_httponly_cookie_and_leaves_the_address(client):
    r = client.get(f"/facilitator?token={TOKEN}&lang=zh", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/facilitator?lang=zh"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and cookie.startswith("innosim_facilitator_")
    assert TOKEN not in cookie                  # other ports of this host see the cookie: not the token
    assert client.get("/api/submissions").status_code == 200          # the cookie now authenticates
    client.post("/api/facilitator/logout")
    assert client.get("/api/submissions").status_code == 401
    r = client.get("/facilitator?token=wrong-wrong-wrong", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("login=failed") and "set-cookie" not in r.headers
    assert client.post("/api/facilitator/login", json={"token": "nope"}).status_code == 403
    assert client.post("/api/facilitator/login", json={"token": TOKEN}).status_code == 200
    assert client.get("/api/submissions.csv").status_code == 200
    assert "solution" not in json.dumps(client.get("/api/exercises").json())   # the page's list stays open


def test_wrong_tokens_are_braked(client):
    for _ in range(20):
        assert client.get("/api/submissions", headers={"Authorization": "Bearer guess"}).status_code == 403
    r = client.post("/api/facilitator/login", json={"token": "guess"})
    assert r.status_code == 429 and "wrong facilitator tokens" in r.json()["error"] and r.headers["retry-after"]
    # braked means no comparison at all, or a 200 for the right token would still tell it apart
    assert client.get("/api/submissions", headers=FAC).status_code == 429
    assert client.get(f"/facilitator?token={TOKEN}", follow_redirects=False).status_code == 429
    assert client.get("/api/health").status_code == 200            # the rest of the page is not braked


def test_tokens_that_cannot_travel_in_a_url_are_refused(capsys, monkeypatch):
    assert serve_main(["--token", "short", "--no-browser"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    monkeypatch.setenv("INNOSIM_FACILITATOR_TOKEN", "has spaces in it, sixteen+")
    assert serve_main(["--no-browser"]) == 2
    assert "INNOSIM_FACILITATOR_TOKEN" in capsys.readouterr().err
    assert len(Access().token) >= 32 and Access().token != Access().token


# ----------------------------------------------------------------------------- team ownership
def test_a_team_is_owned_by_the_page_that_submitted_first(client):
    first = submit(client, "Team A")
    assert first.status_code == 201, first.text
    token = first.json()["team_token"]
    assert len(token) >= 32
    for team, tok in [("Team A", None), ("team  a", None), ("Ｔｅａｍ Ａ", "x" * 40)]:
        r = submit(client, team, token=tok)
        assert r.status_code == 403 and "already used by another browser" in r.json()["error"], (team, r.text)
    again = submit(client, "team a", token=token)
    assert again.status_code == 201 and again.json()["team_token"] is None
    other = submit(client, "Team B").json()
    # deleting: the owning team may, another team or nobody may not, the facilitator may
    sub_a = first.json()["id"]
    assert client.delete(f"/api/submissions/{sub_a}").status_code == 401
    r = client.delete(f"/api/submissions/{sub_a}", headers={"X-Team-Token": other["team_token"]})
    assert r.status_code == 403 and "another team" in r.json()["error"]
    assert client.delete(f"/api/submissions/{sub_a}", headers={"X-Team-Token": token}).status_code == 200
    assert client.delete(f"/api/submissions/{other['id']}", headers=FAC).status_code == 200
    assert client.delete("/api/submissions/999", headers={"X-Team-Token": token}).status_code == 404


def test_a_retried_submission_is_stored_once(client):
    uid = str(uuid.uuid4())
    first = submit(client, "Team R", submission_id=uid)
    assert first.status_code == 201
    # the answer was lost: the page retries with the same id and without the team token
    retry = submit(client, "Team R", submission_id=uid.upper())
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    new_token = retry.json()["team_token"]
    assert new_token and new_token != first.json()["team_token"]        # re-issued: only a hash was kept
    assert submit(client, "Team R", token=first.json()["team_token"]).status_code == 403
    assert submit(client, "Team R", token=new_token).status_code == 201
    listed = client.get("/api/submissions", headers=FAC).json()
    assert listed["total"] == 2
    # the same id for something else is refused, and nobody else can take it over
    r = submit(client, "Team R", name="other", submission_id=uid, token=new_token)
    assert r.status_code == 409 and "submission_id" in r.json()["error"]
    assert submit(client, "Team X", submission_id=uid).status_code == 409
    assert submit(client, "Team R", submission_id="not-a-uuid").status_code == 422


# ----------------------------------------------------------------------------- guard: host, origin, body
def test_split_host():
    assert split_host("127.0.0.1:8000") == "127.0.0.1"
    assert split_host("[::1]:8000") == "::1" and split_host("[::1]") == "::1"
    assert split_host("LocalHost.") == "localhost"
    assert split_host("a:b:c") is None and split_host("[::1]x") is None and split_host(":80") is None


@pytest.mark.parametrize("host, bind, extra, ok", [
    ("localhost:8000", "127.0.0.1", (), True), ("127.0.0.1", "127.0.0.1", (), True),
    ("[::1]:8000", "127.0.0.1", (), True), ("evil.example", "127.0.0.1", (), False),
    ("evil.example:8000", "0.0.0.0", (), False), ("192.168.1.20:8000", "0.0.0.0", (), True),
    ("192.168.1.20:8000", "127.0.0.1", (), False), ("10.0.0.5", "10.0.0.5", (), True),
    ("workshop.local:8000", "0.0.0.0", ("workshop.local",), True), ("localhost.evil.example", "::", (), False),
])
def test_only_our_host_names_are_served(sim, tmp_path, host, bind, extra, ok):
    c = make(sim, tmp_path / "d", bind_host=bind, allowed_hosts=extra)
    r = c.get("/api/health", headers={"Host": host})
    assert r.status_code == (200 if ok else 400), r.text
    if not ok:
        assert "is not a name of this server" in r.json()["error"] and "--allow-host" in r.json()["error"]


def test_writes_from_another_site_are_refused(client):
    r = client.post("/api/run", json={"state": {}}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "not allowed" in r.json()["error"]
    assert client.post("/api/run", json={"state": {}}, headers={"Origin": "http://localhost"}).status_code == 200


def _call_guard(headers: list, chunks, limit: int = 64 * 1024):
    """Drive the ASGI guard directly: what it sent back, how many chunks it read, whether the app ran."""
    read, sent, ran = [0], [], []

    async def receive():
        i = read[0]
        read[0] += 1
        if i < len(chunks):
            return {"type": "http.request", "body": chunks[i], "more_body": i + 1 < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(msg):
        sent.append(msg)

    async def app(scope, rcv, snd):
        ran.append((await rcv())["body"])

    guard = Guard(app, Access(token=TOKEN, limits=Limits(body_bytes=limit)))
    scope = {"type": "http", "method": "POST", "path": "/api/run",
             "headers": [(k.encode(), v.encode()) for k, v in headers]}
    asyncio.run(guard(scope, receive, send))
    return sent, read[0], ran


def test_big_bodies_are_refused_before_they_are_read():
    sent, reads, ran = _call_guard([("host", "localhost"), ("content-length", str(100 * 2**20))], [b"x" * 2**20] * 100)
    assert sent[0]["status"] == 413 and reads == 0 and not ran
    assert b"over the limit of 65536 bytes" in sent[1]["body"]
    # without a length (chunked): cut off as soon as the limit is passed
    sent, reads, ran = _call_guard([("host", "localhost")], [b"x" * 50_000] * 2000)
    assert sent[0]["status"] == 413 and reads == 2 and not ran
    sent, reads, ran = _call_guard([("host", "localhost")], [b"{}", b""])
    assert not sent and ran == [b"{}"]
    sent, _, _ = _call_guard([], [b"{}"])
    assert sent[0]["status"] == 400                    # no Host header at all


def test_body_limit_through_the_app(client):
    r = client.post("/api/run", content=b'{"state": {}, "kpis": [' + b'"x",' * 20000 + b'"x"]}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["error"]


def test_user_text_is_never_echoed_at_length(client):
    long = "A" * 100_000
    r = client.post(f"/api/exercises/{long[:8000]}/check", json={"state": {}})
    assert r.status_code == 404 and len(r.text) < 1000
    for body in ({"state": {"levers": {long[:60_000]: 1}}}, {"state": {}, "kpis": ["K" * 60_000]},
                 {"state": {}, "exercise": long[:60_000]}, {"state": {}, "city_kpi": long[:60_000]}):
        r = client.post("/api/run", json=body)
        assert r.status_code == 422 and len(r.text) < 2000, r.text[:300]
    r = client.delete("/api/submissions/" + "9" * 5000, headers=FAC)
    assert r.status_code == 422 and len(r.text) < 1000
    assert clip("x" * 200).endswith("…(+120 characters)")


@pytest.mark.parametrize("query, field", [
    ("year=nan", "year"), ("year=inf", "year"), ("year=-inf", "year"), ("year=3000", "year"), ("year=1e308", "year"),
    ("limit=0", "limit"), ("limit=201", "limit"), ("offset=-1", "offset"), ("since=-5", "since"),
    ("series=Nope", "series"), ("year=abc", "year"),
])
def test_bad_query_values_name_the_field(client, query, field):
    r = client.get(f"/api/submissions?{query}", headers=FAC)
    assert r.status_code == 422 and field in r.json()["error"], r.text
    if query.startswith("year"):
        r = client.get(f"/api/submissions.csv?{query}", headers=FAC)
        assert r.status_code == 422 and field in r.json()["error"]


@pytest.mark.parametrize("raw, field", [
    ('{"state": {}, "city_kpi": "City Export Capacity", "city_year": NaN}', "city_year"),
    ('{"state": {}, "city_kpi": "City Export Capacity", "city_year": 1e300}', "city_year"),
    ('{"state": {"levers": {"incubators": {"value": Infinity}}}}', "levers.incubators.value"),
    ('{"state": {"assumptions": {"lbe": NaN}}}', "assumptions.lbe"),
    ('{"state": {"levers": {"incubators": {"value": 40, "ramp": 1e9}}}}', "ramp"),
])
def test_non_finite_and_out_of_range_run_options_name_the_field(client, raw, field):
    r = client.post("/api/run", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and field in r.json()["error"], r.text


def test_an_internal_error_is_a_json_500_without_a_traceback(sim, tmp_path, monkeypatch):
    c = make(sim, tmp_path / "d")
    c.app.state.summaries.compute = lambda *a: 1 / 0
    r = TestClient(c.app, base_url="http://localhost", raise_server_exceptions=False).post(
        "/api/submissions", json={"team": "t", "name": "n", "state": {}})
    assert r.status_code == 500 and "ZeroDivisionError" in r.json()["error"] and "Traceback" not in r.text


# ----------------------------------------------------------------------------- rate and volume limits
def test_submission_rates_per_client_and_per_team(sim, tmp_path):
    c = make(sim, tmp_path / "d", limits=Limits(client_rate=(4, 60.0), team_rate=(2, 60.0)))
    tok = submit(c, "T1").json()["team_token"]
    assert submit(c, "T1", token=tok).status_code == 201
    r = submit(c, "T1", token=tok)
    assert r.status_code == 429 and "team 'T1'" in r.json()["error"] and int(r.headers["retry-after"]) >= 1
    assert submit(c, "T2").status_code == 201
    r = submit(c, "T3")
    assert r.status_code == 429 and "this computer" in r.json()["error"]
    # another team cannot use up a team's allowance: refused as not the owner, before the rate
    c2 = make(sim, tmp_path / "e", limits=Limits(team_rate=(1, 60.0)))
    tok = submit(c2, "Owner").json()["team_token"]
    for _ in range(3):
        assert submit(c2, "Owner").status_code == 403
    assert submit(c2, "Owner", token=tok).status_code == 429    # its own second one within the minute


def test_stored_volume_is_capped(sim, tmp_path):
    c = make(sim, tmp_path / "d", limits=Limits(client_rate=(100, 1.0), team_rate=(100, 1.0), team_total=2, total=3))
    tok = submit(c, "T1").json()["team_token"]
    assert submit(c, "T1", token=tok).status_code == 201
    r = submit(c, "T1", token=tok)
    assert r.status_code == 429 and "2 submissions" in r.json()["error"]
    assert submit(c, "T2").status_code == 201
    r = submit(c, "T3")
    assert r.status_code == 429 and "holds 3 submissions" in r.json()["error"]


def test_rate_limiter_refills_and_keeps_a_bounded_number_of_keys():
    now = [0.0]
    lim = RateLimiter(2, 10.0, max_keys=100, clock=lambda: now[0])
    assert lim.take("a") == 0 and lim.take("a") == 0 and lim.take("a") == pytest.approx(5.0)
    now[0] = 5.0
    assert lim.take("a") == 0
    for i in range(1000):
        lim.take(f"k{i}")
    assert len(lim) == 100
    with pytest.raises(ValueError, match="client_rate"):
        Limits(client_rate=(0, 60))


# ----------------------------------------------------------------------------- CSV
def test_csv_cells_cannot_become_formulas(client):
    names = ["=1+1", "+SUM(A1)", "@cmd", "-2+3", "-5", "Team 西湖", "=HYPERLINK(\"x\")"]
    for n in names:
        assert submit(client, n).status_code == 201
    text = client.get("/api/submissions.csv", headers=FAC).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    teams = [r[2] for r in rows[2:]]
    assert teams == ["'=1+1", "'+SUM(A1)", "'@cmd", "'-2+3", "-5", "Team 西湖", "'=HYPERLINK(\"x\")"]
    assert all(not cell.startswith(("=", "+", "@")) for r in rows for cell in r)
    assert csv_cell("\tx") == "'\tx" and csv_cell("\r=1") == "'\r=1" and csv_cell(-3.5) == -3.5
    assert csv_cell("-1.5e3") == "-1.5e3" and csv_cell(" =1") == "' =1"


# ----------------------------------------------------------------------------- listing
def test_listing_pages_and_polls_from_stored_summaries(client, monkeypatch):
    ids = [submit(client, f"T{i}", state={"levers": {"incubators": {"value": 20 + i}}}).json()["id"] for i in range(7)]
    page = client.get("/api/submissions?limit=3&offset=0&series=High Tech Exports|RD Expenditure", headers=FAC).json()
    assert [s["id"] for s in page["submissions"]] == ids[:3] and page["total"] == 7 and page["more"] is True
    assert set(page["submissions"][0]["series"]) == {"High Tech Exports", "RD Expenditure"}
    last = client.get("/api/submissions?limit=3&offset=6", headers=FAC).json()
    assert [s["id"] for s in last["submissions"]] == ids[6:] and last["more"] is False
    assert last["submissions"][0]["series"] is None                         # compact unless asked
    cursor = page["cursor"]
    # listing never runs the model again: summaries were stored when the teams submitted
    monkeypatch.setattr(client.app.state.sim, "_compute", lambda *a, **k: pytest.fail("listing ran the model"))
    monkeypatch.setattr(client.app.state.summaries, "compute", lambda *a, **k: pytest.fail("listing re-summarised"))
    assert client.get("/api/submissions?limit=200", headers=FAC).status_code == 200
    assert client.get("/api/submissions?year=2040", headers=FAC).status_code == 200
    nothing = client.get(f"/api/submissions?since={cursor}", headers=FAC).json()
    assert nothing["submissions"] == [] and nothing["deleted"] == [] and nothing["cursor"] == cursor
    monkeypatch.undo()
    new = submit(client, "T9").json()["id"]
    client.delete(f"/api/submissions/{ids[2]}", headers=FAC)
    changed = client.get(f"/api/submissions?since={cursor}", headers=FAC).json()
    assert [s["id"] for s in changed["submissions"]] == [new] and changed["deleted"] == [ids[2]]
    assert changed["cursor"] > cursor and changed["total"] == 7
    again = client.get(f"/api/submissions?since={changed['cursor']}", headers=FAC).json()
    assert again["submissions"] == [] and again["deleted"] == []
    small = client.get(f"/api/submissions?since={cursor}&limit=1", headers=FAC).json()
    assert small["more"] is True and len(small["submissions"]) == 1


# ----------------------------------------------------------------------------- schema migration
_V1 = """CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, team TEXT NOT NULL,
    name TEXT NOT NULL, exercise TEXT, model_version TEXT NOT NULL, state TEXT NOT NULL)"""


def test_a_version_1_database_is_migrated_with_its_rows(sim, tmp_path):
    data = tmp_path / "old"
    data.mkdir()
    db = sqlite3.connect(data / DB_NAME)
    db.execute(_V1)
    rows = [("2025-06-01T09:00:00+00:00", "Team 西湖", "finance", "exports_per_yuan",
             json.dumps({"levers": {"innovation_finance": {"value": 130}}, "shocks": {}, "assumptions": {}})),
            ("2025-06-01T09:05:00+00:00", "Team B", "old lever", None,
             json.dumps({"levers": {"retired_lever": {"value": 1}}, "shocks": {}, "assumptions": {}}))]
    for r in rows:
        db.execute("INSERT INTO submissions (created, team, name, exercise, model_version, state) "
                   "VALUES (?, ?, ?, ?, 'oldversion00', ?)", r)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    c = make(sim, data)
    listed = c.get("/api/submissions", headers=FAC).json()["submissions"]
    assert [(s["team"], s["name"]) for s in listed] == [("Team 西湖", "finance"), ("Team B", "old lever")]
    assert isinstance(listed[0]["goal"]["met"], bool) and listed[0]["kpis"]["High Tech Exports"] > 0
    assert "retired_lever" in listed[1]["error"]                  # kept, and says why it cannot run
    db = sqlite3.connect(data / DB_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    uids = [u for (u,) in db.execute("SELECT uid FROM submissions ORDER BY id")]
    assert len(set(uids)) == 2 and all(uids)
    assert db.execute("SELECT COUNT(*) FROM submissions WHERE summary IS NOT NULL").fetchone()[0] == 2
    with pytest.raises(sqlite3.IntegrityError):                   # the UNIQUE constraint is there
        db.execute("UPDATE submissions SET uid = ? WHERE id = 2", (uids[0],))
    db.close()
    tok = submit(c, "Team 西湖").json()["team_token"]              # an old team name can be claimed
    assert tok and make(sim, data).get("/api/submissions", headers=FAC).json()["total"] == 3


def test_a_database_from_a_newer_version_is_a_clear_error(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute("PRAGMA user_version = 9")
    db.close()
    with pytest.raises(ValueError, match="schema version 9 was written by a newer innosim"):
        SubmissionStore(tmp_path)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ValueError, match="not a readable submissions database"):
        SubmissionStore(tmp_path / "junk")


# ----------------------------------------------------------------------------- load (short)
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="participants use 127.0.0.x source addresses (Linux)")
def test_a_short_workshop_load_gives_no_errors():
    """The load benchmark for 20 s with 10 participants: every request answered with a 2xx."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import bench_dashboard_load

    r = bench_dashboard_load.run(clients=10, seconds=20)
    assert r["errors"] == 0, (r["error_kinds"], r["error_examples"])
    assert r["by_kind"]["run"]["n"] > 20 and r["by_kind"]["poll (since)"]["n"] >= 1


@pytest.mark.slow
def test_the_real_server_refuses_a_huge_body_without_reading_it_and_foreign_hosts(tmp_path):
    import socket
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import bench_dashboard_load

    proc, url = bench_dashboard_load.start_server(str(tmp_path), warm=False)
    port = int(url.rsplit(":", 1)[1])
    try:
        def raw(request: bytes) -> tuple[bytes, float]:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                t = time.monotonic()
                s.sendall(request)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                return data, time.monotonic() - t

        # only the head of a request promising 100 MiB: a server that waited for the body would
        # not answer before the socket's timeout
        head = (f"POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {100 * 2**20}\r\n\r\n").encode()
        answer, seconds = raw(head)
        assert answer.startswith(b"HTTP/1.1 413") and seconds < 10, (answer[:200], seconds)
        answer, _ = raw(b"GET /api/health HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400")
        answer, _ = raw(f"GET /api/health HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 200")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
