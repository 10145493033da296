"""Data tables for the command line: read CSV, NumPy and Parquet files, write results.

A :class:`Table` is a list of named columns, each a 1-D array: ``float64`` for
numbers (NaN where a value is missing) or ``object`` holding ``str`` (None where a
value is missing) for text. The estimators do the validation (NaN policy, counts,
levels); this module only turns files into arrays and arrays into files, and
reports a file it cannot read as an :class:`InputError` that names the file and
the problem in one line.

Formats, chosen by the file's extension:

- ``.csv``, ``.tsv``, ``.txt``: a header row, then one row per sample; the
  delimiter (``,`` ``;`` tab ``|``) is sniffed with :class:`csv.Sniffer`; a cell
  in :data:`NA_STRINGS` (any case, surrounding blanks ignored) is missing; a
  column whose every present cell is a number is numeric, any other is text.
- ``.npy``: a 1-D or 2-D numeric or string array (columns ``x0``, ``x1``...), or
  a structured array (columns named by its fields); never unpickled.
- ``.npz``: the archive's first array, or the one named by ``key``.
- ``.parquet``: with pyarrow installed (``pip install "mixtura[parquet]"``).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DATA_FORMATS",
    "NA_STRINGS",
    "OUTPUT_FORMATS",
    "InputError",
    "Table",
    "detect_family",
    "read_table",
    "write_table",
]

_log = logging.getLogger(__name__)

#: cells that mean "missing" in a CSV file (compared in lower case, stripped)
NA_STRINGS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "?"})
_CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
#: extensions :func:`read_table` reads
DATA_FORMATS = (*_CSV_EXTENSIONS, ".npy", ".npz", ".parquet")
#: extensions :func:`write_table` writes
OUTPUT_FORMATS = (".csv", ".npy", ".npz", ".parquet")
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"
_PARQUET_INSTALL = 'pip install "mixtura[parquet]"'


class InputError(ValueError):
    """A data file, column choice or output that the command cannot use as given."""


@dataclass
class Table:
    """Named columns of equal length, as read from a data file.

    Parameters
    ----------
    names : list of str
        Column names, unique.
    columns : list of ndarray of shape (n_rows,)
        ``float64`` (NaN for missing) or ``object`` holding str (None for missing).
    source : str
        The file the table came from, for messages.
    named : bool, default=True
        Whether the names came from the file (a header, fields, Parquet columns)
        rather than being made up (``x0``, ``x1``...).
    text : list of (list of str or None), default=None
        The CSV cells of each column as written in the file, kept so that an
        output repeats the input's columns verbatim.
    """

    names: list
    columns: list
    source: str
    named: bool = True
    text: list = field(default=None)

    @property
    def n_rows(self):
        """Number of rows."""
        return len(self.columns[0]) if self.columns else 0

    def is_text(self, index):
        """Whether column ``index`` holds text.

        Parameters
        ----------
        index : int
            Column position.

        Returns
        -------
        text : bool
        """
        return self.columns[index].dtype == object

    def select(self, names):
        """The table of the columns called ``names``, in that order.

        Parameters
        ----------
        names : sequence of str or None
            Column names; None keeps every column.

        Returns
        -------
        table : Table

        Raises
        ------
        InputError
            If a name is not a column; the message lists the columns.
        """
        if names is None:
            return self
        unknown = [name for name in names if name not in self.names]
        if unknown:
            raise InputError(
                f"{self.source} has no column {', '.join(map(repr, unknown))}; its "
                f"columns are {', '.join(self.names)}"
            )
        if len(set(names)) != len(names):
            raise InputError(f"--columns names a column twice: {', '.join(names)}")
        index = [self.names.index(name) for name in names]
        return Table(
            [self.names[i] for i in index],
            [self.columns[i] for i in index],
            self.source,
            self.named,
            None if self.text is None else [self.text[i] for i in index],
        )

    def numeric_matrix(self, family):
        """The columns as one ``float64`` array of shape (n_rows, n_columns).

        Parameters
        ----------
        family : str
            The family the numbers are for, named in the error.

        Returns
        -------
        X : ndarray of shape (n_rows, n_columns)

        Raises
        ------
        InputError
            If a column holds text.
        """
        for index, name in enumerate(self.names):
            if self.is_text(index):
                row, value = next(
                    (i, v) for i, v in enumerate(self.columns[index]) if v is not None
                )
                raise InputError(
                    f"column {name!r} of {self.source} is not numeric (row {row + 1} "
                    f"holds {value!r}), and the {family} family needs numbers; "
                    "choose numeric columns with --columns, or --family categorical"
                )
        return np.column_stack(self.columns).astype(np.float64, copy=False)

    def object_matrix(self):
        """The columns as one ``object`` array (str, float, None) of shape
        (n_rows, n_columns), for estimators that take text.

        Returns
        -------
        X : ndarray of shape (n_rows, n_columns)
        """
        X = np.empty((self.n_rows, len(self.columns)), dtype=object)
        for index, column in enumerate(self.columns):
            X[:, index] = column
        return X


# -- reading ---------------------------------------------------------------------
def read_table(path, key=None):
    """Read a data file into a :class:`Table`, by its extension.

    Parameters
    ----------
    path : str
        The data file (``.csv``, ``.tsv``, ``.txt``, ``.npy``, ``.npz`` or
        ``.parquet``).
    key : str, default=None
        The array of an ``.npz`` archive to read; None reads its first array.

    Returns
    -------
    table : Table

    Raises
    ------
    InputError
        If the file is missing, unreadable, empty, of an unknown format, or not a
        table; the message names the file.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension not in DATA_FORMATS:
        raise InputError(
            f"cannot tell the format of {path!r} from its extension; mixtura reads "
            f"{', '.join(DATA_FORMATS)}"
        )
    if key is not None and extension != ".npz":
        raise InputError(f"--key selects an array of an .npz file, not of {path!r}")
    if not os.path.exists(path):
        raise InputError(f"data file {path!r} does not exist")
    if os.path.isdir(path):
        raise InputError(f"data file {path!r} is a directory")
    try:
        if extension in _CSV_EXTENSIONS:
            table = _read_csv(path)
        elif extension == ".npy":
            table = _read_npy(path)
        elif extension == ".npz":
            table = _read_npz(path, key)
        else:
            table = _read_parquet(path)
    except OSError as error:
        raise InputError(f"cannot read {path!r}: {error.strerror or error}") from error
    if table.n_rows == 0 or not table.names:
        raise InputError(f"{path!r} holds no data rows")
    _log.info("read %s: %d rows x %d columns", path, table.n_rows, len(table.names))
    return table


def _read_csv(path):
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"cannot read {path!r} as CSV: it is not UTF-8 text (byte "
            f"{error.start} is {raw[error.start : error.start + 1]!r})"
        ) from None
    if "\x00" in text:
        raise InputError(f"cannot read {path!r} as CSV: it holds NUL bytes (binary?)")
    if not text.strip():
        raise InputError(f"data file {path!r} is empty")
    try:
        rows = [row for row in csv.reader(io.StringIO(text), _dialect(text)) if row]
    except csv.Error as error:
        raise InputError(f"cannot read {path!r} as CSV: {error}") from None
    header = [name.strip() for name in rows[0]]
    _check_header(header, path)
    body = rows[1:]
    if not body:
        raise InputError(f"{path!r} has a header but no data rows")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise InputError(
                f"cannot read {path!r} as CSV: line {number} has {len(row)} fields "
                f"and the header {len(header)}"
            )
    cells = [list(column) for column in zip(*body, strict=True)]
    return Table(header, [_parse_column(column) for column in cells], path, True, cells)


def _dialect(text):
    sample = text[:_SNIFF_BYTES]
    if len(text) > _SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:  # one column, or nothing to tell the delimiter by
        return csv.excel


def _check_header(header, path):
    if any(not name for name in header):
        position = header.index("") + 1
        raise InputError(f"{path!r} has an empty column name (column {position})")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(f"{path!r} names the column {repeated[0]!r} twice")


def _is_missing(cell):
    return cell.strip().lower() in NA_STRINGS


def _parse_column(cells):
    """A float64 array if every present cell is a number, else an object array."""
    values = np.empty(len(cells), dtype=np.float64)
    for index, cell in enumerate(cells):
        if _is_missing(cell):
            values[index] = math.nan
            continue
        try:
            values[index] = float(cell)
        except ValueError:
            return np.array(
                [None if _is_missing(c) else c.strip() for c in cells], dtype=object
            )
    return values


def _read_npy(path):
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise InputError(f"cannot read {path!r} as .npy: {error}") from None
    return _table_from_array(array, path)


def _read_npz(path, key):
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if not keys:
                raise InputError(f"{path!r} holds no arrays")
            if key is None:
                key = keys[0]
            elif key not in keys:
                raise InputError(
                    f"{path!r} has no array {key!r}; its arrays are {', '.join(keys)}"
                )
            array = archive[key]
    except (zipfile.BadZipFile, ValueError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"cannot read {path!r} as .npz: {error}") from None
    return _table_from_array(array, f"{path}[{key}]")


def _table_from_array(array, source):
    if array.dtype.names:  # a structured array: one column per field
        if array.ndim != 1:
            raise InputError(f"{source} is a structured array of {array.ndim} dims")
        names = list(array.dtype.names)
        return Table(names, [_column(array[n], source) for n in names], source)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(
            f"{source} is an array of shape {array.shape}; a table is 1-D or 2-D"
        )
    names = [f"x{j}" for j in range(array.shape[1])]
    columns = [_column(array[:, j], source) for j in range(array.shape[1])]
    return Table(names, columns, source, named=False)


def _column(values, source):
    kind = values.dtype.kind
    if kind in "biuf":
        return values.astype(np.float64)
    if kind in "US":
        strings = values.astype(str)
        return np.array([str(v) for v in strings], dtype=object)
    raise InputError(f"{source} holds {values.dtype} values; a table holds numbers")


def _read_parquet(path):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            f"reading Parquet ({path!r}) needs pyarrow: {_PARQUET_INSTALL}"
        ) from None
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"cannot read {path!r} as Parquet: {error}") from None
    names = [str(name) for name in table.column_names]
    columns = [
        _parquet_column(table.column(i), names[i], path) for i in range(len(names))
    ]
    return Table(names, columns, path)


def _parquet_column(column, name, path):
    import pyarrow as pa

    kind = column.type
    if (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
    ):
        return np.array(
            [math.nan if v is None else float(v) for v in column.to_pylist()],
            dtype=np.float64,
        )
    if (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_dictionary(kind)
    ):
        return np.array(
            [None if v is None else str(v) for v in column.to_pylist()], dtype=object
        )
    raise InputError(
        f"column {name!r} of {path!r} has type {kind}; tables hold numbers and text"
    )


# -- the family of a table --------------------------------------------------------
def detect_family(table):
    """The family ``--family auto`` picks for a table, and why.

    Text columns give ``'categorical'``; numbers that are all 0 or 1 give
    ``'bernoulli'``; non-negative integers ``'poisson'``; any other numbers
    ``'gaussian'``. Missing values are ignored.

    Parameters
    ----------
    table : Table

    Returns
    -------
    family : str
    reason : str

    Raises
    ------
    InputError
        If text and numeric columns are mixed.
    """
    text = [name for i, name in enumerate(table.names) if table.is_text(i)]
    if text:
        if len(text) < len(table.names):
            numeric = [name for name in table.names if name not in text]
            raise InputError(
                f"--family auto cannot choose for a table of text columns "
                f"({', '.join(text)}) and numeric ones ({', '.join(numeric)}): pick "
                "the columns of one kind with --columns, or name a --family"
            )
        return "categorical", "text columns"
    values = np.concatenate([column[~np.isnan(column)] for column in table.columns])
    if values.size and np.all((values == 0) | (values == 1)):
        return "bernoulli", "every value is 0 or 1"
    if (
        values.size
        and np.all(np.isfinite(values) & (values >= 0))
        and np.all(values == np.floor(values))
    ):
        return "poisson", "non-negative integers"
    return "gaussian", "real numbers"


# -- writing ---------------------------------------------------------------------
def write_table(path, names, columns, text=None):
    """Write named columns to ``path``, in the format its extension names.

    Floats are written to CSV in their shortest exact form (``repr``), so that
    reading them back gives the same numbers bit for bit.

    Parameters
    ----------
    path : str
        Where to write (``.csv``, ``.npy``, ``.npz`` or ``.parquet``).
    names : list of str
        Column names.
    columns : list of ndarray of shape (n_rows,)
        Numbers (float or int) or text (object arrays of str and None).
    text : list of (list of str or None), default=None
        For CSV output, the cells of some columns as they should be written
        (an input CSV's own cells); None entries are formatted from ``columns``.

    Raises
    ------
    InputError
        If the format cannot hold the columns (text in ``.npy``) or a name repeats.
    """
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(
            f"the output would have two columns called {repeated[0]!r}; rename the "
            "input's column"
        )
    extension = os.path.splitext(path)[1].lower()
    if extension == ".csv":
        _write_csv(path, names, columns, text or [None] * len(names))
    elif extension == ".npy":
        np.save(path, _numeric_stack(names, columns, path), allow_pickle=False)
    elif extension == ".npz":
        np.savez(path, **{n: _plain(c) for n, c in zip(names, columns, strict=True)})
    elif extension == ".parquet":
        _write_parquet(path, names, columns)
    else:
        raise InputError(
            f"cannot tell the output format of {path!r}; use one of "
            f"{', '.join(OUTPUT_FORMATS)}"
        )
    _log.info("wrote %s: %d columns", path, len(names))


def _format_cell(value):
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "NaN" if math.isnan(value) else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def _write_csv(path, names, columns, text):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        cells = [
            given if given is not None else [_format_cell(v) for v in column.tolist()]
            for given, column in zip(text, columns, strict=True)
        ]
        writer.writerows(zip(*cells, strict=True))


def _numeric_stack(names, columns, path):
    for name, column in zip(names, columns, strict=True):
        if column.dtype == object:
            raise InputError(
                f"column {name!r} holds text, which {path!r} (.npy, numbers only) "
                "cannot hold; write .csv, .npz or .parquet"
            )
    return np.column_stack([c.astype(np.float64) for c in columns])


def _plain(column):
    if column.dtype != object:
        return column
    return np.array(["" if v is None else str(v) for v in column], dtype=str)


def _write_parquet(path, names, columns):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"writing Parquet needs pyarrow: {_PARQUET_INSTALL}") from None
    arrays = [
        pa.array(column.tolist() if column.dtype == object else column)
        for column in columns
    ]
    pq.write_table(pa.Table.from_arrays(arrays, names=list(names)), path)
