"""The shared parameter descriptions fill every public docstring."""

import inspect

import pytest

import mixtura
from mixtura.estimators._docstrings import (
    SHARED_PARAMETERS,
    fill_shared_parameters,
)


def _public_objects():
    for name in dir(mixtura):
        obj = getattr(mixtura, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__doc__:
            yield name, obj


def test_no_public_docstring_keeps_a_placeholder():
    for name, obj in _public_objects():
        assert "{{shared" not in obj.__doc__, name


def test_a_placeholder_takes_the_entries_in_order_at_its_indentation():
    filled = fill_shared_parameters("    Parameters\n    {{shared: tol verbose}}\n")
    expected_tol = "\n".join(
        "    " + line for line in SHARED_PARAMETERS["tol"].split("\n")
    )
    assert filled.startswith("    Parameters\n" + expected_tol + "\n    verbose : ")


def test_an_unknown_name_is_an_error():
    with pytest.raises(KeyError, match="no_such_parameter"):
        fill_shared_parameters("    {{shared: tol no_such_parameter}}")
