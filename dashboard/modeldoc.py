"""The model documentation page: every variable with its units and zh/en documentation, and the
causal loop diagram.

The text comes from the model file itself (each variable's documentation field,
``zh: ...; en: ...; source: ...; range: lo..hi``), so the page documents whatever model is served.
The diagram is drawn from the model's structure when the engine has a loop analysis
(``simulator.loops``); otherwise it is the first image of the model's documentation file whose
caption speaks of loops, if there is one.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from .assumptions import parse_doc, short_label

IMAGE_SUFFIXES = {".png": "image/png", ".svg": "image/svg+xml"}
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LOOP_WORDS = ("loop", "回路", "因果")


def variable_table(model) -> list[dict]:
    """One row per model variable: name, kind, units, subscripts, zh/en text, source, range, and
    its place in the structure: the variables it ``uses`` and those it is ``used_by`` (a stock
    uses its flows)."""
    used_by: dict[str, set] = {name: set() for name in model.variables}
    for name, var in model.variables.items():
        for dep in var.dependencies:
            if dep in used_by:
                used_by[dep].add(name)
    rows = []
    for name, var in model.variables.items():
        doc = parse_doc(var.documentation)
        zh, en = doc.get("zh", ""), doc.get("en", "")
        if not zh and not en and var.documentation:   # a plain (English) comment, as Vensim writes them
            en = var.documentation.strip()
        rows.append({"name": name, "kind": var.kind, "role": doc.get("kind", ""), "units": var.units or "",
                     "dims": list(var.dims), "zh": zh, "en": en,
                     "label": {"zh": short_label(zh) if zh else name, "en": short_label(en) if en else name},
                     "source": doc.get("source", ""), "range": doc.get("range", ""),
                     "uses": sorted(d for d in var.dependencies if d in used_by), "used_by": sorted(used_by[name])})
    return sorted(rows, key=lambda r: r["name"].lower())


def documentation_image(documentation: str | Path | None) -> Path | None:
    """The causal loop diagram that the model's documentation file shows, if any.

    Only an image file beside or below the documentation's folder's parent is taken (the
    documentation is a file of the model's own folder; nothing a user typed reaches this path).
    """
    if documentation is None:
        return None
    doc = Path(documentation)
    try:
        text = doc.read_text(encoding="utf-8")
    except OSError:
        return None
    root = doc.resolve().parent.parent
    for alt, target in _IMAGE.findall(text):
        if not any(w in alt.lower() for w in _LOOP_WORDS):
            continue
        path = (doc.parent / target).resolve()
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() and path.is_relative_to(root):
            return path
    return None


def loops_module():
    """The engine's loop analysis (``simulator.loops``) when it is installed, else None."""
    try:
        if importlib.util.find_spec("simulator.loops") is None:
            return None
        import simulator.loops as loops
    except ImportError:
        return None
    return loops
