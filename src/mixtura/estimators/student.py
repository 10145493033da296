"""StudentMixture: a mixture of multivariate t components, robust to outliers.

A thin estimator over :class:`~mixtura.families.student.StudentT`: fitting,
restarts, prediction, sampling, information criteria, streams and Dask are
:class:`~mixtura.estimators.base.BaseMixture`'s; this module names the family's
options and its fitted attributes, and adds :meth:`StudentMixture.outlier_weights`
and :meth:`StudentMixture.impute`.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from mixtura._random import check_random_state
from mixtura._validation import check_data
from mixtura.estimators._docstrings import shared_docstring
from mixtura.estimators.base import BaseMixture
from mixtura.estimators.discrete import _FamilyMixture
from mixtura.families.covariance import COVARIANCE_STRUCTURES
from mixtura.families.student import DF_UPDATES, MIN_DF, StudentT
from mixtura.families.student_missing import conditional_t
from mixtura.inference.imputation import Conditional, impute_rows

__all__ = ["StudentMixture"]


@shared_docstring
class StudentMixture(_FamilyMixture):
    """Mixture of multivariate Student-t components, fitted by ECM.

    Each component is ``t_nu_k(means_[k], scales_[k])``: a Gaussian whose
    precision is scaled, row by row, by a gamma-distributed weight, so rows
    far from a component's centre weigh little in its mean and scale. With
    the degrees of freedom estimated (Peel & McLachlan 2000), the data decide
    how heavy the tails are; as ``nu`` grows a component becomes Gaussian.

    Parameters
    ----------
    n_components : int, default=1
        Number of components.
    covariance_type : str, default='full'
        Structure of the scale matrices: ``'full'``, ``'tied'``, ``'diag'``,
        ``'spherical'`` or one of mclust's models (e.g. ``'VVE'``).
    df_update : {'component', 'shared', 'fixed'}, default='component'
        Degrees of freedom estimated for each component, one value for all,
        or kept at ``df_init``.
    df_init : float, default=10.0
        Degrees of freedom the first M-step uses (and the fixed value with
        ``df_update='fixed'``); at least 0.1, the fit's lower bound.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every scale matrix.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood.
    max_iter : int, default=100
        EM iterations per initialisation.
    n_init : int, default=1
        Initialisations; the best is kept.
    init_params : str, default='kmeans'
        How the first responsibilities are made (see
        :class:`~mixtura.GaussianMixture`).
    random_state : int, RandomState, Generator or None, default=None
    warm_start : bool, default=False
        Start the next ``fit`` from this fit's parameters.
    verbose : int, default=0
    verbose_interval : int, default=10
    callback : callable, default=None
        Called after every iteration with the fit's progress.
    {{shared: progress}}
    chunk_size : int or None, default=None
        Rows per chunk of the E-step (None: sized to the cache).
    {{shared: on_degenerate frozen}}
    missing : {'error', 'em'}, default='error'
        What NaN entries mean: an error (say what to do), or missing values
        that EM integrates out, for every ``covariance_type``: the E-step uses
        the t density of each row's observed coordinates, the M-step their
        conditional expectations and each row's number of observed
        coordinates in the degrees-of-freedom step (Liu & Rubin 1995).
        Infinity is always an error.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component locations (their means where ``nu > 1``).
    scales_ : ndarray
        Scale matrices in the structure's shape; a component's covariance is
        ``nu / (nu - 2)`` times its scale where ``nu > 2``.
    precisions_cholesky_ : ndarray
        Upper Cholesky factors of the inverse scale matrices.
    degrees_of_freedom_ : ndarray of shape (n_components,)
        ``nu_k``, in ``[0.1, 1e4]`` when estimated.
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

    Notes
    -----
    Every iteration is an ECM step (Meng & Rubin 1993): the locations and
    scales given the outlier weights, then the degrees of freedom by
    Peel & McLachlan's (2000) equation with the expected log weights at the
    current parameters; see :mod:`mixtura.families.student`.

    Examples
    --------
    >>> import numpy as np
    >>> from mixtura import StudentMixture
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.standard_t(3, (200, 2)), rng.standard_t(3, (200, 2)) + 8])
    >>> model = StudentMixture(2, random_state=0).fit(X)
    >>> sorted(np.round(model.means_[:, 0]).astype(int).tolist())
    [0, 8]
    """

    _family_class = StudentT
    _prior_names = ("covariance_type", "reg_covar", "df_update", "df_init")
    _fitted_names = {
        "means": "means_",
        "scales": "scales_",
        "precisions_cholesky": "precisions_cholesky_",
        "degrees_of_freedom": "degrees_of_freedom_",
    }
    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "covariance_type": [StrOptions(set(COVARIANCE_STRUCTURES))],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "df_update": [StrOptions(set(DF_UPDATES))],
        "df_init": [Interval(Real, MIN_DF, None, closed="left")],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        df_update="component",
        df_init=10.0,
        reg_covar=1e-6,
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
        self.covariance_type = covariance_type
        self.df_update = df_update
        self.df_init = df_init
        self.reg_covar = reg_covar
        self.missing = missing

    def outlier_weights(self, X):
        """Each row's expected precision weight ``E[u_ik | x_i]`` in each component.

        ``(nu_k + d) / (nu_k + delta_ik)``, with ``delta_ik`` the squared
        Mahalanobis distance of row i from component k: near 1 (or above)
        for a row close to the component's centre, small for a row in its
        tails. ``(model.predict_proba(X) * model.outlier_weights(X)).sum(1)``
        is the weight each row had in the fit; small values flag outliers.
        With ``missing='em'``, a row with NaN entries has the weight of its
        ``p_o`` observed coordinates, ``(nu_k + p_o) / (nu_k + delta_o)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        weights : ndarray of shape (n_samples, n_components)
        """
        data, mixture = self._checked_rows(X)
        return mixture.family.outlier_weights(data.X)

    def impute(self, X, n_imputations=None, random_state=None):
        """Fill missing entries (NaN) from the fitted mixture.

        Under component k, the missing block given the observed one is a t
        with ``nu_k + p_o`` degrees of freedom, location
        ``mu_m + S_mo S_oo^-1 (x_o - mu_o)`` and scale
        ``(nu_k + delta_o) / (nu_k + p_o) (S_mm - S_mo S_oo^-1 S_om)``
        (Ding 2016); the memberships ``P(k | x_o)`` come from the observed
        block's marginal t. Single imputation gives each missing entry its
        conditional mean ``sum_k P(k | x_o) E[x_m | x_o, k]`` (each
        component's conditional location, see Notes). Multiple
        imputation draws ``n_imputations`` completions: a component from
        ``P(k | x_o)``, then ``x_m`` from that component's conditional t.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with NaN for missing entries (observed entries are kept as they
            are; rows without NaN come back unchanged).
        n_imputations : int, default=None
            None for the single (conditional mean) imputation; otherwise the
            number of random completions.
        random_state : int, RandomState instance, Generator or None, default=None
            Seed of the draws of multiple imputation.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features) or \
                (n_imputations, n_samples, n_features)
            The completed data.

        Notes
        -----
        The conditional t has a mean only where ``nu_k + p_o > 1``; for a
        row with nothing observed under ``nu_k <= 1`` the single imputation is
        the location ``mu_k``, the conditional median.
        """
        check_is_fitted(self)
        X = check_data(self, X, reset=False, allow_nan=True)
        mixture = self._fitted_mixture()
        family = mixture.family
        resp = np.exp(mixture.log_responsibilities(X)[0])
        scales = family.gaussian._covariance_matrices()

        def conditional(X_pattern, observed):
            return Conditional(
                *conditional_t(
                    X_pattern, observed, family.means, scales, family.degrees_of_freedom
                )
            )

        rng = None if n_imputations is None else check_random_state(random_state)
        return impute_rows(X, resp, conditional, n_imputations, rng)
