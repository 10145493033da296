"""The subcommands through a real process (``python -m mixtura ...``).

Each round trip fits with the command line, predicts with it, reads the written
CSV back and compares it with the Python API's answer for the same model and the
same data: equal bit for bit (the CSV holds floats in their shortest exact form).
"""

import csv
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import mixtura
from mixtura import CategoricalMixture, GaussianMixture, MultinomialMixture
from mixtura.datasets import load_faithful


def run(*args, cwd):
    """``python -m mixtura ARGS`` in ``cwd``: the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "mixtura", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def ok(*args, cwd):
    done = run(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(
            [repr(v) if isinstance(v, float) else v for v in row] for row in rows
        )


def read_csv(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def numbers(rows, columns):
    return np.array([[float(row[j]) for j in columns] for row in rows])


def api_prediction(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fitted with feature names
        proba = model.predict_proba(X)
        return model.predict(X), proba, model.score_samples(X)


def check_prediction(path, model, X, n_input_columns):
    header, rows = read_csv(path)
    K = model.n_components
    assert header[n_input_columns:] == [
        "label",
        *[f"prob_{k}" for k in range(K)],
        "uncertainty",
        "log_density",
    ]
    labels, proba, log_density = api_prediction(model, X)
    start = n_input_columns
    assert np.array_equal(numbers(rows, [start]).ravel().astype(int), labels)
    assert np.array_equal(numbers(rows, range(start + 1, start + 1 + K)), proba)
    uncertainty = numbers(rows, [start + 1 + K]).ravel()
    assert np.array_equal(uncertainty, 1.0 - proba.max(axis=1))
    assert np.array_equal(numbers(rows, [start + 2 + K]).ravel(), log_density)
    return header, rows


def test_gaussian_round_trip_fit_info_predict_sample(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(5, 1, (40, 2))])
    X[:, 1] *= 1e-3  # digits that a fixed-precision format would lose
    write_csv(tmp_path / "data.csv", ["a", "b"], X.tolist())

    out = ok(
        "fit", "data.csv", "-k", "2", "--seed", "3", "-o", "g.mixtura", cwd=tmp_path
    )
    assert "fitted GaussianMixture (gaussian full, K = 2)" in out
    assert "model saved to g.mixtura" in out
    ok("predict", "g.mixtura", "data.csv", "-o", "labels.csv", cwd=tmp_path)

    model = mixtura.load(tmp_path / "g.mixtura")
    direct = GaussianMixture(2, random_state=3).fit(X)
    assert np.array_equal(direct.predict_proba(X), api_prediction(model, X)[1])
    header, rows = check_prediction(tmp_path / "labels.csv", model, X, 2)
    assert header[:2] == ["a", "b"]
    assert np.array_equal(numbers(rows, [0, 1]), X)  # the input's columns kept

    info = json.loads(ok("info", "g.mixtura", "--json", cwd=tmp_path))
    assert info["format_version"] == mixtura.io.FORMAT_VERSION
    assert info["estimator"] == "GaussianMixture"
    assert info["family"]["name"] == "gaussian"
    assert info["family"]["config"]["covariance_type"] == "full"
    assert (info["n_components"], info["n_features"]) == (2, 2)
    assert info["feature_names"] == ["a", "b"]
    assert info["converged"] is bool(direct.converged_)
    assert info["n_iter"] == direct.n_iter_
    assert info["lower_bound"] == direct.lower_bound_

    ok(
        "sample",
        "g.mixtura",
        "-n",
        "25",
        "--seed",
        "7",
        "-o",
        "draws.csv",
        cwd=tmp_path,
    )
    header, rows = read_csv(tmp_path / "draws.csv")
    assert header == ["a", "b", "label"]
    model.set_params(random_state=7)
    samples, labels = model.sample(25)
    assert np.array_equal(numbers(rows, [0, 1]), samples)
    assert np.array_equal(numbers(rows, [2]).ravel().astype(int), labels)


def test_categorical_round_trip_with_text_and_missing_cells(tmp_path):
    rng = np.random.default_rng(1)
    colours = rng.choice(["red", "green", "blue"], 60)
    sizes = np.where(colours == "red", "S", rng.choice(["M", "L"], 60))
    rows = [[c, s] for c, s in zip(colours, sizes, strict=True)]
    rows[5][1] = "NA"
    # a semicolon-delimited file: the delimiter is sniffed
    with open(tmp_path / "survey.csv", "w") as handle:
        handle.write("colour;size\n" + "".join(f"{c};{s}\n" for c, s in rows))

    out = ok(
        "fit", "survey.csv", "--family", "auto", "-k", "2", "--missing", "em",
        "-o", "c.mixtura", cwd=tmp_path,
    )  # fmt: skip
    assert "family: categorical (auto: text columns)" in out
    ok("predict", "c.mixtura", "survey.csv", "-o", "labels.csv", cwd=tmp_path)

    X = np.array([[c, None if s == "NA" else s] for c, s in rows], dtype=object)
    model = mixtura.load(tmp_path / "c.mixtura")
    direct = CategoricalMixture(2, missing="em", random_state=0).fit(X)
    assert np.array_equal(direct.predict_proba(X), api_prediction(model, X)[1])
    header, out_rows = check_prediction(tmp_path / "labels.csv", model, X, 2)
    assert [row[:2] for row in out_rows] == rows  # the input's cells, verbatim

    ok("sample", "c.mixtura", "-n", "5", "-o", "draws.csv", cwd=tmp_path)
    header, draws = read_csv(tmp_path / "draws.csv")
    assert header == ["colour", "size", "label"]
    assert {row[0] for row in draws} <= {"red", "green", "blue"}


def test_multinomial_round_trip_on_counts(tmp_path):
    rng = np.random.default_rng(2)
    topics = np.array([[8, 1, 1, 0], [0, 1, 4, 5]], dtype=float)
    counts = np.vstack([rng.poisson(topics[i % 2]) for i in range(50)])
    write_csv(tmp_path / "words.csv", ["w0", "w1", "w2", "w3"], counts.astype(int))

    out = ok(
        "fit", "words.csv", "--family", "multinomial", "-k", "2", "--json",
        "-o", "t.mixtura", cwd=tmp_path,
    )  # fmt: skip
    summary = json.loads(out)
    assert summary["estimator"] == "MultinomialMixture"
    assert summary["n_components"] == 2
    ok("predict", "t.mixtura", "words.csv", "-o", "labels.csv", cwd=tmp_path)

    model = mixtura.load(tmp_path / "t.mixtura")
    direct = MultinomialMixture(2, random_state=0).fit(counts)
    assert np.array_equal(
        direct.predict_proba(counts), api_prediction(model, counts)[1]
    )
    check_prediction(tmp_path / "labels.csv", model, counts, 4)


def test_select_prints_the_table_and_saves_the_best(tmp_path):
    X = load_faithful()
    write_csv(tmp_path / "faithful.csv", ["eruptions", "waiting"], X.tolist())
    out = ok(
        "select", "faithful.csv", "-k", "1-3", "--model", "full,diag",
        "-o", "best.mixtura", cwd=tmp_path,
    )  # fmt: skip
    table = mixtura.select(X, range(1, 4), models=["full", "diag"], random_state=0)
    assert table.to_text("bic") in out
    assert "Best model by BIC: full, K = 2" in out
    best = mixtura.load(tmp_path / "best.mixtura")
    assert np.array_equal(
        api_prediction(best, X)[1], table.best_model_.predict_proba(X)
    )
    assert list(best.feature_names_in_) == ["eruptions", "waiting"]


def in_process(argv, capsys):
    """``main(argv)`` in this process: (status, stdout)."""
    from mixtura.cli import main

    status = main(argv)
    return status, capsys.readouterr().out


def test_select_and_fit_grids_as_json(tmp_path, capsys):
    X = load_faithful()
    data = str(tmp_path / "faithful.csv")
    write_csv(data, ["eruptions", "waiting"], X.tolist())
    status, out = in_process(
        ["select", data, "-k", "1,2", "--model", "VVV", "--json"], capsys
    )
    grid = json.loads(out)
    assert status == 0
    assert grid["best"] == {"model": "VVV", "n_components": 2}
    assert [(r["model"], r["n_components"]) for r in grid["table"]] == [
        ("VVV", 1),
        ("VVV", 2),
    ]
    model = str(tmp_path / "fit.mixtura")
    status, out = in_process(["fit", data, "-k", "1-3", "--json", "-o", model], capsys)
    fitted = json.loads(out)
    assert fitted["selection"]["best"] == {"model": "full", "n_components": 2}
    assert fitted["n_components"] == 2
    # a grid of another family: one fit per cell, the estimators' criteria
    counts = str(tmp_path / "counts.csv")
    rng = np.random.default_rng(0)
    write_csv(counts, ["a", "b"], rng.poisson([[1, 9]] * 30 + [[9, 1]] * 30))
    status, out = in_process(
        ["select", counts, "--family", "auto", "-k", "1-3", "-o", model], capsys
    )
    assert status == 0
    assert "family: poisson (auto: non-negative integers)" in out
    assert "Best model by BIC: poisson, K = 2" in out
    assert type(mixtura.load(model)).__name__ == "PoissonMixture"


def test_help_of_each_subcommand_explains_its_options_with_examples(tmp_path, capsys):
    assert ok("fit", "--help", cwd=tmp_path).startswith("usage: mixtura fit")
    for command in ("fit", "select", "predict", "sample", "info", "demo"):
        status, out = in_process([command, "-h"], capsys)
        assert status == 0
        assert out.startswith(f"usage: mixtura {command}")
        assert "Example" in out
    fit_help = in_process(["fit", "-h"], capsys)[1]
    for option in ("--family", "--components", "--model", "--columns", "--missing"):
        assert option in fit_help
    for name in ("gaussian", "poisson", "categorical", "auto"):
        assert name in fit_help


@pytest.mark.parametrize("extension", [".npy", ".npz", ".parquet"])
def test_binary_formats_in_and_out(tmp_path, extension):
    from mixtura.cli import main

    if extension == ".parquet":
        pytest.importorskip("pyarrow")
    X = load_faithful()[:60]
    np.save(tmp_path / "x.npy", X)
    np.savez(tmp_path / "x.npz", other=np.zeros(3), X=X)
    if extension == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(
            pa.table({"eruptions": X[:, 0], "waiting": X[:, 1]}), tmp_path / "x.parquet"
        )
    data = str(tmp_path / f"x{extension}")
    key = ["--key", "X"] if extension == ".npz" else []
    model = str(tmp_path / "m.mixtura")
    assert main(["fit", data, *key, "-k", "2", "-o", model]) == 0
    out = str(tmp_path / f"out{extension}")
    assert main(["predict", model, data, *key, "-o", out]) == 0
    expected = api_prediction(mixtura.load(model), X)[1]
    if extension == ".npy":
        written = np.load(out)
        assert written.shape == (60, 2 + 1 + 2 + 2)
        assert np.array_equal(written[:, :2], X)
        assert np.array_equal(written[:, 3:5], expected)
    elif extension == ".npz":
        with np.load(out) as written:
            assert list(written.files)[:3] == ["x0", "x1", "label"]
            assert np.array_equal(written["prob_1"], expected[:, 1])
    else:
        import pyarrow.parquet as pq

        written = pq.read_table(out)
        assert written.column_names[:3] == ["eruptions", "waiting", "label"]
        assert np.array_equal(written.column("prob_0").to_numpy(), expected[:, 0])
    assert (
        main(["sample", model, "-n", "4", "-o", str(tmp_path / f"s{extension}")]) == 0
    )
