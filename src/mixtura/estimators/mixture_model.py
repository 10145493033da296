"""MixtureModel: a mixture of any registered family, behind the scikit-learn API."""

from __future__ import annotations

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from mixtura.estimators._docstrings import shared_docstring
from mixtura.estimators.base import BaseMixture
from mixtura.families import Family, get_family
from mixtura.mixture import Mixture

__all__ = ["MixtureModel"]


@shared_docstring
class MixtureModel(BaseMixture):
    """Mixture of any component family, fitted by EM.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    family : str, default='gaussian'
        Name of a registered family (see :data:`mixtura.families.FAMILIES`).
    family_params : dict, default=None
        Keyword arguments of the family, e.g. ``{"covariance_type": "diag"}``
        for ``'gaussian'``.
    {{shared: tol max_iter n_init init_params random_state warm_start verbose}}
    {{shared: verbose_interval callback progress chunk_size on_degenerate frozen}}
    missing : {'error', 'em'}, default='error'
        What NaN entries mean: an error (say what to do), or missing values
        that EM integrates out (the E-step uses the density of each row's
        observed coordinates, the M-step their conditional expectations;
        Ghahramani & Jordan 1994). Infinity is always an error.
    {{shared: learning_decay}}

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    family_ : Family
        The fitted components (a family value with parameters).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean per-sample log-likelihood at the last E-step.
    lower_bounds_ : list of float
        That bound at every iteration of the best initialisation.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "family": [str],
        "family_params": [dict, None],
        "missing": [StrOptions({"error", "em"})],
        "learning_decay": [Interval(Real, 0.0, 1.0, closed="both")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        family="gaussian",
        family_params=None,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        progress=False,
        chunk_size=None,
        on_degenerate="reseed",
        frozen=None,
        missing="error",
        learning_decay=0.7,
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
        self.family = family
        self.family_params = family_params
        self.missing = missing
        self.learning_decay = learning_decay

    def _family_template(self) -> Family:
        return get_family(self.family)(**(self.family_params or {}))

    def _check_initial_parameters(self, X):
        get_family(self.family)  # raises, listing the registered families

    def _set_fitted(self, mixture, dtype):
        self.weights_ = mixture.weights.astype(dtype)
        self.family_ = mixture.family

    def _mixture_from_attributes(self):
        return Mixture.from_weights(self.weights_, self.family_)
