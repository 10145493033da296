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

A Parquet file whose values would take more than a memory budget in memory
(rows x columns x 8 bytes, from the file's metadata: nothing is read to know it)
is opened by :func:`open_table` as a :class:`StreamedTable` instead, which reads
one row group at a time: ``mixtura fit`` fits it through
:func:`mixtura.streams.parquet_chunks` (batch EM, one pass over the row groups
per iteration) and ``mixtura predict`` labels it row group by row group, writing
its output as it goes (:func:`write_table_stream`). The budget is
``--memory-budget``, by default :func:`default_memory_budget` (a quarter of the
memory available).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DATA_FORMATS",
    "NA_STRINGS",
    "OUTPUT_FORMATS",
    "STREAM_OUTPUTS",
    "InputError",
    "StreamedTable",
    "Table",
    "default_memory_budget",
    "detect_family",
    "open_table",
    "parse_memory_size",
    "read_table",
    "write_table",
    "write_table_stream",
]

_log = logging.getLogger(__name__)

#: cells that mean "missing" in a CSV file (compared in lower case, stripped)
NA_STRINGS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "?"})
_CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
#: extensions :func:`read_table` reads
DATA_FORMATS = (*_CSV_EXTENSIONS, ".npy", ".npz", ".parquet")
#: extensions :func:`write_table` writes
OUTPUT_FORMATS = (".csv", ".npy", ".npz", ".parquet")
#: extensions :func:`write_table_stream` writes part by part
STREAM_OUTPUTS = (".csv", ".parquet")
#: the fraction of the available memory that is the default memory budget
DEFAULT_BUDGET_FRACTION = 0.25
_SIZE_UNITS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
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
        _check_names(names, self.names, self.source)
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


def _check_names(names, columns, source):
    unknown = [name for name in names if name not in columns]
    if unknown:
        raise InputError(
            f"{source} has no column {', '.join(map(repr, unknown))}; its "
            f"columns are {', '.join(columns)}"
        )
    if len(set(names)) != len(names):
        raise InputError(f"--columns names a column twice: {', '.join(names)}")


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


# -- Parquet files larger than the memory budget -----------------------------------
def parse_memory_size(text):
    """A size in bytes from ``'200MB'``, ``'1.5GiB'``, ``'500k'`` or ``'1000000'``.

    ``k``, ``M``, ``G``, ``T`` (any case, ``B`` optional) are powers of 1000;
    ``KiB``, ``MiB``, ``GiB``, ``TiB`` powers of 1024; a bare number is bytes.

    Parameters
    ----------
    text : str

    Returns
    -------
    size : int
        Bytes, at least 0.

    Raises
    ------
    ValueError
        If ``text`` is not a size.
    """
    match = re.fullmatch(
        r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?)(b?)\s*", str(text), re.IGNORECASE
    )
    if match is None or (match.group(3) and not match.group(2)):
        raise ValueError(
            f"expected a size such as 200MB, 1.5GiB or 1000000 (bytes); got {text!r}"
        )
    number, unit, binary = match.group(1), match.group(2).lower(), match.group(3)
    base = 1024 if binary else 1000
    return int(float(number) * base ** _SIZE_UNITS[unit])


def default_memory_budget():
    """The default memory budget: a quarter of the memory available now.

    Linux's ``MemAvailable`` (``/proc/meminfo``), else the free physical pages
    (``os.sysconf``); None where neither is known (nothing is then streamed
    unless ``--memory-budget`` is given).

    Returns
    -------
    budget : int or None
        Bytes.
    """
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    return int(available * DEFAULT_BUDGET_FRACTION)


@dataclass
class StreamedTable:
    """Named columns of a Parquet file, read one row group at a time.

    Stands in for a :class:`Table` whose values would exceed the memory
    budget: it has the names, the number of rows (from the metadata) and the
    source, and reads the rows only when asked, a row group at a time.

    Parameters
    ----------
    path : str
        The Parquet file.
    names : list of str
        Its columns (all, or those chosen), in order.
    numeric : list of bool
        Whether each column holds numbers (integer, floating, boolean).
    n_rows : int
        Rows of the file.
    named : bool, default=True
        As :attr:`Table.named` (a Parquet file names its columns).
    text : None, default=None
        As :attr:`Table.text` (no CSV cells to repeat).
    """

    path: str
    names: list
    numeric: list
    n_rows: int
    named: bool = True
    text: list = field(default=None)

    @property
    def source(self):
        """The file, for messages."""
        return self.path

    @property
    def nbytes(self):
        """The columns' size in memory as float64 (rows x columns x 8 bytes)."""
        return self.n_rows * len(self.names) * 8

    def is_text(self, index):
        """Whether column ``index`` holds anything but numbers.

        Parameters
        ----------
        index : int

        Returns
        -------
        text : bool
        """
        return not self.numeric[index]

    def select(self, names):
        """The streamed table of the columns called ``names``, as :meth:`Table.select`.

        Parameters
        ----------
        names : sequence of str or None

        Returns
        -------
        table : StreamedTable
        """
        if names is None:
            return self
        _check_names(names, self.names, self.source)
        index = [self.names.index(name) for name in names]
        return StreamedTable(
            self.path,
            [self.names[i] for i in index],
            [self.numeric[i] for i in index],
            self.n_rows,
        )

    def stream(self):
        """The columns as a float64 stream of row groups, for ``fit``.

        Returns
        -------
        stream : ChunkStream
            :func:`mixtura.streams.parquet_chunks` of the columns, each chunk
            as float64 (the in-memory table's dtype, so that the fit is the
            in-memory one).
        """
        from mixtura.streams import ChunkStream, parquet_chunks

        chunks = parquet_chunks(self.path, list(self.names))

        def make_chunks():
            for chunk in chunks.make_chunks():
                yield chunk.astype(np.float64, copy=False)

        return ChunkStream(make_chunks, chunks.description)

    def row_groups(self):
        """Yield each row group as an in-memory :class:`Table` of the columns.

        Values are converted as :func:`read_table` converts them.

        Yields
        ------
        table : Table
        """
        import pyarrow.parquet as pq

        reader = pq.ParquetFile(self.path)
        for group in range(reader.num_row_groups):
            part = reader.read_row_group(group, columns=list(self.names))
            columns = [
                _parquet_column(part.column(i), name, self.path)
                for i, name in enumerate(self.names)
            ]
            yield Table(list(self.names), columns, self.path)

    def read(self):
        """The whole table in memory (for what cannot stream).

        Returns
        -------
        table : Table
        """
        return read_table(self.path).select(self.names)


def open_table(path, key=None, columns=None, *, memory_budget=None, numeric=True):
    """A data file as a :class:`Table`, or as a :class:`StreamedTable` if too big.

    A ``.parquet`` file is streamed when its chosen columns would take more
    than ``memory_budget`` bytes in memory (rows x columns x 8, from the
    metadata) and, with ``numeric``, every chosen column holds numbers; any
    other file is read by :func:`read_table`.

    Parameters
    ----------
    path : str
    key : str, default=None
        As for :func:`read_table`.
    columns : sequence of str, default=None
        Columns to keep (None: all).
    memory_budget : int, default=None
        Bytes; None reads every file in memory.
    numeric : bool, default=True
        Stream only numeric columns (a fit's); False streams any (predict's
        output repeats text columns too).

    Returns
    -------
    table : Table or StreamedTable

    Raises
    ------
    InputError
        As :func:`read_table` and :meth:`Table.select`.
    """
    streamed = None
    if memory_budget is not None and os.path.splitext(path)[1].lower() == ".parquet":
        streamed = _parquet_schema(path)
    if streamed is not None:
        streamed = streamed.select(columns)
        if streamed.nbytes <= memory_budget:
            streamed = None
        elif numeric and not all(streamed.numeric):
            text = [
                name
                for name, number in zip(streamed.names, streamed.numeric, strict=True)
                if not number
            ]
            _log.warning(
                "%s (%s) exceeds the memory budget (%s) but its columns %s are not "
                "numeric, which a stream cannot read: reading it in memory",
                path,
                _size_text(streamed.nbytes),
                _size_text(memory_budget),
                ", ".join(text),
            )
            streamed = None
    if streamed is None:
        return read_table(path, key).select(columns)
    _log.info(
        "%s: %d rows x %d columns, %s in memory, over the budget of %s: reading "
        "it one row group at a time",
        path,
        streamed.n_rows,
        len(streamed.names),
        _size_text(streamed.nbytes),
        _size_text(memory_budget),
    )
    return streamed


def _parquet_schema(path):
    """The file's columns and rows, from its metadata; None if it cannot tell.

    Whatever is wrong with the file is left for :func:`read_table` to report.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    if not os.path.isfile(path):
        return None
    try:
        reader = pq.ParquetFile(path)
    except (pa.ArrowException, OSError):
        return None
    schema = reader.schema_arrow
    numeric = [
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        for kind in schema.types
    ]
    names = [str(name) for name in schema.names]
    return StreamedTable(os.fspath(path), names, numeric, reader.metadata.num_rows)


def _size_text(size):
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.3g} {unit}"
        size /= 1000
    return f"{size:.3g} TB"


# -- the family of a table --------------------------------------------------------
def detect_family(table):
    """The family ``--family auto`` picks for a table, and why.

    Text columns give ``'categorical'``; numbers that are all 0 or 1 give
    ``'bernoulli'``; non-negative integers ``'poisson'``; any other numbers
    ``'gaussian'``. Missing values are ignored.

    Parameters
    ----------
    table : Table or StreamedTable
        A streamed table is read one row group at a time.

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
    if isinstance(table, StreamedTable):  # one row group at a time
        parts = (chunk[~np.isnan(chunk)] for chunk in table.stream())
    else:
        parts = (column[~np.isnan(column)] for column in table.columns)
    seen, binary, counts = False, True, True
    for values in parts:
        seen = seen or bool(values.size)
        binary = binary and bool(np.all((values == 0) | (values == 1)))
        counts = counts and bool(
            np.all(np.isfinite(values) & (values >= 0))
            and np.all(values == np.floor(values))
        )
        if not counts:
            break
    if seen and binary:
        return "bernoulli", "every value is 0 or 1"
    if seen and counts:
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


def write_table_stream(path, parts):
    """Write parts of rows to ``path`` one after the other (.parquet or .csv).

    A Parquet file gets one row group per part, a CSV file the header once and
    the rows of each part as they come, so that memory holds one part.

    Parameters
    ----------
    path : str
        Where to write: an extension of :data:`STREAM_OUTPUTS`.
    parts : iterable of (list of str, list of ndarray)
        The names and columns of each part, the same names every time (as in
        :func:`write_table`).

    Returns
    -------
    n_rows : int
        Rows written.

    Raises
    ------
    InputError
        If the format cannot be written part by part, or a name repeats.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension not in STREAM_OUTPUTS:
        raise InputError(
            f"cannot write {path!r} part by part; use one of "
            f"{', '.join(STREAM_OUTPUTS)}"
        )
    writer, n_rows = None, 0
    try:
        for names, columns in parts:
            if writer is None:
                repeated = sorted({name for name in names if names.count(name) > 1})
                if repeated:
                    raise InputError(
                        f"the output would have two columns called {repeated[0]!r}; "
                        "rename the input's column"
                    )
                writer = (
                    _ParquetParts(path, names)
                    if extension == ".parquet"
                    else _CsvParts(path, names)
                )
            writer.write(columns)
            n_rows += len(columns[0]) if columns else 0
    finally:
        if writer is not None:
            writer.close()
    _log.info("wrote %s: %d rows, part by part", path, n_rows)
    return n_rows


class _CsvParts:
    def __init__(self, path, names):
        self.handle = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.handle, lineterminator="\n")
        self.writer.writerow(names)

    def write(self, columns):
        cells = [[_format_cell(v) for v in column.tolist()] for column in columns]
        self.writer.writerows(zip(*cells, strict=True))

    def close(self):
        self.handle.close()


class _ParquetParts:
    def __init__(self, path, names):
        self.path, self.names = path, list(names)
        self.writer = self.schema = None

    def write(self, columns):
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = [
            pa.array(column.tolist(), type=pa.string())
            if column.dtype == object
            else pa.array(column)
            for column in columns
        ]
        table = pa.Table.from_arrays(arrays, names=self.names)
        if self.writer is None:
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table.cast(self.schema))

    def close(self):
        if self.writer is not None:
            self.writer.close()
