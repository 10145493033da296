"""The command line's data tables (:mod:`mixtura.cli._io`): read, write, auto family."""

import numpy as np
import pytest

from mixtura.cli._io import (
    InputError,
    Table,
    detect_family,
    read_table,
    write_table,
)


def test_csv_sniffs_the_delimiter_and_reads_na_and_text(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("x\tname\ty\n1.5\tred\tNA\n-2e3\t?\t3\n  nan \tblue\t4\n")
    table = read_table(str(path))
    assert table.names == ["x", "name", "y"]
    assert table.named and table.n_rows == 3
    assert np.array_equal(table.columns[0], [1.5, -2e3, np.nan], equal_nan=True)
    assert table.is_text(1) and list(table.columns[1]) == ["red", None, "blue"]
    assert np.array_equal(table.columns[2], [np.nan, 3, 4], equal_nan=True)
    assert table.text[0] == ["1.5", "-2e3", "  nan "]
    assert detect_family(table.select(["x", "y"])) == ("gaussian", "real numbers")
    with pytest.raises(InputError, match="cannot choose"):
        detect_family(table)
    with pytest.raises(InputError, match="is not numeric"):
        table.numeric_matrix("gaussian")
    X = table.select(["name"]).object_matrix()
    assert X.shape == (3, 1) and X.dtype == object


@pytest.mark.parametrize(
    ("rows", "family"),
    [
        ([[0, 1], [1, 1], [0, 0]], "bernoulli"),
        ([[0, 3], [1, 7], [2, 0]], "poisson"),
        ([[0, 3], [1, -7], [2, 0]], "gaussian"),
        ([[0.5, 3], [1, 7], [2, 0]], "gaussian"),
    ],
)
def test_detect_family(rows, family):
    columns = [np.asarray(c, dtype=float) for c in zip(*rows, strict=True)]
    assert detect_family(Table(["a", "b"], columns, "t"))[0] == family


def test_one_column_csv_and_comma_inside_quotes(tmp_path):
    (tmp_path / "one.csv").write_text("v\n1\n2\n")
    assert read_table(str(tmp_path / "one.csv")).names == ["v"]
    (tmp_path / "q.csv").write_text('a,b\n"x, y",1\n"z",2\n')
    table = read_table(str(tmp_path / "q.csv"))
    assert list(table.columns[0]) == ["x, y", "z"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,a\n1,2\n", "names the column 'a' twice"),
        ("a,\n1,2\n", "empty column name"),
        ("\n\n", "is empty"),
    ],
)
def test_bad_csv_headers(tmp_path, text, message):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(InputError, match=message):
        read_table(str(tmp_path / "bad.csv"))


def test_numpy_files(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(4))
    table = read_table(str(tmp_path / "v.npy"))
    assert table.names == ["x0"] and not table.named
    fields = np.array([(1.0, "a"), (2.0, "b")], dtype=[("size", float), ("tag", "U1")])
    np.save(tmp_path / "s.npy", fields)
    table = read_table(str(tmp_path / "s.npy"))
    assert table.names == ["size", "tag"] and table.is_text(1)
    np.save(tmp_path / "o.npy", np.array([{}, {}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="cannot read"):
        read_table(str(tmp_path / "o.npy"))
    np.save(tmp_path / "c.npy", np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match="1-D or 2-D"):
        read_table(str(tmp_path / "c.npy"))
    np.savez(tmp_path / "z.npz", first=np.ones((3, 2)), second=np.zeros((3, 1)))
    assert len(read_table(str(tmp_path / "z.npz")).names) == 2
    assert len(read_table(str(tmp_path / "z.npz"), key="second").names) == 1
    with pytest.raises(InputError, match="--key selects"):
        read_table(str(tmp_path / "v.npy"), key="first")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read"):
        read_table(str(tmp_path / "bad.npz"))


def test_parquet_in_and_out(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"n": [1, None, 3], "s": ["a", None, "c"]}), tmp_path / "t.parquet"
    )
    table = read_table(str(tmp_path / "t.parquet"))
    assert np.array_equal(table.columns[0], [1, np.nan, 3], equal_nan=True)
    assert list(table.columns[1]) == ["a", None, "c"]
    write_table(str(tmp_path / "o.parquet"), table.names, table.columns)
    assert pq.read_table(tmp_path / "o.parquet").column("s").to_pylist() == [
        "a",
        None,
        "c",
    ]


def test_csv_output_is_exact_and_npy_refuses_text(tmp_path):
    values = np.array([0.1 + 0.2, 1e-300, -np.pi, np.nan])
    path = str(tmp_path / "o.csv")
    write_table(path, ["v", "k"], [values, np.arange(4)])
    back = read_table(path)
    assert np.array_equal(back.columns[0], values, equal_nan=True)
    assert back.text[1] == ["0", "1", "2", "3"]
    with pytest.raises(InputError, match="holds text"):
        write_table(
            str(tmp_path / "o.npy"), ["s"], [np.array(["a", None], dtype=object)]
        )
    with pytest.raises(InputError, match="two columns called 'v'"):
        write_table(path, ["v", "v"], [values, values])
    write_table(str(tmp_path / "o.npz"), ["s"], [np.array(["a", None], dtype=object)])
    with np.load(tmp_path / "o.npz") as archive:
        assert archive["s"].tolist() == ["a", ""]
