"""What every mixtura estimator shares: the scikit-learn API over the fit loop."""

from __future__ import annotations

import sys
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from mixtura._validation import check_data, check_sample_weight
from mixtura.exceptions import DataValidationError
from mixtura.inference import (
    INIT_METHODS,
    ArrayData,
    em_step,
    fit_loop,
    initial_responsibilities,
)
from mixtura.inference.data import predict_log_resp

__all__ = ["BaseMixture"]


class _VerbosePrinter:
    """Progress messages in scikit-learn's format, for ``verbose`` > 0."""

    def __init__(self, verbose, interval, stream=None):
        self.verbose = verbose
        self.interval = interval
        self.stream = stream or sys.stdout

    def __call__(self, info):
        if info.n_iter == 1:
            print(f"Initialization {info.init}", file=self.stream)
        if info.n_iter % self.interval == 0:
            text = f"  Iteration {info.n_iter}"
            if self.verbose >= 2:
                text += (
                    f"\t lower bound {info.lower_bound:.5f}\t change {info.change:.5f}"
                )
            print(text, file=self.stream)


def _combine(callbacks):
    callbacks = [c for c in callbacks if c is not None]
    if not callbacks:
        return None

    def call_all(info):
        for callback in callbacks:
            callback(info)

    return call_all


class BaseMixture(DensityMixin, BaseEstimator):
    """Base class of mixtura's mixture estimators (scikit-learn API).

    Subclasses say which family they fit (:meth:`_family_template`), how user-given
    initial parameters enter (:meth:`_initial_mixture`) and how the fitted mixture
    maps to fitted attributes (:meth:`_set_fitted`, :meth:`_fitted_mixture`).
    Everything else (validation, restarts, the loop, prediction, sampling,
    information criteria) lives here, once.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_METHODS)), "array-like"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "callback": [callable, None],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    #: fitted attributes that model files store, besides the family's parameters
    _fit_info_attributes = ("converged_", "n_iter_", "lower_bound_", "lower_bounds_")

    def __init__(
        self,
        n_components,
        *,
        tol,
        max_iter,
        n_init,
        init_params,
        random_state,
        warm_start,
        verbose,
        verbose_interval,
        callback,
        chunk_size,
    ):
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.callback = callback
        self.chunk_size = chunk_size

    # -- hooks for subclasses ---------------------------------------------------
    @abstractmethod
    def _family_template(self):
        """A family without parameters, configured from the hyperparameters."""

    @abstractmethod
    def _check_initial_parameters(self, X):
        """Validate user-given initial parameters against ``X``'s shape."""

    @abstractmethod
    def _initial_mixture(self, data, resp):
        """The starting mixture from initial responsibilities and user inits."""

    def _check_X(self, X, *, reset, ensure_min_samples=1):
        """Validate ``X`` for fitting (``reset=True``) or prediction.

        The base checks a dense, finite, floating array; then the family checks
        its own support (e.g. counts must be non-negative integers). Estimators
        whose input needs encoding (categories, column groups) override this.
        """
        X = check_data(self, X, reset=reset, ensure_min_samples=ensure_min_samples)
        return self._family_template().check_data(X)

    @abstractmethod
    def _needs_initial_responsibilities(self):
        """False when user-given parameters make the responsibilities unused."""

    @abstractmethod
    def _set_fitted(self, mixture, dtype):
        """Fitted attributes (``weights_``, ...) from a fitted mixture."""

    @abstractmethod
    def _fitted_mixture(self):
        """The fitted mixture, rebuilt from the fitted attributes."""

    # -- fitting ----------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the mixture's parameters with EM.

        Fits ``n_init`` times and keeps the parameters with the largest
        log-likelihood. With ``warm_start=True``, a fitted model continues from its
        current parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one row per sample.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight counts a row that many times.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

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
            Component labels.
        """
        saved_state = dict(self.__dict__)
        try:
            return self._fit(X, sample_weight)
        except BaseException:
            # a failed call leaves a fitted model as it was
            self.__dict__.clear()
            self.__dict__.update(saved_state)
            raise

    def _fit(self, X, sample_weight):
        self._validate_params()
        X = self._check_X(X, reset=True, ensure_min_samples=2)
        n_samples = X.shape[0]
        if n_samples < self.n_components:
            raise DataValidationError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n_samples}. Use fewer components "
                "or more data."
            )
        sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
        self._check_initial_parameters(X)
        data = ArrayData(X, sample_weight, self.chunk_size)
        random_state = check_random_state(self.random_state)

        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            warm = (self._fitted_mixture(), self.lower_bound_)

        def initialize(rng):
            resp = None
            if self._needs_initial_responsibilities():
                resp = initial_responsibilities(
                    self._family_template().init_features(X),
                    self.n_components,
                    self.init_params,
                    rng,
                    sample_weight,
                )
            return self._initial_mixture(data, resp)

        result = fit_loop(
            data,
            initialize,
            em_step,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=random_state,
            warm_start=warm,
            callback=self._progress_callback(),
        )
        self._set_fitted(result.mixture, X.dtype)
        self.converged_ = bool(result.converged)
        self.n_iter_ = int(result.n_iter)
        self.lower_bound_ = float(result.lower_bound)
        self.lower_bounds_ = [float(b) for b in result.lower_bounds]
        log_resp, _ = predict_log_resp(
            ArrayData(X, None, self.chunk_size), self._fitted_mixture()
        )
        return log_resp.argmax(axis=1)

    def _progress_callback(self):
        printer = (
            _VerbosePrinter(self.verbose, self.verbose_interval)
            if self.verbose
            else None
        )
        return _combine([printer, self.callback])

    # -- using a fitted model ---------------------------------------------------
    def _predict_data(self, X):
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        mixture = self._fitted_mixture()
        return predict_log_resp(ArrayData(X, None, self.chunk_size), mixture)

    def predict(self, X):
        """Most probable component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        return self._predict_data(X)[0].argmax(axis=1)

    def predict_proba(self, X):
        """Posterior probability of each component for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities; each row sums to one.
        """
        return np.exp(self._predict_data(X)[0])

    def score_samples(self, X):
        """Log density of each row under the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x_i)``.
        """
        return self._predict_data(X)[1]

    def score(self, X, y=None, sample_weight=None):
        """Mean (optionally weighted) log-likelihood per row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        log_likelihood : float
            ``sum_i w_i log p(x_i) / sum_i w_i``.
        """
        log_density = self.score_samples(X)
        weights = check_sample_weight(sample_weight, len(log_density), np.float64)
        return float(np.average(log_density, weights=weights))

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
            Samples.
        y : ndarray of shape (n_samples,)
            Component of each sample (sorted).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples}. The sampling requires "
                "at least one sample."
            )
        rng = check_random_state(self.random_state)
        samples, labels = self._fitted_mixture().sample(int(n_samples), rng)
        return samples.astype(self._fit_dtype(), copy=False), labels

    def _fit_dtype(self):
        return np.asarray(self.weights_).dtype

    def _n_parameters(self):
        """Number of free parameters of the fitted model."""
        return self._fitted_mixture().n_parameters()

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better).

        ``-2 log L + p log n``, scikit-learn's sign convention. mclust reports the
        negative (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        bic : float
            The criterion.
        """
        n_samples = self._check_X(X, reset=False).shape[0]
        return -2 * self.score(X) * n_samples + self._n_parameters() * np.log(n_samples)

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better): ``-2 log L + 2p``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        aic : float
            The criterion.
        """
        n_samples = self._check_X(X, reset=False).shape[0]
        return -2 * self.score(X) * n_samples + 2 * self._n_parameters()
