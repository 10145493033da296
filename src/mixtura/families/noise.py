"""A noise component: K components of any family plus one uniform density 1/V.

Banfield & Raftery (1993) model clutter, outliers and background points as a
Poisson process over the data's region: a mixture of K clusters and one
component of constant density ``1 / V``, where ``V`` is the region's
hypervolume. Fraley & Raftery (1998, 2002) use it in mclust
(``initialization = list(noise = ...)``, ``Vinv = 1 / V``). :class:`WithNoise`
wraps any family: it adds the constant column ``-log V`` to the inner family's
log densities, passes the first K responsibility columns to the inner family's
statistics and M-step, and keeps the region fixed. The mixture's weights then
hold K + 1 entries, the noise proportion last (as mclust's ``pro``).

The region is a box, possibly rotated: :func:`data_region` takes mclust's
``hypvol``, the smaller of the bounding box of the data and the bounding box of
its principal-component scores. A region of a given volume is that box scaled
about its centre.

References
----------
Banfield, J. D. & Raftery, A. E. (1993). Model-based Gaussian and non-Gaussian
clustering. Biometrics 49, 803-821.
Fraley, C. & Raftery, A. E. (1998). How many clusters? Which clustering method?
Answers via model-based cluster analysis. The Computer Journal 41, 578-588.
Fraley, C. & Raftery, A. E. (2002). Model-based clustering, discriminant analysis,
and density estimation. Journal of the American Statistical Association 97,
611-631.
"""

from __future__ import annotations

import numpy as np

from mixtura.backend import get_namespace, to_numpy
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families.base import Family
from mixtura.families.registry import get_family
from mixtura.stats import Stats

__all__ = ["NoiseRegion", "NoiseStats", "WithNoise", "data_region"]


class NoiseRegion:
    """A box in rotated coordinates: ``{R u : lower <= u <= upper}``.

    Parameters
    ----------
    rotation : array-like of shape (n_features, n_features)
        Orthogonal matrix R whose columns are the box's axes.
    lower, upper : array-like of shape (n_features,)
        The box's bounds along those axes, ``upper > lower``.
    """

    def __init__(self, rotation, lower, upper):
        self.rotation = np.asarray(rotation, dtype=np.float64)
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        d = self.lower.shape[0] if self.lower.ndim == 1 else -1
        if (
            d < 1
            or self.upper.shape != (d,)
            or self.rotation.shape != (d, d)
            or not np.isfinite(self.rotation).all()
        ):
            raise ValueError(
                "a noise region needs lower and upper bounds of shape (n_features,) "
                "and a rotation of shape (n_features, n_features); got shapes "
                f"{self.lower.shape}, {self.upper.shape} and {self.rotation.shape}."
            )
        if not (np.isfinite(self.lower).all() and np.isfinite(self.upper).all()):
            raise ValueError("the noise region's bounds must be finite.")
        if not (self.upper > self.lower).all():
            axis = int(np.flatnonzero(~(self.upper > self.lower))[0])
            raise DataValidationError(
                f"the noise region has zero width along axis {axis} (the data are "
                "flat there, e.g. a constant column), so its volume is 0 and the "
                "noise density infinite; drop that column or project the data."
            )
        if not np.allclose(self.rotation.T @ self.rotation, np.eye(d), atol=1e-8):
            raise ValueError("the noise region's rotation must be orthogonal.")

    @property
    def log_volume(self):
        """Log hypervolume, ``sum_j log(upper_j - lower_j)``."""
        return float(np.sum(np.log(self.upper - self.lower)))

    def with_volume(self, volume):
        """The same box scaled about its centre to hypervolume ``volume``.

        Parameters
        ----------
        volume : float
            Positive hypervolume.

        Returns
        -------
        region : NoiseRegion
        """
        factor = np.exp((np.log(volume) - self.log_volume) / self.lower.shape[0])
        centre = (self.lower + self.upper) / 2
        half = (self.upper - self.lower) / 2 * factor
        return NoiseRegion(self.rotation, centre - half, centre + half)

    def sample(self, n_samples, random_state):
        """Uniform draws in the box.

        Parameters
        ----------
        n_samples : int
        random_state : RandomState

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        u = random_state.uniform(self.lower, self.upper, (n_samples, len(self.lower)))
        return u @ self.rotation.T


def _log_ranges(Z):
    return float(np.sum(np.log(np.ptp(Z, axis=0))))


def data_region(X):
    """The data's region as mclust's ``hypvol`` defines it.

    mclust takes the smaller of two volumes: the bounding box of the columns and
    the bounding box of the principal-component scores (``princomp``). The
    returned box is the one of smaller volume.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.

    Returns
    -------
    region : NoiseRegion
        Its ``log_volume`` is ``log(hypvol(X))``.

    Raises
    ------
    DataValidationError
        If the region has zero volume (a constant column or flat data).
    """
    X = np.asarray(to_numpy(X), dtype=np.float64)
    d = X.shape[1]
    mean = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    rotation = vt.T if vt.shape[0] == d else np.eye(d)
    with np.errstate(divide="ignore"):
        box_log, pc_log = _log_ranges(X), _log_ranges(X @ rotation)
    if pc_log < box_log:  # mclust: min(bdvolog, pcvolog)
        scores = X @ rotation
        return NoiseRegion(rotation, scores.min(axis=0), scores.max(axis=0))
    return NoiseRegion(np.eye(d), X.min(axis=0), X.max(axis=0))


class NoiseStats(Stats):
    """The inner family's statistics plus the noise component's weight.

    Parameters
    ----------
    inner : Stats
        Statistics of the K inner components.
    noise_sum : array-like of shape (1,)
        Sum of the (sample-weighted) noise responsibilities.
    """

    def __init__(self, inner, noise_sum):
        self.inner = inner
        self.noise_sum = np.asarray(noise_sum, dtype=np.float64).reshape(1)

    @property
    def resp_sum(self):
        """Responsibility sums of shape (K + 1,), the noise last."""
        return np.concatenate([self.inner.resp_sum, self.noise_sum])

    def __add__(self, other):
        if not isinstance(other, NoiseStats):
            return NotImplemented
        return NoiseStats(self.inner + other.inner, self.noise_sum + other.noise_sum)

    def scale(self, factor):
        return NoiseStats(self.inner.scale(factor), self.noise_sum * factor)

    def __repr__(self):
        return f"NoiseStats({self.inner!r}, noise_sum={float(self.noise_sum[0]):.6g})"


class WithNoise(Family):
    """K components of an inner family plus one uniform noise component.

    Component ``K`` (the last) has density ``1 / V`` everywhere, ``V`` the
    volume of :attr:`region` (Banfield & Raftery 1993). As in mclust the density
    is this constant also outside the region; the region serves sampling.

    Parameters
    ----------
    inner : Family
        The K clusters' family (a template or with parameters).
    region : NoiseRegion, optional
        The noise component's region; omitted only for a template that is never
        maximised (e.g. to compare configurations).

    Attributes
    ----------
    log_volume : float
        ``log V``; the noise column of :meth:`log_prob` is ``-log_volume``.
    """

    name = "with_noise"

    def __init__(self, inner, region=None):
        if isinstance(inner, WithNoise):
            raise ValueError("a family with noise cannot take a second noise.")
        self.inner = inner
        self.region = region
        self.statistics_depend_on_parameters = inner.statistics_depend_on_parameters

    @property
    def log_volume(self):
        """``log V``, the log hypervolume of the region."""
        self._require_region()
        return self.region.log_volume

    def _require_region(self):
        if self.region is None:
            raise ValueError(
                "this noise family is a template without a region; build it with "
                "WithNoise(inner, data_region(X)) before fitting."
            )

    def check_data(self, X):
        return self.inner.check_data(X)

    def init_features(self, X):
        return self.inner.init_features(X)

    @property
    def n_components(self):
        return self.inner.n_components + 1

    @property
    def n_features(self):
        return self.inner.n_features

    def log_prob(self, X):
        """Inner log densities with the noise column ``-log V`` appended.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
            ``n_components = K + 1``, the noise last.
        """
        inner = self.inner.log_prob(X)
        xp = get_namespace(inner)
        # the inner columns' dtype and device
        noise = xp.zeros_like(inner[:, :1]) - self.log_volume
        return xp.concat([inner, noise], axis=1)

    def statistics(self, X, resp, sample_weight=None):
        """Inner statistics from the first K columns, plus the noise weight.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, K + 1)
        sample_weight : array of shape (n_samples,) or None

        Returns
        -------
        stats : NoiseStats
        """
        inner = self.inner.statistics(X, resp[:, :-1], sample_weight)
        noise = resp[:, -1]
        if sample_weight is not None:
            noise = noise * sample_weight
        xp = get_namespace(noise)
        return NoiseStats(inner, float(to_numpy(xp.sum(noise))))

    def maximize(self, stats, *args, **kwargs):
        """M-step of the inner family; the region stays as it is.

        Parameters
        ----------
        stats : NoiseStats
        *args, **kwargs
            Passed to the inner family's ``maximize`` (e.g. a prior).

        Returns
        -------
        family : WithNoise
        """
        self._require_region()
        return WithNoise(self.inner.maximize(stats.inner, *args, **kwargs), self.region)

    def sample(self, labels, random_state):
        """Draw from component ``labels[i]``; label K draws uniformly in the region.

        Parameters
        ----------
        labels : ndarray of shape (n_samples,)
        random_state : RandomState

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        self._require_region()
        labels = np.asarray(labels)
        noise = labels == self.inner.n_components
        X = np.empty((labels.shape[0], self.n_features))
        if (~noise).any():
            X[~noise] = self.inner.sample(labels[~noise], random_state)
        X[noise] = self.region.sample(int(noise.sum()), random_state)
        return X

    def n_parameters(self):
        """The inner family's parameters plus one for the volume.

        The noise weight is counted with the mixture's K + 1 weights; mclust also
        counts ``V`` (estimated from the data), ``nMclustParams(..., noise =
        TRUE)`` adds 2 to the Gaussian mixture's count, and so does this.

        Returns
        -------
        n_parameters : int
        """
        return self.inner.n_parameters() + 1

    def config(self):
        return {"inner": {"name": self.inner.name, "config": self.inner.config()}}

    def arrays(self):
        self._require_region()
        arrays = {f"inner_{name}": value for name, value in self.inner.arrays().items()}
        arrays["noise_rotation"] = self.region.rotation
        arrays["noise_lower"] = self.region.lower
        arrays["noise_upper"] = self.region.upper
        return arrays

    @classmethod
    def from_arrays(cls, config, arrays):
        spec = config.get("inner") if isinstance(config, dict) else None
        if not isinstance(spec, dict) or set(spec) != {"name", "config"}:
            raise ModelFileError(
                "a noise family's config needs 'inner' with keys name and config"
            )
        if spec["name"] == cls.name:
            raise ModelFileError("a noise family cannot wrap another noise family")
        try:
            inner_cls = get_family(spec["name"])
        except ValueError as error:
            raise ModelFileError(str(error)) from None
        names = ("noise_rotation", "noise_lower", "noise_upper")
        missing = [name for name in names if name not in arrays]
        if missing:
            raise ModelFileError(f"the noise family's arrays lack {missing}")
        inner = inner_cls.from_arrays(
            spec["config"],
            {
                name.removeprefix("inner_"): value
                for name, value in arrays.items()
                if name.startswith("inner_")
            },
        )
        try:
            region = NoiseRegion(*(arrays[name] for name in names))
        except ValueError as error:
            raise ModelFileError(f"invalid noise region: {error}") from None
        if region.lower.shape[0] != inner.n_features:
            raise ModelFileError(
                f"the noise region has {region.lower.shape[0]} features and the "
                f"components {inner.n_features}"
            )
        return cls(inner, region)

    def __repr__(self):
        volume = (
            "template" if self.region is None else f"log_volume={self.log_volume:.4g}"
        )
        return f"WithNoise({self.inner!r}, {volume})"
