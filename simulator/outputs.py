"""Writing result files safely: names checked, every file atomic, a run folder marked complete last.

Three rules hold for every file innosim writes:

* **Names** that come from input (scenario ids, KPI slugs, model stems) must be one safe path
  component (``NAME_RULE``); ``inside(folder, name)`` resolves the target and refuses anything that
  would land outside the output folder.
* **Atomic files**: data goes to a hidden temporary file in the same folder, is flushed to disk
  (``fsync``) and then renamed over the final name with ``os.replace``. A reader, a kill -9 or a
  full disk can never leave a truncated file under a result's name; the rename also replaces a
  symbolic link rather than writing through it.
* **Run folders** (``RunFolder``): the previous run's marker ``_COMPLETE.json`` is removed first,
  together with the files it listed, so old and new results are never mixed under a marker; the
  new marker (file names, sizes, sha256) is written last. A failed run removes the files it wrote
  and says what is left. Only files listed in the marker are results. Several runs may share a
  folder (``innosim run`` writes ``<scenario>_<method>.csv`` next to others): each named run has
  its own marker ``_COMPLETE.<run>.json`` and clears only its own previous files.

A full disk (``ENOSPC``, quota, file size limit) becomes one ``OutputError`` naming the folder.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import secrets
import time
from pathlib import Path

from .errors import SimulatorError

MARKER = "_COMPLETE.json"
NAME_RULE = "1-64 characters from A-Z a-z 0-9 . _ + -, starting with a letter or digit, without '..'"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
# names that Windows reserves for devices, whatever the extension (a file shared from Linux
# to a Windows colleague must still open)
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
_TMP_SUFFIX = ".innosim-tmp"
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class OutputError(SimulatorError):
    """An output name is unsafe, a path leaves its folder, or writing failed (disk full, no access)."""


# ------------------------------------------------------------------------------ names
def name_problem(name) -> str | None:
    """Why ``name`` cannot be used in a file name, or None when it can (see ``NAME_RULE``)."""
    if not isinstance(name, str):
        return f"must be text, got {type(name).__name__}"
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 40 else name[:37] + "..."
        if len(name) > 64:
            return f"{shown!r} is {len(name)} characters long; use {NAME_RULE}"
        return f"{shown!r} is not a safe file name; use {NAME_RULE}"
    if ".." in name:
        return f"{name!r} contains '..'; use {NAME_RULE}"
    if name.split(".")[0].upper() in _RESERVED:
        return f"{name!r} is a reserved device name on Windows"
    return None


def check_name(name, what: str) -> str:
    """``name`` when it is safe in a file name, else OutputError naming ``what`` ("scenario id")."""
    problem = name_problem(name)
    if problem:
        raise OutputError(f"{what}: {problem}")
    return name


def safe_stem(text: str, limit: int = 48) -> str:
    """A safe file-name part made from free text (a model's file stem, a variable name).

    Unsafe characters become ``_``; long text is cut and given a short hash so that two long
    names never collide.
    """
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).replace("..", "_").strip("._+-") or "output"
    if len(stem) > limit:
        digest = hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem = stem[: limit - 9].rstrip("._+-") + "-" + digest
    if name_problem(stem):   # a reserved device name
        stem = "x" + stem
    return stem


def inside(folder: str | Path, name: str) -> Path:
    """The path of file ``name`` directly in ``folder``, checked to stay inside it.

    ``name`` must be one safe path component; the resolved path must lie in the resolved folder
    (this also catches a folder that is itself a link to elsewhere being swapped underneath).
    """
    check_name(name, f"output file name in {folder}")
    base = Path(folder).resolve()
    target = (base / name).resolve() if not (base / name).is_symlink() else base / name
    if target.parent != base:
        raise OutputError(f"{folder}: output file {name!r} would be written outside the folder")
    return target


# ------------------------------------------------------------------------------ atomic files
def _full_message(exc: OSError, where: Path) -> str:
    what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EFBIG: "the file size limit is exceeded"}.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{where}: cannot write: {what}"


def _write_chunk(fd: int, view: memoryview) -> int:
    return os.write(fd, view)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _tmp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}{_TMP_SUFFIX}")


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically: temp file, fsync, ``os.replace``."""
    final = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = _tmp_name(final)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(payload)
            while view:
                view = view[_write_chunk(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            if exc.errno in _FULL:
                raise OutputError(_full_message(exc, final)) from exc
            raise OutputError(f"{final}: cannot write: {exc.strerror or exc}") from exc
        raise
    _fsync_dir(final.parent)
    return final


def csv_bytes(df, **kwargs) -> bytes:
    """A DataFrame as UTF-8 CSV bytes (``kwargs`` go to ``DataFrame.to_csv``)."""
    return df.to_csv(**kwargs).encode("utf-8")


def figure_png(fig, **kwargs) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **kwargs)
    return buf.getvalue()


def excel_bytes(sheets: dict) -> bytes:
    """An .xlsx workbook with one sheet per ``{sheet name: DataFrame}``.

    Text that starts with ``=`` (a scenario name from a file, say) is stored as text, never as a
    formula that a spreadsheet would evaluate.
    """
    import pandas as pd

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for sheet, df in sheets.items():
            df.to_excel(xw, sheet_name=sheet, index=False)
        for ws in xw.book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        cell.data_type = "s"
    return buf.getvalue()


# ------------------------------------------------------------------------------ run folders
def marker_name(run: str | None = None) -> str:
    """File name of the completion marker of a folder (``run`` None) or of one named run in it."""
    return MARKER if run is None else f"_COMPLETE.{check_name(run, 'run name')}.json"


def read_marker(folder: str | Path, run: str | None = None) -> dict | None:
    """The completion marker (dict) of ``folder`` or of ``run`` in it; None when there is none."""
    path = Path(folder) / marker_name(run)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: unreadable completion marker: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise OutputError(f"{path}: not a completion marker written by innosim")
    return data


def verify(folder: str | Path, run: str | None = None) -> dict:
    """Check that ``folder`` holds a complete run: every file in its marker present with its sha256.

    Returns the marker's ``files`` table; raises OutputError otherwise.
    """
    marker = read_marker(folder, run)
    if marker is None:
        raise OutputError(f"{folder}: no {marker_name(run)}; the folder holds no complete result")
    for name, info in marker["files"].items():
        path = inside(folder, name)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise OutputError(f"{path}: listed in {marker_name(run)} but unreadable: {exc.strerror}") from None
        if digest != info.get("sha256"):
            raise OutputError(f"{path}: content differs from {marker_name(run)} (changed after the run)")
    return marker["files"]


class RunFolder:
    """A folder of results written as one unit (use as a context manager).

    On entry the folder is created, the previous marker removed first and then the files it
    listed, and temporary files left by a killed run are deleted. ``write`` adds files atomically.
    On a clean exit the marker is written last; on any exception the files written so far are
    removed and the error (an ``OutputError`` for a file-system failure) says what is left.
    """

    def __init__(self, folder: str | Path, *, run: str | None = None, meta: dict | None = None):
        self.folder = Path(folder)
        self.marker = marker_name(run)
        self.run = run
        self.meta = dict(meta or {})
        self.files: dict[str, Path] = {}
        self._digests: dict[str, tuple[str, int]] = {}

    def __enter__(self) -> RunFolder:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.folder}: cannot create the output folder: "
                              f"{exc.strerror or exc}") from None
        if not self.folder.is_dir():
            raise OutputError(f"{self.folder}: not a folder")
        self._clear_previous()
        return self

    def _clear_previous(self) -> None:
        try:
            previous = read_marker(self.folder, self.run)
        except OutputError:
            previous = None
        try:
            marker = self.folder / self.marker
            if marker.exists() or marker.is_symlink():
                marker.unlink()   # first: the folder is never marked complete while mixed
                _fsync_dir(self.folder)
            for name in (previous or {}).get("files", {}):
                if name_problem(name) is None and not name.startswith("_COMPLETE."):
                    with contextlib.suppress(FileNotFoundError):
                        (self.folder / name).unlink()
            for stale in self.folder.glob(f".*{_TMP_SUFFIX}"):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
        except OSError as exc:
            raise OutputError(f"{self.folder}: cannot clear the previous results: "
                              f"{exc.strerror or exc}") from None

    def path(self, name: str) -> Path:
        """Where file ``name`` goes (checked; nothing is written)."""
        return inside(self.folder, name)

    def write(self, name: str, data: bytes | str) -> Path:
        """Write one result file atomically and record it for the marker."""
        if name.startswith("_COMPLETE."):
            raise OutputError(f"{self.folder}: {name} is reserved for completion markers")
        path = write_atomic(self.path(name), data)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        self._digests[name] = (hashlib.sha256(payload).hexdigest(), len(payload))
        self.files[name] = path
        return path

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            marker = {"complete": True, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                      **self.meta,
                      "files": {n: {"sha256": d, "bytes": b} for n, (d, b) in self._digests.items()}}
            try:
                write_atomic(self.folder / self.marker, json.dumps(marker, indent=1, ensure_ascii=False,
                                                              default=str))
            except BaseException as err:
                self._abort(err)
                raise
            return
        self._abort(exc)

    def _abort(self, exc: BaseException | None) -> None:
        removed, kept = [], []
        for name, path in self.files.items():
            try:
                path.unlink()
                removed.append(name)
            except FileNotFoundError:
                pass
            except OSError:
                kept.append(name)
        try:
            left = sorted(p.name for p in self.folder.iterdir() if not p.name.endswith(_TMP_SUFFIX))
        except OSError:
            left = []
        note = (f"{self.folder}: run not completed; removed {len(removed)} partial file(s)"
                + (f", could not remove {', '.join(kept)}" if kept else "")
                + (f"; left in the folder (not results of this run): {_names(left)}" if left
                   else "; the folder is empty"))
        self.files.clear()
        if exc is not None and hasattr(exc, "add_note"):
            exc.add_note(note)


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")

