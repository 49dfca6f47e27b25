"""Valid Vensim that pysd's grammar rejects, normalised by the parsing layer, one case per test;
and truly invalid text reported with file, line and column."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.loader import read_source
from simulator.parsing.normalise import normalise_vensim

CONTROL = "".join(f"{k} = {v}\n\t~\tMonth\n\t~\t\n\t|\n\n" for k, v in
                  (("INITIAL TIME", 0), ("FINAL TIME", 2), ("TIME STEP", 1), ("SAVEPER", 1)))


def _write(tmp_path, body: str) -> Path:
    path = tmp_path / "m.mdl"
    path.write_text("{UTF-8}\n" + body + CONTROL, encoding="utf-8")
    return path


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_inline_comments_inside_equations_are_dropped(tmp_path):
    body = ("a = 2 {a comment with | and ~ and (brackets} + 1\n\t~\tMonth {units comment}\n\t~\t\n\t|\n\n"
            "b = a * {a comment\n\tover two lines}\n\t3\n\t~\t\n\t~\t\n\t|\n\n")
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    np.testing.assert_array_equal(f["a"], 3.0)
    np.testing.assert_array_equal(f["b"], 9.0)


def test_lines_after_a_comment_are_still_the_files_lines(tmp_path):
    body = ("a = 2 {one\n\ttwo\n\tthree}\n\t~\t\n\t~\t\n\t|\n\n" "b = NO SUCH FUNCTION(a)\n\t~\t\n\t~\t\n\t|\n\n")
    path = _write(tmp_path, body)
    with pytest.raises(simulator.ModelLoadError, match=rf"line {_line(path, 'NO SUCH')}\b.*'b'"):
        simulator.load(path)


def test_braces_in_the_documentation_are_its_text(tmp_path):
    body = "a = 2\n\t~\t\n\t~\tSee {Sterman 2000} for this.\n\t|\n\n"
    src = read_source(_write(tmp_path, body))
    assert src.elements["a"].documentation == "See {Sterman 2000} for this."


def test_an_unclosed_comment_names_its_line_and_column(tmp_path):
    body = "a = 1\n\t~\t\n\t~\t\n\t|\n\nb = 2 {never closed\n\t~\t\n\t~\t\n\t|\n\n"
    path = _write(tmp_path, body)
    with pytest.raises(simulator.ModelLoadError,
                       match=rf"^{path}: line {_line(path, 'never closed')}, column 7: the comment"):
        simulator.load(path)


def test_quoted_names_may_hold_braces(tmp_path):
    body = '"a {b}" = 2\n\t~\t\n\t~\t\n\t|\n\nc = "a {b}" * 2\n\t~\t\n\t~\t\n\t|\n\n'
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    np.testing.assert_array_equal(f["c"], 4.0)


def test_line_continuations_in_every_form(tmp_path):
    body = ("a = 2 \\\n    + 1\n\t~\t\n\t~\t\n\t|\n\n"      # backslash, newline, spaces
            "b = a \\   \n\t* 2\n\t~\t\n\t~\t\n\t|\n\n"      # backslash, spaces, newline
            "c = b \\\n\t\t- 1\n\t~\t\n\t~\t\n\t|\n\n")      # Vensim's own form
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    assert (f["a"].iloc[0], f["b"].iloc[0], f["c"].iloc[0]) == (3.0, 6.0, 5.0)


def test_a_data_variable_declared_by_its_name_alone_loads_as_missing_data(tmp_path):
    # pysd's grammar fails on it ("syntax error ... grammar rule 'keyword'"); it is valid Vensim:
    # its values come from a data file given to the run (tests/test_engine_data_files.py)
    body = "history\n\t~\tWidgets\n\t~\tValues come from a data file at run time.\n\t|\n\ny = 2\n\t~\t\n\t~\t\n\t|\n\n"
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    assert f["history"].isna().all() and (f["y"] == 2).all()


def test_unicode_names_and_unusual_blanks(tmp_path):
    body = ("Café stock = INTEG(Zufluss größe, 1)\n\t~\t\n\t~\t\n\t|\n\n"
            "Zufluss größe\u00a0= 0.1 * Café stock\n\t~\t\n\t~\t\n\t|\n\n"
            "人口 = Café stock * 2\n\t~\t\n\t~\t\n\t|\n\n")
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    np.testing.assert_allclose(f["Café stock"], [1.0, 1.1, 1.21])
    np.testing.assert_allclose(f["人口"], [2.0, 2.2, 2.42])


def test_normalising_keeps_every_position():
    text = "{UTF-8}\na = 1 {x\n y} \\  \n + 2\n\t~\tm {u}\n\t~\tdoc {kept}\n\t|\n"
    out = normalise_vensim(Path("m.mdl"), text)
    assert len(out) == len(text)
    assert [i for i, c in enumerate(out) if c == "\n"] == [i for i, c in enumerate(text) if c == "\n"]
    assert out.startswith("{UTF-8}\n") and "doc {kept}" in out
    assert "{" not in out.split("~")[0][8:] and "\\" not in out


def test_a_lookup_written_as_x_values_then_y_values(tmp_path):
    # the older Vensim form (in models converted from DYNAMO); pysd reads only (x,y) pairs
    body = ("tbl(0,1,2,\n\t0,10,40)\n\t~\t\n\t~\t\n\t|\n\ny = tbl(1.5)\n\t~\t\n\t~\t\n\t|\n\n"
            "z = NO SUCH FUNCTION(y)\n\t~\t\n\t~\t\n\t|\n\n")
    path = _write(tmp_path, body)
    with pytest.raises(simulator.ModelLoadError, match=rf"line {_line(path, 'NO SUCH')}\b"):
        simulator.load(path)  # the rewrite keeps the lines that follow
    path.write_text(path.read_text().replace("NO SUCH FUNCTION(y)", "y"))
    f = simulator.load(path).run(method="euler").to_frame()
    np.testing.assert_array_equal(f["y"], 25.0)


def test_a_flat_lookup_whose_x_values_do_not_increase_stays_an_error(tmp_path):
    body = "tbl(0,2,1, 0,10,40)\n\t~\t\n\t~\t\n\t|\n\ny = tbl(1.5)\n\t~\t\n\t~\t\n\t|\n\n"
    path = _write(tmp_path, body)
    with pytest.raises(simulator.ModelLoadError, match=rf"line {_line(path, 'tbl(0,2')}, variable 'tbl'"):
        simulator.load(path)
