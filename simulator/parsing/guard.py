"""Run pysd's translators with ``eval`` replaced by the strict literal parser.

pysd's Vensim and XMILE element modules call the name ``eval`` on pieces of model text. A module's
globals are looked up before the builtins, so binding ``eval`` in exactly those two modules to
:func:`safe_eval` makes every such call go through :func:`~.literals.parse_literal` instead; the
binding lives only while :func:`pysd_translation` is active (a lock serialises translations, so
two threads never see a half-installed guard).

The layer relies on pysd internals (the ``eval`` call sites, the parse state used to locate a
failure), so it refuses to run with any pysd but the pinned version.
"""
from __future__ import annotations

import importlib
import sys
import threading
from contextlib import contextmanager
from types import FrameType

from ..errors import ModelLoadError
from .literals import LiteralError, parse_literal

PYSD_VERSION = "3.14.3"
EVAL_MODULES = (
    "pysd.translators.vensim.vensim_element",
    "pysd.translators.xmile.xmile_element",
)
# pysd's parser uses about 25 Python frames per bracket level (measured on pysd 3.14.3)
FRAMES_PER_LEVEL = 30
FRAMES_BASE = 1500

_lock = threading.RLock()
_MISSING = object()


def _installed_pysd_version() -> str | None:
    # read from the package metadata: importing pysd itself costs half a second (pandas, xarray),
    # which `import simulator` must not pay
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pysd")
    except PackageNotFoundError:
        return None


INSTALLED_PYSD_VERSION = _installed_pysd_version()


def check_pysd_version() -> None:
    """Raise :class:`ModelLoadError` unless the pinned pysd version is installed."""
    if INSTALLED_PYSD_VERSION != PYSD_VERSION:
        found = "no pysd" if INSTALLED_PYSD_VERSION is None else f"pysd {INSTALLED_PYSD_VERSION}"
        raise ModelLoadError(
            f"innosim reads model files with pysd {PYSD_VERSION} exactly (its safe parsing layer "
            f"depends on that version's internals), but {found} is installed; run "
            f"`python3 -m pip install pysd=={PYSD_VERSION}`")


class UnsafeText(Exception):
    """Raised inside pysd when text other than a literal reaches its ``eval``."""

    def __init__(self, text: str, reason: str):
        super().__init__(reason)
        self.text = text
        self.reason = reason


def safe_eval(source, *args, **kwargs):
    """Stand-in for ``eval`` inside pysd's translators: literals only, never code."""
    if args or kwargs:
        raise UnsafeText(str(source)[:80], "pysd asked to evaluate with a namespace; refused")
    try:
        return parse_literal(source)
    except LiteralError as exc:
        raise UnsafeText(source if isinstance(source, str) else repr(source), str(exc)) from None


def _modules():
    return [importlib.import_module(name) for name in EVAL_MODULES]


@contextmanager
def pysd_translation(nesting: int = 0):
    """Hold the translation lock, bind ``eval`` to :func:`safe_eval` in pysd, allow ``nesting``."""
    check_pysd_version()
    with _lock:
        modules = _modules()
        saved = [m.__dict__.get("eval", _MISSING) for m in modules]
        old_limit = sys.getrecursionlimit()
        wanted = FRAMES_BASE + FRAMES_PER_LEVEL * nesting + len(_frames())
        for m in modules:
            m.eval = safe_eval
        if wanted > old_limit:
            sys.setrecursionlimit(wanted)
        try:
            yield
        finally:
            if wanted > old_limit:
                sys.setrecursionlimit(old_limit)
            for m, value in zip(modules, saved):
                if value is _MISSING:
                    m.__dict__.pop("eval", None)
                else:
                    m.eval = value


def _frames() -> list:
    frames: list = []
    f: FrameType | None = sys._getframe()
    while f is not None:
        frames.append(f)
        f = f.f_back
    return frames


def pysd_eval_bindings() -> dict[str, object]:
    """What the name ``eval`` resolves to in each pysd module right now (for tests)."""
    import builtins

    return {m.__name__: m.__dict__.get("eval", builtins.eval) for m in _modules()}
