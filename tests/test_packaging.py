"""Packaging: every package is declared, and a built wheel carries the bundled models.

In a source checkout or an editable install innosim reads ``models/`` beside its package; a wheel
(a non-editable install) carries the same folder as the package data of ``innosim_models``. The
slow test builds the wheel, unpacks it into an empty folder and runs ``innosim`` from there, far
from the repository, on both registered models.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_of_the_repository_is_declared():
    declared = set(PYPROJECT["tool"]["setuptools"]["packages"])
    # hidden folders (the README's .venv with its site-packages, .git) and outputs are not the project's
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("*/**/__init__.py")
             if p.parent.relative_to(ROOT).parts[0] not in ("tests", "benchmarks", "build", "dist", "out")
             and not p.parent.relative_to(ROOT).parts[0].startswith(".")}
    assert found <= declared, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - declared)}"
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["innosim_models"] == "models"
    assert PYPROJECT["project"]["scripts"]["innosim"] == "innosim.cli:main"


def _not_source(folder: str, names: list[str]) -> set[str]:
    skip = {n for n in names if n in {".git", ".venv", "build", "dist", "out", "__pycache__", ".hypothesis",
                                     ".pytest_cache", ".ruff_cache", "tests", "benchmarks"} or n.endswith(".egg-info")}
    if Path(folder).name == "models":   # models pysd translated next to their .mdl files
        skip |= {n for n in names if n.endswith(".py") and n != "draw_cld.py"}
    return skip


def _can_build_wheels() -> bool:
    """setuptools builds wheels itself from 70.1 on; older ones need the ``wheel`` package."""
    try:
        import setuptools
    except ImportError:
        return False
    if tuple(int(p) for p in setuptools.__version__.split(".")[:2]) >= (70, 1):
        return True
    try:
        import wheel  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _can_build_wheels(), reason="building a wheel needs setuptools >= 70.1 or the "
                    "'wheel' package (pip install wheel; the dev extra installs it)")
def test_a_built_wheel_runs_both_models_away_from_the_repository(tmp_path):
    # build from a copy: setuptools writes build/ and *.egg-info into the source tree
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_not_source)
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(wheels)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(wheels.glob("innosim-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    assert not any(n.startswith("innosim_models/") and n.endswith(".py") and "draw" not in n for n in names)
    for name in ("innosim_models/registry.toml", "innosim_models/zhejiang_innovation_openness.mdl",
                 "innosim_models/industrial_symbiosis.mdl", "innosim_models/industrial_symbiosis/model.toml",
                 "innosim_models/zhejiang_innovation_openness/levers.toml",
                 "innosim_models/zhejiang_innovation_openness/scenarios/policy-package.toml",
                 "innosim_models/zhejiang_innovation_openness/targets.csv", "innosim/cli.py",
                 "dashboard/static/app.js"):
        assert name in names, name
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "INNOSIM_MODELS")}
    env["PYTHONPATH"] = str(tmp_path / "site")
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = subprocess.run([sys.executable, "-c", "import innosim; print(innosim.models_dir()); "
                            "print(innosim.resolve('industrial_symbiosis').path)"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert str(tmp_path / "site" / "innosim_models") in probe.stdout
    for argv in (["levers", "--model", "industrial_symbiosis"], ["levers"]):
        run = subprocess.run([sys.executable, "-m", "innosim", *argv], cwd=work, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
    assert "rd_super_deduction" in run.stdout
