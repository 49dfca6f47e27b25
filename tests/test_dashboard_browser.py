"""Workshop dashboard in a real browser (Playwright driving Debian's headless chromium).

The server runs as ``python -m innosim serve`` in a subprocess on a free port with a temporary
data folder, exactly as ``innosim serve`` would run it.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-facilitator-token-42"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
pytest.importorskip("fastapi", reason="the dashboard extra (fastapi, uvicorn) is not installed")
pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason=f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m innosim serve`` on a free port; ``restart()`` keeps the data folder."""

    def __init__(self, data_dir: Path, *extra: str):
        self.data_dir = data_dir
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.output = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> "Server":
        self.port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               "INNOSIM_FACILITATOR_TOKEN": TOKEN}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "innosim", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
             "--no-browser", *self.extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dashboard server exited: {self.proc.stdout.read()}")
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2) as r:
                    if json.load(r)["ok"]:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("dashboard server did not start in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.output = self.proc.stdout.read()
            self.proc.stdout.close()

    def restart(self) -> "Server":
        self.stop()
        return self.start()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("innosim-data")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()


def open_dashboard(page, url: str):
    page.goto(url)
    page.wait_for_function("+document.body.dataset.drawn >= 1", timeout=60_000)


def drawn(page) -> int:
    return int(page.evaluate("+document.body.dataset.drawn"))


def scenario_y(page, chart: int = 0) -> list:
    return page.evaluate(f"Charts.scenarioY({chart})")


def press(page, selector: str, key: str):
    page.locator(selector).focus()
    page.keyboard.press(key)


# ----------------------------------------------------------------------------- tests
def test_page_loads_with_no_request_leaving_the_machine(page, server):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    open_dashboard(page, server.url + "/")
    page.wait_for_timeout(300)
    hosts = {urlsplit(u).netloc for u in requests if not u.startswith("data:")}
    assert hosts == {f"127.0.0.1:{server.port}"}, requests
    assert any(u.endswith("/vendor/plotly.min.js") for u in requests)
    assert page.locator("#item-rd_super_deduction").count() == 1
    assert page.locator("#assumption-list .item").count() >= 8
    assert page.locator(".exercise-item").count() >= 4
    assert not page.errors, page.errors


def test_moving_a_slider_changes_the_chart(page, server):
    open_dashboard(page, server.url + "/")
    before = scenario_y(page, 0)
    assert before == page.evaluate("innosim.S.base.kpis[innosim.S.charts[0]]")
    n = drawn(page)
    press(page, "#item-innovation_finance input[type=range]", "End")
    page.wait_for_function(f"+document.body.dataset.drawn > {n} && Charts.scenarioY(0)[27] !== {before[27]}")
    after = scenario_y(page, 0)
    k = page.evaluate("innosim.S.years.indexOf(2035)")
    assert after[k] > before[k]                      # more innovation finance, more exports
    assert after[:17] == before[:17]                 # history is untouched
    assert "changed" in page.locator("#item-innovation_finance").get_attribute("class")
    assert "innovation_finance=500" in page.url
    page.click("#btn-undo")
    page.wait_for_function(f"Charts.scenarioY(0)[{k}] === {before[k]}")
    assert not page.errors, page.errors


def test_small_slider_moves_redraw_the_scenario_lines_within_fixed_axes(page, server):
    """A small move keeps the axes and redraws only the live traces (the fast path); what is drawn
    is the server's answer, inside the axis range; a large move gets new axes."""
    open_dashboard(page, server.url + "/")
    page.wait_for_function("innosim.settled()")
    path = "() => document.querySelectorAll('#plots .scatterlayer .trace')[0] && " \
           "Array.from(document.querySelectorAll('#plots .scatterlayer .trace path.js-line')).map(p => p.getAttribute('d'))"
    axes = "() => [1, 2, 3, 4, 5].map(n => document.getElementById('plots')._fullLayout['yaxis' + (n > 1 ? n : '')].range)"
    page.evaluate("() => { window.__fast = 0; const a = Plotly.animate; Plotly.animate = (...x) => { window.__fast++; return a(...x); }; }")
    lines = page.evaluate(path)
    for _ in range(3):
        n = drawn(page)
        press(page, "#item-innovation_finance input[type=range]", "ArrowRight")
        page.wait_for_function(f"+document.body.dataset.drawn > {n} && innosim.settled()")
    assert page.evaluate("window.__fast") >= 2                    # small moves keep the axes: fast redraws
    assert page.evaluate(path) != lines                           # ... and the lines were redrawn
    state = page.evaluate("innosim.S.drawnState")
    charts = page.evaluate("innosim.S.charts")
    city = page.evaluate("[innosim.S.cityKpi, innosim.S.year]")
    res = page.request.post(server.url + "/api/run", data={"state": state, "kpis": charts,
                                                            "city_kpi": city[0], "city_year": city[1]}).json()
    for i, v in enumerate(charts):
        y = scenario_y(page, i)
        assert y == res["kpis"][v]
        lo, hi = page.evaluate(axes)[i]
        assert lo <= min(y) and max(y) <= hi
    assert page.evaluate("Charts.traceY('city-scenario')") == res["city"]["values"]
    n = drawn(page)
    press(page, "#item-innovation_finance input[type=range]", "End")
    page.wait_for_function(f"+document.body.dataset.drawn > {n} && innosim.settled()")
    y = scenario_y(page, 0)
    lo, hi = page.evaluate(axes)[0]
    assert lo <= min(y) and max(y) <= hi                          # a large move: axes follow the lines
    assert not page.errors, page.errors


def test_language_toggle_switches_every_label_to_chinese(page, server):
    meta = json.loads(urllib.request.urlopen(server.url + "/api/meta").read())
    open_dashboard(page, server.url + "/")
    lever = meta["levers"][0]
    kpi = next(k for k in meta["kpis"] if k["variable"] == meta["defaults"]["charts"][0])
    assert page.locator(f"#item-{lever['id']} .name").text_content() == lever["name"]["en"]
    page.click("#btn-lang")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.locator(f"#item-{lever['id']} .name").text_content() == lever["name"]["zh"]
    assert page.locator("#chart-title-0").text_content().startswith(kpi["name"]["zh"])
    assert page.locator("#btn-reset").text_content() == "重置"
    assert page.locator("#btn-lang").text_content() == "English"
    assert "lang=zh" in page.url


def test_url_round_trip_restores_the_same_sliders(page, browser, server):
    open_dashboard(page, server.url + "/")
    press(page, "#item-rd_subsidy input[type=range]", "End")
    page.click("#assumptions-panel > summary")
    press(page, "#assumption-lbe input[type=range]", "Home")
    page.click("#btn-lang")
    page.wait_for_function("location.search.includes('a.lbe=0') && location.search.includes('rd_subsidy=0.5')"
                           " && location.search.includes('lang=zh')")
    page.wait_for_function("innosim.settled()")
    url = page.url
    state = page.evaluate("JSON.stringify(innosim.S.state)")
    outputs = page.locator("#controls output").all_text_contents()
    y = scenario_y(page, 0)

    other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    open_dashboard(other, url)
    other.wait_for_function("innosim.settled()")
    assert other.evaluate("JSON.stringify(innosim.S.state)") == state
    assert other.locator("#controls output").all_text_contents() == outputs
    assert other.evaluate("document.documentElement.lang") == "zh-CN"
    assert scenario_y(other, 0) == y
    other.context.close()


def test_an_exercise_goal_flips_to_met(page, server):
    open_dashboard(page, server.url + "/")
    page.click(".start-ex[data-id=trade_barrier]")
    page.wait_for_selector("#goal-badge[data-met='0']")
    assert page.locator("#item-trade_barrier input[type=range]").is_disabled()   # locked by the exercise
    press(page, "#item-us_eu_share input[type=range]", "Home")                 # diversify export markets
    page.wait_for_selector("#goal-badge[data-met='1']", timeout=30_000)
    assert page.locator("#lesson").is_visible()
    assert "ex=trade_barrier" in page.url


def test_prediction_hides_the_charts_until_revealed(page, server):
    open_dashboard(page, server.url + "/")
    page.click(".start-ex[data-id=learning_by_exporting]")
    page.wait_for_selector("#veil", state="visible")
    page.fill("#prediction", "-3")
    page.click("#btn-reveal")
    page.wait_for_selector("#veil", state="hidden")
    assert "%" in page.locator(".predict .answer").text_content()


def test_team_submission_appears_for_the_facilitator_and_survives_a_restart(page, browser, tmp_path):
    srv = Server(tmp_path / "data").start()
    try:
        open_dashboard(page, srv.url + "/")
        press(page, "#item-incubators input[type=range]", "End")
        page.wait_for_function("'incubators' in innosim.S.state.levers && innosim.settled()")
        page.click("#btn-submit")
        page.fill("#submit-team", "Team Qiantang 钱塘")
        page.fill("#submit-name", "incubators max")
        page.click("#submit-ok")
        page.wait_for_selector("#toast:not([hidden])")
        assert "#1" in page.locator("#toast").text_content()

        fac = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True).new_page()
        fac.goto(srv.url + f"/facilitator?token={TOKEN}")      # the link printed at start
        fac.wait_for_function("+document.body.dataset.loaded >= 1", timeout=60_000)
        assert "token" not in fac.url                            # taken out of the address bar
        assert fac.locator("#fac-table td.team").all_text_contents() == ["Team Qiantang 钱塘"]
        deltas = fac.locator("#fac-table tr[data-id] .delta").all_text_contents()
        assert len(deltas) == 4 and all(d.endswith("%") for d in deltas) and deltas[0].startswith("+")
        assert fac.locator("#pager-text").text_content() == "1–1 of 1"
        with fac.expect_download() as dl:
            fac.click("#btn-csv")
        assert "Team Qiantang 钱塘" in Path(dl.value.path()).read_text(encoding="utf-8-sig")
        with fac.expect_download() as dl:
            fac.click("#btn-png")
        assert dl.value.suggested_filename.endswith(".png")

        srv.restart()
        fac.goto(srv.url + f"/facilitator?token={TOKEN}")
        fac.wait_for_function("+document.body.dataset.loaded >= 1", timeout=60_000)
        assert fac.locator("#fac-table td.team").all_text_contents() == ["Team Qiantang 钱塘"]
        fac.context.close()
    finally:
        srv.stop()


def test_facilitator_view_asks_for_the_token(page, server):
    r = page.request.get(server.url + "/api/submissions")
    assert r.status == 401 and "facilitator token" in r.json()["error"]
    page.goto(server.url + "/facilitator")
    page.wait_for_selector("#login:not([hidden])")
    assert page.locator("#fac-main").is_hidden()
    page.fill("#token-input", "not-the-token-at-all")
    page.click("#btn-login")
    page.wait_for_selector("#login-error:not([hidden])")
    page.fill("#token-input", TOKEN)
    page.click("#btn-login")
    page.wait_for_function("+document.body.dataset.loaded >= 1", timeout=60_000)
    assert page.locator("#login").is_hidden() and page.locator("#fac-table").is_visible()
    page.goto(server.url + "/facilitator?token=wrong-token-0000000000")
    page.wait_for_selector("#login-error:not([hidden])")


def test_a_team_name_belongs_to_the_browser_that_used_it_first(page, browser, server):
    def submit(pg, team):
        open_dashboard(pg, server.url + "/")
        pg.click("#btn-submit")
        pg.fill("#submit-team", team)
        pg.fill("#submit-name", "s")
        pg.click("#submit-ok")

    submit(page, "Team Owner")
    page.wait_for_selector("#toast:not([hidden])")
    tokens = page.evaluate("JSON.parse(localStorage.getItem('innosim.teamTokens.v1'))")
    assert len(tokens["team owner"]) >= 32
    submit(page, "team  OWNER")                       # the same team, from the same browser: accepted
    page.wait_for_function("document.getElementById('toast').textContent.includes('#')")
    other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    submit(other, "Team Owner")
    other.wait_for_selector("#banner:not([hidden])")
    assert "already used by another browser" in other.locator("#banner").text_content()
    other.context.close()


def test_the_start_message_prints_a_working_facilitator_link(tmp_path):
    srv = Server(tmp_path / "data").start()
    srv.stop()
    assert f"http://127.0.0.1:{srv.port}/facilitator?token={TOKEN}" in srv.output, srv.output


def test_model_switch_leads_to_the_symbiosis_model_with_its_notice_and_exercise(page, server):
    open_dashboard(page, server.url + "/")
    assert page.locator("#model-notice").is_hidden()                  # the calibrated flagship: no notice
    options = page.locator("#model-switch option").all_text_contents()
    assert len(options) == 2 and page.locator("#model-switch").is_visible()
    page.select_option("#model-switch", "/m/industrial_symbiosis/")
    page.wait_for_url("**/m/industrial_symbiosis/**")
    page.wait_for_function("+document.body.dataset.drawn >= 1", timeout=60_000)
    notice = page.locator("#model-notice")
    assert notice.is_visible() and notice.text_content().startswith("Uncalibrated theory model")
    assert page.locator("#model-title").text_content() == "Two-way industrial transfer and innovation symbiosis"
    assert page.locator("#item-chain_chief").count() == 1 and page.locator("#item-rd_subsidy").count() == 0
    page.click(".start-ex[data-id=shorten_the_dip]")
    page.wait_for_selector("#goal-badge[data-met='0']")
    press(page, "#item-chain_chief input[type=range]", "End")
    press(page, "#item-core_alliance input[type=range]", "End")
    page.wait_for_selector("#goal-badge[data-met='1']", timeout=30_000)
    page.click("#btn-lang")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert notice.text_content().startswith("未经校准的理论模型")
    assert page.locator("#model-switch option:checked").text_content() == "产业双向转移与创新共生模型"
    assert not page.errors, page.errors


# ----------------------------------------------------------------------------- model views (data, bands, documentation)
def _get(server, path):
    return json.loads(urllib.request.urlopen(server.url + path).read())


def _post(server, path, body):
    req = urllib.request.Request(server.url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=120).read())


def test_recorded_data_and_the_uncertainty_band_in_english_and_chinese(page, server):
    history = _get(server, "/api/history")["series"]
    open_dashboard(page, server.url + "/")
    charts = page.evaluate("innosim.S.charts")
    shown = [i for i, v in enumerate(charts) if v in history]
    assert shown, "no default chart has recorded data"
    for i in shown:                                      # the model's data, as points, where it has some
        assert page.evaluate(f"Charts.traceY('data-{i}')") == history[charts[i]]["values"]
    assert all(page.evaluate(f"Charts.traceY('data-{i}')") is None for i in range(4) if i not in shown)
    assert page.locator("#legend-data").text_content() == "recorded data"
    assert page.evaluate("Charts.traceY('band-outer-0')") is None          # the band is off by default

    assert page.locator("#bands-toggle").is_visible()
    page.check("#bands")
    page.wait_for_function("+document.body.dataset.bands >= 1", timeout=120_000)
    band = _post(server, "/api/bands", {"state": page.evaluate("innosim.S.state")})["bands"]
    v = charts[0]
    assert page.evaluate("Charts.traceY('band-outer-0')") == band[v]["p95"]
    assert page.evaluate("Charts.traceY('band-outer-lo-0')") == band[v]["p5"]
    assert page.evaluate("Charts.traceY('band-inner-0')") == band[v]["p75"]
    assert page.locator("#legend-band").is_visible() and "bands=1" in page.url
    assert "200 runs" in page.locator("#bands-status").text_content()

    page.click("#btn-lang")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.locator("#bands-toggle").text_content().strip() == "不确定性区间"
    assert page.locator("#legend-data").text_content() == "历史数据"
    assert "次运行" in page.locator("#bands-status").text_content()
    assert page.evaluate("Charts.traceY('band-outer-0')") == band[v]["p95"]       # still drawn after the redraw

    # a moved lever: the old band is never drawn on the new run; the new one follows
    n = int(page.evaluate("+document.body.dataset.bands"))
    press(page, "#item-innovation_finance input[type=range]", "End")
    page.wait_for_function(f"+document.body.dataset.bands > {n}", timeout=120_000)
    moved = _post(server, "/api/bands", {"state": page.evaluate("innosim.S.state")})["bands"]
    assert moved[v]["p95"] != band[v]["p95"]
    assert page.evaluate("Charts.traceY('band-outer-0')") == moved[v]["p95"]
    page.uncheck("#bands")
    page.wait_for_function("Charts.traceY('band-outer-0') === null")
    assert "bands=1" not in page.url
    assert page.locator("#legend-band").count() == 0 and "null" not in page.locator("#legend").text_content()
    assert not page.errors, page.errors


def test_documentation_page_in_english_and_chinese(page, server):
    doc = _get(server, "/api/doc")
    open_dashboard(page, server.url + "/?lang=zh")
    assert page.locator("#link-doc").text_content() == "模型文档"
    page.click("#link-doc")
    page.wait_for_function("+document.body.dataset.loaded >= 1", timeout=60_000)
    assert "lang=zh" in page.url
    rows = page.locator("#var-rows tr")
    assert rows.count() == len(doc["variables"])
    var = next(v for v in doc["variables"] if v["zh"] and v["en"] and v["units"] not in ("", "Dmnl")
               and v["name"].replace(" ", "").isalnum() and v["uses"])
    row = page.locator(f"#var-rows tr[data-name='{var['name']}']")
    assert row.locator(".var-doc .desc").text_content() == var["zh"]
    assert page.locator("#var-table th").first.text_content() == "名称"
    page.wait_for_function("document.getElementById('cld').complete && document.getElementById('cld').naturalWidth > 0")
    assert page.locator("#cld-figure").is_visible()

    page.click("#btn-lang")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert row.locator(".var-doc .desc").text_content() == var["en"]
    assert page.locator("#var-table th").first.text_content() == "Name"
    page.fill("#doc-filter", var["name"].lower())
    assert 1 <= rows.count() < len(doc["variables"])
    assert page.locator("#doc-count").text_content().startswith(f"{rows.count()} of {len(doc['variables'])}")
    row.locator(".var-links.uses a").first.click()        # the structure: follow a link to what it uses
    assert page.locator("#doc-filter").input_value() == "" and rows.count() == len(doc["variables"])
    assert page.locator(f"#var-rows tr[data-name='{var['uses'][0]}']").is_visible()
    page.click("#link-page")
    page.wait_for_function("+document.body.dataset.drawn >= 1", timeout=60_000)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert not page.errors, page.errors


def test_settings_from_the_address_are_checked(page, server):
    open_dashboard(page, server.url + "/?rd_super_deduction=1.5&no_such_lever=3&rd_subsidy=1%2B1")
    page.wait_for_function("innosim.settled()")
    assert page.evaluate("innosim.S.state.levers") == {"rd_super_deduction": {"value": 1.5}}
    banner = page.locator("#banner")
    assert banner.is_visible() and "no_such_lever" in banner.text_content() and "rd_subsidy" in banner.text_content()
    assert "changed" in page.locator("#item-rd_super_deduction").get_attribute("class")
    # a value outside the catalogue's range reaches the server's check and is named there
    page.goto(server.url + "/?rd_super_deduction=99")
    page.wait_for_selector("#banner[data-kind=error]", timeout=60_000)
    assert "rd_super_deduction" in page.locator("#banner").text_content()


def test_serve_set_opens_the_page_with_the_lever_set(page, tmp_path):
    srv = Server(tmp_path / "data", "--only", "--set", "rd_super_deduction=1.5").start()
    try:
        open_dashboard(page, srv.url + "/")
        assert page.evaluate("innosim.S.state.levers") == {"rd_super_deduction": {"value": 1.5}}
        assert "rd_super_deduction=1.5" in page.url
        assert page.locator("#item-rd_super_deduction output").text_content().startswith("150")
        open_dashboard(page, srv.url + "/?rd_subsidy=0.2")          # an address that sets something wins
        assert page.evaluate("Object.keys(innosim.S.state.levers)") == ["rd_subsidy"]
    finally:
        srv.stop()
    assert "opens with rd_super_deduction=1.5" in srv.output


def test_facilitator_table_fits_a_1400_px_window(page, browser, server):
    meta = _get(server, "/api/meta")
    levers = {lv["id"]: lv["high"] for lv in meta["levers"][:6]}
    for i in range(2):
        body = {"team": f"Team Qiantang 钱塘江 with a rather long name {i}", "name": "A long scenario name " * 3,
                "state": {"levers": levers, "assumptions": {a["id"]: a["low"] for a in meta["assumptions"][:2]}}}
        _post(server, "/api/submissions", body)
    for lang in ("en", "zh"):
        fac = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        fac.goto(server.url + f"/facilitator?token={TOKEN}&lang={lang}")
        fac.wait_for_function("+document.body.dataset.loaded >= 1", timeout=60_000)
        widths = fac.evaluate("[document.getElementById('fac-table').scrollWidth,"
                              " document.getElementById('fac-table').parentElement.clientWidth,"
                              " document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1] and widths[2] <= widths[3], (lang, widths)
        fac.context.close()


def test_why_panel_lists_the_dominant_loops_in_english_and_chinese(page, server):
    if not _get(server, "/api/meta")["features"]["why"]:
        pytest.skip("the engine has no loop analysis (simulator.loops): the why panel is hidden")
    open_dashboard(page, server.url + "/m/industrial_symbiosis/")
    page.click("#why-panel > summary")
    page.wait_for_function("+document.body.dataset.why >= 1", timeout=180_000)
    why = _post(server, "/m/industrial_symbiosis/api/why", {"state": page.evaluate("innosim.S.state")})
    shown = page.locator("#why-periods li")
    assert shown.count() == len([p for p in why["periods"] if p["loop"]])
    first = next(p for p in why["periods"] if p["loop"])
    assert shown.first.get_attribute("data-loop") == first["loop"]
    assert why["loops"][first["loop"]]["name"] in shown.first.text_content()
    page.click("#btn-lang")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.locator("#why-panel > summary").text_content().startswith("为什么")
    polarity = why["loops"][first["loop"]]["polarity"]
    if polarity in "+-":
        assert ("增强回路" if polarity == "+" else "调节回路") in shown.first.text_content()
    assert not page.errors, page.errors
