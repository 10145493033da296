"""Plots of fitted mixtures and of model-selection tables (matplotlib, optional).

matplotlib is imported only when a plot is drawn (never by ``import mixtura`` or
``import mixtura.plotting``); without it, every function raises an
:class:`ImportError` that says how to install it (``pip install "mixtura[plot]"``).
Nothing here calls ``plt.show()``: each function takes ``ax=`` (where to draw) and
returns its Axes, or its Figure for a grid of panels, and the caller decides
whether to show or save. Without a display, pyplot is set to the non-interactive
Agg backend.

Functions:

- :func:`plot_mixture`: points coloured by component with each component's 1-
  and 2-sigma ellipses, on two features;
- :func:`plot_pairs`: the same for every pair of features (a scatter matrix);
- :func:`plot_density`: filled contours of the log density over two features;
- :func:`plot_uncertainty`: points sized and shaded by ``1 - max_k r_ik``, as
  mclust's uncertainty plot;
- :func:`plot_selection`: a criterion (BIC, ICL, AIC) against K, one line per
  model in mclust's symbols;
- :func:`plot_responsibilities`: a heat map of the responsibilities, rows sorted
  by label;
- :func:`plot_density_1d`: a one-feature density with its weighted components
  over the histogram;
- :func:`plot_top_words`: a text mixture's most probable words per component.

Feature names come from the model's ``feature_names_in_`` where it has them.
"""

from __future__ import annotations

from mixtura.plotting._clusters import (
    MAX_PAIRS_FEATURES,
    component_covariance,
    plot_mixture,
    plot_pairs,
    plot_uncertainty,
)

# the old single module's private helpers, still importable from here
from mixtura.plotting._common import (  # noqa: F401
    _INSTALL_HINT,
    _SIGMAS,
    _axes,
    _draw_component,
    _ellipse_geometry,
    _has_display,
    _pyplot,
    _require_matplotlib,
)
from mixtura.plotting._components import plot_responsibilities, plot_top_words
from mixtura.plotting._density import plot_density, plot_density_1d
from mixtura.plotting._selection import MCLUST_STYLES, plot_selection

__all__ = [
    "MAX_PAIRS_FEATURES",
    "MCLUST_STYLES",
    "component_covariance",
    "plot_density",
    "plot_density_1d",
    "plot_mixture",
    "plot_pairs",
    "plot_responsibilities",
    "plot_selection",
    "plot_top_words",
    "plot_uncertainty",
]
