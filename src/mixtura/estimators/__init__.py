"""scikit-learn estimators over mixtura's families and inference, and their registry.

The registry lets model files, the CLI and the generic tests find every estimator by
class name; a new estimator joins with :func:`register_estimator`.
"""

from mixtura.estimators.base import BaseMixture
from mixtura.estimators.bayesian import BayesianGaussianMixture
from mixtura.estimators.bayesian_mixture import BayesianMixture
from mixtura.estimators.dirichlet_process import DirichletProcessMixture
from mixtura.estimators.discrete import (
    BernoulliMixture,
    CategoricalMixture,
    PoissonMixture,
)
from mixtura.estimators.gaussian import GaussianMixture
from mixtura.estimators.gaussian_regression import GaussianMixtureRegression
from mixtura.estimators.mixture_model import MixtureModel
from mixtura.estimators.regression import MixtureOfExperts, MixtureRegression
from mixtura.estimators.student import StudentMixture
from mixtura.estimators.tabular import TabularMixture
from mixtura.estimators.text import DirichletMultinomialMixture, MultinomialMixture
from mixtura.estimators.von_mises_fisher import VonMisesFisherMixture

__all__ = [
    "COMPOSITE_ESTIMATORS",
    "CONDITIONAL_ESTIMATORS",
    "ESTIMATORS",
    "BaseMixture",
    "BayesianGaussianMixture",
    "BayesianMixture",
    "BernoulliMixture",
    "CategoricalMixture",
    "DirichletMultinomialMixture",
    "DirichletProcessMixture",
    "GaussianMixture",
    "GaussianMixtureRegression",
    "MixtureModel",
    "MixtureOfExperts",
    "MixtureRegression",
    "MultinomialMixture",
    "PoissonMixture",
    "StudentMixture",
    "TabularMixture",
    "VonMisesFisherMixture",
    "register_composite_estimator",
    "register_conditional_estimator",
    "register_estimator",
]

ESTIMATORS: dict[str, type[BaseMixture]] = {}


def register_estimator(cls):
    """Add an estimator class to the registry under its class name."""
    ESTIMATORS[cls.__name__] = cls
    return cls


#: estimators of a response given inputs (``fit(X, y)``: mixtures of
#: regressions and of experts, :mod:`mixtura.estimators.regression`): model
#: files store them as the mixture estimators, their fitted mixture of a
#: conditional family; apart from :data:`ESTIMATORS`, whose estimators the
#: generic tests, ``select`` and the CLI fit to X alone
CONDITIONAL_ESTIMATORS: dict[str, type] = {}


def register_conditional_estimator(cls):
    """Add a regression estimator class (see :data:`CONDITIONAL_ESTIMATORS`)."""
    CONDITIONAL_ESTIMATORS[cls.__name__] = cls
    return cls


#: estimators made of several fitted registered estimators (the mixture
#: discriminant classifier, :mod:`mixtura.estimators.discriminant`): model files
#: store them with their parts, and they register themselves when imported
COMPOSITE_ESTIMATORS: dict[str, type] = {}


def register_composite_estimator(cls):
    """Add a composite estimator class (see :data:`COMPOSITE_ESTIMATORS`)."""
    COMPOSITE_ESTIMATORS[cls.__name__] = cls
    return cls


register_estimator(GaussianMixture)
register_estimator(MixtureModel)
register_estimator(BayesianGaussianMixture)
register_estimator(BayesianMixture)
register_estimator(BernoulliMixture)
register_estimator(CategoricalMixture)
register_estimator(PoissonMixture)
register_estimator(TabularMixture)
register_estimator(StudentMixture)
register_estimator(MultinomialMixture)
register_estimator(DirichletMultinomialMixture)
register_estimator(DirichletProcessMixture)
register_estimator(VonMisesFisherMixture)
register_composite_estimator(GaussianMixtureRegression)
register_conditional_estimator(MixtureRegression)
register_conditional_estimator(MixtureOfExperts)
