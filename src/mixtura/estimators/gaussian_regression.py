"""Gaussian mixture regression: condition a joint Gaussian mixture on its inputs.

A Gaussian mixture over the joint coordinates ``z = (x, y)`` gives, for each
input ``x``, a Gaussian mixture over the outputs ``y`` (Ghahramani & Jordan
1994, section 3; Sung 2004, chapter 2). For component ``k`` with mean
``(mu_x, mu_y)`` and covariance ``[[S_xx, S_xy], [S_yx, S_yy]]``:

- weight ``w_k(x) ∝ w_k N(x | mu_x, S_xx)``, normalised over ``k`` in log space;
- mean ``m_k(x) = mu_y + S_yx S_xx^{-1} (x - mu_x)``, linear in ``x``;
- covariance ``C_k = S_yy - S_yx S_xx^{-1} S_xy``, the same for every ``x``.

The predictive mean is ``m(x) = sum_k w_k(x) m_k(x)`` and its covariance
``sum_k w_k(x) (C_k + (m_k(x) - m(x)) (m_k(x) - m(x))^T)`` (the same as
``sum_k w_k (C_k + m_k m_k^T) - m m^T``, without its cancellation).

Everything that does not depend on ``x`` is computed once per model
(:class:`_Conditioner`: the Cholesky factors of the ``S_xx`` stack, the
regression coefficients, the ``C_k`` and their factors). A block of rows then
costs one matrix product, ``(x - c) @ [L_1^{-T} ... L_K^{-T} | B_1 ... B_K]``,
which gives every component's whitened input and conditional mean at once, a
second product for the squared norms, and a log-sum-exp over ``K``: no loop
over components.
"""

from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from mixtura._random import check_random_state
from mixtura._validation import (
    check_data,
    check_finite,
    check_sample_weight,
    sklearn_data_errors,
)
from mixtura.estimators._docstrings import shared_docstring
from mixtura.estimators.gaussian import GaussianMixture
from mixtura.exceptions import DataValidationError, SingularCovarianceError
from mixtura.families.covariance import get_covariance_structure
from mixtura.inference.data import _worker_count, single_threaded_blas

__all__ = ["ConditionalMixture", "GaussianMixtureRegression"]

#: GaussianMixture's hyperparameters that the regression passes on to its fit
#: (missing values, a noise component, online EM and frozen or warm-started
#: parameters have no meaning for a conditioned model and are left out)
_MIXTURE_PARAMETERS = (
    "n_components",
    "covariance_type",
    "tol",
    "reg_covar",
    "max_iter",
    "n_init",
    "init_params",
    "weights_init",
    "means_init",
    "precisions_init",
    "random_state",
    "verbose",
    "verbose_interval",
    "chunk_size",
    "on_degenerate",
    "prior",
    "tol_mode",
)
#: rows conditioned at a time: the (K (p + q), rows) product stays in cache
_CHUNK_ROWS = 4096
_LOG_2PI = math.log(2.0 * math.pi)
#: exponents are floored here: exp of a smaller number is subnormal or zero,
#: which NumPy computes about 100 times slower than a normal result
_EXP_FLOOR = -700.0


class ConditionalMixture(NamedTuple):
    """The Gaussian mixture of the outputs given each input row.

    Parameters
    ----------
    weights : ndarray of shape (n_samples, n_components)
        ``w_k(x)``; each row sums to one.
    means : ndarray of shape (n_samples, n_components, n_outputs)
        ``m_k(x)``.
    covariances : ndarray of shape (n_components, n_outputs, n_outputs)
        ``C_k``, which do not depend on ``x``.
    log_weights : ndarray of shape (n_samples, n_components)
        ``log w_k(x)``, computed in log space (finite where a weight underflows).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_weights: np.ndarray


class _Conditioner:
    """What conditioning needs that does not depend on the input rows.

    Row-wise work is laid out components first, ``(K, ..., rows)``: the
    reductions over ``K`` (maximum, sum, weighted means) then run along
    contiguous rows, where a reduction over a short last axis of ``K`` runs
    an order of magnitude slower.

    Parameters
    ----------
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, d)
    covariances : ndarray of shape (K, d, d)
        Full joint covariances.
    inputs, outputs : ndarray of int
        The joint coordinates that are inputs and outputs.
    """

    def __init__(self, weights, means, covariances, inputs, outputs):
        n_components = len(weights)
        p, q = inputs.size, outputs.size
        s_xx = covariances[:, inputs[:, None], inputs]
        s_xy = covariances[:, inputs[:, None], outputs]
        s_yy = covariances[:, outputs[:, None], outputs]
        lower = _cholesky(s_xx, "input block S_xx")
        eye = np.broadcast_to(np.eye(p), lower.shape)
        whitening = np.linalg.solve(lower, eye)  # L^{-1}
        half = whitening @ s_xy  # L^{-1} S_xy
        coefficients = np.swapaxes(whitening, 1, 2) @ half  # S_xx^{-1} S_xy
        conditional = s_yy - np.swapaxes(half, 1, 2) @ half
        conditional = 0.5 * (conditional + np.swapaxes(conditional, 1, 2))
        self.covariances = conditional
        self.cholesky = _cholesky(conditional, "conditional covariance C_k")
        self.cholesky_inverse = np.linalg.solve(
            self.cholesky, np.broadcast_to(np.eye(q), conditional.shape)
        )
        # rows are centred on the inputs' mean before the product, so that
        # L^{-1} (x - c) - L^{-1} (mu - c) keeps its precision far from 0
        mu_x, mu_y = means[:, inputs], means[:, outputs]
        self.centre = weights @ mu_x
        offsets = mu_x - self.centre
        # one product gives every component's whitened inputs L_k^{-1} (x - mu)
        # (K p rows) and conditional means (K q rows, component by component);
        # its last column is the intercept, multiplied by a column of ones
        intercept = np.concatenate(
            [
                -(whitening @ offsets[:, :, None]).reshape(-1),
                (mu_y - np.einsum("kp,kpj->kj", offsets, coefficients)).reshape(-1),
            ]
        )
        self.projection = np.column_stack(
            [
                np.concatenate(
                    [
                        whitening.reshape(n_components * p, p),
                        np.swapaxes(coefficients, 1, 2).reshape(n_components * q, p),
                    ]
                ),
                intercept,
            ]
        )
        # -1/2 times each component's sum of p squared whitened coordinates
        self.half_sums = np.repeat(-0.5 * np.eye(n_components), p, axis=1)
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        self.log_norm = (
            log_weights
            - 0.5 * p * _LOG_2PI
            - np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
        )[:, None]
        self.conditional_log_norm = (
            -0.5 * q * _LOG_2PI
            - np.log(np.diagonal(self.cholesky, axis1=1, axis2=2)).sum(axis=1)
        )[:, None]
        self.n_components, self.n_inputs, self.n_outputs = n_components, p, q

    def components(self, X, log_weights=True):
        """The conditional mixture of rows ``X``, components first.

        Parameters
        ----------
        X : ndarray of shape (m, p)
        log_weights : bool, default=True
            Whether to compute the log weights (None in their place if not).

        Returns
        -------
        log_weights : ndarray of shape (K, m) or None
            ``log w_k(x)``, exact (finite down to about -1e308).
        weights : ndarray of shape (K, m)
            ``w_k(x)``, except that a weight below ``exp(-700)`` times the
            largest is raised to that (exp's slow path on subnormal results
            is avoided; the change is below round-off of the sums).
        means : ndarray of shape (K, q, m)
            ``m_k(x)``.
        """
        k, p, q = self.n_components, self.n_inputs, self.n_outputs
        # the rows as contiguous columns, centred, and a row of ones
        columns = np.empty((p + 1, len(X)))
        np.subtract(X.T, self.centre[:, None], out=columns[:p])
        columns[p] = 1.0
        product = self.projection @ columns
        whitened = product[: k * p]
        np.square(whitened, out=whitened)
        logs = self.half_sums @ whitened
        logs += self.log_norm
        logs -= logs.max(axis=0)
        weights = np.exp(np.maximum(logs, _EXP_FLOOR))
        total = weights.sum(axis=0)
        weights /= total
        if log_weights:
            logs -= np.log(total)
        return (
            logs if log_weights else None,
            weights,
            product[k * p :].reshape(k, q, len(X)),
        )

    def log_density(self, log_weights, means, Y):
        """``log p(y | x)`` of rows given their components, shape (m,).

        Parameters
        ----------
        log_weights : ndarray of shape (K, m)
        means : ndarray of shape (K, q, m)
        Y : ndarray of shape (m, q)
        """
        whitened = self.cholesky_inverse @ (Y.T - means)  # (K, q, m)
        log_joint = log_weights + self.conditional_log_norm
        log_joint -= 0.5 * (whitened * whitened).sum(axis=1)
        largest = log_joint.max(axis=0)
        shifted = np.maximum(log_joint - largest, _EXP_FLOOR)
        return largest + np.log(np.exp(shifted).sum(axis=0))


def _cholesky(matrices, what):
    """Lower Cholesky factors of a (K, r, r) stack, naming any that fail."""
    try:
        return np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        # the error path only: find which components are not positive definite
        failed = []
        for index, matrix in enumerate(matrices):
            try:
                np.linalg.cholesky(matrix)
            except np.linalg.LinAlgError:
                failed.append(index)
        raise SingularCovarianceError(
            f"the {what} of component(s) {failed} is not positive definite, so "
            "the mixture cannot be conditioned on these inputs; fit with a larger "
            "reg_covar or choose other input coordinates.",
            components=failed,
        ) from None


def _joint_parameters(mixture):
    """Weights (K,), means (K, d) and full covariances (K, d, d) in float64.

    The covariances are converted from ``mixture.covariance_type``'s shape by
    that covariance structure (:meth:`CovarianceStructure.matrices`).
    """
    for name in ("weights_", "means_", "covariances_", "covariance_type"):
        if not hasattr(mixture, name):
            raise TypeError(
                "from_mixture takes a fitted Gaussian mixture with weights_, "
                f"means_, covariances_ and covariance_type (such as "
                f"mixtura.GaussianMixture); a {type(mixture).__name__} has no "
                f"{name}."
            )
    means = np.asarray(mixture.means_, dtype=np.float64)
    weights = np.asarray(mixture.weights_, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"means_ must be (n_components, n_features); {means.shape}")
    if weights.shape != (len(means),) or getattr(mixture, "noise", None):
        raise ValueError(
            "from_mixture cannot condition a mixture with a noise component "
            "(its uniform density has no Gaussian conditional); fit the "
            "GaussianMixture with noise=None."
        )
    n_components, n_features = means.shape
    structure = get_covariance_structure(mixture.covariance_type)
    covariances = np.array(
        structure.matrices(
            np.asarray(mixture.covariances_, dtype=np.float64),
            n_components,
            n_features,
        ),
        dtype=np.float64,
    )
    return weights, means, covariances


def _split_indices(input_indices, n_features):
    """Input and output coordinates (int arrays) of a joint of ``n_features``."""
    indices = np.asarray(input_indices)
    if indices.ndim == 0:
        indices = indices.reshape(1)
    if indices.dtype == bool:
        raise DataValidationError(
            "input_indices must hold integer coordinates, not a boolean mask; "
            "pass np.flatnonzero(mask)."
        )
    if indices.ndim != 1 or indices.size == 0:
        raise DataValidationError(
            "input_indices must be a non-empty sequence of coordinates; got "
            f"shape {indices.shape}."
        )
    if not np.issubdtype(indices.dtype, np.integer):
        raise DataValidationError(
            f"input_indices must be integers; got dtype {indices.dtype}."
        )
    outside = indices[(indices < 0) | (indices >= n_features)]
    if outside.size:
        raise DataValidationError(
            f"input_indices {outside.tolist()} are out of range: the mixture has "
            f"{n_features} coordinates, numbered 0 to {n_features - 1}."
        )
    values, counts = np.unique(indices, return_counts=True)
    if (counts > 1).any():
        raise DataValidationError(
            f"input_indices name the coordinates {values[counts > 1].tolist()} "
            "more than once; give each input once."
        )
    if indices.size == n_features:
        raise DataValidationError(
            f"input_indices name all {n_features} coordinates, leaving no output "
            "to predict; leave at least one coordinate out."
        )
    outputs = np.setdiff1d(np.arange(n_features), indices)
    return indices.astype(np.intp), outputs.astype(np.intp)


@shared_docstring
class GaussianMixtureRegression(RegressorMixin, BaseEstimator):
    """Regression by conditioning a joint Gaussian mixture on the inputs.

    :meth:`fit` fits a :class:`~mixtura.GaussianMixture` to the joint rows
    ``[X, y]``; :meth:`from_mixture` conditions an already fitted one on any
    of its coordinates. Given inputs ``x``, the outputs follow a Gaussian
    mixture (:meth:`conditional`) with weights ``w_k(x) ∝ w_k N(x | mu_x,
    S_xx)``, means ``mu_y + S_yx S_xx^{-1} (x - mu_x)`` and covariances ``S_yy
    - S_yx S_xx^{-1} S_xy`` (Ghahramani & Jordan 1994; Sung 2004): a
    piecewise-linear regression with input-dependent uncertainty.

    Parameters
    ----------
    n_components : int, default=1
        Number of components of the joint mixture (1 is linear regression
        with Gaussian noise).
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or an mclust model, \
            default='full'
        Covariance structure of the joint mixture, as
        :class:`~mixtura.GaussianMixture` takes it. Only structures with
        correlations between inputs and outputs (``'full'``, ``'tied'``,
        mclust's ``'EEE'``, ``'VVV'`` and the other non-diagonal models) make
        the conditional means depend on ``x`` within a component.
    {{shared: tol}}
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every joint covariance.
    {{shared: max_iter n_init init_params}}
    weights_init : array-like of shape (n_components,), default=None
        Initial weights of the joint mixture.
    means_init : array-like of shape (n_components, n_features + n_outputs), \
            default=None
        Initial joint means, inputs first, then outputs.
    precisions_init : array-like, default=None
        Initial joint precisions, shaped by ``covariance_type``.
    {{shared: random_state verbose verbose_interval chunk_size on_degenerate}}
    prior : None, 'default', dict or MclustPrior, default=None
        Conjugate prior of the joint mixture's fit, see
        :class:`~mixtura.GaussianMixture`.
    tol_mode : {'absolute', 'relative'}, default='absolute'
        How ``tol`` is read, see :class:`~mixtura.GaussianMixture`.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The joint mixture (fitted on ``[X, y]``, or a copy of the one given to
        :meth:`from_mixture`).
    input_indices_ : ndarray of shape (`n_features_in_`,)
        The joint coordinates that are inputs, in the order of ``X``'s columns.
    output_indices_ : ndarray of shape (`n_outputs_`,)
        The joint coordinates that are outputs, in increasing order.
    n_outputs_ : int
        Number of outputs ``q``.
    n_iter_ : int or None
        EM iterations of the joint mixture's fit (None when the mixture given
        to :meth:`from_mixture` does not record them).
    n_features_in_ : int
        Number of inputs ``p``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Input column names, when ``X`` had string column names.

    See Also
    --------
    GaussianMixture : The joint density.

    Notes
    -----
    :meth:`score` is the mean conditional log-likelihood ``log p(y | x)``
    (project issue 16), not scikit-learn's regressor default R^2; use
    :func:`sklearn.metrics.r2_score` on :meth:`predict` for that.

    The model files of :func:`mixtura.save` store the joint mixture and the
    split of its coordinates; predictions are computed in float64 whatever the
    dtype of the fit.

    References
    ----------
    Ghahramani, Z. and Jordan, M. I. (1994). Supervised learning from
    incomplete data via an EM approach. NIPS 6, 120-127.

    Sung, H. G. (2004). Gaussian mixture regression and classification. PhD
    thesis, Rice University.

    Examples
    --------
    >>> import numpy as np
    >>> from mixtura import GaussianMixtureRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-3, 3, size=(500, 1))
    >>> y = np.sin(X[:, 0]) + 0.05 * rng.standard_normal(500)
    >>> gmr = GaussianMixtureRegression(n_components=5, random_state=0).fit(X, y)
    >>> bool(abs(gmr.predict([[1.0]])[0] - np.sin(1.0)) < 0.1)
    True
    """

    _parameter_constraints: dict = {
        name: GaussianMixture._parameter_constraints[name]
        for name in _MIXTURE_PARAMETERS
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
        verbose=0,
        verbose_interval=10,
        chunk_size=None,
        on_degenerate="reseed",
        prior=None,
        tol_mode="absolute",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.on_degenerate = on_degenerate
        self.prior = prior
        self.tol_mode = tol_mode

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # -- building -----------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the joint Gaussian mixture of ``[X, y]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Outputs. With a 1-D ``y``, :meth:`predict` returns 1-D predictions.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the mixture's fit.

        Returns
        -------
        self : GaussianMixtureRegression
            The fitted estimator. A fit that raises leaves the estimator as it
            was before the call.
        """
        before = dict(self.__dict__)
        try:
            self._validate_params()
            X = check_data(self, X, reset=True, advise_missing_em=False)
            Y, target_1d = self._check_targets(y, X.shape[0], X.dtype)
            if sample_weight is not None:
                sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
            mixture = GaussianMixture(**self.get_params())
            mixture.fit(np.hstack([X, Y]), sample_weight=sample_weight)
            p, q = X.shape[1], Y.shape[1]
            self._adopt(mixture, np.arange(p), np.arange(p, p + q), target_1d)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    @classmethod
    def from_mixture(cls, mixture, input_indices):
        """Condition a fitted joint Gaussian mixture on some of its coordinates.

        Parameters
        ----------
        mixture : GaussianMixture
            A fitted Gaussian mixture of any ``covariance_type`` (mixtura's,
            or any estimator with scikit-learn's ``weights_``, ``means_``,
            ``covariances_`` and ``covariance_type``), without a noise
            component. It is copied: refitting it later does not change the
            regression.
        input_indices : int or sequence of int
            The mixture's coordinates that are inputs, in the order of the
            columns of the ``X`` the regression will take; the other
            coordinates are the outputs, in increasing order. Each coordinate
            at most once, and at least one left as output.

        Returns
        -------
        model : GaussianMixtureRegression
            A fitted regression whose hyperparameters are the mixture's (so a
            later :meth:`fit` fits a mixture like it). Its predictions are 1-D
            when one coordinate is left as output.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If ``mixture`` is not fitted.
        mixtura.exceptions.DataValidationError
            If ``input_indices`` are out of range, repeated, empty or all
            coordinates.
        """
        check_is_fitted(mixture)
        _, means, _ = _joint_parameters(mixture)
        inputs, outputs = _split_indices(input_indices, means.shape[1])
        names = set(cls._get_param_names())
        model = cls(**{k: v for k, v in mixture.get_params().items() if k in names})
        model._adopt(copy.deepcopy(mixture), inputs, outputs, outputs.size == 1)
        model.n_features_in_ = inputs.size
        feature_names = getattr(mixture, "feature_names_in_", None)
        if feature_names is not None:
            model.feature_names_in_ = np.asarray(feature_names)[inputs]
        return model

    def _adopt(self, mixture, inputs, outputs, target_1d):
        """Make ``mixture`` the joint model, split as ``inputs`` / ``outputs``."""
        conditioner = _Conditioner(*_joint_parameters(mixture), inputs, outputs)
        self.mixture_ = mixture
        self.input_indices_ = inputs
        self.output_indices_ = outputs
        self.n_outputs_ = int(outputs.size)
        self.n_iter_ = getattr(mixture, "n_iter_", None)
        self._target_1d = bool(target_1d)
        self._conditioner = conditioner

    def _check_targets(self, y, n_samples, dtype):
        if y is None:
            raise DataValidationError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        with sklearn_data_errors(y):
            Y = check_array(
                y,
                ensure_2d=False,
                dtype=[np.float64, np.float32],
                ensure_all_finite=False,
                input_name="y",
            )
        if Y.ndim not in (1, 2) or Y.shape[0] != n_samples or Y.size == 0:
            raise DataValidationError(
                f"y must have shape ({n_samples},) or ({n_samples}, n_outputs), "
                f"one row per row of X; got shape {Y.shape}."
            )
        target_1d = Y.ndim == 1
        Y = Y.reshape(n_samples, -1).astype(dtype, copy=False)
        check_finite(Y, what="y", advise_missing_em=False)
        return Y, target_1d

    # -- predicting ---------------------------------------------------------------
    def _inputs(self, X):
        check_is_fitted(self, "mixture_")
        X = check_data(self, X, reset=False, advise_missing_em=False)
        return np.asarray(X, dtype=np.float64)

    def _each_chunk(self, n_samples, work):
        """Call ``work(rows)`` for each block of rows (a slice), side by side.

        Each block's products are small, so BLAS threads inside one product
        lose more than they gain; the blocks run on separate threads instead
        (as many as the BLAS has), each with a one-thread BLAS, as the EM
        step's chunks do (:mod:`mixtura.inference.data`). ``work`` writes
        into its rows of preallocated outputs.
        """
        chunks = [
            slice(start, min(start + _CHUNK_ROWS, n_samples))
            for start in range(0, n_samples, _CHUNK_ROWS)
        ]
        if len(chunks) < 2:
            for rows in chunks:
                work(rows)
            return
        with single_threaded_blas():
            threads = _worker_count(len(chunks))
            if threads == 1:
                for rows in chunks:
                    work(rows)
                return
            with ThreadPoolExecutor(threads) as pool:
                for _ in pool.map(work, chunks):
                    pass

    def predict(self, X):
        """Conditional mean ``E[y | x]`` of each input row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when the model was fitted with a 1-D ``y`` (or built by
            :meth:`from_mixture` with one output).
        """
        X = self._inputs(X)
        conditioner = self._conditioner
        out = np.empty((X.shape[0], self.n_outputs_))

        def work(rows):
            _, weights, means = conditioner.components(X[rows], log_weights=False)
            out[rows] = np.einsum("km,kqm->mq", weights, means)

        self._each_chunk(X.shape[0], work)
        return out[:, 0] if self._target_1d else out

    def predict_covariance(self, X):
        """Covariance of the predictive mixture ``p(y | x)`` of each input row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        covariances : ndarray of shape (n_samples, n_outputs, n_outputs)
            ``sum_k w_k(x) (C_k + (m_k(x) - m(x)) (m_k(x) - m(x))^T)``, with
            ``m(x)`` the prediction of :meth:`predict`.
        """
        X = self._inputs(X)
        conditioner = self._conditioner
        q = self.n_outputs_
        flat = conditioner.covariances.reshape(conditioner.n_components, q * q)
        out = np.empty((X.shape[0], q, q))

        def work(rows):
            _, weights, means = conditioner.components(X[rows], log_weights=False)
            deviations = means - np.einsum("km,kqm->qm", weights, means)
            weighted = weights[:, None, :] * deviations
            spread = np.einsum("kim,kjm->mij", weighted, deviations)
            out[rows] = (weights.T @ flat).reshape(-1, q, q) + spread

        self._each_chunk(X.shape[0], work)
        return out

    def conditional(self, X):
        """The Gaussian mixture of the outputs given each input row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        conditional : ConditionalMixture
            ``weights`` of shape (n_samples, n_components), summing to one per
            row (a weight below ``exp(-700)`` is 0; ``log_weights`` keeps it);
            ``means`` (n_samples, n_components, n_outputs); ``covariances``
            (n_components, n_outputs, n_outputs), the same for every row; and
            ``log_weights`` (n_samples, n_components).
        """
        X = self._inputs(X)
        conditioner = self._conditioner
        k, q = conditioner.n_components, self.n_outputs_
        log_weights = np.empty((X.shape[0], k))
        weights = np.zeros((X.shape[0], k))
        means = np.empty((X.shape[0], k, q))

        def work(rows):
            chunk_log_weights, _, chunk_means = conditioner.components(X[rows])
            log_weights[rows] = chunk_log_weights.T
            # weights under exp(-700) are left 0 (exp's subnormal results
            # are about 100 times slower than normal ones)
            np.exp(
                log_weights[rows],
                out=weights[rows],
                where=log_weights[rows] > _EXP_FLOOR,
            )
            means[rows] = chunk_means.transpose(2, 0, 1)

        self._each_chunk(X.shape[0], work)
        return ConditionalMixture(
            weights=weights,
            means=means,
            covariances=conditioner.covariances.copy(),
            log_weights=log_weights,
        )

    def sample(self, X, n_samples=1, random_state=None):
        """Draw outputs from ``p(y | x)`` for each input row.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
            Inputs.
        n_samples : int, default=1
            Draws per input row.
        random_state : int, RandomState instance, Generator or None, default=None
            Seed of the draws (None: NumPy's global random state, as
            :func:`sklearn.utils.check_random_state` reads it).

        Returns
        -------
        Y : ndarray of shape (n_samples_X, n_samples, n_outputs)
            ``Y[i, j]`` is the j-th draw given ``X[i]`` (the output axis is
            kept with one output too).
        """
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, (int, np.integer))
            or n_samples < 1
        ):
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
        X = self._inputs(X)
        rng = check_random_state(random_state)
        conditioner = self._conditioner
        q = self.n_outputs_
        out = np.empty((X.shape[0], int(n_samples), q))
        for start in range(0, X.shape[0], _CHUNK_ROWS):
            # in order, on one thread: the draws follow random_state's stream
            rows = slice(start, start + _CHUNK_ROWS)
            _, weights, means = conditioner.components(X[rows], log_weights=False)
            m = weights.shape[1]
            cumulative = np.cumsum(weights, axis=0)  # (K, m)
            # inverse CDF, the uniforms scaled by the total (one up to
            # round-off), so no draw falls past the last component
            uniform = rng.random_sample((m, n_samples)) * cumulative[-1][:, None]
            passed = uniform[None] >= cumulative[:, :, None]  # (K, m, s)
            labels = np.minimum(passed.sum(axis=0), conditioner.n_components - 1)
            noise = rng.standard_normal((m, n_samples, q))
            centres = means.transpose(2, 0, 1)[np.arange(m)[:, None], labels]
            factors = conditioner.cholesky[labels]  # (m, s, q, q)
            out[rows] = centres + np.einsum("msij,msj->msi", factors, noise)
        return out

    def score_samples(self, X, y):
        """Conditional log density ``log p(y | x)`` of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Outputs (1-D only with one output).

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        X = self._inputs(X)
        Y, _ = self._check_targets(y, X.shape[0], np.float64)
        if Y.shape[1] != self.n_outputs_:
            raise DataValidationError(
                f"y has {Y.shape[1]} outputs, but {type(self).__name__} predicts "
                f"{self.n_outputs_}."
            )
        conditioner = self._conditioner
        out = np.empty(X.shape[0])

        def work(rows):
            log_weights, _, means = conditioner.components(X[rows])
            out[rows] = conditioner.log_density(log_weights, means, Y[rows])

        self._each_chunk(X.shape[0], work)
        return out

    def score(self, X, y, sample_weight=None):
        """Mean conditional log-likelihood ``log p(y | x)`` of the rows.

        Not scikit-learn's regressor default (R^2): project issue 16 makes a
        mixture regression's score its conditional log-likelihood, as a
        mixture's ``score`` is its log-likelihood. Higher is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Outputs.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the mean.

        Returns
        -------
        score : float
        """
        log_density = self.score_samples(X, y)
        if sample_weight is None:
            return float(log_density.mean())
        weights = check_sample_weight(sample_weight, log_density.size, np.float64)
        return float(np.average(log_density, weights=weights))

    # -- model files (mixtura.io) -------------------------------------------------
    def _model_file_state(self):
        """What a model file stores: the split of coordinates and the mixture.

        Returns
        -------
        state : dict
            ``input_indices``, ``output_indices`` and ``target_1d``.
        models : list of GaussianMixture
            The joint mixture.
        """
        state = {
            "input_indices": self.input_indices_.tolist(),
            "output_indices": self.output_indices_.tolist(),
            "target_1d": self._target_1d,
        }
        return state, [self.mixture_]

    def _model_file_part_features(self, state, n_features_in):
        """Columns of the joint mixture a file's ``state`` implies.

        Raises
        ------
        ValueError
            If the state's inputs are not ``n_features_in`` coordinates.
        """
        inputs, outputs = state["input_indices"], state["output_indices"]
        if not (isinstance(inputs, list) and isinstance(outputs, list)):
            raise ValueError("input_indices and output_indices must be lists")
        if len(inputs) != n_features_in:
            raise ValueError(
                f"{len(inputs)} input coordinates for {n_features_in} features"
            )
        return len(inputs) + len(outputs)

    def _set_model_file_state(self, state, models):
        """The fitted state from a model file's (audited) ``state`` and models.

        Raises
        ------
        ValueError
            If the state does not split the mixture's coordinates.
        """
        (mixture,) = models
        if not isinstance(mixture, GaussianMixture):
            raise ValueError(f"the joint mixture is a {type(mixture).__name__}")
        if set(state) != {"input_indices", "output_indices", "target_1d"}:
            raise ValueError(f"unexpected state keys {sorted(state)}")
        if not isinstance(state["target_1d"], bool):
            raise ValueError("target_1d must be a boolean")
        inputs, outputs = _split_indices(state["input_indices"], mixture.n_features_in_)
        if outputs.tolist() != state["output_indices"]:
            raise ValueError("output_indices are not the coordinates left by inputs")
        if state["target_1d"] and outputs.size != 1:
            raise ValueError("a 1-D target needs exactly one output")
        self._adopt(mixture, inputs, outputs, state["target_1d"])
