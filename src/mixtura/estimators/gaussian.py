"""GaussianMixture: a drop-in replacement for scikit-learn's, on mixtura's spine."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from mixtura._random import check_random_state
from mixtura._validation import check_data
from mixtura.estimators._docstrings import shared_docstring
from mixtura.estimators.base import BaseMixture
from mixtura.exceptions import DataValidationError
from mixtura.families.covariance import COVARIANCE_STRUCTURES, get_covariance_structure
from mixtura.families.gaussian import Gaussian
from mixtura.families.gaussian_missing import conditional_completions
from mixtura.families.noise import WithNoise, data_region
from mixtura.inference import initial_responsibilities
from mixtura.inference.data import chunked_statistics
from mixtura.inference.imputation import Conditional, impute_rows
from mixtura.mixture import Mixture
from mixtura.priors.mclust import MclustPrior, resolve_prior

__all__ = ["GaussianMixture"]


@shared_docstring
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
    {{shared: tol}}
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every covariance.
    {{shared: max_iter n_init}}
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
    {{shared: random_state}}
    warm_start : bool, default=False
        Continue from the fitted parameters on the next ``fit`` (``n_init`` is then
        ignored).
    verbose : int, default=0
        Print progress (1: iterations, 2: also the bound and its change).
    {{shared: verbose_interval callback progress}}
    chunk_size : int, default=None
        Rows processed at a time; None sizes chunks to a 32 MiB working set.
    {{shared: on_degenerate frozen}}
    missing : {'error', 'em'}, default='error'
        What NaN entries mean: an error (say what to do), or missing values
        that EM integrates out (the E-step uses the density of each row's
        observed coordinates, the M-step their conditional expectations;
        Ghahramani & Jordan 1994). Infinity is always an error.
    {{shared: learning_decay}}
    noise : None, bool or float, default=None
        A noise component (Banfield & Raftery 1993; Fraley & Raftery 1998, 2002):
        besides the ``n_components`` Gaussians, one component of constant density
        ``1 / V``, see :mod:`mixtura.families.noise`. None or False: no noise.
        True: ``V`` is the data's hypervolume as mclust's ``hypvol`` computes it
        (the smaller of the bounding box and the box of the principal-component
        scores). A positive float: ``V`` itself (mclust's ``Vinv`` is ``1 / V``).
        With a dask array or a chunk stream the region is that of the rows the
        initialisation reads.
    noise_init : array-like of shape (n_samples,) of bool, default=None
        With ``noise``, the training rows that start as noise (mclust's
        ``initialization = list(noise = ...)``): the Gaussians are initialised by
        ``init_params`` on the other rows only. Rows labelled ``-1`` in
        ``init_params`` labels also start as noise. None (and no ``-1`` label):
        every row starts with a noise responsibility of 0.1 and the Gaussians
        are initialised on all rows.
    prior : None, 'default', dict or MclustPrior, default=None
        Conjugate prior of Fraley & Raftery (2007) for MAP estimates (mclust's
        ``prior = priorControl()``), see :mod:`mixtura.priors.mclust`.
        None: maximum likelihood. ``'default'``: mclust's ``defaultPrior``
        computed from the training data (shrinkage 0.01 towards the column
        means, ``n_features + 2`` degrees of freedom, scale ``var(X) /
        n_components^(2 / n_features)``). A dict replaces some of
        ``'shrinkage'``, ``'mean'``, ``'dof'``, ``'scale'`` in that default.
        Available for every model but VEE, EVE, VVE and EVV (mclust has no prior
        for them; they raise a ValueError). Model files store ``'default'`` and
        dicts of numbers; a dict holding arrays cannot be saved.
    tol_mode : {'absolute', 'relative'}, default='absolute'
        How ``tol`` is read. ``'absolute'``: EM stops when the mean per-sample
        log-likelihood changes by less than ``tol`` (scikit-learn's rule).
        ``'relative'``: when the total log-likelihood ``L`` changes by at most
        ``tol * (1 + |L|)``, mclust's rule (``emControl(tol)``, 1e-5 there),
        which :func:`~mixtura.selection.select` uses for a grid of mclust's
        models.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,) or (n_components + 1,)
        Mixing weights; with ``noise`` the noise proportion is the last entry
        (as mclust's ``pro``).
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
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` had string column names.
    prior_ : MclustPrior or None
        The prior the fit used (None without ``prior``).
    noise_volume_ : float
        With ``noise``: the hypervolume ``V`` of the noise component.

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

    With ``noise``, :meth:`predict` (and :meth:`fit_predict`, :meth:`sample`)
    label the rows assigned to the noise component ``-1`` (mclust labels them
    0), :meth:`predict_proba` has the noise column last, and the number of
    parameters counts the noise weight and the volume, as mclust's
    ``nMclustParams(..., noise = TRUE)`` does.

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
        "prior": [None, StrOptions({"default"}), dict, MclustPrior],
        "noise": [None, "boolean", Interval(Real, 0.0, None, closed="neither")],
        "noise_init": ["array-like", None],
        "tol_mode": [StrOptions({"absolute", "relative"})],
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
        progress=False,
        chunk_size=None,
        on_degenerate="reseed",
        frozen=None,
        missing="error",
        learning_decay=0.7,
        noise=None,
        noise_init=None,
        prior=None,
        tol_mode="absolute",
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
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.missing = missing
        self.learning_decay = learning_decay
        self.noise = noise
        self.noise_init = noise_init
        self.prior = prior
        self.tol_mode = tol_mode

    def _relative_tolerance(self):
        return self.tol_mode == "relative"

    @property
    def _structure(self):
        return get_covariance_structure(self.covariance_type)

    def _family_template(self):
        gaussian = Gaussian(self.covariance_type, self.reg_covar, prior=self._prior())
        if not self._has_noise():
            return gaussian
        return WithNoise(gaussian, self._region_of_fit())

    def _has_noise(self):
        return self.noise is not None and bool(self.noise)

    def _with_noise(self, gaussian):
        """The fitted family: ``gaussian``, wrapped with the noise region if any."""
        region = self._region_of_fit()
        return gaussian if region is None else WithNoise(gaussian, region)

    def _setup_of_fit(self):
        """(prior, noise region) of the fit in progress, else of the fitted model.

        ``_check_initial_parameters`` resolves them into ``_fit_setup`` (private),
        and only a fit that succeeds makes them fitted attributes (``prior_``,
        in :meth:`_set_fitted`), so that a failed fit leaves a fitted model as it
        was.
        """
        setup = self.__dict__.get("_fit_setup")
        if setup is not None:
            return setup
        return getattr(self, "prior_", None), getattr(self, "_noise_region", None)

    def _prior(self):
        """The checked conjugate prior of the current fit, or None."""
        return self._setup_of_fit()[0]

    def _region_of_fit(self):
        """The noise component's region of the current fit, or None."""
        return self._setup_of_fit()[1]

    def _check_initial_parameters(self, X):
        self.__dict__.pop("_fit_setup", None)
        prior = resolve_prior(self.prior, X, self.n_components, self._structure)
        if self.noise_init is not None and not self._has_noise():
            raise ValueError(
                "noise_init is given but noise is None; pass noise=True (or a "
                "volume) to add a noise component."
            )
        region = self._region(X) if self._has_noise() else None
        n_components, n_features = self.n_components, X.shape[1]
        n_weights = n_components + self._has_noise()
        for name in ("weights_init", "means_init"):
            value = getattr(self, name)
            if value is not None and not np.isfinite(np.asarray(value, float)).all():
                raise ValueError(
                    f"{name} contains NaN or infinity; give finite initial values "
                    f"or leave {name}=None to estimate them from the data."
                )
        if self.weights_init is not None:
            weights = np.asarray(self.weights_init, dtype=np.float64)
            if weights.shape != (n_weights,):
                raise ValueError(
                    f"The parameter 'weights' should have the shape of "
                    f"({n_weights},), but got {weights.shape}: weights_init holds "
                    "one weight per component (with noise, the noise weight last)."
                )
            if (weights < 0).any() or (weights > 1).any():
                raise ValueError(
                    "The parameter 'weights' should be in the range [0, 1], but got "
                    f"min value {weights.min():.5f} and max value "
                    f"{weights.max():.5f}; give weights_init as probabilities."
                )
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(
                    "The parameter 'weights' should be normalized, but got "
                    f"sum(weights) = {weights.sum():.5f}; divide weights_init by "
                    "its sum."
                )
        if self.means_init is not None:
            means = np.asarray(self.means_init, dtype=np.float64)
            if means.shape != (n_components, n_features):
                raise ValueError(
                    "The parameter 'means' should have the shape of "
                    f"({n_components}, {n_features}), but got {means.shape}: "
                    "means_init holds one row per component, one column per "
                    "feature of X."
                )
        if self.precisions_init is not None:
            self._structure.validate(
                self.precisions_init,
                n_components,
                n_features,
                f"{self._structure.name} precision",
                "precisions_init",
            )
        # checked: the fit in progress reads them; _set_fitted makes them fitted
        self._fit_setup = (prior, region)

    def _region(self, X):
        """The noise component's region: the data's, scaled to a given volume."""
        region = data_region(X)
        if isinstance(self.noise, (bool, np.bool_)):
            return region
        return region.with_volume(float(self.noise))

    def _noise_rows(self, n_samples):
        """The boolean ``noise_init`` mask, checked (all False when None)."""
        if self.noise_init is None:
            return np.zeros(n_samples, dtype=bool)
        rows = np.asarray(self.noise_init)
        if rows.shape != (n_samples,) or rows.dtype.kind != "b":
            raise DataValidationError(
                f"noise_init must be a boolean array with one entry per training "
                f"row, shape ({n_samples},); got dtype {rows.dtype} and shape "
                f"{rows.shape}."
            )
        return rows

    def _needs_initial_responsibilities(self):
        given = (self.weights_init, self.means_init, self.precisions_init)
        return self._has_noise() or any(value is None for value in given)

    def _initial_responsibilities(self, data, rng):
        if not self._has_noise():
            return super()._initial_responsibilities(data, rng)
        return self._noise_responsibilities(data, rng)

    def _noise_responsibilities(self, data, rng):
        """Initial responsibilities (n_samples, K + 1), the noise column last.

        Rows in ``noise_init`` (or labelled -1) start as noise; ``init_params``
        initialises the Gaussians on the other rows, as mclust does.
        """
        X, n_components = data.X, self.n_components
        noise = self._noise_rows(X.shape[0])
        method = self.init_params
        if not isinstance(method, str):
            labels = np.asarray(method)
            if labels.shape != (X.shape[0],):
                raise DataValidationError(
                    "init_params given as labels must have one label per row: "
                    f"shape ({X.shape[0]},); got {labels.shape}."
                )
            noise = noise | (labels == -1)
            method = labels[~noise]
        keep = ~noise
        if keep.sum() < n_components:
            raise DataValidationError(
                f"{int(noise.sum())} of {X.shape[0]} rows start as noise, leaving "
                f"{int(keep.sum())} rows for {n_components} components; mark fewer "
                "rows in noise_init or use fewer components."
            )
        weights = data.sample_weight
        inner = initial_responsibilities(
            self._family_template().init_features(X[keep]),
            n_components,
            method,
            rng,
            None if weights is None else weights[keep],
        )
        resp = np.zeros((X.shape[0], n_components + 1), dtype=inner.dtype)
        resp[keep, :n_components] = inner
        resp[noise, n_components] = 1
        if not noise.any():
            resp *= 1 - _DEFAULT_NOISE_SHARE
            resp[:, n_components] = _DEFAULT_NOISE_SHARE
        return resp

    def _initial_mixture(self, data, resp, statistics=chunked_statistics):
        template = self._family_template()
        if resp is not None:
            stats = statistics(data, template, resp)
            fitted = Mixture.from_statistics(template, stats)
            weights, family = fitted.weights, fitted.family
            if isinstance(family, WithNoise):
                family = family.inner
        means = family.means if self.means_init is None else self.means_init
        if self.precisions_init is not None:
            family = Gaussian.from_precisions(
                self.covariance_type,
                means,
                self.precisions_init,
                self.reg_covar,
                prior=self._prior(),
            )
        elif self.means_init is not None:
            family = Gaussian(
                self.covariance_type,
                self.reg_covar,
                means=means,
                covariances=family.covariances,
                prior=self._prior(),
            )
        if self.weights_init is not None:
            weights = self.weights_init
        return Mixture.from_weights(weights, self._with_noise(family))

    def _set_fitted(self, mixture, dtype):
        family = mixture.family
        self.prior_ = self._prior()
        self.__dict__.pop("_fit_setup", None)
        self._noise_region = None
        if isinstance(family, WithNoise):
            self._noise_region = family.region
            self.noise_volume_ = float(np.exp(family.log_volume))
            family = family.inner
        self.weights_ = mixture.weights.astype(dtype)
        self.means_ = family.means.astype(dtype)
        self.covariances_ = family.covariances.astype(dtype)
        self.precisions_cholesky_ = _in_dtype_if_it_fits(
            family.precisions_cholesky, dtype
        )
        self.precisions_ = _in_dtype_if_it_fits(family.precisions, dtype)

    def _mixture_from_attributes(self):
        family = Gaussian(
            self.covariance_type,
            self.reg_covar,
            means=self.means_,
            covariances=self.covariances_,
            precisions_cholesky=self.precisions_cholesky_,
            prior=self._prior(),
        )
        return Mixture.from_weights(self.weights_, self._with_noise(family))

    def _labels_from_log_resp(self, log_resp):
        """Most probable component of each row; -1 for the noise component."""
        labels = np.asarray(log_resp).argmax(axis=1)
        if getattr(self, "_noise_region", None) is not None:
            labels[labels == self.n_components] = -1
        return labels

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the mixture and return the most probable component of each row.

        The labels come from a final E-step with the fitted parameters, so
        ``fit_predict(X)`` equals ``fit(X).predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels; -1 for rows assigned to the noise component.
        """
        return self._noise_labels(super().fit_predict(X, y, sample_weight))

    def predict(self, X):
        """Most probable component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels; -1 for rows assigned to the noise component.
        """
        return self._noise_labels(super().predict(X))

    def predict_proba(self, X):
        """Posterior probability of each component for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components) or \
                (n_samples, n_components + 1)
            Responsibilities; each row sums to one. With ``noise``, the noise
            component's column is last.
        """
        return super().predict_proba(X)

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Uses ``random_state``, so an integer seed gives the same samples each call.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples; noise samples are uniform in the noise region.
        y : ndarray of shape (n_samples,)
            Component of each sample (sorted, the noise samples, labelled -1,
            last).
        """
        X, labels = super().sample(n_samples)
        return X, self._noise_labels(labels)

    def _noise_labels(self, labels):
        """Labels with the noise component's index K replaced by -1."""
        if getattr(self, "_noise_region", None) is None or labels is None:
            return labels
        # np.where dispatches to dask for a lazy array
        return np.where(labels == self.n_components, -1, labels)

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
        random_state : int, RandomState instance, Generator or None, default=None
            Seed of the draws of multiple imputation.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features) or \
                (n_imputations, n_samples, n_features)
            The completed data.
        """
        check_is_fitted(self)
        if getattr(self, "_noise_region", None) is not None:
            raise ValueError(
                "impute is not available for a model with a noise component (a "
                "missing entry of a noise row has no conditional distribution "
                "here); fit without noise to impute."
            )
        X = check_data(self, X, reset=False, allow_nan=True)
        mixture = self._fitted_mixture()
        resp = np.exp(mixture.log_responsibilities(X)[0])
        means = mixture.family.means
        covariances = mixture.family._covariance_matrices()

        def conditional(X_pattern, observed):
            return Conditional(
                *conditional_completions(X_pattern, observed, means, covariances)
            )

        rng = None if n_imputations is None else check_random_state(random_state)
        return impute_rows(X, resp, conditional, n_imputations, rng)


#: initial noise responsibility of every row when no row is marked as noise
_DEFAULT_NOISE_SHARE = 0.1


def _in_dtype_if_it_fits(values, dtype):
    """``values`` in the fit's ``dtype``, or float64 where that would overflow.

    Issue 19: float32 data near 1e-20 fitted with ``reg_covar=0`` have
    precisions beyond float32's range (1e40 for variances of 1e-40); cast,
    they became infinities. Such a fit keeps them in float64 (the E-step then
    runs in float64 too, ``BeyondFloat32Kernel``).
    """
    limit = np.finfo(dtype).max
    if np.abs(values).max(initial=0.0) > limit:
        return np.asarray(values, dtype=np.float64)
    return values.astype(dtype)
