"""pysd's syntax trees written back as short Vensim-like text, for messages."""
from __future__ import annotations

__all__ = ["render"]

MAX_CHARS = 160
_LOGIC = {":AND:": " AND ", ":OR:": " OR ", ":NOT:": "NOT "}


def render(ast, names: dict[str, str] | None = None) -> str:
    """``ast`` as text; ``names`` maps pysd's reference keys to the model's own names."""
    text = _render(ast, names or {})
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"


def _render(ast, names: dict[str, str]) -> str:
    if isinstance(ast, float):
        return f"{ast:g}"
    if isinstance(ast, (int, str)):
        return str(ast)
    kind = type(ast).__name__
    if kind == "ReferenceStructure":
        subs = getattr(ast.subscripts, "subscripts", None)
        ref = str(ast.reference)
        name = names.get(ref, "Time" if ref == "time" else ref)
        return f"{name}[{', '.join(subs)}]" if subs else name
    if kind in ("ArithmeticStructure", "LogicStructure"):
        ops, args = list(ast.operators), list(ast.arguments)
        if len(args) == 1:
            op = ops[0] if ops else ""
            return ("-" if op == "negative" else _LOGIC.get(op, op)) + _wrap(args[0], names)
        out = _wrap(args[0], names)
        for op, arg in zip(ops, args[1:]):
            out += _LOGIC.get(op, f" {op} ") + _wrap(arg, names)
        return out
    if kind == "CallStructure":
        fn = str(getattr(ast.function, "reference", ast.function))
        fn = names.get(fn) or fn.replace("_", " ").upper()
        return f"{fn}(" + ", ".join(_render(a, names) for a in ast.arguments) + ")"
    fields = getattr(ast, "__dataclass_fields__", None)
    if fields:
        inner = ", ".join(_render(getattr(ast, f), names) for f in fields if getattr(ast, f) is not None)
        return f"{kind.replace('Structure', '').upper()}({inner})"
    return kind


def _wrap(ast, names: dict[str, str]) -> str:
    text = _render(ast, names)
    if type(ast).__name__ in ("ArithmeticStructure", "LogicStructure") and len(ast.arguments) > 1:
        return f"({text})"
    return text
