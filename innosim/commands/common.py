"""What the command modules share: the ``--model`` option and the model's notice."""
from __future__ import annotations

import sys

from ..registry import ModelInfo, resolve

MODEL_HELP = ("model: a registered name (innosim models lists them) or a model file "
              "(default: the registry's default model)")


def add_model_option(parser, help_text: str = MODEL_HELP) -> None:
    parser.add_argument("--model", default=None, metavar="NAME|PATH", help=help_text)


def chosen_model(name, *, quiet: bool = False, lang: str = "en") -> ModelInfo:
    """Resolve ``--model`` and print the model's notice (an uncalibrated model says so) on stderr,
    in the command's language."""
    info = resolve(name)
    if not quiet:
        show_notice(info, lang)
    return info


def show_notice(info: ModelInfo, lang: str = "en") -> None:
    line = info.notice_line(lang)
    if line:
        print(f"{'注意' if lang == 'zh' else 'note'}: {line}", file=sys.stderr)
