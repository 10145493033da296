import sys

import numpy as np
import pytest

from mixtura import GaussianMixture
from mixtura.datasets import load_faithful
from mixtura.plotting import component_covariance, plot_mixture, plot_selection
from mixtura.selection import select

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

COVARIANCE_TYPES = ["spherical", "diag", "tied", "full"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()


def _ellipses(ax):
    return [patch for patch in ax.patches if isinstance(patch, Ellipse)]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_component_covariance_is_the_full_matrix(faithful, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0)
    model.fit(faithful)
    expected = {
        "full": lambda k: model.covariances_[k],
        "tied": lambda k: model.covariances_,
        "diag": lambda k: np.diag(model.covariances_[k]),
        "spherical": lambda k: model.covariances_[k] * np.eye(2),
    }[covariance_type]
    for k in range(3):
        np.testing.assert_allclose(
            component_covariance(model, k), expected(k), rtol=1e-10, atol=1e-12
        )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_plot_mixture_draws_two_ellipses_per_component(faithful, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0)
    model.fit(faithful)
    ax = plot_mixture(model, faithful)
    assert isinstance(ax, matplotlib.axes.Axes)
    ellipses = _ellipses(ax)
    assert len(ellipses) == 2 * 3
    # ellipses are centred on the means, the 2-sigma one twice the 1-sigma one
    centres = {tuple(np.round(e.center, 8)) for e in ellipses}
    assert centres == {tuple(np.round(m, 8)) for m in model.means_}
    one, two = ellipses[0], ellipses[1]
    assert two.width == pytest.approx(2 * one.width)
    assert two.height == pytest.approx(2 * one.height)


def test_one_sigma_ellipse_matches_the_covariance(faithful):
    model = GaussianMixture(2, random_state=0).fit(faithful)
    ax = plot_mixture(model, faithful)
    ellipse = _ellipses(ax)[0]
    eigenvalues = np.linalg.eigvalsh(model.covariances_[0])
    assert ellipse.width == pytest.approx(2 * np.sqrt(eigenvalues[1]))
    assert ellipse.height == pytest.approx(2 * np.sqrt(eigenvalues[0]))


def test_plot_mixture_on_given_axes_and_other_features():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (50, 3)), rng.normal(5, 1, (50, 3))])
    model = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    _, ax = plt.subplots()
    assert plot_mixture(model, X, ax=ax, feature_indices=(0, 2)) is ax
    assert len(_ellipses(ax)) == 4
    assert ax.get_ylabel() == "x2"
    with pytest.raises(ValueError, match="feature_indices"):
        plot_mixture(model, X, feature_indices=(0, 3))


def test_plot_selection(faithful):
    table = select(faithful, n_components=range(1, 4))
    ax = plot_selection(table)
    assert isinstance(ax, matplotlib.axes.Axes)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:4] == COVARIANCE_TYPES
    assert labels[4] == "best: full, K = 2"
    np.testing.assert_allclose(
        ax.get_lines()[3].get_ydata(),
        [table.value("bic", "full", k) for k in (1, 2, 3)],
    )
    assert "lower is better" in ax.get_ylabel()
    ax = plot_selection(table, criterion="mclust_bic")
    assert "higher is better" in ax.get_ylabel()


def test_plots_write_a_png(tmp_path, faithful):
    table = select(faithful, n_components=range(1, 3))
    fig, (left, right) = plt.subplots(1, 2)
    plot_mixture(table.best_model_, faithful, ax=left)
    plot_selection(table, ax=right)
    path = tmp_path / "plot.png"
    fig.savefig(path)
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_says_how_to_install(monkeypatch, faithful):
    model = GaussianMixture(2, random_state=0).fit(faithful)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "mixtura\[plot\]"'):
        plot_mixture(model, faithful)


def test_plot_selection_of_mclust_models_uses_the_tables_criterion(faithful):
    table = select(
        faithful, n_components=[1, 2], models="mclust", criterion="mclust_bic"
    )
    ax = plot_selection(table)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines[:14]] == list(table.models)
    # mclust's 14 symbols: a marker shape, filled or open, different for each
    styles = {
        (id(line.get_marker()), line.get_markerfacecolor() == "none")
        for line in lines[:14]
    }
    assert len(styles) == 14
    assert "higher is better" in ax.get_ylabel()
    assert lines[14].get_label() == "best: {}, K = {}".format(*table.best())
