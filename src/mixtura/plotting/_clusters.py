"""Scatter plots of a fitted mixture's clusters: one pair, all pairs, uncertainty."""

from __future__ import annotations

import numpy as np

from mixtura.plotting._common import (
    _ask,
    _axes,
    _axes_grid,
    _check_feature_indices,
    _colors,
    _component_handles,
    _data,
    _draw_component,
    _feature_names,
    _gaussian_components,
    _model_title,
)

#: mclust's uncertainty plot: point classes split at these quantiles, their sizes
#: (points squared) and opacities.
_UNCERTAINTY_QUANTILES = (0.75, 0.95)
_UNCERTAINTY_SIZES = (3.0, 22.0, 60.0)
_UNCERTAINTY_ALPHAS = (0.3, 0.65, 0.95)

#: ``plot_pairs`` draws at most this many features unless they are chosen.
MAX_PAIRS_FEATURES = 10


def component_covariance(model, k):
    """The full covariance matrix of component ``k`` of a fitted Gaussian mixture.

    Works for every covariance type: the model's covariance structure expands its
    parameter array into per-component matrices. For a
    :class:`~mixtura.StudentMixture` it is the scale matrix.

    Parameters
    ----------
    model : GaussianMixture
        A fitted Gaussian mixture (mixtura's or scikit-learn's, a
        ``BayesianGaussianMixture``, a ``StudentMixture`` or a
        ``MixtureModel(family='gaussian')``).
    k : int
        Component index, in ``[0, n_components)``.

    Returns
    -------
    covariance : ndarray of shape (n_features, n_features)
        Covariance of component ``k``.
    """
    components = _gaussian_components(model)
    if components is None:
        raise TypeError(
            f"{type(model).__name__} has no Gaussian components (no means_ and "
            "covariances_): it has no covariance matrices to draw"
        )
    means, covariances, _ = components
    n_components = len(means)
    if not -n_components <= k < n_components:
        raise IndexError(f"component {k} out of range for {n_components} components")
    return covariances[k]


def _scatter_components(
    ax, model, X, indices, labels, colors, *, size=12, marker_size=10
):
    """Points coloured by label and each component's ellipses, on one pair."""
    ax.scatter(
        X[:, indices[0]],
        X[:, indices[1]],
        c=colors[labels],
        s=size,
        alpha=0.6,
        linewidths=0,
    )
    components = _gaussian_components(model)
    if components is None:
        return None
    means, covariances, what = components
    for k, mean in enumerate(means):
        covariance = covariances[k][np.ix_(indices, indices)]
        _draw_component(ax, mean[indices], covariance, colors[k], marker_size)
    return what


def _label_axes(ax, names, indices):
    ax.set_xlabel(names[indices[0]])
    ax.set_ylabel(names[indices[1]])


def plot_mixture(model, X, ax=None, feature_indices=(0, 1)):
    """Scatter ``X`` coloured by component, with each component's ellipses.

    Draws, for each component, its mean and the 1- and 2-sigma ellipses of its
    Gaussian projected onto the two chosen features (the marginal covariance).
    Models without Gaussian components (Poisson, Bernoulli...) get the coloured
    points only.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture; ellipses for Gaussian (and Student-t) components.
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
    X_array = _data(model, X)
    indices = _check_feature_indices(feature_indices, X_array.shape[1])
    labels = _ask(model, "predict", X_array)
    ax = _axes(ax)
    n_components = len(model.weights_)
    colors = _colors(n_components)
    what = _scatter_components(ax, model, X_array, indices, labels, colors)
    _label_axes(ax, _feature_names(model, X_array.shape[1]), indices)
    title = f"{_model_title(model)}, K = {n_components}"
    if what is not None:
        title += f"\nellipses: 1 and 2 sd of each component's {what}"
    ax.set_title(title, fontsize="medium")
    ax.legend(
        handles=_component_handles(colors, np.asarray(model.weights_)),
        title="component",
        fontsize="small",
        loc="best",
    )
    return ax


def plot_pairs(model, X, ax=None, feature_indices=None):
    """A scatter matrix: every pair of features, points coloured by component.

    The off-diagonal panel (i, j) scatters feature j against feature i with each
    Gaussian component's 1- and 2-sigma ellipses of its marginal covariance on
    those two features (mclust's ``clPairs`` with ellipses); the diagonal panels
    hold each feature's histogram, stacked by component.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture with at least two features; ellipses for Gaussian (and
        Student-t) components.
    X : array-like of shape (n_samples, n_features)
        Data; labels come from ``model.predict(X)``.
    ax : matplotlib Figure or array of Axes, default=None
        Where to draw: a Figure (the grid is added to it), an ``(m, m)`` array of
        Axes (``m`` features), or None for a new figure.
    feature_indices : sequence of int, default=None
        The features shown, at least two; None shows all of them (at most
        ``MAX_PAIRS_FEATURES = 10``; choose some for more).

    Returns
    -------
    figure : matplotlib Figure
        The figure holding the ``m x m`` grid.
    """
    X_array = _data(model, X)
    n_features = X_array.shape[1]
    if feature_indices is None:
        if n_features > MAX_PAIRS_FEATURES:
            raise ValueError(
                f"the model has {n_features} features, more than the "
                f"{MAX_PAIRS_FEATURES} a scatter matrix shows by default; choose "
                "some with feature_indices"
            )
        indices = list(range(n_features))
    else:
        indices = [int(i) for i in feature_indices]
        if not all(-n_features <= i < n_features for i in indices):
            raise ValueError(
                f"feature_indices must be column indices in [0, {n_features}); got "
                f"{feature_indices!r}"
            )
        indices = [i % n_features for i in indices]
        if len(set(indices)) != len(indices):
            raise ValueError(f"feature_indices repeats a feature: {feature_indices!r}")
    if len(indices) < 2:
        raise ValueError(
            f"a scatter matrix needs at least two features; the model has "
            f"{n_features} and {len(indices)} were chosen (for one feature, use "
            "plot_density_1d)"
        )
    m = len(indices)
    figure, axes = _axes_grid(ax, m, m, figsize=(2.2 * m + 1.5, 2.2 * m))
    labels = _ask(model, "predict", X_array)
    n_components = len(model.weights_)
    colors = _colors(n_components)
    names = _feature_names(model, n_features)
    what = None
    for row, i in enumerate(indices):
        for col, j in enumerate(indices):
            panel = axes[row, col]
            if row == col:
                values = [X_array[labels == k, i] for k in range(n_components)]
                panel.hist(
                    values,
                    bins=20,
                    stacked=True,
                    color=colors[:n_components],
                    edgecolor="white",
                    linewidth=0.3,
                )
                panel.set_yticks([])
            else:
                what = _scatter_components(
                    panel, model, X_array, [j, i], labels, colors, size=6, marker_size=7
                )
            if row == m - 1:
                panel.set_xlabel(names[j])
            else:
                panel.tick_params(labelbottom=False)
            if col == 0:
                panel.set_ylabel(names[i])
            elif row != col:
                panel.tick_params(labelleft=False)
            panel.tick_params(labelsize="x-small")
    # the first row's y scale, beside its last panel (its first is a histogram)
    axes[0, m - 1].tick_params(labelright=True)
    # share each column's x range and each row's y range across the grid
    for col in range(m):
        low, high = _limits(X_array[:, indices[col]])
        for row in range(m):
            axes[row, col].set_xlim(low, high)
            if row != col:
                axes[col, row].set_ylim(low, high)
    title = f"{_model_title(model)}, K = {n_components}"
    if what is not None:
        title += f" (ellipses: 1 and 2 sd of each component's {what})"
    figure.suptitle(title, fontsize="medium")
    figure.legend(
        handles=_component_handles(colors, np.asarray(model.weights_)),
        title="component",
        fontsize="small",
        loc="outside right upper" if _constrained(figure) else "upper right",
    )
    return figure


def _constrained(figure):
    engine = figure.get_layout_engine()
    return engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine"


def _limits(values, pad=0.05):
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low if high > low else max(abs(low), 1.0)
    return low - pad * span, high + pad * span


def plot_uncertainty(model, X, ax=None, feature_indices=(0, 1)):
    """Classification uncertainty: points sized and shaded by ``1 - max_k r_ik``.

    As mclust's ``plot(model, what = "uncertainty")``: each point takes its
    component's colour, and is a faint dot up to the 75% quantile of the
    uncertainty, a larger, darker point up to the 95% quantile, and a large
    black-edged one beyond (the legend gives the values); the components'
    ellipses are drawn on top. For one-feature data the uncertainty itself is on
    the y axis, against the feature.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture (any estimator with ``predict_proba``).
    X : array-like of shape (n_samples, n_features)
        Data.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's Axes when None.
    feature_indices : tuple of two int, default=(0, 1)
        Columns shown on the x and y axes (ignored for one feature).

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    X_array = _data(model, X)
    n_features = X_array.shape[1]
    if n_features > 1:
        indices = _check_feature_indices(feature_indices, n_features)
    proba = _ask(model, "predict_proba", X_array).astype(np.float64)
    labels = proba.argmax(axis=1)
    uncertainty = 1.0 - proba.max(axis=1)
    n_components = proba.shape[1]
    # mclust's classes: up to the 75% quantile, to the 95%, and the top 5%
    breaks = np.quantile(uncertainty, _UNCERTAINTY_QUANTILES)
    group = np.searchsorted(breaks, uncertainty, side="left")
    if uncertainty.max() <= 0:
        group[:] = 0
    ax = _axes(ax)
    from matplotlib.colors import to_rgba_array

    colors = _colors(n_components)
    names = _feature_names(model, n_features)
    face = to_rgba_array(colors[labels])
    face[:, 3] = np.take(_UNCERTAINTY_ALPHAS, group)
    order = np.argsort(uncertainty, kind="stable")  # uncertain points on top
    if n_features == 1:
        ax.vlines(
            X_array[order, 0], 0, uncertainty[order], colors=face[order], linewidth=1
        )
        ax.scatter(X_array[order, 0], uncertainty[order], c=face[order], s=8)
        ax.set_xlabel(names[0])
        ax.set_ylabel("uncertainty (1 - max responsibility)")
        ax.set_ylim(0, max(float(uncertainty.max()), 1e-3) * 1.08)
        ax.legend(
            handles=_component_handles(colors, np.asarray(model.weights_)),
            title="component",
            fontsize="small",
            loc="best",
        )
    else:
        edge = face.copy()
        edge[group == 2] = (0.0, 0.0, 0.0, 0.9)
        ax.scatter(
            X_array[order, indices[0]],
            X_array[order, indices[1]],
            c=face[order],
            s=np.take(_UNCERTAINTY_SIZES, group)[order],
            edgecolors=edge[order],
            linewidths=0.6,
        )
        components = _gaussian_components(model)
        if components is not None:
            means, covariances, _ = components
            for k, mean in enumerate(means):
                covariance = covariances[k][np.ix_(indices, indices)]
                _draw_component(ax, mean[indices], covariance, colors[k], 8)
        _label_axes(ax, names, indices)
        _uncertainty_legend(ax, breaks)
    ax.set_title(
        f"{_model_title(model)}, K = {n_components}: classification uncertainty\n"
        f"(1 - max responsibility; median {np.median(uncertainty):.3f}, "
        f"max {uncertainty.max():.3f})",
        fontsize="medium",
    )
    return ax


def _uncertainty_legend(ax, breaks):
    """A legend of mclust's three point sizes and what uncertainty each means."""
    from matplotlib.lines import Line2D

    labels = (
        f"<= {breaks[0]:.2g} (75% of points)",
        f"{breaks[0]:.2g} to {breaks[1]:.2g}",
        f"> {breaks[1]:.2g} (top 5%)",
    )
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=np.sqrt(size),
            markerfacecolor=(0.3, 0.3, 0.3, alpha),
            markeredgecolor="black" if index == 2 else (0.3, 0.3, 0.3, alpha),
            label=label,
        )
        for index, (size, alpha, label) in enumerate(
            zip(_UNCERTAINTY_SIZES, _UNCERTAINTY_ALPHAS, labels, strict=True)
        )
    ]
    ax.legend(handles=handles, title="uncertainty", fontsize="small", loc="best")
