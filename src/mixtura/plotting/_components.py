"""Per-component views: the responsibility heat map and a text mixture's top words."""

from __future__ import annotations

import numpy as np

from mixtura.plotting._common import _ask, _axes, _axes_grid, _colors, _model_title


def plot_responsibilities(model, X, ax=None):
    """A heat map of the responsibilities: rows sorted by hard label.

    Rows are the observations, grouped by their most probable component (then,
    within a group, by that component's responsibility, highest first);
    columns are the components. Thin lines separate the groups; a colour bar
    reads the probability.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture (any estimator with ``predict_proba``).
    X : array-like of shape (n_samples, n_features)
        Data.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's Axes when None.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on, holding the image and a colour bar.
    """
    if isinstance(X, list | tuple | np.ndarray) and np.ndim(X) == 1:
        X = np.asarray(X)[:, None]
    if hasattr(X, "columns") and getattr(model, "feature_names_in_", None) is None:
        X = X.to_numpy()  # a model fitted on an array takes the columns in order
    proba = _ask(model, "predict_proba", X).astype(np.float64)
    if proba.ndim != 2 or proba.shape[0] == 0:
        raise ValueError(f"X must hold at least one row; got {proba.shape[0]}")
    n_samples, n_components = proba.shape
    labels = proba.argmax(axis=1)
    order = np.lexsort((-proba[np.arange(n_samples), labels], labels))
    ax = _axes(ax)
    image = ax.imshow(
        proba[order],
        aspect="auto",
        interpolation="nearest",
        cmap="Blues",
        vmin=0.0,
        vmax=1.0,
        extent=(-0.5, n_components - 0.5, n_samples - 0.5, -0.5),
    )
    sizes = np.bincount(labels, minlength=n_components)
    for boundary in np.cumsum(sizes)[:-1]:
        if 0 < boundary < n_samples:
            ax.axhline(boundary - 0.5, color="black", linewidth=0.8)
    colorbar = ax.figure.colorbar(image, ax=ax)
    colorbar.set_label("responsibility")
    weights = np.asarray(model.weights_, dtype=np.float64)
    ax.set_xticks(np.arange(n_components))
    ax.set_xticklabels(
        [f"{k} (n = {sizes[k]})" for k in range(n_components)], fontsize="small"
    )
    for tick, color in zip(ax.get_xticklabels(), _colors(n_components), strict=True):
        tick.set_color(color)
    ax.set_xlabel("component (rows labelled)")
    ax.set_ylabel(f"observations, sorted by label ({n_samples})")
    ax.set_title(
        f"{_model_title(model)}, K = {n_components}: responsibilities\n"
        f"(weights {', '.join(f'{w:.2f}' for w in weights)})",
        fontsize="medium",
    )
    return ax


def _word_probabilities(model):
    """Each component's word probabilities, ``(n_components, n_features)``."""
    probabilities = getattr(model, "probabilities_", None)
    if probabilities is None:
        concentrations = getattr(model, "concentrations_", None)
        if concentrations is None:
            raise TypeError(
                "plot_top_words needs a fitted text mixture (MultinomialMixture or "
                f"DirichletMultinomialMixture); {type(model).__name__} has neither "
                "probabilities_ nor concentrations_"
            )
        concentrations = np.asarray(concentrations, dtype=np.float64)
        return concentrations / concentrations.sum(axis=1, keepdims=True)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise TypeError(
            f"{type(model).__name__}'s probabilities_ are not one row per component "
            "of word probabilities: plot_top_words draws text mixtures"
        )
    return probabilities


def plot_top_words(model, vocabulary=None, n_words=10, ax=None):
    """Horizontal bars of each component's most probable words.

    One panel per component: its ``n_words`` largest word probabilities
    (``probabilities_`` of a :class:`~mixtura.MultinomialMixture`, the expected
    probabilities ``concentrations_ / concentrations_.sum()`` of a
    :class:`~mixtura.DirichletMultinomialMixture`), the most probable at the top.

    Parameters
    ----------
    model : MultinomialMixture or DirichletMultinomialMixture
        A fitted text mixture.
    vocabulary : sequence of str, default=None
        The word of each feature (column), e.g. a vectoriser's
        ``get_feature_names_out()``; None uses the model's ``feature_names_in_``,
        else ``w0``, ``w1``...
    n_words : int, default=10
        Words shown per component (at most the vocabulary's size).
    ax : matplotlib Figure or array of Axes, default=None
        Where to draw: a Figure (the panels are added to it), ``n_components``
        Axes, or None for a new figure.

    Returns
    -------
    figure : matplotlib Figure
        The figure holding one panel per component.
    """
    probabilities = _word_probabilities(model)
    n_components, n_features = probabilities.shape
    if vocabulary is None:
        names = getattr(model, "feature_names_in_", None)
        vocabulary = (
            [f"w{j}" for j in range(n_features)] if names is None else list(names)
        )
    vocabulary = [str(word) for word in vocabulary]
    if len(vocabulary) != n_features:
        raise ValueError(
            f"vocabulary has {len(vocabulary)} words and the model {n_features} "
            "features; give one word per column of the count matrix"
        )
    if isinstance(n_words, bool) or int(n_words) != n_words or n_words < 1:
        raise ValueError(f"n_words must be a positive integer; got {n_words!r}")
    n_words = min(int(n_words), n_features)
    n_cols = min(n_components, 4)
    n_rows = -(-n_components // n_cols)
    if ax is None or hasattr(ax, "add_subplot"):
        figure, axes = _axes_grid(
            ax, n_rows, n_cols, figsize=(3.2 * n_cols, 0.28 * n_words * n_rows + 1.2)
        )
        axes = axes.ravel()
    else:
        figure, axes = _axes_grid(ax, 1, n_components, figsize=None)
        axes = axes.ravel()
    colors = _colors(n_components)
    weights = np.asarray(model.weights_, dtype=np.float64)
    for k in range(n_components):
        panel = axes[k]
        top = np.argsort(-probabilities[k], kind="stable")[:n_words]
        positions = np.arange(n_words)[::-1]
        panel.barh(positions, probabilities[k, top], color=colors[k])
        panel.set_yticks(positions)
        panel.set_yticklabels([vocabulary[j] for j in top], fontsize="small")
        panel.set_title(f"component {k} (weight {weights[k]:.2f})", fontsize="small")
        panel.set_xlabel("word probability", fontsize="small")
        panel.tick_params(axis="x", labelsize="x-small")
    for panel in axes[n_components:]:
        panel.set_visible(False)
    figure.suptitle(
        f"{_model_title(model)}, K = {n_components}: top {n_words} words",
        fontsize="medium",
    )
    return figure
