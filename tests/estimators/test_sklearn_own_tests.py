"""scikit-learn's own public mixture tests, run against mixtura's classes.

At test time the installed scikit-learn's ``sklearn/mixture/tests`` files are
copied into a temporary folder, their imports of the public estimators pointed at
mixtura, and the tests that use only public names (no private helper, no private
attribute) run there in a subprocess. No scikit-learn code is kept in this
repository; the selection is made from the installed version's own source.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sklearn

SOURCE = Path(sklearn.__file__).parent / "mixture" / "tests"
FILES = ("test_gaussian_mixture.py", "test_bayesian_mixture.py", "test_mixture.py")

# scikit-learn's conftest gives its tests ``global_random_seed`` (42 unless
# SKLEARN_TESTS_GLOBAL_RANDOM_SEED says otherwise) and ``global_dtype`` (float64,
# and float32 too where SKLEARN_RUN_FLOAT32_TESTS is set: here always both);
# the copies get fixtures of their own with that meaning
CONFTEST = """
import os

import numpy as np
import pytest


@pytest.fixture
def global_random_seed():
    return int(os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", "42"))


@pytest.fixture(params=[np.float64, np.float32])
def global_dtype(request):
    return request.param
"""

# Tests whose expectation mixtura declines on purpose, with the reason; each has
# a test below that checks the reason still holds for the installed version.
DECLINED = {
    "test_gaussian_mixture.py::test_check_weights": (
        "scikit-learn's out-of-range message swaps its labels ('max value' shows "
        "the minimum); mixtura's keeps the wording but labels them correctly"
    ),
    "test_gaussian_mixture.py::test_regularisation": (
        "with reg_covar=0 scikit-learn raises on clusters of zero variance; "
        "mixtura recovers by default (on_degenerate='reseed' escalates to a "
        "stronger regularisation, issue 19) and raises the same message with "
        "on_degenerate='raise'"
    ),
}


def _private_import_names(tree):
    """Private helpers of scikit-learn's mixtures that a test imports.

    Names from ``sklearn.mixture._gaussian_mixture`` and the like; scikit-learn's
    testing utilities (``sklearn.utils._testing``) are assertions, not internals.
    """
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[:2] == ["sklearn", "mixture"] and any(
                part.startswith("_") for part in parts
            ):
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def _uses_private(function, private_names):
    """Whether a test touches a private helper or a private attribute."""
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id in private_names:
            return True
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not (node.attr.startswith("__") and node.attr.endswith("__"))
        ):
            return True
    return False


def _public_tests(source):
    """Names of the module's test functions that use only public names."""
    tree = ast.parse(source)
    private_names = _private_import_names(tree)
    # helpers of the module (e.g. RandomData) count through the tests that use
    # them: a helper that touches private names taints its callers
    helpers = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
        and not node.name.startswith("test")
        and _uses_private(node, private_names)
    }
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("test")
        and not _uses_private(node, private_names | helpers)
        and "array_api" not in node.name
    ]


def _pointed_at_mixtura(source):
    """The module's source with its public estimator imports taken from mixtura."""
    source = re.sub(
        r"^from sklearn\.mixture import (.*)$",
        lambda match: "from mixtura import " + match.group(1),
        source,
        flags=re.MULTILINE,
    )
    return source.replace(
        "from sklearn.mixture.tests.test_gaussian_mixture import",
        "from test_gaussian_mixture import",
    )


@pytest.fixture(scope="module")
def copied_tests(tmp_path_factory):
    if not SOURCE.is_dir():
        pytest.skip("this scikit-learn install ships no mixture tests")
    folder = tmp_path_factory.mktemp("sklearn_mixture_tests")
    (folder / "conftest.py").write_text(CONFTEST)
    selected = []
    for name in FILES:
        source = (SOURCE / name).read_text()
        (folder / name).write_text(_pointed_at_mixtura(source))
        selected += [f"{name}::{test}" for test in _public_tests(source)]
    return folder, [test for test in selected if test not in DECLINED]


def test_scikit_learn_public_mixture_tests_pass_against_mixtura(copied_tests):
    folder, selected = copied_tests
    assert len(selected) > 30  # the selection found scikit-learn's tests
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(folder),
            "-o",
            "addopts=",
            "-W",
            "default",
            *selected,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout[-4000:]
    assert result.returncode == 0, summary
    closing = result.stdout.strip().splitlines()[-1]
    assert re.match(r"\d+ passed", closing), summary
    assert not re.search(r"\d+ (failed|error)", closing), summary


def test_declined_weights_message_is_still_mislabelled_in_scikit_learn():
    # if scikit-learn labels its minimum and maximum correctly one day, its
    # test_check_weights no longer needs declining: this test then says so
    import numpy as np
    from sklearn.mixture import GaussianMixture as SklearnMixture

    X = np.random.RandomState(0).normal(size=(20, 2))
    weights = np.array([1.2, 1.9])
    with pytest.raises(ValueError, match=r"max value 1\.20000, min value 1\.90000"):
        SklearnMixture(2, weights_init=weights).fit(X)
    import mixtura

    with pytest.raises(ValueError, match=r"min value 1\.20000 and max value 1\.9"):
        mixtura.GaussianMixture(2, weights_init=weights).fit(X)


def test_declined_regularisation_error_is_raised_on_request():
    # scikit-learn's test_regularisation data: two points, five copies each,
    # ten components without regularisation
    import warnings

    import numpy as np
    from sklearn.mixture import GaussianMixture as SklearnMixture

    import mixtura

    X = np.vstack((np.ones((5, 5)), np.zeros((5, 5))))
    message = "ill-defined empirical covariance"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=message):
            SklearnMixture(10, reg_covar=0, random_state=0).fit(X)
    with pytest.raises(ValueError, match=message):
        mixtura.GaussianMixture(
            10, reg_covar=0, random_state=0, on_degenerate="raise"
        ).fit(X)
    with pytest.warns(mixtura.ConvergenceWarning, match="fit_events_"):
        recovered = mixtura.GaussianMixture(10, reg_covar=0, random_state=0).fit(X)
    assert np.isfinite(recovered.lower_bound_)
