"""mixtura: mixture models for Python.

Finite mixtures of many component families, fitted by EM, with scikit-learn's
estimator API, safe model files and a command line. Start with
:class:`GaussianMixture`; see :mod:`mixtura.families` for the component families
and :mod:`mixtura.inference` for the fit loop.
"""

from mixtura import _io_pipeline  # registers the Pipeline model files  # noqa: F401
from mixtura._version import __version__
from mixtura.estimators import (
    BayesianGaussianMixture,
    BayesianMixture,
    BernoulliMixture,
    CategoricalMixture,
    DirichletMultinomialMixture,
    DirichletProcessMixture,
    GaussianMixture,
    GaussianMixtureRegression,
    MixtureModel,
    MixtureOfExperts,
    MixtureRegression,
    MultinomialMixture,
    PoissonMixture,
    StudentMixture,
    TabularMixture,
    VonMisesFisherMixture,
)
from mixtura.estimators.discriminant import MixtureDiscriminantAnalysis
from mixtura.exceptions import (
    ConvergenceWarning,
    DataTypeError,
    DataValidationError,
    EmptyComponentError,
    MixturaError,
    ModelFileError,
    SingularCovarianceError,
)
from mixtura.io import load, save
from mixtura.mixture import Mixture
from mixtura.selection import select

__all__ = [
    "BayesianGaussianMixture",
    "BayesianMixture",
    "BernoulliMixture",
    "CategoricalMixture",
    "ConvergenceWarning",
    "DataTypeError",
    "DataValidationError",
    "DirichletMultinomialMixture",
    "DirichletProcessMixture",
    "EmptyComponentError",
    "GaussianMixture",
    "GaussianMixtureRegression",
    "MixturaError",
    "Mixture",
    "MixtureDiscriminantAnalysis",
    "MixtureModel",
    "MixtureOfExperts",
    "MixtureRegression",
    "ModelFileError",
    "MultinomialMixture",
    "PoissonMixture",
    "SingularCovarianceError",
    "StudentMixture",
    "TabularMixture",
    "VonMisesFisherMixture",
    "__version__",
    "load",
    "save",
    "select",
]
