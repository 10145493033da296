"""Conjugate priors: one class per prior, serving EM, variational Bayes and Gibbs.

See :mod:`mixtura.priors.base` for the interface. A family names its prior in
``Family.conjugate_prior`` and builds the default one from the data in
``Family.default_prior(X)``; a new conjugate family is one family file and one
prior file.

- :class:`~mixtura.priors.beta.Beta`: Bernoulli probabilities.
- :class:`~mixtura.priors.gamma.Gamma`: Poisson rates.
- :class:`~mixtura.priors.dirichlet.CategoricalDirichlet`: categorical levels.
- :class:`~mixtura.priors.dirichlet.MultinomialDirichlet`: multinomial terms.
- :class:`~mixtura.priors.weights.DirichletWeights` and
  :class:`~mixtura.priors.weights.DirichletProcessWeights`: the mixing weights.
"""

from mixtura.priors.base import ConjugatePrior
from mixtura.priors.beta import Beta
from mixtura.priors.dirichlet import CategoricalDirichlet, MultinomialDirichlet
from mixtura.priors.gamma import Gamma
from mixtura.priors.weights import (
    WEIGHT_PRIORS,
    DirichletProcessWeights,
    DirichletWeights,
    WeightPrior,
    weight_prior,
)

__all__ = [
    "WEIGHT_PRIORS",
    "Beta",
    "CategoricalDirichlet",
    "ConjugatePrior",
    "DirichletProcessWeights",
    "DirichletWeights",
    "Gamma",
    "MultinomialDirichlet",
    "WeightPrior",
    "weight_prior",
]
