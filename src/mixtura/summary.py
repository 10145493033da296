"""What a fitted mixture is, in one object: ``model.summary()``, after mclust's
``summary(Mclust)``.

:func:`summarize` serves every fitted mixture estimator (the
:class:`~mixtura.estimators.base.BaseMixture` subclasses, whose ``summary``
method calls it) and the regression estimators
(:class:`~mixtura.MixtureRegression`, :class:`~mixtura.MixtureOfExperts`,
whose rows are pairs ``(x, y)``). It returns a :class:`Summary`: a header
(estimator, family, covariance model, K), the log-likelihood, n, the degrees
of freedom (the estimator's ``_n_parameters()``), BIC and ICL, the clustering
table, the mixing weights and the family's parameters; ``print`` shows it as
text and :meth:`Summary.to_dict` gives plain JSON values.

Where the numbers come from
---------------------------
Nothing is stored at fit time: the quantities that need data (log-likelihood,
n, BIC, AIC, ICL and the clustering table) are computed from the rows given
to ``summary(X)`` (the training rows give mclust's summary), in one E-step
pass; ``summary()`` without data holds the model's own part (header, degrees
of freedom, weights, parameters, the fit's convergence) and None for the
rest. So a fit costs nothing more, model files keep their format, and a
loaded model's ``summary(X)`` is the original's. (The fit's last bound,
``lower_bound_``, belongs to the parameters before the last M-step, so it
could not give the exact BIC of the fitted parameters anyway.)

Sign conventions
----------------
``bic``, ``aic`` and ``icl`` follow scikit-learn and
:data:`mixtura.selection.CRITERIA`: ``-2 log L + df log n``,
``-2 log L + 2 df`` and ``bic - 2 sum_i log max_k r_ik``, **lower is
better**, the values of the estimator's own ``bic(X)``. mclust prints the
negatives (higher is better), :attr:`Summary.mclust_bic` and
:attr:`Summary.mclust_icl`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Summary", "summarize"]

#: family arrays left out of a summary: derived from the ones shown
_DERIVED_ARRAYS = ("precisions_cholesky",)
#: label of the noise component (GaussianMixture(noise=True)) in the tables
NOISE = "noise"


class Summary:
    """A fitted mixture's summary (see :mod:`mixtura.summary`).

    Made by ``model.summary(X)`` (:func:`summarize`); ``str(summary)`` is the
    text ``print`` shows.

    Parameters
    ----------
    **fields
        The attributes below, by name.

    Attributes
    ----------
    estimator : str
        The estimator's class name.
    family : str
        The components' family (``'gaussian'``, ``'poisson'``...).
    covariance_type : str or None
        The covariance model (``'full'``, ``'VVV'``...), where there is one.
    n_components : int
        K (a noise component is not counted).
    noise : bool
        Whether the mixture has a uniform noise component besides its K.
    n_features : int
    n_parameters : int
        Degrees of freedom: the number of free parameters.
    n_samples : int or None
        Rows the data-dependent numbers were computed on (None: no data given).
    log_likelihood : float or None
        ``sum_i log p(x_i)`` (for a regression, ``log p(y_i | x_i)``).
    bic, aic, icl : float or None
        Lower is better (scikit-learn's convention, :mod:`mixtura.summary`).
    clustering : dict of str to int or None
        Hard assignments (the most probable component of each row) counted per
        component, ``'0'``, ``'1'``, ... and ``'noise'``; the counts sum to
        ``n_samples``.
    weights : ndarray of shape (n_components,) or (n_components + 1,)
        Mixing weights (a mixture of experts: the gate's mean over its training
        rows; the noise weight last).
    parameters : dict of str to ndarray
        The family's parameter arrays (means, covariances, rates, coef...).
    converged : bool or None
    n_iter : int or None
    """

    _FIELDS = (
        "estimator",
        "family",
        "covariance_type",
        "n_components",
        "noise",
        "n_features",
        "n_parameters",
        "n_samples",
        "log_likelihood",
        "bic",
        "aic",
        "icl",
        "clustering",
        "weights",
        "parameters",
        "converged",
        "n_iter",
    )

    def __init__(self, **fields):
        unknown = set(fields) - set(self._FIELDS)
        if unknown:
            raise TypeError(f"Summary has no fields {sorted(unknown)}")
        for name in self._FIELDS:
            setattr(self, name, fields.get(name))

    @property
    def mclust_bic(self):
        """mclust's BIC, ``2 log L - df log n = -bic`` (higher is better)."""
        return None if self.bic is None else -self.bic

    @property
    def mclust_icl(self):
        """mclust's ICL, ``-icl`` (higher is better)."""
        return None if self.icl is None else -self.icl

    def to_dict(self):
        """The summary as plain JSON values (arrays as nested lists).

        Returns
        -------
        summary : dict
            The attributes, plus ``mclust_bic`` and ``mclust_icl``; non-finite
            numbers become None.
        """
        result = {name: _plain(getattr(self, name)) for name in self._FIELDS}
        result["mclust_bic"] = _plain(self.mclust_bic)
        result["mclust_icl"] = _plain(self.mclust_icl)
        return result

    def __eq__(self, other):
        if not isinstance(other, Summary):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self):
        return (
            f"Summary(estimator={self.estimator!r}, family={self.family!r}, "
            f"n_components={self.n_components}, n_samples={self.n_samples})"
        )

    def __str__(self):
        return "\n".join(self._lines())

    def _lines(self):
        model = f", covariance model {self.covariance_type}"
        header = (
            f"{self.estimator}: {self.family} mixture"
            f"{model if self.covariance_type else ''}, K = {self.n_components}"
            f"{' + noise' if self.noise else ''}"
        )
        lines = [header, "-" * len(header), ""]
        columns = [
            ("log-likelihood", self.log_likelihood, ".3f"),
            ("n", self.n_samples, "d"),
            ("df", self.n_parameters, "d"),
            ("BIC", self.bic, ".3f"),
            ("ICL", self.icl, ".3f"),
        ]
        cells = [_format(value, spec) for _, value, spec in columns]
        widths = [
            max(len(name), len(cell))
            for (name, _, _), cell in zip(columns, cells, strict=True)
        ]
        lines.append(
            " ".join(
                f"{name:>{w}}" for (name, _, _), w in zip(columns, widths, strict=True)
            )
        )
        lines.append(
            " ".join(f"{cell:>{w}}" for cell, w in zip(cells, widths, strict=True))
        )
        if self.n_samples is None:
            lines.append(
                "(pass the data, summary(X), for the log-likelihood, BIC, ICL and "
                "the clustering table)"
            )
        else:
            lines.append(
                "BIC = -2 log L + df log n, ICL = BIC - 2 sum_i log max_k r_ik: "
                "lower is better (mclust prints the negatives)"
            )
        if self.converged is not None:
            status = "converged" if self.converged else "did not converge"
            lines.append(f"the fit {status} after {self.n_iter} iterations")
        if self.clustering is not None:
            lines += ["", "Clustering table:", *_table(self.clustering)]
        labels = [str(k) for k in range(self.n_components)]
        if self.noise:
            labels.append(NOISE)
        weights = np.asarray(self.weights, dtype=np.float64).tolist()
        lines += [
            "",
            "Mixing weights:",
            *_table(
                {label: f"{w:.4g}" for label, w in zip(labels, weights, strict=True)}
            ),
        ]
        return [*lines, "", self.parameters_text()]

    def parameters_text(self):
        """The parameters alone, as text: one titled block per array.

        Returns
        -------
        text : str
        """
        blocks = [
            f"{name.replace('_', ' ').capitalize()}:\n{_array(value)}"
            for name, value in self.parameters.items()
        ]
        return "\n\n".join(blocks)


def summarize(estimator, X=None, y=None, *, offset=None):
    """The :class:`Summary` of a fitted mixture estimator.

    Parameters
    ----------
    estimator : BaseMixture, MixtureRegression or MixtureOfExperts
        Fitted (or loaded from a model file).
    X : array-like of shape (n_samples, n_features), default=None
        In-memory rows the log-likelihood, criteria and clustering table are
        computed on (the training rows for mclust's summary); None leaves them
        None.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Responses of ``X``'s rows: needed with ``X`` for a regression estimator.
    offset : array-like of shape (n_samples,), default=None
        Poisson experts' offsets.

    Returns
    -------
    summary : Summary

    Raises
    ------
    ValueError
        If a regression estimator is given ``X`` without ``y``.
    """
    from sklearn.utils.validation import check_is_fitted

    regression = hasattr(estimator, "predict_components")
    check_is_fitted(estimator)
    # what is described: the fitted mixture, or a variational fit's posterior
    # means (its fitted mixture is an E-step object at the expected
    # log-parameters, which has no parameters to show)
    sampling = getattr(estimator, "_sampling_mixture", None)
    mixture = estimator._fitted_mixture() if sampling is None else sampling()
    family = mixture.family
    noise = family.name == "with_noise"
    n_components = int(mixture.n_components) - int(noise)
    fields = {
        "estimator": type(estimator).__name__,
        "family": _family_name(family),
        "covariance_type": _covariance_type(estimator, family),
        "n_components": n_components,
        "noise": noise,
        "n_features": int(estimator.n_features_in_),
        "n_parameters": _n_parameters(estimator, mixture),
        "converged": _optional(getattr(estimator, "converged_", None), bool),
        "n_iter": _optional(getattr(estimator, "n_iter_", None), int),
    }
    if regression:
        weights = getattr(estimator, "weights_", None)
        fields["weights"] = np.asarray(
            mixture.weights if weights is None else weights, dtype=np.float64
        )
        fields["parameters"] = {
            name: np.asarray(getattr(estimator, name))
            for name in (
                "coef_",
                "intercept_",
                "noise_covariances_",
                "gate_coef_",
                "gate_intercept_",
            )
            if getattr(estimator, name, None) is not None
        }
        fields["parameters"] = {
            name.rstrip("_"): value for name, value in fields["parameters"].items()
        }
    else:
        fields["weights"] = np.asarray(mixture.weights, dtype=np.float64)
        fields["parameters"] = {
            # a noise mixture's Gaussian parameters are its inner family's
            name.removeprefix("inner_") if noise else name: np.asarray(value)
            for name, value in family.arrays().items()
            if not name.endswith(_DERIVED_ARRAYS)
        }
    if X is not None:
        if regression:
            if y is None:
                raise ValueError(
                    f"{type(estimator).__name__}.summary(X) needs y too: the "
                    "log-likelihood is that of y given X."
                )
            log_resp, log_density = estimator._log_resp(X, y, offset)
        else:
            log_resp, log_density = estimator._predict_data(X)
        fields.update(_data_fields(log_resp, log_density, fields, noise))
    return Summary(**fields)


def _data_fields(log_resp, log_density, fields, noise):
    """Log-likelihood, n, criteria and clustering table from one E-step."""
    log_resp = np.asarray(log_resp, dtype=np.float64)
    n_samples = len(log_density)
    log_likelihood = float(np.sum(log_density, dtype=np.float64))
    df = fields["n_parameters"]
    bic = -2 * log_likelihood + df * math.log(n_samples)
    labels = np.argmax(log_resp, axis=1)
    counts = np.bincount(labels, minlength=log_resp.shape[1])
    names = [str(k) for k in range(fields["n_components"])]
    if noise:
        names.append(NOISE)
    return {
        "n_samples": n_samples,
        "log_likelihood": log_likelihood,
        "bic": bic,
        "aic": -2 * log_likelihood + 2 * df,
        "icl": bic - 2 * float(np.sum(np.max(log_resp, axis=1))),
        "clustering": {
            name: int(count) for name, count in zip(names, counts, strict=True)
        },
    }


def _n_parameters(estimator, mixture):
    """The estimator's degrees of freedom; a variational fit whose E-step
    mixture cannot count them (``BayesianMixture``) counts its posterior
    means' parameters."""
    try:
        return int(estimator._n_parameters())
    except NotImplementedError:
        return int(mixture.n_parameters())


def _family_name(family):
    if family.name == "with_noise":
        return family.config().get("inner", {}).get("name", family.name)
    return family.name


def _covariance_type(estimator, family):
    """The covariance model: the estimator's, else the family's configuration."""
    value = getattr(estimator, "covariance_type", None)
    if isinstance(value, str):
        return value
    config = family.config()
    while isinstance(config, dict):
        if isinstance(config.get("covariance_type"), str):
            return config["covariance_type"]
        config = config.get("inner", {}).get("config")
    return None


def _optional(value, kind):
    return None if value is None else kind(value)


def _format(value, spec):
    if value is None:
        return "n/a"
    return format(value, spec)


def _table(counts):
    """Two lines, the labels over the values, right-aligned in columns."""
    labels = [str(label) for label in counts]
    values = [str(value) for value in counts.values()]
    widths = [max(len(a), len(b)) for a, b in zip(labels, values, strict=True)]
    return [
        "  ".join(f"{a:>{w}}" for a, w in zip(labels, widths, strict=True)),
        "  ".join(f"{b:>{w}}" for b, w in zip(values, widths, strict=True)),
    ]


def _array(value):
    """A compact, bounded text of an array (large ones elided)."""
    value = np.asarray(value)
    return np.array2string(
        value, precision=4, suppress_small=True, threshold=60, edgeitems=3
    )


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
