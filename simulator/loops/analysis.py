"""The public steps: find a model's loops, score them over a run, read the dominant ones."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..model import Model, RunOptions
from . import cycles
from . import scores as sc
from .graph import Node, Structure, build
from .partial import Evaluators
from .trajectory import Trajectory, trajectory

if TYPE_CHECKING:
    from .annotations import Documented

SEARCH_MEMBERS = 8  # members of an ensemble the strongest-path search looks at


@dataclass(frozen=True)
class Loop:
    """A feedback loop: ``id`` ("R3", "B1"; "L2" when a link's polarity changes, "U1" when a link
    never transmitted in the run that was probed), readable ``name``, ``polarity`` ("+", "-",
    "±" or "?"), its variables in causal order (the first one again closes it)."""

    id: str
    name: str
    polarity: str
    variables: tuple[str, ...]
    nodes: tuple = field(repr=False, default=())

    @property
    def path(self) -> str:
        return " → ".join(self.variables + self.variables[:1])


@dataclass
class LoopSet:
    """The loops of one model and how they were found (``search``: "all cycles" or "strongest path")."""

    structure: Structure
    loops: list[Loop]
    search: str
    link_polarity: dict  # (source, target) node pair -> "+", "-", "±" or "0"

    def links(self) -> list[tuple[Node, Node]]:
        """Every link of at least one loop, in a fixed order."""
        seen: dict = {}
        for lp in self.loops:
            for a, b in zip(lp.nodes, lp.nodes[1:] + lp.nodes[:1]):
                seen.setdefault((a, b), None)
        return list(seen)

    def frame(self):
        """One row per loop: id, name, polarity, length, path."""
        import pandas as pd

        return pd.DataFrame([{"loop": lp.id, "name": lp.name, "polarity": lp.polarity,
                              "length": len(lp.variables), "path": lp.path} for lp in self.loops],
                            columns=["loop", "name", "polarity", "length", "path"]).set_index("loop")


def _polarity(signs: list[str]) -> str:
    if "?" in signs:
        return "?"
    if "±" in signs:
        return "±"
    return "-" if sum(s == "-" for s in signs) % 2 else "+"


def find_loops(model: Model, params: dict | None = None, *, method: str = "euler",
               options: RunOptions | None = None, max_loops: int = cycles.MAX_LOOPS,
               names: list[Documented] | None = None) -> LoopSet:
    """The feedback loops of ``model`` with their polarities.

    Every elementary cycle when there are at most ``max_loops``; else the strongest-path search
    over a run with ``params``. Link polarities are read from that run (the sign of each partial
    derivative at every save time). ``names``: documented loops, as
    :func:`simulator.loops.annotations.documented_loops` reads them, to name the loops found.
    """
    traj = trajectory(model, params, method=method, options=options)
    structure = build(traj.prog.ir, traj.prog.analysis.dynamic)
    ev = Evaluators(traj.prog, structure)
    found = cycles.elementary(structure, max_loops)
    search = "all cycles"
    if found is None:
        search = "strongest path"
        edges = structure.edges
        few = _first_members(traj, SEARCH_MEMBERS)
        found = cycles.strongest(structure, edges, sc.link_scores(ev, few, edges))
    links = sorted({(a, b) for c in found for a, b in zip(c, c[1:] + c[:1])})
    pol = dict(zip(links, sc.link_polarities(ev, _first_members(traj, SEARCH_MEMBERS), links)))
    loops = []
    counters = {"+": 0, "-": 0, "±": 0, "?": 0}
    for c in found:
        p = _polarity([pol[(a, b)] for a, b in zip(c, c[1:] + c[:1])])
        counters[p] += 1
        lid = {"+": "R", "-": "B", "±": "L", "?": "U"}[p] + str(counters[p])
        variables = tuple(structure.names[n] for n in c)
        name = _name(structure, c)
        loops.append(Loop(id=lid, name=name,
                          polarity=p, variables=variables, nodes=tuple(c)))
    ls = LoopSet(structure=structure, loops=loops, search=search, link_polarity=pol)
    if names:
        from .annotations import apply_names

        ls = apply_names(ls, names)
    return ls


def _name(structure: Structure, nodes: tuple) -> str:
    """A loop's readable name: the stocks it runs through, in order (its variables when it has
    fewer than two stocks), and its length."""
    stocks = [structure.names[n] for n in nodes if structure.is_stock(n)]
    if len(nodes) == 1:
        return f"{structure.names[nodes[0]]} ↺"
    shown = stocks if len(stocks) >= 2 else [structure.names[n] for n in nodes]
    if len(shown) > 5:
        shown = shown[:5] + ["…"]
    return " → ".join(shown) + f" ({len(nodes)} links)"


def _first_members(traj: Trajectory, n: int) -> Trajectory:
    if traj.members <= n:
        return traj
    from .partial import Point

    P = {k: (v[..., :n] if isinstance(v, np.ndarray) and v.ndim and v.shape[-1] == traj.members else v)
         for k, v in traj.point.P.items()}
    S = {k: (v[..., :n] if isinstance(v, np.ndarray) and v.ndim and v.shape[-1] == traj.members else v)
         for k, v in traj.point.S.items()}
    return Trajectory(prog=traj.prog, times=traj.times, y=traj.y[..., :n], point=Point(P=P, S=S, C=traj.point.C),
                      dt=traj.dt, members=n)


@dataclass
class LoopScores:
    """Loop scores of one (ensemble) run: arrays shaped (loop, time, member)."""

    loops: list[Loop]
    times: np.ndarray
    score: np.ndarray
    relative: np.ndarray

    def to_xarray(self):
        """``loop_score`` and ``relative_score`` over (loop, time, member), loop names and polarities
        as coordinates."""
        import xarray as xr

        coords = {"loop": [lp.id for lp in self.loops], "time": self.times,
                  "member": np.arange(self.score.shape[2]),
                  "name": ("loop", [lp.name for lp in self.loops]),
                  "polarity": ("loop", [lp.polarity for lp in self.loops])}
        dims = ("loop", "time", "member")
        return xr.Dataset({"loop_score": (dims, self.score), "relative_score": (dims, self.relative)},
                          coords=coords)

    def dominant(self, member: int | None = None):
        """Per save time, the loop with the largest absolute relative score.

        ``member``: one member; None: the loop that dominates in most members, with the share of
        members in which it does and the 5/50/95 % quantiles of its relative score."""
        import pandas as pd

        ids = [lp.id for lp in self.loops]
        rel = self.relative if member is None else self.relative[:, :, [member]]
        top = np.abs(rel).argmax(axis=0) if ids else None  # (time, member)
        rows = []
        for k, t in enumerate(self.times):
            if top is None:  # a model without feedback loops
                rows.append({"time": t, "loop": "", "polarity": "", "name": "", "share": 0.0,
                             "relative_p05": 0.0, "relative_p50": 0.0, "relative_p95": 0.0})
                continue
            counts = np.bincount(top[k], minlength=len(ids))
            j = int(counts.argmax())
            q = np.quantile(rel[j, k], [0.05, 0.5, 0.95])
            active = bool(np.any(np.abs(rel[:, k]) > 0))
            rows.append({"time": t, "loop": ids[j] if active else "", "polarity": self.loops[j].polarity if active else "",
                         "name": self.loops[j].name if active else "", "share": counts[j] / rel.shape[2] if active else 0.0,
                         "relative_p05": q[0], "relative_p50": q[1], "relative_p95": q[2]})
        return pd.DataFrame(rows).set_index("time")

    def polarity_balance(self, member: int | None = None):
        """Per save time and member, the summed relative scores of reinforcing minus balancing loops
        (by the sign of each loop score at that time): > 0 where reinforcing loops dominate."""
        rel = self.relative if member is None else self.relative[:, :, [member]]
        return rel.sum(axis=0)


def score_loops(model: Model, loopset: LoopSet, params: dict | None = None, *, method: str = "euler",
                options: RunOptions | None = None, seed: int = 0) -> LoopScores:
    """Loop scores of ``loopset``'s loops over a run of ``model`` with ``params`` (an ensemble when
    parameters carry a member axis, a scenario when they hold time series)."""
    traj = trajectory(model, params, method=method, options=options, seed=seed)
    return score_trajectory(traj, loopset)


def score_trajectory(traj: Trajectory, loopset: LoopSet, *, dtype=np.float64) -> LoopScores:
    """Loop scores of ``loopset``'s loops over a run kept by :func:`~simulator.loops.trajectory.trajectory`.

    ``dtype=np.float32`` halves the memory and time of the loop products for large ensembles (link
    scores are computed in float64 either way; a loop of 40 links keeps about 5 significant digits)."""
    structure = build(traj.prog.ir, traj.prog.analysis.dynamic)
    ev = Evaluators(traj.prog, structure)
    by_name = {structure.names[n]: n for n in structure.nodes}
    loops_nodes = []
    for lp in loopset.loops:
        try:
            loops_nodes.append(tuple(by_name[v] for v in lp.variables))
        except KeyError as exc:
            raise ValueError(f"{traj.prog.ir.path}: loop {lp.id} reads {exc.args[0]!r}, which this run does "
                             "not compute as a changing variable") from None
    links = sorted({(a, b) for c in loops_nodes for a, b in zip(c, c[1:] + c[:1])})
    row = {lk: i for i, lk in enumerate(links)}
    names = loopset.structure.names
    pol = {(by_name[names[a]], by_name[names[b]]): p for (a, b), p in loopset.link_polarity.items()
           if names[a] in by_name and names[b] in by_name}
    ls = sc.link_scores(ev, traj, links, pol)
    loop_rows = [[row[(a, b)] for a, b in zip(c, c[1:] + c[:1])] for c in loops_nodes]
    s = sc.loop_scores(ls.astype(dtype, copy=False), loop_rows)
    return LoopScores(loops=loopset.loops, times=traj.times, score=s, relative=sc.relative(s))


def dominant_loops(model: Model, params: dict | None = None, *, top: int = 3, method: str = "euler",
                   loopset: LoopSet | None = None):
    """The ``top`` loops by absolute relative score at each save time of one run (member 0).

    Returns a DataFrame indexed by (time, rank) with columns loop, name, polarity, relative
    (the loop's relative score, in [-1, 1]; positive for a reinforcing effect at that time);
    empty for a model without feedback loops."""
    import pandas as pd

    loopset = loopset or find_loops(model, method=method)
    res = score_loops(model, loopset, params, method=method)
    rel = res.relative[:, :, 0]
    rows = []
    for k, t in enumerate(res.times):
        order = np.argsort(-np.abs(rel[:, k]), kind="stable")[:top]
        for r, j in enumerate(order, start=1):
            lp = res.loops[j]
            rows.append({"time": t, "rank": r, "loop": lp.id, "name": lp.name, "polarity": lp.polarity,
                         "relative": float(rel[j, k])})
    return pd.DataFrame(rows, columns=["time", "rank", "loop", "name", "polarity", "relative"]) \
        .set_index(["time", "rank"])
