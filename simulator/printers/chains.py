"""Printing long operator chains without deep nesting (shared by both printers).

``a + b + c + ...`` is a left-nested chain of binary nodes in the IR. Printed node by node it
becomes ``(((a + b) + c) + ...)``, and Python's parser refuses more than 200 nested parentheses.
Python evaluates ``(a + b + c)`` left to right, exactly like the nested form, so a chain of
same-precedence, left-associative operators prints flat: same operations, same order, same bits.
MIN/MAX reductions fold as a balanced tree (min and max are exact and order-free).
"""
from __future__ import annotations

from collections.abc import Callable

from ..ir.nodes import Binary, Expr

# operators of equal precedence that Python associates to the left
GROUPS = ({"+", "-"}, {"*", "/"})


def left_spine(e: Binary) -> tuple[Expr, list[tuple[str, Expr]]]:
    """``e`` as ``first op1 x1 op2 x2 ...`` along its left operands of the same group."""
    group = next((g for g in GROUPS if e.op in g), None)
    rest: list[tuple[str, Expr]] = []
    node: Expr = e
    while isinstance(node, Binary) and group is not None and node.op in group:
        rest.append((node.op, node.right))
        node = node.left
    rest.reverse()
    return node, rest


def flat_chain(e: Binary, show: Callable[[Expr], str]) -> str | None:
    """The flat text of an arithmetic chain, or None when ``e`` is not one."""
    if not any(e.op in g for g in GROUPS):
        return None
    first, rest = left_spine(e)
    return "(" + show(first) + "".join(f" {op} {show(x)}" for op, x in rest) + ")"


def balanced(fn: str, terms: list[str]) -> str:
    """``fn`` folded over ``terms`` as a balanced tree of calls (depth log2 of their number)."""
    while len(terms) > 1:
        terms = [f"{fn}({terms[i]}, {terms[i + 1]})" if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]
