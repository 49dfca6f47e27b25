"""User-facing text cites reference keys of ``docs/references.md``, never internal files.

Checked for every registered model: its catalogue, scenarios, exercises, assumptions, uncertainty
file and ``model.toml``, its model file (documentation fields and group notes) and its
documentation; the help of every ``innosim`` command; the report writers and the dashboard's
page strings. None may cite "seed 00x" / "种子文献", ``domain.md``, ``parameters.md`` or
``../shared`` (files a user of the project does not have); every ``[ref:key, ...]`` must name a
key listed in ``docs/references.md``.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import model_info

from innosim.cli import DELEGATED, main
from innosim.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent
BANNED = re.compile(r"seed[ _-]?0\d\d|种子文献|domain\.md|parameters\.md|\.\./shared"
                    # a source paper by its internal number: "004 §4.2", "依据: 003", "含 002 区域"
                    r"|(?<![\w.\-/])00\d(?=\s*(?:§|困境|区域))|依据[:：]\s*00\d", re.I)
REF = re.compile(r"\[ref:([^,\]\s]+)")
REFERENCES = set(re.findall(r"^\| `([^`]+)` \|", (ROOT / "docs" / "references.md").read_text(encoding="utf-8"), re.M))
TEMPLATES = [ROOT / "policies" / "report.py", ROOT / "sensitivity" / "report.py",
             *sorted((ROOT / "dashboard" / "static").glob("*.*"))]
MODELS = list(load_registry().names)


def model_files(name: str) -> list[Path]:
    info = model_info(name)
    files = [info.path, *sorted(info.folder.rglob("*.toml"))]
    if info.documentation:
        files.append(info.documentation)
    return files


def problems(text: str, where: str) -> list[str]:
    out = []
    for m in BANNED.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append(f"{where}:{line}: cites {m.group(0)!r}")
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue   # a comment explaining the citation format, e.g. "[ref:key, section]"
        for key in REF.findall(line):
            if key not in REFERENCES:
                out.append(f"{where}:{lineno}: [ref:{key}] is not a key of docs/references.md")
    return out


@pytest.mark.parametrize("name", MODELS)
def test_model_data_files_cite_reference_keys_only(name):
    found = []
    for path in model_files(name):
        found += problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "\n".join(found[:40])
    assert any(REF.search(p.read_text(encoding="utf-8")) for p in model_files(name)), "no citation at all"


@pytest.mark.parametrize("name", MODELS)
def test_model_documentation_fields_and_scenario_ids(name):
    import policies
    import simulator

    info = model_info(name)
    model = simulator.load(info.path)
    found = []
    for var, v in model.variables.items():
        found += problems(v.documentation or "", f"{info.path.name}: {var}")
    for sid in policies.builtin_scenario_files(info.catalogue()):
        found += problems(sid, f"{name}: scenario id")
    assert not found, "\n".join(found[:40])


def test_cli_help_texts(capsys):
    texts = []
    assert main(["--help"]) == 0
    texts.append(("innosim --help", capsys.readouterr().out))
    for command in ("run", "compare", "levers", "info", "models", "conformance", *DELEGATED):
        assert main([command, "--help"]) == 0, command
        texts.append((f"innosim {command} --help", capsys.readouterr().out))
    found = []
    for where, text in texts:
        assert "usage:" in text, where
        found += problems(text, where)
    assert not found, "\n".join(found)


def test_report_templates_and_dashboard_strings():
    found = []
    for path in TEMPLATES:
        found += problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "\n".join(found)


def test_the_check_catches_what_it_should():
    assert problems("source: seed 004 §4.2", "x") and problems("见种子文献 002", "x")
    assert problems("see ../shared/parameters.md", "x") and problems("[ref:no_such_key, §1]", "x")
    assert problems("id = \"seed002-package\"", "x")
    assert problems("链长制 (004 §4.2)", "x") and problems("依据: 003 困境和挑战", "x") and problems("含 002 区域协同", "x")
    assert not problems("value 0.004 §1; 2004 §3; id x-002 §4", "x")
    assert not problems("source: [ref:wang2025, §7.2.3]; noise seed 20250417", "x")
