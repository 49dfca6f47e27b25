"""innosim's application layer: the ``innosim`` command and the bundled models by name.

It sits above the engine (:mod:`simulator`), the studies (:mod:`policies`, :mod:`sensitivity`) and
the dashboard (:mod:`dashboard`); none of them imports it.

>>> import innosim
>>> names = [m.name for m in innosim.registered()]   # the bundled models (models/registry.toml)
>>> model = innosim.load(names[-1])    # a registered name, a model file, or None: the default model
>>> catalogue = innosim.catalogue(names[-1])
"""
from .errors import RegistryError
from .registry import ModelInfo, load_registry, models_dir, registered, resolve

__all__ = ["load", "catalogue", "resolve", "registered", "load_registry", "models_dir", "ModelInfo",
           "RegistryError"]


def load(model=None):
    """The engine's :class:`simulator.Model` of a registered model name or a model file (None: the
    registry's default model)."""
    import simulator

    return simulator.load(resolve(model).path)


def catalogue(model=None):
    """The lever catalogue (:class:`policies.Catalogue`) of a registered model or model file."""
    return resolve(model).catalogue()
