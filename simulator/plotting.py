"""What every chart of the project shares: a font with Chinese glyphs, a colour-blind-safe palette,
bilingual labels and numbered point labels that cannot overlap.

matplotlib's default font (DejaVu Sans) has no Chinese glyphs, so zh labels and units such as 亿元
would render as boxes. :func:`cjk_font` finds an installed CJK font (Debian: ``fonts-noto-cjk``)
even when it was installed after matplotlib built its font cache; without one, one clear warning
is given and :func:`bilingual` labels fall back to English.
"""
from __future__ import annotations

import contextlib
import functools
import io
import textwrap
import warnings

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Serif CJK SC",
             "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "Heiti SC")
_FILE_HINTS = ("cjk", "wqy", "wenquanyi", "simhei", "msyh", "pingfang", "sourcehan", "heiti")
# Okabe & Ito's palette, distinguishable with every common colour-vision deficiency
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
BASELINE = "#555555"
NO_CJK_WARNING = ("no font with Chinese glyphs found for matplotlib: charts use English labels only "
                  "(install one, e.g. on Debian: sudo apt-get install fonts-noto-cjk)")


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_FONTS if n in names), None)

    found = known()
    if found is None:   # installed after matplotlib's font cache was built: register the files
        for path in font_manager.findSystemFonts():
            if any(h in path.lower() for h in _FILE_HINTS):
                with contextlib.suppress(OSError, RuntimeError, ValueError):
                    font_manager.fontManager.addfont(path)
        found = known()
    return found


@functools.cache
def has_cjk() -> bool:
    """Whether Chinese labels can be drawn; warns once (per process) when they cannot."""
    if cjk_font() is None:
        warnings.warn(NO_CJK_WARNING, UserWarning, stacklevel=3)
        return False
    return True


def bilingual(zh: str, en: str, *, width: int | None = None) -> str:
    """``"en / zh"`` when a CJK font is there, else ``en`` (never boxes for missing glyphs).

    ``width``: wrap to lines of about that many characters (a Chinese character counts two), the
    English and the Chinese text each on lines of their own, for titles of narrow panels.
    """
    if not zh or zh == en or not has_cjk():
        return "\n".join(textwrap.wrap(en, width)) if width else en
    if width is None:
        return f"{en} / {zh}"
    return "\n".join([*textwrap.wrap(en, width), *textwrap.wrap(zh, max(4, width // 2))])


def rc() -> dict:
    """rcParams for a chart: DejaVu Sans for Latin text, the CJK font as per-glyph fallback."""
    from cycler import cycler

    families = ["DejaVu Sans"] + ([cjk_font()] if has_cjk() else [])
    return {"font.family": families, "axes.unicode_minus": False, "axes.grid": True, "grid.alpha": 0.3,
            "axes.prop_cycle": cycler(color=list(PALETTE)), "figure.dpi": 100}


@contextlib.contextmanager
def style():
    import matplotlib

    with matplotlib.rc_context(rc()):
        yield


def figure(width: float = 8.0, height: float = 4.5):
    """A Figure with its own Agg canvas (no pyplot state), laid out by matplotlib's constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig, dpi: int = 110) -> bytes:
    with style():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def numbered_labels(ax, xs, ys, names, *, key_ax, title: str = "") -> None:
    """Label points by number next to each marker and list ``number  name`` in ``key_ax``.

    Long names placed next to crowded points overprint each other; a short number per point and a
    key in its own axes cannot.
    """
    for i, (x, y) in enumerate(zip(xs, ys), 1):
        ax.annotate(str(i), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8,
                    fontweight="bold")
    key_ax.axis("off")
    lines = [title] if title else []
    lines += [f"{i:>2}  {name}" for i, name in enumerate(names, 1)]
    key_ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize=8,
                transform=key_ax.transAxes, linespacing=1.35)
