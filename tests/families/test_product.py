"""The product family and TabularMixture (mixed-type tables)."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import mixtura
from mixtura import TabularMixture
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families import Bernoulli, Gaussian, Poisson, Product

pd = pytest.importorskip("pandas")


def _product():
    return Product(
        [
            (Gaussian("diag", means=[[0.0], [5.0]], covariances=[[1.0], [2.0]]), [1]),
            (Bernoulli(probabilities=[[0.2, 0.7], [0.9, 0.1]]), [0, 2]),
        ]
    )


def test_log_prob_is_the_sum_of_the_parts():
    family = _product()
    X = np.array([[1.0, 0.3, 0.0], [0.0, 4.0, 1.0]])
    expected = family.parts[0].log_prob(X[:, [1]]) + family.parts[1].log_prob(
        X[:, [0, 2]]
    )
    np.testing.assert_allclose(family.log_prob(X), expected)


def test_maximize_fits_each_part_on_its_columns():
    family = _product()
    X = np.array([[1.0, 0.5, 0.0], [0.0, 1.5, 1.0], [1.0, 7.0, 1.0]])
    resp = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    fitted = family.maximize(family.statistics(X, resp))
    np.testing.assert_allclose(fitted.parts[0].means[:, 0], [1.0, 7.0])
    np.testing.assert_allclose(fitted.parts[1].probabilities, [[0.5, 0.5], [1, 1]])


def test_columns_must_cover_every_feature_once():
    with pytest.raises(ValueError, match="each exactly once"):
        Product([(Bernoulli(), [0, 1]), (Poisson(), [1])])


def test_from_arrays_refuses_stray_arrays():
    family = _product()
    arrays = {**family.arrays(), "part7_means": np.zeros((2, 1))}
    with pytest.raises(ModelFileError, match="belong to no part"):
        Product.from_arrays(family.config(), arrays)


# -- TabularMixture -----------------------------------------------------------------
def _table(n_samples=800, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.choice(2, size=n_samples, p=[0.45, 0.55])
    table = pd.DataFrame(
        {
            "length": rng.normal(np.where(z, 4.0, 0.0), 1.0),
            "smoker": rng.uniform(size=n_samples) < np.where(z, 0.85, 0.15),
            "colour": pd.Categorical(
                np.array(["red", "green", "blue"])[
                    (
                        rng.uniform(size=(n_samples, 1))
                        > np.where(z[:, None], [[0.1, 0.3]], [[0.6, 0.9]])
                    ).sum(axis=1)
                ]
            ),
            "visits": rng.poisson(np.where(z, 7.0, 1.5)),
        }
    )
    return table, z


def test_mixed_table_fits_with_no_options():
    table, z = _table()
    model = TabularMixture(2, random_state=0).fit(table)
    assert model.column_families_ == ["gaussian", "bernoulli", "categorical", "poisson"]
    proba = model.predict_proba(table)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert adjusted_rand_score(z, model.predict(table)) > 0.9
    assert model.categories_[2].tolist() == ["blue", "green", "red"]


def test_columns_are_selected_by_name_at_predict_time():
    table, _ = _table(200)
    model = TabularMixture(2, random_state=0).fit(table)
    shuffled = table[["visits", "colour", "length", "smoker"]]
    np.testing.assert_array_equal(
        model.predict_proba(shuffled), model.predict_proba(table)
    )
    with pytest.raises(DataValidationError, match=r"lacks the columns \['visits'\]"):
        model.predict(table.drop(columns="visits"))


def test_user_mapping_overrides_the_dtype():
    table, _ = _table(200)
    model = TabularMixture(
        2,
        column_families={"visits": "gaussian", "smoker": "categorical"},
        random_state=0,
    ).fit(table)
    assert model.column_families_ == [
        "gaussian",
        "categorical",
        "categorical",
        "gaussian",
    ]
    assert [p.name for p in model.family_.parts] == ["gaussian", "categorical"]
    assert model.family_.columns[0].tolist() == [0, 3]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda t: t.assign(visits=t["visits"] - 100), "Negative values"),
        (
            lambda t: t.assign(
                colour=t["colour"]
                .cat.add_categories("pink")
                .where(t.index != 3, "pink")
            ),
            "level 'pink'",
        ),
        (lambda t: t.assign(length=t["length"].where(t.index != 5)), "missing"),
    ],
    ids=["negative-count", "unseen-level", "missing"],
)
def test_bad_values_at_predict_time_are_clear_errors(edit, match):
    table, _ = _table(200)
    model = TabularMixture(2, random_state=0).fit(table)
    with pytest.raises(DataValidationError, match=match):
        model.predict(edit(table))


def test_unknown_column_in_the_mapping_is_an_error():
    table, _ = _table(50)
    with pytest.raises(DataValidationError, match=r"names columns \['nope'\]"):
        TabularMixture(2, column_families={"nope": "poisson"}).fit(table)


def test_round_trip_through_a_model_file(tmp_path):
    table, _ = _table(300)
    model = TabularMixture(2, random_state=0).fit(table)
    path = tmp_path / "table.mixtura"
    mixtura.save(model, path)
    loaded = mixtura.load(path)
    assert loaded.column_families_ == model.column_families_
    np.testing.assert_array_equal(
        loaded.predict_proba(table), model.predict_proba(table)
    )
    np.testing.assert_array_equal(
        loaded.score_samples(table), model.score_samples(table)
    )


def _rewrite_json(path, edit):
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(members["model.json"])
    edit(document)
    members["model.json"] = json.dumps(document).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda doc: doc["encoding"].update(column_families=["os.system"] * 4),
            "its encoding is invalid",
        ),
        (
            lambda doc: doc["encoding"].update(categories=[]),
            "its encoding is invalid",
        ),
        (lambda doc: doc.pop("encoding"), "its parameters give no family"),
    ],
    ids=["unknown-family", "no-categories", "no-encoding"],
)
def test_an_edited_encoding_is_refused(tmp_path, edit, match):
    table, _ = _table(100)
    path = tmp_path / "table.mixtura"
    mixtura.save(TabularMixture(2, random_state=0).fit(table), path)
    _rewrite_json(path, edit)
    with pytest.raises(ModelFileError, match=match):
        mixtura.load(path)


def test_an_encoding_for_an_estimator_without_one_is_refused(tmp_path):
    path = tmp_path / "bernoulli.mixtura"
    X = np.random.RandomState(0).randint(0, 2, size=(40, 3))
    mixtura.save(mixtura.BernoulliMixture(2, random_state=0).fit(X), path)
    _rewrite_json(path, lambda doc: doc.update(encoding={"categories": []}))
    with pytest.raises(ModelFileError, match="takes no encoding"):
        mixtura.load(path)


def test_a_dict_of_column_groups_is_one_table():
    table, z = _table(400)
    groups = {
        "size": table[["length"]].to_numpy(),
        "answers": table[["smoker", "colour"]],
        "visits": table["visits"].to_numpy(),
    }
    model = TabularMixture(
        2, column_families={"answers": "categorical"}, random_state=0
    ).fit(groups)
    assert model.feature_names_in_.tolist() == [
        "size[0]",
        "answers.smoker",
        "answers.colour",
        "visits",
    ]
    assert model.column_families_ == [
        "gaussian",
        "categorical",
        "categorical",
        "poisson",
    ]
    np.testing.assert_allclose(model.predict_proba(groups).sum(axis=1), 1.0)
    assert adjusted_rand_score(z, model.predict(groups)) > 0.9


def test_positive_columns_take_the_families_they_are_mapped_to(tmp_path):
    table, z = _table(1500, seed=3)
    rng = np.random.RandomState(3)
    table["income"] = np.exp(rng.normal(np.where(z, 11.0, 9.5), 0.4))
    table["wait"] = rng.gamma(np.where(z, 9.0, 2.0), 1.0)
    families = {"income": "lognormal", "wait": "gamma", "visits": "exponential"}
    model = TabularMixture(2, column_families=families, random_state=0).fit(table)
    parts = {p.name: p for p in model.family_.parts}
    assert set(parts) == {"gaussian", "bernoulli", "categorical", "lognormal"} | {
        "gamma",
        "exponential",
    }
    assert adjusted_rand_score(z, model.predict(table)) > 0.9
    # the log-normal part's log-scale means are the two groups' log incomes
    np.testing.assert_allclose(
        np.sort(parts["lognormal"].means[:, 0]), [9.5, 11.0], atol=0.05
    )
    mixtura.save(model, tmp_path / "table")
    loaded = mixtura.load(tmp_path / "table")
    np.testing.assert_array_equal(
        loaded.score_samples(table), model.score_samples(table)
    )
    with pytest.raises(DataValidationError, match="positive values"):
        bad = table.copy()
        bad.loc[4, "income"] = 0.0
        model.score_samples(bad)
