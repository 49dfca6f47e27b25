"""Subscript ranges, subranges and mappings of a model (Vensim semantics)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ModelLoadError
from .names import normalize


@dataclass(frozen=True)
class SubscriptSpace:
    """All subscript ranges of a model, keyed by normalised name.

    ``ranges[key]`` lists the normalised element names in order; ``mapping[key]`` the ranges that
    ``key`` maps onto positionally (``A: a1, a2 -> B``).
    """

    ranges: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mapping: dict[str, tuple[str, ...]] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)  # range or element key -> original name

    def is_range(self, key: str) -> bool:
        return key in self.ranges

    def is_element(self, key: str) -> bool:
        return any(key in els for els in self.ranges.values())

    def elements(self, key: str) -> tuple[str, ...]:
        """Elements named by a range or a single element."""
        if key in self.ranges:
            return self.ranges[key]
        if self.is_element(key):
            return (key,)
        raise KeyError(key)

    def maps(self, a: str, b: str) -> bool:
        """True when range ``a`` maps onto ``b`` or ``b`` onto ``a``."""
        return b in self.mapping.get(a, ()) or a in self.mapping.get(b, ())

    def final_dim(self, names: list[str], where: str) -> str:
        """The range spanning every element used at one subscript position of a variable."""
        used: list[str] = []
        for n in names:
            for e in self.elements(n):
                if e not in used:
                    used.append(e)
        wanted = set(used)
        # a range named on the left-hand side that covers everything wins
        for n in names:
            if n in self.ranges and wanted <= set(self.ranges[n]):
                return n
        candidates = [r for r, els in self.ranges.items() if wanted <= set(els)]
        if not candidates:
            raise ModelLoadError(
                f"{where}: no subscript range contains all of {sorted(self.display.get(e, e) for e in used)}")
        # smallest covering range; among equals, the one declared first
        return min(candidates, key=lambda r: len(self.ranges[r]))


def _external_elements(spec: dict, path: str, name: str) -> list[str]:
    """Elements of a GET XLS/DIRECT SUBSCRIPT range, read from a file in the model's folder."""
    import warnings
    from pathlib import Path

    from pysd.py_backend.external import Excels, ExtSubscript

    root = Path(path).resolve().parent
    target = (root / str(spec.get("file", ""))).resolve()
    if root not in target.parents or not target.is_file():
        raise ModelLoadError(f"{path}: subscript range {name!r} reads {spec.get('file')!r}, which is not a "
                             "file in the model's folder")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(ExtSubscript(target.name, spec["tab"], spec["firstcell"], spec.get("lastcell", ""),
                                     spec.get("prefix", ""), target.parent).subscript)
    except Exception as exc:  # noqa: BLE001 - pysd raises ValueError/KeyError/... on bad files
        raise ModelLoadError(f"{path}: subscript range {name!r}: could not read its elements from "
                             f"{spec.get('file')!r} ({type(exc).__name__})") from None
    finally:
        Excels.clean()


def build_space(abstract_ranges, path: str) -> SubscriptSpace:
    """Build a :class:`SubscriptSpace` from pysd's ``AbstractSubscriptRange`` list."""
    raw: dict[str, object] = {}
    display: dict[str, str] = {}
    mapping: dict[str, tuple[str, ...]] = {}
    for r in abstract_ranges:
        key = normalize(r.name)
        display[key] = r.name
        subs = r.subscripts
        if isinstance(subs, dict):
            subs = _external_elements(subs, path, r.name)
        if isinstance(subs, str):
            raw[key] = normalize(subs)  # copy of another range, resolved below
        else:
            raw[key] = tuple(normalize(s) for s in subs)
            for s in subs:
                display.setdefault(normalize(s), s)
        maps = []
        for m in r.mapping or ():
            if isinstance(m, str):
                maps.append(normalize(m))
            else:  # explicit element mapping "(B: b1, b2)": pysd gives a tuple/list
                maps.append(normalize(str(m[0]) if isinstance(m, (list, tuple)) else str(m)))
        mapping[key] = tuple(maps)

    ranges: dict[str, tuple[str, ...]] = {}

    def resolve(key: str, seen=()) -> tuple[str, ...]:
        if key in ranges:
            return ranges[key]
        val = raw.get(key)
        if val is None:
            raise ModelLoadError(f"{path}: subscript range {display.get(key, key)!r} is not defined")
        if isinstance(val, str):
            if val in seen:
                raise ModelLoadError(f"{path}: circular subscript copy involving {display.get(key, key)!r}")
            els = resolve(val, seen + (key,))
        else:
            found: list[str] = []
            for s in val:  # type: ignore[attr-defined]
                # an element list may name another range (subrange union): expand it
                if s in raw and s != key and s not in seen:
                    found.extend(resolve(s, seen + (key,)))
                else:
                    found.append(s)
            els = tuple(found)
        ranges[key] = els
        return els

    for key in raw:
        resolve(key)
    return SubscriptSpace(ranges=ranges, mapping=mapping, display=display)
