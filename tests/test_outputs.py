"""Safe output writing (simulator.outputs): names, folder containment, atomic files, completion
markers, clean-up after a failure, a full disk and kill -9 in the middle of writing."""
from __future__ import annotations

import errno
import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from simulator import outputs
from simulator.outputs import (
    MARKER,
    OutputError,
    RunFolder,
    check_name,
    inside,
    safe_stem,
    verify,
)

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------ names and paths
@pytest.mark.parametrize("name", ["baseline", "policy-package", "trade-shock+package", "alone-rd_subsidy",
                                  "a", "v1.2", "x" * 64])
def test_safe_names_are_accepted(name):
    assert check_name(name, "scenario id") == name


@pytest.mark.parametrize("name, words", [
    ("../../ESCAPED", "not a safe file name"), ("/etc/passwd", "not a safe file name"),
    ("a/b", "not a safe file name"), ("a..b", "contains '..'"), ("x" * 300, "300 characters long"),
    ("", "not a safe file name"), (".hidden", "not a safe file name"), ("CON", "reserved device name"),
    ("nul.csv", "reserved device name"), ("a b", "not a safe file name"), ("a\x00b", "not a safe file name"),
    ("C:evil", "not a safe file name"), ("名字", "not a safe file name"), (5, "must be text"),
])
def test_unsafe_names_are_refused_with_the_reason(name, words):
    with pytest.raises(OutputError, match="scenario id: ") as info:
        check_name(name, "scenario id")
    assert words in str(info.value)


def test_safe_stem_turns_free_text_into_a_bounded_safe_name():
    for text in ["my model (v2)", "../../x", "名字", "", "CON", "a" * 500, ".."]:
        stem = safe_stem(text)
        assert outputs.name_problem(stem) is None, (text, stem)
        assert len(stem) <= 48
    assert safe_stem("a" * 500) != safe_stem("a" * 499)   # cut names keep a hash: no collision


def test_inside_keeps_every_path_in_its_folder(tmp_path):
    assert inside(tmp_path, "kpis.csv") == tmp_path.resolve() / "kpis.csv"
    for bad in ["../x.csv", "/tmp/x.csv", "sub/x.csv", ".."]:
        with pytest.raises(OutputError):
            inside(tmp_path, bad)


# ------------------------------------------------------------------------------ atomic files
def test_write_atomic_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "kpis.csv").symlink_to(victim)
    with RunFolder(out) as folder:
        folder.write("kpis.csv", "a,b\n1,2\n")
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not (out / "kpis.csv").is_symlink() and (out / "kpis.csv").read_text() == "a,b\n1,2\n"


def test_run_folder_writes_marker_last_with_hashes(tmp_path):
    with RunFolder(tmp_path / "o", meta={"method": "euler"}) as folder:
        folder.write("a.csv", "x\n1\n")
        folder.write("b.png", b"\x89PNG...")
        assert not (tmp_path / "o" / MARKER).exists()     # not complete while writing
    marker = json.loads((tmp_path / "o" / MARKER).read_text(encoding="utf-8"))
    assert marker["complete"] is True and marker["method"] == "euler"
    assert set(marker["files"]) == {"a.csv", "b.png"}
    assert set(verify(tmp_path / "o")) == {"a.csv", "b.png"}
    (tmp_path / "o" / "a.csv").write_text("x\n2\n")
    with pytest.raises(OutputError, match="a.csv: content differs"):
        verify(tmp_path / "o")


def test_a_new_run_clears_the_previous_one_and_never_mixes_them(tmp_path):
    out = tmp_path / "o"
    with RunFolder(out) as folder:
        for name in ("kpis.csv", "tornado_old_kpi.png"):
            folder.write(name, "old")
    (out / "notes.txt").write_text("mine", encoding="utf-8")           # not ours: never touched
    (out / ".kpis.csv.dead.innosim-tmp").write_text("half", encoding="utf-8")   # left by a kill -9
    with RunFolder(out) as folder:
        folder.write("kpis.csv", "new")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "kpis.csv", "notes.txt"]
    assert verify(out) == {"kpis.csv": {"sha256": outputs.hashlib.sha256(b"new").hexdigest(), "bytes": 3}}


def test_named_runs_share_a_folder_without_touching_each_other(tmp_path):
    for run in ("baseline_euler", "xiasha_euler"):
        with RunFolder(tmp_path, run=run) as folder:
            folder.write(f"{run}.csv", run)
    with RunFolder(tmp_path, run="baseline_euler") as folder:
        folder.write("baseline_euler.csv", "again")
    assert set(verify(tmp_path, "xiasha_euler")) == {"xiasha_euler.csv"}
    assert (tmp_path / "baseline_euler.csv").read_text() == "again"


def test_a_failed_run_removes_its_files_and_says_what_is_left(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ZeroDivisionError) as info:
        with RunFolder(tmp_path) as folder:
            folder.write("a.csv", "1")
            folder.write("b.csv", "2")
            1 / 0   # noqa: B018 - a failure half-way through a report
    note = " ".join(info.value.__notes__)
    assert "run not completed; removed 2 partial file(s)" in note and "notes.txt" in note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_disk_full_is_one_clear_error_and_leaves_no_partial_file(tmp_path, monkeypatch):
    """ENOSPC in the middle of the third file of a sensitivity report."""
    from sensitivity.report import Section, write_report

    out = tmp_path / "o"
    table = pd.DataFrame({"x": range(20000), "y": 0.5})
    write_report(out, "first", [Section("s", tables={"t1": table, "t2": table})])   # a previous result
    budget = {"bytes": 2 * len(outputs.csv_bytes(table, index=False)) + 5000}

    def full(fd, view):
        if budget["bytes"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = os.write(fd, view[: min(len(view), 4096, budget["bytes"])])
        budget["bytes"] -= n
        return n

    monkeypatch.setattr(outputs, "_write_chunk", full)
    with pytest.raises(OutputError) as info:
        write_report(out, "second", [Section("s", tables={"t1": table, "t2": table, "t3": table})])
    message = str(info.value)
    assert "t3.csv: cannot write: the disk is full" in message
    assert "removed 2 partial file(s)" in " ".join(info.value.__notes__)
    assert list(out.iterdir()) == []      # the old report was cleared first, the new one removed


def test_file_size_limit_of_the_kernel_is_reported_like_a_full_disk(tmp_path):
    """A real write error from the kernel (EFBIG under RLIMIT_FSIZE), not a simulated one."""
    script = textwrap.dedent(f"""
        import resource, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        from simulator.outputs import OutputError, RunFolder
        try:
            with RunFolder({str(tmp_path / "o")!r}) as folder:
                folder.write("small.csv", "x\\n1\\n")
                folder.write("big.csv", "1234567\\n" * 100000)
        except OutputError as exc:
            print(exc, *exc.__notes__)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "big.csv: cannot write: the file size limit is exceeded" in proc.stdout, proc.stderr
    assert list((tmp_path / "o").iterdir()) == []


def test_excel_text_that_looks_like_a_formula_stays_text():
    data = outputs.excel_bytes({"s": pd.DataFrame({"name": ["=HYPERLINK(\"x\")", "ok"]})})
    sheet = openpyxl.load_workbook(io.BytesIO(data))["s"]
    assert [(c.value, c.data_type) for c in sheet["A"]][1] == ("=HYPERLINK(\"x\")", "s")


# ------------------------------------------------------------------------------ kill -9
_KILL_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import numpy as np, pandas as pd
import simulator.outputs as o
from sensitivity.report import Section, write_report

plain = o._write_chunk
def slow(fd, view):            # slow writes so that the kill lands in the middle of a file
    time.sleep(0.004)
    return plain(fd, view[:4096])
o._write_chunk = slow
version = int(sys.argv[1])
df = pd.DataFrame(np.full((40000, 3), version))
print("ready", flush=True)
write_report({out!r}, "kill test", [Section("s", tables={{f"t{{i}}": df for i in range(4)}})])
print("done", flush=True)
"""


@pytest.mark.slow
def test_kill_9_never_leaves_a_truncated_result(tmp_path):
    out = tmp_path / "o"
    script = tmp_path / "child.py"
    script.write_text(_KILL_CHILD.format(root=str(ROOT), out=str(out)), encoding="utf-8")
    rng = random.Random(11)
    outcomes = []
    for version in range(1, 7):
        proc = subprocess.Popen([sys.executable, str(script), str(version)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        if version < 6:
            time.sleep(rng.uniform(0.02, 1.0))
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=120)
        marker = outputs.read_marker(out)
        outcomes.append("complete" if marker else "killed")
        if marker:
            verify(out)    # every listed file present with its hash
        for path in out.glob("*.csv"):   # any file under a result's name is whole
            df = pd.read_csv(path)
            assert df.shape == (40000, 3), path
            if marker:
                assert (df.to_numpy() == version).all(), "a complete marker over files of another run"
    assert outcomes[-1] == "complete" and "killed" in outcomes[:-1]
