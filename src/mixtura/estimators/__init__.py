"""scikit-learn estimators over mixtura's families and inference, and their registry.

The registry lets model files, the CLI and the generic tests find every estimator by
class name; a new estimator joins with :func:`register_estimator`.
"""

from mixtura.estimators.base import BaseMixture
from mixtura.estimators.gaussian import GaussianMixture
from mixtura.estimators.mixture_model import MixtureModel

__all__ = [
    "ESTIMATORS",
    "BaseMixture",
    "GaussianMixture",
    "MixtureModel",
    "register_estimator",
]

ESTIMATORS: dict[str, type[BaseMixture]] = {}


def register_estimator(cls):
    """Add an estimator class to the registry under its class name."""
    ESTIMATORS[cls.__name__] = cls
    return cls


register_estimator(GaussianMixture)
register_estimator(MixtureModel)
