"""What every plot shares: the lazy matplotlib import, Axes, colours, checks.

Nothing here imports matplotlib at module level: :func:`_require_matplotlib` does,
when a plot is drawn.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from mixtura.families.covariance import get_covariance_structure

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
        if not hasattr(ax, "add_patch"):
            raise TypeError(
                f"ax must be a matplotlib Axes or None; got {type(ax).__name__}"
            )
        return ax
    _, ax = _pyplot().subplots(layout="constrained")
    return ax


def _axes_grid(ax, n_rows, n_cols, figsize):
    """A figure and its ``(n_rows, n_cols)`` array of Axes.

    ``ax`` is None (a new pyplot figure), a matplotlib Figure (the Axes are added
    to it) or an array-like of Axes holding ``n_rows * n_cols`` of them.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure

    if ax is None:
        figure, axes = _pyplot().subplots(
            n_rows, n_cols, figsize=figsize, squeeze=False, layout="constrained"
        )
        return figure, axes
    if isinstance(ax, Figure):
        return ax, ax.subplots(n_rows, n_cols, squeeze=False)
    axes = np.asarray(ax, dtype=object)
    if axes.size != n_rows * n_cols:
        raise ValueError(
            f"ax must be None, a Figure or {n_rows} x {n_cols} = {n_rows * n_cols} "
            f"Axes; got {axes.size} Axes"
        )
    axes = axes.reshape(n_rows, n_cols)
    return axes[0, 0].figure, axes


def _colors(n_components):
    """One readable colour per component (tab10, then tab20, cycling)."""
    _require_matplotlib()
    from matplotlib import colormaps

    name, size = ("tab10", 10) if n_components <= 10 else ("tab20", 20)
    return colormaps[name](np.arange(n_components) % size)


def _feature_names(model, n_features):
    """The model's feature names (``feature_names_in_``), else ``x0``, ``x1``..."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None and len(names) == n_features:
        return [str(name) for name in names]
    return [f"x{j}" for j in range(n_features)]


def _n_components(model):
    """Number of components of a fitted mixture."""
    weights = getattr(model, "weights_", None)
    if weights is None:
        raise TypeError(
            f"{type(model).__name__} is not a fitted mixture (it has no weights_); "
            "fit it first"
        )
    return len(weights)


def _data(model, X, what="X"):
    """``X`` as a 2-D float64 array, checked against the model's features."""
    if hasattr(X, "toarray"):  # scipy.sparse
        X = X.toarray()
    X_array = np.asarray(X, dtype=np.float64)
    if X_array.ndim == 1:
        X_array = X_array[:, None]
    if X_array.ndim != 2 or X_array.shape[0] == 0:
        raise ValueError(
            f"{what} must be a non-empty 2-D array of shape (n_samples, n_features); "
            f"got shape {X_array.shape}"
        )
    n_features = getattr(model, "n_features_in_", None)
    if n_features is not None and X_array.shape[1] != n_features:
        raise ValueError(
            f"{what} has {X_array.shape[1]} feature(s) and the model was fitted on "
            f"{n_features}"
        )
    return X_array


def _ask(model, method, X):
    """``model.method(X)`` as a float64 array (or labels), for a 2-D ``X``.

    An array handed to a model fitted on a DataFrame draws scikit-learn's "X does
    not have valid feature names" warning: the columns are in the model's order
    here, so it is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        return np.asarray(getattr(model, method)(X))


def _check_feature_indices(feature_indices, n_features):
    indices = tuple(int(i) for i in feature_indices)
    if len(indices) != 2 or not all(-n_features <= i < n_features for i in indices):
        raise ValueError(
            f"feature_indices must be two column indices in [0, {n_features}); got "
            f"{feature_indices!r}. The model has {n_features} feature(s); a 2-D "
            "scatter needs at least two."
        )
    return [i % n_features for i in indices]


#: Attributes of Gaussian-shaped components' matrices, and what they are.
_SHAPE_ATTRIBUTES = (("covariances_", "covariance"), ("scales_", "scale matrix"))


def _gaussian_components(model):
    """Means and covariance matrices of a model's Gaussian-shaped components.

    Returns
    -------
    components : tuple of (ndarray, list of ndarray, str) or None
        ``(means, covariances, what)`` with ``what`` ``'covariance'`` or
        ``'scale'`` (Student-t components); None for other families.
    """
    means = getattr(model, "means_", None)
    if means is not None:
        for attribute, what in (
            ("covariances_", "covariance"),
            ("scales_", "scale matrix"),
        ):
            parameters = getattr(model, attribute, None)
            if parameters is not None and hasattr(model, "covariance_type"):
                return (
                    *_matrices(means, parameters, model.covariance_type),
                    what,
                )
    family = getattr(model, "family_", None)
    if getattr(family, "name", None) == "gaussian":
        return (
            *_matrices(family.means, family.covariances, family.covariance_type),
            "covariance",
        )
    return None


def _matrices(means, parameters, covariance_type):
    means = np.asarray(means, dtype=np.float64)
    n_components, n_features = means.shape
    structure = get_covariance_structure(covariance_type)
    parameters = np.asarray(parameters, dtype=np.float64)
    matrices = structure.matrices(parameters, n_components, n_features)
    return means, [np.array(matrices[k]) for k in range(n_components)]


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


def _draw_component(ax, mean, covariance, color, marker_size=10):
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
    ax.plot(
        *mean,
        marker="X",
        markersize=marker_size,
        color=color,
        markeredgecolor="black",
        linestyle="none",
    )


def _component_handles(colors, weights=None, marker="o"):
    """Legend handles, one per component (with its weight when given)."""
    from matplotlib.lines import Line2D

    handles = []
    for k, color in enumerate(colors):
        label = f"{k}" if weights is None else f"{k} (weight {weights[k]:.2f})"
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                linestyle="none",
                markerfacecolor=color,
                markeredgecolor=color,
                markersize=7,
                label=label,
            )
        )
    return handles


def _model_title(model):
    """``'GaussianMixture (full)'``-like name of a model, for titles."""
    name = type(model).__name__
    covariance_type = getattr(model, "covariance_type", None)
    return name if covariance_type is None else f"{name} ({covariance_type})"
