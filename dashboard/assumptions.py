"""Uncertain model constants for the assumptions panel, and the model's bilingual documentation.

The list lives in each model's ``assumptions.toml``; everything else about an assumption (default,
range, units, zh/en text, source) is read from the model, whose documentation fields look like
``zh: ...; en: ...; source: ...; range: lo..hi``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from policies import constant_value
from simulator.tomlfile import read_toml

from .errors import DashboardError

_DOC_KEYS = ("zh", "en", "source", "range", "kind")
_DOC_SPLIT = re.compile(r"(?:^|;\s*)(" + "|".join(_DOC_KEYS) + r"):\s*")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def parse_doc(text: str) -> dict:
    """Split a documentation field ``zh: ..; en: ..; source: ..; range: a..b`` into a dict.

    Only the known keys start a new part, so a ``;`` inside a sentence stays where it is.
    """
    parts = _DOC_SPLIT.split(text or "")
    out = {}
    for key, value in zip(parts[1::2], parts[2::2]):
        out[key] = value.strip().rstrip(";").strip()
    return out


def short_label(text: str) -> str:
    """The head of a documentation sentence: up to the first parenthesis or comma."""
    head = re.split(r"\s\(|, |; |，|（", text or "", maxsplit=1)[0].strip()
    return head[:1].upper() + head[1:] if head else head


def model_doc(model, name: str) -> dict:
    """zh/en/source documentation of a model variable, with short labels for charts."""
    doc = parse_doc(model.variables[name].documentation)
    zh, en = doc.get("zh", name), doc.get("en", name)
    return {"zh": zh, "en": en, "source": doc.get("source", ""),
            "label": {"zh": short_label(zh), "en": short_label(en)}}


@dataclass(frozen=True)
class Assumption:
    """One uncertain constant: slider bounds come from its documented ``range``."""

    id: str
    constant: str
    name: dict
    unit: str
    baseline: float
    low: float
    high: float
    step: float
    doc: dict

    def as_json(self) -> dict:
        return {"id": self.id, "constant": self.constant, "name": self.name, "unit": self.unit,
                "baseline": self.baseline, "low": self.low, "high": self.high, "step": self.step,
                "doc": self.doc}


def _doc_range(text: str, where: str) -> tuple[float, float]:
    m = re.fullmatch(r"\s*([-+0-9.eE]+)\s*\.\.\s*([-+0-9.eE]+)\s*", text or "")
    if not m:
        raise DashboardError(f"{where}: the model documents no 'range: lo..hi' for it")
    lo, hi = float(m.group(1)), float(m.group(2))
    if not lo < hi:
        raise DashboardError(f"{where}: documented range {lo:g}..{hi:g} is empty")
    return lo, hi


def load_assumptions(model, path: str | Path) -> dict[str, Assumption]:
    """Read a model's ``assumptions.toml`` and check every entry against ``model``; id -> Assumption."""
    path = Path(path)
    data = read_toml(path, "assumptions file", DashboardError)
    out: dict[str, Assumption] = {}
    for n, entry in enumerate(data.get("assumption", [])):
        where = f"{path.name}: [[assumption]] #{n + 1}"
        aid, constant = entry.get("id"), entry.get("constant")
        if not isinstance(aid, str) or not _ID.match(aid):
            raise DashboardError(f"{where}: 'id' must be a short lower-case identifier, got {aid!r}")
        if aid in out:
            raise DashboardError(f"{where}: id {aid!r} is used twice")
        var = model.variables.get(constant) if isinstance(constant, str) else None
        if var is None or var.kind != "constant" or var.dims:
            raise DashboardError(f"{where}: {constant!r} is not a scalar constant of {model.path.name}")
        name = entry.get("name", {})
        if not (isinstance(name, dict) and name.get("zh") and name.get("en")):
            raise DashboardError(f"{where}: 'name' needs both zh and en text")
        doc = parse_doc(var.documentation)
        lo, hi = _doc_range(doc.get("range", ""), f"{where} ({constant})")
        baseline = float(np.ravel(constant_value(model, constant))[0])
        if not lo <= baseline <= hi:
            raise DashboardError(f"{where}: {constant} = {baseline:g} lies outside its documented "
                                 f"range {lo:g}..{hi:g}")
        step = entry.get("step")
        if step is None:
            step = var.limits[2] if len(var.limits) > 2 and var.limits[2] else (hi - lo) / 100
        step = float(step)
        if not step > 0:
            raise DashboardError(f"{where}: step must be positive")
        out[aid] = Assumption(id=aid, constant=constant, name={"zh": name["zh"], "en": name["en"]},
                              unit=var.units, baseline=baseline, low=lo, high=hi, step=step,
                              doc=model_doc(model, constant))
    return out
