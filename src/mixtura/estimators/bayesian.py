"""BayesianGaussianMixture: variational Gaussian mixtures, scikit-learn's API."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from mixtura.estimators._docstrings import shared_docstring
from mixtura.estimators._pruning import PruningMixin
from mixtura.estimators._variational import VariationalStateMixin
from mixtura.estimators.base import BaseMixture
from mixtura.estimators.gaussian import GaussianMixture
from mixtura.families.base import fill_column_means
from mixtura.families.gaussian import Gaussian
from mixtura.inference.data import chunked_statistics
from mixtura.inference.variational import (
    VariationalMixture,
    scikit_learn_variational_step,
)
from mixtura.priors.normal_wishart import (
    COVARIANCE_TYPES,
    NormalWishart,
    checked_array,
    scale_rule,
)
from mixtura.priors.weights import WEIGHT_PRIORS, weight_prior

__all__ = ["BayesianGaussianMixture"]


@shared_docstring
class BayesianGaussianMixture(VariationalStateMixin, PruningMixin, BaseMixture):
    """Variational Bayesian Gaussian mixture (finite Dirichlet or Dirichlet process).

    A drop-in for :class:`sklearn.mixture.BayesianGaussianMixture`: the same
    parameters, fitted attributes and, from the same start, the same numbers. The
    weights' prior is a finite Dirichlet or a truncated stick-breaking Dirichlet
    process (Blei & Jordan 2006); each component has a Normal-Wishart prior
    (Bishop 2006, section 10.2). Components the data do not support get weights
    near zero; :attr:`weights_` shows how many are effectively used,
    :meth:`effective_components` which, and :meth:`prune` makes a
    :class:`~mixtura.GaussianMixture` of them.

    Parameters
    ----------
    n_components : int, default=1
        Number of components (the truncation level for the Dirichlet process).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Structure of the covariances.
    tol : float, default=1e-3
        Convergence threshold on the change of the lower bound (its total over the
        samples, as scikit-learn's).
    reg_covar : float, default=1e-6
        Added to the diagonal of the statistics' covariances.
    max_iter : int, default=100
        Iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the best lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'} or \
            array-like of shape (n_samples,), default='kmeans'
        How initial responsibilities are made, or integer labels of the rows.
    {{shared: weight_concentration_prior_type}}
    weight_concentration_prior : float, default=None
        Concentration gamma_0 (None: 1 / n_components).
    mean_precision_prior : float, default=None
        beta_0 (None: 1).
    mean_prior : array-like of shape (n_features,), default=None
        m_0 (None: the data's mean).
    degrees_of_freedom_prior : float, default=None
        nu_0, greater than n_features - 1 (None: n_features).
    covariance_prior : float or array-like, default=None
        The Wishart prior's covariance: (d, d) for full and tied, (d,) for diag, a
        float for spherical (None: the data's covariance or variances).
    missing : {'error', 'em'}, default='error'
        What NaN entries mean: an error, or missing values. With ``'em'`` the
        missing coordinates get a variational factor q(x_m | z), the Gaussian
        conditional under the posterior-mean precision (a structured mean field,
        as in Ghahramani & Jordan 1994 for EM): each row's E-step uses the
        marginal density of its observed coordinates and the M-step the
        expected completed statistics; the bound includes q(x_m)'s entropy.
        Data-based prior defaults then use the column means of the observed
        entries (and the covariance of the mean-filled data).
    {{shared: random_state}}
    warm_start : bool, default=False
        Continue from the fitted posterior on the next ``fit``.
    {{shared: verbose verbose_interval callback progress chunk_size}}

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean of the weights.
    means_ : ndarray of shape (n_components, n_features)
        Posterior means of the component means.
    covariances_ : ndarray
        Normalised Wishart scales' inverses (scikit-learn's convention).
    precisions_ : ndarray
        Their inverses.
    precisions_cholesky_ : ndarray
        Upper-triangular factors of ``precisions_``.
    weight_concentration_prior_ : float
        gamma_0 used.
    weight_concentration_ : ndarray or tuple of ndarray
        Posterior Dirichlet concentrations, or the stick-breaking Beta
        parameters (a, b) for the Dirichlet process.
    mean_precision_prior_ : float
        beta_0 used.
    mean_precision_ : ndarray of shape (n_components,)
        Posterior beta_k.
    mean_prior_ : ndarray of shape (n_features,)
        m_0 used.
    degrees_of_freedom_prior_ : float
        nu_0 used.
    degrees_of_freedom_ : ndarray of shape (n_components,) or float
        Posterior nu_k (one value for tied).
    covariance_prior_ : float or ndarray
        The prior covariance used.
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        Iterations of the best initialisation.
    lower_bound_ : float
        Final lower bound of the best initialisation.
    lower_bounds_ : list of float
        The lower bound at every iteration of the best initialisation.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    #: model files hold a mixture of one family; a variational posterior not yet
    _saves_to_model_files = False

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "weight_concentration_prior_type": [StrOptions(set(WEIGHT_PRIORS))],
        "weight_concentration_prior": [
            None,
            Interval(Real, 0.0, None, closed="neither"),
        ],
        "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "covariance_prior": [
            None,
            "array-like",
            Interval(Real, 0.0, None, closed="neither"),
        ],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
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
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.missing = missing

    # -- hooks of BaseMixture ---------------------------------------------------
    def _family_template(self):
        return Gaussian(self.covariance_type, self.reg_covar)

    def _inference_step(self):
        return scikit_learn_variational_step

    def _check_initial_parameters(self, X):
        # the priors are resolved from the data here, once per fit
        self._weight_prior, self._prior = self._resolve_prior(X)

    def _initial_mixture(self, data, resp, statistics=chunked_statistics):
        template = self._family_template()
        stats = statistics(data, template, resp)
        return VariationalMixture.from_statistics(
            self._weight_prior, self._prior, template, stats, reorder=False
        )

    def _set_fitted(self, state, dtype):
        prior, posterior = state.prior, state.posterior
        self.weight_concentration_prior_ = state.weight_prior.weight_concentration
        self.mean_precision_prior_ = prior.mean_precision
        self.mean_prior_ = prior.mean
        self.degrees_of_freedom_prior_ = prior.degrees_of_freedom
        self.covariance_prior_ = prior.covariance
        self.weight_concentration_ = state.weight_concentration
        self.mean_precision_ = posterior.mean_precision
        self.means_ = posterior.mean
        self.degrees_of_freedom_ = posterior.degrees_of_freedom
        self.covariances_ = posterior.covariance
        self.precisions_cholesky_ = posterior.precisions_cholesky
        self.precisions_ = posterior.structure.precisions(posterior.precisions_cholesky)
        self.weights_ = state.weights()

    def _fit_dtype(self):
        return np.asarray(self.means_).dtype

    # -- hooks of PruningMixin --------------------------------------------------
    def _plain_estimator(self, n_components):
        return GaussianMixture(
            n_components,
            covariance_type=self.covariance_type,
            tol=self.tol,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            random_state=self.random_state,
            chunk_size=self.chunk_size,
        )

    # -- the prior --------------------------------------------------------------
    def _resolve_prior(self, X):
        """The weights' and components' priors, defaults from the data as in sklearn.

        Returns
        -------
        weights : WeightPrior
        components : NormalWishart
            With scikit-learn's expectations (``scikit_learn_terms``).
        """
        n_features = X.shape[1]
        X64 = fill_column_means(np.asarray(X, dtype=np.float64))
        mean = (
            X64.mean(axis=0)
            if self.mean_prior is None
            else checked_array(self.mean_prior, (n_features,), "mean_prior")
        )
        dof = self.degrees_of_freedom_prior
        if dof is None:
            dof = float(n_features)
        elif dof <= n_features - 1:
            raise ValueError(
                "The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{n_features - 1}, but got {dof:.3f}. It must exceed "
                "n_features - 1; None takes n_features."
            )
        weights = weight_prior(
            self.weight_concentration_prior_type,
            (
                1.0 / self.n_components
                if self.weight_concentration_prior is None
                else float(self.weight_concentration_prior)
            ),
        )
        components = NormalWishart(
            structure=self._family_template().structure,
            mean_precision=(
                1.0
                if self.mean_precision_prior is None
                else float(self.mean_precision_prior)
            ),
            mean=mean,
            degrees_of_freedom=float(dof),
            covariance=self._resolve_covariance_prior(X64),
            reg_covar=self.reg_covar,
            scikit_learn_terms=True,
        )
        return weights, components

    def _resolve_covariance_prior(self, X):
        rule = scale_rule(self._family_template().structure)
        if self.covariance_prior is None:
            return rule.scikit_learn_covariance(X)
        shape = rule.covariance_shape(X.shape[1])
        prior = checked_array(self.covariance_prior, shape, "covariance_prior")
        if prior.ndim == 2:
            if not np.allclose(prior, prior.T) or np.linalg.eigvalsh(prior)[0] <= 0:
                raise ValueError(
                    "covariance_prior must be a symmetric, positive-definite matrix."
                )
        elif np.any(prior <= 0):
            raise ValueError("covariance_prior must be positive.")
        return float(prior) if prior.ndim == 0 else prior
