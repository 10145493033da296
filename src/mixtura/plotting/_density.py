"""Density plots of a fitted mixture: 2-D contours and a 1-D density by component."""

from __future__ import annotations

import numpy as np

from mixtura.plotting._common import (
    _ask,
    _axes,
    _check_feature_indices,
    _colors,
    _data,
    _feature_names,
    _model_title,
)

#: Filled contours span this many nats below the grid's highest log density.
_LOG_DENSITY_RANGE = 12.0


def _grid_range(values, pad=0.1):
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low if high > low else max(abs(low), 1.0)
    return low - pad * span, high + pad * span


def plot_density(model, X, ax=None, feature_indices=(0, 1), resolution=100):
    """Filled contours of the mixture's log density over two features.

    ``model.score_samples`` is evaluated on a ``resolution x resolution`` grid
    spanning the data (plus a margin); for more than two features the others are
    held at their means over ``X`` (a slice of the density, not its marginal; the
    title says so). The data are drawn on top as small dots.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture with ``score_samples`` and at least two features.
    X : array-like of shape (n_samples, n_features)
        Data: they set the grid's extent and are drawn over the contours.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's Axes when None.
    feature_indices : tuple of two int, default=(0, 1)
        Columns shown on the x and y axes.
    resolution : int, default=100
        Grid points along each axis (at least 10).

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on, with a colour bar of the log density.
    """
    X_array = _data(model, X)
    n_features = X_array.shape[1]
    indices = _check_feature_indices(feature_indices, n_features)
    if indices[0] == indices[1]:
        raise ValueError(
            f"feature_indices must name two different features; got {feature_indices!r}"
        )
    resolution = int(resolution)
    if resolution < 10:
        raise ValueError(f"resolution must be at least 10; got {resolution}")
    xs = np.linspace(*_grid_range(X_array[:, indices[0]]), resolution)
    ys = np.linspace(*_grid_range(X_array[:, indices[1]]), resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.tile(X_array.mean(axis=0), (grid_x.size, 1))
    grid[:, indices[0]] = grid_x.ravel()
    grid[:, indices[1]] = grid_y.ravel()
    log_density = _ask(model, "score_samples", grid).astype(np.float64)
    log_density = log_density.reshape(grid_x.shape)
    finite = log_density[np.isfinite(log_density)]
    if finite.size == 0:
        raise ValueError("the model's log density is not finite anywhere on the grid")
    high = float(finite.max())
    low = max(float(finite.min()), high - _LOG_DENSITY_RANGE)
    if high - low < 1e-9:
        low = high - 1.0
    ax = _axes(ax)
    from matplotlib.ticker import MaxNLocator

    levels = MaxNLocator(nbins=14).tick_values(low, high)
    contours = ax.contourf(
        grid_x,
        grid_y,
        np.clip(np.nan_to_num(log_density, nan=low, neginf=low), low, high),
        levels=levels,
        cmap="viridis",
    )
    ax.contour(
        grid_x, grid_y, log_density, levels=levels[1::2], colors="white", linewidths=0.4
    )
    ax.scatter(
        X_array[:, indices[0]],
        X_array[:, indices[1]],
        s=3,
        color="black",
        alpha=0.5,
        linewidths=0,
    )
    colorbar = ax.figure.colorbar(contours, ax=ax)
    colorbar.set_label("log density")
    names = _feature_names(model, n_features)
    ax.set_xlabel(names[indices[0]])
    ax.set_ylabel(names[indices[1]])
    title = f"{_model_title(model)}, K = {len(model.weights_)}: log density"
    if n_features > 2:
        title += f"\n(slice: the other {n_features - 2} feature(s) at their means)"
    ax.set_title(title, fontsize="medium")
    return ax


def plot_density_1d(model, x, ax=None, bins="auto", resolution=400):
    """A one-feature mixture's density with its weighted components.

    Draws the histogram of ``x`` (as a density), the mixture's density and each
    component's weighted density ``w_k p_k(x)`` (they sum to the mixture's). The
    weighted densities come from the estimator's public API, ``exp(score_samples)
    * predict_proba``, so any one-feature mixture serves; a count model
    (``PoissonMixture``) is drawn at the integers.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture of one feature.
    x : array-like of shape (n_samples,) or (n_samples, 1)
        Data.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's Axes when None.
    bins : int or str, default='auto'
        The histogram's bins, as :func:`numpy.histogram_bin_edges` takes them.
    resolution : int, default=400
        Points on which the densities are drawn (at least 10).

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on, with a legend.
    """
    values = np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)
    n_features = getattr(model, "n_features_in_", 1)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or n_features != 1:
        features = values.shape[1] if values.ndim == 2 else n_features
        raise ValueError(
            "plot_density_1d draws one feature; the model has "
            f"{n_features} and x has shape {values.shape} ({features} features). "
            "For two or more, use plot_density or plot_pairs"
        )
    if values.size == 0:
        raise ValueError("x is empty")
    resolution = int(resolution)
    if resolution < 10:
        raise ValueError(f"resolution must be at least 10; got {resolution}")
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else max(abs(low), 1.0)
    counts = bool(np.all(values == np.round(values)) and low >= 0)
    grid = np.linspace(low - 0.1 * span, high + 0.1 * span, resolution)
    try:
        joint = _weighted_densities(model, grid)
        discrete = False
    except ValueError:  # a count model takes integers only
        if not counts:
            raise
        grid = np.arange(np.floor(low), np.ceil(high) + 1)
        joint = _weighted_densities(model, grid)
        discrete = True
    ax = _axes(ax)
    if discrete:
        edges = np.arange(grid[0] - 0.5, grid[-1] + 1.5)
    else:
        edges = np.histogram_bin_edges(values, bins=bins)
    ax.hist(
        values,
        bins=edges,
        density=True,
        color="0.82",
        edgecolor="white",
        label="data",
    )
    colors = _colors(joint.shape[1])
    weights = np.asarray(model.weights_, dtype=np.float64)
    style = {"marker": "o", "markersize": 3} if discrete else {}
    ax.plot(
        grid, joint.sum(axis=1), color="black", linewidth=1.5, label="mixture", **style
    )
    for k in range(joint.shape[1]):
        if not discrete:
            ax.fill_between(grid, 0, joint[:, k], color=colors[k], alpha=0.25)
        ax.plot(
            grid,
            joint[:, k],
            color=colors[k],
            linestyle="--",
            linewidth=1.5,
            label=f"component {k} (weight {weights[k]:.2f})",
            **style,
        )
    names = _feature_names(model, 1)
    ax.set_xlabel(names[0])
    ax.set_ylabel("probability" if discrete else "density")
    ax.set_ylim(bottom=0)
    ax.set_title(
        f"{_model_title(model)}, K = {joint.shape[1]}: "
        f"{'probabilities' if discrete else 'density'} and weighted components",
        fontsize="medium",
    )
    ax.legend(fontsize="small", loc="best")
    return ax


def _weighted_densities(model, grid):
    """``w_k p_k(x)`` at each grid point: ``exp(score_samples) * predict_proba``."""
    column = grid[:, None]
    density = np.exp(_ask(model, "score_samples", column).astype(np.float64))
    proba = _ask(model, "predict_proba", column).astype(np.float64)
    return density[:, None] * proba
