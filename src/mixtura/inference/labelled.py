"""Partial labels: rows whose component is known, for semi-supervised EM.

``fit(X, y)`` with ``y[i]`` a component index for a labelled row and -1 for
the others maximises

    sum_{i unlabelled} w_i log sum_k pi_k p(x_i | k)
      + sum_{i labelled} w_i log (pi_{y_i} p(x_i | y_i)),

the likelihood of the data with the labelled rows' components observed
(Nigam, McCallum, Thrun & Mitchell 2000, "Text classification from labeled
and unlabeled documents using EM", Machine Learning 39). Its EM is EM on the
unlabelled rows with the labelled rows' responsibilities fixed at their
labels: each E-step adds their statistics (at the current parameters, so
families whose statistics depend on them, e.g. the Student-t's outlier
weights, stay exact) and their complete-data log-likelihood to the unlabelled
rows'. :class:`LabelledRows` is that data for the fit loop, through the same
:func:`~mixtura.inference.data.accumulate` seam as every other kind of data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mixtura.exceptions import DataValidationError
from mixtura.inference.data import ArrayData, accumulate, e_step_totals

__all__ = [
    "UNLABELLED",
    "LabelledRows",
    "aligned_responsibilities",
    "check_labels",
    "marks_unlabelled",
]

#: The label of a row whose component is unknown.
UNLABELLED = -1


def marks_unlabelled(y):
    """Whether ``y`` is partial labels: numbers with at least one -1.

    scikit-learn's semi-supervised convention (``-1`` for an unlabelled row,
    as in ``sklearn.semi_supervised``); any other ``y`` (None, class labels
    passed through a pipeline) is ignored, as clusterers ignore it.

    Parameters
    ----------
    y : array-like or None

    Returns
    -------
    partial : bool
    """
    if y is None:
        return False
    try:
        values = np.asarray(y)
    except (TypeError, ValueError):
        return False
    if values.dtype.kind not in "iuf":
        return False
    return bool(np.any(values == UNLABELLED))


def check_labels(y, n_samples, n_components):
    """Partial labels as integers in ``[-1, n_components)``, one per row.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    n_samples : int
    n_components : int

    Returns
    -------
    labels : ndarray of shape (n_samples,), int

    Raises
    ------
    DataValidationError
        Naming what is wrong: the length, a value that is not an integer, or
        a component index out of range.
    """
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise DataValidationError(
            f"y must hold one label per row, shape ({n_samples},); got shape "
            f"{labels.shape}. Use -1 for rows whose component is unknown."
        )
    if labels.dtype.kind not in "iub":
        numeric = labels.dtype.kind == "f"
        if not numeric or not np.all(np.isfinite(labels)):
            raise DataValidationError(
                "y must hold integer component indices (-1 for unlabelled rows); "
                f"got values of dtype {labels.dtype}"
            )
        if np.any(labels != np.round(labels)):
            row = int(np.flatnonzero(labels != np.round(labels))[0])
            raise DataValidationError(
                "y must hold integer component indices; "
                f"row {row} has {float(labels[row])}"
            )
    labels = labels.astype(np.int64)
    bad = np.flatnonzero((labels < UNLABELLED) | (labels >= n_components))
    if bad.size:
        row = int(bad[0])
        raise DataValidationError(
            f"y[{row}] = {labels[row]} is not a component of a mixture of "
            f"{n_components}: labels are 0 to {n_components - 1}, or -1 for a row "
            "whose component is unknown"
        )
    return labels


@dataclass
class LabelledRows:
    """In-memory rows, some with a known component, as the fit loop reads them.

    Parameters
    ----------
    free : ArrayData
        The unlabelled rows (with their weights).
    X : ndarray of shape (n_labelled, n_features)
        The labelled rows.
    labels : ndarray of shape (n_labelled,), int
        Their components.
    sample_weight : ndarray of shape (n_labelled,) or None
    n_components : int
        Number of columns of the responsibilities.
    """

    free: ArrayData
    X: np.ndarray
    labels: np.ndarray
    sample_weight: np.ndarray | None
    n_components: int

    @property
    def responsibilities(self):
        """The labelled rows' fixed responsibilities, one-hot (n_labelled, K)."""
        resp = np.zeros((self.labels.shape[0], self.n_components), dtype=self.X.dtype)
        resp[np.arange(self.labels.shape[0]), self.labels] = 1.0
        return resp

    @property
    def n_samples(self):
        return self.free.n_samples + self.X.shape[0]

    @property
    def total_weight(self):
        labelled = (
            float(self.X.shape[0])
            if self.sample_weight is None
            else float(np.sum(self.sample_weight))
        )
        return self.free.total_weight + labelled


@accumulate.register
def _accumulate_labelled(data: LabelledRows, mixture):
    stats = mixture.statistics(data.X, data.responsibilities, data.sample_weight)
    joint = np.asarray(mixture.joint_log_prob(data.X), dtype=np.float64)
    complete = joint[np.arange(data.labels.shape[0]), data.labels]
    if data.sample_weight is not None:
        complete = complete * data.sample_weight
    log_likelihood = float(np.sum(complete))
    if data.free.n_samples:
        free_stats, free_log_likelihood = e_step_totals(data.free, mixture)
        stats = free_stats + stats
        log_likelihood += free_log_likelihood
    return stats, log_likelihood / data.total_weight


def aligned_responsibilities(resp, labels):
    """Initial responsibilities whose columns agree with the labels.

    A clustering's component numbers are arbitrary, the labels' are not: the
    columns are permuted to match the labelled rows best (the assignment that
    maximises the responsibility mass on their labels, Kuhn's Hungarian
    method), then the labelled rows are set to their labels.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities from an unsupervised start (k-means, ...).
    labels : ndarray of shape (n_samples,), int
        -1 for unlabelled rows.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
    """
    resp = np.array(resp, dtype=np.float64)
    labelled = labels != UNLABELLED
    n_components = resp.shape[1]
    agreement = np.zeros((n_components, n_components))
    np.add.at(agreement.T, labels[labelled], resp[labelled])  # [column, label]
    columns, targets = linear_sum_assignment(-agreement)
    order = np.empty(n_components, dtype=np.intp)
    order[targets] = columns
    resp = resp[:, order]
    resp[labelled] = 0.0
    resp[np.flatnonzero(labelled), labels[labelled]] = 1.0
    return resp
