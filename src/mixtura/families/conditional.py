"""Conditional families: K experts, each a distribution of a response given inputs.

A mixture of regressions (or of experts) says that row i's response ``y_i`` came
from expert k with probability ``w_k`` (or a gate's ``w_k(x_i)``), and that
expert k models ``p(y | x, theta_k)``. Everything the fit loop, the data seam and
the additive statistics do for unconditional families then holds unchanged if a
*row* is the pair (x, y): a conditional family is a :class:`Family` whose rows
are the inputs, the responses and (for count experts) an offset, side by side
in one array (:class:`RowLayout`). Its :meth:`~Family.log_prob` is the
conditional log density ``log p(y_i | x_i, k)``; its statistics are what its
weighted fit needs (weighted moments for Gaussian experts, the Newton system of
iteratively reweighted least squares for generalised linear ones); its
:meth:`~Family.maximize` is that weighted fit for all K experts at once.

The experts themselves live in :mod:`~mixtura.families.linear_regression`,
:mod:`~mixtura.families.logistic_regression` and
:mod:`~mixtura.families.poisson_regression`; the generalised linear ones share
the batched Newton system of :mod:`mixtura.families._glm`.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass

import numpy as np

from mixtura.exceptions import DataValidationError, SingularCovarianceError
from mixtura.families.base import Family

__all__ = ["ConditionalFamily", "RowLayout"]


@dataclass(frozen=True)
class RowLayout:
    """Where the inputs, responses and offset sit in a conditional family's rows.

    A row is ``[x_1 .. x_p, y_1 .. y_q, offset]``: ``n_inputs`` inputs,
    ``n_outputs`` response columns, then one offset column when ``offset`` is
    true (a Poisson expert's log exposure).

    Parameters
    ----------
    n_inputs : int
        Number of input features p (the intercept is not a column).
    n_outputs : int, default=1
        Number of response columns q.
    offset : bool, default=False
        Whether the last column is an offset added to the linear predictor.
    """

    n_inputs: int
    n_outputs: int = 1
    offset: bool = False

    @property
    def width(self):
        """Number of columns of a row."""
        return self.n_inputs + self.n_outputs + int(self.offset)

    def inputs(self, rows):
        """The inputs, shape (n_samples, n_inputs)."""
        return rows[:, : self.n_inputs]

    def responses(self, rows):
        """The responses, shape (n_samples, n_outputs)."""
        return rows[:, self.n_inputs : self.n_inputs + self.n_outputs]

    def offsets(self, rows):
        """The offset column, shape (n_samples,), or None without one."""
        return rows[:, -1] if self.offset else None

    def join(self, inputs, responses, offset=None):
        """Rows from their parts (the inverse of the three accessors).

        Parameters
        ----------
        inputs : ndarray of shape (n_samples, n_inputs)
        responses : ndarray of shape (n_samples, n_outputs)
        offset : ndarray of shape (n_samples,) or None

        Returns
        -------
        rows : ndarray of shape (n_samples, width), float64
        """
        parts = [np.asarray(inputs, dtype=np.float64)]
        parts.append(np.asarray(responses, dtype=np.float64).reshape(len(inputs), -1))
        if self.offset:
            parts.append(np.asarray(offset, dtype=np.float64).reshape(-1, 1))
        return np.hstack(parts)

    def config(self):
        """JSON-serialisable form (see :meth:`from_config`)."""
        return asdict(self)

    @classmethod
    def from_config(cls, config):
        """The layout :meth:`config` describes."""
        return cls(
            n_inputs=int(config["n_inputs"]),
            n_outputs=int(config["n_outputs"]),
            offset=bool(config["offset"]),
        )


class ConditionalFamily(Family):
    """K experts ``p(y | x, theta_k)`` on rows laid out by a :class:`RowLayout`.

    Subclasses give the expert's log density, statistics and weighted fit
    (:class:`Family`'s contract on whole rows), and the response-side
    operations below, which the regression estimators use: the experts' mean
    responses, drawing responses for given inputs, and checking a response
    before a fit.

    Parameters
    ----------
    layout : RowLayout
    fit_intercept : bool
        Whether each expert has an intercept (not penalised).
    alpha : float
        L2 penalty on the experts' slope coefficients (see each expert).
    """

    conditional = True

    #: fixed-responsibility refinements of the initial experts: generalised
    #: linear experts start from one IRLS step and take a few more, so that
    #: EM starts from (nearly) fitted experts rather than one step off
    initial_refinements: int = 0

    def __init__(self, layout, fit_intercept=True, alpha=0.0):
        if not isinstance(layout, RowLayout):
            raise TypeError(f"layout must be a RowLayout; got {layout!r}")
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0; got {alpha}")
        self.layout = layout
        self.fit_intercept = bool(fit_intercept)
        self.alpha = float(alpha)

    #: the experts' coefficient array (None for a template); every expert has one
    coefficients = None

    @property
    def n_components(self):
        if self.coefficients is None:
            raise ValueError(
                f"this {type(self).__name__} family is a template without "
                "parameters; fit it first"
            )
        return self.coefficients.shape[0]

    def _checked_coefficients(self, coefficients, tail):
        """``coefficients`` as float64 of shape (K, *tail), finite; or ValueError."""
        coefficients = np.asarray(coefficients, dtype=np.float64)
        if coefficients.ndim != 1 + len(tail) or coefficients.shape[1:] != tail:
            raise ValueError(
                f"coefficients must have shape (n_components, "
                f"{', '.join(map(str, tail))}); got {coefficients.shape}"
            )
        if not np.isfinite(coefficients).all():
            raise ValueError("coefficients must be finite")
        return coefficients

    @classmethod
    def _from_model_file(cls, config, build):
        """``build(layout, fit_intercept, alpha)`` from a model file's config.

        Any problem (a missing key, a wrong shape, a covariance that is not
        positive definite) becomes a :class:`DataValidationError` naming the
        family.
        """
        try:
            return build(
                RowLayout.from_config(config["layout"]),
                bool(config["fit_intercept"]),
                float(config["alpha"]),
            )
        except (KeyError, ValueError, TypeError, SingularCovarianceError) as error:
            raise DataValidationError(
                f"invalid {cls.name} parameters in the model file: {error}"
            ) from None

    @property
    def n_features(self):
        """The number of inputs p: what a regression's ``n_features_in_`` counts.

        A row is wider (:attr:`RowLayout.width`); the data seam reads the width
        from the rows themselves.
        """
        return self.layout.n_inputs

    def design(self, rows):
        """The inputs with a trailing column of ones when there is an intercept.

        Parameters
        ----------
        rows : ndarray of shape (n_samples, width)

        Returns
        -------
        design : ndarray of shape (n_samples, n_coefficients)
        """
        inputs = self.layout.inputs(rows)
        if not self.fit_intercept:
            return inputs
        return np.hstack([inputs, np.ones((inputs.shape[0], 1), dtype=inputs.dtype)])

    @property
    def n_coefficients(self):
        """Coefficients per response column of one expert (slopes + intercept)."""
        return self.layout.n_inputs + int(self.fit_intercept)

    def penalty(self):
        """The L2 penalty per coefficient, shape (n_coefficients,).

        ``alpha`` on every slope, 0 on the intercept (the last coefficient).
        """
        penalty = np.full(self.n_coefficients, self.alpha)
        if self.fit_intercept:
            penalty[-1] = 0.0
        return penalty

    def base_config(self):
        """The configuration every conditional family shares, for :meth:`config`."""
        return {
            "layout": self.layout.config(),
            "fit_intercept": self.fit_intercept,
            "alpha": self.alpha,
        }

    def init_features(self, X):
        """Standardised rows (inputs and responses): k-means on (x, y).

        The offset column is left out. Each column is centred and scaled to
        unit variance (constant columns only centred), so that no feature's
        units dominate the clustering.
        """
        columns = X[:, : self.layout.n_inputs + self.layout.n_outputs]
        columns = np.asarray(columns, dtype=np.float64)
        scale = columns.std(axis=0)
        scale[scale == 0] = 1.0
        return (columns - columns.mean(axis=0)) / scale

    def chunk_row_values(self, n_features, n_components):
        # the Newton system's pairwise products of a row's design
        width = self.n_coefficients
        return width * width + n_components * (self.layout.n_outputs + 4)

    def check_rows(self, rows):
        """Check the responses (and offsets) of joined rows; return the rows.

        Parameters
        ----------
        rows : ndarray of shape (n_samples, width)

        Returns
        -------
        rows : ndarray of shape (n_samples, width)

        Raises
        ------
        DataValidationError
            If a response lies outside the expert's support.
        """
        responses = self.layout.responses(rows)
        if not np.isfinite(responses).all():
            raise DataValidationError(
                "y contains NaN or infinity; drop those rows or impute them "
                "before fitting."
            )
        self.check_response(responses)
        return rows

    def check_response(self, responses):
        """Refuse responses outside the expert's support (default: any real).

        Parameters
        ----------
        responses : ndarray of shape (n_samples, n_outputs)
        """

    def check_data(self, X):
        return self.check_rows(X)

    @abstractmethod
    def mean_response(self, rows):
        """Each expert's mean response at the rows' inputs.

        Parameters
        ----------
        rows : ndarray of shape (n_samples, width)
            Only the inputs (and offset) are read.

        Returns
        -------
        means : ndarray of shape (n_samples, n_components, n_outputs)
            For a logistic expert, the class probabilities (n_outputs is the
            number of classes).
        """

    @abstractmethod
    def sample_responses(self, rows, labels, random_state):
        """Draw a response for each row from expert ``labels[i]``.

        Parameters
        ----------
        rows : ndarray of shape (n_samples, width)
            Only the inputs (and offset) are read.
        labels : ndarray of int, shape (n_samples,)
        random_state : RandomState

        Returns
        -------
        responses : ndarray of shape (n_samples, n_outputs)
        """

    @abstractmethod
    def interpolated(self, other, step):
        """The experts ``step`` of the way from these parameters to ``other``'s.

        The monotone EM step's backtracking
        (:mod:`mixtura.inference.line_search`): a generalised linear expert's
        M-step is one Newton step, which may overshoot; a shorter step along
        it increases the likelihood.

        Parameters
        ----------
        other : ConditionalFamily
            The same configuration, with parameters.
        step : float
            In (0, 1].

        Returns
        -------
        family : ConditionalFamily
        """

    def sample(self, labels, random_state):
        raise TypeError(
            "a conditional family draws responses for given inputs: call "
            "sample_responses(rows, labels, random_state), or the estimator's "
            "sample(X)"
        )
