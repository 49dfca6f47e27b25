"""The intermediate representation: one lowering, one validator, facts for the printers.

``lower_model(source)`` -> :class:`ModelIR` (plain frozen data, see :mod:`.nodes`);
``validate(ir)`` checks it; ``analyse(ir)`` gives orders, state layout and NaN-as-data facts;
``reduce_strength(ir)`` rewrites powers into cheaper forms (the numpy printer applies it).
"""
from .analysis import Analysis, analyse, dependencies
from .build import MAX_ORDER, lower_model
from .depth import deep_trees
from .nodes import ModelIR
from .strength import reduce_strength
from .validate import IRError, validate

__all__ = ["Analysis", "IRError", "MAX_ORDER", "ModelIR", "analyse", "deep_trees", "dependencies", "lower_model", "reduce_strength", "validate"]
