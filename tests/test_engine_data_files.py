"""DATA variables without an equation: their values come from data files given to the run
(RunOptions.data, ``innosim run --data``); without one they are missing data (:NA:).

Expected values are the data written in each test, read with Vensim's data keywords: linear
interpolation between points (the end values held outside them) by default, :NA: between
points with :RAW:.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import eq

import simulator
from innosim.cli import main
from simulator.model import RunOptions

DATA_MODEL = ("demand\n\t~\tunits\n\t~\tfrom a data file\n\t|\n\n"
              "raw demand :RAW: := demand\n\t~\tunits\n\t~\t\n\t|\n\n"
              "price[R]\n\t~\t\n\t~\t\n\t|\n\nR: a, b ~~|\n\n"
              + eq("twice", "2 * demand") + eq("served", "INTEG(demand, 0)"))


@pytest.fixture
def model(load_mdl):
    return load_mdl(DATA_MODEL, final_time=10, time_step=0.5, saveper=0.5)


def _run(model, *files, **kw):
    return model.run(options=RunOptions(data=tuple(str(f) for f in files), backend="numpy"), **kw).to_frame()


def test_without_data_the_variable_is_missing_data(model):
    f = _run(model)  # no NonFiniteError: NaN that comes from missing data is data
    assert f["demand"].isna().all() and f["twice"].isna().all()
    assert f["served"].iloc[0] == 0 and f["served"].iloc[1:].isna().all()  # a stock fed by it
    assert f["price[a]"].isna().all()


def test_dat_file_is_interpolated_and_raw_keeps_the_points(model, tmp_path):
    dat = tmp_path / "d.dat"
    dat.write_text("demand\n0 10\n4 30\n6\t:NA:\n8 20\n\nprice[b]\n0 5\n", encoding="utf-8")
    f = _run(model, dat)
    t = f.index.to_numpy()
    expected = np.interp(t, [0, 4, 8], [10, 30, 20])  # the :NA: point is missing: interpolated over
    np.testing.assert_allclose(f["demand"], expected, rtol=1e-12)
    np.testing.assert_allclose(f["twice"], 2 * expected, rtol=1e-12)
    served = np.concatenate([[0.0], np.cumsum(expected[:-1] * 0.5)])  # Euler sum of the flow
    np.testing.assert_allclose(f["served"], served, rtol=1e-12)
    on_point = np.isin(t, [0, 4, 8])
    np.testing.assert_allclose(f["raw demand"][on_point], [10, 30, 20])
    assert f["raw demand"][~on_point].isna().all()
    assert (f["price[b]"] == 5).all() and f["price[a]"].isna().all()


def test_csv_columns_rows_and_xlsx_give_the_same_series(model, tmp_path):
    down = tmp_path / "down.csv"
    down.write_text("Time,demand,price[a]\n0,1,7\n10,11,\n", encoding="utf-8")
    across = tmp_path / "across.tab"
    across.write_text("Time\t0\t10\ndemand\t1\t11\nprice[a]\t7\t\n", encoding="utf-8")
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in (["Time", "demand", "price[a]"], [0, 1, 7], [10, 11, None]):
        book.active.append(row)
    xlsx = tmp_path / "book.xlsx"
    book.save(xlsx)
    frames = [_run(model, f) for f in (down, across, xlsx)]
    for f in frames:
        np.testing.assert_allclose(f["demand"], 1 + f.index.to_numpy(), rtol=1e-12)
        assert (f["price[a]"] == 7).all() and f["price[b]"].isna().all()


def test_the_last_file_wins_and_a_params_series_wins_over_files(model, tmp_path):
    import pandas as pd

    first, second = tmp_path / "a.dat", tmp_path / "b.dat"
    first.write_text("demand\n0 1\n", encoding="utf-8")
    second.write_text("demand\n0 2\n", encoding="utf-8")
    assert (_run(model, first, second)["demand"] == 2).all()
    given = _run(model, first, params={"demand": pd.Series([3.0, 3.0], index=[0.0, 10.0])})
    assert (given["demand"] == 3).all()


@pytest.mark.parametrize("text,message", [
    ("demand\n0 1\n2 x\n", r"bad\.dat: line 3: value 'x' is not a number"),
    ("0 1\n", r"bad\.dat: line 1: a time and value before any variable's name"),
    ("demand\n0 1\n0 2\n", r"bad\.dat: line 3: series 'demand' gives time 0 twice"),
    ("demand\n1 2 3\n", r"bad\.dat: line 2: expected 'time value'"),
])
def test_bad_data_file_names_the_file_and_line(model, tmp_path, text, message):
    bad = tmp_path / "bad.dat"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(simulator.ParameterError, match=message):
        _run(model, bad)


def test_vdf_and_missing_files_are_refused_clearly(model, tmp_path):
    with pytest.raises(simulator.ParameterError, match=r"nothere\.dat: data file not found"):
        _run(model, tmp_path / "nothere.dat")
    vdf = tmp_path / "run.vdf"
    vdf.write_bytes(b"\x00\x01")
    with pytest.raises(simulator.ParameterError, match=r"run\.vdf: Vensim's binary \.vdf data format"):
        _run(model, vdf)
    with pytest.raises(simulator.ParameterError, match="RunOptions.data must be a tuple of file paths"):
        RunOptions(data="one.dat")


def test_cli_run_with_data(write_mdl, tmp_path, capsys):
    path = write_mdl(DATA_MODEL, final_time=10, time_step=0.5, saveper=0.5)
    dat = tmp_path / "d.dat"
    dat.write_text("demand\n0 10\n10 20\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--data", str(dat), "--out", str(out), "--var", "demand"]) == 0
    import pandas as pd

    f = pd.read_csv(next(out.glob("*.csv")), index_col=0)
    np.testing.assert_allclose(f["demand"], 10 + f.index.to_numpy(), rtol=1e-12)
    assert main(["run", str(path), "--data", str(tmp_path / "none.dat"), "--out", str(out)]) != 0
    assert "none.dat: data file not found" in capsys.readouterr().err


@pytest.mark.slow
def test_data_file_on_the_compiled_backend(model, tmp_path):
    pytest.importorskip("numba")
    dat = tmp_path / "d.dat"
    dat.write_text("demand\n0 10\n4 30\n8 20\nprice[b]\n0 5\n", encoding="utf-8")
    res = model.run(options=RunOptions(data=(str(dat),), backend="numba"))
    assert res.metadata["backend"] == "numba"
    f = res.to_frame()
    np.testing.assert_allclose(f["demand"], np.interp(f.index.to_numpy(), [0, 4, 8], [10, 30, 20]), rtol=1e-12)
    assert f["raw demand"][~np.isin(f.index, [0, 4, 8])].isna().all() and (f["price[b]"] == 5).all()


def test_missing_data_tests_equal_to_na(load_mdl, tmp_path):
    # Vensim's reference: :NA: can be used to test for the existence of data (x = :NA:)
    m = load_mdl(DATA_MODEL + eq("has point", "IF THEN ELSE(raw demand = :NA:, 0, 1)")
                 + eq("no point", "IF THEN ELSE(:NA: <> raw demand, 0, 1)"), final_time=10, time_step=0.5, saveper=0.5)
    dat = tmp_path / "d.dat"
    dat.write_text("demand\n0 10\n4 30\n8 20\n", encoding="utf-8")
    f = _run(m, dat)
    np.testing.assert_array_equal(f["has point"], np.isin(f.index, [0, 4, 8]).astype(float))
    np.testing.assert_array_equal(f["no point"], 1.0 - f["has point"])
