"""Model selection: fit a grid of models and numbers of components, compare them.

:func:`select` fits one :class:`~mixtura.GaussianMixture` per cell of a grid
(model x number of components K) and returns a :class:`SelectionTable` of
information criteria, like mclust's ``mclustBIC``.

Sign conventions
----------------
``bic`` and ``aic`` follow scikit-learn: ``-2 log L + p log n`` and
``-2 log L + 2 p``, **lower is better**. ``mclust_bic`` is ``-bic``, mclust's
convention, **higher is better**. :meth:`SelectionTable.best` knows which way each
criterion points, so ``best("bic")`` and ``best("mclust_bic")`` agree.

Cells are keyed by a model name and K. A model name is, for now, a covariance type
(``'spherical'``, ``'diag'``, ``'tied'``, ``'full'``); mclust's named models join as
further names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import _num_samples

from mixtura.estimators import GaussianMixture
from mixtura.families.covariance import get_covariance_structure

__all__ = ["CRITERIA", "Criterion", "SelectionTable", "select"]


@dataclass(frozen=True)
class Criterion:
    """How an information criterion reads: its name, formula and direction."""

    name: str
    formula: str
    lower_is_better: bool

    @property
    def direction(self):
        """+1 when lower is better, -1 when higher is better."""
        return 1 if self.lower_is_better else -1

    @property
    def better(self):
        """``'lower is better'`` or ``'higher is better'``."""
        return f"{'lower' if self.lower_is_better else 'higher'} is better"

    @property
    def axis_label(self):
        """Short label for a plot axis, e.g. ``'BIC (lower is better)'``."""
        return f"{self.name} ({self.better})"

    def describe(self):
        """One-line description with the formula."""
        return f"{self.name} = {self.formula} ({self.better})"


#: criterion key -> Criterion. A new criterion (ICL, ...) joins here and in
#: ``_Cell``.
CRITERIA = {
    "bic": Criterion("BIC", "-2 log L + p log n", lower_is_better=True),
    "aic": Criterion("AIC", "-2 log L + 2 p", lower_is_better=True),
    "mclust_bic": Criterion("mclust BIC", "2 log L - p log n", lower_is_better=False),
}

# What a failed fit raises: SingularCovarianceError, DataValidationError (e.g. more
# components than samples) and NumPy's LinAlgError all derive from ValueError.
_FIT_ERRORS = (ValueError,)


@dataclass(frozen=True)
class _Cell:
    """One fitted (or failed) cell of the grid."""

    model: str
    n_components: int
    log_likelihood: float = math.nan
    n_parameters: float = math.nan
    bic: float = math.nan
    aic: float = math.nan
    converged: bool | None = None
    error: str | None = None
    estimator: Any = None

    @property
    def mclust_bic(self):
        return -self.bic

    @property
    def missing(self):
        return self.error is not None

    def record(self):
        return {
            "model": self.model,
            "n_components": self.n_components,
            "log_likelihood": self.log_likelihood,
            "n_parameters": self.n_parameters,
            "bic": self.bic,
            "aic": self.aic,
            "mclust_bic": self.mclust_bic,
            "converged": self.converged,
            "missing": self.missing,
            "error": self.error,
        }


def _check_criterion(criterion):
    if criterion not in CRITERIA:
        raise ValueError(
            f"unknown criterion {criterion!r}; valid ones are {sorted(CRITERIA)}"
        )
    return CRITERIA[criterion]


def _check_n_components(n_components):
    values = [n_components] if np.isscalar(n_components) else list(n_components)
    if not values or any(
        isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1
        for k in values
    ):
        raise ValueError(
            "n_components must be a positive integer or a non-empty sequence of "
            f"positive integers; got {n_components!r}."
        )
    return tuple(int(k) for k in values)


def _fit_cell(X, n_samples, model, n_components, estimator_params):
    """Fit one cell; a failed fit becomes a missing cell with the reason."""
    estimator = GaussianMixture(n_components, covariance_type=model, **estimator_params)
    try:
        estimator.fit(X)
        log_likelihood = float(np.sum(estimator.score_samples(X)))
    except InvalidParameterError:
        raise  # a mistake in the call, the same for every cell
    except _FIT_ERRORS as error:
        reason = f"{type(error).__name__}: {error}"
        return _Cell(model, n_components, error=reason)
    n_parameters = estimator._n_parameters()
    return _Cell(
        model,
        n_components,
        log_likelihood=log_likelihood,
        n_parameters=n_parameters,
        bic=-2 * log_likelihood + n_parameters * math.log(n_samples),
        aic=-2 * log_likelihood + 2 * n_parameters,
        converged=bool(estimator.converged_),
        estimator=estimator,
    )


def select(
    X,
    n_components=range(1, 7),
    covariance_types=("spherical", "diag", "tied", "full"),
    *,
    random_state=0,
    n_init=1,
    **estimator_params,
):
    """Fit a Gaussian mixture for each covariance type and number of components.

    A cell whose fit fails (a singular covariance, more components than samples,
    any other ``ValueError`` from the fit) is recorded as missing with the reason;
    it is not raised.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    n_components : int or iterable of int, default=range(1, 7)
        Numbers of components K to try.
    covariance_types : iterable of str, default=("spherical", "diag", "tied", "full")
        Models to try, by covariance type name; the table's columns, in this order.
    random_state : int, RandomState instance or None, default=0
        Seed passed to every fit, so each cell equals a direct fit of
        :class:`~mixtura.GaussianMixture` with the same seed.
    n_init : int, default=1
        Initialisations per cell.
    **estimator_params
        Further :class:`~mixtura.GaussianMixture` parameters (``tol``,
        ``reg_covar``, ``max_iter``, ``init_params``...).

    Returns
    -------
    table : SelectionTable
        Log-likelihood, number of parameters, BIC, AIC (lower is better) and
        mclust's BIC (``-bic``, higher is better) of every cell, and the fitted
        estimators.

    Raises
    ------
    ValueError
        If a covariance type is unknown, ``n_components`` is not positive
        integers, or an estimator parameter is invalid (mistakes in the call, not
        failed fits).

    Examples
    --------
    >>> from mixtura.datasets import load_faithful
    >>> from mixtura.selection import select
    >>> table = select(load_faithful(), n_components=range(1, 4))
    >>> table.best("bic")
    ('full', 2)
    """
    models = tuple(get_covariance_structure(name).name for name in covariance_types)
    if not models:
        raise ValueError("covariance_types must name at least one covariance type.")
    ks = _check_n_components(n_components)
    n_samples = _num_samples(X)
    params = {"random_state": random_state, "n_init": n_init, **estimator_params}
    cells = [_fit_cell(X, n_samples, model, k, params) for model in models for k in ks]
    return SelectionTable(cells, n_samples=n_samples)


class SelectionTable:
    """Information criteria of a grid of fitted mixtures, keyed by (model, K).

    Made by :func:`select`. ``bic`` and ``aic`` are lower-is-better
    (scikit-learn's convention); ``mclust_bic = -bic`` is higher-is-better
    (mclust's). Missing cells (failed fits) hold NaN and their ``error``.

    Parameters
    ----------
    cells : iterable of cells
        The fitted cells, as made by :func:`select`.
    n_samples : int
        Number of samples the models were fitted to.

    Attributes
    ----------
    models : tuple of str
        Model names (covariance types), the table's columns.
    n_components : tuple of int
        Numbers of components K, the table's rows.
    n_samples : int
        Number of samples the models were fitted to.
    """

    def __init__(self, cells, n_samples):
        self._cells = {(cell.model, cell.n_components): cell for cell in cells}
        self.models = tuple(dict.fromkeys(model for model, _ in self._cells))
        self.n_components = tuple(sorted({k for _, k in self._cells}))
        self.n_samples = int(n_samples)

    def __len__(self):
        return len(self._cells)

    def __getitem__(self, key):
        """The record (a dict, see :attr:`records`) of cell ``(model, K)``."""
        return self._cell(*key).record()

    def _cell(self, model, n_components):
        try:
            return self._cells[(model, n_components)]
        except KeyError:
            raise KeyError(
                f"no cell ({model!r}, {n_components}); models are {self.models}, "
                f"n_components are {self.n_components}"
            ) from None

    @property
    def records(self):
        """One dict per cell: model, n_components, log_likelihood, n_parameters,
        bic, aic, mclust_bic, converged, missing, error.

        Returns
        -------
        records : list of dict
            In column-major order (model, then K); missing cells hold NaN values
            and the failure's reason in ``error``.
        """
        return [cell.record() for cell in self._cells.values()]

    def value(self, criterion, model, n_components):
        """The criterion of one cell (NaN if the cell is missing).

        Parameters
        ----------
        criterion : {'bic', 'aic', 'mclust_bic'}
        model : str
        n_components : int

        Returns
        -------
        value : float
        """
        _check_criterion(criterion)
        return float(getattr(self._cell(model, n_components), criterion))

    def best(self, criterion="bic"):
        """The best cell under ``criterion``.

        Parameters
        ----------
        criterion : {'bic', 'aic', 'mclust_bic'}, default='bic'
            ``bic`` and ``aic`` are minimised, ``mclust_bic`` maximised; ties go to
            the earlier cell (simpler model, then fewer components).

        Returns
        -------
        model : str
            Model name (covariance type).
        n_components : int
            Number of components K.

        Raises
        ------
        ValueError
            If every cell is missing.
        """
        direction = _check_criterion(criterion).direction
        fitted = [cell for cell in self._cells.values() if not cell.missing]
        if not fitted:
            raise ValueError(
                "every cell of the selection table failed to fit; see its records' "
                "'error' for the reasons."
            )
        best = min(fitted, key=lambda cell: direction * getattr(cell, criterion))
        return best.model, best.n_components

    def estimator(self, model, n_components):
        """The fitted estimator of cell ``(model, K)`` (None if missing)."""
        return self._cell(model, n_components).estimator

    @property
    def best_model_(self):
        """The fitted estimator of the BIC-best cell.

        Returns
        -------
        estimator : GaussianMixture
        """
        return self.estimator(*self.best("bic"))

    def missing(self):
        """The failed cells and why.

        Returns
        -------
        missing : dict of (str, int) -> str
            ``(model, K) -> reason``.
        """
        return {key: cell.error for key, cell in self._cells.items() if cell.missing}

    def to_text(self, criterion="bic", precision=2):
        """The criterion as a fixed-width table: rows K, columns models.

        The best cell is marked with ``*``; missing cells show ``-`` and their
        reasons are listed below the table.

        Parameters
        ----------
        criterion : {'bic', 'aic', 'mclust_bic'}, default='bic'
        precision : int, default=2
            Decimals shown.

        Returns
        -------
        text : str
        """
        label = _check_criterion(criterion).describe()
        best = self._best_or_none(criterion)
        width = max(12, *(len(model) + 2 for model in self.models))
        lines = [
            f"{label}; n_samples = {self.n_samples}",
            f"{'K':>3} " + "".join(f"{model:>{width}}" for model in self.models),
        ]
        for k in self.n_components:
            row = "".join(
                f"{self._format(criterion, (model, k), best, precision):>{width}}"
                for model in self.models
            )
            lines.append(f"{k:>3} {row}".rstrip())
        lines.append(
            "Best: none, every cell failed"
            if best is None
            else f"Best: {best[0]}, K = {best[1]} (marked *)"
        )
        lines.extend(
            f"Missing {model}, K = {k}: {reason}"
            for (model, k), reason in self.missing().items()
        )
        return "\n".join(lines)

    def _best_or_none(self, criterion):
        try:
            return self.best(criterion)
        except ValueError:
            return None

    def _format(self, criterion, key, best, precision):
        cell = self._cells.get(key)
        if cell is None or cell.missing:
            return "- "
        mark = "*" if key == best else " "
        return f"{getattr(cell, criterion):.{precision}f}{mark}"

    def to_pandas(self):
        """The records as a pandas DataFrame, one row per cell.

        Returns
        -------
        frame : pandas.DataFrame
            Columns as in :attr:`records`.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                "SelectionTable.to_pandas needs pandas; install it with `pip install "
                'pandas` or `pip install "mixtura[parquet]"`.'
            ) from error
        return pd.DataFrame.from_records(self.records)

    def __str__(self):
        return self.to_text("bic")

    def __repr__(self):
        return (
            f"SelectionTable(models={self.models}, n_components={self.n_components}, "
            f"n_samples={self.n_samples})"
        )
