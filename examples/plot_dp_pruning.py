"""
A Dirichlet-process mixture prunes its components
=================================================

A variational Gaussian mixture with a Dirichlet-process prior on the weights
(:class:`mixtura.BayesianGaussianMixture`, scikit-learn's default prior type)
can be given more components than the data need: the weights of the unneeded
ones shrink towards zero. :meth:`~mixtura.BayesianGaussianMixture.effective_components`
names those the data support and :meth:`~mixtura.BayesianGaussianMixture.prune`
returns a plain EM :class:`~mixtura.GaussianMixture` with only them.

Here: three clusters, a truncation at ten components.
"""

import matplotlib.pyplot as plt
import numpy as np

from mixtura import BayesianGaussianMixture, DirichletProcessMixture
from mixtura.plotting import plot_mixture

rng = np.random.default_rng(1)
X = np.vstack(
    [
        rng.normal([0, 0], 0.6, size=(150, 2)),
        rng.normal([4, 1], 0.8, size=(150, 2)),
        rng.normal([1, 5], 0.5, size=(100, 2)),
    ]
)
dp = BayesianGaussianMixture(
    n_components=10, weight_concentration_prior=0.1, max_iter=500, random_state=0
).fit(X)
kept = dp.effective_components()
print("weights:", np.round(dp.weights_, 3))
print("effective components:", kept)

pruned = dp.prune()
print(type(pruned).__name__, "with", pruned.n_components, "components")

# %%
# Left: the ten weights, in the fitted order (blue: kept). Right: the
# pruned model's components.

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
colors = ["tab:blue" if k in kept else "lightgray" for k in range(dp.n_components)]
left.bar(range(dp.n_components), dp.weights_, color=colors)
left.set_xlabel("component")
left.set_ylabel("weight")
left.set_title("Dirichlet-process weights")
plot_mixture(pruned, X, ax=right)
right.set_title(f"pruned: {pruned.n_components} components")
fig.tight_layout()
plt.show()

# %%
# The same question answered by sampling: :class:`mixtura.DirichletProcessMixture`
# runs collapsed Gibbs with split-merge moves, with no truncation at all, and
# records the number of clusters at each sweep; ``labels_`` is the sampled
# partition closest to the posterior similarity matrix.

gibbs = DirichletProcessMixture(n_iter=60, random_state=0).fit(X)
print("clusters in the summary partition (labels_):", gibbs.n_clusters_)
print("posterior of K = 1..5:", np.round(gibbs.n_clusters_posterior_[1:6], 2))
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(gibbs.n_clusters_trace_, drawstyle="steps-post")
ax.set_xlabel("Gibbs sweep")
ax.set_ylabel("number of clusters")
plt.show()
