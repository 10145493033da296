"""The family registry: family classes by name.

It imports no family, so a family module (a wrapper such as
:class:`~mixtura.families.noise.WithNoise` or a product of families) can look
others up at import time without a circle; :mod:`mixtura.families` registers the
built-in ones.
"""

from __future__ import annotations

__all__ = ["FAMILIES", "get_family", "register_family"]

#: family name -> family class
FAMILIES: dict[str, type] = {}


def register_family(cls):
    """Add a family class to the registry under ``cls.name``; usable as a decorator."""
    FAMILIES[cls.name] = cls
    return cls


def get_family(name):
    """Return the registered family class called ``name``.

    Raises
    ------
    ValueError
        If no family has that name; the message lists the registered ones.
    """
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(
            f"unknown family {name!r}; the registered families are {sorted(FAMILIES)}"
        ) from None
