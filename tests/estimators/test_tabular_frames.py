"""TabularMixture gives tables back: sample and impute in the fitted dtypes."""

import numpy as np
import pandas as pd
import pytest

import mixtura
from mixtura import TabularMixture


def _table(n=200, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.randint(0, 2, n)
    return pd.DataFrame(
        {
            "length": rng.normal(z * 5, 1).astype("float32"),
            "smoker": z == 1,
            "colour": pd.Categorical(
                np.where(z == 1, "red", "blue"), categories=["blue", "green", "red"]
            ),
            "visits": rng.poisson(1 + z * 7),
            "temp": np.rint(rng.normal(z * 50, 10)).astype(np.int32) - 30,
        }
    )


def _check_table(sample, table, model):
    assert list(sample.columns) == list(table.columns)
    assert sample.dtypes.to_dict() == table.dtypes.to_dict()
    assert list(sample["colour"].cat.categories) == ["blue", "green", "red"]
    assert sample["colour"].isin(model.categories_[2]).all()
    assert (sample["visits"] >= 0).all()
    assert np.isfinite(sample["length"]).all()


def test_sample_gives_the_fitted_columns_dtypes_and_categories():
    table = _table()
    model = TabularMixture(2, random_state=0).fit(table)
    sample, labels = model.sample(50)
    assert isinstance(sample, pd.DataFrame)
    assert isinstance(labels, np.ndarray) and labels.shape == (50,)
    _check_table(sample, table, model)
    # the same draws as the encoded sample of a model fitted on the codes
    again, _ = model.sample(50)
    pd.testing.assert_frame_equal(sample, again)


def test_sample_of_a_loaded_model_is_the_same_table(tmp_path):
    table = _table()
    model = TabularMixture(2, random_state=0).fit(table)
    path = tmp_path / "table.mixtura"
    mixtura.save(model, path)
    pd.testing.assert_frame_equal(mixtura.load(path).sample(30)[0], model.sample(30)[0])


def test_a_model_fitted_on_an_array_samples_arrays():
    X = np.random.RandomState(0).normal(size=(60, 2))
    model = TabularMixture(2, random_state=0).fit(X)
    sample, labels = model.sample(5)
    assert isinstance(sample, np.ndarray) and sample.shape == (5, 2)
    assert labels.shape == (5,)
    filled = model.impute(np.where(np.eye(60, 2, dtype=bool), np.nan, X))
    assert isinstance(filled, np.ndarray) and not np.isnan(filled).any()


def _with_holes(table):
    holes = table.astype({"smoker": object, "colour": object, "visits": float})
    holes.loc[0, "length"] = np.nan
    holes.loc[1, "smoker"] = None
    holes.loc[2, "colour"] = None
    holes.loc[3, "visits"] = np.nan
    holes.loc[4, ["length", "colour"]] = [np.nan, None]
    return holes


@pytest.mark.parametrize("missing", ["error", "em"])
def test_impute_fills_only_the_missing_cells(missing):
    table = _table()
    model = TabularMixture(2, missing=missing, random_state=0).fit(table)
    holes = _with_holes(table)
    filled = model.impute(holes)
    assert filled.dtypes.to_dict() == table.dtypes.to_dict()
    assert not filled.isna().any().any()
    blank = holes.isna().to_numpy()
    for j, name in enumerate(table.columns):
        kept = ~blank[:, j]
        assert np.array_equal(
            filled[name].to_numpy(dtype=object)[kept],
            table[name].to_numpy(dtype=object)[kept],
        )
    # rows 0-4 are filled from their observed entries: their cluster's values
    assert filled.loc[1, "smoker"] == table.loc[1, "smoker"]
    assert filled.loc[2, "colour"] == table.loc[2, "colour"]
    _check_table(filled, table, model)


def test_multiple_imputation_gives_tables_that_differ_in_the_holes_only():
    table = _table()
    model = TabularMixture(2, random_state=0).fit(table)
    holes = _with_holes(table)
    tables = model.impute(holes, n_imputations=3, random_state=0)
    assert len(tables) == 3
    blank = holes.isna().to_numpy()
    for filled in tables:
        assert not filled.isna().any().any()
        assert filled.dtypes.to_dict() == table.dtypes.to_dict()
        for j, name in enumerate(table.columns):
            assert np.array_equal(
                filled[name].to_numpy(dtype=object)[~blank[:, j]],
                table[name].to_numpy(dtype=object)[~blank[:, j]],
            )
