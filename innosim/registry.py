"""The model registry: bundled models by name, each with the data files beside it.

A model is a file ``models/<name>.mdl`` and a folder ``models/<name>/`` whose ``model.toml``
describes it (title, notice, data files, default charts). ``models/registry.toml`` lists the
bundled models and names the default one; a folder with a ``model.toml`` that the list does not
name is found too. Every command resolves ``--model`` here: a registered name, a model file (its
``<stem>/model.toml`` is read when there is one), or nothing (the registry's default).

Where ``models/`` is: beside the ``innosim`` package in a source checkout or an editable install
(the repository's own folder), else the copy that a wheel installs as the ``innosim_models``
package data. ``$INNOSIM_MODELS`` names another folder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from simulator.names import suggest
from simulator.tomlfile import read_toml

from .errors import RegistryError

REGISTRY_FILE = "registry.toml"
MANIFEST = "model.toml"
MODEL_SUFFIXES = (".mdl", ".xmile", ".stmx", ".xml")
FILE_KEYS = ("levers", "scenarios", "uncertainties", "exercises", "assumptions", "calibration_setup",
             "calibration", "calibration_holdout")
_MODEL_KEYS = {"id", "file", "documentation", "title", "description", "references", "calibrated", "notice"}


@dataclass(frozen=True)
class ModelInfo:
    """One model and its data files, as its ``model.toml`` describes them (paths are absolute).

    ``name`` is the registry name (the folder name); ``files`` maps each data file the model has
    (keys of :data:`FILE_KEYS`) to its path. A model file without a ``model.toml`` gives a bare
    ``ModelInfo`` with no data files, titled by its file name.
    """

    name: str
    path: Path
    folder: Path | None = None
    title: dict = field(default_factory=dict)
    description: dict = field(default_factory=dict)
    references: tuple = ()
    calibrated: bool = False
    notice: dict | None = None
    documentation: Path | None = None
    files: dict = field(default_factory=dict)
    default_kpis: tuple = ()
    report_years: tuple = ()

    def label(self, lang: str = "en") -> str:
        return self.title.get(lang) or self.title.get("en") or self.name

    def file(self, key: str, purpose: str) -> Path:
        """The data file ``key`` (e.g. ``levers``); a clear error naming ``purpose`` if it has none."""
        path = self.files.get(key)
        if path is None:
            where = f"{self.folder / MANIFEST}" if self.folder else f"{self.path.name} (no {MANIFEST} beside it)"
            raise RegistryError(f"model {self.name!r} has no {key} file ({where}); {purpose} needs one")
        return path

    def catalogue(self):
        """The model's lever catalogue (:class:`policies.Catalogue`)."""
        from policies import load_catalogue

        return load_catalogue(self.file("levers", "a scenario, lever or comparison command"))

    def notice_line(self, lang: str = "en") -> str | None:
        """The model's notice (e.g. an uncalibrated model's warning) as one line, or None."""
        if not self.notice:
            return None
        return f"{self.label(lang)}: {self.notice.get(lang) or self.notice['en']}"


# ------------------------------------------------------------------------------ where models are
def models_dir() -> Path:
    """The folder of the bundled models (see the module documentation)."""
    env = os.environ.get("INNOSIM_MODELS")
    if env:
        return Path(env).expanduser()
    beside = Path(__file__).resolve().parent.parent / "models"
    if (beside / REGISTRY_FILE).is_file():
        return beside
    import importlib.util

    try:
        spec = importlib.util.find_spec("innosim_models")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / REGISTRY_FILE).is_file():
            return Path(location)
    raise RegistryError(f"the bundled models are missing (no models/{REGISTRY_FILE} beside the innosim "
                        "package, none installed with it); give a model file with --model PATH or set "
                        "$INNOSIM_MODELS to a models folder")


@dataclass(frozen=True)
class Registry:
    """Registered model names in order, the default name, and the folder they are in."""

    folder: Path
    names: tuple
    default: str

    def get(self, name: str) -> ModelInfo:
        if name not in self.names:
            raise RegistryError(f"unknown model {name!r}.{suggest(name, list(self.names))} "
                                f"Registered models: {', '.join(self.names)}; or give a model file path")
        return read_manifest(self.folder / name / MANIFEST, name=name)


def load_registry(folder: str | Path | None = None) -> Registry:
    """Read ``registry.toml`` in ``folder`` (default :func:`models_dir`) and discover other models."""
    folder = Path(folder) if folder is not None else models_dir()
    path = folder / REGISTRY_FILE
    data = read_toml(path, "model registry", RegistryError)
    unknown = set(data) - {"default", "models"}
    if unknown:
        raise RegistryError(f"{path}: unknown key {sorted(unknown)[0]!r} (expected default and models)")
    listed = data.get("models", [])
    if not isinstance(listed, list) or not all(isinstance(n, str) and n for n in listed):
        raise RegistryError(f"{path}: 'models' must be a list of model names")
    for name in listed:
        if not (folder / name / MANIFEST).is_file():
            raise RegistryError(f"{path}: model {name!r} has no {name}/{MANIFEST}")
    found = sorted(p.parent.name for p in folder.glob(f"*/{MANIFEST}"))
    names = tuple(dict.fromkeys([*listed, *found]))
    default = data.get("default")
    if not isinstance(default, str) or default not in names:
        raise RegistryError(f"{path}: 'default' must name a registered model ({', '.join(names)}), "
                            f"not {default!r}")
    return Registry(folder=folder, names=names, default=default)


# ------------------------------------------------------------------------------ model.toml
def _bilingual(value, where: str) -> dict:
    if not isinstance(value, dict) or not value.get("zh") or not value.get("en"):
        raise RegistryError(f"{where}: needs both 'zh' and 'en' text")
    return {"zh": str(value["zh"]), "en": str(value["en"])}


def _strings(value, where: str) -> tuple:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistryError(f"{where} must be a list of text")
    return tuple(value)


def read_manifest(path: str | Path, *, name: str | None = None) -> ModelInfo:
    """Read a model's ``model.toml``; every file it names must exist."""
    path = Path(path)
    data = read_toml(path, "model description", RegistryError)
    unknown = set(data) - {"model", "files", "charts"}
    if unknown:
        raise RegistryError(f"{path}: unknown table {sorted(unknown)[0]!r} (expected model, files, charts)")
    model = data.get("model", {})
    bad = set(model) - _MODEL_KEYS
    if bad:
        key = sorted(bad)[0]
        raise RegistryError(f"{path}: [model] has unknown key {key!r}.{suggest(key, sorted(_MODEL_KEYS))}")
    folder = path.parent
    name = name or folder.name
    if "file" not in model:
        raise RegistryError(f"{path}: [model] needs 'file', the model file relative to {MANIFEST}")
    model_file = (folder / model["file"]).resolve()
    if not model_file.is_file():
        raise RegistryError(f"{path}: model.file {model['file']!r} does not exist")
    calibrated = model.get("calibrated", False)
    if not isinstance(calibrated, bool):
        raise RegistryError(f"{path}: model.calibrated must be true or false")
    notice = _bilingual(model["notice"], f"{path}: model.notice") if "notice" in model else None
    if not calibrated and notice is None:
        raise RegistryError(f"{path}: an uncalibrated model needs a model.notice (zh/en) that says so")
    files = {}
    raw_files = data.get("files", {})
    for key, rel in raw_files.items():
        if key not in FILE_KEYS:
            raise RegistryError(f"{path}: [files] has unknown key {key!r}.{suggest(key, list(FILE_KEYS))}")
        target = (folder / str(rel)).resolve()
        if not target.exists():
            raise RegistryError(f"{path}: files.{key} {rel!r} does not exist")
        files[key] = target
    charts = data.get("charts", {})
    doc = model.get("documentation")
    return ModelInfo(
        name=name, path=model_file, folder=folder,
        title=_bilingual(model.get("title"), f"{path}: model.title"),
        description=_bilingual(model.get("description"), f"{path}: model.description"),
        references=_strings(model.get("references", []), f"{path}: model.references"),
        calibrated=calibrated, notice=notice,
        documentation=(folder / doc).resolve() if doc else None, files=files,
        default_kpis=_strings(charts.get("default_kpis", []), f"{path}: charts.default_kpis"),
        report_years=tuple(float(y) for y in charts.get("years", ())))


# ------------------------------------------------------------------------------ --model
def resolve(model: str | Path | None = None) -> ModelInfo:
    """The model that ``--model`` names: a registered name, a model file, or None (the default).

    A model file ``<dir>/<stem>.mdl`` with ``<dir>/<stem>/model.toml`` beside it gets its data
    files; any other model file is a bare model (engine commands work on it, studies that need
    a catalogue say what is missing).
    """
    text = "" if model is None else str(model)
    looks_like_file = text.lower().endswith(MODEL_SUFFIXES) or os.sep in text or "/" in text
    if not looks_like_file:
        registry = load_registry()
        return registry.get(text or registry.default)
    path = Path(text).expanduser()
    if not path.is_file():
        raise RegistryError(f"{path}: model file not found")
    manifest = path.parent / path.stem / MANIFEST
    if manifest.is_file():
        info = read_manifest(manifest, name=path.stem)
        if info.path == path.resolve():
            return info
    return ModelInfo(name=path.stem, path=path.resolve(), title={"zh": path.name, "en": path.name})


def registered() -> list[ModelInfo]:
    """Every registered model, in registry order."""
    registry = load_registry()
    return [registry.get(n) for n in registry.names]
