"""Component families and their registry.

A new family joins the library, the model files and the generic family tests by
subclassing :class:`~mixtura.families.base.Family` and calling
:func:`register_family` on it.
"""

from mixtura.families.base import Family
from mixtura.families.bernoulli import Bernoulli
from mixtura.families.categorical import Categorical
from mixtura.families.covariance import COVARIANCE_STRUCTURES, get_covariance_structure
from mixtura.families.dirichlet import Dirichlet
from mixtura.families.dirichlet_multinomial import DirichletMultinomial
from mixtura.families.exponential import Exponential
from mixtura.families.gamma import GammaFamily
from mixtura.families.gaussian import Gaussian
from mixtura.families.linear_regression import GaussianRegression
from mixtura.families.logistic_regression import LogisticRegression
from mixtura.families.lognormal import LogNormal
from mixtura.families.mclust import MCLUST_STRUCTURES
from mixtura.families.multinomial import Multinomial
from mixtura.families.noise import WithNoise
from mixtura.families.poisson import Poisson
from mixtura.families.poisson_regression import PoissonRegression
from mixtura.families.product import Product
from mixtura.families.registry import FAMILIES, get_family, register_family
from mixtura.families.student import StudentT
from mixtura.families.von_mises_fisher import VonMisesFisher

# mclust's models join the covariance registry before any estimator reads it
COVARIANCE_STRUCTURES.update(MCLUST_STRUCTURES)

__all__ = [
    "COVARIANCE_STRUCTURES",
    "FAMILIES",
    "Bernoulli",
    "Categorical",
    "Dirichlet",
    "DirichletMultinomial",
    "Exponential",
    "Family",
    "GammaFamily",
    "Gaussian",
    "GaussianRegression",
    "LogNormal",
    "LogisticRegression",
    "Multinomial",
    "Poisson",
    "PoissonRegression",
    "Product",
    "StudentT",
    "VonMisesFisher",
    "WithNoise",
    "get_covariance_structure",
    "get_family",
    "register_family",
]

register_family(Gaussian)
register_family(Bernoulli)
register_family(Categorical)
register_family(Poisson)
register_family(Product)
register_family(Multinomial)
register_family(DirichletMultinomial)
register_family(WithNoise)
register_family(GammaFamily)
register_family(Exponential)
register_family(LogNormal)
register_family(VonMisesFisher)
register_family(Dirichlet)
register_family(StudentT)
# conditional families (experts of a mixture of regressions; rows are (x, y))
register_family(GaussianRegression)
register_family(LogisticRegression)
register_family(PoissonRegression)
