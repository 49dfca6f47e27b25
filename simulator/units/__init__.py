"""Units check: every equation's dimensional consistency against the declared Vensim units.

>>> report = check_units("models/my_model.mdl")          # doctest: +SKIP
>>> report.errors, report.to_frame()                    # doctest: +SKIP

A model may accept findings it explains: ``accepted`` maps a variable name to the reason (the
application reads them from the model's data folder, ``units.toml``); accepted findings are kept
in the report with their reason and do not count as unexplained.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .check import Checker, UnitIssue
from .parse import UnitsError, UnitSystem

__all__ = ["check_units", "UnitsReport", "UnitIssue", "UnitsError", "UnitSystem"]


@dataclass(frozen=True)
class UnitsReport:
    path: Path
    variables: int
    issues: tuple[UnitIssue, ...]
    accepted: dict[str, str] = field(default_factory=dict)   # variable -> reason

    def _open(self, severity: str) -> list[UnitIssue]:
        return [i for i in self.issues if i.severity == severity and i.variable not in self.accepted]

    @property
    def errors(self) -> list[UnitIssue]:
        """Errors the model does not explain."""
        return self._open("error")

    @property
    def warnings(self) -> list[UnitIssue]:
        """Warnings the model does not explain."""
        return self._open("warning")

    @property
    def clean(self) -> bool:
        return not self.errors

    def to_frame(self):
        """One row per finding: severity, variable, line, message, declared, found, equation,
        accepted (the model's reason, empty when not accepted)."""
        import pandas as pd
        rows = [{"severity": i.severity, "variable": i.variable, "line": i.line, "message": i.message,
                 "declared": i.declared, "found": i.found, "equation": i.equation,
                 "accepted": self.accepted.get(i.variable, "")} for i in self.issues]
        cols = ["severity", "variable", "line", "message", "declared", "found", "equation", "accepted"]
        return pd.DataFrame(rows, columns=cols)


def check_units(model, accepted: dict[str, str] | None = None) -> UnitsReport:
    """Check a model file (path) or a parsed :class:`simulator.loader.ModelSource`."""
    if isinstance(model, (str, Path)):
        from ..loader import read_source
        source = read_source(model)
    else:
        source = model
    issues = Checker(source).run()
    accepted = dict(accepted or {})
    unknown = sorted(set(accepted) - {el.name for el in source.elements.values()})
    if unknown:
        raise UnitsError(f"{source.path}: accepted unit findings name unknown variables: "
                         f"{', '.join(unknown)}")
    ordered = sorted(issues, key=lambda i: (i.severity != "error", i.line or 0, i.variable))
    return UnitsReport(path=Path(source.path), variables=len(source.elements),
                       issues=tuple(replace(i) for i in ordered), accepted=accepted)
