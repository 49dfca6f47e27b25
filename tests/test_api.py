"""``import innosim``: the facade a notebook uses, one default method, ``model.doc``, pysd-like results."""
from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import innosim
import simulator
from innosim.cli import build_parser
from simulator.doc import parse_documentation

SMALL = "industrial_symbiosis"   # the smaller bundled model: seconds, not tens of seconds


@pytest.fixture(scope="module")
def model():
    return innosim.load(SMALL)


def test_relative_model_path_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # a notebook somewhere else, copying the README's path
    info = innosim.info(f"models/{SMALL}.mdl")
    assert info.name == SMALL and info.path.is_file()
    with pytest.raises(innosim.RegistryError) as err:
        innosim.info("models/no_such_model.mdl")
    text = str(err.value)
    assert "no_such_model.mdl" in text and SMALL in text and str(tmp_path) in text


def test_one_default_method_in_python_and_every_command():
    assert innosim.DEFAULT_METHOD == "euler"
    assert inspect.signature(simulator.Model.run).parameters["method"].default == "euler"
    assert inspect.signature(innosim.run).parameters["method"].default == "euler"
    assert inspect.signature(innosim.compare).parameters["method"].default == "euler"
    from policies.compare import compare
    from sensitivity.ensemble import EnsembleOptions

    assert inspect.signature(compare).parameters["method"].default == "euler"
    assert EnsembleOptions().method == "euler"
    parser = build_parser()
    for argv in (["run"], ["compare"]):
        assert parser.parse_args(argv).method == "euler", argv


def test_default_run_is_euler_at_time_step(model):
    res = model.run()
    assert res.metadata["method"] == "euler"
    assert res.metadata["time_step"] == model.control["time_step"]


def test_doc_table(model):
    doc = model.doc
    assert isinstance(doc, pd.DataFrame) and len(doc) == len(model.variables)
    for col in ("variable", "units", "description_zh", "description_en", "range", "source"):
        assert col in doc.columns
    row = doc.set_index("variable").loc["Chain Chief System"]
    assert row["units"] == "Dmnl" and row["range"] == "0..1"
    assert "[ref:transfer_ecology" in row["source"] and row["description_zh"] and row["role"] == "lever"
    assert (doc["description_en"] != "").mean() > 0.9   # the bundled models document their variables


def test_parse_documentation_plain_and_structured():
    assert parse_documentation("Temperature of the tea; cools by Newton's law") == {
        "en": "Temperature of the tea; cools by Newton's law"}
    parts = parse_documentation("zh: 比例 1:2; en: ratio, e.g. 1:2; source: [ref:k, §1]; range: 0..1")
    assert parts == {"zh": "比例 1:2", "en": "ratio, e.g. 1:2", "source": "[ref:k, §1]", "range": "0..1"}
    assert parse_documentation("") == {}


def test_result_answers_like_a_dataframe(model):
    res = model.run()
    frame = res[["Source Firms", "host firms"]]   # names are matched as everywhere else
    assert list(frame.columns) == ["Source Firms", "Host Firms"]
    np.testing.assert_array_equal(frame["Source Firms"].to_numpy(), res["Source Firms"][:, 0])
    t = float(res.times[3])
    assert res.loc[t, "Host Firms"] == res["Host Firms"][3, 0]
    assert len(res.head(2)) == 2 and res.tail(1).index[0] == res.times[-1]
    assert "<table" in res._repr_html_() and "euler" in repr(res)
    with pytest.raises(KeyError, match="Source Firms"):
        res[["Source Firmz"]]


def test_ensemble_result_asks_for_a_member(model):
    ens = model.run({"Chain Chief System": np.array([0.0, 1.0])})
    assert ens["Source Firms"].shape[-1] == 2   # the array access keeps the member axis
    with pytest.raises(ValueError, match="to_frame"):
        ens[["Source Firms"]]


def test_facade_run_and_compare_match_the_library():
    sid = next(s for s in innosim.scenarios(SMALL) if s != "baseline")
    res = innosim.run(SMALL, sid)
    import policies

    model, cat = innosim.load(SMALL), innosim.catalogue(SMALL)
    sc = policies.load_scenario(sid, catalogue=cat, cities=policies.regions(model, cat))
    direct = model.run(policies.scenario_params(sc, model, catalogue=cat))
    name = next(iter(direct.data))
    np.testing.assert_array_equal(res[name], direct[name])
    comp = innosim.compare(SMALL, ["baseline", sid], years=[2035])
    assert set(comp.kpis["scenario"]) == {"baseline", sid} and set(comp.kpis["year"]) == {2035.0}


def test_cli_refuses_a_time_step_that_does_not_divide_saveper(tmp_path, capsys):
    from innosim.cli import main

    rc = main(["run", "--model", SMALL, "--time-step", "0.3", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "--time-step 0.3 does not divide SAVEPER 1" in err and "0.25" in err
    assert not list(tmp_path.iterdir())   # nothing written
    assert main(["run", "--model", SMALL, "--time-step", "0.3", "--method", "RK45", "--var", "Source Firms",
                 "--out", str(tmp_path)]) == 0   # an adaptive method saves at the save times


def test_info_prints_descriptions_in_the_chosen_language(capsys):
    from innosim.cli import main

    assert main(["info", SMALL, "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "产业链链长制实施强度" in out and "来源: [ref:transfer_ecology, §4.2]" in out
    assert main(["info", SMALL]) == 0
    assert "industrial chain chief system" in capsys.readouterr().out
