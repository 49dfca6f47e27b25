"""The model registry and ``--model`` on every surface: names, files, the default, errors, the
uncalibrated model's notice in the CLI, the report and the dashboard, and the dashboard's model
switch."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FLAGSHIP, SYMBIOSIS, eq

import innosim
from innosim.cli import main
from innosim.registry import MANIFEST, RegistryError, load_registry, read_manifest, resolve

ROOT = Path(__file__).resolve().parent.parent
NOTICE = "Uncalibrated theory model"


# ---------------------------------------------------------------------------- resolution
def test_registry_lists_both_models_and_names_the_default():
    reg = load_registry()
    assert reg.folder == ROOT / "models"
    assert reg.names[:2] == (FLAGSHIP, SYMBIOSIS) and reg.default == FLAGSHIP
    assert [m.name for m in innosim.registered()] == list(reg.names)


def test_resolve_by_name_by_path_and_by_default():
    assert resolve(None).name == FLAGSHIP
    sym = resolve(SYMBIOSIS)
    assert sym.path == ROOT / "models" / "industrial_symbiosis.mdl" and not sym.calibrated
    assert sym.notice["en"].startswith(NOTICE) and sym.notice["zh"]
    by_path = resolve(ROOT / "models" / "industrial_symbiosis.mdl")   # a file with its data folder
    assert by_path.files == sym.files and by_path.notice == sym.notice
    assert resolve(FLAGSHIP).calibrated and "calibration_setup" in resolve(FLAGSHIP).files


def test_a_bare_model_file_has_no_data_files(tmp_path):
    bare = tmp_path / "decay.mdl"
    shutil.copy(ROOT / "tests" / "models" / "decay.mdl", bare)
    info = resolve(bare)
    assert info.name == "decay" and info.files == {} and info.notice is None
    with pytest.raises(RegistryError, match=r"model 'decay' has no levers file .*compar"):
        info.catalogue()


def test_unknown_names_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(RegistryError, match=r"unknown model 'industrial_symbiosys'.*Did you mean 'industrial_symbiosis'"):
        resolve("industrial_symbiosys")
    with pytest.raises(RegistryError, match=r"nope.mdl: model file not found"):
        resolve(tmp_path / "nope.mdl")


def test_model_toml_is_validated(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (tmp_path / "m.mdl").write_text("x", encoding="utf-8")
    good = ('[model]\nfile = "../m.mdl"\ntitle = {zh = "模型", en = "Model"}\n'
            'description = {zh = "说明", en = "About"}\ncalibrated = true\n')
    (folder / MANIFEST).write_text(good, encoding="utf-8")
    assert read_manifest(folder / MANIFEST).title["en"] == "Model"
    for text, words in [
        (good.replace("calibrated = true", "calibrated = false"), "uncalibrated model needs a model.notice"),
        (good + '[files]\nlevers = "levers.toml"\n', "files.levers 'levers.toml' does not exist"),
        (good + '[files]\nleverz = "x"\n', "unknown key 'leverz'"),
        (good.replace('file = "../m.mdl"', 'file = "../other.mdl"'), "model.file '../other.mdl' does not exist"),
        (good.replace('title = {zh = "模型", en = "Model"}', 'title = {en = "Model"}'), "needs both 'zh' and 'en'"),
    ]:
        (folder / MANIFEST).write_text(text, encoding="utf-8")
        with pytest.raises(RegistryError, match=words):
            read_manifest(folder / MANIFEST)


def test_registry_file_is_validated_and_discovers_unlisted_models(tmp_path):
    shutil.copytree(ROOT / "models", tmp_path / "models")
    reg_file = tmp_path / "models" / "registry.toml"
    reg_file.write_text('default = "industrial_symbiosis"\nmodels = ["industrial_symbiosis"]\n', encoding="utf-8")
    reg = load_registry(tmp_path / "models")
    assert reg.default == SYMBIOSIS and reg.names == (SYMBIOSIS, FLAGSHIP)   # listed first, then found
    reg_file.write_text('default = "nope"\n', encoding="utf-8")
    with pytest.raises(RegistryError, match=r"'default' must name a registered model"):
        load_registry(tmp_path / "models")


def test_models_folder_can_be_moved_with_an_environment_variable(tmp_path, monkeypatch, capsys):
    shutil.copytree(ROOT / "models", tmp_path / "elsewhere")
    monkeypatch.setenv("INNOSIM_MODELS", str(tmp_path / "elsewhere"))
    assert resolve(SYMBIOSIS).path == tmp_path / "elsewhere" / "industrial_symbiosis.mdl"
    assert main(["models"]) == 0
    assert str(tmp_path / "elsewhere") in capsys.readouterr().out


# ---------------------------------------------------------------------------- CLI on both models
def test_models_command_and_levers_of_each_model(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert FLAGSHIP in out and SYMBIOSIS in out and "uncalibrated" in out and NOTICE in out
    assert main(["levers", "--model", SYMBIOSIS, "--scenarios", "--lang", "zh"]) == 0
    captured = capsys.readouterr()
    assert "chain_chief" in captured.out and "policy-package" in captured.out and "产业链链长制" in captured.out
    assert captured.err.count("未经校准的理论模型") == 1 and NOTICE not in captured.err  # once, on stderr, in zh
    assert "rd_super_deduction" not in captured.out
    assert main(["levers"]) == 0
    captured = capsys.readouterr()
    assert "rd_super_deduction" in captured.out and NOTICE not in captured.err


def test_run_compare_and_report_on_the_symbiosis_model(tmp_path, capsys):
    assert main(["run", "--model", SYMBIOSIS, "--out", str(tmp_path / "plain")]) == 0
    assert (tmp_path / "plain" / "industrial_symbiosis_euler.csv").is_file()
    assert NOTICE in capsys.readouterr().err
    assert main(["run", "policy-package", "--model", SYMBIOSIS, "--out", str(tmp_path / "sc")]) == 0
    assert (tmp_path / "sc" / "policy-package_euler_costs.csv").is_file()
    capsys.readouterr()
    assert main(["compare", "alone-chain_chief", "--model", SYMBIOSIS, "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "network/亿元" in out and "exports" not in out
    assert "mode" in out and " %" in out                  # codes as differences, indices in percent
    html = (tmp_path / "c" / "report.html").read_text(encoding="utf-8")
    assert NOTICE in html and "产业双向转移与创新共生模型" in html


def test_a_model_name_given_as_a_scenario_gets_a_hint(capsys, tmp_path):
    assert main(["run", SYMBIOSIS, "--out", str(tmp_path)]) == 2
    assert f"run it with innosim run --model {SYMBIOSIS}" in capsys.readouterr().err


def test_info_takes_a_registered_name(capsys):
    assert main(["info", SYMBIOSIS]) == 0
    assert "Symbiosis Mode" in capsys.readouterr().out


def test_calibrate_and_validate_refuse_the_uncalibrated_model(capsys):
    for command in ("calibrate", "validate"):
        assert main([command, "--model", SYMBIOSIS]) == 2
        err = capsys.readouterr().err
        assert f"innosim {command}: error: model 'industrial_symbiosis' is not calibrated" in err
        assert NOTICE in err and "Traceback" not in err


def test_sensitivity_and_robustness_on_the_symbiosis_model(tmp_path, capsys):
    assert main(["sensitivity", "--model", SYMBIOSIS, "--method", "mc", "--samples", "16", "--no-progress",
                 "--out", str(tmp_path / "s")]) == 0
    captured = capsys.readouterr()
    assert "Symbiosis Mode (2045)" in captured.out             # the model's KPIs and last report year
    assert NOTICE in (tmp_path / "s" / "index.html").read_text(encoding="utf-8")
    assert main(["robustness", "baseline", "policy-package", "--model", SYMBIOSIS, "--samples", "16",
                 "--no-progress", "--out", str(tmp_path / "r")]) == 0
    assert "Host Network Index in 2045, maximise" in capsys.readouterr().out


def test_scenario_of_another_model_is_refused(capsys, tmp_path):
    assert main(["run", "alone-chain_chief", "--out", str(tmp_path)]) == 2   # default model: the flagship
    assert "unknown scenario 'alone-chain_chief'" in capsys.readouterr().err


def test_model_file_with_catalogue_beside_it(tmp_path, capsys):
    """A model outside the registry gets its data files from <stem>/model.toml beside it."""
    model = tmp_path / "tiny.mdl"
    from conftest import mdl_text
    model.write_text(mdl_text(eq("Stock", "INTEG(Push, 1)", "units") + eq("Push", "Lever * 1", "units/Month")
                              + eq("Lever", "0", "Dmnl [0,1]", "kind: lever; range: 0..1")
                              + eq("Cost", "Lever * 2", "亿元/Year") + eq("Total Cost", "INTEG(Cost, 0)", "亿元"),
                              final_time=10), encoding="utf-8")
    data = tmp_path / "tiny"
    (data / "scenarios").mkdir(parents=True)
    (data / "scenarios" / "baseline.toml").write_text('id = "baseline"\n', encoding="utf-8")
    (data / "scenarios" / "push.toml").write_text('id = "push"\n[levers.lever]\nvalue = 1\nstart = 2\n',
                                                  encoding="utf-8")
    (data / "levers.toml").write_text(
        '[defaults]\nstart = 1\nmodel = "../tiny.mdl"\n[costs]\nannual = "Cost"\ncumulative = "Total Cost"\n'
        '[[area]]\nid = "all"\nname = {zh = "全部", en = "All"}\n'
        '[[lever]]\nid = "lever"\narea = "all"\nconstant = "Lever"\nunit = "Dmnl"\nbaseline = 0\nrange = [0, 1]\n'
        'name = {zh = "杠杆", en = "Lever"}\ndescription = {zh = "说明", en = "About"}\nsource = "assumption"\n'
        'cost.variables = ["Cost"]\ncost.rule = {zh = "成本", en = "cost"}\n'
        '[[kpi]]\nvariable = "Stock"\nname = {zh = "存量", en = "Stock"}\nheadline = true\n', encoding="utf-8")
    (data / MANIFEST).write_text('[model]\nfile = "../tiny.mdl"\ntitle = {zh = "小模型", en = "Tiny"}\n'
                                 'description = {zh = "说明", en = "About"}\ncalibrated = false\n'
                                 'notice = {zh = "理论模型", en = "A theory model"}\n'
                                 '[files]\nlevers = "levers.toml"\nscenarios = "scenarios"\n'
                                 '[charts]\nyears = [5, 10]\n', encoding="utf-8")
    assert main(["compare", "--model", str(model), "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "push" in captured.out and "A theory model" in captured.err
    assert (tmp_path / "out" / "report.html").is_file()


# ---------------------------------------------------------------------------- dashboard model switch
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from dashboard.security import Access
    from dashboard.site import create_site
    from innosim.commands.serve import site_setups

    data = tmp_path_factory.mktemp("site")
    app = create_site(site_setups(None), data, access=Access(token="site-test-token-0123456789"),
                      warm_up=False)
    return TestClient(app, base_url="http://localhost"), data


def test_dashboard_serves_every_model_behind_a_switch(site):
    client, data = site
    meta = client.get("/api/meta").json()
    assert meta["model"]["name"] == FLAGSHIP and meta["model"]["notice"] is None
    assert [(m["name"], m["url"], m["current"]) for m in meta["models"]] == [
        (FLAGSHIP, "/", True), (SYMBIOSIS, f"/m/{SYMBIOSIS}/", False)]
    assert meta["model"]["regions"]["Quzhou"] == {"zh": "衢州", "en": "Quzhou"}
    sym = client.get(f"/m/{SYMBIOSIS}/api/meta").json()
    assert sym["model"]["name"] == SYMBIOSIS and sym["model"]["notice"]["en"].startswith(NOTICE)
    assert sym["model"]["title"]["zh"] == "产业双向转移与创新共生模型" and sym["model"]["cities"] == []
    assert [m["current"] for m in sym["models"]] == [False, True]
    assert {a["id"] for a in sym["areas"]} == {"innovation", "regions", "shocks"}
    assert sym["defaults"]["fiscal_cost"] == "Fiscal Cost" and sym["exercises"]
    page = client.get(f"/m/{SYMBIOSIS}/")
    assert page.status_code == 200 and 'src="static/app.js"' in page.text   # relative: works when mounted
    assert client.get(f"/m/{SYMBIOSIS}/static/common.js").status_code == 200
    moved = client.get(f"/?model={SYMBIOSIS}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/m/{SYMBIOSIS}/"
    assert client.get("/?model=nope").status_code == 404


def test_an_exercise_of_the_symbiosis_model_through_the_switch(site):
    client, data = site
    base = f"/m/{SYMBIOSIS}"
    exercises = client.get(f"{base}/api/exercises").json()
    ex = next(e for e in exercises if e["id"] == "shorten_the_dip")
    start = client.post(f"{base}/api/exercises/{ex['id']}/check", json={"state": {}}).json()
    assert start["met"] is False
    state = {"levers": {"chain_chief": {"value": 1}, "core_alliance": {"value": 1}}}
    done = client.post(f"{base}/api/run", json={"state": state, "exercise": ex["id"]}).json()
    assert done["goal"]["met"] is True and done["goal"]["kpi"] == "Host Network Shortfall"
    r = client.post(f"{base}/api/submissions", json={"team": "Team A", "name": "chain", "state": state,
                                                     "exercise": ex["id"]})
    assert r.status_code == 201, r.text
    assert (data / SYMBIOSIS / "submissions.sqlite3").is_file()    # each model keeps its own submissions
    assert client.get("/api/submissions", headers={"Authorization": "Bearer site-test-token-0123456789"}
                      ).json()["total"] == 0
