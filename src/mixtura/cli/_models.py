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
other family fits one estimator per cell and tabulates the criteria the
estimators give (``bic``, ``aic``) in a :class:`~mixtura.selection.SelectionTable`.
"""

from __future__ import annotations

import inspect
import logging
import math

import numpy as np

from mixtura.cli._io import InputError
from mixtura.estimators import ESTIMATORS, GaussianMixture, MixtureModel
from mixtura.families import FAMILIES
from mixtura.selection import SelectionTable

__all__ = [
    "cli_families",
    "data_matrix",
    "estimator_class",
    "fit_grid",
    "fit_one",
    "make_estimator",
    "model_summary",
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

    Parameters
    ----------
    table : Table
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
    X : ndarray
        The data it was fitted to.
    """
    _check_grid([n_components], table.n_rows)
    estimator = make_estimator(
        family, n_components, model=model, seed=seed, n_init=n_init, missing=missing
    )
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
    table : Table
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


def _select_models(models):
    if models is None:
        return None
    return "mclust" if tuple(models) == ("mclust",) else list(models)


def _fit_family_grid(X, family, ks, models, seed, n_init, missing, criterion):
    cells, fitted = [], {}
    for model in models or [None]:
        for k in ks:
            name = model or family
            estimator = make_estimator(
                family, k, model=model, seed=seed, n_init=n_init, missing=missing
            )
            try:
                estimator.fit(X)
            except ValueError as error:  # a failed cell, as select records it
                _log.info("%s K=%d failed: %s", name, k, error)
                cells.append(_failed_record(name, k, error))
                continue
            cells.append(_record(name, k, estimator, X))
            fitted[name, k] = estimator
    return SelectionTable.from_records(cells, len(X), criterion, estimators=fitted)


def _record(name, k, estimator, X):
    log_likelihood = float(np.sum(estimator.score_samples(X)))
    bic = float(estimator.bic(X))
    # ICL as select defines it: BIC plus the hard classification's entropy
    largest = np.max(estimator.predict_proba(X), axis=1)
    with np.errstate(divide="ignore"):
        entropy = -2 * float(np.sum(np.log(largest)))
    return {
        "model": name,
        "n_components": k,
        "log_likelihood": log_likelihood,
        "n_parameters": float(estimator._n_parameters()),
        "bic": bic,
        "aic": float(estimator.aic(X)),
        "icl": bic + entropy,
        "converged": bool(estimator.converged_),
        "error": None,
    }


def _failed_record(name, k, error):
    nan = math.nan
    return {
        "model": name,
        "n_components": k,
        "log_likelihood": nan,
        "n_parameters": nan,
        "bic": nan,
        "aic": nan,
        "icl": nan,
        "converged": None,
        "error": f"{type(error).__name__}: {error}",
    }


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
