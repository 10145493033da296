"""Model selection: fit a grid of models and numbers of components, compare them.

:func:`select` fits one :class:`~mixtura.GaussianMixture` per cell of a grid
(model x number of components K) and returns a :class:`SelectionTable` of
information criteria, like mclust's ``mclustBIC``. A model is any registered
covariance structure: scikit-learn's ``'spherical'``, ``'diag'``, ``'tied'``,
``'full'`` or mclust's ``'EII'`` ... ``'VVV'`` (and ``'E'``, ``'V'`` for one
feature); ``models='mclust'`` asks for all of mclust's models.

Sign conventions
----------------
Two conventions are in use, and both are offered, clearly named:

- ``bic``, ``aic`` and ``icl`` follow scikit-learn: ``-2 log L + p log n``,
  ``-2 log L + 2 p`` and ``bic - 2 sum_i log max_k r_ik``; **lower is better**.
- ``mclust_bic = 2 log L - p log n = -bic`` and ``mclust_icl = -icl`` follow
  mclust (``mclustBIC``, ``icl``); **higher is better**.

ICL (Biernacki, Celeux & Govaert 2000), as mclust defines it, adds to BIC the
entropy of the hard classification: ``mclust_icl = mclust_bic + 2 sum_i log
max_k r_ik``, where ``r_ik`` are the fitted model's responsibilities.
:meth:`SelectionTable.best` knows which way each criterion points, so
``best("bic")`` and ``best("mclust_bic")`` agree.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import _num_samples

from mixtura._random import check_random_state
from mixtura.estimators import CONDITIONAL_ESTIMATORS, GaussianMixture
from mixtura.exceptions import ConvergenceWarning, DataValidationError
from mixtura.families.covariance import get_covariance_structure
from mixtura.families.mclust import (
    MCLUST_STRUCTURES,
    MULTIVARIATE_MODELS,
    UNIVARIATE_MODELS,
)
from mixtura.inference.hierarchical import hc_labels, svd_scale
from mixtura.inference.init import kmeans_labels, shared_kmeans
from mixtura.inference.lockstep import run_together
from mixtura.inference.parallel import (
    parallel_map,
    worker_count,
)
from mixtura.inference.sources import to_fit_data
from mixtura.progress import GridProgress

__all__ = ["CRITERIA", "MCLUST_GRID_DEFAULTS", "Criterion", "SelectionTable", "select"]


@dataclass(frozen=True)
class Criterion:
    """How an information criterion reads: its name, formula and direction."""

    name: str
    formula: str
    lower_is_better: bool

    @property
    def direction(self):
        """+1 when lower is better, -1 when higher is better."""
        return 1 if self.lower_is_better else -1

    @property
    def better(self):
        """``'lower is better'`` or ``'higher is better'``."""
        return f"{'lower' if self.lower_is_better else 'higher'} is better"

    @property
    def axis_label(self):
        """Short label for a plot axis, e.g. ``'BIC (lower is better)'``."""
        return f"{self.name} ({self.better})"

    def describe(self):
        """One-line description with the formula."""
        return f"{self.name} = {self.formula} ({self.better})"


#: criterion key -> Criterion. A new criterion joins here and in ``_Cell``.
CRITERIA = {
    "bic": Criterion("BIC", "-2 log L + p log n", lower_is_better=True),
    "aic": Criterion("AIC", "-2 log L + 2 p", lower_is_better=True),
    "icl": Criterion(
        "ICL", "-2 log L + p log n - 2 sum_i log max_k r_ik", lower_is_better=True
    ),
    "mclust_bic": Criterion("mclust BIC", "2 log L - p log n", lower_is_better=False),
    "mclust_icl": Criterion(
        "mclust ICL",
        "2 log L - p log n + 2 sum_i log max_k r_ik",
        lower_is_better=False,
    ),
}

#: the four scikit-learn covariance types, :func:`select`'s default models
DEFAULT_MODELS = ("spherical", "diag", "tied", "full")

# What a failed fit raises: SingularCovarianceError, DataValidationError (e.g. more
# components than samples) and NumPy's LinAlgError all derive from ValueError.
_FIT_ERRORS = (ValueError,)


@dataclass(frozen=True)
class _Cell:
    """One fitted (or failed) cell of the grid."""

    model: str
    n_components: int
    log_likelihood: float = math.nan
    n_parameters: float = math.nan
    bic: float = math.nan
    aic: float = math.nan
    icl: float = math.nan
    converged: bool | None = None
    error: str | None = None
    estimator: Any = None
    labels: Any = None

    @property
    def mclust_bic(self):
        return -self.bic

    @property
    def mclust_icl(self):
        return -self.icl

    @property
    def missing(self):
        return self.error is not None

    def record(self):
        return {
            "model": self.model,
            "n_components": self.n_components,
            "log_likelihood": self.log_likelihood,
            "n_parameters": self.n_parameters,
            "bic": self.bic,
            "aic": self.aic,
            "icl": self.icl,
            "mclust_bic": self.mclust_bic,
            "mclust_icl": self.mclust_icl,
            "converged": self.converged,
            "missing": self.missing,
            "error": self.error,
        }


def _check_criterion(criterion):
    if not isinstance(criterion, str) or criterion not in CRITERIA:
        raise InvalidParameterError(
            f"unknown criterion {criterion!r}; valid ones are {sorted(CRITERIA)}"
        )
    return CRITERIA[criterion]


def _check_n_components(n_components):
    values = [n_components] if np.isscalar(n_components) else list(n_components)
    if not values or any(
        isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1
        for k in values
    ):
        raise InvalidParameterError(
            "n_components must be a positive integer or a non-empty sequence of "
            f"positive integers; got {n_components!r}."
        )
    return tuple(int(k) for k in values)


def _check_data(X, random_state, n_init, estimator_params):
    """Validate ``X`` once, as every cell's fit validates it: its shape.

    The data are the same for every cell, so what the fit refuses in them
    (NaN, strings, complex values, another shape than 2-D, too few rows) is
    raised here, by the estimators' own validation (the data entry point of
    :class:`~mixtura.GaussianMixture`'s fit), rather than recorded as a
    missing cell in each (issue 19). A mistake in the estimator parameters
    raises scikit-learn's InvalidParameterError here too.

    Returns
    -------
    n_samples, n_features : int
    """
    # the cells' parameters, as select gives them; init_params may be
    # select's list of methods, which each cell checks on its own
    params = {"random_state": random_state, "n_init": n_init, "on_degenerate": "stop"}
    params.update(estimator_params)
    params.pop("init_params", None)
    template = GaussianMixture(1, **params)
    template._validate_params()
    # a fixed seed: a generator of the caller's is left for the cells to draw
    fit_data = to_fit_data(X, None, template._data_rules(), random_state=0)
    return int(fit_data.data.n_samples), int(fit_data.initial.X.shape[1])


def _fitted_cell(X, n_samples, model, n_components, estimator):
    """A cell's criteria from a fitted estimator."""
    log_resp, log_density = estimator._fitted_rows_posterior(X)
    return _cell_from_posterior(
        model,
        n_components,
        n_samples,
        estimator,
        log_resp,
        log_density,
        estimator._labels_from_log_resp(log_resp),
    )


def _cell_from_posterior(
    model, n_components, n_samples, estimator, log_resp, log_density, labels
):
    """A cell's criteria from its fit's posterior and log densities of the rows."""
    log_likelihood = float(np.sum(log_density))
    n_parameters = estimator._n_parameters()
    bic = -2 * log_likelihood + n_parameters * math.log(n_samples)
    return _Cell(
        model,
        n_components,
        log_likelihood=log_likelihood,
        n_parameters=n_parameters,
        bic=bic,
        aic=-2 * log_likelihood + 2 * n_parameters,
        icl=bic - 2 * float(np.sum(np.max(log_resp, axis=1))),
        converged=bool(estimator.converged_),
        estimator=estimator,
        labels=labels,
    )


def _estimator_grid(estimator):
    """The named estimators of ``select(..., estimator=...)``: name -> estimator."""
    if isinstance(estimator, dict):
        grid = dict(estimator)
    else:
        name = type(estimator).__name__
        expert = getattr(estimator, "expert", None)
        grid = {name if expert is None else f"{name}({expert})": estimator}
    for name, value in grid.items():
        if "n_components" not in value.get_params():
            raise InvalidParameterError(
                f"select's estimator {name!r} has no n_components parameter; pass "
                "mixture estimators (e.g. MixtureRegression(), BernoulliMixture())."
            )
    return grid


def _fit_estimator_cell(X, y, name, n_components, estimator, random_state):
    """Fit one cell of an estimator grid; a failed fit is a missing cell.

    Returns
    -------
    cell : _Cell
    error : Exception or None
        What the failed fit raised.
    """
    fitted = clone(estimator).set_params(n_components=n_components)
    if "random_state" in fitted.get_params():
        fitted.set_params(random_state=random_state)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "Restart .* stopped at iteration", ConvergenceWarning
            )
            fitted.fit(X) if y is None else fitted.fit(X, y)
    except InvalidParameterError:
        raise
    except _FIT_ERRORS as error:
        reason = f"{type(error).__name__}: {error}"
        return _Cell(name, n_components, error=reason), error
    # a regression's criteria are those of y given X; partial labels only
    # guide an X-only fit, whose criteria are those of X
    conditional = CONDITIONAL_ESTIMATORS.get(type(fitted).__name__) is type(fitted)
    posterior = (
        fitted._fitted_rows_posterior(X, y)
        if conditional
        else fitted._fitted_rows_posterior(X)
    )
    log_resp, log_density = posterior
    labels = np.argmax(log_resp, axis=1)
    cell = _cell_from_posterior(
        name, n_components, len(log_density), fitted, log_resp, log_density, labels
    )
    return cell, None


def _select_estimators(X, y, ks, estimator, criterion, random_state):
    """:func:`select` over given estimators (any mixture, regressions with y)."""
    grid = _estimator_grid(estimator)
    results = [
        _fit_estimator_cell(X, y, name, k, value, random_state)
        for name, value in grid.items()
        for k in ks
    ]
    errors = [error for _, error in results]
    # a mistake in the data is the same for every cell: raised, not tabled
    if all(isinstance(error, DataValidationError) for error in errors) and (
        len({str(error) for error in errors}) == 1
    ):
        raise errors[0]
    cells = [cell for cell, _ in results]
    return SelectionTable(cells, n_samples=_num_samples(X), criterion=criterion)


def _collapse_reason(estimator):
    collapse = [e for e in estimator.fit_events_ if e["event"] == "collapsed"][-1]
    return f"SingularCovarianceError: {collapse['message']}"


def _fit_cell(X, n_samples, model, n_components, estimator_params):
    """Fit one cell; a failed fit becomes a missing cell with the reason."""
    estimator = GaussianMixture(n_components, covariance_type=model, **estimator_params)
    try:
        with _collapses_quiet():
            estimator.fit(X)
    except Exception as error:
        return _finished_cell(X, n_samples, model, n_components, estimator, error)
    return _finished_cell(X, n_samples, model, n_components, estimator)


@contextlib.contextmanager
def _collapses_quiet():
    """A collapsed fit is reported as the cell's error, as mclust does: its
    warning is not raised."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Restart .* stopped at iteration", ConvergenceWarning
        )
        yield


def _finished_cell(X, n_samples, model, n_components, estimator, error=None):
    """The cell of a fit that ended (``error``: what it raised, or None).

    A mistake in the call (the same for every cell) is raised; a fit that
    failed or collapsed is a missing cell with the reason.
    """
    if error is not None:
        if isinstance(error, InvalidParameterError) or not isinstance(
            error, _FIT_ERRORS
        ):
            raise error
        return _Cell(model, n_components, error=f"{type(error).__name__}: {error}")
    if estimator._fit_collapsed:
        return _Cell(model, n_components, error=_collapse_reason(estimator))
    try:
        return _fitted_cell(X, n_samples, model, n_components, estimator)
    except _FIT_ERRORS as failure:
        reason = f"{type(failure).__name__}: {failure}"
        return _Cell(model, n_components, error=reason)


def _fit_cells_together(task):
    """Fit the cells of several models at one K side by side; keep each best.

    Every model's fit from every start runs its own fit loop, driven by
    :func:`~mixtura.inference.lockstep.run_together`, which computes the
    steps of the fits on the same rows together; each cell is the fit of
    :func:`_fit_cell` from its best start (up to the rounding of the taller
    products), in a fraction of the time on small data.

    Parameters
    ----------
    task : tuple
        ``(X, n_samples, models, n_components, params, starts)``.

    Returns
    -------
    cells : list of _Cell
        One per model, in the order of ``models``.
    """
    X, n_samples, models, n_components, params, starts = task
    fits = []  # (model, estimator or a start's error)
    for model in models:
        for start in starts:
            if isinstance(start, Exception):  # the start itself could not be made
                fits.append((model, start))
                continue
            restarts = {} if isinstance(start, str) else {"n_init": 1}
            options = {**params, "init_params": start, **restarts}
            fits.append(
                (model, GaussianMixture(n_components, covariance_type=model, **options))
            )
    running = [fit for fit in fits if not isinstance(fit[1], Exception)]
    with _collapses_quiet():
        outcomes = iter(
            run_together(
                [estimator._fit_iterations(X, None, False) for _, estimator in running]
            )
        )
        best = {}
        for model, fitted in fits:
            if isinstance(fitted, Exception):
                error = f"{type(fitted).__name__}: {fitted}"
                candidate = _Cell(model, n_components, error=error)
            else:
                outcome = next(outcomes)
                candidate = _finished_cell(
                    X, n_samples, model, n_components, fitted, outcome.error
                )
            if model not in best or _better(candidate, best[model]):
                best[model] = candidate
    return [best[model] for model in models]


def _hc_starts(X, ks):
    """hc's labels for each K (one hierarchy), or the error for a K it cannot cut."""
    try:
        return hc_labels(X, ks)
    except ValueError:  # more components than distinct rows at some K
        starts = {}
        for k in ks:
            try:
                starts[k] = hc_labels(X, [k])[k]
            except ValueError as error:
                starts[k] = error
        return starts


def _hc_starts_without_noise(X, ks, noise_init):
    """hc's starts on the rows not in ``noise_init``; noise rows labelled -1."""
    if noise_init is None:
        return _hc_starts(X, ks)
    noise = np.asarray(noise_init, dtype=bool)
    if noise.shape != (X.shape[0],):  # the estimator says what is wrong
        return _hc_starts(X, ks)
    starts = _hc_starts(X[~noise], ks)
    for k, start in starts.items():
        if not isinstance(start, Exception):
            labels = np.full(X.shape[0], -1, dtype=start.dtype)
            labels[~noise] = start
            starts[k] = labels
    return starts


def _starts(X, ks, init_params, noise_init=None):
    """Per K, the starts of every cell: init method names, or hc's labels.

    ``'hc'`` is computed once for all K (one hierarchy) and passed as labels.
    With ``noise_init``, as in mclust, the hierarchy clusters the other rows and
    the noise rows are labelled -1.
    """
    several = isinstance(init_params, (list, tuple)) and all(
        isinstance(method, str) or np.ndim(method) == 1 for method in init_params
    )
    methods = list(init_params) if several else [init_params]
    if any(isinstance(method, str) and method == "hc" for method in methods):
        hc = _hc_starts_without_noise(np.asarray(X, dtype=np.float64), ks, noise_init)
    return {
        k: [
            hc[k] if isinstance(method, str) and method == "hc" else method
            for method in methods
        ]
        for k in ks
    }


def _better(cell, other):
    """Whether ``cell`` has a higher log-likelihood than ``other`` (or it failed)."""
    if cell.missing:
        return False
    return other.missing or cell.log_likelihood > other.log_likelihood


def _shared_partitions(cells, n_partitions):
    """Labels of the ``n_partitions`` BIC-best distinct fits at each K.

    Returns
    -------
    partitions : dict of int -> list of ndarray of shape (n_samples,)
    """
    by_k = {}
    for cell in sorted(
        (cell for cell in cells if not cell.missing), key=lambda cell: cell.bic
    ):
        chosen = by_k.setdefault(cell.n_components, [])
        if len(chosen) < n_partitions and not any(
            np.array_equal(cell.labels, labels) for labels in chosen
        ):
            chosen.append(cell.labels)
    return by_k


def _refit_from_partitions(X, n_samples, cells, n_partitions, estimator_params):
    """Refit every cell from other cells' partitions; keep the better fit.

    mclust starts every model at a given K from one partition (its hierarchical
    clustering's); this shares the best partitions found by any model at K with
    all models at K, which recovers the optima a single start misses.
    """
    partitions = _shared_partitions(cells, n_partitions)
    params = {**estimator_params, "n_init": 1}
    refitted = []
    for cell in cells:
        best = cell
        for labels in partitions.get(cell.n_components, []):
            if cell.labels is not None and np.array_equal(labels, cell.labels):
                continue
            params["init_params"] = labels
            candidate = _fit_cell(X, n_samples, cell.model, cell.n_components, params)
            if _better(candidate, best):
                best = candidate
        refitted.append(best)
    return refitted


def _split_labels(Z, labels, random_state):
    """Partitions with one more cluster: each cluster in turn split in two.

    The split is 2-means on the cluster's rows in mclust's hc coordinates;
    clusters of fewer than two rows, and noise rows (label -1), stay as they are.

    Returns
    -------
    partitions : list of ndarray of shape (n_samples,)
    """
    n_clusters = int(labels.max()) + 1
    partitions = []
    for cluster in range(n_clusters):
        rows = np.flatnonzero(labels == cluster)
        if rows.size < 2 or np.ptp(Z[rows], axis=0).max() == 0:
            continue
        # KMeans(2, n_init=1, random_state=random_state)'s labels (a new
        # generator per split from a seed, as scikit-learn makes one)
        halves = kmeans_labels(Z[rows], 2, check_random_state(random_state))
        split = labels.copy()
        split[rows[halves == 1]] = n_clusters
        partitions.append(split)
    return partitions


def _refit_chain_from_splits(X, n_samples, chain, Z, estimator_params):
    """One model's cells, fewest components first, each refitted from splits.

    The cell at K is refitted from every one-cluster split of the (already
    refitted) fit at K - 1 and keeps the fit with the higher log-likelihood.
    """
    params = {**estimator_params, "n_init": 1}
    refitted = []
    for cell in chain:
        best = cell
        previous = refitted[-1] if refitted else None
        if (
            previous is not None
            and not previous.missing
            and previous.n_components == cell.n_components - 1
        ):
            random_state = params.get("random_state")
            for labels in _split_labels(Z, previous.labels, random_state):
                params["init_params"] = labels
                candidate = _fit_cell(
                    X, n_samples, cell.model, cell.n_components, params
                )
                if _better(candidate, best):
                    best = candidate
        refitted.append(best)
    return refitted


def _refit_chain_task(task):
    return _refit_chain_from_splits(*task)


def _refit_from_splits(X, n_samples, cells, estimator_params, n_workers):
    """Refit every cell from splits of its model's fit with one component fewer.

    A greedy, divisive search over K (Ueda et al. 2000; Verbeek, Vlassis & Krose
    2003): for K = 2, 3, ... each cluster of the model's fit at K - 1 is split
    in two by 2-means, EM runs from each such partition, and the best fit is
    kept. It finds optima that hierarchical and k-means starts miss, at K - 1
    fits per cell. Cells without a fit at K - 1 in the grid are kept as they are.
    """
    Z = svd_scale(np.asarray(X, dtype=np.float64))
    chains = {}
    for cell in cells:
        chains.setdefault(cell.model, []).append(cell)
    chains = [sorted(chain, key=lambda c: c.n_components) for chain in chains.values()]
    tasks = [(X, n_samples, chain, Z, estimator_params) for chain in chains]
    results = parallel_map(_refit_chain_task, tasks, n_workers)
    refitted = {(c.model, c.n_components): c for chain in results for c in chain}
    return [refitted[(cell.model, cell.n_components)] for cell in cells]


def _check_models(models, covariance_types, n_features):
    """Model names from ``models`` or its alias ``covariance_types``."""
    if models is not None and covariance_types is not None:
        raise InvalidParameterError(
            "give the models once: models and covariance_types are the same "
            "argument (covariance_types is an alias)."
        )
    if models is None:
        models = DEFAULT_MODELS if covariance_types is None else covariance_types
    if isinstance(models, str) and models == "mclust":
        models = MULTIVARIATE_MODELS if n_features > 1 else UNIVARIATE_MODELS
    elif isinstance(models, str):
        models = (models,)
    try:
        models = tuple(get_covariance_structure(name).name for name in models)
    except (TypeError, ValueError) as error:  # an unknown name, or not names
        raise InvalidParameterError(f"models: {error}") from error
    if not models:
        raise InvalidParameterError(
            "models must name at least one model (covariance type)."
        )
    return models


#: how a grid of mclust's models is fitted unless the caller says otherwise, so
#: that its table is mclust's (``mclustBIC``): no ridge on the covariances (a
#: singular fit is a missing cell, not a spurious optimum of huge likelihood),
#: mclust's convergence rule (the total log-likelihood changing by at most 1e-5
#: of itself, ``tol_mode='relative'``), and every cell started from mclust's
#: hierarchical clustering, which :func:`~mixtura.inference.hierarchical.hc_labels`
#: reproduces merge for merge. Measured on Old Faithful: every cell of the
#: 14 x 9 grid within 0.003 of mclust's BIC or higher (one higher by 3.9), best
#: model EEE, 3, in about 1 s. ``tol=1e-6, tol_mode='absolute'`` runs EM further
#: (32 cells higher by more than 0.5, 2.3 s); ``init_params=['hc', 'kmeans']``
#: and ``refit_from_splits=True`` search further still (79 cells higher, about
#: 12 s). With scikit-learn's defaults instead (reg_covar=1e-6, tol=1e-3, one
#: k-means start) 70 cells ended lower and the best was a near-singular VVE, 2.
MCLUST_GRID_DEFAULTS = {
    "reg_covar": 0.0,
    "tol": 1e-5,
    "tol_mode": "relative",
    "max_iter": 5000,
    "init_params": "hc",
}


def _mclust_grid_defaults(estimator_params):
    """The :data:`MCLUST_GRID_DEFAULTS` the caller's parameters leave to fill.

    A ``tol`` given without ``tol_mode`` keeps the estimator's reading of it
    (absolute): mclust's relative rule comes with mclust's tolerance only.
    """
    defaults = dict(MCLUST_GRID_DEFAULTS)
    if "tol" in estimator_params and "tol_mode" not in estimator_params:
        del defaults["tol_mode"]
    return defaults


def select(
    X,
    n_components=range(1, 7),
    models=None,
    criterion="bic",
    *,
    covariance_types=None,
    random_state=0,
    n_init=1,
    share_partitions=0,
    refit_from_splits=False,
    n_jobs=None,
    y=None,
    estimator=None,
    progress=False,
    **estimator_params,
):
    """Fit a Gaussian mixture (or given estimators) for each model and K.

    A cell whose fit fails (a singular covariance, more components than samples,
    a model that does not fit the data's dimension, any other ``ValueError``
    from the fit) is recorded as missing with the reason; it is not raised.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    n_components : int or iterable of int, default=range(1, 7)
        Numbers of components K to try (mclust's default is ``range(1, 10)``).
    models : str or iterable of str, default=None
        Models to try, by covariance structure name (``'full'``, ``'VEV'``...);
        the table's columns, in this order. ``'mclust'`` means mclust's 14
        multivariate models (or E and V for one feature). None means
        ``covariance_types``, or else ``('spherical', 'diag', 'tied', 'full')``.
    criterion : {'bic', 'aic', 'icl', 'mclust_bic', 'mclust_icl'}, default='bic'
        The table's default criterion for :meth:`SelectionTable.best`, the
        summary, the text table and the plot.
    covariance_types : iterable of str, default=None
        Alias of ``models`` (the original name of the argument).
    random_state : int, RandomState instance, Generator or None, default=0
        Seed passed to every fit, so each cell equals a direct fit of
        :class:`~mixtura.GaussianMixture` with the same seed (before any
        refit from shared partitions).
    n_init : int, default=1
        Initialisations per cell.
    share_partitions : int, default=0
        After the grid is fitted, refit every cell from the hard partitions of
        the ``share_partitions`` BIC-best distinct fits at the same K (by any
        model) and keep the fit with the higher log-likelihood. mclust starts
        every model from one shared partition; this finds the optima that one
        start per cell misses, at ``share_partitions`` extra fits per cell.
    refit_from_splits : bool, default=False
        After the grid is fitted (and before sharing partitions), refit each
        model at K from every partition that splits one cluster of its fit at
        K - 1 in two (2-means on that cluster's rows), for K = 2, 3, ... in
        turn, and keep the fit with the higher log-likelihood: a greedy
        divisive search (Ueda et al. 2000; Verbeek, Vlassis & Krose 2003) at
        K - 1 extra fits per cell. With ``init_params=['hc', 'kmeans']`` on Old
        Faithful it finds higher optima than mclust's in 79 of the 126 cells
        of mclust's grid (32 from the hierarchical start alone), at about six
        times the time.
    n_jobs : int, default=None
        Processes the cells are fitted in (:mod:`mixtura.inference.parallel`),
        a row of the grid (every model at one K, fitted side by side) at a
        time, each process taking the next row from one queue: None uses
        every usable CPU where the workers can be forked (Linux) for a grid
        large enough to pay for them (n_samples x cells of at least
        :data:`~mixtura.inference.parallel.AUTO_MIN_WORK`), else one; 1 fits
        the rows one by one in this process; -1 all CPUs
        (elsewhere than Linux through joblib, whose workers take about a
        second to start). The table is the same either way (to the rounding
        of a BLAS on one thread per process), except with a ``random_state``
        that is a generator (or None): each process then draws from its own
        copy, so None runs in one process unless ``n_jobs`` says otherwise.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        What every cell's ``fit(X, y)`` takes. For an ``estimator`` that
        models y given X (a :class:`~mixtura.MixtureRegression` or
        :class:`~mixtura.MixtureOfExperts`), the responses: the criteria are
        then those of the conditional log-likelihood. For Gaussian grids (and
        X-only estimators), partial labels: a component index for labelled
        rows and -1 for the others (semi-supervised EM); a cell whose K is
        not above every label is missing. Gaussian grids with labels fit
        their cells one by one, each from its own start (no shared
        hierarchical start, no worker processes).
    estimator : estimator or dict of str to estimator, default=None
        Fit these instead of Gaussian mixtures: any mixtura estimator with an
        ``n_components`` parameter (a text, latent-class or mixed-table
        mixture; a mixture of regressions with ``y``), one column of the
        table per estimator (named by the dict's keys), each cell a clone
        with the row's K and ``random_state``, fitted one by one. ``models``,
        ``share_partitions``, ``refit_from_splits`` and
        ``**estimator_params`` are Gaussian grids' options and are refused
        with it.
    progress : bool, default=False
        Draw a bar of the Gaussian grid's cells fitted (of ``len(models) x
        len(n_components)``) on stderr, when it is a terminal
        (:mod:`mixtura.progress`; needs tqdm, ``pip install
        "mixtura[progress]"``); the cells of worker processes count when
        their results arrive. On Ctrl-C the KeyboardInterrupt propagates with
        ``partial_table``, a :class:`SelectionTable` of the cells this process
        had finished (None if none).
    **estimator_params
        Further :class:`~mixtura.GaussianMixture` parameters. A grid of
        mclust's models (every name in it one of mclust's) takes
        :data:`MCLUST_GRID_DEFAULTS` for the ones not given (``reg_covar=0``,
        ``tol=1e-5`` with ``tol_mode='relative'``, mclust's rule,
        ``max_iter=5000``, ``init_params='hc'``, mclust's hierarchy reproduced
        merge for merge), so that its table is mclust's (each cell mclust's
        fit); a ``tol`` given without ``tol_mode`` is read as the estimator
        reads it (absolute); ``on_degenerate`` is ``'stop'`` unless given, so
        that a cell whose fit collapses is missing, as in mclust's table;
        other grids take the estimator's defaults
        (``tol``, ``reg_covar``, ``max_iter``, ``noise``, ``noise_init``...): with
        ``noise``, every cell has a noise component besides its K Gaussians
        (mclust's ``initialization = list(noise = ...)``), and ``'hc'`` clusters
        the rows outside ``noise_init``. ``init_params`` may also be a list of
        methods, e.g. ``['hc', 'kmeans']``: each cell is fitted from each and
        keeps the fit with the highest log-likelihood. ``'hc'`` (mclust's
        hierarchical initialisation) is computed once for the whole grid.
        ``prior='default'`` (or a dict) fits every cell by MAP under mclust's
        conjugate prior for that cell's model and K (``mclustBIC(...,
        prior = priorControl())``); the criteria use the log-likelihood at the
        MAP parameters and the usual parameter counts, and the models without
        a prior (VEE, EVE, VVE, EVV) become missing cells, as in mclust.

    Returns
    -------
    table : SelectionTable
        Log-likelihood, number of parameters, BIC, AIC, ICL (lower is better),
        mclust's BIC and ICL (higher is better) of every cell, and the fitted
        estimators.

    Raises
    ------
    InvalidParameterError
        (scikit-learn's, a ValueError) If a model or the criterion is unknown,
        ``n_components`` is not positive integers, or an estimator parameter
        is invalid (mistakes in the call, not failed fits).
    DataValidationError
        If ``X`` is unusable as data (not 2-D, too few rows, NaN or infinity
        without ``missing='em'``, values that are not numbers): it is checked
        once, before any cell is fitted, as the estimator's fit checks it
        (:class:`~mixtura.DataTypeError` for values of a type that cannot be
        read as numbers).

    Examples
    --------
    >>> from mixtura.datasets import load_faithful
    >>> from mixtura.selection import select
    >>> table = select(load_faithful(), n_components=range(1, 4))
    >>> table.best("bic")
    ('full', 2)
    """
    _check_criterion(criterion)
    ks = _check_n_components(n_components)
    if estimator is not None:
        gaussian_only = {
            "models": models is not None or covariance_types is not None,
            "share_partitions": bool(share_partitions),
            "refit_from_splits": bool(refit_from_splits),
            "estimator parameters": bool(estimator_params),
        }
        given = [name for name, value in gaussian_only.items() if value]
        if given:
            raise InvalidParameterError(
                f"select(estimator=...) fits the estimators as given; {given} "
                "apply to Gaussian grids only. Set them on the estimators."
            )
        return _select_estimators(X, y, ks, estimator, criterion, random_state)
    n_samples, n_features = _check_data(X, random_state, n_init, estimator_params)
    if y is not None:
        # partial labels: every cell is a semi-supervised fit(X, y)
        grid = {
            model: GaussianMixture(
                covariance_type=model, n_init=n_init, **estimator_params
            )
            for model in _check_models(models, covariance_types, n_features)
        }
        return _select_estimators(X, y, ks, grid, criterion, random_state)
    models = _check_models(models, covariance_types, n_features)
    n_fits = len(models) * len(ks)
    n_workers = worker_count(n_jobs, len(ks), n_samples * n_fits)
    if n_jobs is None and not isinstance(random_state, (int, np.integer)):
        # a shared generator is drawn from cell after cell: in one process,
        # so that the table is the one a loop over the cells gives
        n_workers = 1
    mclust_grid = all(model in MCLUST_STRUCTURES for model in models)
    if mclust_grid:
        estimator_params = {
            **_mclust_grid_defaults(estimator_params),
            **estimator_params,
        }
    # a cell whose fit collapses is missing from the table, as in mclust's
    # (a re-seeded or regularised cell would not be the model its row names)
    params = {
        "random_state": random_state,
        "n_init": n_init,
        "on_degenerate": "stop",
        **estimator_params,
    }
    starts = _starts(
        X, ks, params.pop("init_params", "kmeans"), params.get("noise_init")
    )
    # the models of one K side by side (their steps computed together)
    tasks = [(X, n_samples, models, k, params, starts[k]) for k in ks]
    # every model at K starts from the same seed: one k-means per K, not per cell
    # (per worker process, when the cells run in several)
    with shared_kmeans():
        # the workers start at once: a grid's rows are few, coarse tasks of
        # unequal cost (Old Faithful's K = 3 row takes 8 times its K = 2 row),
        # so a serial start that runs rows until a deadline overruns it, and
        # worker_count already keeps small grids in this process
        serial_seconds = 0.0
        # counts the cells on a bar (progress=True) and keeps those finished
        # here, which an interrupted grid hands on (issue 18)
        counted = GridProgress(_fit_cells_together, n_fits, progress)
        try:
            # a row's cost grows with K (the components each step computes)
            costs = [float(k) for k in ks]
            rows = parallel_map(counted, tasks, n_workers, serial_seconds, costs)
        except KeyboardInterrupt as error:
            counted.close()
            error.partial_table = (
                SelectionTable(counted.done, n_samples=n_samples, criterion=criterion)
                if counted.done
                else None
            )
            raise
        # the cells model by model, the table's order
        cells = [row[index] for index in range(len(models)) for row in rows]
        counted.finish(len(cells))
        if refit_from_splits:
            cells = _refit_from_splits(X, n_samples, cells, params, n_workers)
        if share_partitions:
            cells = _refit_from_partitions(
                X, n_samples, cells, share_partitions, params
            )
    return SelectionTable(cells, n_samples=n_samples, criterion=criterion)


class SelectionTable:
    """Information criteria of a grid of fitted mixtures, keyed by (model, K).

    Made by :func:`select`. ``bic``, ``aic`` and ``icl`` are lower-is-better
    (scikit-learn's convention); ``mclust_bic = -bic`` and ``mclust_icl = -icl``
    are higher-is-better (mclust's). Missing cells (failed fits) hold NaN and
    their ``error``.

    Parameters
    ----------
    cells : iterable of cells
        The fitted cells, as made by :func:`select`.
    n_samples : int
        Number of samples the models were fitted to.
    criterion : str, default='bic'
        The default criterion of :meth:`best`, :meth:`summary` and
        :meth:`to_text`.

    Attributes
    ----------
    models : tuple of str
        Model names (covariance types), the table's columns.
    n_components : tuple of int
        Numbers of components K, the table's rows.
    n_samples : int
        Number of samples the models were fitted to.
    criterion : str
        The default criterion.
    """

    def __init__(self, cells, n_samples, criterion="bic"):
        self._cells = {(cell.model, cell.n_components): cell for cell in cells}
        self.models = tuple(dict.fromkeys(model for model, _ in self._cells))
        self.n_components = tuple(sorted({k for _, k in self._cells}))
        self.n_samples = int(n_samples)
        _check_criterion(criterion)
        self.criterion = criterion

    @classmethod
    def from_records(cls, records, n_samples, criterion="bic", estimators=None):
        """A table from cell records, as :attr:`records` gives them.

        For tables computed elsewhere (e.g. the criteria of
        :class:`~mixtura.estimators.discriminant.MixtureDiscriminantAnalysis`'s
        EDDA models) or read back from a model file.

        Parameters
        ----------
        records : iterable of dict
            One dict per cell with the keys of :attr:`records`; ``mclust_bic``,
            ``mclust_icl`` and ``missing`` are derived (from ``bic``, ``icl``
            and ``error``) and may be left out.
        n_samples : int
            Number of samples the models were fitted to.
        criterion : str, default='bic'
            The table's default criterion.
        estimators : dict of (str, int) -> estimator, default=None
            Fitted estimators of some cells, keyed by (model, K); the other
            cells hold None.

        Returns
        -------
        table : SelectionTable
        """
        estimators = {} if estimators is None else estimators
        cells = []
        for record in records:
            key = (str(record["model"]), int(record["n_components"]))
            cells.append(
                _Cell(
                    *key,
                    **{
                        name: record[name]
                        for name in (
                            "log_likelihood",
                            "n_parameters",
                            "bic",
                            "aic",
                            "icl",
                        )
                    },
                    converged=record["converged"],
                    error=record["error"],
                    estimator=estimators.get(key),
                )
            )
        return cls(cells, n_samples=n_samples, criterion=criterion)

    def __len__(self):
        return len(self._cells)

    def __getitem__(self, key):
        """The record (a dict, see :attr:`records`) of cell ``(model, K)``."""
        return self._cell(*key).record()

    def _cell(self, model, n_components):
        try:
            return self._cells[(model, n_components)]
        except KeyError:
            raise KeyError(
                f"no cell ({model!r}, {n_components}); models are {self.models}, "
                f"n_components are {self.n_components}"
            ) from None

    @property
    def records(self):
        """One dict per cell: model, n_components, log_likelihood, n_parameters,
        bic, aic, icl, mclust_bic, mclust_icl, converged, missing, error.

        Returns
        -------
        records : list of dict
            In column-major order (model, then K); missing cells hold NaN values
            and the failure's reason in ``error``.
        """
        return [cell.record() for cell in self._cells.values()]

    def value(self, criterion, model, n_components):
        """The criterion of one cell (NaN if the cell is missing).

        Parameters
        ----------
        criterion : {'bic', 'aic', 'icl', 'mclust_bic', 'mclust_icl'}
        model : str
        n_components : int

        Returns
        -------
        value : float
        """
        _check_criterion(criterion)
        return float(getattr(self._cell(model, n_components), criterion))

    def best(self, criterion=None):
        """The best cell under ``criterion``.

        Parameters
        ----------
        criterion : {'bic', 'aic', 'icl', 'mclust_bic', 'mclust_icl'}, default=None
            ``bic``, ``aic`` and ``icl`` are minimised, the ``mclust_`` ones
            maximised; ties go to the earlier cell (model order, then fewer
            components). None means the table's :attr:`criterion`.

        Returns
        -------
        model : str
            Model name (covariance type).
        n_components : int
            Number of components K.

        Raises
        ------
        ValueError
            If every cell is missing.
        """
        ranked = self._ranked(criterion)
        if not ranked:
            raise ValueError(
                "every cell of the selection table failed to fit; see its records' "
                "'error' for the reasons."
            )
        return ranked[0].model, ranked[0].n_components

    def _ranked(self, criterion):
        """Fitted cells, best first (a stable sort keeps the grid order on ties)."""
        criterion = self.criterion if criterion is None else criterion
        direction = _check_criterion(criterion).direction
        fitted = [cell for cell in self._cells.values() if not cell.missing]
        return sorted(fitted, key=lambda cell: direction * getattr(cell, criterion))

    def summary(self, criterion=None, n_best=3):
        """The top cells under ``criterion``, like mclust's ``summary(mclustBIC)``.

        Parameters
        ----------
        criterion : str, default=None
            A key of :data:`CRITERIA`; None means the table's :attr:`criterion`.
        n_best : int, default=3
            Number of cells listed.

        Returns
        -------
        text : str
            mclust's heading, ``'Best BIC values (lower is better; ...):'``,
            then one line per cell, best first: ``'EEE,3'``, the value and its
            difference from the best (for a lower-is-better criterion, how
            much worse; for mclust's, negative).
        """
        criterion = self.criterion if criterion is None else criterion
        ranked = self._ranked(criterion)[:n_best]
        kind = _check_criterion(criterion)
        lines = [f"Best {kind.name} values ({kind.better}; {kind.formula}):"]
        if not ranked:
            return lines[0] + " none, every cell failed"
        top = getattr(ranked[0], criterion)
        for cell in ranked:
            value = getattr(cell, criterion)
            name = f"{cell.model},{cell.n_components}"
            lines.append(f"  {name:<14}{value:>14.3f}{value - top:>+12.3f}")
        return "\n".join(lines)

    def estimator(self, model, n_components):
        """The fitted estimator of cell ``(model, K)`` (None if missing)."""
        return self._cell(model, n_components).estimator

    @property
    def best_model_(self):
        """The fitted estimator of the best cell under the table's criterion.

        Returns
        -------
        estimator : GaussianMixture
        """
        return self.estimator(*self.best())

    def missing(self):
        """The failed cells and why.

        Returns
        -------
        missing : dict of (str, int) -> str
            ``(model, K) -> reason``.
        """
        return {key: cell.error for key, cell in self._cells.items() if cell.missing}

    def to_text(self, criterion=None, precision=2, n_best=3):
        """The criterion as a fixed-width table: rows K, columns models.

        The best cell is marked with ``*``; missing cells show ``-`` and their
        reasons are listed below the table, then the ``n_best`` best cells
        and their differences from the best (:meth:`summary`, mclust's
        ``summary(mclustBIC)``). ``print(table)`` shows this text.

        Parameters
        ----------
        criterion : str, default=None
            A key of :data:`CRITERIA`; None means the table's :attr:`criterion`.
        precision : int, default=2
            Decimals shown.
        n_best : int, default=3
            Best cells listed below the table; 0 lists none.

        Returns
        -------
        text : str
        """
        criterion = self.criterion if criterion is None else criterion
        label = _check_criterion(criterion).describe()
        best = self._best_or_none(criterion)
        width = max(12, *(len(model) + 2 for model in self.models))
        lines = [
            f"{label}; n_samples = {self.n_samples}",
            f"{'K':>3} " + "".join(f"{model:>{width}}" for model in self.models),
        ]
        for k in self.n_components:
            row = "".join(
                f"{self._format(criterion, (model, k), best, precision):>{width}}"
                for model in self.models
            )
            lines.append(f"{k:>3} {row}".rstrip())
        lines.append(
            "Best: none, every cell failed"
            if best is None
            else f"Best: {best[0]}, K = {best[1]} (marked *)"
        )
        lines.extend(
            f"Missing {model}, K = {k}: {reason}"
            for (model, k), reason in self.missing().items()
        )
        if n_best and best is not None:
            lines += ["", self.summary(criterion, n_best)]
        return "\n".join(lines)

    def _best_or_none(self, criterion):
        try:
            return self.best(criterion)
        except ValueError:
            return None

    def _format(self, criterion, key, best, precision):
        cell = self._cells.get(key)
        if cell is None or cell.missing:
            return "- "
        mark = "*" if key == best else " "
        return f"{getattr(cell, criterion):.{precision}f}{mark}"

    def to_pandas(self):
        """The records as a pandas DataFrame, one row per cell.

        Returns
        -------
        frame : pandas.DataFrame
            Columns as in :attr:`records`.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                "SelectionTable.to_pandas needs pandas; install it with `pip install "
                'pandas` or `pip install "mixtura[parquet]"`.'
            ) from error
        return pd.DataFrame.from_records(self.records)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return (
            f"SelectionTable(models={self.models}, n_components={self.n_components}, "
            f"n_samples={self.n_samples})"
        )
