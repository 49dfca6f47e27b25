"""``innosim units [MODEL]``: every equation's units checked against the declared ones.

A model explains the findings it keeps in ``units.toml`` in its data folder::

    [[accept]]
    variable = "Growth Index"
    reason = "LN(1 + g) converts an annual growth rate to a continuous one per Year"

Exit code 0 when no unexplained unit error remains, 1 when some do (like ``conformance`` with
differences), 2 for bad input.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from simulator.errors import ModelLoadError
from simulator.tomlfile import read_toml

from .common import chosen_model

ACCEPT_FILE = "units.toml"


def add_commands(sub) -> None:
    u = sub.add_parser("units", help="check every equation's units against the declared ones")
    u.add_argument("model", nargs="?", default=None, help="a registered model name or a model file "
                   "(default: the registry's default model)")
    u.add_argument("--accepted", default=None, metavar="TOML",
                   help=f"findings the model explains (default: {ACCEPT_FILE} in the model's data folder)")
    u.add_argument("--json", default=None, metavar="FILE", help="also write the findings as JSON")
    u.add_argument("--warnings", action="store_true", help="list warnings too (default: count them)")
    u.set_defaults(func=cmd_units)


def read_accepted(path: Path) -> dict[str, str]:
    """``variable -> reason`` from an accept file (errors name the file and the entry)."""
    data = read_toml(path, "unit findings file", ModelLoadError)
    unknown = set(data) - {"accept"}
    if unknown:
        raise ModelLoadError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; expected [[accept]] entries")
    out: dict[str, str] = {}
    for k, entry in enumerate(data.get("accept", []), start=1):
        if not isinstance(entry, dict) or set(entry) != {"variable", "reason"}:
            raise ModelLoadError(f"{path}: accept entry {k}: needs exactly 'variable' and 'reason'")
        var, reason = entry["variable"], entry["reason"]
        if not (isinstance(var, str) and isinstance(reason, str) and var.strip() and reason.strip()):
            raise ModelLoadError(f"{path}: accept entry {k}: 'variable' and 'reason' must be non-empty text")
        out[var] = reason.strip()
    return out


def cmd_units(args) -> int:
    from simulator.units import UnitsError, check_units

    info = chosen_model(args.model, quiet=True)
    accept_path = Path(args.accepted) if args.accepted else (
        info.folder / ACCEPT_FILE if info.folder is not None else None)
    accepted = read_accepted(accept_path) if accept_path is not None and (
        args.accepted or accept_path.is_file()) else {}
    try:
        report = check_units(info.path, accepted)
    except UnitsError as exc:
        raise ModelLoadError(str(exc)) from None
    shown = [i for i in report.issues if i.severity == "error" or args.warnings]
    for i in shown:
        mark = "accepted" if i.variable in report.accepted else i.severity
        where = f"{report.path.name}:{i.line}" if i.line else report.path.name
        print(f"{mark:8s} {where}: {i.variable}: {i.message}")
        if i.equation:
            print(f"{'':8s}   in {i.equation}")
        if i.variable in report.accepted:
            print(f"{'':8s}   reason: {report.accepted[i.variable]}")
    n_acc = sum(1 for i in report.issues if i.variable in report.accepted)
    print(f"{report.path.name}: {report.variables} variables; {len(report.errors)} unexplained unit "
          f"error(s), {len(report.warnings)} warning(s), {n_acc} accepted finding(s)"
          + ("" if args.warnings or not report.warnings else " (--warnings lists them)"))
    if args.json:
        from simulator.outputs import write_atomic
        rows = report.to_frame().to_dict(orient="records")
        write_atomic(Path(args.json), json.dumps(rows, ensure_ascii=False, indent=1).encode())
    if report.errors:
        print(f"{report.path.name}: units are not consistent", file=sys.stderr)
        return 1
    return 0
