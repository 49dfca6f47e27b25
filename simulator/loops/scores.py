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


def _cells(a: np.ndarray, m: int) -> np.ndarray:
    """An array shaped (*cells, members) as (cells, members)."""
    a = np.asarray(a, dtype=float)
    if a.ndim <= 1:
        return np.broadcast_to(a, (m,)).reshape(1, m)
    return a.reshape(-1, a.shape[-1])


def link_scores(ev: Evaluators, traj: Trajectory, links: list[tuple[Node, Node]],
                polarity: dict | None = None) -> np.ndarray:
    """Scores of ``links`` (source, target) at every save time: shape (link, time, member).

    Magnitude ``sum_c |Δ_x z_c| / sum_c |Δz_c|`` over the target's cells (the method's
    ``|Δ_x z / Δz|`` for a scalar); sign the link's polarity where ``polarity`` gives "+" or "-",
    else the sign of the summed partial change over the summed change of x."""
    m = traj.members
    polarity = polarity or {}
    out = np.zeros((len(links), len(traj.times), m))
    groups = _by_target(links)
    with np.errstate(all="ignore"):
        for k, t in enumerate(traj.times):
            old = environment(traj.prog, t, traj.y[k], traj.point)
            y1 = euler_step(traj.prog, t, traj.y[k], traj.dt, traj.point)
            new = environment(traj.prog, t + traj.dt, y1, traj.point)
            for z, rows in groups.items():
                z0 = _cells(ev.current(z, t, old, traj.point), m)
                dz = np.abs(_cells(ev.current(z, t + traj.dt, new, traj.point), m) - z0).sum(axis=0)
                for i in rows:
                    x = links[i][0]
                    names = ev.source_names(x)
                    mix = dict(old)
                    mix.update({n: new[n] for n in names})
                    dxz = _cells(ev(z, t, mix, traj.point), m) - z0
                    dx = _total(np.asarray(new[names[0]]) - np.asarray(old[names[0]]), m)
                    sign = {"+": 1.0, "-": -1.0}.get(polarity.get(links[i], ""))
                    if sign is None:
                        sign = np.sign(dxz.sum(axis=0)) * np.sign(dx)
                    s = np.abs(dxz).sum(axis=0) / dz * sign
                    out[i, k] = np.where((dz > 0) & (dx != 0) & np.isfinite(s), s, 0.0)
    return out


# relative nudges tried in turn until a link shows its sign: small ones read the derivative at the
# run's values; large ones (either way) reach a gate or a ceiling that the run never crossed
PROBES = (1e-6, 1e-3, 1e-1, 1.0, -0.5, 10.0, -0.9)


def link_polarities(ev: Evaluators, traj: Trajectory, links: list[tuple[Node, Node]]) -> list[str]:
    """Each link's polarity from the sign of the partial derivative, probed at every save time and
    member: "+" or "-" when the sign never changes, "±" when it does, "?" when no probe moved the
    target. Small nudges come first; only a link they cannot move is nudged further (by up to
    tenfold, either way), to read a gate or ceiling that the run never reaches. An array source is nudged one element at a
    time; when source and target have the same shape only the same element of the target is read
    (the loops through arrays run element by element)."""
    result = ["?"] * len(links)  # never moved by any probe
    todo = list(range(len(links)))
    for probe in PROBES:
        signs = _probe(ev, traj, [links[i] for i in todo], probe)
        for i, (p, n) in zip(todo, signs):
            result[i] = "±" if p and n else "+" if p else "-" if n else "?"
        todo = [i for i in todo if result[i] == "?"]
        if not todo:
            break
    return result


def _probe(ev: Evaluators, traj: Trajectory, links, probe: float) -> list[tuple[bool, bool]]:
    m = traj.members
    pos = np.zeros(len(links), dtype=bool)
    neg = np.zeros(len(links), dtype=bool)
    with np.errstate(all="ignore"):
        for k, t in enumerate(traj.times):
            old = environment(traj.prog, t, traj.y[k], traj.point)
            base: dict = {}
            for i, (x, z) in enumerate(links):
                if z not in base:
                    base[z] = _cells(ev(z, t, old, traj.point), m)
                z0 = base[z]
                names = ev.source_names(x)
                shape = np.shape(old[names[0]])
                xs = {n: np.array(np.broadcast_to(np.asarray(old[n], dtype=float), shape)) for n in names}
                ncell = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
                for c in range(ncell):
                    mix = dict(old)
                    for n, v in xs.items():
                        w = v.reshape(ncell, -1).copy()
                        w[c] += probe * np.maximum(np.abs(w[c]), 1.0)
                        mix[n] = w.reshape(shape)
                    d = _cells(ev(z, t, mix, traj.point), m) - z0
                    if ncell > 1 and d.shape[0] == ncell:
                        d = d[c:c + 1]
                    tol = 1e-12 * np.maximum(np.abs(z0), 1e-300)
                    up, down = bool(np.any(d > tol)), bool(np.any(d < -tol))
                    pos[i] |= up if probe > 0 else down
                    neg[i] |= down if probe > 0 else up
    return list(zip(pos, neg))


def loop_scores(link_score: np.ndarray, loops: list[list[int]]) -> np.ndarray:
    """Products of link scores along each loop (lists of link rows): shape (loop, time, member)."""
    out = np.ones((len(loops),) + link_score.shape[1:], dtype=link_score.dtype)
    for j, rows in enumerate(loops):
        for i in rows:
            out[j] *= link_score[i]
    return out


def relative(scores: np.ndarray) -> np.ndarray:
    """Loop scores over the sum of their absolute values at each time (0 where every score is 0)."""
    total = np.abs(scores).sum(axis=0, keepdims=True)
    with np.errstate(all="ignore"):
        return np.where(total > 0, scores / np.where(total > 0, total, 1.0), 0.0)
