"""VonMisesFisherMixture: a mixture of von Mises-Fisher components, for directions.

A thin estimator over :class:`~mixtura.families.von_mises_fisher.VonMisesFisher`:
fitting, restarts, prediction, sampling, information criteria, streams and
Dask are :class:`~mixtura.estimators.base.BaseMixture`'s; this module names the
fitted attributes and the ``normalize`` option, and starts from spherical
k-means (:mod:`mixtura.inference.spherical`).
"""

from __future__ import annotations

import numpy as np

from mixtura.estimators._docstrings import fill_shared_parameters
from mixtura.estimators.base import BaseMixture
from mixtura.estimators.discrete import _FIT_INFO_DOC, _FamilyMixture
from mixtura.families import VonMisesFisher

__all__ = ["VonMisesFisherMixture"]


class VonMisesFisherMixture(_FamilyMixture):
    """Mixture of von Mises-Fisher components on the unit sphere (movMF's model).

    Component k has a mean direction ``mean_directions_[k]`` (a unit vector)
    and a concentration ``concentrations_[k]``; its density on the sphere is
    ``C_d(kappa) exp(kappa mu . x)`` (Banerjee et al. 2005). Fitted by EM:
    each M-step takes a component's direction from its weighted resultant and
    its concentration by Banerjee's approximation refined by Newton's steps
    (Sra 2012). For unit-normalised text vectors, embeddings and other data
    whose direction matters and length does not.

    Parameters
    ----------
    n_components : int, default=1
        Number of components.
    normalize : bool, default=False
        Divide every row by its Euclidean norm before fitting and predicting.
        False requires rows of unit length already (within ``sqrt(eps)`` of
        the data's dtype) and refuses others, naming them. Rows of zero norm
        have no direction and are refused either way.
    {{shared: tol max_iter n_init}}
    init_params : {'spherical-kmeans', 'spherical-k-means++', 'kmeans', \
            'k-means++', 'random', 'random_from_data'} or array-like of shape \
            (n_samples,), default='spherical-kmeans'
        How initial responsibilities are made: spherical k-means from
        spherical k-means++ seeds (clusters by cosine; Dhillon & Modha 2001,
        Endo & Miyamoto 2015), those seeds alone (each seed row wholly to its
        component), a Euclidean method on the unit rows, or integer labels of
        the training rows.
    {{shared: random_state warm_start verbose}}
    {{shared: verbose_interval callback progress chunk_size on_degenerate frozen}}"""

    __doc__ = fill_shared_parameters(__doc__) + (
        """

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    mean_directions_ : ndarray of shape (n_components, n_features)
        Mean directions, unit vectors.
    concentrations_ : ndarray of shape (n_components,)
        Concentrations ``kappa_k >= 0`` (0: the uniform distribution); capped
        at :data:`~mixtura.families.von_mises_fisher.MAX_CONCENTRATION` for a
        component whose rows coincide."""
        + _FIT_INFO_DOC
        + """

    Notes
    -----
    Densities (``score_samples``, ``score``) are with respect to the surface
    measure of the unit sphere, as ``scipy.stats.vonmises_fisher`` gives them.
    R's movMF gives them relative to the uniform distribution on the sphere:
    its log densities are these plus ``log(2 pi^(d/2) / Gamma(d/2))``
    (:func:`~mixtura.families.von_mises_fisher.log_sphere_area`). The number
    of free parameters (for BIC) is ``K (d - 1)`` for the directions, ``K``
    for the concentrations and ``K - 1`` for the weights. NaN (missing
    entries) is refused: a row with a missing coordinate has no known
    direction.

    References
    ----------
    Banerjee, A., Dhillon, I. S., Ghosh, J. & Sra, S. (2005). Clustering on
    the unit hypersphere using von Mises-Fisher distributions. JMLR 6,
    1345-1382.
    Sra, S. (2012). A short note on parameter approximation for von
    Mises-Fisher distributions. Computational Statistics 27, 177-190.

    Examples
    --------
    >>> import numpy as np
    >>> from mixtura import VonMisesFisherMixture
    >>> X = np.array([[1.0, 0.1], [1.0, -0.1], [-0.1, 1.0], [0.1, 1.0]])
    >>> model = VonMisesFisherMixture(2, normalize=True, random_state=0).fit(X)
    >>> sorted(np.round(np.abs(model.mean_directions_[:, 0])).tolist())
    [0.0, 1.0]
    """
    )

    _family_class = VonMisesFisher
    _fitted_names = {
        "mean_directions": "mean_directions_",
        "concentrations": "concentrations_",
    }
    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "normalize": ["boolean"],
    }

    def __init__(
        self,
        n_components=1,
        *,
        normalize=False,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="spherical-kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        progress=False,
        chunk_size=None,
        on_degenerate="reseed",
        frozen=None,
    ):
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            callback=callback,
            progress=progress,
            chunk_size=chunk_size,
            on_degenerate=on_degenerate,
            frozen=frozen,
        )
        self.normalize = normalize

    def _encode_input(self, X):
        """Rows divided by their norms with ``normalize`` (zero rows stay 0)."""
        if not self.normalize:
            return X
        norms = np.sqrt(np.einsum("ij,ij->i", X, X))
        return X / np.where(norms > 0, norms, 1)[:, None]
