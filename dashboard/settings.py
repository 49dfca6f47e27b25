"""Lever settings typed as text, ``ID=VALUE`` (``innosim serve --set <lever id>=1.5``).

The page opens with them instead of the baseline. ``ID`` is a lever or shock of the catalogue, or
``a.ID`` an assumption of the panel; ``VALUE`` must read as a finite decimal number (it is parsed
as a number, never evaluated). The ranges are checked by :meth:`Simulation.normalize`, as for any
state the page sends.
"""
from __future__ import annotations

import math
import re

from simulator.errors import SimulatorError
from simulator.names import suggest

from .errors import DashboardError
from .security import clip

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")


def parse_settings(texts, sim) -> dict:
    """A dashboard state from ``ID=VALUE`` texts, validated against ``sim`` (a :class:`Simulation`).

    Raises :class:`DashboardError` naming the setting and what is wrong (unknown id with the
    closest ones, a value that is not a number or outside the lever's range).
    """
    state: dict = {"levers": {}, "shocks": {}, "assumptions": {}}
    cat = sim.catalogue
    for text in texts:
        key, sep, raw = str(text).partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key or not raw:
            raise DashboardError(f"--set {clip(text)}: expected ID=VALUE, e.g. {next(iter(cat.levers), 'lever')}=1.5")
        if not _NUMBER.match(raw) or not math.isfinite(float(raw)):
            raise DashboardError(f"--set {key}: {clip(raw)} is not a number")
        value = float(raw)
        if key.startswith("a."):
            aid = key[2:]
            if aid not in sim.assumptions:
                raise DashboardError(f"--set {clip(key)}: no such assumption.{suggest(aid, sorted(sim.assumptions))}"
                                     f" Assumptions: {', '.join(sorted(sim.assumptions)) or 'none'}")
            state["assumptions"][aid] = value
        elif key in cat.levers:
            state["levers"][key] = {"value": value}
        elif key in cat.shocks:
            state["shocks"][key] = {"value": value}
        else:
            known = [*cat.levers, *cat.shocks]
            raise DashboardError(f"--set {clip(key)}: not a lever or shock of the catalogue.{suggest(key, known)}"
                                 f" ({len(known)} ids: innosim levers lists them)")
    try:
        return sim.normalize(state)
    except (ValueError, SimulatorError) as exc:
        raise DashboardError(f"--set: {exc}") from None
