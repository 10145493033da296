"""Mixtures of discrete families: Bernoulli (latent classes), Poisson, categorical.

Thin scikit-learn estimators over the generic machinery: each names its family and
its prior hyperparameters, and maps the fitted family's parameter arrays to fitted
attributes (``probabilities_``, ``rates_``). Fitting, restarts, prediction, sampling
and information criteria are :class:`~mixtura.estimators.base.BaseMixture`'s.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import scipy.sparse
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from mixtura._validation import column_label, sklearn_data_errors
from mixtura.estimators._docstrings import fill_shared_parameters
from mixtura.estimators.base import BaseMixture
from mixtura.exceptions import DataValidationError
from mixtura.families import Bernoulli, Categorical, Poisson
from mixtura.mixture import Mixture

__all__ = ["BernoulliMixture", "CategoricalMixture", "PoissonMixture"]

_SHARED_DOC = fill_shared_parameters(
    """
    missing : {'error', 'em'}, default='error'
        What NaN entries mean: an error (which says what to do), or missing
        values. With ``'em'`` a missing entry drops out of its row's likelihood
        and of the statistics (features are independent within a component, so
        the observed ones keep their exact marginal density); ``predict`` and
        ``score_samples`` use a row's observed entries, and a row with nothing
        observed gets the mixing weights (with a warning).
    {{shared: tol max_iter n_init init_params random_state warm_start verbose}}
    {{shared: verbose_interval callback progress chunk_size on_degenerate frozen}}"""
)

_FIT_INFO_DOC = """
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean per-sample log-likelihood (log-posterior with a prior) at the last
        E-step.
    lower_bounds_ : list of float
        That bound at every iteration of the best initialisation.
    n_features_in_ : int
        Number of features seen in ``fit``."""


class _FamilyMixture(BaseMixture):
    """A mixture of one family whose hyperparameters are the estimator's own.

    Subclasses set ``_family_class``, ``_prior_names`` (the family's keyword
    arguments, which are also the estimator's) and ``_fitted_names`` (family
    parameter -> fitted attribute).
    """

    _family_class: type
    _prior_names: tuple = ()
    _fitted_names: dict = {}

    def _family_template(self):
        return self._family_class(**self._family_config())

    def _family_config(self):
        return {name: getattr(self, name) for name in self._prior_names}

    def _set_fitted(self, mixture, dtype):
        self.weights_ = mixture.weights.astype(dtype)
        arrays = mixture.family.arrays()
        for name, attribute in self._fitted_names.items():
            value = arrays[name]
            setattr(
                self,
                attribute,
                value.astype(dtype) if value.dtype.kind == "f" else value,
            )

    def _mixture_from_attributes(self):
        arrays = {
            name: getattr(self, attribute)
            for name, attribute in self._fitted_names.items()
        }
        family = self._family_class.from_arrays(self._family_config(), arrays)
        return Mixture.from_weights(self.weights_, family)


class BernoulliMixture(_FamilyMixture):
    """Mixture of independent Bernoulli components: latent class analysis.

    Each component k (a latent class) gives every binary feature j its own
    probability ``P(x_j = 1 | k) = probabilities_[k, j]``; features are
    independent within a class (Lazarsfeld & Henry 1968; Goodman 1974). Fitted by
    EM, by maximum likelihood or, with ``alpha, beta > 1``, by the posterior mode
    under a Beta prior (which keeps probabilities off 0 and 1).

    Parameters
    ----------
    n_components : int, default=1
        Number of components (latent classes).
    alpha, beta : float, default=1.0
        Beta(alpha, beta) prior on every probability; 1 and 1 (flat) give maximum
        likelihood. Both at least 1.
    binarize : float or None, default=None
        Threshold: values above it become 1, the others 0, before fitting and
        predicting (as scikit-learn's ``BernoulliNB`` does). None requires X to be
        binary already. On scipy.sparse input it thresholds the stored values
        (the implicit zeros stay 0), so it must be at least 0 there.
    """

    __doc__ += (
        _SHARED_DOC
        + """

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Class sizes (mixing weights).
    probabilities_ : ndarray of shape (n_components, n_features)
        Class-conditional probability that each feature is 1."""
        + _FIT_INFO_DOC
        + """

    Notes
    -----
    X must hold only 0 and 1 (float or int); anything else raises a
    :class:`~mixtura.DataValidationError`. scipy.sparse CSR/CSC input is kept
    sparse end to end (the E-step is one sparse product ``X @ logit(p).T`` per
    chunk of rows, the statistics ``X.T @ resp``); it has no missing entries, so
    a stored NaN is refused. Maximum-likelihood estimates of exactly
    0 or 1 are kept, and the log-densities clip them to ``[1e-10, 1 - 1e-10]``
    (:data:`mixtura.families.bernoulli.EPSILON`).

    Examples
    --------
    >>> import numpy as np
    >>> from mixtura import BernoulliMixture
    >>> X = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1]])
    >>> model = BernoulliMixture(2, random_state=0).fit(X)
    >>> model.predict(X).tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])
    True
    """
    )

    _family_class = Bernoulli
    _prior_names = ("alpha", "beta")
    _fitted_names = {"probabilities": "probabilities_"}
    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "alpha": [Interval(Real, 1, None, closed="left")],
        "beta": [Interval(Real, 1, None, closed="left")],
        "binarize": [Real, None],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        alpha=1.0,
        beta=1.0,
        binarize=None,
        missing="error",
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        progress=False,
        chunk_size=None,
        on_degenerate="reseed",
        frozen=None,
    ):
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            callback=callback,
            progress=progress,
            chunk_size=chunk_size,
            on_degenerate=on_degenerate,
            frozen=frozen,
        )
        self.alpha = alpha
        self.beta = beta
        self.binarize = binarize
        self.missing = missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _encode_input(self, X):
        """Binarize at ``binarize`` when asked (a missing entry stays NaN).

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
            Validated data.

        Returns
        -------
        X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features)
            ``X`` itself when ``binarize`` is None; otherwise a new array (for
            sparse input a CSR matrix of the stored values above the threshold).
        """
        if self.binarize is None:
            return X
        if scipy.sparse.issparse(X):
            return _binarize_sparse(X, self.binarize)
        with np.errstate(invalid="ignore"):
            binary = (self.binarize < X).astype(X.dtype)
        return np.where(np.isnan(X), X, binary)


def _binarize_sparse(X, threshold):
    """The stored values of ``X`` above ``threshold`` as 1, in a new CSR matrix."""
    if threshold < 0:
        raise DataValidationError(
            f"binarize={threshold!r} would turn the implicit zeros of sparse input "
            "into ones (a dense matrix). Use a threshold of at least 0, or pass a "
            "dense array."
        )
    X = scipy.sparse.csr_matrix(X, copy=True)
    X.data = (threshold < X.data).astype(X.dtype)
    X.eliminate_zeros()
    return X


class PoissonMixture(_FamilyMixture):
    """Mixture of independent Poisson components, for count features.

    Each component k gives every count feature j its own rate ``rates_[k, j]``;
    features are independent within a component. Fitted by EM, by maximum
    likelihood or by the posterior mode under a Gamma(gamma_shape, gamma_rate)
    prior on every rate.

    Parameters
    ----------
    n_components : int, default=1
        Number of components.
    gamma_shape : float, default=1.0
        Shape of the Gamma prior on each rate; at least 1.
    gamma_rate : float, default=0.0
        Rate of the Gamma prior; non-negative. ``gamma_shape=1, gamma_rate=0`` (a
        flat prior) gives maximum likelihood.
    """

    __doc__ += (
        _SHARED_DOC
        + """

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    rates_ : ndarray of shape (n_components, n_features)
        Poisson rate (mean count) of each feature in each component."""
        + (_FIT_INFO_DOC)
        + """

    Notes
    -----
    X must hold non-negative integer counts (as floats or ints); negative or
    fractional values raise a :class:`~mixtura.DataValidationError`. k-means
    initialisation clusters ``log(1 + X)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixtura import PoissonMixture
    >>> X = np.array([[0, 1], [1, 0], [0, 0], [9, 11], [12, 10], [10, 9]])
    >>> model = PoissonMixture(2, random_state=0).fit(X)
    >>> sorted(np.round(model.rates_[:, 0]).tolist())
    [0.0, 10.0]
    """
    )

    _family_class = Poisson
    _prior_names = ("gamma_shape", "gamma_rate")
    _fitted_names = {"rates": "rates_"}
    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "gamma_shape": [Interval(Real, 1, None, closed="left")],
        "gamma_rate": [Interval(Real, 0, None, closed="left")],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        gamma_shape=1.0,
        gamma_rate=0.0,
        missing="error",
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        progress=False,
        chunk_size=None,
        on_degenerate="reseed",
        frozen=None,
    ):
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            callback=callback,
            progress=progress,
            chunk_size=chunk_size,
            on_degenerate=on_degenerate,
            frozen=frozen,
        )
        self.gamma_shape = gamma_shape
        self.gamma_rate = gamma_rate
        self.missing = missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # non-negative integers: scikit-learn's checks then draw counts
        tags.input_tags.positive_only = True
        tags.input_tags.categorical = True
        return tags


def _column_values(X):
    """Columns of ``X`` as 1-D arrays, with pandas categoricals' own level order.

    Returns
    -------
    columns : list of ndarray of shape (n_samples,)
    declared : list of ndarray or None
        The declared categories of each pandas categorical column, else None.
    """
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # a pandas DataFrame
        columns, declared = [], []
        for name in X.columns:
            series = X[name]
            categories = getattr(getattr(series, "cat", None), "categories", None)
            is_categorical = str(series.dtype) == "category"
            declared.append(np.asarray(categories) if is_categorical else None)
            columns.append(np.asarray(series.astype(object)))
        return columns, declared
    array = np.asarray(X)
    return [array[:, j] for j in range(array.shape[1])], [None] * array.shape[1]


def _check_missing(values, column, allow_missing=False):
    """Mask of the missing values (None or NaN) of a column; raise if not allowed.

    Infinity is always an error; a missing value is one unless ``allow_missing``
    (the estimator's ``missing='em'``).

    Returns
    -------
    missing : ndarray of bool of shape (n_samples,)
    """
    missing = np.array(
        [
            v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))
            for v in values
        ],
        dtype=bool,
    )
    infinite = np.array(
        [isinstance(v, (float, np.floating)) and np.isinf(v) for v in values],
        dtype=bool,
    )
    if infinite.any():
        raise DataValidationError(
            f"{column_label(column)} has {int(infinite.sum())} infinite value(s); "
            "replace "
            "them (with NaN, if they mean 'unknown', and missing='em')."
        )
    if missing.any() and not allow_missing:
        raise DataValidationError(
            f"{column_label(column)} has {int(missing.sum())} missing value(s) "
            "(None or "
            "NaN): pass missing='em' to fit on the observed entries, drop or impute "
            "those rows, or (in a categorical column) make 'missing' a level of its "
            "own."
        )
    return missing


def _levels_of(values, declared, column):
    """Sorted distinct values of a column (or its declared categories)."""
    if declared is not None:
        return declared
    try:
        return np.unique(values)
    except TypeError as exc:
        raise DataValidationError(
            f"{column_label(column)} mixes values that cannot be ordered ({exc}); make "
            "every value of a column the same type (e.g. all strings)."
        ) from exc


def _encode(values, levels, column, missing=None):
    """Integer codes of ``values`` in ``levels`` (NaN where ``missing``).

    Unseen values raise.
    """
    if missing is not None and missing.any():
        codes = np.full(len(values), np.nan)
        codes[~missing] = _encode(values[~missing], levels, column)
        return codes
    order = np.argsort(levels, kind="stable")
    sorted_levels = levels[order]
    try:
        position = np.searchsorted(sorted_levels, values)
    except TypeError as exc:
        raise DataValidationError(
            f"{column_label(column)} holds values of another type than the levels seen "
            f"in fit ({exc})."
        ) from exc
    position = np.minimum(position, len(levels) - 1)
    known = sorted_levels[position] == values
    if not np.all(known):
        unseen = values[~known][0]
        unseen = unseen.item() if isinstance(unseen, np.generic) else unseen
        raise DataValidationError(
            f"{column_label(column)} holds the level {unseen!r}, which fit never "
            "saw (known "
            f"levels: {levels.tolist()}). A fitted categorical mixture gives an "
            "unseen level no probability; refit with data that include it."
        )
    return order[position].astype(np.float64)


def _plain_levels(levels, column):
    """Levels as JSON values (str, int, float, bool), or a TypeError."""
    plain = [v.item() if isinstance(v, np.generic) else v for v in levels]
    for value in plain:
        if not isinstance(value, (str, int, float, bool)):
            raise TypeError(
                f"cannot save the levels of column {column}: {value!r} is a "
                f"{type(value).__name__}; model files hold strings and numbers."
            )
    return plain


def _levels_from_plain(levels, column):
    """The levels of a column from a model file's JSON, checked, as fit has them.

    Levels are a non-empty list of unique values of one kind: strings, booleans
    or finite numbers (what :func:`_plain_levels` writes); anything else raises
    a ValueError naming the column (issue 19: null, empty or mixed levels were
    accepted, and predictions then raised TypeError or IndexError in _encode).
    """
    if not isinstance(levels, list) or not levels:
        raise ValueError(
            f"the levels of column {column} must be a non-empty list; got {levels!r}"
        )
    kinds = {_level_kind(value) for value in levels}
    if len(kinds) != 1 or None in kinds:
        raise ValueError(
            f"the levels of column {column} must all be strings, all booleans or "
            f"all finite numbers; got {levels!r}"
        )
    if len(set(levels)) != len(levels):
        raise ValueError(f"the levels of column {column} repeat a value: {levels!r}")
    array = np.array(levels)
    if array.dtype.kind in "USO":  # strings are kept as Python objects, as in fit
        return np.array(levels, dtype=object)
    return array


def _level_kind(value):
    """'str', 'bool' or 'number' for a level read from JSON; None for others."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)) and math.isfinite(value):
        return "number"
    return None


class CategoricalMixture(_FamilyMixture):
    """Mixture of independent categorical components: poLCA-style latent classes.

    Each component k (a latent class) gives every column j its own distribution
    over the column's levels, ``item_probabilities_[j][k, l] = P(x_j = level l |
    k)``; columns are independent within a class (Goodman 1974; Linzer & Lewis
    2011). Columns may hold strings, numbers or pandas categoricals: ``fit``
    records each column's levels in ``categories_`` and encodes them as integer
    codes; ``predict`` maps new data with the same levels.

    Parameters
    ----------
    n_components : int, default=1
        Number of components (latent classes).
    alpha : float, default=1.0
        Symmetric Dirichlet(alpha) prior on each column's probabilities; 1 (flat)
        gives maximum likelihood. At least 1.
    """

    __doc__ += (
        _SHARED_DOC
        + """

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Class sizes (mixing weights).
    categories_ : list of ndarray
        Levels of each column, in code order (sorted values, or a pandas
        categorical's declared categories).
    item_probabilities_ : list of ndarray of shape (n_components, n_levels_j)
        Class-conditional response probabilities of each column.
    probabilities_ : ndarray of shape (n_components, sum of n_levels_j)
        The same, concatenated column after column.
    n_levels_ : ndarray of shape (n_features,)
        Number of levels of each column."""
        + _FIT_INFO_DOC
        + """

    Notes
    -----
    A level that ``fit`` never saw raises a :class:`~mixtura.DataValidationError`
    at prediction; missing values (None, NaN) raise in ``fit`` and ``predict``
    unless ``missing='em'``, which drops them from their row's likelihood.
    Model files keep the levels (strings or numbers) in their JSON ``encoding``.

    Examples
    --------
    >>> from mixtura import CategoricalMixture
    >>> X = [["a", "x"], ["a", "x"], ["b", "y"], ["b", "y"]]
    >>> model = CategoricalMixture(2, random_state=0).fit(X)
    >>> [c.tolist() for c in model.categories_]
    [['a', 'b'], ['x', 'y']]
    """
    )

    _family_class = Categorical
    _prior_names = ("alpha",)
    _fitted_names = {"probabilities": "probabilities_", "n_levels": "n_levels_"}
    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "alpha": [Interval(Real, 1, None, closed="left")],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        alpha=1.0,
        missing="error",
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        progress=False,
        chunk_size=None,
        on_degenerate="reseed",
        frozen=None,
    ):
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            callback=callback,
            progress=progress,
            chunk_size=chunk_size,
            on_degenerate=on_degenerate,
            frozen=frozen,
        )
        self.alpha = alpha
        self.missing = missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    def _family_template(self):
        levels = getattr(self, "_encoding_levels", None)
        return Categorical(levels, self.alpha)

    def _check_X(self, X, *, reset, ensure_min_samples=1):
        """Validate the table and encode every column as integer codes."""
        # shape, feature names and n_features_in_ as scikit-learn checks them;
        # dtype=None keeps strings as they are; scikit-learn's refusals (0-d,
        # 1-d, 3-d, empty, complex, ragged, too few rows, other columns or
        # feature names than fitted) become mixtura's errors
        with sklearn_data_errors(X):
            validate_data(
                self,
                X,
                reset=reset,
                dtype=None,
                ensure_all_finite=False,
                ensure_min_samples=ensure_min_samples,
            )
        columns, declared = _column_values(X)
        missing = [
            _check_missing(values, j, self._missing_em())
            for j, values in enumerate(columns)
        ]
        if reset:
            levels = [
                _levels_of(values[~missing[j]], declared[j], j)
                for j, values in enumerate(columns)
            ]
            empty = [j for j, level in enumerate(levels) if len(level) == 0]
            if empty:
                raise DataValidationError(
                    f"column(s) {empty} have no observed value; drop them, since "
                    "nothing can be learnt about their levels."
                )
            self._encoding_levels = [len(level) for level in levels]
            self.categories_ = levels
        codes = [
            _encode(values, self.categories_[j], j, missing[j])
            for j, values in enumerate(columns)
        ]
        return np.column_stack(codes)

    def _encoding_state(self):
        """The levels of each column as plain JSON values, for model files."""
        return {
            "categories": [_plain_levels(c, j) for j, c in enumerate(self.categories_)]
        }

    def _set_encoding_state(self, state):
        """Restore the levels that :meth:`_encoding_state` gave."""
        categories = state["categories"]
        if not isinstance(categories, list):
            raise ValueError("categories must be a list of non-empty lists of levels")
        self.categories_ = [
            _levels_from_plain(levels, j) for j, levels in enumerate(categories)
        ]
        self._encoding_levels = [len(levels) for levels in self.categories_]

    def _set_fitted(self, mixture, dtype):
        super()._set_fitted(mixture, dtype)
        self.item_probabilities_ = [
            block.astype(dtype) for block in mixture.family.item_probabilities()
        ]
