"""Imports point down the layers: application ``innosim`` > surface ``dashboard`` > studies
``policies``, ``sensitivity``, ``optimise`` > engine ``simulator``.

Every import statement of every module is read with ``ast`` (at any depth: a function-level import
counts as much as a top-level one), so a lazy import cannot hide an upward dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("simulator", "policies", "sensitivity", "optimise", "dashboard", "innosim")
# package -> the project packages it must never import
FORBIDDEN = {
    "simulator": {"policies", "sensitivity", "optimise", "dashboard", "innosim"},
    "policies": {"sensitivity", "optimise", "dashboard", "innosim"},
    "sensitivity": {"optimise", "dashboard", "innosim"},
    "optimise": {"dashboard", "innosim"},
    "dashboard": {"innosim"},
    "innosim": set(),
}
# studies may use each other only where the design says so: sensitivity applies policy scenarios;
# optimisation searches lever packages (policies) scored over ensembles (sensitivity)
ALLOWED_SIDEWAYS = {("sensitivity", "policies"), ("optimise", "policies"), ("optimise", "sensitivity")}


def imported_packages(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, top-level project package) of every import in ``path``; relative imports resolve to
    ``package`` itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [package] if node.level else [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.append((node.lineno, top))
    return sorted(found)


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_a_higher_layer(package):
    bad = []
    for path in modules(package):
        for line, target in imported_packages(path, package):
            if target in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "imports pointing up the layers:\n" + "\n".join(bad)


def test_policies_does_not_import_sensitivity_and_sideways_imports_are_the_documented_ones():
    seen = set()
    studies = ("policies", "sensitivity", "optimise")
    for package in studies:
        for path in modules(package):
            for _line, target in imported_packages(path, package):
                if target in studies and target != package:
                    seen.add((package, target))
    assert seen <= ALLOWED_SIDEWAYS, seen


def test_the_check_sees_lazy_and_relative_imports(tmp_path):
    """The checker itself: a function-level import and a relative import are both found."""
    f = tmp_path / "m.py"
    f.write_text("from . import x\n\ndef g():\n    import innosim.cli\n    from dashboard.app import y\n",
                 encoding="utf-8")
    assert imported_packages(f, "policies") == [(1, "policies"), (4, "innosim"), (5, "dashboard")]


def test_every_package_has_modules():
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file(), package
