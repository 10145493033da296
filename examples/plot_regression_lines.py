"""
A mixture of regressions: two crossing lines
============================================

Half of the points follow ``y = 1.5 x + 1``, the other half ``y = -x + 0.5``,
with no label saying which. One least-squares line through all of them fits
neither; :class:`mixtura.MixtureRegression` fits two lines and the weight of
each, by EM (each point's membership is its posterior given ``x`` *and* ``y``).
"""

import matplotlib.pyplot as plt
import numpy as np

from mixtura import MixtureRegression

rng = np.random.RandomState(0)
x = rng.uniform(-3, 3, size=(300, 1))
first = rng.rand(300) < 0.5
y = np.where(first, 1.5 * x[:, 0] + 1, -x[:, 0] + 0.5) + 0.3 * rng.randn(300)

model = MixtureRegression(n_components=2, n_init=3, random_state=0).fit(x, y)
for k in range(2):
    print(
        f"line {k}: y = {model.coef_[k, 0]:+.2f} x {model.intercept_[k]:+.2f}"
        f"  (weight {model.weights_[k]:.2f})"
    )

# %%
# The points coloured by their most probable line (``predict_proba(x, y)``:
# the posterior of each line given the point), with the fitted lines and the
# single least-squares line for comparison.

membership = model.predict_proba(x, y).argmax(axis=1)
grid = np.linspace(-3, 3, 50)
fig, ax = plt.subplots(figsize=(6, 4.5))
ax.scatter(x[:, 0], y, c=membership, cmap="coolwarm", s=12, alpha=0.7)
for k in range(2):
    ax.plot(
        grid,
        model.coef_[k, 0] * grid + model.intercept_[k],
        lw=2,
        label=f"component {k}",
    )
slope, intercept = np.polyfit(x[:, 0], y, 1)
ax.plot(grid, slope * grid + intercept, "k--", lw=1, label="one least-squares line")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend()
plt.show()
