import sys

import numpy as np
import pytest

from mixtura.datasets import SOURCES, load_carcinoma, load_faithful


def test_faithful_array():
    X = load_faithful()
    assert isinstance(X, np.ndarray)
    assert X.shape == (272, 2)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X[0], [3.6, 79.0])
    np.testing.assert_array_equal(X[1], [1.8, 54.0])
    np.testing.assert_allclose(X.mean(axis=0), [3.487783, 70.897059], atol=1e-6)


def test_carcinoma_array():
    X = load_carcinoma()
    assert X.shape == (118, 7)
    assert np.issubdtype(X.dtype, np.integer)
    assert set(np.unique(X)) == {1, 2}
    np.testing.assert_array_equal(X[0], np.ones(7))


def test_loaders_return_fresh_arrays():
    X = load_faithful()
    X[0, 0] = -1.0
    assert load_faithful()[0, 0] == 3.6


@pytest.mark.parametrize(
    ("loader", "columns", "shape"),
    [
        (load_faithful, ["eruptions", "waiting"], (272, 2)),
        (load_carcinoma, list("ABCDEFG"), (118, 7)),
    ],
)
def test_as_frame(loader, columns, shape):
    pd = pytest.importorskip("pandas")
    frame = loader(as_frame=True)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == columns
    assert frame.shape == shape
    np.testing.assert_array_equal(frame.to_numpy(), loader())


def test_as_frame_without_pandas_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install.*pandas"):
        load_faithful(as_frame=True)
    # the array path needs no pandas
    assert load_faithful().shape == (272, 2)


def test_sources_cite_the_papers():
    assert "Azzalini" in SOURCES["faithful"]
    assert "Agresti" in SOURCES["carcinoma"]
