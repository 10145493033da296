"""Sphinx configuration of mixtura's documentation site.

Build it from the repository root (``pip install -e ".[docs]"`` first)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
    sphinx-build -W -D plot_gallery=0 -b doctest docs docs/_build/doctest

The API pages (``docs/api/*.rst``) are written here, at every build, from the
``__all__`` of each public module, so a new public name gets its page without an
edit to the docs; the gallery (``docs/auto_examples``) is made from ``examples/``
by sphinx-gallery, running each example and keeping its figures.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import mixtura  # noqa: E402

project = "mixtura"
author = "The mixtura developers"
copyright = "The mixtura developers"
release = mixtura.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_click",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
]
# architecture.md's headings are linked to from the pages
myst_heading_anchors = 3

# -- autodoc / autosummary / numpydoc ------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
autodoc_inherit_docstrings = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# scikit-learn's mixins' methods (get_params, set_params, metadata routing) are
# left to scikit-learn's documentation: the class template's inherited-members
# stops at them, and _skip_sklearn_members drops the rest

# -- doctest -----------------------------------------------------------------------
doctest_global_setup = """
import numpy as np
np.set_printoptions(legacy=False)
import warnings
from mixtura.exceptions import ConvergenceWarning
warnings.simplefilter("ignore", ConvergenceWarning)
"""
doctest_default_flags = (
    doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.DONT_ACCEPT_TRUE_FOR_1
)

# -- sphinx-gallery ------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "show_memory": False,
    "write_computation_times": True,
    "reset_modules": ("matplotlib",),
}

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"mixtura {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False

# -- API pages from __all__ ----------------------------------------------------------
#: the modules of the API reference, in order, and one line on each
API_MODULES = {
    "mixtura": "The top-level names: estimators, model files, selection, errors.",
    "mixtura.estimators": "The estimators' base class and registries.",
    "mixtura.families": "Component families, their registry and covariance structures.",
    "mixtura.selection": "Model selection over models and numbers of components.",
    "mixtura.io": "Safe model files (JSON plus NumPy arrays).",
    "mixtura.plotting": "Plots of fitted mixtures and selection tables (matplotlib).",
    "mixtura.datasets": "Bundled data sets.",
    "mixtura.streams": "Out-of-core streams of row chunks.",
}
#: names left out of autosummary, with the reason (none at present)
API_EXCLUDE: dict[str, str] = {}


def _kind(obj):
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return "exception"
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "data"


def write_api_pages(app=None):
    api = HERE / "api"
    api.mkdir(exist_ok=True)
    seen: dict[int, str] = {}
    index = [
        "API reference",
        "=============",
        "",
        "Generated from the docstrings of each module's public names (``__all__``).",
        "",
    ]
    toctree = [".. toctree::", "   :hidden:", ""]
    for module_name, blurb in API_MODULES.items():
        module = importlib.import_module(module_name)
        index.append(f"- :doc:`{module_name}`: {blurb}")
        toctree.append(f"   {module_name}")
        groups: dict[str, list[str]] = {}
        elsewhere: list[str] = []
        for name in module.__all__:
            if name.startswith("__") or f"{module_name}.{name}" in API_EXCLUDE:
                continue
            obj = getattr(module, name)
            if _kind(obj) != "data" and id(obj) in seen:
                elsewhere.append(seen[id(obj)])
                continue
            if _kind(obj) != "data":
                seen[id(obj)] = f"{module_name}.{name}"
            groups.setdefault(_kind(obj), []).append(name)
        lines = [
            module_name,
            "=" * len(module_name),
            "",
            f".. automodule:: {module_name}",
            "   :no-members:",
            "",
            f".. currentmodule:: {module_name}",
            "",
        ]
        titles = {
            "class": "Classes",
            "function": "Functions",
            "exception": "Exceptions and warnings",
            "data": "Constants and registries",
        }
        for kind in ("class", "function", "exception", "data"):
            names = groups.get(kind)
            if not names:
                continue
            template = {
                "class": "autosummary/class.rst",
                "exception": "autosummary/class.rst",
                "data": "autosummary/data.rst",
            }.get(kind, "autosummary/base.rst")
            lines += [
                titles[kind],
                "-" * len(titles[kind]),
                "",
                ".. autosummary::",
                "   :toctree: generated",
                f"   :template: {template}",
                "",
                *(f"   {name}" for name in names),
                "",
            ]
        if elsewhere:
            lines += [
                "Also here",
                "---------",
                "",
                "Documented under their shorter names:",
                "",
                ".. autosummary::",
                "",
                *(f"   ~{target}" for target in elsewhere),
                "",
            ]
        text = "\n".join(lines)
        path = api / f"{module_name}.rst"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    text = "\n".join([*index, "", *toctree]) + "\n"
    path = api / "index.rst"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


write_api_pages()

warnings.filterwarnings(
    "ignore", message="Matplotlib is currently using agg", category=UserWarning
)


_SKLEARN_REQUEST = re.compile(r"^(set_\w+_request|get_metadata_routing)$")


def _skip_sklearn_members(app, what, name, obj, skip, options):
    """Leave scikit-learn's metadata-routing methods to scikit-learn's docs."""
    if _SKLEARN_REQUEST.match(name):
        return True
    if str(getattr(obj, "__module__", "") or "").startswith("sklearn."):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_members)
