"""A model's documentation as one table, the way pysd users read ``model.doc``.

A variable's documentation field (the Vensim comment, the XMILE ``<doc>``) may be structured as
``zh: …; en: …; source: …; range: …`` (the convention of the bundled models); those parts become
columns. Any other text is kept whole as the English description, so every model gets a table.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

FIELDS = ("zh", "en", "source", "range", "kind")
COLUMNS = ("variable", "kind", "units", "subscripts", "limits", "description_zh", "description_en",
           "range", "source", "role", "documentation")
# a field starts the text or follows "; " -- "e.g." or a ratio such as "1:2" inside a text is no field
_FIELD = re.compile(r"(?:^|;\s*)(" + "|".join(FIELDS) + r")\s*:\s*", re.I)


def parse_documentation(text: str) -> dict[str, str]:
    """The ``zh``/``en``/``source``/``range``/``kind`` parts of a documentation field.

    Text without a leading field name is returned as ``{"en": text}``; a field named twice keeps
    both parts, joined by "; ".
    """
    text = (text or "").strip()
    marks = list(_FIELD.finditer(text))
    if not marks or marks[0].start() != 0:
        return {"en": text} if text else {}
    out: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        key, value = m.group(1).lower(), text[m.end():end].strip().rstrip(";").strip()
        out[key] = f"{out[key]}; {value}" if key in out else value
    return out


def _limits(limits) -> str:
    lo, hi = (tuple(limits) + (None, None))[:2]
    if lo is None and hi is None:
        return ""
    return f"{'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'}"


def doc_table(model) -> pd.DataFrame:
    """One row per variable, in name order: variable, kind (stock, auxiliary, constant, lookup),
    units, subscripts, limits (the model file's slider range), description_zh, description_en,
    range (the plausible range the documentation gives), source (reference keys of
    docs/references.md), role (a documented ``kind:`` such as lever) and the whole documentation.
    """
    import pandas as pd

    rows = []
    for name in sorted(model.variables, key=str.lower):
        v = model.variables[name]
        parts = parse_documentation(v.documentation)
        rows.append({
            "variable": name, "kind": v.kind, "units": v.units or "",
            "subscripts": ", ".join(v.dims), "limits": _limits(v.limits),
            "description_zh": parts.get("zh", ""), "description_en": parts.get("en", ""),
            "range": parts.get("range", ""), "source": parts.get("source", ""),
            "role": parts.get("kind", ""), "documentation": v.documentation or "",
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))
