"""The causal graph of a model, read from its IR: one node per variable that changes during a run.

Nodes are the dynamic auxiliaries and the integrated states. A stock's own variable (an INTEG
whose value is its state, clipped at zero or not) is merged into its state, so that a stock is one
node; the stages of a SMOOTH or DELAY are nodes of their own ("Name (stage 2)"), because the
loops through them run through stocks. Edges point from what an equation reads to the variable
it computes; a state's inputs are what its net flow reads. Constants never change during a run,
so they are not nodes (their links have no score).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir.analysis import refs
from ..ir.nodes import Binary, ModelIR, Num, StateRef

Node = tuple[str, int]  # ("v", var idx) | ("s", state id)


@dataclass(frozen=True)
class Structure:
    """The variable graph of one model variant.

    ``parents[node]``: the nodes its equation (for a state, its net flow) reads, sorted.
    ``names[node]``: the readable name (the Vensim name; a stage of a delay gets "(stage k)").
    ``stock_var[sid]``: the variable idx merged into state ``sid`` (its INTEG variable), if any.
    ``owner[("s", sid)]``: the variable whose equation made the state.
    """

    ir: ModelIR
    nodes: tuple[Node, ...]
    parents: dict
    names: dict
    stock_var: dict
    dynamic: frozenset

    @property
    def edges(self) -> list[tuple[Node, Node]]:
        return [(p, n) for n in self.nodes for p in self.parents[n]]

    def is_stock(self, node: Node) -> bool:
        return node[0] == "s"

    def node_of(self, name: str) -> Node:
        """The node called ``name`` (Vensim rules: case, spaces and underscores do not matter)."""
        from ..names import normalize

        key = normalize(name)
        for n, label in self.names.items():
            if normalize(label) == key:
                return n
        raise KeyError(name)


def _is_state_value(expr, sid: int) -> bool:
    """True when a variable's equation is just its INTEG state (or the state clipped at zero)."""
    if expr == StateRef(sid):
        return True
    return isinstance(expr, Binary) and expr.op == "max" and expr.left == StateRef(sid) and expr.right == Num(0.0)


def build(ir: ModelIR, dynamic: frozenset) -> Structure:
    """The variable graph of ``ir``; ``dynamic`` is the analysis's set of variables computed at
    every evaluation (:func:`simulator.ir.analyse`)."""
    by_idx = {v.idx: v for v in ir.vars}
    owned: dict[int, list[int]] = {}
    for s in ir.states:
        owned.setdefault(s.owner, []).append(s.sid)
    stock_var: dict[int, int] = {}
    var_node: dict[int, Node] = {}
    for v in ir.vars:
        sids = owned.get(v.idx, [])
        if v.is_stock and len(sids) == 1 and len(v.pieces) == 1 and _is_state_value(v.pieces[0].run, sids[0]):
            stock_var[sids[0]] = v.idx
            var_node[v.idx] = ("s", sids[0])
        elif v.idx in dynamic and v.kind == "aux":
            var_node[v.idx] = ("v", v.idx)
        elif v.series:  # a time series: changes, but reads nothing of the model
            var_node[v.idx] = ("v", v.idx)

    def node_refs(exprs) -> list[Node]:
        out: set[Node] = set()
        for e in exprs:
            for kind, k in refs(e):
                if kind == "v" and k in var_node:
                    out.add(var_node[k])
                elif kind == "s":
                    out.add(("s", k))
        return sorted(out)

    nodes: list[Node] = []
    parents: dict = {}
    names: dict = {}
    for v in ir.vars:
        node = var_node.get(v.idx)
        if node is None or node[0] != "v":
            continue
        nodes.append(node)
        parents[node] = [] if v.series else [p for p in node_refs(p.run for p in v.pieces) if p != node]
        names[node] = v.name
    for s in ir.states:
        node = ("s", s.sid)
        nodes.append(node)
        parents[node] = node_refs([s.flow])
        if s.sid in stock_var:
            names[node] = by_idx[stock_var[s.sid]].name
        else:
            stages = owned[s.owner]
            names[node] = by_idx[s.owner].name + (f" (stage {stages.index(s.sid) + 1})" if len(stages) > 1
                                                   else " (stock)")
    return Structure(ir=ir, nodes=tuple(nodes), parents=parents, names=names, stock_var=stock_var,
                     dynamic=frozenset(dynamic))


def to_networkx(structure: Structure):
    """The graph as a ``networkx.DiGraph`` (node attributes: name, stock)."""
    import networkx as nx

    g = nx.DiGraph()
    for n in structure.nodes:
        g.add_node(n, name=structure.names[n], stock=structure.is_stock(n))
    g.add_edges_from(structure.edges)
    return g
