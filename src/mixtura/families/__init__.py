"""Component families and their registry.

A new family joins the library, the model files and the generic family tests by
subclassing :class:`~mixtura.families.base.Family` and calling
:func:`register_family` on it.
"""

from mixtura.families.base import Family
from mixtura.families.bernoulli import Bernoulli
from mixtura.families.categorical import Categorical
from mixtura.families.covariance import COVARIANCE_STRUCTURES, get_covariance_structure
from mixtura.families.dirichlet_multinomial import DirichletMultinomial
from mixtura.families.gaussian import Gaussian
from mixtura.families.mclust import MCLUST_STRUCTURES
from mixtura.families.multinomial import Multinomial
from mixtura.families.noise import WithNoise
from mixtura.families.poisson import Poisson
from mixtura.families.product import Product

# mclust's models join the covariance registry before any estimator reads it
COVARIANCE_STRUCTURES.update(MCLUST_STRUCTURES)

__all__ = [
    "COVARIANCE_STRUCTURES",
    "FAMILIES",
    "Bernoulli",
    "Categorical",
    "DirichletMultinomial",
    "Family",
    "Gaussian",
    "Multinomial",
    "Poisson",
    "Product",
    "WithNoise",
    "get_covariance_structure",
    "get_family",
    "register_family",
]

FAMILIES: dict[str, type[Family]] = {}


def register_family(cls):
    """Add a family class to the registry under ``cls.name``; usable as a decorator."""
    FAMILIES[cls.name] = cls
    return cls


def get_family(name):
    """Return the registered family class called ``name``.

    Raises
    ------
    ValueError
        If no family has that name; the message lists the registered ones.
    """
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(
            f"unknown family {name!r}; the registered families are {sorted(FAMILIES)}"
        ) from None


register_family(Gaussian)
register_family(Bernoulli)
register_family(Categorical)
register_family(Poisson)
register_family(Product)
register_family(Multinomial)
register_family(DirichletMultinomial)
register_family(WithNoise)
