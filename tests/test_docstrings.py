"""Docstrings of the public API follow numpydoc (scikit-learn's test_docstrings)."""

import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import mixtura  # noqa: E402

# The checks that matter to a reader: a summary, every parameter documented and no
# stale ones, a Returns section where something is returned.
CHECKED = {"GL08", "SS01", "PR01", "PR02", "PR03", "RT01"}


def _public_objects():
    for name in sorted(mixtura.__all__):
        obj = getattr(mixtura, name)
        if inspect.isclass(obj) and issubclass(obj, Warning | Exception):
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield f"mixtura.{name}"
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    yield f"mixtura.{name}.{attr}"
            for base in obj.__mro__[1:]:
                if base.__module__.startswith("mixtura"):
                    for attr, member in vars(base).items():
                        if not attr.startswith("_") and inspect.isfunction(member):
                            yield f"{base.__module__}.{base.__qualname__}.{attr}"


@pytest.mark.parametrize("import_path", sorted(set(_public_objects())))
def test_docstring(import_path):
    result = numpydoc_validate.validate(import_path)
    errors = [
        f"{code}: {message}" for code, message in result["errors"] if code in CHECKED
    ]
    assert not errors, "\n".join(errors)
