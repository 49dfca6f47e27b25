"""Stella modules flattened into one XMILE model, so that pysd and the engine read them.

A module ``<module name="hares">`` in the main model runs the sub-model ``<model name="hares">``.
Each variable ``v`` of the sub-model becomes ``"hares.v"`` in the main model (the name Stella
shows in its output), its references are renamed accordingly, and each input wired by a
``<connect to="area" from=".area"/>`` is replaced by the variable it is wired to (``.x`` is the
main model's ``x``, ``lynxes.y`` another module's ``y``). A reference ``hares.v`` in the main model
is the module's ``v``. Modules inside modules are refused with the line.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import ModelLoadError, UnsupportedFeatureError
from ..names import normalize

_TOKEN = re.compile(r'"[^"]*"|[^\W\d][\w]*(?:\.[^\W\d][\w]*)?')
_KINDS = ("aux", "flow", "stock", "gf")
_EXPRESSIONS = ("eqn", "inflow", "outflow")


def _local(node) -> str:
    tag = node.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _variables(model):
    return next((c for c in model if _local(c) == "variables"), None)


def _clean(name: str) -> str:
    return name.replace("\\n", "_").replace("\n", "_")


def flatten_modules(path: Path, root) -> None:
    models = [c for c in root if _local(c) == "model"]
    main = next((m for m in models if not m.get("name")), None)
    main_vars = _variables(main) if main is not None else None
    if main_vars is None:
        return
    modules = [n for n in main_vars if _local(n) == "module"]
    if not modules:
        return
    subs = {normalize(m.get("name")): m for m in models if m.get("name")}
    declared: dict[str, dict[str, str]] = {}  # module -> key -> variable name as declared
    for mod in modules:
        name = mod.get("name", "")
        model = subs.get(normalize(mod.get("model") or name))
        variables = _variables(model) if model is not None else None
        if variables is None:
            raise UnsupportedFeatureError(f"{path}: line {mod.sourceline}: not supported: XMILE module "
                                          f"{name!r} without a <model name={name!r}> beside the main model")
        nested = next((n for n in variables if _local(n) == "module"), None)
        if nested is not None:
            raise UnsupportedFeatureError(f"{path}: line {nested.sourceline}: not supported: a module "
                                          f"inside the module {name!r}")
        declared[normalize(name)] = {normalize(_clean(v.get("name", ""))): _clean(v.get("name", ""))
                                     for v in variables if _local(v) in _KINDS}
    qualified = {f"{m}.{k}": f'"{_module_name(modules, m)}.{v}"'
                 for m, names in declared.items() for k, v in names.items()}
    for mod in modules:
        m = normalize(mod.get("name", ""))
        local = {k: f'"{mod.get("name")}.{v}"' for k, v in declared[m].items()}
        inputs = {}
        for c in (c for c in mod if _local(c) == "connect"):
            to, src = normalize(_clean(c.get("to", ""))), _clean(c.get("from", ""))
            if to.startswith(m + "."):  # Stella writes to="hares.area"
                to = to[len(m) + 1:]
            if src.startswith("."):
                inputs[to] = src[1:]
            elif normalize(src) in qualified:
                inputs[to] = qualified[normalize(src)]
            else:
                raise ModelLoadError(f"{path}: line {c.sourceline}: module {mod.get('name')!r}: "
                                     f"{c.get('from')!r} wired to {c.get('to')!r} is not a variable")
        local.update(inputs)
        model = subs[normalize(mod.get("model") or mod.get("name"))]
        for v in list(_variables(model)):
            if _local(v) not in _KINDS:
                continue
            key = normalize(_clean(v.get("name", "")))
            if key in inputs:
                continue
            v.set("name", local[key].strip('"'))
            _rename(v, local)
            main_vars.append(v)
        main_vars.remove(mod)
    for v in main_vars:
        if _local(v) in _KINDS and v.get("name", "").split(".")[0].lower() not in declared:
            _rename(v, qualified)
    for model in models:
        if model is not main:
            root.remove(model)


def _module_name(modules, key: str) -> str:
    return next(m.get("name") for m in modules if normalize(m.get("name", "")) == key)


def _rename(node, names: dict[str, str]) -> None:
    for holder in [node] + [c for c in node if _local(c) == "element"]:
        for c in holder:
            if _local(c) in _EXPRESSIONS and c.text:
                c.text = _TOKEN.sub(lambda m: names.get(normalize(m.group()), m.group()), c.text)
