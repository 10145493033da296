"""Small classic data sets, bundled with the package for demos, examples and tests.

Each loader returns a NumPy array by default and a pandas DataFrame with
``as_frame=True`` (pandas is imported only then).

Sources
-------
Old Faithful (:func:`load_faithful`)
    Azzalini, A. and Bowman, A. W. (1990), "A look at some data on the Old Faithful
    geyser", *Applied Statistics* 39, 357-365; distributed with R's ``datasets``
    package. 272 eruptions: ``eruptions`` (duration, minutes) and ``waiting``
    (minutes to the next eruption). The classic two-cluster example for Gaussian
    mixtures.
Carcinoma (:func:`load_carcinoma`)
    Agresti, A. (2002), *Categorical Data Analysis*, 2nd ed., Table 13.1;
    distributed with R's ``poLCA`` package. Seven pathologists' ratings
    (1 = no carcinoma, 2 = carcinoma) of 118 uterine cervix slides, columns
    ``A`` .. ``G``. The classic latent class analysis example (binary items; 2- and
    3-class models).
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np

__all__ = ["SOURCES", "load_carcinoma", "load_faithful"]

#: Short citation of each bundled data set, by loader name without ``load_``.
SOURCES = {
    "faithful": (
        "Azzalini, A. and Bowman, A. W. (1990), 'A look at some data on the Old "
        "Faithful geyser', Applied Statistics 39, 357-365; R package datasets."
    ),
    "carcinoma": (
        "Agresti, A. (2002), Categorical Data Analysis, 2nd ed., Table 13.1; "
        "R package poLCA."
    ),
}


def _read_csv(filename, dtype):
    """Column names and values of a bundled CSV file with one header row."""
    text = resources.files(__name__).joinpath("data", filename).read_text("utf-8")
    header, *rows = csv.reader(io.StringIO(text))
    return header, np.array(rows, dtype=dtype)


def _as_frame(header, values, loader):
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(
            f"{loader}(as_frame=True) needs pandas, which is not installed; install "
            'it with `pip install pandas` or `pip install "mixtura[parquet]"`, or '
            "call it with as_frame=False for a NumPy array."
        ) from error
    return pd.DataFrame(values, columns=header)


def _load(filename, dtype, as_frame, loader):
    header, values = _read_csv(filename, dtype)
    return _as_frame(header, values, loader) if as_frame else values


def load_faithful(as_frame=False):
    """Load the Old Faithful geyser data (272 eruptions, 2 features).

    Azzalini and Bowman (1990), via R's ``datasets`` package; see the module
    docstring for the full citation.

    Parameters
    ----------
    as_frame : bool, default=False
        Return a pandas DataFrame with columns ``eruptions`` and ``waiting``
        instead of an array. Needs pandas.

    Returns
    -------
    data : ndarray of shape (272, 2) or DataFrame
        Columns: eruption duration and waiting time to the next eruption, both in
        minutes (float64).

    Raises
    ------
    ImportError
        If ``as_frame=True`` and pandas is not installed.

    Examples
    --------
    >>> from mixtura.datasets import load_faithful
    >>> X = load_faithful()
    >>> X.shape
    (272, 2)
    >>> X[0]
    array([ 3.6, 79. ])
    """
    return _load("faithful.csv", np.float64, as_frame, "load_faithful")


def load_carcinoma(as_frame=False):
    """Load the carcinoma ratings (118 slides rated by 7 pathologists).

    Agresti (2002), Table 13.1, via R's ``poLCA`` package; see the module docstring
    for the full citation.

    Parameters
    ----------
    as_frame : bool, default=False
        Return a pandas DataFrame with columns ``A`` .. ``G`` instead of an array.
        Needs pandas.

    Returns
    -------
    data : ndarray of shape (118, 7) or DataFrame
        Ratings as integers: 1 = no carcinoma, 2 = carcinoma.

    Raises
    ------
    ImportError
        If ``as_frame=True`` and pandas is not installed.

    Examples
    --------
    >>> from mixtura.datasets import load_carcinoma
    >>> load_carcinoma().shape
    (118, 7)
    """
    return _load("carcinoma.csv", np.int64, as_frame, "load_carcinoma")
