"""Loops that Matter [ref:ltm2020]: link scores, loop scores, relative loop scores.

For a link x -> z into an auxiliary z, over one computation step:
``score = |Δ_x z / Δz| * sign(Δ_x z / Δx)``, where ``Δ_x z`` is the change z would have made had
only x changed (z's equation re-evaluated with x at its new value, every other input at its old
one). For a link into a stock, z is the stock's net flow, which gives the method's flow-to-stock
score ``±|Δflow / Δnet flow|`` (an outflow's sign is negative). A score is 0 where z or x does not
change. A subscripted variable counts as one node: the changes are summed over its elements.

A loop's score is the product of its links' scores; its relative score divides by the sum of the
absolute scores of all loops analysed at that time (so relative scores lie in [-1, 1]).
"""
from __future__ import annotations

import numpy as np

from .graph import Node
from .partial import Evaluators, environment, euler_step
from .trajectory import Trajectory

PROBE = 1e-6  # relative size of the nudge that reads a link's polarity


def _total(a: np.ndarray, m: int) -> np.ndarray:
    """Sum over the cells of an array shaped (*cells, members) -> (members,)."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return np.full(m, float(a))
    return np.broadcast_to(a.reshape(-1, a.shape[-1]).sum(axis=0), (m,))


def _by_target(links: list[tuple[Node, Node]]) -> dict[Node, list[int]]:
    out: dict[Node, list[int]] = {}
    for i, (_, z) in enumerate(links):
        out.setdefault(z, []).append(i)
    return out


def link_scores(ev: Evaluators, traj: Trajectory, links: list[tuple[Node, Node]]) -> np.ndarray:
    """Scores of ``links`` (source, target) at every save time: shape (link, time, member)."""
    m = traj.members
    out = np.zeros((len(links), len(traj.times), m))
    groups = _by_target(links)
    with np.errstate(all="ignore"):
        for k, t in enumerate(traj.times):
            old = environment(traj.prog, t, traj.y[k], traj.point)
            y1 = euler_step(traj.prog, t, traj.y[k], traj.dt, traj.point)
            new = environment(traj.prog, t + traj.dt, y1, traj.point)
            for z, rows in groups.items():
                z0 = ev(z, t, old, traj.point)
                dz = _total(ev(z, t + traj.dt, new, traj.point) - z0, m)
                for i in rows:
                    x = links[i][0]
                    names = ev.source_names(x)
                    mix = dict(old)
                    mix.update({n: new[n] for n in names})
                    dxz = _total(ev(z, t, mix, traj.point) - z0, m)
                    dx = _total(np.asarray(new[names[0]]) - np.asarray(old[names[0]]), m)
                    s = np.abs(dxz / dz) * np.sign(dxz) * np.sign(dx)
                    out[i, k] = np.where((dz != 0) & (dx != 0) & np.isfinite(s), s, 0.0)
    return out


def link_polarities(ev: Evaluators, traj: Trajectory, links: list[tuple[Node, Node]]) -> list[str]:
    """Each link's polarity from the sign of the partial derivative, probed at every save time and
    member: "+" or "-" when the sign never changes, "±" when it does, "0" when never seen."""
    m = traj.members
    pos = np.zeros(len(links), dtype=bool)
    neg = np.zeros(len(links), dtype=bool)
    groups = _by_target(links)
    with np.errstate(all="ignore"):
        for k, t in enumerate(traj.times):
            old = environment(traj.prog, t, traj.y[k], traj.point)
            for z, rows in groups.items():
                z0 = ev(z, t, old, traj.point)
                for i in rows:
                    mix = dict(old)
                    for n in ev.source_names(links[i][0]):
                        v = np.asarray(old[n], dtype=float)
                        mix[n] = v + PROBE * np.maximum(np.abs(v), 1.0)
                    d = _total(ev(z, t, mix, traj.point) - z0, m)
                    d = d[np.isfinite(d)]
                    scale = PROBE * 1e-6 * max(1.0, float(np.max(np.abs(_total(z0, m)))))
                    pos[i] |= bool(np.any(d > scale))
                    neg[i] |= bool(np.any(d < -scale))
    return ["±" if p and n else "+" if p else "-" if n else "0" for p, n in zip(pos, neg)]


def loop_scores(link_score: np.ndarray, loops: list[list[int]]) -> np.ndarray:
    """Products of link scores along each loop (lists of link rows): shape (loop, time, member)."""
    out = np.ones((len(loops),) + link_score.shape[1:])
    for j, rows in enumerate(loops):
        for i in rows:
            out[j] *= link_score[i]
    return out


def relative(scores: np.ndarray) -> np.ndarray:
    """Loop scores over the sum of their absolute values at each time (0 where every score is 0)."""
    total = np.abs(scores).sum(axis=0, keepdims=True)
    with np.errstate(all="ignore"):
        return np.where(total > 0, scores / np.where(total > 0, total, 1.0), 0.0)
