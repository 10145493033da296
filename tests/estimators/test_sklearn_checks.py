"""scikit-learn's estimator checks for every registered mixtura estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from mixtura.estimators import ESTIMATORS

# Small settings per class so that the checks run quickly; they are the defaults
# otherwise.
CHECK_SETTINGS = {"GaussianMixture": {"n_components": 1, "random_state": 0}}


def _instances():
    return [cls(**CHECK_SETTINGS.get(name, {})) for name, cls in ESTIMATORS.items()]


@parametrize_with_checks(_instances())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
