"""The header of a ``.npy`` file, read as a literal (nothing is unpickled)."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["read_npy_header"]


def read_npy_header(stream):
    """Shape, order and dtype from a ``.npy`` header, the stream left at the data.

    Parameters
    ----------
    stream : binary file object
        Positioned at the start of the ``.npy`` content.

    Returns
    -------
    shape : tuple of int
    fortran_order : bool
    dtype : numpy.dtype

    Raises
    ------
    ValueError
        If the header is damaged or of a format version other than 1.0 or 2.0
        (3.0 is only written for structured dtypes, which mixtura refuses).
    """
    # a damaged header can make NumPy's header parser warn before it fails
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except ValueError:
            raise
        except Exception as exc:  # the parser's errors vary with the damage
            raise ValueError(str(exc)) from exc
    shape, fortran_order, dtype = header
    return tuple(shape), bool(fortran_order), dtype
