"""BayesianMixture: variational Bayes for every family with a conjugate prior."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from mixtura.estimators._docstrings import shared_docstring
from mixtura.estimators._pruning import PruningMixin
from mixtura.estimators._variational import VariationalStateMixin
from mixtura.estimators.base import BaseMixture
from mixtura.estimators.discrete import (
    BernoulliMixture,
    CategoricalMixture,
    PoissonMixture,
)
from mixtura.estimators.gaussian import GaussianMixture
from mixtura.estimators.mixture_model import MixtureModel
from mixtura.estimators.text import MultinomialMixture
from mixtura.families import (
    FAMILIES,
    Bernoulli,
    Categorical,
    Gaussian,
    Multinomial,
    Poisson,
)
from mixtura.inference.data import chunked_statistics
from mixtura.inference.variational import VariationalMixture, variational_step
from mixtura.priors.base import ConjugatePrior
from mixtura.priors.normal_wishart import NormalWishart
from mixtura.priors.weights import WEIGHT_PRIORS, weight_prior

__all__ = ["BayesianMixture", "resolve_prior"]

#: the EM estimator of a family, which :meth:`BayesianMixture.prune` returns and
#: whose data checks and input tags the variational fit shares (a family without
#: one here gets :class:`~mixtura.MixtureModel`)
_EM_ESTIMATORS = {
    Bernoulli: BernoulliMixture,
    Poisson: PoissonMixture,
    Categorical: CategoricalMixture,
    Multinomial: MultinomialMixture,
    Gaussian: GaussianMixture,
}

_POSITIVE = Interval(Real, 0.0, None, closed="neither")


def conjugate_families():
    """Names of the registered families that declare a conjugate prior."""
    return sorted(
        name for name, cls in FAMILIES.items() if cls.conjugate_prior is not None
    )


def conjugate_template(family, estimator_name, also=(), **settings):
    """The template of a family with a conjugate prior, or a clear ValueError.

    Parameters
    ----------
    family : str
        A registered family name.
    estimator_name : str
        Named in the message.
    also : tuple of str, default=()
        Other families the estimator fits, listed in the message.
    **settings
        Keyword arguments of the family's constructor.

    Returns
    -------
    Family
    """
    cls = FAMILIES.get(family)
    if cls is None or cls.conjugate_prior is None:
        reason = (
            "it is not a registered family"
            if cls is None
            else "the family declares no conjugate prior (Family.conjugate_prior)"
        )
        raise ValueError(
            f"{estimator_name} cannot fit family={family!r}: {reason}. The "
            f"supported families are {sorted({*also, *conjugate_families()})}."
        )
    return cls(**settings)


def resolve_prior(prior, template, X):
    """The components' prior of a fit: the family's default, or the user's.

    Parameters
    ----------
    prior : None, dict or ConjugatePrior
        None: ``template.default_prior(X)``; a dict: that default with some
        parameters replaced (a number applies to every feature); a prior
        object: used as given, after its shapes are checked against the data.
    template : Family
        The family without parameters.
    X : ndarray of shape (n_samples, n_features)
        The validated training data.

    Returns
    -------
    ConjugatePrior
    """
    default = template.default_prior(X)
    if prior is None:
        return default
    if isinstance(prior, dict):
        return default.replaced(prior)
    if not isinstance(prior, type(default)):
        raise ValueError(
            f"prior must be a {type(default).__name__} (the conjugate prior of "
            f"family={template.name!r}) or a dict of its parameters "
            f"{list(default.parameter_names)}; got {type(prior).__name__}."
        )
    return prior.checked_against(default)


@shared_docstring
class BayesianMixture(VariationalStateMixin, PruningMixin, BaseMixture):
    """Variational Bayesian mixture of any family with a conjugate prior.

    Mean-field variational inference (Bishop 2006, section 10.4) with the
    family's conjugate prior on the component parameters and either a finite
    Dirichlet or a truncated stick-breaking Dirichlet-process prior on the
    weights (Blei & Jordan 2006). Components the data do not need get weights
    near zero: fit with a generous ``n_components`` and the Dirichlet process,
    then read :meth:`effective_components` or :meth:`prune` to a plain EM model.

    ===========  ===============================================  ==============
    family       prior of each component (:mod:`mixtura.priors`)  parameters
    ===========  ===============================================  ==============
    bernoulli    :class:`~mixtura.priors.Beta` on each feature    alpha, beta
    poisson      :class:`~mixtura.priors.Gamma` on each rate      shape, rate
    categorical  :class:`~mixtura.priors.CategoricalDirichlet`    concentration
                 on each column's level probabilities
    multinomial  :class:`~mixtura.priors.MultinomialDirichlet`    concentration
                 on the term probabilities
    ===========  ===============================================  ==============

    Any registered family that declares ``conjugate_prior`` is fitted the same
    way. The M-step is posterior = prior + expected statistics; the E-step
    uses expectations under the posterior (e.g. ``E[log theta] = psi(alpha) -
    psi(alpha + beta)``), one matrix product per chunk of rows. The lower bound
    is the exact evidence lower bound, constants included (see
    :mod:`mixtura.inference.variational`); it never decreases.

    Parameters
    ----------
    n_components : int, default=1
        Number of components (the truncation level for the Dirichlet process).
    family : str, default='poisson'
        A registered family with a conjugate prior ('bernoulli', 'poisson',
        'categorical', 'multinomial', 'gaussian', ...). For Gaussian
        components with scikit-learn's API and numbers, see
        :class:`~mixtura.BayesianGaussianMixture`; here the Gaussian's bound
        is exact for every covariance structure (see
        :mod:`mixtura.priors.normal_wishart`).
    family_params : dict, default=None
        Keyword arguments of the family (e.g. ``{'covariance_type': 'diag',
        'reg_covar': 1e-6}`` for 'gaussian').
    prior : dict or ConjugatePrior, default=None
        The components' prior: None for the family's default
        (``Family.default_prior(X)``: uniform Beta and Dirichlet priors, and
        Gamma priors whose mean is each feature's mean count), a dict of some
        of its parameters (e.g. ``{'alpha': 2, 'beta': 5}``; a number applies
        to every feature, an array gives one value per feature or level), or
        a prior object such as ``mixtura.priors.Gamma(shape, rate)``.
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
    {{shared: weight_concentration_prior_type}}
    weight_concentration_prior : float, default=None
        Concentration gamma_0 > 0 (None: 1 / n_components).
    missing : {'error', 'em'}, default='error'
        What NaN entries mean: an error, or missing values that drop out of
        their row's expected log-likelihood and of the statistics
        (``'bernoulli'``, ``'poisson'`` and ``'categorical'``; a multinomial
        row's counts cannot lose one entry).
    {{shared: random_state}}
    warm_start : bool, default=False
        Continue from the fitted posterior on the next ``fit``.
    {{shared: verbose verbose_interval callback progress chunk_size}}

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean of the weights.
    weight_concentration_prior_ : float
        gamma_0 used.
    weight_concentration_ : ndarray or tuple of ndarray
        Posterior Dirichlet concentrations, or the stick-breaking Beta
        parameters (a, b) for the Dirichlet process.
    prior_ : ConjugatePrior
        The components' prior used (parameters of shape (n_params,)).
    posterior_ : ConjugatePrior
        The components' posterior (parameters of shape (n_components,
        n_params)); the fitted model's source of truth.
    <name>_prior_, <name>_ : ndarray
        Each parameter of the prior and of the posterior by its name
        (``alpha_prior_``, ``alpha_``, ``beta_prior_``, ``beta_`` for
        Bernoulli; ``shape_``, ``rate_`` for Poisson; ``concentration_`` for
        the Dirichlets).
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
    bound (see :func:`~mixtura.inference.variational.sorted_by_mass`),
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
        "family_params": [None, dict],
        "prior": [None, dict, ConjugatePrior, NormalWishart],
        "weight_concentration_prior_type": [StrOptions(set(WEIGHT_PRIORS))],
        "weight_concentration_prior": [None, _POSITIVE],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        family="poisson",
        family_params=None,
        prior=None,
        tol=1e-5,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        missing="error",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        progress=False,
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
            progress=progress,
            chunk_size=chunk_size,
        )
        self.family = family
        self.family_params = family_params
        self.prior = prior
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.missing = missing

    # -- the family, its prior and its EM estimator ---------------------------
    def _em_estimator_class(self):
        """The family's EM estimator (MixtureModel for a family without one)."""
        return _EM_ESTIMATORS.get(FAMILIES.get(self.family), MixtureModel)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.family in FAMILIES:  # an unknown family fails in fit, not here
            em_tags = self._em_estimator_class()().__sklearn_tags__().input_tags
            for name in ("positive_only", "categorical", "sparse", "string"):
                setattr(tags.input_tags, name, getattr(em_tags, name))
        return tags

    def _family_template(self):
        settings = dict(self.family_params or {})
        if FAMILIES.get(self.family) is Categorical:
            # the codes' levels, known once the table is encoded
            settings["n_levels"] = getattr(self, "_encoding_levels", None)
        return conjugate_template(self.family, type(self).__name__, **settings)

    def _check_X(self, X, *, reset, ensure_min_samples=1):
        self._family_template()  # an unknown or non-conjugate family fails first
        own_check = self._em_estimator_class()._check_X
        if own_check is not BaseMixture._check_X:
            # e.g. labels of any type, encoded as CategoricalMixture encodes them
            return own_check(
                self, X, reset=reset, ensure_min_samples=ensure_min_samples
            )
        return super()._check_X(X, reset=reset, ensure_min_samples=ensure_min_samples)

    def _check_missing_supported(self, template):
        super()._check_missing_supported(template)
        if self._missing_em() and not template.conjugate_prior.supports_missing:
            raise ValueError(
                f"missing='em' is not available for family={self.family!r} in "
                f"{type(self).__name__}: the variational E-step of its "
                f"{template.conjugate_prior.__name__} prior needs complete rows. "
                "Drop or impute rows with missing values."
            )

    def _check_initial_parameters(self, X):
        # the priors are resolved from the data here, once per fit
        self._weight_prior = weight_prior(
            self.weight_concentration_prior_type,
            (
                1.0 / self.n_components
                if self.weight_concentration_prior is None
                else self.weight_concentration_prior
            ),
        )
        self._prior = resolve_prior(self.prior, self._family_template(), X)

    # -- hooks of BaseMixture ---------------------------------------------------
    def _inference_step(self):
        return variational_step

    def _initial_mixture(self, data, resp, statistics=chunked_statistics):
        template = self._family_template()
        stats = statistics(data, template, resp)
        return VariationalMixture.from_statistics(
            self._weight_prior, self._prior, template, stats
        )

    def _set_fitted(self, state, dtype):
        self.weight_concentration_prior_ = state.weight_prior.weight_concentration
        self.weight_concentration_ = state.weight_concentration
        self.prior_ = state.prior
        self.posterior_ = state.posterior
        for name, value in state.prior.parameters().items():
            setattr(self, f"{name}_prior_", value)
        for name, value in state.posterior.parameters().items():
            setattr(self, f"{name}_", value)
        for name, value in state.mean_family().arrays().items():
            setattr(self, f"{name}_", value)
        self.weights_ = state.weights()

    def _fit_dtype(self):
        return np.float64

    # -- hooks of PruningMixin --------------------------------------------------
    def _plain_estimator(self, n_components):
        options = {
            "tol": self.tol,
            "max_iter": self.max_iter,
            "random_state": self.random_state,
            "chunk_size": self.chunk_size,
        }
        em_class = self._em_estimator_class()
        if em_class is MixtureModel:
            options["family"] = self.family
            options["family_params"] = self.family_params
        else:
            # the EM estimators take their family's settings as keywords
            options.update(self.family_params or {})
        return em_class(n_components, **options)

    def _copy_encoding(self, pruned):
        if hasattr(self, "_encoding_levels"):
            pruned.categories_ = self.categories_
            pruned._encoding_levels = list(self._encoding_levels)
