"""The raw text of a Vensim file, split into equation blocks the way pysd splits it, with lines.

pysd collapses every run of whitespace of the equations part into one space before parsing, so
its errors only know a column inside one equation. This module repeats pysd's cleaning while
remembering where each character came from, splits the cleaned text into blocks exactly as pysd's
``section_elements`` grammar does, and reads each block's left-hand side, so that every later check
(and every pysd error) can name the file line and the variable.
"""
from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLimitError, ModelLoadError
from ..names import normalize
from .limits import MAX_FILE_BYTES

SKETCH_MARKER = "\\\\\\---///"
# pysd: re.sub(r"[\n\t\s]+", " ", re.sub(r"\\\n\t", " ", text)); one pass gives the same text
_CLEAN = re.compile(r"(?:\\\n\t|\s)+")
_LINE_BREAK = re.compile(r"\r\n?|\n")
_SKETCH_LIKE = re.compile(r"\s*(?:\\+-+///|///-+\\+)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPE = r'"(?:\\"|[^"])*+"'
_ELEMENT = re.compile(rf"(?:{_ESCAPE}|[^~|])*+")
_DOC = re.compile(r"[^~|]*")
_MACRO = re.compile(r":MACRO:(.+?):END OF MACRO:")
_MACRO_HEAD = re.compile(r"\s*([^(]*?)\s*\([^)]*\)")
_NAME = re.compile(rf"{_ESCAPE}|\w[\w'$\s]*+")
_SPACE = re.compile(r"[\s\\]*")


def _space_end(text: str, pos: int) -> int:
    """Where the run of white space (and line-continuation backslashes) at ``pos`` ends."""
    m = _SPACE.match(text, pos)
    return m.end() if m else pos
_SUBS = re.compile(r"\[[^\]]*\]")
_EXCEPT = re.compile(r":EXCEPT:[\s\\]*\[[^\]]*\](?:[\s\\]*,[\s\\]*\[[^\]]*\])*", re.I)
_KEYWORD = re.compile(r":[\s\\]*\w[\w'$\s]*+:", re.I)
COMPONENT_KINDS = ("component", "unchangeable", "data", "lookup")


@dataclass(frozen=True)
class Entry:
    """One equation block: ``equation ~ units ~ documentation |``."""

    line: int          # file line where the equation starts
    kind: str          # component, unchangeable, data, lookup, subscript, copy, constraint, test_input, unknown
    name: str          # left-hand name as pysd reads it
    key: str           # normalised name
    lhs_subscripts: str
    equation: str      # cleaned, exactly pysd's Element.equation
    rhs: str           # cleaned right-hand side, exactly pysd's component expression
    rhs_offset: int    # where ``rhs`` starts in ``equation``
    units: str
    start: int         # offset of ``equation`` in the cleaned text
    section: str       # "" for the main model, the macro name otherwise


class CleanMap:
    """Positions in the cleaned text back to file lines."""

    def __init__(self, raw: str, origin: list[int] | None = None):
        self.origin = origin  # file line of each line of ``raw`` when it was rewritten (macros)
        self.clean_starts = array("q")
        self.raw_starts = array("q")
        self.breaks = array("q", (m.start() for m in _LINE_BREAK.finditer(raw)))
        pieces, last, clean = [], 0, 0
        for m in _CLEAN.finditer(raw):
            if m.start() > last:
                self._segment(clean, last)
                pieces.append(raw[last:m.start()])
                clean += m.start() - last
            self._segment(clean, m.start())
            pieces.append(" ")
            clean += 1
            last = m.end()
        if last < len(raw):
            self._segment(clean, last)
            pieces.append(raw[last:])
        self.text = "".join(pieces)

    def _segment(self, clean: int, raw: int) -> None:
        self.clean_starts.append(clean)
        self.raw_starts.append(raw)

    def raw_pos(self, clean_pos: int) -> int:
        k = bisect_right(self.clean_starts, clean_pos) - 1
        if k < 0:
            return 0
        return self.raw_starts[k] + (clean_pos - self.clean_starts[k])

    def line_of_raw(self, raw_pos: int) -> int:
        line = bisect_right(self.breaks, raw_pos - 1) + 1
        if self.origin is not None:
            return self.origin[min(line, len(self.origin)) - 1]
        return line

    def line(self, clean_pos: int) -> int:
        return self.line_of_raw(self.raw_pos(clean_pos))


@dataclass
class VensimIndex:
    """Every equation block of a Vensim file, with lines and left-hand names."""

    path: Path
    raw: str                 # what pysd parses: the decoded file, normalised, macros expanded
    text: str                # the cleaned equations part, as pysd parses it
    map: CleanMap
    entries: list[Entry]
    encoding: str            # the codec pysd must read the file with

    def line(self, clean_pos: int) -> int:
        return self.map.line(clean_pos)

    def entry_line(self, entry: Entry, offset: int) -> int:
        return self.map.line(entry.start + max(0, offset))

    def components(self, section: str = "") -> list[Entry]:
        return [e for e in self.entries if e.kind in COMPONENT_KINDS and e.section == section]

    def element_entries(self, section: str = "") -> list[Entry]:
        return [e for e in self.entries if e.section == section and e.kind != "section"]


def decode(path: Path, data: bytes) -> tuple[str, str]:
    """The file's text and the codec to give pysd; non-UTF-8 bytes are an error naming the line."""
    encoding = "utf-8"
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8-sig"
    try:
        # pysd reads in text mode: universal newlines
        return _LINE_BREAK.sub("\n", data.decode("utf-8")), encoding
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ModelLoadError(
            f"{path}: line {line}: not valid UTF-8 at byte {exc.start}; save the model as UTF-8") from None


def read_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelLimitError(
            f"{path}: the file has {size} bytes; at most {MAX_FILE_BYTES} are supported")
    return path.read_bytes()


def index_vensim(path: Path, data: bytes) -> VensimIndex:
    from .macros import expand_macros  # macros reads blocks with this module's classify
    from .normalise import normalise_vensim

    """Split a Vensim file into blocks; reject control characters and malformed blocks."""
    raw, encoding = decode(path, data)
    equations, marker, sketch = raw.partition(SKETCH_MARKER)
    bad = _CONTROL.search(equations)
    if bad:
        line = equations.count("\n", 0, bad.start()) + 1
        raise ModelLoadError(
            f"{path}: line {line}: control character U+{ord(bad.group()):04X} in the equations; "
            "model text must be printable")
    expansion = expand_macros(path, normalise_vensim(path, equations))
    equations = expansion.text
    raw = equations + marker + sketch
    cmap = CleanMap(equations, expansion.origin)
    text = cmap.text
    pos = 0
    enc = re.match(r"\{[^}]*\}", text)
    if enc:
        pos = enc.end()
    entries: list[Entry] = []
    last = pos
    for m in _MACRO.finditer(text, pos):
        _split_blocks(path, cmap, last, m.start(), "", entries)
        head = _MACRO_HEAD.match(text, m.start(1))
        name = normalize(head.group(1)) if head else ""
        body = head.end() if head and head.end() <= m.end(1) else m.start(1)
        _split_blocks(path, cmap, body, m.end(1), name or "macro", entries)
        last = m.end()
    _split_blocks(path, cmap, last, len(text), "", entries)
    return VensimIndex(path=path, raw=raw, text=text, map=cmap, entries=entries, encoding=encoding)


def _split_blocks(path: Path, cmap: CleanMap, pos: int, end: int, section: str,
                  entries: list[Entry]) -> None:
    """pysd's ``(entry / section)+ sketch?``, except that unparsable text is an error here:
    pysd would take everything after a malformed block for the sketch and drop it silently."""
    text = cmap.text
    while pos < end:
        if not text[pos:end].strip():
            return
        fields: list[str] = []
        starts: list[int] = []
        cur = pos
        while True:
            pattern = _DOC if len(fields) == 2 else _ELEMENT
            m = pattern.match(text, cur, end)
            assert m is not None  # both patterns match the empty string
            starts.append(cur)
            fields.append(m.group())
            cur = m.end()
            sep = text[cur:cur + 1] if cur < end else ""
            if sep == "|" and len(fields) >= 2:
                break
            if sep == "~" and len(fields) < 4:
                cur += 1
                continue
            if _SKETCH_LIKE.match(text, pos):
                return  # a misspelt sketch marker: pysd ignores the sketch, and so do we
            first = pos + len(fields[0]) - len(fields[0].lstrip())
            what = ("has no closing '|'" if sep == "" else
                    f"has {len(fields)} part(s) before {sep!r}")
            raise ModelLoadError(
                f"{path}: line {cmap.line(first)}: the equation block {_show(fields[0])} {what}; "
                "expected 'equation ~ units ~ documentation |' (pysd would silently drop the rest "
                "of the file)")
        start, pos = pos, cur + 1
        if len(fields) == 2:  # a group heading such as "*** .Control ***~ ... |"
            if classify(fields[0].strip())[0] != "unknown":  # an equation pysd would take for one
                first = start + len(fields[0]) - len(fields[0].lstrip())
                raise ModelLoadError(
                    f"{path}: line {cmap.line(first)}: the equation block {_show(fields[0])} has 2 parts "
                    "before '|'; expected 'equation ~ units ~ documentation |' (pysd would silently "
                    "drop it as a group heading)")
            continue
        entries.append(_entry(cmap, fields, starts, section))


def show(name: str, limit: int = 80) -> str:
    """A name for a message: quoted, and cut short when very long."""
    return repr(name if len(name) <= limit else name[:limit - 20] + "...")


def _show(text: str, limit: int = 60) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _entry(cmap: CleanMap, fields: list[str], starts: list[int], section: str) -> Entry:
    raw_eq = fields[0]
    lead = len(raw_eq) - len(raw_eq.lstrip())
    equation = raw_eq.strip()
    start = starts[0] + lead
    kind, name, subs, rhs_offset = classify(equation)
    rhs = equation[rhs_offset:].strip() if rhs_offset >= 0 else ""
    if rhs_offset >= 0:
        rhs_offset += len(equation[rhs_offset:]) - len(equation[rhs_offset:].lstrip())
    return Entry(line=cmap.line(start), kind=kind, name=name, key=normalize(name) if name else "",
                 lhs_subscripts=subs, equation=equation, rhs=rhs, rhs_offset=rhs_offset,
                 units=fields[1].strip(), start=start, section=section)


def classify(equation: str) -> tuple[str, str, str, int]:
    """(kind, name, lhs subscripts text, offset of the right-hand side) of one equation,
    following the order of the alternatives in pysd's ``element_object`` grammar."""
    m = _NAME.match(equation)
    if not m:
        return "unknown", "", "", -1
    name = m.group().strip()
    pos = _space_end(equation, m.end())
    subs = ""
    sm = _SUBS.match(equation, pos)
    if sm:
        subs = sm.group()[1:-1].strip()
        pos = _space_end(equation, sm.end())
        em = _EXCEPT.match(equation, pos)
        if em:
            pos = _space_end(equation, em.end())
    rest = equation[pos:]
    upper = rest[:16].upper()
    if upper.startswith(":THE CONDITION:"):
        return "constraint", name, subs, pos + 15
    if upper.startswith(":TEST INPUT:"):
        return "test_input", name, subs, pos + 12
    if rest.startswith("=="):
        return "unchangeable", name, subs, pos + 2
    if rest.startswith("="):
        return "component", name, subs, pos + 1
    km = _KEYWORD.match(equation, pos)
    after = _space_end(equation, km.end()) if km else pos
    if equation.startswith(":=", after):
        return "data", name, subs, after + 2
    if km and after == len(equation):
        return "data", name, subs, after
    if rest.startswith(":") and not subs:
        return "subscript", name, subs, pos + 1
    if rest.startswith("("):
        return "lookup", name, subs, pos
    if rest.startswith("<->"):
        return "copy", name, subs, pos + 3
    return "unknown", name, subs, -1
