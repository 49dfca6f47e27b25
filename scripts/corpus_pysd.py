"""Workarounds applied to pysd only while it produces a corpus reference (scripts/corpus.py).

A manifest entry lists the ones its reference needed (``pysd_workarounds = [...]``); the pysd
child process applies exactly those, so every stored reference says how it was made. Each one
removes an obstacle that stops pysd, never a number it computes: its fault is shown on a small
model in tests/test_corpus_pysd_faults.py.

- ``"states"``: pysd stacks its states in ``np.array([...], dtype=object)``. When every state has
  the same shape (stocks over one range), numpy builds a 2-D object array and hands each stock
  back an object-dtype array, on which ``LN`` and ``EXP`` fail ("loop of ufunc does not support
  argument 0 of type float which has no callable log method"). The workaround is
  tests/difftools.py ``pysd_compat()``: states stacked element by element, as pysd itself does
  when the shapes differ.
- ``"delay-material"``: pysd 3.14 does not implement ``DELAY MATERIAL`` ("Not implemented
  function 'delay_material'"). Vensim defines it as ``DELAY FIXED`` while the delay time is
  constant; pysd is given that reading (its own ``DELAY FIXED``) for the call.
- ``"xmile-game"``: pysd's Vensim translator reads ``GAME(x)`` as ``x`` (Vensim's meaning outside a
  game), but its XMILE translator has no entry for it ("Not implemented function 'game'"); the
  workaround gives the XMILE translator the Vensim translator's own structure.
"""
from __future__ import annotations

import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

WORKAROUNDS = ("states", "delay-material", "xmile-game")


@contextmanager
def _states():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from difftools import pysd_compat

    with pysd_compat():
        yield


@contextmanager
def _delay_material():
    from pysd.translators.structures import abstract_expressions as ae
    from pysd.translators.vensim import vensim_structures

    table = vensim_structures.structures
    table["delay_material"] = lambda x, delay, init, _missing: ae.DelayFixedStructure(x, delay, init)
    try:
        yield
    finally:
        table.pop("delay_material", None)


@contextmanager
def _xmile_game():
    from pysd.translators.structures import abstract_expressions as ae
    from pysd.translators.xmile import xmile_structures

    table = xmile_structures.structures
    table["game"] = ae.GameStructure
    try:
        yield
    finally:
        table.pop("game", None)


_CONTEXTS = {"states": _states, "delay-material": _delay_material, "xmile-game": _xmile_game}


@contextmanager
def applied(names: list[str] | tuple[str, ...]):
    """Apply the named workarounds (an unknown name is an error naming it)."""
    unknown = [n for n in names if n not in _CONTEXTS]
    if unknown:
        raise ValueError(f"unknown pysd workaround(s) {unknown}; known: {', '.join(WORKAROUNDS)}")
    with ExitStack() as stack:
        for name in names:
            stack.enter_context(_CONTEXTS[name]())
        yield
