"""Mixture discriminant analysis: mclust's ``MclustDA`` and ``EDDA`` classifiers.

:class:`MixtureDiscriminantAnalysis` models each class's density and classifies a
row by Bayes' rule, ``P(c | x) ∝ prior_c p(x | c)`` (Fraley & Raftery 2002;
Scrucca et al. 2016). Two model types, as mclust's ``MclustDA(modelType = ...)``:

- ``'MclustDA'``: each class's density is a Gaussian mixture whose number of
  components and covariance model are chosen by BIC, class by class, with
  :func:`mixtura.selection.select` over mclust's grid (hierarchical start,
  mclust's tolerance). Classes may get different models and K.
- ``'EDDA'`` (eigenvalue decomposition discriminant analysis, Bensmail &
  Celeux 1996): one Gaussian per class, and one covariance model common to the
  classes chosen by BIC: ``'EEE'`` is linear discriminant analysis, ``'VVV'``
  quadratic, the other models lie between. Each model is fitted by one M-step
  from the labels (mclust's ``mstep``); its BIC is mclust's EDDA BIC: the
  mixture log-likelihood with the class frequencies as weights, and the
  parameters counted without the weights (``bic(..., equalPro = TRUE)``).

BIC follows mclust's sign (``2 log L - p log n``, higher is better); the tables
in ``bic_`` hold both signs (:class:`~mixtura.selection.SelectionTable`).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_array, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from mixtura._random import RANDOM_STATE_CONSTRAINT
from mixtura._validation import check_data
from mixtura.backend import log_normalize
from mixtura.estimators import register_composite_estimator
from mixtura.estimators.gaussian import GaussianMixture
from mixtura.exceptions import ConvergenceWarning, DataValidationError
from mixtura.families.covariance import get_covariance_structure
from mixtura.selection import SelectionTable, select

__all__ = ["MODEL_TYPES", "MixtureDiscriminantAnalysis"]

#: the model types, as mclust's ``modelType``
MODEL_TYPES = ("MclustDA", "EDDA")

# A fit whose covariance collapses is a missing cell, as mclust's NA: with no
# ridge (mclust's grid has none) a regularised near-singular fit would have a
# huge likelihood and win the selection.
_FIT_PARAMS = {"on_degenerate": "raise"}
# Numeric dtypes class labels may have in a model file; strings are kept apart.
_LABEL_DTYPES = frozenset(
    {"bool", "float32", "float64"}
    | {f"{kind}{bits}" for kind in ("int", "uint") for bits in (8, 16, 32, 64)}
)
_RECORD_NUMBERS = ("log_likelihood", "n_parameters", "bic", "aic", "icl")


class MixtureDiscriminantAnalysis(ClassifierMixin, BaseEstimator):
    """Classifier with a Gaussian mixture per class (mclust's MclustDA and EDDA).

    Parameters
    ----------
    model_type : {'MclustDA', 'EDDA'}, default='MclustDA'
        ``'MclustDA'``: per class, a Gaussian mixture with K and the covariance
        model chosen by BIC over ``n_components`` x ``models``. ``'EDDA'``: one
        Gaussian per class, the covariance model common to the classes and
        chosen by BIC over ``models`` (``n_components`` is then unused).
    n_components : int or sequence of int, default=(1, 2, 3, 4, 5)
        Numbers of components tried for each class (mclust's ``G = 1:5``).
    models : str or sequence of str, default='mclust'
        Covariance models tried: ``'mclust'`` for mclust's 14 (``'E'``, ``'V'``
        for one feature), or names such as ``('EEE', 'VVV')`` (any covariance
        structure :class:`~mixtura.GaussianMixture` accepts).
    priors : array-like of shape (n_classes,), default=None
        Class prior probabilities used to predict, in the order of
        ``classes_`` (normalised to sum to one); None uses the training class
        frequencies, as mclust does.
    random_state : int, RandomState instance, Generator or None, default=0
        Seed of the fits (mclust's start is deterministic; the seed matters
        for ties and for models given other starts).
    n_jobs : int, default=None
        Processes for each class's grid, as :func:`mixtura.selection.select`
        reads it.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    class_count_ : ndarray of shape (n_classes,)
        Training rows per class.
    priors_ : ndarray of shape (n_classes,)
        Class priors used to predict.
    models_ : dict of label -> GaussianMixture
        Each class's fitted density. With EDDA a one-component ``'full'``
        mixture holding the class's Gaussian of the common fit.
    model_names_ : dict of label -> str
        The covariance model chosen for each class (with EDDA, the common one).
    n_components_ : dict of label -> int
        The number of components chosen for each class (1 with EDDA).
    bic_ : dict of label -> SelectionTable
        Each class's table of criteria (``'mclust_bic'``: higher is better);
        with EDDA one table, of the common models at K = n_classes, shared by
        every class. The tables of a loaded model hold the criteria only, not
        the fitted cells.
    log_likelihood_ : float
        Log-likelihood of the training rows under the class-weighted mixture of
        the class densities (the class frequencies as weights), mclust's
        ``logLik.MclustDA``.
    n_parameters_ : int
        Free parameters of the class densities: with MclustDA the sum over the
        classes; with EDDA the means and the common covariance model's
        parameters (mclust's ``df``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` had string column names.

    See Also
    --------
    mixtura.selection.select : The per-class model selection.
    sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis : EDDA's
        ``'VVV'`` model.

    Notes
    -----
    The classifier's BIC (mclust's ``MclustDA$bic``) is ``2 * log_likelihood_
    - n_parameters_ * log(n_samples)``. Fits whose covariances collapse are
    missing cells (mclust's NA); a class whose every cell fails is an error.
    Against R's mclust 6.0.0 on its ``diabetes`` data the chosen model of every
    class, its BIC (within 0.02) and the training classification agree
    (``tests/reference/mclustda_diabetes.R``).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from mixtura import MixtureDiscriminantAnalysis
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MixtureDiscriminantAnalysis(model_type="EDDA").fit(X, y)
    >>> clf.model_names_[0]
    'VEV'
    >>> round(clf.score(X, y), 2)
    0.98
    """

    _parameter_constraints: dict = {
        "model_type": [StrOptions(set(MODEL_TYPES))],
        "n_components": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "models": [str, "array-like"],
        "priors": ["array-like", None],
        "random_state": RANDOM_STATE_CONSTRAINT,
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        model_type="MclustDA",
        *,
        n_components=(1, 2, 3, 4, 5),
        models="mclust",
        priors=None,
        random_state=0,
        n_jobs=None,
    ):
        self.model_type = model_type
        self.n_components = n_components
        self.models = models
        self.priors = priors
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fitting ----------------------------------------------------------------
    def fit(self, X, y):
        """Fit each class's density and choose its model by BIC.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted classifier. A fit that fails leaves a fitted classifier
            as it was.
        """
        saved_state = dict(self.__dict__)
        try:
            self._fit(X, y)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved_state)
            raise
        return self

    def _fit(self, X, y):
        self._validate_params()
        X = check_data(self, X, reset=True)
        y = self._check_y(y, X.shape[0])
        classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
        priors = self._check_priors(counts)
        labels = classes.tolist()
        if self.model_type == "EDDA":
            fitted = self._fit_edda(X, codes, labels)
        else:
            fitted = self._fit_mclustda(X, codes, labels, counts)
        models, names, ks, tables, n_parameters = fitted
        self.classes_ = classes
        self.class_count_ = counts
        self.priors_ = priors
        self.models_ = dict(zip(labels, models, strict=True))
        self.model_names_ = dict(zip(labels, names, strict=True))
        self.n_components_ = dict(zip(labels, ks, strict=True))
        self.bic_ = dict(zip(labels, tables, strict=True))
        self.n_parameters_ = int(n_parameters)
        log_densities = self._class_log_densities(X)
        self.log_likelihood_ = float(
            np.sum(logsumexp(log_densities + np.log(counts / counts.sum()), axis=1))
        )

    def _check_y(self, y, n_samples):
        if y is None:
            raise DataValidationError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        # scikit-learn's refusals (NaN, 2-d, continuous or unknown label types)
        # as mixtura's error, with what to give instead
        try:
            y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                f"y must be a 1-D array of class labels (integers or strings, no "
                f"NaN), one per row of X: {exc}"
            ) from exc
        if y.shape[0] != n_samples:
            raise DataValidationError(
                f"y has {y.shape[0]} labels but X has {n_samples} rows; give one "
                "class label per row of X."
            )
        return y

    def _check_priors(self, counts):
        if self.priors is None:
            return counts / counts.sum()
        priors = np.asarray(self.priors, dtype=np.float64)
        if priors.shape != counts.shape:
            raise ValueError(
                f"priors has shape {priors.shape} but y has {counts.size} classes; "
                "give one prior per class, in the order of the sorted labels."
            )
        if not np.isfinite(priors).all() or (priors < 0).any() or priors.sum() <= 0:
            raise ValueError(
                f"priors must be finite, non-negative and not all zero; got {priors}."
            )
        return priors / priors.sum()

    def _fit_mclustda(self, X, codes, labels, counts):
        """Per class: the grid, its BIC-best mixture, its table."""
        few = np.flatnonzero(counts < 2)
        if few.size:
            label, n = labels[few[0]], int(counts[few[0]])
            raise DataValidationError(
                f"class {label!r} has {n} sample; MclustDA estimates a covariance "
                "for each class and needs at least 2 samples per class (more than "
                "n_features for the full models). Merge or drop that class, or use "
                "model_type='EDDA', whose covariance models can be shared."
            )
        models, names, ks, tables, n_parameters = [], [], [], [], 0
        for code, label in enumerate(labels):
            table = self._class_table(X[codes == code], label)
            name, k = table.best("mclust_bic")
            model = table.estimator(name, k)
            if not model.converged_:
                warnings.warn(
                    f"class {label!r}: the chosen model {name}, K = {k} did not "
                    f"converge in {model.max_iter} EM iterations.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
            models.append(model)
            names.append(name)
            ks.append(k)
            tables.append(table)
            n_parameters += table[name, k]["n_parameters"]
        return models, names, ks, tables, n_parameters

    def _class_table(self, X, label):
        """One class's selection table; a class no model fits is an error."""
        with warnings.catch_warnings():
            # cells that are not chosen may stop short; the chosen one is checked
            warnings.simplefilter("ignore", ConvergenceWarning)
            table = select(
                X,
                n_components=self.n_components,
                models=self.models,
                criterion="mclust_bic",
                random_state=self.random_state,
                n_jobs=self.n_jobs,
                **_FIT_PARAMS,
            )
        _check_some_cell_fitted(table, f"class {label!r} ({X.shape[0]} rows)")
        return table

    def _fit_edda(self, X, codes, labels):
        """The common models, each one M-step from the labels; the BIC-best."""
        n_classes = len(labels)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits = select(
                X,
                n_components=n_classes,
                models=self.models,
                criterion="mclust_bic",
                random_state=self.random_state,
                n_jobs=self.n_jobs,
                init_params=codes,
                max_iter=0,
                **_FIT_PARAMS,
            )
        _check_some_cell_fitted(fits, "the classes")
        table = _edda_table(fits, n_classes)
        name, _ = table.best("mclust_bic")
        joint = table.estimator(name, n_classes)
        models = [
            _class_gaussian(joint, code, X[codes == code]) for code in range(n_classes)
        ]
        n_parameters = table[name, n_classes]["n_parameters"]
        return (
            models,
            [name] * n_classes,
            [1] * n_classes,
            [table] * n_classes,
            n_parameters,
        )

    # -- prediction -------------------------------------------------------------
    def _class_log_densities(self, X):
        """``log p(x | c)`` for every row and class, shape (n_samples, n_classes)."""
        return np.column_stack(
            [self.models_[label].score_samples(X) for label in self.classes_.tolist()]
        )

    def _joint_log_likelihood(self, X):
        check_is_fitted(self)
        X = check_data(self, X, reset=False)
        with np.errstate(divide="ignore"):  # a zero prior gives a -inf column
            log_priors = np.log(self.priors_)
        return self._class_log_densities(X) + log_priors

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Class labels (from ``classes_``).
        """
        joint = self._joint_log_likelihood(X)
        return self.classes_[np.argmax(joint, axis=1)]

    def predict_log_proba(self, X):
        """Log posterior probability of each class for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        joint = self._joint_log_likelihood(X)
        # normalised from the row-shifted values: rows far from every class
        # have huge joint log densities whose log-sum-exp would absorb their
        # differences (issue 19)
        return log_normalize(joint, 1, np)[0]

    def predict_proba(self, X):
        """Posterior probability of each class for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; each row sums to one.
        """
        return np.exp(self.predict_log_proba(X))

    # -- model files (mixtura.io) -------------------------------------------------
    def _model_file_state(self):
        """What a model file stores: plain JSON and the class densities.

        Returns
        -------
        state : dict
            Labels, counts, priors, choices and the criteria tables.
        models : list of GaussianMixture
            The class densities, in the order of ``classes_``.
        """
        labels = self.classes_.tolist()
        tables = [self.bic_[label] for label in labels]
        if self.model_type == "EDDA":
            tables = tables[:1]  # one table, shared by the classes
        state = {
            "classes": labels,
            "classes_dtype": _label_dtype_name(self.classes_),
            "class_count": self.class_count_.tolist(),
            "priors": self.priors_.tolist(),
            "model_names": [self.model_names_[label] for label in labels],
            "n_components": [self.n_components_[label] for label in labels],
            "tables": [_table_state(table) for table in tables],
            "log_likelihood": self.log_likelihood_,
            "n_parameters": self.n_parameters_,
        }
        return state, [self.models_[label] for label in labels]

    def _set_model_file_state(self, state, models):
        """The fitted state from a model file's (audited) ``state`` and models.

        Raises
        ------
        ValueError
            If the state is inconsistent (its lengths, types or models).
        """
        classes = _labels_from_state(state["classes"], state["classes_dtype"])
        n_classes = classes.size
        counts = np.asarray(state["class_count"], dtype=np.int64)
        priors = np.asarray(state["priors"], dtype=np.float64)
        names, ks = list(state["model_names"]), list(state["n_components"])
        if not (
            counts.shape == priors.shape == (n_classes,)
            and len(names) == len(ks) == len(models) == n_classes
            and n_classes == np.unique(classes).size
        ):
            raise ValueError("the classes, counts, priors and models disagree")
        if not (np.isfinite(priors).all() and (priors >= 0).all() and priors.sum()):
            raise ValueError("the priors are not probabilities")
        for model in models:
            if not isinstance(model, GaussianMixture):
                raise ValueError(f"a class density is a {type(model).__name__}")
        n_tables = 1 if self.model_type == "EDDA" else n_classes
        if len(state["tables"]) != n_tables:
            raise ValueError(f"{self.model_type} needs {n_tables} table(s)")
        tables = [_table_from_state(table) for table in state["tables"]]
        labels = classes.tolist()
        self.classes_ = classes
        self.class_count_ = counts
        self.priors_ = priors / priors.sum()
        self.models_ = dict(zip(labels, models, strict=True))
        self.model_names_ = dict(zip(labels, map(str, names), strict=True))
        self.n_components_ = dict(zip(labels, map(int, ks), strict=True))
        self.bic_ = dict(zip(labels, tables * (n_classes // n_tables), strict=True))
        self.log_likelihood_ = float(state["log_likelihood"])
        self.n_parameters_ = int(state["n_parameters"])


def _check_some_cell_fitted(table, what):
    missing = table.missing()
    if len(missing) == len(table):
        reasons = "; ".join(
            f"{model}, K = {k}: {reason}"
            for (model, k), reason in list(missing.items())[:3]
        )
        raise DataValidationError(
            f"no model could be fitted to {what}: every cell of the grid failed "
            f"({reasons}). Try other models, fewer components, or more rows."
        )


def _edda_table(fits, n_classes):
    """mclust's EDDA criteria from the joint fits: the weights are not counted.

    The weights are the class frequencies, known from the labels, so mclust's
    EDDA BIC counts the parameters with equal proportions (``equalPro = TRUE``):
    ``n_classes - 1`` fewer than the joint mixture's.
    """
    shift = n_classes - 1
    log_n = math.log(fits.n_samples)
    records = []
    for record in fits.records:
        record = dict(record)
        if not record["missing"]:
            record["n_parameters"] -= shift
            record["bic"] -= shift * log_n
            record["icl"] -= shift * log_n
            record["aic"] -= 2 * shift
        records.append(record)
    estimators = {key: fits.estimator(*key) for key in _fitted_keys(fits)}
    return SelectionTable.from_records(
        records, fits.n_samples, criterion="mclust_bic", estimators=estimators
    )


def _fitted_keys(table):
    return [
        (record["model"], record["n_components"])
        for record in table.records
        if not record["missing"]
    ]


def _class_gaussian(joint, code, X_class):
    """Class ``code``'s Gaussian of a joint EDDA fit, as a one-component mixture.

    The mixture starts from the class's mean and precision and runs no EM
    iteration (``max_iter=0``), so its density is the joint fit's component.
    """
    n_components, n_features = joint.n_components, joint.n_features_in_
    structure = get_covariance_structure(joint.covariance_type)
    precisions = structure.matrices(joint.precisions_, n_components, n_features)
    model = GaussianMixture(
        1,
        covariance_type="full",
        reg_covar=0.0,
        max_iter=0,
        weights_init=[1.0],
        means_init=joint.means_[code : code + 1],
        precisions_init=precisions[code : code + 1],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X_class)


def _label_dtype_name(classes):
    if classes.dtype.kind in "OU":
        return "object" if classes.dtype.kind == "O" else "str"
    if classes.dtype.name not in _LABEL_DTYPES:
        raise TypeError(
            f"cannot save class labels of dtype {classes.dtype}; model files hold "
            "numeric or string labels."
        )
    return classes.dtype.name


def _labels_from_state(values, dtype):
    if not isinstance(values, list) or not values:
        raise ValueError("the classes must be a non-empty list")
    if dtype in ("str", "object"):
        if not all(isinstance(value, str) for value in values):
            raise ValueError("string classes hold a value that is not a string")
        return np.asarray(values, dtype=str if dtype == "str" else object)
    if dtype not in _LABEL_DTYPES or not all(
        isinstance(value, (bool, int, float)) for value in values
    ):
        raise ValueError(f"unsupported class labels of dtype {dtype!r}")
    return np.asarray(values, dtype=dtype)


def _table_state(table):
    """A selection table as plain JSON (NaN as null)."""
    records = []
    for record in table.records:
        entry = {
            key: record[key] for key in ("model", "n_components", "converged", "error")
        }
        for name in _RECORD_NUMBERS:
            value = record[name]
            if math.isnan(value):
                entry[name] = None
            else:
                entry[name] = (
                    int(value) if isinstance(value, Integral) else float(value)
                )
        records.append(entry)
    return {"n_samples": table.n_samples, "records": records}


def _table_from_state(state):
    if not isinstance(state, dict) or set(state) != {"n_samples", "records"}:
        raise ValueError("a table must hold n_samples and records")
    records = []
    for entry in state["records"]:
        if not isinstance(entry, dict):
            raise ValueError("a table record must be an object")
        record = dict(entry)
        for name in _RECORD_NUMBERS:
            value = record[name]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise ValueError(f"record entry {name!r} is not a number")
            record[name] = math.nan if value is None else value
        if record["error"] is not None and not isinstance(record["error"], str):
            raise ValueError("a record's error must be a string or null")
        records.append(record)
    return SelectionTable.from_records(
        records, int(state["n_samples"]), criterion="mclust_bic"
    )


register_composite_estimator(MixtureDiscriminantAnalysis)
