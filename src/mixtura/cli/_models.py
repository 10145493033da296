"""Estimators for the command line: from a family name to a fitted model.

Everything here is read from mixtura's registries, so that a newly registered
family or estimator is offered without a change to the command line:

- the families are :data:`mixtura.families.FAMILIES` (those that need no
  constructor arguments; wrappers such as ``with_noise`` and ``product`` need
  other families and are left out);
- a family's estimator is the first registered estimator
  (:data:`mixtura.estimators.ESTIMATORS`) that takes no ``family`` argument and
  whose components are that family by default (``gaussian`` ->
  ``GaussianMixture``, ``categorical`` -> ``CategoricalMixture``...), else
  :class:`~mixtura.MixtureModel` with ``family=name``;
- whether the estimator takes text is its scikit-learn tag
  ``input_tags.string``.

A grid of Gaussian models is fitted by :func:`mixtura.select`; a grid of any
other family too, through its ``estimator=`` argument (one estimator per model,
cloned for each K), so that every family's table follows select's rules
(criteria, failed cells, ICL).
"""

from __future__ import annotations

import inspect
import logging
import math
import warnings

import numpy as np

from mixtura.cli._io import InputError, StreamedTable, write_table_stream
from mixtura.estimators import ESTIMATORS, GaussianMixture, MixtureModel
from mixtura.families import FAMILIES

__all__ = [
    "cli_families",
    "data_matrix",
    "estimator_class",
    "fit_grid",
    "fit_one",
    "fitted_bic",
    "labelled_columns",
    "make_estimator",
    "model_summary",
    "predict_stream",
    "records",
]

_log = logging.getLogger(__name__)


def cli_families():
    """Names of the registered families the command line can fit, sorted.

    Returns
    -------
    names : list of str
    """
    names = []
    for name, cls in FAMILIES.items():
        if cls.conditional:  # experts of a regression: rows are (x, y) pairs
            continue
        try:
            cls()
        except (TypeError, ValueError):  # a wrapper of other families
            continue
        names.append(name)
    return sorted(names)


def estimator_class(family):
    """The estimator class that fits ``family`` (see the module's docstring).

    Parameters
    ----------
    family : str
        A registered family name.

    Returns
    -------
    cls : type
    """
    for cls in ESTIMATORS.values():
        if "family" in cls._get_param_names():
            continue
        try:
            default = cls()._family_template().name
        except Exception:  # an estimator whose family is set by its data
            continue
        if default == family:
            return cls
    return MixtureModel


def make_estimator(family, n_components, *, model=None, seed=0, n_init=1, missing=None):
    """An unfitted estimator of ``family`` with the command line's options.

    Parameters
    ----------
    family : str
        A registered family name.
    n_components : int
        Number of components.
    model : str, default=None
        Covariance structure (``'full'``, ``'VVV'``...), for families that have one.
    seed : int, default=0
        ``random_state``.
    n_init : int, default=1
        Initialisations.
    missing : {'em', 'error'}, default=None
        The estimator's ``missing``; None keeps its default.

    Returns
    -------
    estimator : BaseMixture

    Raises
    ------
    InputError
        If the family has no covariance structures or no ``missing`` option.
    """
    cls = estimator_class(family)
    accepted = cls._get_param_names()
    params = {"n_components": n_components, "random_state": seed, "n_init": n_init}
    if cls is MixtureModel:
        params["family"] = family
    if missing is not None:
        if "missing" not in accepted:
            raise InputError(f"the {family} family ({cls.__name__}) has no --missing")
        params["missing"] = missing
    if model is not None:
        family_takes = inspect.signature(FAMILIES[family]).parameters
        if "covariance_type" in accepted:
            params["covariance_type"] = model
        elif cls is MixtureModel and "covariance_type" in family_takes:
            params["family_params"] = {"covariance_type": model}
        else:
            raise InputError(
                f"the {family} family has no covariance models; leave out --model"
            )
    return cls(**params)


def takes_text(estimator):
    """Whether ``estimator`` fits text columns (its ``input_tags.string`` tag).

    Parameters
    ----------
    estimator : estimator

    Returns
    -------
    text : bool
    """
    return bool(estimator.__sklearn_tags__().input_tags.string)


def data_matrix(table, estimator, family):
    """The table as the array ``estimator`` takes: objects if it takes text.

    Parameters
    ----------
    table : Table
    estimator : estimator
    family : str
        Named in the error about text columns.

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns)
    """
    if takes_text(estimator):
        return table.object_matrix()
    return table.numeric_matrix(family)


def _check_grid(ks, n_rows):
    too_many = [k for k in ks if k > n_rows]
    if too_many:
        raise InputError(
            f"--components asks for {max(too_many)} components, more than the "
            f"{n_rows} rows of the data"
        )


def fit_one(
    table, family, n_components, *, model, seed, n_init, missing, progress=False
):
    """Fit one model to the table.

    A :class:`~mixtura.cli._io.StreamedTable` is fitted out of core, from
    :func:`mixtura.streams.parquet_chunks` (the estimator's ``fit`` on a
    stream: the initialisation on the first rows, then batch EM with one pass
    over the row groups per iteration), unless the estimator takes text (read
    in memory).

    Parameters
    ----------
    table : Table or StreamedTable
    family : str
    n_components : int
    model : str or None
    seed : int
    n_init : int
    missing : str or None
    progress : bool, default=False
        Draw the fit's progress bar (:mod:`mixtura.progress`) where the
        estimator has one.

    Returns
    -------
    estimator : BaseMixture
        Fitted.
    X : ndarray or ChunkStream
        The data it was fitted to.
    """
    _check_grid([n_components], table.n_rows)
    estimator = make_estimator(
        family, n_components, model=model, seed=seed, n_init=n_init, missing=missing
    )
    if isinstance(table, StreamedTable) and takes_text(estimator):
        table = _in_memory(table, f"the {family} family's estimator takes text")
    if isinstance(table, StreamedTable):
        X = table.stream()
    else:
        X = data_matrix(table, estimator, family)
    if progress and "progress" in estimator.get_params():
        estimator.set_params(progress=True)
    estimator.fit(X)
    return estimator, X


def fit_grid(
    table,
    family,
    ks,
    models,
    *,
    seed,
    n_init,
    missing,
    criterion="bic",
    n_jobs=None,
    progress=False,
):
    """Fit a grid of (model, K) and tabulate the information criteria.

    Parameters
    ----------
    table : Table or StreamedTable
        A streamed table is read in memory (with a warning).
    family : str
    ks : sequence of int
    models : sequence of str or None
        Covariance structures; None is :func:`mixtura.select`'s default for the
        Gaussian, the family's default otherwise.
    seed, n_init, missing
        As for :func:`make_estimator`.
    criterion : str, default='bic'
        The table's criterion.
    n_jobs : int, default=None
        Processes of :func:`mixtura.select` (Gaussian grids).
    progress : bool, default=False
        Draw :func:`mixtura.select`'s bar of cells (Gaussian grids).

    Returns
    -------
    table : SelectionTable
    X : ndarray
        The data the models were fitted to.

    Raises
    ------
    InputError
        If every fit of the grid failed.
    """
    _check_grid(ks, table.n_rows)
    if isinstance(table, StreamedTable):
        table = _in_memory(table, "a grid of models is fitted in memory")
    probe = make_estimator(family, 1, model=None, seed=seed, missing=missing)
    X = data_matrix(table, probe, family)
    if isinstance(probe, GaussianMixture):
        from mixtura.selection import select

        extra = {} if missing is None else {"missing": missing}
        grid = select(
            X,
            list(ks),
            models=_select_models(models),
            criterion=criterion,
            random_state=seed,
            n_init=n_init,
            n_jobs=n_jobs,
            progress=progress,
            **extra,
        )
    else:
        grid = _fit_family_grid(X, family, ks, models, seed, n_init, missing, criterion)
    if len(grid.missing()) == len(grid):
        first = grid.records[0]["error"]
        raise InputError(f"every fit of the grid failed; the first: {first}")
    return grid, X


def _in_memory(table, reason):
    _log.warning(
        "%s exceeds the memory budget, but %s: reading it in memory",
        table.source,
        reason,
    )
    return table.read()


def fitted_bic(estimator, X):
    """The fitted estimator's BIC on ``X`` (an array or a stream), or None.

    Parameters
    ----------
    estimator : estimator
        Fitted.
    X : ndarray or ChunkStream
        A stream's BIC sums the log densities of its chunks (one value a row
        in memory).

    Returns
    -------
    bic : float or None
        None for an estimator without ``bic``.
    """
    if not hasattr(estimator, "bic"):
        return None
    from mixtura.streams import ChunkStream

    if not isinstance(X, ChunkStream):
        return float(estimator.bic(X))
    log_density = np.asarray(estimator.score_samples(X), dtype=np.float64)
    n_samples = log_density.shape[0]
    return float(
        -2 * np.sum(log_density) + estimator._n_parameters() * math.log(n_samples)
    )


def labelled_columns(estimator, table, used):
    """``predict``'s output columns for the rows of a table.

    Parameters
    ----------
    estimator : estimator
        Fitted (or loaded).
    table : Table
        The input's rows, every column (repeated in the output).
    used : Table
        The columns the estimator takes, of the same rows.

    Returns
    -------
    names : list of str
        The input's columns, ``label``, ``prob_0``..., ``uncertainty`` and,
        where the estimator has ``score_samples``, ``log_density``.
    columns : list of ndarray of shape (n_rows,)
    """
    family = (model_summary(estimator)["family"] or {}).get("name", "model's")
    X = used.object_matrix() if takes_text(estimator) else used.numeric_matrix(family)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        labels = np.asarray(estimator.predict(X))
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        log_density = (
            np.asarray(estimator.score_samples(X), dtype=np.float64)
            if hasattr(estimator, "score_samples")
            else None
        )
    names = [*table.names, "label", *(f"prob_{k}" for k in range(proba.shape[1]))]
    columns = [*table.columns, labels, *(proba[:, k] for k in range(proba.shape[1]))]
    names.append("uncertainty")
    columns.append(1.0 - proba.max(axis=1))
    if log_density is not None:
        names.append("log_density")
        columns.append(log_density)
    return names, columns


def predict_stream(estimator, table, used, output):
    """``predict`` on a streamed table, one row group at a time, to ``output``.

    Each row group is read (every column), labelled and written as one part of
    ``output`` (:func:`~mixtura.cli._io.write_table_stream`: a Parquet row group
    or CSV rows), so that memory holds one row group and its results.

    Parameters
    ----------
    estimator : estimator
        Fitted (or loaded).
    table : StreamedTable
        The input, every column.
    used : StreamedTable
        The columns the estimator takes.
    output : str
        A ``.parquet`` or ``.csv`` file.

    Returns
    -------
    names : list of str
        The output's columns.
    n_rows : int
        Rows written.
    """
    names = []

    def parts():
        for part in table.row_groups():
            part_names, columns = labelled_columns(
                estimator, part, part.select(used.names)
            )
            names[:] = part_names
            yield part_names, columns

    n_rows = write_table_stream(output, parts())
    return names, n_rows


def _select_models(models):
    if models is None:
        return None
    return "mclust" if tuple(models) == ("mclust",) else list(models)


def _fit_family_grid(X, family, ks, models, seed, n_init, missing, criterion):
    """A grid of a non-Gaussian family, by :func:`mixtura.select`'s estimator grid.

    One estimator per model (the family's default when ``models`` is None),
    named as the table's column; select clones it for each K with ``seed``.
    """
    from mixtura.selection import select

    grid = {
        model or family: make_estimator(
            family, 1, model=model, seed=seed, n_init=n_init, missing=missing
        )
        for model in models or [None]
    }
    return select(X, list(ks), criterion=criterion, estimator=grid, random_state=seed)


def records(grid):
    """The table's records as JSON values (NaN as None).

    Parameters
    ----------
    grid : SelectionTable

    Returns
    -------
    records : list of dict
    """
    return [
        {key: _json_value(value) for key, value in record.items()}
        for record in grid.records
    ]


def _json_value(value):
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def model_summary(estimator):
    """What a fitted estimator is, as plain JSON values.

    Parameters
    ----------
    estimator : BaseMixture or composite estimator
        Fitted (or loaded).

    Returns
    -------
    summary : dict
        ``estimator``, ``family`` (name and configuration), ``n_components``,
        ``n_features``, ``feature_names``, ``weights``, ``converged``,
        ``n_iter``, ``lower_bound``; keys that do not apply hold None.
    """
    names = getattr(estimator, "feature_names_in_", None)
    summary = {
        "estimator": type(estimator).__name__,
        "family": None,
        "n_components": None,
        "n_features": int(estimator.n_features_in_),
        "feature_names": None if names is None else [str(n) for n in names],
        "weights": None,
    }
    if hasattr(estimator, "_fitted_mixture"):
        mixture = estimator._fitted_mixture()
        summary["family"] = {
            "name": mixture.family.name,
            "config": _plain_config(mixture.family.config()),
        }
        summary["n_components"] = int(mixture.n_components)
        summary["weights"] = [float(w) for w in np.asarray(mixture.weights)]
    for key, attribute in (
        ("converged", "converged_"),
        ("n_iter", "n_iter_"),
        ("lower_bound", "lower_bound_"),
    ):
        summary[key] = _json_value(getattr(estimator, attribute, None))
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        summary["classes"] = [_json_value(c) for c in np.asarray(classes).tolist()]
    return summary


def _plain_config(config):
    if isinstance(config, dict):
        return {str(k): _plain_config(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_plain_config(v) for v in config]
    if isinstance(config, np.ndarray):
        return config.tolist()
    if config is None or isinstance(config, (str, bool, int, float)):
        return _json_value(config)
    return _json_value(config) if isinstance(config, np.generic) else str(config)
