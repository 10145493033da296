"""Every plot of mixtura.plotting draws a non-blank image, on 1-, 2- and 5-D data.

Each figure is rendered to a PNG (Agg), read back with matplotlib.image.imread and
its pixel variance compared with that of the same figure size holding empty Axes:
a plot that draws nothing there fails.
"""

import io
import subprocess
import sys

import numpy as np
import pytest

from mixtura import (
    DirichletMultinomialMixture,
    GaussianMixture,
    MultinomialMixture,
    PoissonMixture,
    StudentMixture,
)
from mixtura.datasets import load_faithful
from mixtura.plotting import (
    MCLUST_STYLES,
    plot_density,
    plot_density_1d,
    plot_mixture,
    plot_pairs,
    plot_responsibilities,
    plot_selection,
    plot_top_words,
    plot_uncertainty,
)
from mixtura.selection import SelectionTable, select

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

pd = pytest.importorskip("pandas")

DPI = 40


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(0)
    faithful = pd.DataFrame(load_faithful(), columns=["eruptions", "waiting"])
    centres = rng.normal(0, 4, (3, 5))
    X5 = np.vstack(
        [rng.multivariate_normal(c, 0.8 * np.eye(5) + 0.4, 80) for c in centres]
    )
    x1 = np.concatenate([rng.normal(-2, 1, 150), rng.normal(3, 0.7, 100)])
    vocabulary = [f"word{j}" for j in range(30)]
    topics = rng.dirichlet(np.full(30, 0.2), 3)
    docs = np.vstack([rng.multinomial(60, topics[k]) for k in rng.integers(0, 3, 90)])
    counts = rng.poisson(np.where(rng.random(200) < 0.5, 2, 9))
    return {
        "X2": faithful,
        "gm2": GaussianMixture(2, random_state=0).fit(faithful),
        "X5": X5,
        "gm5": GaussianMixture(3, covariance_type="VEV", random_state=0).fit(X5),
        "x1": x1,
        "gm1": GaussianMixture(2, random_state=0).fit(x1[:, None]),
        "counts": counts,
        "poisson": PoissonMixture(2, random_state=0).fit(counts[:, None]),
        "docs": docs,
        "vocabulary": vocabulary,
        "multinomial": MultinomialMixture(3, random_state=0).fit(docs),
        "dm": DirichletMultinomialMixture(3, random_state=0, max_iter=20).fit(docs),
        "student": StudentMixture(3, random_state=0, max_iter=20).fit(X5),
    }


@pytest.fixture(scope="module")
def table():
    return select(load_faithful(), n_components=range(1, 4))


def _variance(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    buffer.seek(0)
    pixels = matplotlib.image.imread(buffer, format="png")[..., :3]
    return float(pixels.var())


def _blank_variance(figure):
    blank = Figure(figsize=figure.get_size_inches())
    blank.subplots()
    return _variance(blank)


def _assert_drawn(result):
    figure = result if isinstance(result, Figure) else result.figure
    variance = _variance(figure)
    floor = max(1.5 * _blank_variance(figure), 1e-3)
    assert variance > floor, f"pixel variance {variance:.5f} <= floor {floor:.5f}"


# (name, plot) -> result; each case draws what applies to its data's dimension
CASES = {
    "clusters-2d": lambda m: plot_mixture(m["gm2"], m["X2"]),
    "clusters-5d": lambda m: plot_mixture(m["gm5"], m["X5"], feature_indices=(1, 3)),
    "clusters-student": lambda m: plot_mixture(m["student"], m["X5"]),
    "pairs-2d": lambda m: plot_pairs(m["gm2"], m["X2"]),
    "pairs-5d": lambda m: plot_pairs(m["gm5"], m["X5"]),
    "density-2d": lambda m: plot_density(m["gm2"], m["X2"], resolution=40),
    "density-5d": lambda m: plot_density(m["gm5"], m["X5"], resolution=40),
    "uncertainty-1d": lambda m: plot_uncertainty(m["gm1"], m["x1"]),
    "uncertainty-2d": lambda m: plot_uncertainty(m["gm2"], m["X2"]),
    "uncertainty-5d": lambda m: plot_uncertainty(m["gm5"], m["X5"]),
    "responsibilities-1d": lambda m: plot_responsibilities(m["gm1"], m["x1"]),
    "responsibilities-2d": lambda m: plot_responsibilities(m["gm2"], m["X2"]),
    "responsibilities-5d": lambda m: plot_responsibilities(m["gm5"], m["X5"]),
    "responsibilities-text": lambda m: plot_responsibilities(
        m["multinomial"], m["docs"]
    ),
    "density1d": lambda m: plot_density_1d(m["gm1"], m["x1"]),
    "density1d-poisson": lambda m: plot_density_1d(m["poisson"], m["counts"]),
    "top-words": lambda m: plot_top_words(m["multinomial"], m["vocabulary"], 8),
    "top-words-dm": lambda m: plot_top_words(m["dm"], m["vocabulary"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_plot_draws_a_non_blank_image(models, case):
    result = CASES[case](models)
    assert isinstance(result, Axes | Figure)
    _assert_drawn(result)


@pytest.mark.parametrize("criterion", ["bic", "icl", "mclust_bic", "aic"])
def test_selection_curves_for_every_criterion(table, criterion):
    ax = plot_selection(table, criterion=criterion)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines[:4]] == list(table.models)
    for line, model in zip(lines, table.models, strict=False):
        np.testing.assert_allclose(
            line.get_ydata(), [table.value(criterion, model, k) for k in (1, 2, 3)]
        )
    assert ax.get_legend() is not None
    _assert_drawn(ax)


def test_selection_missing_cells_are_gaps(table):
    records = table.records
    records[5] = {**records[5], "bic": np.nan, "error": "failed", "icl": np.nan}
    gappy = SelectionTable.from_records(records, table.n_samples)
    ax = plot_selection(gappy)
    values = ax.get_lines()[1].get_ydata()  # diag: K = 1, 2, 3
    assert np.isnan(values[2]) and np.isfinite(values[:2]).all()


def test_selection_uses_mclust_symbols(models):
    table = select(
        load_faithful(), [1, 2], models="mclust", criterion="mclust_bic", n_jobs=1
    )
    lines = plot_selection(table).get_lines()[:14]
    colors = [matplotlib.colors.to_hex(line.get_color()).upper() for line in lines]
    assert colors == [MCLUST_STYLES[name][1] for name in table.models]
    styles = {
        (id(line.get_marker()), line.get_markerfacecolor() == "none") for line in lines
    }
    assert len(styles) == 14


def test_axes_are_used_and_returned(models):
    figure, axes = plt.subplots(2, 3)
    pairs = [
        (plot_mixture, (models["gm2"], models["X2"])),
        (plot_density, (models["gm2"], models["X2"])),
        (plot_uncertainty, (models["gm2"], models["X2"])),
        (plot_responsibilities, (models["gm2"], models["X2"])),
        (plot_density_1d, (models["gm1"], models["x1"])),
    ]
    for ax, (function, args) in zip(axes.ravel(), pairs, strict=False):
        assert function(*args, ax=ax) is ax
    figure = Figure()
    assert plot_pairs(models["gm5"], models["X5"], ax=figure) is figure
    assert len(figure.axes) == 25
    _, grid = plt.subplots(2, 2)
    assert plot_pairs(models["gm2"], models["X2"], ax=grid) is grid[0, 0].figure
    figure = Figure()
    assert plot_top_words(models["multinomial"], None, ax=figure) is figure


def test_feature_names_label_the_axes(models):
    ax = plot_mixture(models["gm2"], models["X2"])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("eruptions", "waiting")
    ax = plot_density(models["gm2"], models["X2"], resolution=20)
    assert ax.get_ylabel() == "waiting"
    assert "means" not in ax.get_title()
    ax = plot_density(models["gm5"], models["X5"], feature_indices=(0, 4))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x0", "x4")
    assert "other 3 feature(s) at their means" in ax.get_title()


def test_pairs_ellipses_are_the_marginal_covariances(models):
    model, X = models["gm5"], models["X5"]
    figure = plot_pairs(model, X, feature_indices=[0, 2, 4])
    axes = np.array(figure.axes).reshape(3, 3)
    panel = axes[2, 0]  # x: feature 0, y: feature 4
    assert (panel.get_xlabel(), panel.get_ylabel()) == ("x0", "x4")
    ellipses = [p for p in panel.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 2 * 3
    centres = {tuple(np.round(e.center, 8)) for e in ellipses}
    assert centres == {tuple(np.round(m[[0, 4]], 8)) for m in model.means_}
    assert not [p for p in axes[1, 1].patches if isinstance(p, Ellipse)]


def test_responsibility_rows_sorted_by_label(models):
    ax = plot_responsibilities(models["gm2"], models["X2"])
    image = ax.get_images()[0].get_array()
    assert image.shape == (272, 2)
    assert np.all(np.diff(image.argmax(axis=1)) >= 0)


def test_density_1d_components_sum_to_the_mixture(models):
    ax = plot_density_1d(models["gm1"], models["x1"])
    lines = {line.get_label(): line for line in ax.get_lines()}
    mixture = lines["mixture"].get_ydata()
    parts = [line.get_ydata() for label, line in lines.items() if "component" in label]
    assert len(parts) == 2
    np.testing.assert_allclose(np.sum(parts, axis=0), mixture, rtol=1e-10)
    grid = lines["mixture"].get_xdata()
    expected = np.exp(models["gm1"].score_samples(grid[:, None]))
    np.testing.assert_allclose(mixture, expected, rtol=1e-10)


def test_top_words_are_the_largest_probabilities(models):
    model, vocabulary = models["multinomial"], models["vocabulary"]
    figure = plot_top_words(model, vocabulary, n_words=5)
    panel = figure.axes[0]
    ticks = sorted(
        ((tick.get_position()[1], tick.get_text()) for tick in panel.get_yticklabels()),
        reverse=True,
    )
    top = np.argsort(-model.probabilities_[0])[:5]
    assert [word for _, word in ticks] == [vocabulary[j] for j in top]  # top first
    widths = sorted(bar.get_width() for bar in panel.patches)
    np.testing.assert_allclose(widths, np.sort(model.probabilities_[0])[-5:])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m: plot_density_1d(m["gm2"], m["X2"]), ValueError, "one feature"),
        (lambda m: plot_mixture(m["gm1"], m["x1"]), ValueError, "at least two"),
        (lambda m: plot_density(m["gm1"], m["x1"]), ValueError, "feature_indices"),
        (lambda m: plot_pairs(m["gm1"], m["x1"]), ValueError, "at least two"),
        (
            lambda m: plot_pairs(m["gm5"], m["X5"], feature_indices=[0, 0]),
            ValueError,
            "repeats",
        ),
        (lambda m: plot_mixture(m["gm5"], m["X2"]), ValueError, "fitted on 5"),
        (lambda m: plot_top_words(m["gm2"], None), TypeError, "text mixture"),
        (
            lambda m: plot_top_words(m["multinomial"], ["a", "b"]),
            ValueError,
            "vocabulary has 2 words",
        ),
        (
            lambda m: plot_top_words(m["multinomial"], None, n_words=0),
            ValueError,
            "n_words",
        ),
        (lambda m: plot_mixture(m["gm2"], m["X2"], ax="here"), TypeError, "Axes"),
        (
            lambda m: plot_density(m["gm2"], m["X2"], resolution=3),
            ValueError,
            "resolution",
        ),
    ],
)
def test_bad_arguments_give_clear_errors(models, call, error, match):
    with pytest.raises(error, match=match):
        call(models)


def test_pairs_refuses_many_features_unless_chosen():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 11))
    model = GaussianMixture(1, covariance_type="diag").fit(X)
    with pytest.raises(ValueError, match="feature_indices"):
        plot_pairs(model, X)
    assert len(plot_pairs(model, X, feature_indices=[0, 10]).axes) == 4


def test_unknown_criterion(table):
    with pytest.raises(ValueError, match="unknown criterion 'bicc'"):
        plot_selection(table, criterion="bicc")


def test_every_plot_says_how_to_install_matplotlib(models, table, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for case in ("pairs-5d", "density-2d", "uncertainty-2d", "density1d", "top-words"):
        with pytest.raises(ImportError, match=r'pip install "mixtura\[plot\]"'):
            CASES[case](models)
    with pytest.raises(ImportError, match=r'pip install "mixtura\[plot\]"'):
        plot_selection(table)


def test_import_does_not_import_matplotlib():
    code = (
        "import sys, mixtura, mixtura.plotting, mixtura.cli; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_public_functions_have_numpydoc_docstrings():
    validate = pytest.importorskip("numpydoc.validate").validate
    import mixtura.plotting

    checked = {"GL08", "SS01", "PR01", "PR02", "PR03", "RT01"}
    for name in mixtura.plotting.__all__:
        if not callable(getattr(mixtura.plotting, name)):
            continue
        errors = [
            f"{code}: {message}"
            for code, message in validate(f"mixtura.plotting.{name}")["errors"]
            if code in checked
        ]
        assert not errors, (name, errors)
