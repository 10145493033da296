"""BayesianMixture: variational Bayes for the conjugate discrete families."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from mixtura.estimators._pruning import PruningMixin
from mixtura.estimators.base import BaseMixture
from mixtura.estimators.discrete import (
    BernoulliMixture,
    CategoricalMixture,
    PoissonMixture,
)
from mixtura.estimators.text import MultinomialMixture
from mixtura.families import Bernoulli, Categorical, Multinomial, Poisson
from mixtura.inference.data import chunked_statistics
from mixtura.inference.variational_conjugate import (
    CONJUGATE_PRIORS,
    BetaPrior,
    CategoricalDirichletPrior,
    GammaPrior,
    MultinomialDirichletPrior,
    VariationalMixture,
    conjugate_variational_step,
)
from mixtura.inference.weight_prior import WEIGHT_PRIORS, WeightPrior
from mixtura.mixture import Mixture

__all__ = ["BayesianMixture"]

#: the plain EM estimator that :meth:`BayesianMixture.prune` returns, by family
_PLAIN_ESTIMATORS = {
    "bernoulli": BernoulliMixture,
    "poisson": PoissonMixture,
    "categorical": CategoricalMixture,
    "multinomial": MultinomialMixture,
}

#: the estimator's hyperparameters of each family's prior
_FAMILY_HYPERPARAMETERS = {
    "bernoulli": ("alpha_prior", "beta_prior"),
    "poisson": ("gamma_shape_prior", "gamma_rate_prior"),
    "categorical": ("concentration_prior",),
    "multinomial": ("concentration_prior",),
}

#: what to use instead, for families without a conjugate prior here
_ALTERNATIVES = {
    "gaussian": "use mixtura.BayesianGaussianMixture for Gaussian components",
    "dirichlet_multinomial": (
        "the Dirichlet-multinomial has no conjugate prior; use family="
        "'multinomial' here, or DirichletMultinomialMixture (EM)"
    ),
}

_POSITIVE = Interval(Real, 0.0, None, closed="neither")


def _check_vector(value, size, name):
    """``value`` (a number or an array of ``size``) as a positive float64 vector."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be positive numbers; got {value!r}.") from exc
    if array.ndim > 1 or (array.ndim == 1 and array.shape[0] != size):
        raise ValueError(
            f"{name} must be a number or an array of shape ({size},); got shape "
            f"{array.shape}."
        )
    if not (np.isfinite(array).all() and (array > 0).all()):
        raise ValueError(f"{name} must be finite and > 0; got {value!r}.")
    return np.broadcast_to(array, (size,)).copy()


class BayesianMixture(PruningMixin, BaseMixture):
    """Variational Bayesian mixture of Bernoulli, Poisson, categorical or multinomial.

    Mean-field variational inference (Bishop 2006, section 10.4) with each
    family's conjugate prior on the component parameters and either a finite
    Dirichlet or a truncated stick-breaking Dirichlet-process prior on the
    weights (Blei & Jordan 2006). Components the data do not need get weights
    near zero: fit with a generous ``n_components`` and the Dirichlet process,
    then read :meth:`effective_components` or :meth:`prune` to a plain EM model.

    ===========  ======================================  ======================
    family       prior of each component                 posterior attributes
    ===========  ======================================  ======================
    bernoulli    Beta(alpha_prior, beta_prior)            ``alpha_``, ``beta_``
    poisson      Gamma(gamma_shape_prior,                 ``gamma_shape_``,
                 gamma_rate_prior) on each rate           ``gamma_rate_``
    categorical  Dirichlet(concentration_prior) on each   ``concentration_``
                 column's level probabilities
    multinomial  Dirichlet(concentration_prior) on the    ``concentration_``
                 term probabilities
    ===========  ======================================  ======================

    The M-step is posterior = prior + expected statistics; the E-step uses
    expectations under the posterior (e.g. ``E[log theta] = psi(alpha) -
    psi(alpha + beta)``), one matrix product per chunk of rows. The lower bound
    is the exact evidence lower bound, constants included (see
    :mod:`mixtura.inference.variational_conjugate`); it never decreases.

    Parameters
    ----------
    n_components : int, default=1
        Number of components (the truncation level for the Dirichlet process).
    family : {'bernoulli', 'poisson', 'categorical', 'multinomial'}, \
            default='poisson'
        The component family. Gaussian components: use
        :class:`~mixtura.BayesianGaussianMixture`.
    tol : float, default=1e-5
        Convergence threshold on the change of the mean per-sample lower bound.
        Smaller than EM's 1e-3: while a redundant component drains away, the
        bound rises slowly, and stopping early leaves it with a visible weight.
    max_iter : int, default=100
        Iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the best lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'} or \
            array-like of shape (n_samples,), default='kmeans'
        How initial responsibilities are made (k-means clusters the family's
        initialisation features), or integer labels of the rows.
    weight_concentration_prior_type : {'dirichlet_process', \
            'dirichlet_distribution'}, default='dirichlet_process'
        Prior of the weights.
    weight_concentration_prior : float, default=None
        Concentration gamma_0 > 0 (None: 1 / n_components).
    alpha_prior, beta_prior : float or array-like of shape (n_features,), \
            default=None
        ``family='bernoulli'`` only: Beta(alpha, beta) prior of each feature's
        probability (None: 1, a uniform prior).
    gamma_shape_prior : float or array-like of shape (n_features,), default=None
        ``family='poisson'`` only: shape of the Gamma prior of each rate (None: 1).
    gamma_rate_prior : float or array-like of shape (n_features,), default=None
        ``family='poisson'`` only: rate of the Gamma prior (None:
        ``gamma_shape_prior`` over the mean count of the data, so that the
        prior mean of every rate is the data's mean count; 1 for all-zero data).
    concentration_prior : float or array-like, default=None
        ``family='categorical'`` or ``'multinomial'``: Dirichlet concentration
        of each level (shape (sum of the columns' numbers of levels,), in the
        order of ``categories_``) or of each term (shape (n_features,)) (None:
        1, a uniform prior).
    missing : {'error', 'em'}, default='error'
        What NaN entries mean: an error, or missing values that drop out of
        their row's expected log-likelihood and of the statistics
        (``'bernoulli'``, ``'poisson'`` and ``'categorical'``; a multinomial
        row's counts cannot lose one entry).
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation and sampling.
    warm_start : bool, default=False
        Continue from the fitted posterior on the next ``fit``.
    verbose : int, default=0
        Print progress.
    verbose_interval : int, default=10
        Iterations between progress messages.
    callback : callable, default=None
        Called after each iteration with an
        :class:`~mixtura.inference.IterationInfo`.
    chunk_size : int, default=None
        Rows processed at a time.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean of the weights.
    weight_concentration_prior_ : float
        gamma_0 used.
    weight_concentration_ : ndarray or tuple of ndarray
        Posterior Dirichlet concentrations, or the stick-breaking Beta
        parameters (a, b) for the Dirichlet process.
    alpha_prior_, beta_prior_ : ndarray of shape (n_features,)
        Bernoulli: the Beta prior used.
    alpha_, beta_ : ndarray of shape (n_components, n_features)
        Bernoulli: the Beta posteriors.
    gamma_shape_prior_, gamma_rate_prior_ : ndarray of shape (n_features,)
        Poisson: the Gamma prior used.
    gamma_shape_, gamma_rate_ : ndarray of shape (n_components, n_features)
        Poisson: the Gamma posteriors.
    concentration_prior_ : ndarray of shape (n_params,)
        Categorical, multinomial: the Dirichlet prior used.
    concentration_ : ndarray of shape (n_components, n_params)
        Categorical, multinomial: the Dirichlet posteriors.
    probabilities_ : ndarray of shape (n_components, n_params)
        Bernoulli, categorical, multinomial: posterior means of the
        probabilities (categorical: concatenated column after column).
    rates_ : ndarray of shape (n_components, n_features)
        Poisson: posterior means of the rates.
    n_levels_ : ndarray of shape (n_features,)
        Categorical: number of levels of each column.
    categories_ : list of ndarray
        Categorical: levels of each column, in code order.
    lengths_ : ndarray of shape (n_components,)
        Multinomial: mean document length of each component (for sampling).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        Iterations of the best initialisation.
    lower_bound_ : float
        Exact evidence lower bound divided by the total sample weight, at the
        start of the last iteration of the best initialisation.
    lower_bounds_ : list of float
        That bound at every iteration of the best initialisation.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    BayesianGaussianMixture : The same for Gaussian components.

    Notes
    -----
    Data are validated as the family's EM estimator validates them: binary 0/1
    values (bernoulli), non-negative integer counts (poisson, multinomial; dense
    or scipy.sparse for multinomial), or any table of labels (categorical: each
    column's levels are encoded as :class:`~mixtura.CategoricalMixture` does).

    Under the Dirichlet process the components are relabelled after each
    M-step in decreasing order of their expected size, which never lowers the
    bound (see :func:`~mixtura.inference.variational_conjugate.sorted_by_mass`),
    so the largest components come first. Variational fits can rest on a plateau where a
    cluster is split in two and drain slowly from it: when a fit keeps a
    component with a small but visible weight, lower ``tol`` or raise
    ``n_init``.

    :meth:`predict`, :meth:`predict_proba` and :meth:`score_samples` use the
    variational E-step, as scikit-learn's ``BayesianGaussianMixture`` does:
    ``score_samples`` is ``logsumexp_k(E[log pi_k] + E[log p(x | theta_k)])``,
    the bound's per-row term, a lower bound on the log posterior predictive
    density. :meth:`sample` draws from the posterior-mean mixture.

    Model files (:func:`mixtura.save`) do not hold a variational posterior;
    save the result of :meth:`prune` instead.

    Examples
    --------
    >>> import numpy as np
    >>> from mixtura import BayesianMixture
    >>> rng = np.random.RandomState(0)
    >>> X = np.concatenate([rng.poisson([2.0, 30.0], size=(100, 2)),
    ...                     rng.poisson([30.0, 2.0], size=(100, 2))])
    >>> model = BayesianMixture(n_components=6, random_state=0).fit(X)
    >>> model.effective_components()
    array([0, 1])
    >>> model.prune().n_components
    2
    """

    #: model files hold a mixture of one family; a variational posterior not yet
    _saves_to_model_files = False

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "family": [str],
        "weight_concentration_prior_type": [StrOptions(set(WEIGHT_PRIORS))],
        "weight_concentration_prior": [None, _POSITIVE],
        "alpha_prior": [None, _POSITIVE, "array-like"],
        "beta_prior": [None, _POSITIVE, "array-like"],
        "gamma_shape_prior": [None, _POSITIVE, "array-like"],
        "gamma_rate_prior": [None, _POSITIVE, "array-like"],
        "concentration_prior": [None, _POSITIVE, "array-like"],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        family="poisson",
        tol=1e-5,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        alpha_prior=None,
        beta_prior=None,
        gamma_shape_prior=None,
        gamma_rate_prior=None,
        concentration_prior=None,
        missing="error",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        chunk_size=None,
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
        self.family = family
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.alpha_prior = alpha_prior
        self.beta_prior = beta_prior
        self.gamma_shape_prior = gamma_shape_prior
        self.gamma_rate_prior = gamma_rate_prior
        self.concentration_prior = concentration_prior
        self.missing = missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.family in ("poisson", "multinomial"):
            # non-negative integers: scikit-learn's checks then draw counts
            tags.input_tags.positive_only = True
            tags.input_tags.categorical = True
        if self.family == "multinomial":
            tags.input_tags.sparse = True
        if self.family == "categorical":
            tags.input_tags.categorical = True
            tags.input_tags.string = True
        return tags

    # -- the family and its prior -----------------------------------------------
    def _conjugate_class(self):
        """The conjugate prior class of ``family``, or a ValueError saying why not."""
        cls = CONJUGATE_PRIORS.get(self.family)
        if cls is not None:
            return cls
        supported = sorted(CONJUGATE_PRIORS)
        reason = _ALTERNATIVES.get(
            self.family, "it is not a family with a conjugate prior here"
        )
        raise ValueError(
            f"BayesianMixture cannot fit family={self.family!r}: {reason}. The "
            f"supported families are {supported}."
        )

    def _family_template(self):
        self._conjugate_class()
        if self.family == "categorical":
            return Categorical(getattr(self, "_encoding_levels", None))
        return {"bernoulli": Bernoulli, "poisson": Poisson}.get(
            self.family, Multinomial
        )()

    def _check_X(self, X, *, reset, ensure_min_samples=1):
        if self._conjugate_class() is CategoricalDirichletPrior:
            # labels of any type, encoded as CategoricalMixture encodes them
            return CategoricalMixture._check_X(
                self, X, reset=reset, ensure_min_samples=ensure_min_samples
            )
        return super()._check_X(X, reset=reset, ensure_min_samples=ensure_min_samples)

    def _check_initial_parameters(self, X):
        # the priors are resolved from the data here, once per fit
        own = _FAMILY_HYPERPARAMETERS[self.family]
        for names in _FAMILY_HYPERPARAMETERS.values():
            for name in names:
                if name not in own and getattr(self, name) is not None:
                    raise ValueError(
                        f"{name} is a hyperparameter of another family than "
                        f"family={self.family!r} (whose prior takes {list(own)}); "
                        f"leave it None."
                    )
        self._weight_prior = WeightPrior(
            self.weight_concentration_prior_type,
            (
                1.0 / self.n_components
                if self.weight_concentration_prior is None
                else float(self.weight_concentration_prior)
            ),
        )
        self._prior = self._resolve_prior(X)

    def _resolve_prior(self, X):
        """The components' prior, defaults filled in (some from the data)."""
        n_features = X.shape[1]

        def vector(name, size=n_features, default=1.0):
            value = getattr(self, name)
            return _check_vector(default if value is None else value, size, name)

        if self.family == "bernoulli":
            return BetaPrior(vector("alpha_prior"), vector("beta_prior"))
        if self.family == "poisson":
            shape = vector("gamma_shape_prior")
            mean = float(np.mean(X)) if X.size else 0.0
            default_rate = shape / mean if mean > 0 else shape
            return GammaPrior(shape, vector("gamma_rate_prior", default=default_rate))
        if self.family == "categorical":
            n_levels = np.asarray(self._encoding_levels, dtype=np.int64)
            return CategoricalDirichletPrior(
                vector("concentration_prior", int(n_levels.sum())), n_levels
            )
        return MultinomialDirichletPrior(vector("concentration_prior"))

    # -- hooks of BaseMixture ---------------------------------------------------
    def _inference_step(self):
        return conjugate_variational_step

    def _initial_mixture(self, data, resp):
        stats = chunked_statistics(data, self._family_template(), resp)
        return VariationalMixture.from_statistics(
            self._weight_prior, self._prior, stats
        )

    def _set_fitted(self, state, dtype):
        self.weight_concentration_prior_ = state.weight_prior.weight_concentration
        self.weight_concentration_ = state.weight_concentration
        for name, value in state.prior.parameters().items():
            setattr(self, f"{name}_prior_", value)
        for name, value in state.posterior.parameters().items():
            setattr(self, f"{name}_", value)
        for name, value in state.posterior.mean_family().arrays().items():
            setattr(self, f"{name}_", value)
        self.weights_ = state.weights()

    def _fitted_state(self):
        cls = self._conjugate_class()
        names = cls.parameter_names
        prior = {name: getattr(self, f"{name}_prior_") for name in names}
        posterior = {name: getattr(self, f"{name}_") for name in names}
        if cls is CategoricalDirichletPrior:
            prior["n_levels"] = posterior["n_levels"] = self.n_levels_
        if cls is MultinomialDirichletPrior:
            posterior["lengths"] = getattr(self, "lengths_", None)
        return VariationalMixture(
            weight_prior=WeightPrior(
                self.weight_concentration_prior_type, self.weight_concentration_prior_
            ),
            prior=cls(**prior),
            weight_concentration=self.weight_concentration_,
            posterior=cls(**posterior),
        )

    def _fitted_mixture(self):
        return self._fitted_state().expected_mixture()

    def _sampling_mixture(self):
        # sampling uses the posterior means, as BayesianGaussianMixture's does
        return Mixture.from_weights(
            self.weights_, self._fitted_state().posterior.mean_family()
        )

    def _fit_dtype(self):
        return np.float64

    # -- hooks of PruningMixin --------------------------------------------------
    def _mean_family(self, components):
        return self._fitted_state().posterior.select(components).mean_family()

    def _plain_estimator(self, n_components):
        return _PLAIN_ESTIMATORS[self.family](
            n_components,
            tol=self.tol,
            max_iter=self.max_iter,
            random_state=self.random_state,
            chunk_size=self.chunk_size,
        )

    def _copy_encoding(self, pruned):
        if self.family == "categorical":
            pruned.categories_ = self.categories_
            pruned._encoding_levels = list(self._encoding_levels)
