"""Mixtures of regressions and mixtures of experts (scikit-learn regressor API).

:class:`MixtureRegression` (constant mixing weights: clusterwise or switching
regression, flexmix's ``FLXMRglm``, mixtools' ``regmixEM``) and
:class:`MixtureOfExperts` (weights from a softmax gate of the inputs; Jordan &
Jacobs 1994, flexmix's concomitant ``FLXPmultinom``) fit conditional families
(:mod:`mixtura.families.conditional`) with the shared fit loop: a row is the
pair (x, y), the experts' statistics are their weighted fits' sums, and each
iteration is EM with step halving (:mod:`mixtura.inference.line_search`), so
the log-likelihood never decreases for any expert. An expert kind
(:data:`EXPERT_KINDS`) says how ``y`` becomes response columns, which family
models them and what a point prediction is; a new kind joins with
:func:`register_expert_kind`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from mixtura._random import RANDOM_STATE_CONSTRAINT, check_random_state
from mixtura._validation import check_data, check_sample_weight
from mixtura.exceptions import DataValidationError
from mixtura.experts import GatedMixture, SoftmaxGate
from mixtura.families.conditional import RowLayout
from mixtura.families.linear_regression import GaussianRegression
from mixtura.families.logistic_regression import LogisticRegression
from mixtura.families.poisson_regression import PoissonRegression
from mixtura.inference.data import ArrayData, chunked_statistics, predict_log_resp
from mixtura.inference.init import INIT_METHODS, initial_responsibilities
from mixtura.inference.line_search import monotone_em_steps
from mixtura.inference.loop import FitInterrupted, combine_callbacks, fit_loop
from mixtura.inference.sources import check_enough_rows
from mixtura.mixture import Mixture
from mixtura.progress import FitProgress
from mixtura.stats import EMPTY_COMPONENT_GUARD

__all__ = [
    "EXPERT_KINDS",
    "MixtureOfExperts",
    "MixtureRegression",
    "register_expert_kind",
]


# -- expert kinds: y -> response columns, the family, point predictions --------
class ExpertKind(ABC):
    """How an estimator's ``y`` is modelled: encoding, family, predictions."""

    #: the estimators' ``expert=`` name
    name: ClassVar[str]
    #: whether ``fit`` and ``predict`` take an ``offset``
    takes_offset: ClassVar[bool] = False

    @abstractmethod
    def encode(self, y, estimator, *, fitting):
        """The response columns of ``y``, shape (n_samples, n_outputs), float64.

        When ``fitting``, record on ``estimator`` what decoding needs (the
        classes, whether y was 1-D) in ``estimator._response``.
        """

    @abstractmethod
    def template(self, layout, estimator):
        """The conditional family (a template) for the estimator's settings."""

    def point_prediction(self, mean, estimator):
        """``predict``'s output from the mixture mean (n_samples, n_outputs)."""
        return mean[:, 0] if estimator._response["y_1d"] else mean

    def coefficients(self, family, estimator):
        """``coef_`` and ``intercept_`` from the fitted family's coefficients."""
        coefficients = family.coefficients
        if family.fit_intercept:
            slopes, intercepts = coefficients[:, :-1], coefficients[:, -1]
        else:
            slopes = coefficients
            intercepts = np.zeros((coefficients.shape[0], *coefficients.shape[2:]))
        return slopes, intercepts


def _numeric_response(y, what):
    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataValidationError(f"y must be numeric for {what} ({error}).") from None
    if values.ndim not in (1, 2) or values.size == 0:
        raise DataValidationError(
            f"y must be a 1-D or 2-D array of responses; got shape {values.shape}."
        )
    if not np.isfinite(values).all():
        rows = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(1))
        raise DataValidationError(
            f"y contains NaN or infinity at rows {rows[:5].tolist()}; drop or "
            "impute those rows before fitting."
        )
    return values


class _GaussianExperts(ExpertKind):
    name = "gaussian"

    def encode(self, y, estimator, *, fitting):
        values = _numeric_response(y, "Gaussian experts")
        if fitting:
            estimator._response = {"y_1d": values.ndim == 1}
        return values.reshape(len(values), -1)

    def template(self, layout, estimator):
        return GaussianRegression(
            layout,
            estimator.fit_intercept,
            estimator.alpha,
            noise=estimator.noise,
            reg_covar=estimator.reg_covar,
        )

    def coefficients(self, family, estimator):
        slopes, intercepts = family.coefficients, family.intercepts
        if estimator._response["y_1d"]:
            return slopes[:, :, 0], intercepts[:, 0]
        return slopes, intercepts


class _PoissonExperts(ExpertKind):
    name = "poisson"
    takes_offset = True

    def encode(self, y, estimator, *, fitting):
        values = _numeric_response(y, "Poisson experts")
        if values.ndim != 1:
            raise DataValidationError(
                f"Poisson experts model one count per row; y has shape {values.shape}."
            )
        if fitting:
            estimator._response = {"y_1d": True}
        return values[:, None]

    def template(self, layout, estimator):
        return PoissonRegression(layout, estimator.fit_intercept, estimator.alpha)


class _LogisticExperts(ExpertKind):
    name = "logistic"

    def encode(self, y, estimator, *, fitting):
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise DataValidationError(
                f"logistic experts model one class per row; y has shape {labels.shape}."
            )
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise DataValidationError("y contains NaN or infinity; drop those rows.")
        if fitting:
            classes = np.unique(labels)
            if len(classes) < 2:
                raise DataValidationError(
                    f"logistic experts need at least two classes in y; got only "
                    f"{classes.tolist()}."
                )
            estimator._response = {"y_1d": True, "classes": classes}
        classes = estimator._response["classes"]
        codes = np.searchsorted(classes, labels)
        codes = np.minimum(codes, len(classes) - 1)
        unseen = classes[codes] != labels
        if unseen.any():
            raise DataValidationError(
                f"y holds classes {np.unique(labels[unseen])[:5].tolist()} that were "
                f"not seen in fit (classes_ is {classes.tolist()})."
            )
        return codes[:, None].astype(np.float64)

    def template(self, layout, estimator):
        n_classes = len(estimator._response["classes"])
        return LogisticRegression(
            layout, n_classes, estimator.fit_intercept, estimator.alpha
        )

    def point_prediction(self, mean, estimator):
        return estimator._response["classes"][mean.argmax(axis=1)]

    def coefficients(self, family, estimator):
        slopes, intercepts = super().coefficients(family, estimator)
        if family.n_classes == 2:  # binary: one column, P(y = classes_[1])
            return slopes[..., 0], intercepts[..., 0]
        return slopes, intercepts


#: expert name -> kind (``MixtureRegression(expert=...)``)
EXPERT_KINDS: dict[str, ExpertKind] = {}


def register_expert_kind(kind):
    """Make an :class:`ExpertKind` available as ``expert=kind.name``."""
    EXPERT_KINDS[kind.name] = kind
    return kind


for _kind in (_GaussianExperts(), _PoissonExperts(), _LogisticExperts()):
    register_expert_kind(_kind)


def _random_partition(X, n_components, random_state, sample_weight):
    """flexmix's default start: every row given to a random component."""
    labels = random_state.randint(n_components, size=X.shape[0])
    resp = np.zeros((X.shape[0], n_components))
    resp[np.arange(X.shape[0]), labels] = 1.0
    return resp


#: initialisations of the experts' responsibilities by name
REGRESSION_INIT_METHODS = {**INIT_METHODS, "random_partition": _random_partition}


# -- the estimators -------------------------------------------------------------
class MixtureRegression(RegressorMixin, BaseEstimator):
    """A finite mixture of regressions: ``p(y | x) = sum_k w_k p(y | x, k)``.

    Clusterwise (switching) regression with constant mixing weights, fitted
    by EM: each expert's M-step is a weighted least-squares fit (Gaussian
    experts, exact maximum likelihood) or one weighted IRLS step (logistic and
    Poisson experts), batched over the K experts, with step halving so that
    the log-likelihood never decreases.

    Parameters
    ----------
    n_components : int, default=2
        Number of experts K.
    expert : {'gaussian', 'logistic', 'poisson'}, default='gaussian'
        The experts' family (:data:`EXPERT_KINDS`): linear regressions with
        Gaussian noise (multi-output when y is 2-D), multinomial logits of a
        class (binary or more classes), or log-linear Poisson regressions of a
        count (with an optional ``offset``, the log exposure).
    noise : {'component', 'shared'}, default='component'
        Gaussian experts: each expert's own noise (co)variance, or one shared.
    fit_intercept : bool, default=True
    alpha : float, default=0.0
        L2 penalty on the slopes (never on the intercepts); the fit maximises
        the penalised log-likelihood.
    reg_covar : float, default=1e-6
        Gaussian experts: added to each noise variance.
    tol : float, default=1e-6
        The fit stops when the mean per-row log-likelihood changes by less.
    max_iter : int, default=500
    n_init : int, default=1
        Restarts; the best log-likelihood is kept.
    init_params : str or array-like, default='kmeans'
        ``'kmeans'`` (on the standardised (x, y)), ``'k-means++'``,
        ``'random'`` (random responsibilities), ``'random_from_data'``,
        ``'random_partition'`` (flexmix's default), integer labels of shape
        (n_samples,), or responsibilities of shape (n_samples, n_components).
    random_state : int, RandomState, Generator or None, default=None
    callback : callable or None, default=None
        Called with an :class:`~mixtura.inference.loop.IterationInfo` after
        every EM iteration.
    progress : bool, default=False
        Draw a bar over restarts x iterations on stderr when it is a terminal
        (needs tqdm: ``pip install "mixtura[progress]"``). Ctrl-C during a fit
        keeps the best restart so far as the fit and raises the interrupt
        again (:class:`~mixtura.inference.loop.FitInterrupted`).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    coef_ : ndarray
        Slopes: (n_components, n_features) for one response (a binary
        logistic's models ``P(y = classes_[1])``), (n_components, n_features,
        n_outputs) for multi-output Gaussian experts, (n_components,
        n_features, n_classes - 1) for more than two classes.
    intercept_ : ndarray
        (n_components,) or (n_components, n_outputs or n_classes - 1).
    noise_covariances_ : ndarray of shape (n_components, n_outputs, n_outputs)
        Gaussian experts only.
    classes_ : ndarray
        Logistic experts only.
    mixture_ : Mixture
        The fitted mixture (the one source of the attributes above).
    converged_, n_iter_, lower_bound_, lower_bounds_, fit_events_
        As for :class:`~mixtura.GaussianMixture` (``lower_bound_`` is the
        mean per-row conditional log-likelihood).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from mixtura import MixtureRegression
    >>> rng = np.random.RandomState(0)
    >>> x = rng.uniform(-3, 3, size=(400, 1))
    >>> side = rng.rand(400) < 0.5
    >>> y = np.where(side, 2 * x[:, 0] + 1, -x[:, 0]) + 0.1 * rng.randn(400)
    >>> model = MixtureRegression(2, random_state=0, n_init=3).fit(x, y)
    >>> np.sort(np.round(model.coef_[:, 0], 1))
    array([-1.,  2.])
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "expert": [StrOptions(set(EXPERT_KINDS))],
        "noise": [StrOptions({"component", "shared"})],
        "fit_intercept": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(REGRESSION_INIT_METHODS)), "array-like"],
        "random_state": RANDOM_STATE_CONSTRAINT,
        "callback": [callable, None],
        "progress": ["boolean"],
    }

    _fit_info_attributes = ("converged_", "n_iter_", "lower_bound_", "lower_bounds_")

    def __init__(
        self,
        n_components=2,
        *,
        expert="gaussian",
        noise="component",
        fit_intercept=True,
        alpha=0.0,
        reg_covar=1e-6,
        tol=1e-6,
        max_iter=500,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        callback=None,
        progress=False,
    ):
        self.n_components = n_components
        self.expert = expert
        self.noise = noise
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.reg_covar = reg_covar
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.callback = callback
        self.progress = progress

    # -- fitting ----------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit the experts (and weights) by EM.

        A failed fit leaves the estimator as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Responses: real values (Gaussian), classes (logistic) or
            non-negative integer counts (Poisson).
        sample_weight : array-like of shape (n_samples,), default=None
        offset : array-like of shape (n_samples,), default=None
            Poisson experts: added to each expert's linear predictor (the log
            of each row's exposure).

        Returns
        -------
        self : MixtureRegression
        """
        fitted = clone(self)
        interrupt = None
        try:
            fitted._fit(X, y, sample_weight, offset)
        except FitInterrupted as error:
            interrupt = error  # Ctrl-C: ``fitted`` holds the best restart so far
        for name in [name for name in vars(self) if name.endswith("_")]:
            delattr(self, name)
        vars(self).update(vars(fitted))
        if interrupt is not None:
            interrupt.estimator = self
            raise interrupt
        return self

    def _kind(self):
        return EXPERT_KINDS[self.expert]

    def _fit(self, X, y, sample_weight, offset):
        self._validate_params()
        if y is None:
            raise DataValidationError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: give the response of every row of X."
            )
        X = check_data(self, X, reset=True, advise_missing_em=False)
        X = np.asarray(X, dtype=np.float64)
        rows = self._joined_rows(X, y, offset, fitting=True)
        check_enough_rows(len(rows), self.n_components)
        template = self._family_template()
        template.check_rows(rows)
        weights = check_sample_weight(sample_weight, len(rows), np.float64)
        data = ArrayData(rows, weights)
        random_state = check_random_state(self.random_state)
        steps = monotone_em_steps()
        bar = None
        if self.progress:
            bar = FitProgress(self.n_init, self.max_iter, desc=type(self).__name__)
        interrupt = None
        try:
            result = fit_loop(
                data,
                lambda rng: self._initial_mixture(data, template, rng),
                steps,
                n_init=self.n_init,
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=random_state,
                callback=combine_callbacks([self.callback, bar]),
            )
        except FitInterrupted as error:
            # Ctrl-C (issue 18): the best restart so far is the fit
            result, interrupt = error.result, error
        finally:
            if bar is not None:
                bar.close(finished=interrupt is None)
        self._adopt_mixture(steps.to_mixture(result.mixture), np.float64)
        for name, value in result.fitted_attributes().items():
            setattr(self, name, value)
        self._after_fit(X)
        if interrupt is not None:
            raise interrupt

    def _after_fit(self, X):
        """What a subclass derives from the fitted mixture and the training X."""

    def _joined_rows(self, X, y, offset, *, fitting):
        kind = self._kind()
        responses = kind.encode(y, self, fitting=fitting)
        if len(responses) != len(X):
            raise DataValidationError(
                f"y has {len(responses)} rows and X has {len(X)}; give one "
                "response per row of X."
            )
        if offset is not None and not kind.takes_offset:
            raise DataValidationError(
                f"{self.expert!r} experts take no offset; pass offset only with "
                "expert='poisson'."
            )
        if fitting:
            self._response["n_inputs"] = X.shape[1]
            self._response["n_outputs"] = responses.shape[1]
            self._response["offset"] = offset is not None
        if offset is not None:
            offset = np.asarray(offset, dtype=np.float64).reshape(-1)
            if offset.shape != (len(X),):
                raise DataValidationError(
                    f"offset must have shape ({len(X)},); got {offset.shape}."
                )
        elif self._response["offset"]:
            offset = np.zeros(len(X))  # exposure 1 where the fit had offsets
        return self._layout().join(X, responses, offset)

    def _layout(self):
        return RowLayout(
            self._response["n_inputs"],
            self._response["n_outputs"],
            self._response["offset"],
        )

    def _family_template(self):
        return self._kind().template(self._layout(), self)

    def _initial_responsibilities(self, data, template, random_state):
        n = data.n_samples
        if not isinstance(self.init_params, str):
            given = np.asarray(self.init_params)
            if given.ndim == 2:
                if given.shape != (n, self.n_components) or not np.all(given >= 0):
                    raise DataValidationError(
                        "init_params given as responsibilities must be non-negative "
                        f"with shape ({n}, {self.n_components}); got {given.shape}."
                    )
                return given / given.sum(axis=1, keepdims=True)
            return initial_responsibilities(
                template.init_features(data.X), self.n_components, given, random_state
            )
        method = REGRESSION_INIT_METHODS[self.init_params]
        features = template.init_features(data.X)
        return np.asarray(
            method(features, self.n_components, random_state, data.sample_weight)
        )

    def _initial_mixture(self, data, template, random_state):
        """Experts (and weights, or a gate) fitted to initial responsibilities.

        Generalised linear experts take :attr:`initial_refinements` more
        Newton steps at the same responsibilities, so EM starts from fitted
        experts.
        """
        resp = self._initial_responsibilities(data, template, random_state)
        family = template.maximize(chunked_statistics(data, template, resp))
        for _ in range(template.initial_refinements):
            family = family.maximize(chunked_statistics(data, family, resp))
        return self._initial_state(data, resp, family)

    def _initial_state(self, data, resp, family):
        """The initial mixture of ``family`` with weights from ``resp``."""
        weights = data.sample_weight
        weighted = resp if weights is None else resp * weights[:, None]
        counts = weighted.sum(axis=0) + EMPTY_COMPONENT_GUARD
        return Mixture.from_weights(counts / counts.sum(), family)

    # -- fitted state -----------------------------------------------------------
    def _adopt_mixture(self, mixture, dtype):
        """Make ``mixture`` the fitted one and derive the attributes from it."""
        self.mixture_ = mixture
        family = mixture.family
        self.coef_, self.intercept_ = self._kind().coefficients(family, self)
        self.weights_ = self._constant_weights(mixture)
        if hasattr(family, "noise_covariances"):
            self.noise_covariances_ = family.noise_covariances
        if "classes" in self._response:
            self.classes_ = self._response["classes"]

    def _constant_weights(self, mixture):
        return mixture.weights

    def _fitted_mixture(self):
        check_is_fitted(self, "mixture_")
        return self.mixture_

    def _fit_dtype(self):
        return np.float64

    def _encoding_state(self):
        state = {
            "n_inputs": int(self._response["n_inputs"]),
            "n_outputs": int(self._response["n_outputs"]),
            "offset": bool(self._response["offset"]),
            "y_1d": bool(self._response["y_1d"]),
        }
        if "classes" in self._response:
            state["classes"] = self._response["classes"].tolist()
        return state

    def _set_encoding_state(self, state):
        if set(state) - {"n_outputs", "offset", "y_1d", "classes", "n_inputs"}:
            raise ValueError(f"unknown encoding keys {sorted(state)}")
        response = {
            "n_inputs": int(state["n_inputs"]),
            "n_outputs": int(state["n_outputs"]),
            "offset": bool(state["offset"]),
            "y_1d": bool(state["y_1d"]),
        }
        if "classes" in state:
            response["classes"] = np.asarray(state["classes"])
        self._response = response

    # -- using the fitted model -------------------------------------------------
    def _rows(self, X, y=None, offset=None):
        """Validated rows for prediction (responses 0 where y is not given)."""
        check_is_fitted(self, "mixture_")
        X = np.asarray(check_data(self, X, reset=False, advise_missing_em=False))
        X = X.astype(np.float64, copy=False)
        if y is None:
            responses = np.zeros((len(X), self._response["n_outputs"]))
            if offset is not None and not self._kind().takes_offset:
                raise DataValidationError(f"{self.expert!r} experts take no offset.")
            if offset is None:
                offset = np.zeros(len(X)) if self._response["offset"] else None
            else:
                offset = np.asarray(offset, dtype=np.float64).reshape(-1)
                if offset.shape != (len(X),):
                    raise DataValidationError(
                        f"offset must have shape ({len(X)},); got {offset.shape}."
                    )
            return self._layout().join(X, responses, offset)
        rows = self._joined_rows(X, y, offset, fitting=False)
        self.mixture_.family.check_rows(rows)
        return rows

    def _log_gate(self, rows):
        """Log mixing weights of every row, shape (n_samples, n_components)."""
        return np.broadcast_to(
            self.mixture_.log_weights, (len(rows), self.mixture_.n_components)
        )

    def predict_mean(self, X, offset=None):
        """The mixture's mean response ``sum_k w_k(x) E[y | x, k]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        offset : array-like of shape (n_samples,), default=None
            Poisson experts: the rows' log exposure (0 when omitted).

        Returns
        -------
        mean : ndarray of shape (n_samples, n_outputs)
            For logistic experts, the class probabilities (n_samples, n_classes).
        """
        rows = self._rows(X, offset=offset)
        gate = np.exp(self._log_gate(rows))
        return np.einsum("nk,nkq->nq", gate, self.mixture_.family.mean_response(rows))

    def predict(self, X, offset=None):
        """The mixture mean (Gaussian, Poisson) or most probable class (logistic).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return self._kind().point_prediction(self.predict_mean(X, offset), self)

    def predict_proba(self, X, y=None, offset=None):
        """Membership of each row: given x and y, or given x alone.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            With y, the posterior ``P(k | x, y)``; without, the prior
            ``P(k | x)``: the mixing weights, or a gate's probabilities.
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        if y is None:
            return np.exp(self._log_gate(self._rows(X, offset=offset))).copy()
        return np.exp(self._log_resp(X, y, offset)[0])

    def _log_resp(self, X, y, offset=None):
        rows = self._rows(X, y, offset)
        return predict_log_resp(ArrayData(rows), self.mixture_)

    def predict_components(self, X, y, offset=None):
        """The most probable expert of each row given x and y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.predict_proba(X, y, offset).argmax(axis=1)

    def score_samples(self, X, y, offset=None):
        """Conditional log density ``log p(y_i | x_i)`` of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        return self._log_resp(X, y, offset)[1]

    def score(self, X, y, sample_weight=None, offset=None):
        """Mean conditional log-likelihood of the rows (not R^2).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        log_density = self.score_samples(X, y, offset)
        weights = check_sample_weight(sample_weight, len(log_density), np.float64)
        return float(np.average(log_density, weights=weights))

    def sample(self, X, random_state=None, offset=None):
        """Draw one response per row of X, and the expert that drew it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        random_state : int, RandomState or None, default=None
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            In y's form at fit (class labels for logistic experts).
        labels : ndarray of shape (n_samples,)
        """
        rows = self._rows(X, offset=offset)
        rng = check_random_state(random_state)
        gate = np.exp(self._log_gate(rows))
        draws = rng.uniform(size=(len(rows), 1))
        labels = np.minimum(
            (draws > gate.cumsum(axis=1)).sum(axis=1), self.mixture_.n_components - 1
        )
        responses = self.mixture_.family.sample_responses(rows, labels, rng)
        if "classes" in self._response:
            return self._response["classes"][responses[:, 0].astype(np.intp)], labels
        return (responses[:, 0] if self._response["y_1d"] else responses), labels

    def _n_parameters(self):
        return self.mixture_.n_parameters()

    def bic(self, X, y, offset=None):
        """Bayesian information criterion ``-2 log L + n_parameters log n``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        bic : float
            Lower is better.
        """
        total = self.score_samples(X, y, offset).sum()
        return float(-2 * total + self._n_parameters() * math.log(len(np.asarray(X))))

    def aic(self, X, y, offset=None):
        """Akaike information criterion ``-2 log L + 2 n_parameters`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        aic : float
        """
        return float(
            -2 * self.score_samples(X, y, offset).sum() + 2 * self._n_parameters()
        )

    def icl(self, X, y, offset=None):
        """Integrated completed likelihood, as mclust and ``mixtura.select`` read it.

        BIC less twice the log of each row's largest membership probability,
        ``-2 log L + p log n - 2 sum_i log max_k r_ik`` (Biernacki, Celeux &
        Govaert 2000); lower is better, as for :meth:`bic`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        icl : float
        """
        log_resp, log_density = self._log_resp(X, y, offset)
        n_parameters = self._n_parameters()
        return float(
            -2 * log_density.sum()
            + n_parameters * math.log(len(log_density))
            - 2 * log_resp.max(axis=1).sum()
        )

    def summary(self, X=None, y=None, offset=None):
        """A summary of the fitted model, like mclust's ``summary(Mclust)``.

        As :meth:`mixtura.GaussianMixture.summary`: header, conditional
        log-likelihood, n, degrees of freedom, BIC and ICL (lower is better,
        :meth:`bic`, :meth:`icl`), the clustering table (the most probable
        expert of each row given x and y), the weights and the coefficients
        (:mod:`mixtura.summary`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Rows the data-dependent numbers are computed on (the training
            rows); None leaves them out.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Their responses (needed with ``X``).
        offset : array-like of shape (n_samples,), default=None

        Returns
        -------
        summary : mixtura.summary.Summary
        """
        from mixtura.summary import summarize

        return summarize(self, X, y, offset=offset)

    def _fitted_rows_posterior(self, X, y, offset=None):
        """Log memberships and conditional log densities, for ``mixtura.select``."""
        return self._log_resp(X, y, offset)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        # Gaussian experts model a 2-D y as several outputs, not a column
        tags.target_tags.multi_output = self.expert == "gaussian"
        return tags


class MixtureOfExperts(MixtureRegression):
    """A mixture of experts: ``p(y | x) = sum_k w_k(x) p(y | x, k)``.

    The experts of :class:`MixtureRegression` with a softmax gate
    ``w_k(x) = softmax_k(v_k^T [x_g, 1])`` of gate columns ``x_g`` (Jordan &
    Jacobs 1994); the gate's M-step is one Newton step of a weighted
    multinomial logistic regression on the responsibilities (flexmix's
    ``FLXPmultinom`` concomitant model), with step halving shared with the
    experts so that the log-likelihood never decreases.

    Parameters
    ----------
    n_components : int, default=2
    gate_features : array-like of int or None, default=None
        The columns of X the gate reads; None: all of them.
    gate_alpha : float, default=0.0
        L2 penalty on the gate's slopes.
    expert, noise, fit_intercept, alpha, reg_covar, tol, max_iter, n_init, \
init_params, random_state, callback, progress
        As for :class:`MixtureRegression`.

    Attributes
    ----------
    gate_coef_ : ndarray of shape (n_gate_features, n_components - 1)
        Gate slopes of the components after the first (the reference).
    gate_intercept_ : ndarray of shape (n_components - 1,)
    weights_ : ndarray of shape (n_components,)
        The gate's mean over the training rows.
    coef_, intercept_, noise_covariances_, classes_, mixture_, converged_, \
n_iter_, lower_bound_, lower_bounds_, fit_events_, n_features_in_
        As for :class:`MixtureRegression`; ``mixture_`` is a
        :class:`~mixtura.experts.GatedMixture`.
    """

    _parameter_constraints: dict = {
        **MixtureRegression._parameter_constraints,
        "gate_features": ["array-like", None],
        "gate_alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        gate_features=None,
        gate_alpha=0.0,
        expert="gaussian",
        noise="component",
        fit_intercept=True,
        alpha=0.0,
        reg_covar=1e-6,
        tol=1e-6,
        max_iter=500,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        callback=None,
        progress=False,
    ):
        super().__init__(
            n_components,
            expert=expert,
            noise=noise,
            fit_intercept=fit_intercept,
            alpha=alpha,
            reg_covar=reg_covar,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            callback=callback,
            progress=progress,
        )
        self.gate_features = gate_features
        self.gate_alpha = gate_alpha

    def _gate_columns(self):
        if self.gate_features is None:
            return tuple(range(self.n_features_in_))
        columns = np.asarray(self.gate_features)
        if (
            columns.ndim != 1
            or columns.dtype.kind not in "iu"
            or len(set(columns.tolist())) != len(columns)
            or (
                columns.size
                and (columns.min() < 0 or columns.max() >= self.n_features_in_)
            )
        ):
            raise DataValidationError(
                "gate_features must be distinct column indices of X in "
                f"[0, {self.n_features_in_}); got {self.gate_features!r}."
            )
        return tuple(columns.tolist())

    def _initial_state(self, data, resp, family):
        # the gate starts from equal weights and fits the same responsibilities
        gate = SoftmaxGate(self._gate_columns(), self.n_components, self.gate_alpha)
        for _ in range(_INITIAL_GATE_STEPS):
            gate = gate.maximize(_gate_statistics(data, gate, resp))
        return GatedMixture(gate, family)

    def _log_gate(self, rows):
        return self.mixture_.gate.log_weights(rows)

    def _constant_weights(self, mixture):
        return None

    def _adopt_mixture(self, mixture, dtype):
        if isinstance(mixture, Mixture):  # from a model file (_fitted_mixture)
            self._summary_mixture = mixture
            weights = mixture.weights
            mixture = GatedMixture(self._saved_gate, mixture.family)
            del self._saved_gate
        else:
            weights = None  # the fit sets the gate's mean over its rows
        super()._adopt_mixture(mixture, dtype)
        self.weights_ = weights
        coefficients = mixture.gate.coefficients
        self.gate_coef_ = coefficients[:-1]
        self.gate_intercept_ = coefficients[-1]

    def _after_fit(self, X):
        rows = self._rows(X)
        mean_gate = np.exp(self.mixture_.gate.log_weights(rows)).mean(axis=0)
        self._summary_mixture = Mixture.from_weights(mean_gate, self.mixture_.family)
        self.weights_ = self._summary_mixture.weights

    def _fitted_mixture(self):
        # a model file holds one mixture: the experts with the gate's mean
        # weights; the gate itself travels in the encoding
        check_is_fitted(self, "mixture_")
        return self._summary_mixture

    def _encoding_state(self):
        gate = self.mixture_.gate
        return {
            **super()._encoding_state(),
            "gate": {**gate.config(), "coefficients": gate.coefficients.tolist()},
        }

    def _set_encoding_state(self, state):
        state = dict(state)
        gate = dict(state.pop("gate"))
        super()._set_encoding_state(state)
        coefficients = np.asarray(gate.pop("coefficients"), dtype=np.float64)
        self._saved_gate = SoftmaxGate.from_arrays(
            gate, {"gate_coefficients": coefficients}
        )

    def predict_gate(self, X):
        """The gating probabilities ``w_k(x)`` of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        gate : ndarray of shape (n_samples, n_components)
        """
        return np.exp(self._log_gate(self._rows(X)))


#: Newton steps of the initial gate on the initial responsibilities
_INITIAL_GATE_STEPS = 5


def _gate_statistics(data, gate, resp):
    total, start = None, 0
    for rows, weights in data.chunks(gate.n_components):
        stop = start + len(rows)
        stats = gate.statistics(rows, resp[start:stop], weights)
        total = stats if total is None else total + stats
        start = stop
    return total
