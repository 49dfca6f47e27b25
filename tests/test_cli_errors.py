"""Every failure a user can cause ends in one line on stderr and exit code 2; internal errors in
one line and exit code 1 (``--debug`` shows the traceback); Ctrl-C in 130. Through ``main(argv)``."""
from __future__ import annotations

import errno
import os

import pytest
from conftest import MODELS, eq

import innosim.commands.engine
from innosim.cli import main
from simulator import outputs


def one_line_error(capsys, *words) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------ arguments
DECAY = str(MODELS / "decay.mdl")


@pytest.mark.parametrize("argv, words", [
    (["run", DECAY, "--time-step", "nan"], ["--time-step", "'nan' is not a finite number"]),
    (["run", DECAY, "--time-step", "0"], ["--time-step", "must be greater than 0"]),
    (["run", DECAY, "--time-step", "-1"], ["--time-step", "must be greater than 0"]),
    (["run", DECAY, "--time-step", "1e-9"], ["decay.mdl", "steps", "exceed the limit"]),
    (["run", DECAY, "--final-time", "inf"], ["--final-time", "not a finite number"]),
    (["run", DECAY, "--final-time", "-5"], ["decay.mdl", "final time -5 must be after the initial time 0"]),
    (["run", DECAY, "--method", "../../x"], ["unknown integration method '../../x'"]),
    (["run", "missing.mdl"], ["missing.mdl"]),
    (["compare", "--years", "inf"], ["--years", "not a finite number"]),
    (["compare", "--years", "1e300"], ["--years", "not a plausible year"]),
    (["sensitivity", "--samples", "0"], ["--samples", "must be between 1 and"]),
    (["sensitivity", "--samples", "many"], ["--samples", "'many' is not a whole number"]),
    (["sensitivity", "--seed", "-1"], ["--seed", "must be between 0 and"]),
    (["sensitivity", "--workers", "0"], ["--workers", "must be between 1 and 256"]),
    (["sensitivity", "--chunk-size", "0"], ["--chunk-size", "must be between 1 and"]),
    (["sensitivity", "--year", "nan"], ["--year", "not a finite number"]),
    (["robustness", "baseline", "xiasha-model", "--samples", "-3"], ["--samples", "must be between 1 and"]),
    (["sensitivity", "--method", "sobol", "--samples", "9000000"], ["runs", "more than the limit"]),
])
def test_bad_arguments_are_one_line_with_exit_code_2(capsys, argv, words):
    assert main(argv) == 2
    one_line_error(capsys, *words)


def test_unwritable_output_folder_is_a_user_error(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["run", DECAY, "--out", str(blocker / "out")]) == 2
    one_line_error(capsys, str(blocker / "out"), "cannot create the output folder")


# ------------------------------------------------------------------------------ models
def test_negative_saveper_is_refused_not_an_empty_csv(capsys, write_mdl, tmp_path):
    """Silent wrong answer: negative SAVEPER used to write an empty CSV and exit 0."""
    model = write_mdl(eq("s", "INTEG(1, 1)"), saveper=-1)
    assert main(["run", str(model), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "model.mdl", "SAVEPER must be positive, got -1")
    assert not (tmp_path / "o").exists()


def test_zero_saveper_is_a_user_error(capsys, write_mdl, tmp_path):
    model = write_mdl(eq("s", "INTEG(1, 1)"), saveper=0)
    assert main(["run", str(model), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "SAVEPER must be positive, got 0")


def test_an_engine_crash_is_one_line_and_debug_shows_the_traceback(capsys, write_mdl, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr("simulator.model.Model.run", broken)
    argv = ["run", DECAY, "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    one_line_error(capsys, "innosim: internal error: ZeroDivisionError", "--debug")
    assert main(["--debug", *argv]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("innosim: internal error")
    assert not (tmp_path / "o").exists()


def test_ctrl_c_exits_130(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(innosim.commands.engine, "cmd_info", interrupted)
    assert main(["info", DECAY]) == 130
    one_line_error(capsys, "interrupted")


def test_unexpected_error_in_a_delegated_command_is_one_line(capsys, monkeypatch):
    import innosim.commands.sensitivity

    def broken(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(innosim.commands.sensitivity, "_sensitivity", broken)
    assert main(["sensitivity", "--method", "oat"]) == 1
    one_line_error(capsys, "innosim sensitivity: internal error: RuntimeError: boom second line")


# ------------------------------------------------------------------------------ outputs
def test_run_writes_csv_and_its_completion_marker(capsys, tmp_path):
    assert main(["run", DECAY, "--out", str(tmp_path)]) == 0
    assert set(outputs.verify(tmp_path, "decay_euler")) == {"decay_euler.csv"}
    assert files_under(tmp_path) == ["_COMPLETE.decay_euler.json", "decay_euler.csv"]


def test_disk_full_during_run_is_one_line_and_leaves_nothing(capsys, tmp_path, monkeypatch):
    def full(fd, view):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs, "_write_chunk", full)
    assert main(["run", DECAY, "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "decay_euler.csv: cannot write: the disk is full", "the folder is empty")
    assert files_under(tmp_path / "o") == []


# ------------------------------------------------------------------------------ scenario ids (flagship)
@pytest.mark.parametrize("sid, words", [
    ("../../ESCAPED", "not a safe file name"),
    ("/tmp/innosim-escaped", "not a safe file name"),
    ("x" * 300, "300 characters long"),
])
def test_scenario_id_never_writes_outside_the_output_folder(capsys, tmp_path, sid, words):
    """``id = "../../ESCAPED"`` used to write CSVs two folders above --out; 300 characters crashed."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    scenario = tmp_path / "a" / "b" / "s.toml"
    scenario.write_text(f'id = "{sid}"\n[levers.incubators]\nvalue = 20\n', encoding="utf-8")
    assert main(["run", str(scenario), "--out", str(tmp_path / "a" / "b" / "out")]) == 2
    one_line_error(capsys, "s.toml: id:", words)
    assert files_under(tmp_path) == ["a/b/s.toml"]
    assert not os.path.exists("/tmp/innosim-escaped_euler.csv")


def test_deeply_nested_scenario_file_is_reported_not_a_recursion_error(capsys, tmp_path):
    scenario = tmp_path / "deep.toml"
    scenario.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    assert main(["run", str(scenario), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "deep.toml", "too deeply")


def test_scenario_run_writes_both_files_and_a_marker(capsys, tmp_path):
    assert main(["run", "baseline", "--out", str(tmp_path)]) == 0
    assert set(outputs.verify(tmp_path, "baseline_euler")) == {"baseline_euler.csv", "baseline_euler_costs.csv"}
