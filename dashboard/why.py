"""The "why" panel: which feedback loops dominate the current run, and the causal loop diagram,
from the engine's loop analysis (``simulator.loops``, Loops that Matter).

The dashboard only shapes what the analysis returns: periods in which one loop dominates, and the
leading loops of every saved year with their relative scores. Loops are found once per model
(named after the loops its documentation lists, where it does); scoring a run costs about as much
as an ensemble, so it is bounded like the uncertainty bands: one at a time, a rate per address,
results cached by scenario.
"""
from __future__ import annotations

import importlib
import io
import math
import threading
from collections import OrderedDict

from .errors import Denied
from .limits import Limits, RateLimiter

TOP = 3            # loops listed per year
CLD_LOOPS = 8      # loops drawn in the diagram: the documented ones first, then the dominant ones


def available(loops) -> bool:
    """Whether ``loops`` (the module ``simulator.loops`` or None) has what the panel calls."""
    return loops is not None and all(hasattr(loops, f) for f in ("find_loops", "dominant_loops"))


def _submodule(loops, name: str):
    try:
        return importlib.import_module(f"{loops.__name__}.{name}")
    except ImportError:
        return None


def periods(rows: list[dict]) -> list[dict]:
    """Runs of consecutive times with the same rank-1 loop: ``[{"from", "to", "loop"}]``."""
    out: list[dict] = []
    for r in rows:
        if out and out[-1]["loop"] == r["loop"]:
            out[-1]["to"] = r["time"]
        else:
            out.append({"from": r["time"], "to": r["time"], "loop": r["loop"]})
    return out


class LoopViews:
    """Dominant loops and the diagram of one :class:`dashboard.Simulation`'s model."""

    def __init__(self, loops, sim, *, documentation=None, limits: Limits | None = None, cache_size: int = 64):
        limits = limits or Limits()
        self.loops = loops
        self.sim = sim
        self.documentation = documentation
        self.rate_spec = limits.band_rate
        self.rate = RateLimiter(*limits.band_rate)
        self.wait = limits.band_wait
        self._loopset = None
        self._documented: list = []
        self._cld: dict[str, bytes] = {}
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._cache_size = cache_size
        self._run_lock = threading.Lock()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loops of the model
    def loopset(self):
        with self._lock:
            if self._loopset is None:
                names = None
                notes = _submodule(self.loops, "annotations")
                if self.documentation is not None and notes is not None and hasattr(notes, "documented_loops"):
                    self._documented = list(notes.documented_loops(self.documentation))
                    names = self._documented or None
                self._loopset = self.loops.find_loops(self.sim.model, names=names)
            return self._loopset

    # ------------------------------------------------------------------ dominant loops of a run
    def why(self, state: dict | None, client: str = "local") -> dict:
        """``{"periods": [...], "top": {year: [{loop, relative}]}, "loops": {id: {name, polarity, path}}}``."""
        norm = self.sim.normalize(state)
        key = self.sim.key(norm)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return {**hit, "cached": True}
        wait = self.rate.peek(client)
        if wait:
            n, per = self.rate_spec
            raise Denied(429, f"too many loop analyses asked from this computer: at most {n} per {per:g} s; "
                              f"try again in {math.ceil(wait)} s", {"Retry-After": str(math.ceil(wait))})
        if not self._run_lock.acquire(timeout=self.wait):
            raise Denied(503, "the loops of another scenario are being analysed; try again shortly", {"Retry-After": "5"})
        try:
            self.rate.take(client)
            out = self._analyse(norm)
        finally:
            self._run_lock.release()
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return {**out, "cached": False}

    def _analyse(self, state: dict) -> dict:
        found = self.loopset()
        frame = self.loops.dominant_loops(self.sim.model, self.sim.params(state), top=TOP, loopset=found)
        rows = [{"time": float(t), "rank": int(r), "loop": str(x["loop"]), "relative": float(x["relative"])}
                for (t, r), x in frame.iterrows()]
        top: dict[str, list] = {}
        for r in rows:
            if math.isfinite(r["relative"]) and r["relative"] != 0:
                top.setdefault(f"{r['time']:g}", []).append({"loop": r["loop"], "relative": round(r["relative"], 4)})
        first = [{"time": r["time"], "loop": r["loop"] if top.get(f"{r['time']:g}") else ""}
                 for r in rows if r["rank"] == 1]
        used = {r["loop"] for r in rows}
        loops = {lp.id: {"name": lp.name, "polarity": lp.polarity, "path": " → ".join(lp.variables + lp.variables[:1])}
                 for lp in found.loops if lp.id in used}
        return {"periods": periods(first), "top": top, "loops": loops, "search": getattr(found, "search", "")}

    # ------------------------------------------------------------------ diagram
    def cld(self, lang: str = "en") -> bytes:
        """PNG of the model's causal loop diagram: its documented loops, then the baseline's dominant ones."""
        lang = "zh" if lang == "zh" else "en"
        with self._lock:
            if lang in self._cld:
                return self._cld[lang]
        draw = _submodule(self.loops, "cld")
        if draw is None or not hasattr(draw, "draw_cld"):
            return b""
        found = self.loopset()
        documented = {getattr(d, "id", None) for d in self._documented}
        shown = [lp for lp in found.loops if lp.id in documented]
        base = self.why({})
        order = [p["loop"] for p in base["periods"] if p["loop"]] + [x["loop"] for v in base["top"].values() for x in v]
        by_id = {lp.id: lp for lp in found.loops}
        for lid in dict.fromkeys(order):
            if len(shown) >= CLD_LOOPS:
                break
            if lid in by_id and by_id[lid] not in shown:
                shown.append(by_id[lid])
        if not shown:
            shown = found.loops[:CLD_LOOPS]
        labels = {}
        if lang == "zh" and hasattr(draw, "zh_label"):
            labels = {n: lab for n, v in self.sim.model.variables.items() if (lab := draw.zh_label(v.documentation))}
        fig = draw.draw_cld(found, shown, labels=labels, title=self.sim.title.get(lang, ""))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        import matplotlib.pyplot as plt

        plt.close(fig)
        with self._lock:
            self._cld[lang] = buf.getvalue()
        return self._cld[lang]
