"""Partial labels (semi-supervised EM): ``fit(X, y)`` with -1 for unknown rows.

The fixed point against one written from scratch with scipy, accuracy on
overlapping clusters against unsupervised EM, other families, online EM, and
bad labels.
"""

import numpy as np
import pytest
from scipy import special, stats

from mixtura import GaussianMixture, PoissonMixture, StudentMixture
from mixtura.exceptions import DataValidationError


def _overlapping(seed, n=600, labelled_share=0.05):
    """Two clusters 2 sd apart along x, with 3 sd of noise along y.

    Unsupervised EM prefers to split along y; 5% labelled rows say which way.
    """
    rng = np.random.default_rng(seed)
    z = rng.integers(2, size=n)
    X = rng.normal(size=(n, 2)) * [1.0, 3.0] + np.c_[2.0 * z, np.zeros(n)]
    y = np.full(n, -1)
    labelled = rng.choice(n, int(n * labelled_share), replace=False)
    y[labelled] = z[labelled]
    return X, y, z


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_five_percent_labels_beat_unsupervised_em_on_overlapping_clusters(seed):
    X, y, z = _overlapping(seed)
    unsupervised = GaussianMixture(2, random_state=0).fit(X).predict(X)
    # the unsupervised labels may be either way round
    accuracy_em = max(np.mean(unsupervised == z), np.mean(unsupervised != z))
    semi = GaussianMixture(2, random_state=0)
    labels = semi.fit_predict(X, y)
    accuracy_semi = np.mean(semi.predict(X) == z)
    # seeds 0-3 gave 0.51-0.55 unsupervised, 0.65-0.82 with the labels
    assert accuracy_semi > accuracy_em + 0.05, (accuracy_semi, accuracy_em)
    known = y != -1
    np.testing.assert_array_equal(labels[known], y[known])


def test_the_fit_is_the_fixed_point_of_semi_supervised_em():
    X, y, _ = _overlapping(4)
    model = GaussianMixture(2, tol=1e-12, max_iter=5000, random_state=0).fit(X, y)
    assert model.converged_
    # one E-step written with scipy: posteriors for unlabelled rows, the
    # labels for the others
    log_joint = np.column_stack(
        [
            np.log(w) + stats.multivariate_normal(m, c).logpdf(X)
            for w, m, c in zip(
                model.weights_, model.means_, model.covariances_, strict=True
            )
        ]
    )
    resp = np.exp(log_joint - special.logsumexp(log_joint, axis=1)[:, None])
    known = y != -1
    resp[known] = np.eye(2)[y[known]]
    counts = resp.sum(axis=0)
    # a bound settled to 1e-12 leaves the parameters about sqrt(1e-12) from
    # the fixed point (the bound is quadratic there)
    np.testing.assert_allclose(model.weights_, counts / len(X), rtol=1e-5)
    np.testing.assert_allclose(model.means_, resp.T @ X / counts[:, None], rtol=1e-5)
    # the bound: the unlabelled rows' mixture density, the labelled rows'
    # complete-data density
    objective = (
        special.logsumexp(log_joint[~known], axis=1).sum()
        + log_joint[known, y[known]].sum()
    ) / len(X)
    np.testing.assert_allclose(model.lower_bound_, objective, rtol=1e-10)
    assert np.all(np.diff(model.lower_bounds_) > -1e-12)


def test_no_unlabelled_marker_means_no_labels():
    # y without any -1 is ignored (scikit-learn's clusterer convention), and
    # a y of -1 only is no label either
    X, _, z = _overlapping(5)
    plain = GaussianMixture(2, random_state=0).fit(X)
    for y in (z, np.full(len(X), -1)):
        ignored = GaussianMixture(2, random_state=0).fit(X, y)
        np.testing.assert_array_equal(ignored.means_, plain.means_)


def test_labels_fix_the_component_numbers():
    # labelled rows name their components: the start's columns follow them
    X, y, _ = _overlapping(6)
    y_swapped = np.where(y == -1, -1, 1 - y)
    a = GaussianMixture(2, random_state=0).fit(X, y)
    b = GaussianMixture(2, random_state=0).fit(X, y_swapped)
    np.testing.assert_allclose(a.means_, b.means_[::-1], rtol=1e-10)


def test_poisson_and_student_t_fits_take_labels():
    rng = np.random.default_rng(7)
    z = rng.integers(2, size=800)
    counts = rng.poisson(np.where(z[:, None] == 1, [6.0, 3.0], [3.0, 6.0]))
    y = np.full(800, -1)
    y[:40] = z[:40]
    model = PoissonMixture(2, random_state=0)
    labels = model.fit_predict(counts.astype(float), y)
    np.testing.assert_array_equal(labels[:40], z[:40])
    assert np.mean(model.predict(counts.astype(float)) == z) > 0.8
    t_rows = rng.standard_t(3.0, size=(800, 2)) + np.c_[4.0 * z, np.zeros(800)]
    student = StudentMixture(2, random_state=0).fit(t_rows, y)
    order = np.argsort(student.means_[:, 0])
    np.testing.assert_array_equal(order, [0, 1])  # component 1 is the right one
    assert np.mean(student.predict(t_rows) == z) > 0.9


def test_partial_fit_keeps_the_labels_component_numbers():
    X, y, z = _overlapping(8, n=1200, labelled_share=0.1)
    model, plain = (
        GaussianMixture(2, random_state=0),
        GaussianMixture(2, random_state=0),
    )
    for start in range(0, 1200, 300):
        rows = slice(start, start + 300)
        model.partial_fit(X[rows], y[rows])
        plain.partial_fit(X[rows])
    accuracy = np.mean(model.predict(X) == z)
    unsupervised = plain.predict(X)
    accuracy_plain = max(np.mean(unsupervised == z), np.mean(unsupervised != z))
    assert accuracy > accuracy_plain + 0.05, (accuracy, accuracy_plain)
    assert model.means_[1, 0] > model.means_[0, 0]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (lambda y: np.where(y == 1, 5, y), r"y\[\d+\] = 5 is not a component"),
        (lambda y: np.where(y == 1, 0.5, y), "row .* has 0.5"),
        (lambda y: y[:-1], "one label per row"),
        (lambda y: np.where(y == 1, -3, y), "is not a component"),
    ],
)
def test_bad_labels_are_refused_and_a_fitted_model_kept(labels, message):
    X, y, _ = _overlapping(9)
    model = GaussianMixture(2, random_state=0).fit(X)
    means = model.means_.copy()
    with pytest.raises(DataValidationError, match=message):
        model.fit(X, labels(y))
    np.testing.assert_array_equal(model.means_, means)


def test_labels_need_in_memory_rows():
    da = pytest.importorskip("dask.array")
    X, y, _ = _overlapping(10)
    with pytest.raises(DataValidationError, match="in-memory rows"):
        GaussianMixture(2, random_state=0).fit(da.from_array(X, chunks=200), y)
