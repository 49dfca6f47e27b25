"""Finding the feedback loops of a variable graph.

Small models: every elementary cycle (``networkx.simple_cycles``), up to ``max_loops``. Larger
ones: the strongest-path search of [ref:eberlein_schoenberg2020]: from every stock, at every
save time, a depth-first search that follows the links with the largest absolute scores and
abandons a path as soon as it reaches a node with less than the best score seen at that node; the
union of the loops it closes over time and members are the loops that matter.
"""
from __future__ import annotations

import itertools

import numpy as np

from .graph import Node, Structure, to_networkx

MAX_LOOPS = 2000  # elementary cycles listed before switching to the strongest-path search


def canonical(loop) -> tuple:
    """A loop rotated to start at its smallest node (stocks first), so each loop has one form."""
    loop = list(loop)
    start = min(range(len(loop)), key=lambda i: (loop[i][0] != "s", loop[i]))
    return tuple(loop[start:] + loop[:start])


def elementary(structure: Structure, max_loops: int = MAX_LOOPS) -> list[tuple] | None:
    """Every elementary cycle, shortest first; None when there are more than ``max_loops``."""
    import networkx as nx

    g = to_networkx(structure)
    found = list(itertools.islice(nx.simple_cycles(g), max_loops + 1))
    if len(found) > max_loops:
        return None
    return sorted({canonical(c) for c in found}, key=lambda c: (len(c), c))


def strongest(structure: Structure, links: list[tuple[Node, Node]], scores: np.ndarray) -> list[tuple]:
    """Loops closed by the strongest-path search at each save time and member; ``scores`` is
    (link, time, member) as :func:`~simulator.loops.scores.link_scores` gives."""
    row = {link: i for i, link in enumerate(links)}
    out_edges: dict[Node, list[Node]] = {n: [] for n in structure.nodes}
    for a, b in links:
        out_edges[a].append(b)
    stocks = [n for n in structure.nodes if structure.is_stock(n)]
    found: set[tuple] = set()
    mag = np.abs(scores)
    for k in range(scores.shape[1]):
        for member in range(scores.shape[2]):
            w = mag[:, k, member]
            if not np.any(w > 0):
                continue
            ordered = {a: _heaviest_first(a, bs, w, row) for a, bs in out_edges.items()}
            for target in stocks:
                _search(target, ordered, w, row, found)
    return sorted(found, key=lambda c: (len(c), c))


def _heaviest_first(a: Node, targets: list[Node], w: np.ndarray, row: dict) -> list[Node]:
    """``a``'s link targets, the link of largest score first."""
    return sorted(targets, key=lambda b: -w[row[(a, b)]])


def _search(target: Node, ordered: dict, w: np.ndarray, row: dict, found: set) -> None:
    best: dict[Node, float] = {}
    on_path: set[Node] = set()
    path: list[Node] = [target]
    # explicit stack of (node, score so far, iterator over its successors)
    stack = [(target, 1.0, iter(ordered[target]))]
    on_path.add(target)
    while stack:
        node, score, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            stack.pop()
            on_path.discard(path.pop())
            continue
        s = score * w[row[(node, nxt)]]
        if s <= 0:
            continue
        if nxt == target:
            found.add(canonical(path))
            continue
        if nxt in on_path or s <= best.get(nxt, 0.0):
            continue
        best[nxt] = s
        on_path.add(nxt)
        path.append(nxt)
        stack.append((nxt, s, iter(ordered[nxt])))
