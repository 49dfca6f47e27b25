"""The Python face of innosim: the same answers as the ``innosim`` command, from a notebook.

Every function takes ``model``: a registered name (``innosim.registered()``), a model file, or
None for the registry's default model. A relative model path that does not exist from the current
folder is looked up among the bundled models (a notebook elsewhere that copies
``models/<name>.mdl`` from the README still finds it); anything else is a :class:`RegistryError`
that lists the registered names.
"""
from __future__ import annotations

from pathlib import Path

from simulator.model import DEFAULT_METHOD

from .errors import RegistryError
from .registry import MODEL_SUFFIXES, ModelInfo, load_registry, models_dir, resolve


def info(model=None) -> ModelInfo:
    """The registry entry (:class:`ModelInfo`: file, data files, title, notice) of ``model``."""
    if isinstance(model, ModelInfo):
        return model
    try:
        return resolve(model)
    except RegistryError as first:
        found = _bundled(model)
        if found is not None:
            return found
        names = ", ".join(load_registry().names)
        raise RegistryError(f"{first} (looked from {Path.cwd()} and among the bundled models in "
                            f"{models_dir()}); registered models: {names} -- pass one of these names, "
                            "e.g. innosim.load('<name>'), or a path that exists") from None


def _bundled(model) -> ModelInfo | None:
    """A relative model path read against the bundled models folder, or its file stem as a name."""
    if model is None:
        return None
    path = Path(str(model)).expanduser()
    if path.is_absolute() or not str(model).lower().endswith(MODEL_SUFFIXES):
        return None
    folder = models_dir()
    for candidate in (folder.parent / path, folder / path.name):
        if candidate.is_file():
            return resolve(candidate)
    registry = load_registry()
    return registry.get(path.stem) if path.stem in registry.names else None


def load(model=None):
    """The engine's :class:`simulator.Model` of ``model``; ``.run()``, ``.doc``, ``.variables``."""
    import simulator

    return simulator.load(info(model).path)


def catalogue(model=None):
    """The lever catalogue (:class:`policies.Catalogue`) of a registered model or model file."""
    return info(model).catalogue()


def scenarios(model=None) -> list[str]:
    """The ids of the model's built-in scenarios (for :func:`run` and :func:`compare`)."""
    import policies

    return list(policies.builtin_scenario_files(catalogue(model)))


def doc(model=None):
    """The model's variables as a DataFrame (units, zh/en description, range, source): ``Model.doc``."""
    return load(model).doc


def run(model=None, scenario: str | None = None, *, params: dict | None = None,
        method: str = DEFAULT_METHOD, options=None):
    """One run as a :class:`simulator.Result` (``.to_frame()``, ``result[["A", "B"]]``, ``.loc``).

    scenario: a built-in scenario id or a scenario file (None: the model as its file sets it);
    params: overrides by Vensim name applied on top (see :meth:`simulator.Model.run`).
    """
    m = load(model)
    merged: dict = {}
    if scenario is not None:
        import policies

        cat = catalogue(model)
        sc = policies.load_scenario(scenario, catalogue=cat, cities=policies.regions(m, cat))
        merged.update(policies.scenario_params(sc, m, catalogue=cat))
    merged.update(params or {})
    return m.run(merged, method=method, options=options)


def compare(model=None, scenarios: list[str] | None = None, *, years=None, method: str = DEFAULT_METHOD):
    """Every built-in scenario (or the ``scenarios`` given) against the baseline, as ``innosim
    compare`` computes it: a :class:`policies.compare.Comparison` of tidy DataFrames (``kpis``,
    ``timeseries``, ``costs``, ``summary``). years: the KPI table's years (default: the model's)."""
    import policies
    from policies.compare import compare as _compare

    entry = info(model)
    cat = entry.catalogue()
    m = load(entry)
    policies.check_against_model(cat, m)
    years = list(years or entry.report_years or (2030, 2035))
    comp = _compare(m, scenarios, catalogue=cat, years=years, method=method)
    comp.metadata["model_name"] = entry.name
    return comp
