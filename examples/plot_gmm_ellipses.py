"""
Ellipses of a Gaussian mixture
==============================

The four covariance types that :class:`mixtura.GaussianMixture` shares with
scikit-learn, fitted to the same three elongated clusters:

- ``full``: each component its own covariance matrix;
- ``tied``: one covariance matrix shared by all components;
- ``diag``: each component a diagonal covariance (axis-aligned ellipses);
- ``spherical``: each component one variance (circles).

:func:`mixtura.plotting.plot_mixture` draws the data coloured by their most
probable component and each component's one- and two-sigma ellipses
(:func:`mixtura.plotting.component_covariance` gives the matrix it draws).
"""

import matplotlib.pyplot as plt
import numpy as np

from mixtura import GaussianMixture
from mixtura.plotting import plot_mixture

rng = np.random.default_rng(0)
stretch = np.array([[2.0, 0.0], [1.2, 0.4]])
X = np.vstack(
    [
        rng.standard_normal((200, 2)) @ stretch + [0, 0],
        rng.standard_normal((200, 2)) @ stretch + [5, 5],
        rng.standard_normal((200, 2)) @ (0.5 * np.eye(2)) + [6, -1],
    ]
)

fig, axes = plt.subplots(2, 2, figsize=(9, 8), sharex=True, sharey=True)
for ax, covariance_type in zip(
    axes.flat, ["full", "tied", "diag", "spherical"], strict=True
):
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    plot_mixture(gm, X, ax=ax)
    ax.set_title(f"{covariance_type}: BIC {gm.bic(X):.0f}")
fig.tight_layout()
plt.show()

# %%
# The full model has the lowest BIC here: the clusters differ in shape and
# orientation, which only it can follow. The same
# comparison over all of mclust's models is one call to :func:`mixtura.select`
# (see :ref:`sphx_glr_auto_examples_plot_faithful_selection.py`).
