"""The body of ``mixtura plot``: a saved model's plot of a data file, to an image.

A thin layer over :mod:`mixtura.plotting`: the model is loaded and the data read
as ``predict`` does (:func:`mixtura.cli._app._load`,
:func:`mixtura.cli._app._model_columns`), the plot drawn on a matplotlib
``Figure`` (no pyplot, no backend) and saved in the format of the output's
extension.
"""

from __future__ import annotations

import warnings

import click

__all__ = ["KINDS", "PLOT_FORMATS", "run_plot"]

#: ``--kind`` -> the plotting function's name
KINDS = {
    "clusters": "plot_mixture",
    "pairs": "plot_pairs",
    "density": "plot_density",
    "uncertainty": "plot_uncertainty",
    "responsibilities": "plot_responsibilities",
    "density1d": "plot_density_1d",
}
#: extensions ``-o`` takes
PLOT_FORMATS = (".png", ".pdf", ".svg")
_PLOT_INSTALL = 'pip install "mixtura[plot]"'


def _feature_indices(features, names, kind):
    """Positions of the ``--features`` names among the model's columns."""
    unknown = [name for name in features if name not in names]
    if unknown:
        raise ValueError(
            f"--features names {', '.join(map(repr, unknown))}, not among the "
            f"model's columns {', '.join(names)}"
        )
    indices = [names.index(name) for name in features]
    if kind in ("clusters", "density", "uncertainty") and len(indices) != 2:
        raise ValueError(
            f"--kind {kind} shows two features; --features names {len(indices)}"
        )
    if kind in ("responsibilities", "density1d"):
        raise ValueError(f"--kind {kind} takes no --features")
    return indices


def run_plot(model, data, columns, key, output, kind, features, *, readers):
    """Draw ``kind`` for the saved ``model`` on ``data`` and write ``output``.

    Parameters
    ----------
    model : str
        The model file.
    data : str
        The data file.
    columns : tuple of str or None
        The data's columns the model takes (default: those it was fitted on).
    key : str or None
        The array of an ``.npz`` data file.
    output : str
        The image to write (.png, .pdf or .svg).
    kind : str
        A key of :data:`KINDS`.
    features : tuple of str or None
        The model's columns to show (two for clusters, density, uncertainty).
    readers : tuple of callable
        ``(load, model_columns)``: how the command line reads a model file
        and the model's columns, as ``predict`` does (``mixtura.cli._app``
        passes its own, so that this module does not import it back).

    Returns
    -------
    status : int
        0 when written; 1 when matplotlib is not installed.
    """
    from mixtura.cli import _io, _models

    _load, _model_columns = readers

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        click.echo(
            "mixtura plot: error: plotting needs matplotlib, which is not "
            f"installed; install it with {_PLOT_INSTALL}",
            err=True,
        )
        return 1
    from matplotlib.figure import Figure

    from mixtura import plotting

    estimator = _load(model)
    table = _io.read_table(data, key)
    used = _model_columns(estimator, table, columns)
    if bool(estimator.__sklearn_tags__().input_tags.string):
        if kind != "responsibilities":
            raise ValueError(
                f"a {type(estimator).__name__} of text columns has no {kind} plot; "
                "use --kind responsibilities"
            )
        X = used.object_matrix()
    else:
        summary = _models.model_summary(estimator)
        X = used.numeric_matrix((summary["family"] or {}).get("name", "model's"))
    names = list(used.names)
    n_features = X.shape[1]
    if kind == "density1d" and n_features != 1:
        raise ValueError(
            f"--kind density1d draws one feature and the model takes {n_features} "
            f"({', '.join(names)}); use --kind density or pairs"
        )
    if kind in ("clusters", "density", "pairs") and n_features < 2:
        raise ValueError(
            f"--kind {kind} needs two or more features and the model takes one "
            f"({names[0]}); use --kind density1d"
        )
    options = {}
    if features is not None:
        indices = _feature_indices(features, names, kind)
        options["feature_indices"] = indices if kind == "pairs" else tuple(indices)
    function = getattr(plotting, KINDS[kind])
    size = (7, 5.5)
    if kind == "pairs":
        m = len(options.get("feature_indices", range(n_features)))
        size = (2.2 * m + 1.5, 2.2 * m)
    figure = Figure(figsize=size, layout="constrained")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        if kind == "pairs":
            function(estimator, X, ax=figure, **options)
        else:
            function(estimator, X, ax=figure.subplots(), **options)
    extension = output.rsplit(".", 1)[-1].lower()
    figure.savefig(output, dpi=100, format=extension)
    click.echo(f"wrote the {kind} plot of {table.n_rows} rows to {output}")
    return 0
