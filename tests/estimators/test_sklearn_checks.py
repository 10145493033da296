"""scikit-learn's estimator checks for every registered mixtura estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from mixtura.estimators import ESTIMATORS

# Small settings per class so that the checks run quickly; they are the defaults
# otherwise.
CHECK_SETTINGS = {
    "GaussianMixture": {"n_components": 1, "random_state": 0},
    # the checks draw real-valued data; thresholding makes it binary
    "BernoulliMixture": {"binarize": 0.0},
    # a short chain keeps the checks fast; they test the API, not mixing
    "DirichletProcessMixture": {"n_iter": 10, "random_state": 0},
    # count data (the checks draw counts for positive_only estimators)
    "BayesianMixture": {"family": "poisson", "random_state": 0},
    # the checks draw rows of any length; the family models unit rows
    "VonMisesFisherMixture": {"normalize": True},
}

# Checks whose data no setting can bring into the family's support, by class.
_NOT_IN_SUPPORT = (
    "draws real-valued data with no regard to the input tags; the family "
    "refuses values outside its support"
)
EXPECTED_FAILED_CHECKS = {
    "CategoricalMixture": {
        "check_sample_weight_equivalence_on_dense_data": _NOT_IN_SUPPORT
    },
    "PoissonMixture": {
        "check_sample_weight_equivalence_on_dense_data": _NOT_IN_SUPPORT
    },
    "BayesianMixture": {
        "check_sample_weight_equivalence_on_dense_data": _NOT_IN_SUPPORT
    },
}
# The sparse-input checks take any estimator with predict_proba for a classifier
# (they expect 2 or 4 columns of class probabilities), whatever n_components is.
_SPARSE_CHECKS_ASSUME_A_CLASSIFIER = (
    "sklearn's sparse check expects classifier-shaped predict_proba output"
)
EXPECTED_FAILED_CHECKS["VonMisesFisherMixture"] = {
    "check_estimators_dtypes": "its integer data hold a row of zeros, which has no "
    "direction; the family refuses it, naming the row"
}
# sparse binary data (issue 18): fitted and predicted sparse, which the checks
# then read as a classifier's output
EXPECTED_FAILED_CHECKS["BernoulliMixture"] = {
    "check_estimator_sparse_array": _SPARSE_CHECKS_ASSUME_A_CLASSIFIER,
    "check_estimator_sparse_matrix": _SPARSE_CHECKS_ASSUME_A_CLASSIFIER,
}
for _name in ("MultinomialMixture", "DirichletMultinomialMixture"):
    EXPECTED_FAILED_CHECKS[_name] = {
        "check_sample_weight_equivalence_on_dense_data": _NOT_IN_SUPPORT,
        "check_sample_weight_equivalence_on_sparse_data": _NOT_IN_SUPPORT,
        "check_estimator_sparse_array": _SPARSE_CHECKS_ASSUME_A_CLASSIFIER,
        "check_estimator_sparse_matrix": _SPARSE_CHECKS_ASSUME_A_CLASSIFIER,
    }


def _instances():
    return [cls(**CHECK_SETTINGS.get(name, {})) for name, cls in ESTIMATORS.items()]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(_instances(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
