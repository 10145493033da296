"""What every mixtura estimator shares: the scikit-learn API over the fit loop."""

from __future__ import annotations

import sys
import warnings
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from mixtura._random import RANDOM_STATE_CONSTRAINT, check_random_state
from mixtura._validation import (
    NanPolicy,
    check_data,
    check_sample_weight,
    column_names,
    input_column_names,
)
from mixtura.exceptions import DataValidationError, SingularCovarianceError
from mixtura.inference import (
    INIT_METHODS,
    FitInterrupted,
    FitSteps,
    em_step,
    em_stepper,
    initial_responsibilities,
)
from mixtura.inference.data import (
    ArrayData,
    accumulate,
    chunked_statistics,
    predict_labels,
    predict_log_resp,
)
from mixtura.inference.degenerate import ON_DEGENERATE, DegenerateRecovery
from mixtura.inference.frozen import WEIGHTS, FrozenParameters
from mixtura.inference.labelled import (
    UNLABELLED,
    LabelledRows,
    aligned_responsibilities,
    check_labels,
    marks_unlabelled,
)
from mixtura.inference.loop import (
    combine_callbacks,
    fit_loop_iterations,
    run_steps,
)
from mixtura.inference.online import online_update
from mixtura.inference.sources import DataRules, map_rows, to_fit_data
from mixtura.mixture import Mixture

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


def _raise_collapse(state, error, steps):
    """``on_degenerate='raise'``: the collapse propagates."""
    raise error


def _supports_online_em(estimator):
    """partial_fit exists for EM estimators whose statistics can be blended."""
    if estimator._inference_step() is not em_step:
        return False
    try:
        template = estimator._family_template()
    except AttributeError:  # the family is chosen from the data at the first fit
        return True
    return not template.statistics_depend_on_parameters


#: (class, parameter values) that passed validation; see BaseMixture._validate_params
_VALID_SCALAR_PARAMS: set = set()
_VALID_SCALAR_PARAMS_MAX = 1024
_SCALAR_TYPES = frozenset({int, float, str, bool, type(None)})


def _scalar_key(cls, params):
    """A hashable key of ``params`` when every value is a plain scalar (or an
    array where any array is allowed), else None.

    The type is part of the key (``True`` and ``1`` validate differently); NaN
    never equals itself, so a NaN parameter is simply checked each time.
    """
    constraints = cls._parameter_constraints
    key = []
    for name, value in params.items():
        kind = type(value)
        if kind in _SCALAR_TYPES:
            key.append((name, kind, value))
        elif kind is np.ndarray and "array-like" in constraints.get(name, ()):
            # any ndarray meets "array-like" (e.g. init_params given as labels,
            # as model selection gives hc's partition to every cell)
            key.append((name, kind, None))
        else:
            return None
    return cls, tuple(key)


#: the most samples one call of ``sample`` draws: beyond it the draw's arrays
#: (gigabytes per feature) fail to allocate, and beyond int64 NumPy's
#: multinomial raises OverflowError (issue 19)
MAX_SAMPLES = 2**32


def _check_n_samples(n_samples):
    """``n_samples`` of :meth:`BaseMixture.sample` as an int, or an error.

    An integer (Python's or NumPy's; not a bool, a float or an array) in
    ``[1, MAX_SAMPLES]``; anything else raises scikit-learn's
    InvalidParameterError (a ValueError) naming what was passed.
    """
    if (
        isinstance(n_samples, Integral)
        and not isinstance(n_samples, (bool, np.bool_))
        and 1 <= n_samples <= MAX_SAMPLES
    ):
        return int(n_samples)
    if isinstance(n_samples, Integral) and not isinstance(n_samples, bool):
        problem = "below 1" if n_samples < 1 else f"above the limit of {MAX_SAMPLES}"
    else:
        problem = f"a {type(n_samples).__name__}, not an integer"
    # (scikit-learn's own tests match "Invalid value for 'n_samples'")
    raise InvalidParameterError(
        f"Invalid value for 'n_samples': {n_samples!r} ({problem}). sample takes "
        f"an int in the range [1, {MAX_SAMPLES}], the number of samples to draw, "
        "e.g. sample(100)."
    )


class BaseMixture(DensityMixin, BaseEstimator):
    """Base class of mixtura's mixture estimators (scikit-learn API).

    Subclasses say which family they fit (:meth:`_family_template`), how user-given
    initial parameters enter (:meth:`_initial_mixture`) and how the fitted mixture
    maps to fitted attributes (:meth:`_set_fitted`, :meth:`_fitted_mixture`).
    Everything else (validation, restarts, the loop, prediction, sampling,
    information criteria) lives here, once.
    """

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's parameter names, read from ``__init__`` once per class.

        scikit-learn inspects the signature at every ``get_params``, which each
        fit's parameter validation calls: a tenth of a small fit's time. The
        names of a class never change.
        """
        names = cls.__dict__.get("_cached_param_names")
        if names is None:
            names = super()._get_param_names()
            cls._cached_param_names = names
        return names

    def _validate_params(self):
        """scikit-learn's parameter validation, once per class and set of values.

        Parameters that are all plain scalars (numbers, strings, booleans,
        None: the usual case) pass or fail by their values alone, so a set that
        passed is remembered for the class and not checked again (the check
        costs as much as a few EM iterations of a small fit, and model
        selection fits the same settings many times). Anything else (arrays,
        callables, generators) is checked every time.
        """
        params = self.get_params(deep=False)
        key = _scalar_key(type(self), params)
        if key is not None and key in _VALID_SCALAR_PARAMS:
            return
        validate_parameter_constraints(
            self._parameter_constraints, params, caller_name=type(self).__name__
        )
        if key is not None:
            if len(_VALID_SCALAR_PARAMS) >= _VALID_SCALAR_PARAMS_MAX:
                _VALID_SCALAR_PARAMS.clear()
            _VALID_SCALAR_PARAMS.add(key)

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_METHODS)), "array-like"],
        "random_state": RANDOM_STATE_CONSTRAINT,
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "callback": [callable, None],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
        "on_degenerate": [StrOptions(set(ON_DEGENERATE))],
        "frozen": [None, str, list, tuple, set, frozenset, dict],
        "progress": ["boolean"],
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
        on_degenerate="reseed",
        frozen=None,
        progress=False,
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
        self.on_degenerate = on_degenerate
        self.frozen = frozen
        self.progress = progress

    # -- hooks for subclasses ---------------------------------------------------
    @abstractmethod
    def _family_template(self):
        """A family without parameters, configured from the hyperparameters."""

    def _check_initial_parameters(self, X):
        """Validate user-given initial parameters against ``X``'s shape (none)."""

    def _initial_mixture(self, data, resp, statistics=chunked_statistics):
        """The starting mixture: an M-step from the initial responsibilities.

        ``statistics(data, family, resp)`` sums them (see :meth:`_initializer`).
        """
        template = self._family_template()
        return Mixture.from_statistics(template, statistics(data, template, resp))

    def _check_X(self, X, *, reset, ensure_min_samples=1):
        """Validate ``X`` for fitting (``reset=True``) or prediction.

        The base checks a dense, finite, floating array (or a scipy.sparse one,
        kept sparse, when the family ``accepts_sparse``); then the family checks
        its own support (e.g. counts must be non-negative integers). Estimators
        whose input needs encoding (categories, column groups) override this.
        """
        template = self._family_template()
        policy = self._nan_policy(template)
        X = check_data(
            self,
            X,
            reset=reset,
            ensure_min_samples=ensure_min_samples,
            accept_sparse=template.accepts_sparse,
            allow_nan=policy.allow_nan,
            advise_missing_em=policy.advise_missing_em,
        )
        return template.check_data(self._encode_input(X))

    def _check_named_X(self, X, *, reset, ensure_min_samples=1):
        """:meth:`_check_X` with the input's column names in its messages.

        Every data check of the estimator runs through here (the data entry
        point's ``check_rows``), so a DataFrame's NaN, support violation or
        encoding error names ``column 'weight' (1)`` rather than ``column 1``;
        plain arrays keep the bare index.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data, as given.
        reset : bool
            True when fitting, False when predicting.
        ensure_min_samples : int, default=1
            The smallest acceptable number of rows.

        Returns
        -------
        X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
            What :meth:`_check_X` returns.
        """
        with column_names(input_column_names(X)):
            return self._check_X(X, reset=reset, ensure_min_samples=ensure_min_samples)

    def _nan_policy(self, template=None):
        """The one NaN rule of this estimator's data, whatever its kind.

        NaN is a missing entry exactly when the estimator fits missing values
        (``missing='em'``, refused first for a family that cannot); infinity
        never is.

        Parameters
        ----------
        template : Family, default=None
            The family template (None: :meth:`_family_template`).

        Returns
        -------
        policy : NanPolicy
        """
        template = self._family_template() if template is None else template
        self._check_missing_supported(template)
        return NanPolicy(
            allow_nan=self._missing_em(),
            advise_missing_em=hasattr(self, "missing") and template.supports_missing,
        )

    def _data_rules(self):
        """What this estimator asks of its data, for the data entry point."""
        return DataRules(
            check_rows=self._check_named_X,
            nan_policy=self._nan_policy,
            n_components=self.n_components,
            chunk_size=self.chunk_size,
        )

    def _encode_input(self, X):
        """Transform validated input before the family checks it (identity)."""
        return X

    def _check_missing_supported(self, template):
        """Refuse ``missing='em'`` for a family that cannot drop missing entries."""
        if self._missing_em() and not template.supports_missing:
            reason = getattr(template, "missing_unsupported_reason", "")
            raise ValueError(
                f"missing='em' is not available for the {template.name!r} family"
                f"{': ' + reason if reason else ''}. Drop or impute rows with "
                "missing values."
            )

    def _missing_em(self):
        """Whether NaN entries are missing values to be handled by EM."""
        return getattr(self, "missing", "error") == "em"

    def _needs_initial_responsibilities(self):
        """False when user-given parameters make the responsibilities unused."""
        return True

    @abstractmethod
    def _set_fitted(self, mixture, dtype):
        """Fitted attributes (``weights_``, ...) from a fitted mixture."""

    @abstractmethod
    def _inference_step(self):
        """The step the fit loop iterates, ``step(state, data) -> (state, bound)``.

        EM by default; variational estimators return their own.
        """
        return em_step

    def _fitted_state(self):
        """What a warm start continues from: the fitted mixture by default."""
        return self._fitted_mixture()

    def _sampling_mixture(self):
        """The mixture :meth:`sample` draws from: the fitted mixture by default."""
        return self._fitted_mixture()

    @abstractmethod
    def _mixture_from_attributes(self):
        """The fitted mixture, built from the fitted attributes."""

    def _store_fitted(self, state, dtype):
        """Store a fit's result: the fitted mixture and the attributes it gives.

        The fitted mixture is built once here and is the estimator's one source
        of truth: every prediction, score, sample and model file uses that
        object, so its derived quantities (Cholesky factors, log-determinants,
        E-step kernels) are computed once per fit, not per call, and the
        scikit-learn attributes (``weights_``, ``means_``, ...) are derived from
        it. A loaded model file holds the same mixture and derives the same
        attributes (:meth:`_adopt_mixture`), bit for bit. Setting a fitted
        attribute by hand therefore does not change the predictions; refit
        instead.

        Parameters
        ----------
        state : Mixture or the inference step's state
            What the fit loop returns.
        dtype : dtype
            Floating dtype of the fitted attributes.
        """
        # the state in the fit's dtype, with the estimator's context (prior,
        # noise region), goes through the attributes once to become the mixture
        self._set_fitted(state, dtype)
        self._adopt_mixture(self._mixture_from_attributes(), dtype)

    def _adopt_mixture(self, mixture, dtype):
        """Make ``mixture`` the fitted mixture and derive the attributes from it.

        Parameters
        ----------
        mixture : Mixture
            The fitted mixture (of a fit, or read from a model file).
        dtype : dtype
            Floating dtype of the fitted attributes.
        """
        self._set_fitted(mixture, dtype)
        self._mixture = mixture

    def _fitted_mixture(self):
        """The fitted mixture (see :meth:`_store_fitted`)."""
        mixture = self.__dict__.get("_mixture")
        if mixture is None:  # attributes set without _store_fitted
            mixture = self._mixture_from_attributes()
        return mixture

    # -- fitting ----------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the mixture's parameters with EM.

        Fits ``n_init`` times and keeps the parameters with the largest
        log-likelihood. With ``warm_start=True``, a fitted model continues from its
        current parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), dask array or ChunkStream
            Training data, one row per sample. A dask array is fitted block by
            block with one ``compute`` per iteration; a
            :class:`~mixtura.streams.ChunkStream` (e.g.
            :func:`~mixtura.streams.npy_chunks`,
            :func:`~mixtura.streams.parquet_chunks`) out of core, one pass per
            iteration; both initialise in memory on at most 20,000 rows (a
            random sample, the stream's first rows). Every kind is validated
            alike (:mod:`mixtura.inference.sources`): NaN is a missing value
            with ``missing='em'`` and an error otherwise.
        y : array-like of shape (n_samples,), default=None
            Partial labels (semi-supervised EM, :mod:`mixtura.inference.
            labelled`): a component index for each row whose component is
            known, -1 for the others; labelled rows keep their component as a
            fixed responsibility, and the start's components are matched to
            the labels. Only with in-memory rows. A ``y`` without any -1 is
            ignored, as scikit-learn's clusterers ignore ``y``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight counts a row that many times
            (not with a stream).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit_any(X, sample_weight, labels=False, y=y)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the mixture and return the most probable component of each row.

        The labels come from a final E-step with the fitted parameters, so
        ``fit_predict(X)`` equals ``fit(X).predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), dask array or ChunkStream
            Training data.
        y : array-like of shape (n_samples,), default=None
            Partial labels, as in :meth:`fit`; labelled rows get their label.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dask array or None
            Component labels (lazy for a dask array; None for a stream, whose
            labels are not kept: call ``predict`` on it).
        """
        return self._fit_any(X, sample_weight, labels=True, y=y)

    def _fit_any(self, X, sample_weight, labels, y=None):
        """Fit on any supported data; the training labels when ``labels``."""
        saved_state = dict(self.__dict__)
        try:
            return self._fit(X, sample_weight, labels, y)
        except FitInterrupted:
            raise  # Ctrl-C: the best restart so far is stored (_fit_and_store)
        except BaseException:
            # a failed call leaves a fitted model as it was
            self.__dict__.clear()
            self.__dict__.update(saved_state)
            raise

    def _prepare_fit(self, X, sample_weight, random_state, *, reset=True):
        """Validate the data and weights of a fit (any kind of data).

        Returns
        -------
        fit_data : FitData
            The seam object each iteration reads, and the in-memory rows the
            initialisation clusters (:mod:`mixtura.inference.sources`).
        """
        fit_data = to_fit_data(
            X,
            sample_weight,
            self._data_rules(),
            random_state=random_state,
            reset=reset,
        )
        if reset:
            self._check_initial_parameters(fit_data.initial.X)
        return fit_data

    def _initializer(
        self, data, statistics=chunked_statistics, recover=None, known=None
    ):
        """``initialize(rng) -> state`` for the fit loop, on ``data``'s rows.

        ``statistics(data, family, resp)`` gives the statistics of the initial
        responsibilities (the fit's :class:`~mixtura.inference.em.FitSteps`).
        With a :class:`~mixtura.inference.degenerate.DegenerateRecovery`, an
        initial M-step that collapses is redone with a stronger
        regularisation, and ``initialize`` returns that
        :class:`~mixtura.inference.degenerate.Recovery`. With partial labels
        (``known``), the start's columns are matched to them and the labelled
        rows set to their labels.
        """

        def initialize(rng):
            resp = self._initial_responsibilities(data, rng)
            if known is not None and resp is not None:
                resp = aligned_responsibilities(resp[0 : data.n_samples], known)
            try:
                return self._initial_mixture(data, resp, statistics)
            except SingularCovarianceError as error:
                recovered = None
                if resp is not None and hasattr(recover, "initial"):
                    recovered = recover.initial(resp, resp.shape[1], error)
                if recovered is None:
                    raise
                return recovered

        return initialize

    def _initial_responsibilities(self, data, rng):
        """Responsibilities the first M-step starts from (None: none needed).

        Parameters
        ----------
        data : ArrayData
            The rows the initialisation clusters.
        rng : RandomState

        Returns
        -------
        resp : ndarray, OneHotResponsibilities or None
            Of shape (n_samples, n_components).
        """
        if not self._needs_initial_responsibilities():
            return None
        return initial_responsibilities(
            self._family_template().init_features(data.X),
            self.n_components,
            self.init_params,
            rng,
            data.sample_weight,
            dense=False,
        )

    def _fit(self, X, sample_weight, labels=True, y=None):
        return run_steps(self._fit_iterations(X, sample_weight, labels, y))

    def _fit_iterations(self, X, sample_weight, labels=True, y=None):
        """:meth:`_fit` as a generator of its EM steps.

        Yields the fit loop's :class:`~mixtura.inference.loop.StepRequest`
        (see :func:`~mixtura.inference.loop.fit_loop_iterations`) and returns
        what :meth:`_fit` returns: :meth:`_fit` computes each step at once,
        :mod:`mixtura.inference.lockstep` several fits' steps together.
        """
        self._validate_params()
        random_state = check_random_state(self.random_state)
        fit_data = self._prepare_fit(X, sample_weight, random_state)
        data, known = self._with_partial_labels(fit_data, y)

        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            warm = (self._fitted_state(), self.lower_bound_)

        yield from self._fit_and_store(
            data, fit_data.initial, fit_data.dtype, random_state, warm, known
        )
        if not labels:
            return None
        mixture = self._fitted_mixture()
        predicted = fit_data.labels(
            lambda data: predict_labels(data, mixture), self._data_rules()
        )
        if known is not None:  # labelled rows keep their labels
            predicted = np.where(known == UNLABELLED, predicted, known)
        return predicted

    def _with_partial_labels(self, fit_data, y):
        """The data the loop reads and the partial labels of a fit (or None).

        Rows labelled with a component keep it as their fixed responsibility
        (:mod:`mixtura.inference.labelled`). A ``y`` without any -1 is not
        partial labels: it is ignored, as scikit-learn's clusterers ignore
        ``y`` (pipelines and model selection pass the targets through ``fit``).
        """
        if not marks_unlabelled(y):
            return fit_data.data, None
        data = fit_data.data
        if not isinstance(data, ArrayData):
            raise DataValidationError(
                "partial labels (y) need in-memory rows: fit a NumPy array, or "
                "fit a dask array or stream without y"
            )
        known = check_labels(y, data.n_samples, self.n_components)
        labelled = known != UNLABELLED
        if not labelled.any():
            return data, None
        weights = data.sample_weight
        free = ArrayData(
            data.X[~labelled],
            None if weights is None else weights[~labelled],
            data.chunk_size,
        )
        rows = LabelledRows(
            free,
            data.X[labelled],
            known[labelled],
            None if weights is None else weights[labelled],
            self._n_responsibility_columns(),
        )
        return rows, known

    def _n_responsibility_columns(self):
        """Columns of the fit's responsibilities (a noise component adds one)."""
        return self.n_components

    @available_if(_supports_online_em)
    @available_if(_supports_online_em)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one batch of data (stepwise online EM).

        The running sufficient statistics move towards the batch's by a step
        ``(t + 2) ** -learning_decay`` (the first batch sets them), then the
        M-step gives the new parameters (Cappé & Moulines 2009; Liang & Klein
        2009). The first call initialises from the batch as ``fit`` does (it
        needs at least ``n_components`` rows): ``n_init`` starts are drawn and
        the one under which the batch is most likely is kept, since online EM
        cannot leave a poor start (two clusters merged, one split) as restarts
        of a batch fit can. After a full ``fit`` the running average starts
        again from the next batch. Works for every family.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch of data.
        y : array-like of shape (n_samples,), default=None
            Partial labels of the batch's rows, as in :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the batch's rows.

        Returns
        -------
        self : object
            The updated estimator.
        """
        saved_state = dict(self.__dict__)
        try:
            self._partial_fit(X, sample_weight, y)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved_state)
            raise
        return self

    def _partial_fit(self, X, sample_weight, y=None):
        first = not hasattr(self, "converged_")
        if first:
            self._validate_params()
        fit_data = self._prepare_fit(
            X, sample_weight, check_random_state(self.random_state), reset=first
        )
        data, known = self._with_partial_labels(fit_data, y)
        if first:
            state, (stats, mean_log_likelihood) = self._best_start(
                fit_data, data, known
            )
            running, n_updates, bounds = None, 0, []
        else:
            state = self._fitted_state()
            running = getattr(self, "_online_stats", None)
            n_updates = getattr(self, "n_batches_", 0) if running is not None else 0
            bounds = list(self.lower_bounds_)
            stats, mean_log_likelihood = accumulate(data, state)
        decay = getattr(self, "learning_decay", 0.7)
        running = online_update(running, stats, data.total_weight, n_updates, decay)
        self._store_fitted(self._online_maximize(state, running, first), fit_data.dtype)
        self._online_stats = running
        self.n_batches_ = n_updates + 1
        self.converged_ = False
        self.n_iter_ = len(bounds) + 1
        self.lower_bound_ = float(mean_log_likelihood)
        self.lower_bounds_ = [*bounds, float(mean_log_likelihood)]

    def _online_maximize(self, state, running, first):
        """Online EM's M-step, keeping frozen parameters at the first batch's start.

        The first batch's start (``first``) is remembered for later batches.
        """
        if first:
            self._online_frozen = self._frozen_parameters()
            if self._online_frozen is not None:
                self._online_frozen.capture(state)
        frozen = getattr(self, "_online_frozen", None)
        if frozen is None:
            return state.maximize(running)
        return frozen.maximized(state, running)

    def _best_start(self, fit_data, data, known=None):
        """Of ``n_init`` initial states, the one the batch likes best.

        Parameters
        ----------
        fit_data : FitData
            The batch: its initial rows start the states.
        data : ArrayData or LabelledRows
            The batch as the E-step reads it, which scores them.
        known : ndarray of shape (n_samples,) or None
            Partial labels of the batch's rows.

        Returns
        -------
        state : Mixture or inference state
        accumulated : tuple
            ``(stats, mean_log_likelihood)`` of the batch under ``state``.
        """
        initialize = self._initializer(fit_data.initial, known=known)
        random_state = check_random_state(self.random_state)
        best = None
        for _ in range(self.n_init):
            state = initialize(random_state)
            accumulated = accumulate(data, state)
            if best is None or accumulated[1] > best[1][1]:
                best = (state, accumulated)
        return best

    def _fit_and_store(
        self, data, initial_data, dtype, random_state, warm=None, known=None
    ):
        """Run the shared fit loop and store its result as fitted attributes.

        A generator of the loop's steps (``yield from`` in
        :meth:`_fit_iterations`).

        Parameters
        ----------
        data : ArrayData, DaskData or StreamData
            What each iteration reads.
        initial_data : ArrayData
            In-memory rows the initialisation clusters (all rows, or a sample).
        dtype : dtype
            Floating dtype of the fitted attributes.
        random_state : RandomState
        warm : (state, float) or None
            The fitted state and bound to continue from.
        known : ndarray of shape (n_samples,) or None
            Partial labels of ``initial_data``'s rows (-1: unknown), which the
            initial responsibilities are aligned with.
        """
        frozen = self._frozen_parameters()
        steps = self._step_for(data) if frozen is None else FitSteps(frozen.step)
        recover = self._degenerate_recovery(data, initial_data, frozen)
        initialize = self._initializer(initial_data, steps.statistics, recover, known)
        if frozen is not None:
            initialize = frozen.capturing(initialize)
            if warm is not None:
                frozen.capture(warm[0])
        bar = self._progress_bar(warm)
        interrupt = None
        try:
            result = yield from fit_loop_iterations(
                data,
                initialize,
                steps,
                n_init=self.n_init,
                max_iter=self.max_iter,
                tol=self.tol,
                relative_tol=self._relative_tolerance(),
                random_state=random_state,
                warm_start=warm,
                callback=combine_callbacks([self._progress_callback(), bar]),
                recover=recover,
            )
        except FitInterrupted as error:
            # Ctrl-C (issue 18): store the best restart so far as the fit, its
            # fit_events_ ending with 'interrupted', then raise the interrupt
            # again with the fitted estimator attached (the CLI saves it)
            result, interrupt = error.result, error
        finally:
            if bar is not None:
                bar.close(finished=interrupt is None)
        self._store_fitted(steps.to_mixture(result.mixture), dtype)
        for name, value in result.fitted_attributes().items():
            setattr(self, name, value)
        self._fit_collapsed = bool(result.collapsed)
        self._online_stats = None  # a full fit restarts online EM's running average
        if interrupt is not None:
            interrupt.estimator = self
            raise interrupt

    def _degenerate_recovery(self, data, rows, frozen=None):
        """The fit loop's ``recover`` for ``on_degenerate`` (None: stop).

        Only EM's steps recover (:mod:`mixtura.inference.degenerate`), and
        only they look for emptied components (every policy); the
        variational ones keep their priors' own protection (and prune their
        own empty components). With frozen
        parameters the recovered restart keeps its frozen step, and no
        component is removed (the frozen values are per component).
        """
        policy = getattr(self, "on_degenerate", "reseed")
        if self._inference_step() is not em_step:
            return _raise_collapse if policy == "raise" else None
        if frozen is None:

            def make_steps(template, n_components):
                return em_stepper(data, template, n_components)

        else:

            def make_steps(template, n_components):
                return FitSteps(frozen.step)

        return DegenerateRecovery(
            policy,
            rows,
            self._family_template(),
            make_steps,
            can_prune=frozen is None,
            # a frozen weight is the user's, however small
            watch_weights=frozen is None or WEIGHTS not in frozen.spec,
        )

    def _frozen_parameters(self):
        """The fit's :class:`~mixtura.inference.frozen.FrozenParameters`, or None.

        Only EM estimators freeze parameters (``frozen=``).
        """
        spec = getattr(self, "frozen", None)
        if not spec or self._inference_step() is not em_step:
            return None
        return FrozenParameters(spec)

    def _relative_tolerance(self):
        """Whether ``tol`` is relative to the total bound (mclust's rule)."""
        return False

    def _step_for(self, data):
        """The fit loop's step for ``data``, how its last state is stored, and
        the initialisation's statistics (:class:`~mixtura.inference.em.FitSteps`).

        EM estimators take the family's lean step where it serves the data
        (:func:`~mixtura.inference.em.em_stepper`); other inference schemes
        their own step, whose state is stored as it is.
        """
        step = self._inference_step()
        if step is em_step:
            return em_stepper(data, self._family_template(), self.n_components)
        return FitSteps(step)

    def _progress_bar(self, warm):
        """A tqdm bar over restarts x iterations for ``progress=True``, or None.

        See :mod:`mixtura.progress`; an ImportError names the extra to install.
        """
        if not getattr(self, "progress", False):
            return None
        from mixtura.progress import FitProgress

        n_init = 1 if warm is not None else self.n_init
        return FitProgress(n_init, self.max_iter, desc=type(self).__name__)

    def _progress_callback(self):
        printer = (
            _VerbosePrinter(self.verbose, self.verbose_interval)
            if self.verbose
            else None
        )
        return combine_callbacks([printer, self.callback])

    # -- using a fitted model ---------------------------------------------------
    def _predict_data(self, X):
        """Log responsibilities and log densities of in-memory rows."""
        data, mixture = self._checked_rows(X)
        return predict_log_resp(data, mixture)

    def _fitted_rows_posterior(self, X):
        """Log responsibilities and log densities of the rows just fitted.

        ``X`` is the array the last fit validated and ran on (model selection
        asks this once per cell): the family's lean step gives the posterior
        without validating the rows again or building the general path's
        kernels (on small data those cost several EM iterations); where it
        does not serve the rows, as :meth:`_predict_data`.

        Returns
        -------
        log_resp : ndarray of shape (n_samples, n_components)
        log_density : ndarray of shape (n_samples,)
        """
        mixture = self._fitted_mixture()
        lean = None
        if isinstance(X, np.ndarray) and not self._missing_em():
            lean = mixture.family.lean_em(X, mixture.n_components)
        if lean is None:
            return self._predict_data(X)
        return lean.log_posterior(mixture)

    def _checked_rows(self, X):
        """In-memory rows to predict (validated, as ArrayData) and the mixture."""
        check_is_fitted(self)
        X = self._check_named_X(X, reset=False)
        self._warn_unobserved_rows(X, stacklevel=4)
        return ArrayData(X, None, self.chunk_size), self._fitted_mixture()

    def _warn_unobserved_rows(self, X, stacklevel):
        """Warn of rows with nothing observed, whose prediction is the prior."""
        if not (self._missing_em() and isinstance(X, np.ndarray)):
            return
        empty = np.isnan(X).all(axis=1)
        if empty.any():
            warnings.warn(
                f"{int(empty.sum())} row(s) have nothing observed (all NaN): "
                "their responsibilities are the mixing weights and their log "
                "density is 0.",
                UserWarning,
                stacklevel=stacklevel,
            )

    def _map_fitted(self, X, function, *, n_columns=None, dtype=None):
        """``function(data, mixture)`` over the rows of any kind of ``X``.

        ``X`` goes through the data entry point (:func:`~mixtura.inference.
        sources.map_rows`): in memory the result is an ndarray, for a dask array
        a lazy dask array computed block by block, for a stream the chunks'
        results concatenated.
        """
        check_is_fitted(self)
        mixture = self._fitted_mixture()

        def rows(data):
            self._warn_unobserved_rows(data.X, stacklevel=7)
            return function(data, mixture)

        return map_rows(X, rows, self._data_rules(), n_columns=n_columns, dtype=dtype)

    def predict(self, X):
        """Most probable component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), dask array or ChunkStream
            Data (a dask array gives a lazy result).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        return self._map_fitted(X, predict_labels, dtype=np.intp)

    def predict_proba(self, X):
        """Posterior probability of each component for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), dask array or ChunkStream
            Data (a dask array gives a lazy result).

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities; each row sums to one.
        """
        check_is_fitted(self)
        return self._map_fitted(
            X,
            lambda data, mixture: np.exp(predict_log_resp(data, mixture)[0]),
            n_columns=self._fitted_mixture().n_components,
        )

    def score_samples(self, X):
        """Log density of each row under the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), dask array or ChunkStream
            Data (a dask array gives a lazy result).

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x_i)``.
        """
        return self._map_fitted(
            X,
            lambda data, mixture: predict_log_resp(data, mixture)[1],
            dtype=np.float64,
        )

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
            Number of samples, from 1 to ``2**32`` (anything else raises
            scikit-learn's InvalidParameterError, a ValueError).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples.
        y : ndarray of shape (n_samples,)
            Component of each sample (sorted).
        """
        check_is_fitted(self)
        n_samples = _check_n_samples(n_samples)
        rng = check_random_state(self.random_state)
        samples, labels = self._sampling_mixture().sample(int(n_samples), rng)
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
        n_samples = self._check_named_X(X, reset=False).shape[0]
        return -2 * self.score(X) * n_samples + self._n_parameters() * np.log(n_samples)

    def summary(self, X=None):
        """A summary of the fitted model, like mclust's ``summary(Mclust)``.

        Header (estimator, family, covariance model, K), log-likelihood, n,
        degrees of freedom (the number of free parameters), BIC and ICL (lower
        is better, as :meth:`bic`), the clustering table, the mixing weights
        and the parameters; ``print(model.summary(X))`` shows it. The numbers
        that need data are computed on ``X`` (see :mod:`mixtura.summary`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            In-memory rows, the training rows for mclust's summary; None gives
            the model's own part only (no log-likelihood, criteria or
            clustering table).

        Returns
        -------
        summary : mixtura.summary.Summary
            Its attributes, ``str`` and ``to_dict()`` (JSON values).
        """
        from mixtura.summary import summarize

        return summarize(self, X)

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
        n_samples = self._check_named_X(X, reset=False).shape[0]
        return -2 * self.score(X) * n_samples + 2 * self._n_parameters()
