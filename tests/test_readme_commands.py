"""The README's two commands: they create and use a virtual environment (Debian's Python refuses
pip outside one), and .ci/run runs the README's test command as written."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, re.S)


def test_two_commands_use_a_virtual_environment():
    commands = _commands()
    assert len(commands) == 2, commands
    for cmd in commands:
        assert cmd.startswith("python3 -m venv .venv && .venv/bin/pip install -e "), cmd
        assert "python3 -m pip" not in cmd and "sudo pip" not in cmd
    assert commands[0].endswith(".venv/bin/innosim compare --out out/compare")
    assert "python3-venv" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _commands()[1] in ci.splitlines()
