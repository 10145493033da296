"""
Model selection on Old Faithful
===============================

How many clusters, and what shape? :func:`mixtura.select` fits one Gaussian
mixture per cell of a grid (covariance model x number of components ``K``), as
mclust's ``mclustBIC`` does, and returns a table of information criteria. Here
the grid is five of mclust's models (see :doc:`/user_guide/mclust`) and ``K``
from 1 to 6 on the 272 eruptions of the Old Faithful geyser.

BIC is ``-2 log L + p log n``, scikit-learn's sign: **lower is better**
(``table.value("mclust_bic", ...)`` gives mclust's ``-bic``, higher is better).
"""

import matplotlib.pyplot as plt

from mixtura import select
from mixtura.datasets import load_faithful
from mixtura.plotting import plot_mixture, plot_selection

X = load_faithful()
table = select(X, n_components=range(1, 7), models=["VVV", "EEE", "VVI", "EEI", "VII"])
print(table.to_text())

# %%
# Left: the criterion against ``K``, one line per model (zoomed in on the
# lowest values; VII, spherical components of variable size, lies far above).
# EEE (one covariance shared by all components, any orientation) with three
# components has the lowest BIC, with VVV (a covariance each) at two close
# behind. Right: the best fitted model, which the table keeps, with one- and
# two-sigma ellipses.

model, k = table.best("bic")
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
plot_selection(table, ax=left)
left.set_ylim(2290, 2480)
left.set_title("BIC of each model and K")
plot_mixture(table.best_model_, X, ax=right)
right.set_xlabel("eruption (minutes)")
right.set_ylabel("waiting (minutes)")
right.set_title(f"best by BIC: {model}, K = {k}")
fig.tight_layout()
plt.show()
