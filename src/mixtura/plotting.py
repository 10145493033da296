"""Plots of fitted mixtures and of model-selection tables (matplotlib, optional).

matplotlib is imported only when a plot is drawn; without it, every function raises
an :class:`ImportError` that says how to install it (``pip install "mixtura[plot]"``).
Nothing here calls ``plt.show()``: the functions return their Axes (or Figure) and
the caller decides whether to show or save. Without a display, pyplot is set to
the non-interactive Agg backend.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from mixtura.families.covariance import get_covariance_structure
from mixtura.selection import CRITERIA

__all__ = ["component_covariance", "plot_mixture", "plot_selection"]

_INSTALL_HINT = (
    'Plotting needs matplotlib, which is not installed; install it with `pip install "'
    'mixtura[plot]"` (or `pip install matplotlib`).'
)

#: The ellipses drawn around each component, in standard deviations.
_SIGMAS = (1.0, 2.0)


def _require_matplotlib():
    """Import matplotlib, or raise an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    return matplotlib


def _has_display():
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _pyplot():
    """matplotlib.pyplot, on the Agg backend when there is no display to show on."""
    matplotlib = _require_matplotlib()
    if (
        "matplotlib.pyplot" not in sys.modules
        and not os.environ.get("MPLBACKEND")
        and not _has_display()
    ):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _axes(ax):
    """``ax``, or the Axes of a new figure when it is None."""
    if ax is not None:
        _require_matplotlib()
        return ax
    _, ax = _pyplot().subplots()
    return ax


def component_covariance(model, k):
    """The full covariance matrix of component ``k`` of a fitted Gaussian mixture.

    Works for every covariance type: the model's covariance structure expands its
    parameter array into per-component matrices.

    Parameters
    ----------
    model : GaussianMixture
        A fitted Gaussian mixture (mixtura's or scikit-learn's).
    k : int
        Component index, in ``[0, n_components)``.

    Returns
    -------
    covariance : ndarray of shape (n_features, n_features)
        Covariance of component ``k``.
    """
    means = np.asarray(model.means_, dtype=np.float64)
    n_components, n_features = means.shape
    if not -n_components <= k < n_components:
        raise IndexError(f"component {k} out of range for {n_components} components")
    structure = get_covariance_structure(model.covariance_type)
    covariances = np.asarray(model.covariances_, dtype=np.float64)
    return np.array(structure.matrices(covariances, n_components, n_features)[k])


def _ellipse_geometry(covariance):
    """Width, height (one standard deviation) and angle in degrees of a 2-D normal.

    Parameters
    ----------
    covariance : ndarray of shape (2, 2)

    Returns
    -------
    width, height, angle : float
    """
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    major = eigenvectors[:, 1]
    angle = np.degrees(np.arctan2(major[1], major[0]))
    return 2 * np.sqrt(eigenvalues[1]), 2 * np.sqrt(eigenvalues[0]), angle


def _draw_component(ax, mean, covariance, color):
    from matplotlib.patches import Ellipse

    width, height, angle = _ellipse_geometry(covariance)
    for n_sigma in _SIGMAS:
        ax.add_patch(
            Ellipse(
                mean,
                n_sigma * width,
                n_sigma * height,
                angle=angle,
                facecolor="none",
                edgecolor=color,
                linewidth=1.5,
                linestyle="-" if n_sigma == 1 else "--",
            )
        )
    ax.plot(*mean, marker="X", markersize=10, color=color, markeredgecolor="black")


def _check_feature_indices(feature_indices, n_features):
    indices = tuple(int(i) for i in feature_indices)
    if len(indices) != 2 or not all(-n_features <= i < n_features for i in indices):
        raise ValueError(
            f"feature_indices must be two column indices in [0, {n_features}); got "
            f"{feature_indices!r}. The model has {n_features} feature(s); a 2-D "
            "scatter needs at least two."
        )
    return list(indices)


def plot_mixture(model, X, ax=None, feature_indices=(0, 1)):
    """Scatter ``X`` coloured by component, with each component's ellipses.

    Draws, for each component, its mean and the 1- and 2-sigma ellipses of its
    Gaussian projected onto the two chosen features (the marginal covariance).

    Parameters
    ----------
    model : GaussianMixture
        A fitted Gaussian mixture.
    X : array-like of shape (n_samples, n_features)
        Data to scatter; labels come from ``model.predict(X)``.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's Axes when None.
    feature_indices : tuple of two int, default=(0, 1)
        Columns shown on the x and y axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; it holds ``2 * n_components`` ellipse patches.
    """
    X_array = np.asarray(X, dtype=np.float64)
    indices = _check_feature_indices(feature_indices, X_array.shape[1])
    labels = model.predict(X)
    ax = _axes(ax)
    from matplotlib import colormaps

    means = np.asarray(model.means_, dtype=np.float64)
    colors = colormaps["tab10"](np.arange(len(means)) % 10)
    ax.scatter(
        X_array[:, indices[0]],
        X_array[:, indices[1]],
        c=colors[labels],
        s=12,
        alpha=0.6,
        linewidths=0,
    )
    for k, mean in enumerate(means):
        covariance = component_covariance(model, k)[np.ix_(indices, indices)]
        _draw_component(ax, mean[indices], covariance, colors[k])
    names = getattr(model, "feature_names_in_", None)
    ax.set_xlabel(str(names[indices[0]]) if names is not None else f"x{indices[0]}")
    ax.set_ylabel(str(names[indices[1]]) if names is not None else f"x{indices[1]}")
    ax.set_title(f"{model.covariance_type}, K = {len(means)} (ellipses: 1 and 2 sigma)")
    return ax


#: Markers cycled over a selection plot's lines, so 14 mclust models stay apart.
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "p", "h", "8", "d")


def plot_selection(table, ax=None, criterion=None):
    """Plot a criterion against K, one line per model, the best cell marked.

    Like mclust's ``plot(mclustBIC(...))``: one line, colour and marker per model
    (mclust's 14 models included), missing cells left as gaps.

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
    ax = _axes(ax)
    criterion = table.criterion if criterion is None else criterion
    ks = np.array(table.n_components)
    from matplotlib import colormaps

    colors = colormaps["tab20"](np.arange(len(table.models)) % 20)
    for index, model in enumerate(table.models):
        values = [table.value(criterion, model, k) for k in ks]
        ax.plot(
            ks,
            values,
            marker=_MARKERS[index % len(_MARKERS)],
            markersize=4,
            color=colors[index],
            label=model,
        )
    best_model, best_k = table.best(criterion)
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
    ax.legend(fontsize="small", ncol=2 if len(table.models) > 7 else 1)
    return ax
