"""mixtura: mixture models for Python.

Finite mixtures of many component families, fitted by EM, with scikit-learn's
estimator API, safe model files and a command line. Start with
:class:`GaussianMixture`; see :mod:`mixtura.families` for the component families
and :mod:`mixtura.inference` for the fit loop.
"""

from mixtura.estimators import GaussianMixture, MixtureModel
from mixtura.exceptions import (
    ConvergenceWarning,
    DataTypeError,
    DataValidationError,
    MixturaError,
    ModelFileError,
    SingularCovarianceError,
)
from mixtura.io import load, save
from mixtura.mixture import Mixture

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DataTypeError",
    "DataValidationError",
    "GaussianMixture",
    "MixturaError",
    "Mixture",
    "MixtureModel",
    "ModelFileError",
    "SingularCovarianceError",
    "__version__",
    "load",
    "save",
]
