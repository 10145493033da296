"""Model-selection curves (BIC, ICL, AIC against K), drawn as mclust draws them."""

from __future__ import annotations

import functools

import numpy as np

from mixtura.plotting._common import _axes, _require_matplotlib
from mixtura.selection import CRITERIA

#: mclust's ``bicPlotSymbols`` (R ``pch`` codes) and ``bicPlotColors``: gray and
#: black for EII and VII, then a palette from forestgreen through royalblue1 to
#: red3 (``colorRampPalette(..., space = "Lab")(12)``) for the other twelve.
MCLUST_STYLES = {
    "EII": (17, "#BEBEBE"),
    "VII": (2, "#000000"),
    "EEI": (16, "#228B22"),
    "EVI": (10, "#428850"),
    "VEI": (13, "#518577"),
    "VVI": (1, "#59819D"),
    "EEE": (15, "#5A7DC4"),
    "EVE": (5, "#5178EB"),
    "VEE": (8, "#726FE7"),
    "VVE": (9, "#9C60B9"),
    "EEV": (12, "#B3508C"),
    "VEV": (7, "#C13F61"),
    "EVV": (14, "#C92A36"),
    "VVV": (0, "#CD0000"),
    "E": (17, "#BEBEBE"),
    "V": (2, "#000000"),
}

#: scikit-learn's covariance types drawn as their mclust equivalents, in colours
#: far enough apart for four lines.
_SKLEARN_STYLES = {
    "spherical": (2, "#000000"),  # VII
    "diag": (1, "#228B22"),  # VVI
    "tied": (15, "#4876FF"),  # EEE
    "full": (0, "#CD0000"),  # VVV
}

#: Markers (and colours) cycled over any other model names.
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "p", "h", "8", "d")


@functools.cache
def _pch_marker(code):
    """A matplotlib marker and whether it is filled, for an R ``pch`` code."""
    from matplotlib.path import Path
    from matplotlib.transforms import Affine2D

    def lines(*segments):
        vertices, codes = [], []
        for start, end in segments:
            vertices += [start, end]
            codes += [Path.MOVETO, Path.LINETO]
        return Path(vertices, codes)

    r = np.sqrt(0.5)
    plus = lines(((-1, 0), (1, 0)), ((0, -1), (0, 1)))
    small_plus = lines(((-r, 0), (r, 0)), ((0, -r), (0, r)))
    cross = lines(((-r, -r), (r, r)), ((-r, r), (r, -r)))
    square = Path.unit_rectangle().transformed(
        Affine2D().translate(-0.5, -0.5).scale(2 * r)
    )
    diamond = Path([(0, -1), (1, 0), (0, 1), (-1, 0), (0, -1)], closed=True)
    triangle = Path([(-r, -r), (r, -r), (0, r), (-r, -r)], closed=True)
    circle = Path.unit_circle()
    compound = Path.make_compound_path
    table = {
        0: ("s", False),
        1: ("o", False),
        2: ("^", False),
        5: ("D", False),
        7: (compound(square, cross), False),
        8: (compound(plus, cross), False),
        9: (compound(diamond, plus), False),
        10: (compound(circle, plus), False),
        12: (compound(square, small_plus), False),
        13: (compound(circle, cross), False),
        14: (compound(square, triangle), False),
        15: ("s", True),
        16: ("o", True),
        17: ("^", True),
    }
    return table[code]


def _line_styles(models):
    """(marker, filled, colour) of each model's line."""
    from matplotlib import colormaps

    styles = []
    others = colormaps["tab10"](np.arange(10))
    n_other = 0
    for model in models:
        style = MCLUST_STYLES.get(model) or _SKLEARN_STYLES.get(model)
        if style is not None:
            marker, filled = _pch_marker(style[0])
            styles.append((marker, filled, style[1]))
        else:
            styles.append(
                (_MARKERS[n_other % len(_MARKERS)], True, others[n_other % 10])
            )
            n_other += 1
    return styles


def plot_selection(table, ax=None, criterion=None):
    """Plot a criterion against K, one line per model, the best cell marked.

    Like mclust's ``plot(mclustBIC(...))`` (and ``plot(mclustICL(...))``): one
    line per model joining its values over K, each in mclust's symbol and colour
    (``bicPlotSymbols``, ``bicPlotColors``; scikit-learn's covariance types in
    those of their mclust equivalents: spherical VII, diag VVI, tied EEE, full
    VVV), a legend of the models, and missing cells (failed fits) left as gaps.

    Parameters
    ----------
    table : SelectionTable
        The result of :func:`mixtura.selection.select`.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's Axes when None.
    criterion : {'bic', 'aic', 'icl', 'mclust_bic', 'mclust_icl'}, default=None
        Which criterion; None means the table's own. ``bic``, ``aic`` and
        ``icl`` are lower-is-better, the ``mclust_`` ones higher-is-better (the
        y axis says which).

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on, with one line per model and a legend.
    """
    criterion = table.criterion if criterion is None else criterion
    if criterion not in CRITERIA:
        raise ValueError(
            f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}"
        )
    _require_matplotlib()
    ax = _axes(ax)
    ks = np.array(table.n_components)
    for model, (marker, filled, color) in zip(
        table.models, _line_styles(table.models), strict=True
    ):
        values = [table.value(criterion, model, k) for k in ks]
        ax.plot(
            ks,
            values,
            marker=marker,
            markersize=6,
            markerfacecolor=color if filled else "none",
            markeredgecolor=color,
            markeredgewidth=1.0,
            color=color,
            linewidth=1.0,
            label=model,
        )
    try:
        best_model, best_k = table.best(criterion)
    except ValueError:  # every cell failed: nothing to mark
        best_model = None
    if best_model is not None:
        ax.plot(
            best_k,
            table.value(criterion, best_model, best_k),
            marker="o",
            markersize=14,
            markerfacecolor="none",
            markeredgecolor="black",
            markeredgewidth=1.5,
            linestyle="none",
            label=f"best: {best_model}, K = {best_k}",
        )
    ax.set_xlabel("number of components K")
    ax.set_ylabel(CRITERIA[criterion].axis_label)
    ax.set_xticks(ks)
    ax.grid(True, color="0.9", linewidth=0.6)
    ax.legend(
        fontsize="small",
        ncol=2 if len(table.models) > 7 else 1,
        loc="lower right" if not CRITERIA[criterion].lower_is_better else "upper right",
        framealpha=0.9,
    )
    return ax
