"""GaussianMixture: a drop-in replacement for scikit-learn's, on mixtura's spine."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from mixtura._validation import check_data
from mixtura.estimators.base import BaseMixture
from mixtura.families.covariance import COVARIANCE_STRUCTURES, get_covariance_structure
from mixtura.families.gaussian import Gaussian
from mixtura.families.gaussian_missing import (
    conditional_completions,
    missingness_patterns,
)
from mixtura.inference.data import chunked_statistics
from mixtura.mixture import Mixture

__all__ = ["GaussianMixture"]


class GaussianMixture(BaseMixture):
    """Gaussian mixture model fitted by EM.

    Accepts scikit-learn's parameters and exposes its fitted attributes, so code
    written for :class:`sklearn.mixture.GaussianMixture` runs unchanged. Adds
    ``sample_weight`` in :meth:`fit`, the whole bound trace ``lower_bounds_``, a
    progress ``callback``, row chunking, and float32 computed in float32.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or an mclust model, \
            default='full'
        Structure of the covariance matrices: each component its own full matrix,
        one shared full matrix, each its own diagonal, or each its own variance;
        or one of mclust's eigen-decomposition models ``'EII'``, ``'VII'``,
        ``'EEI'``, ``'VEI'``, ``'EVI'``, ``'VVI'``, ``'EEE'``, ``'VEE'``,
        ``'EVE'``, ``'VVE'``, ``'EEV'``, ``'VEV'``, ``'EVV'``, ``'VVV'`` (and
        ``'E'``, ``'V'`` for one feature), see :mod:`mixtura.families.mclust`.
    tol : float, default=1e-3
        EM stops when the mean per-sample log-likelihood changes by less than this.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every covariance.
    max_iter : int, default=100
        Number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the best log-likelihood is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hc'} or \
            array-like of shape (n_samples,), default='kmeans'
        How initial responsibilities are made, or integer labels of the training
        rows to start from. ``'hc'`` is mclust's model-based hierarchical
        clustering (:mod:`mixtura.inference.hierarchical`).
    weights_init : array-like of shape (n_components,), default=None
        Initial weights (summing to one).
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped by ``covariance_type``:
        (n_components,), (n_features, n_features), (n_components, n_features) or
        (n_components, n_features, n_features) for spherical, tied, diag, full.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation and sampling.
    warm_start : bool, default=False
        Continue from the fitted parameters on the next ``fit`` (``n_init`` is then
        ignored).
    verbose : int, default=0
        Print progress (1: iterations, 2: also the bound and its change).
    verbose_interval : int, default=10
        Iterations between progress messages.
    callback : callable, default=None
        Called after each iteration with an
        :class:`~mixtura.inference.IterationInfo`.
    chunk_size : int, default=None
        Rows processed at a time; None sizes chunks to a 32 MiB working set.
    missing : {'error', 'em'}, default='error'
        What NaN entries mean: an error (say what to do), or missing values
        that EM integrates out (the E-step uses the density of each row's
        observed coordinates, the M-step their conditional expectations;
        Ghahramani & Jordan 1994). Infinity is always an error.
    learning_decay : float, default=0.7
        Step-size exponent of :meth:`partial_fit` (online EM): batch t moves the
        running statistics by ``(t + 2) ** -learning_decay``; values in (0.5, 1]
        guarantee convergence, 0 makes each batch a plain EM step.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray
        Component covariances, shaped by ``covariance_type``.
    precisions_ : ndarray
        Inverses of the covariances, same shape.
    precisions_cholesky_ : ndarray
        Upper-triangular Cholesky factors ``U`` with ``precision = U @ U.T``.
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean per-sample log-likelihood of the best initialisation at its last
        E-step.
    lower_bounds_ : list of float
        That bound at every iteration of the best initialisation.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.

    Notes
    -----
    From the same initial parameters, or the same ``random_state``, the fit equals
    scikit-learn's to round-off (tested to 1e-10 relative on the bound and 1e-8 on
    the parameters). Two deliberate differences, both when ``init_params`` is
    ``'k-means++'`` or ``'random_from_data'`` (each component starts from one
    row): the starting weights are 1/K (scikit-learn's are 1/n_samples each and
    do not sum to one), and with ``covariance_type='tied'`` the starting
    covariance is ``reg_covar`` times the identity, the seed rows' own pooled
    scatter, like the other covariance types (scikit-learn's tied formula assumes
    that every row's responsibilities sum to one).

    Examples
    --------
    >>> import numpy as np
    >>> from mixtura import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.sort(gm.means_[:, 0])
    array([ 1., 10.])
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "covariance_type": [StrOptions(set(COVARIANCE_STRUCTURES))],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "missing": [StrOptions({"error", "em"})],
        "learning_decay": [Interval(Real, 0.0, 1.0, closed="both")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        chunk_size=None,
        missing="error",
        learning_decay=0.7,
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
            chunk_size=chunk_size,
        )
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.missing = missing
        self.learning_decay = learning_decay

    @property
    def _structure(self):
        return get_covariance_structure(self.covariance_type)

    def _family_template(self):
        return Gaussian(self.covariance_type, self.reg_covar)

    def _check_initial_parameters(self, X):
        n_components, n_features = self.n_components, X.shape[1]
        for name in ("weights_init", "means_init"):
            value = getattr(self, name)
            if value is not None and not np.isfinite(np.asarray(value, float)).all():
                raise ValueError(
                    f"{name} contains NaN or infinity; give finite initial values "
                    f"or leave {name}=None to estimate them from the data."
                )
        if self.weights_init is not None:
            weights = np.asarray(self.weights_init, dtype=np.float64)
            if weights.shape != (n_components,):
                raise ValueError(
                    f"weights_init must have shape ({n_components},); "
                    f"got {weights.shape}."
                )
            if (weights < 0).any() or (weights > 1).any():
                raise ValueError(
                    "weights_init must lie in [0, 1]; got "
                    f"min {weights.min():.5f} and max {weights.max():.5f}."
                )
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(
                    f"weights_init must sum to 1 (they are normalized weights); "
                    f"they sum to {weights.sum():.5f}."
                )
        if self.means_init is not None:
            means = np.asarray(self.means_init, dtype=np.float64)
            if means.shape != (n_components, n_features):
                raise ValueError(
                    f"means_init must have shape ({n_components}, {n_features}); "
                    f"got {means.shape}."
                )
        if self.precisions_init is not None:
            self._structure.validate(
                self.precisions_init, n_components, n_features, "precisions_init"
            )

    def _needs_initial_responsibilities(self):
        given = (self.weights_init, self.means_init, self.precisions_init)
        return any(value is None for value in given)

    def _initial_mixture(self, data, resp):
        template = self._family_template()
        if resp is not None:
            stats = chunked_statistics(data, template, resp)
            fitted = Mixture.from_statistics(template, stats)
            weights, family = fitted.weights, fitted.family
        means = family.means if self.means_init is None else self.means_init
        if self.precisions_init is not None:
            family = Gaussian.from_precisions(
                self.covariance_type, means, self.precisions_init, self.reg_covar
            )
        elif self.means_init is not None:
            family = Gaussian(
                self.covariance_type,
                self.reg_covar,
                means=means,
                covariances=family.covariances,
            )
        if self.weights_init is not None:
            weights = self.weights_init
        return Mixture.from_weights(weights, family)

    def _set_fitted(self, mixture, dtype):
        family = mixture.family
        self.weights_ = mixture.weights.astype(dtype)
        self.means_ = family.means.astype(dtype)
        self.covariances_ = family.covariances.astype(dtype)
        self.precisions_cholesky_ = family.precisions_cholesky.astype(dtype)
        self.precisions_ = family.precisions.astype(dtype)

    def _fitted_mixture(self):
        family = Gaussian(
            self.covariance_type,
            self.reg_covar,
            means=self.means_,
            covariances=self.covariances_,
            precisions_cholesky=self.precisions_cholesky_,
        )
        return Mixture.from_weights(self.weights_, family)

    def impute(self, X, n_imputations=None, random_state=None):
        """Fill missing entries (NaN) from the fitted mixture.

        Single imputation gives each missing entry its conditional mean given the
        row's observed entries, ``sum_k P(k | x_o) E[x_m | x_o, k]``. Multiple
        imputation draws ``n_imputations`` completions from the conditional
        mixture: a component from ``P(k | x_o)``, then ``x_m`` from that
        component's conditional normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with NaN for missing entries (observed entries are kept as they
            are).
        n_imputations : int, default=None
            None for the single (conditional mean) imputation; otherwise the
            number of random completions.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws of multiple imputation.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features) or \
                (n_imputations, n_samples, n_features)
            The completed data.
        """
        check_is_fitted(self)
        X = check_data(self, X, reset=False, allow_nan=True)
        mixture = self._fitted_mixture()
        resp = np.exp(mixture.log_responsibilities(X)[0])
        covariances = mixture.family._covariance_matrices()
        if n_imputations is None:
            filled = X.copy()
            for rows, observed in missingness_patterns(X):
                if observed.all():
                    continue
                completed, _ = conditional_completions(
                    X[rows], observed, mixture.family.means, covariances
                )
                missing = ~observed
                filled[np.ix_(rows, missing)] = np.einsum(
                    "nk,knd->nd", resp[rows], completed[:, :, missing]
                )
            return filled
        rng = check_random_state(random_state)
        draws = np.broadcast_to(X, (int(n_imputations), *X.shape)).copy()
        for rows, observed in missingness_patterns(X):
            if not observed.all():
                draws[:, rows] = _draw_completions(
                    X[rows],
                    observed,
                    mixture,
                    covariances,
                    resp[rows],
                    rng,
                    int(n_imputations),
                )
        return draws


def _draw_completions(X, observed, mixture, covariances, resp, rng, n_draws):
    """Random completions of rows sharing one missingness pattern.

    Returns an array of shape (n_draws, n_rows, n_features).
    """
    completed, conditional = conditional_completions(
        X, observed, mixture.family.means, covariances
    )
    missing = ~observed
    out = np.broadcast_to(X, (n_draws, *X.shape)).copy()
    # a component per draw and row, from the posterior memberships
    cumulative = np.cumsum(resp, axis=1)
    uniforms = rng.uniform(size=(n_draws, X.shape[0], 1)) * cumulative[:, -1:]
    components = (uniforms > cumulative[None]).sum(axis=2)
    for k in np.unique(components):
        draw, row = np.nonzero(components == k)
        # conditional covariances are SPD; eigh tolerates round-off at the edge
        values, vectors = np.linalg.eigh(conditional[k])
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
        noise = rng.standard_normal((draw.size, int(missing.sum()))) @ factor.T
        out[draw[:, None], row[:, None], np.flatnonzero(missing)[None, :]] = (
            completed[k][row][:, missing] + noise
        )
    return out
