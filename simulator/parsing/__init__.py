"""The only way a model file reaches pysd: checked, bounded, and never executed.

``translate(path)`` reads the file once, rewrites what published files contain and pysd does not
read (:mod:`.normalise`, :mod:`.macros`, :mod:`.xmile_normalise`; see docs/model-files.md), checks it (:mod:`.vensim_text`, :mod:`.vensim_checks`,
:mod:`.xmile_scan`, bounds in :mod:`.limits`), then runs pysd's translator with ``eval`` bound to
a strict literal parser (:mod:`.literals`, :mod:`.guard`). ``check_translation`` adds the load-time
validation (:mod:`.validate`). ``pysd_read_vensim``/``pysd_read_xmile`` give pysd's executable
model for reference runs (:mod:`.pysd_models`).
"""
from .guard import INSTALLED_PYSD_VERSION, PYSD_VERSION, check_pysd_version, pysd_eval_bindings
from .literals import LiteralError, parse_literal
from .pysd_models import pysd_read_vensim, pysd_read_xmile
from .translate import SUPPORTED_SUFFIXES, Translation, translate
from .validate import check_translation, lines_of, main_section

__all__ = [
    "translate", "Translation", "check_translation", "main_section", "lines_of",
    "pysd_read_vensim", "pysd_read_xmile", "parse_literal", "LiteralError",
    "PYSD_VERSION", "INSTALLED_PYSD_VERSION", "check_pysd_version", "pysd_eval_bindings",
    "SUPPORTED_SUFFIXES",
]
