"""TabularMixture: one mixture over a table of mixed column types.

Each column gets a family from its dtype (or from the user's mapping): float ->
Gaussian with a diagonal covariance, bool -> Bernoulli, category / object / string
-> categorical, non-negative integers -> Poisson. Columns of one family form one
part of a :class:`~mixtura.families.Product`, so every component is a product of
independent parts and the whole table is fitted in one EM (latent class / latent
profile models for mixed data; e.g. Hunt & Jorgensen 2011, "Clustering mixed data",
WIREs Data Mining and Knowledge Discovery 1, 352-361).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.sparse import issparse
from scipy.stats import poisson as _poisson_law
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from mixtura._validation import check_finite, sklearn_data_errors
from mixtura.estimators._docstrings import shared_docstring
from mixtura.estimators.base import BaseMixture
from mixtura.estimators.discrete import (
    _check_missing,
    _encode,
    _levels_from_plain,
    _levels_of,
    _plain_levels,
)
from mixtura.exceptions import DataValidationError
from mixtura.families import (
    Bernoulli,
    Categorical,
    Exponential,
    GammaFamily,
    Gaussian,
    LogNormal,
    Poisson,
    Product,
)
from mixtura.mixture import Mixture

__all__ = ["COLUMN_FAMILIES", "TabularMixture"]

#: column family name -> the part that models those columns, made from the
#: estimator (its settings and learnt levels) and the columns' indices
_PART_TEMPLATES = {
    "gaussian": lambda estimator, columns: Gaussian("diag", estimator.reg_covar),
    "bernoulli": lambda estimator, columns: Bernoulli(),
    "categorical": lambda estimator, columns: Categorical(
        [len(estimator.categories_[j]) for j in columns]
    ),
    "poisson": lambda estimator, columns: Poisson(),
    "gamma": lambda estimator, columns: GammaFamily(),
    "exponential": lambda estimator, columns: Exponential(),
    "lognormal": lambda estimator, columns: LogNormal("diag", estimator.reg_covar),
}

#: the families a column can have, as ``column_families`` names them
COLUMN_FAMILIES = tuple(_PART_TEMPLATES)

#: the column dtypes (pandas' names) that ``sample`` and ``impute`` give back as
#: they were in ``fit``; a column of another dtype comes back as ``object``
_FRAME_DTYPES = frozenset(
    {
        "bool",
        "boolean",
        "category",
        "object",
        "string",
        "str",
        "float16",
        "float32",
        "float64",
        "Float32",
        "Float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
    }
)


def _frame_dtype(series):
    """The name of a column's dtype, as :data:`_FRAME_DTYPES` lists it."""
    name = str(series.dtype)
    return name if name in _FRAME_DTYPES else "object"


def _group_frame(groups):
    """One DataFrame from a dict of column groups; returns it and the groups' columns.

    A 1-D group becomes the column ``name``; the columns of a 2-D group or a
    DataFrame become ``name[i]`` / ``name.column``.
    """
    import pandas as pd

    parts, members = [], {}
    for key, value in groups.items():
        if not isinstance(key, str):
            raise DataValidationError(f"group names must be strings; got {key!r}")
        if isinstance(value, pd.DataFrame):
            part = value.rename(columns=lambda c, key=key: f"{key}.{c}")
        elif isinstance(value, pd.Series) or np.ndim(value) == 1:
            part = pd.DataFrame({key: np.asarray(value)})
        else:
            array = np.asarray(value)
            part = pd.DataFrame(
                array, columns=[f"{key}[{i}]" for i in range(array.shape[1])]
            )
        members[key] = [str(c) for c in part.columns]
        parts.append(part.reset_index(drop=True))
    lengths = {len(part) for part in parts}
    if len(lengths) > 1:
        raise DataValidationError(
            f"the column groups have different numbers of rows: {sorted(lengths)}"
        )
    return pd.concat(parts, axis=1), members


def _as_frame(X, ensure_min_samples):
    """A pandas DataFrame view of ``X`` (a DataFrame, a dict of column groups, or a
    2-D array-like), whether its columns are named, and the groups' columns."""
    import pandas as pd  # needed only here; mixtura does not import pandas eagerly

    groups = {}
    if isinstance(X, dict) and not issparse(X):  # scipy's DOK matrix is a dict
        X, groups = _group_frame(X)
    if isinstance(X, pd.DataFrame):
        if X.shape[0] < ensure_min_samples or X.shape[1] == 0:
            raise DataValidationError(
                f"Found array with shape {X.shape} while a minimum of "
                f"{ensure_min_samples} sample(s) and 1 feature is required."
            )
        return X, True, groups
    # scikit-learn's checks: 2-D, not sparse, not complex, not empty; any dtype
    with sklearn_data_errors(X):  # its refusals as mixtura's errors
        array = check_array(
            X,
            dtype=None,
            ensure_all_finite=False,
            ensure_min_samples=ensure_min_samples,
        )
    return pd.DataFrame(array), False, groups


def _infer_family(series):
    """The family of one column, from its dtype (and sign, for integers)."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bernoulli"
    if pd.api.types.is_integer_dtype(dtype):
        return "poisson" if (series.min() >= 0) else "gaussian"
    if pd.api.types.is_float_dtype(dtype):
        return "gaussian"
    return "categorical"


@shared_docstring
class TabularMixture(BaseMixture):
    """Mixture over a table whose columns have different types.

    Every component is a product of independent parts, one family per kind of
    column: float columns share a diagonal Gaussian, bool columns a Bernoulli,
    category / object / string columns a categorical and non-negative integer
    columns a Poisson. ``fit`` takes a pandas DataFrame (or a 2-D array, read as
    columns of its dtype) and needs no options; ``column_families`` overrides the
    choice for named columns. A dict of column groups (name -> 1-D array, 2-D
    array or DataFrame) is read as one table whose columns are ``name``,
    ``name[i]`` or ``name.column``; ``column_families`` may then name a group.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    column_families : dict, default=None
        Column name -> one of ``'gaussian'``, ``'bernoulli'``, ``'categorical'``,
        ``'poisson'``, or for positive measurements ``'gamma'``,
        ``'exponential'`` (zero allowed) and ``'lognormal'`` (e.g.
        ``{'income': 'lognormal'}``); columns not named get a family from
        their dtype.
    reg_covar : float, default=1e-6
        Added to every Gaussian variance.
    missing : {'error', 'em'}, default='error'
        What missing entries (None, NaN, pandas' NA) mean: an error, or values
        that drop out of their row's likelihood and statistics (the parts'
        columns are independent within a component). A column's family is
        inferred from its dtype, so an integer column holding NaN (pandas makes
        it float) is Gaussian unless ``column_families`` says ``'poisson'`` or
        it has a nullable dtype (``'Int64'``).
    {{shared: tol max_iter n_init}}
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'} or \
            array-like of shape (n_samples,), default='kmeans'
        How initial responsibilities are made; k-means methods cluster the parts'
        features side by side, each scaled to unit variance (one-hot categories,
        log counts, flags, measurements).
    {{shared: random_state warm_start verbose verbose_interval callback}}
    {{shared: progress chunk_size on_degenerate frozen}}

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    family_ : Product
        The fitted components: ``family_.parts`` and ``family_.columns``.
    column_families_ : list of str
        The family of each column, in column order.
    categories_ : dict
        Column index -> levels (in code order) of each categorical column.
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean per-sample log-likelihood at the last E-step.
    lower_bounds_ : list of float
        That bound at every iteration of the best initialisation.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in ``fit``, when they are all strings.

    Notes
    -----
    ``predict`` and the other methods select the fitted columns by name from a
    DataFrame (or dict of groups), so their order may differ. Categorical levels
    unseen in ``fit``, missing values (unless ``missing='em'``) and values outside a
    family's support (e.g. a negative count) raise a
    :class:`~mixtura.DataValidationError`. A model fitted on a DataFrame
    gives DataFrames from ``sample`` and ``impute``, in the fitted dtypes
    (categories, flags, integers); one fitted on an array gives the encoded array
    (categories as codes, flags as 0/1).

    Examples
    --------
    >>> import pandas as pd
    >>> from mixtura import TabularMixture
    >>> table = pd.DataFrame({
    ...     "length": [1.0, 1.2, 0.9, 5.0, 5.1, 4.8],
    ...     "smoker": [True, True, True, False, False, False],
    ...     "colour": pd.Categorical(["red", "red", "red", "blue", "blue", "blue"]),
    ...     "visits": [0, 1, 0, 7, 9, 8],
    ... })
    >>> model = TabularMixture(2, random_state=0).fit(table)
    >>> model.column_families_
    ['gaussian', 'bernoulli', 'categorical', 'poisson']
    >>> model.predict_proba(table).sum(axis=1).round(6).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "column_families": [dict, None],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        column_families=None,
        reg_covar=1e-6,
        missing="error",
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
        self.column_families = column_families
        self.reg_covar = reg_covar
        self.missing = missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # object / string columns are categorical
        return tags

    # -- encoding: table -> numeric matrix ------------------------------------------
    def _check_X(self, X, *, reset, ensure_min_samples=1):
        frame, named, groups = _as_frame(X, ensure_min_samples)
        if reset:
            self._learn_encoding(frame, named, groups)
        frame = self._fitted_columns(frame, named)
        return self._encode_frame(frame, self._missing_em(), reset)

    def _encode_frame(self, frame, allow_missing, reset=False):
        """The numeric matrix of the fitted columns of ``frame`` (NaN: missing)."""
        X = np.column_stack(
            [
                self._encode_column(frame.iloc[:, j], j, allow_missing)
                for j in range(frame.shape[1])
            ]
        )
        check_finite(X, allow_nan=allow_missing, require_observed_columns=reset)
        return self._family_template().check_data(X)

    def _learn_encoding(self, frame, named, groups):
        names = [str(name) for name in frame.columns]
        mapping = dict(self.column_families or {})
        for group, members in groups.items():  # a group's family for its columns
            if group in mapping:
                for name in members:
                    mapping.setdefault(name, mapping[group])
        unknown = sorted(set(mapping) - set(names) - set(groups))
        if unknown:
            raise DataValidationError(
                f"column_families names columns {unknown} that X does not have "
                f"(its columns: {names})."
            )
        families = [
            mapping.get(name) or _infer_family(frame.iloc[:, j])
            for j, name in enumerate(names)
        ]
        bad = sorted({f for f in families if f not in COLUMN_FAMILIES})
        if bad:
            raise DataValidationError(
                f"unknown column families {bad}; choose from {list(COLUMN_FAMILIES)}."
            )
        self.column_families_ = families
        self.categories_ = {
            j: self._levels(frame.iloc[:, j], j)
            for j, family in enumerate(families)
            if family == "categorical"
        }
        self.n_features_in_ = frame.shape[1]
        # a DataFrame's dtypes, so that sample and impute give back its table
        self._frame_dtypes = (
            [_frame_dtype(frame.iloc[:, j]) for j in range(frame.shape[1])]
            if named
            else None
        )
        if named and all(isinstance(name, str) for name in frame.columns):
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _levels(self, series, j):
        """Levels of a categorical column: declared categories, else sorted values."""
        if str(series.dtype) == "category":
            return np.asarray(series.cat.categories)
        values, missing = self._column_values(series, j)
        levels = _levels_of(values[~missing], None, j)
        if len(levels) == 0:
            raise DataValidationError(
                f"column {j} has no observed value; drop it, since nothing can be "
                "learnt about its levels."
            )
        return levels

    def _column_values(self, series, j, allow_missing=None):
        """A column's values (objects) and its mask of missing entries.

        pandas' NA (nullable dtypes) counts as missing, like None and NaN; they are
        an error unless ``allow_missing`` (None: ``missing='em'``).
        """
        values = np.asarray(series.astype(object))
        values = np.array(
            [np.nan if type(v).__name__ == "NAType" else v for v in values],
            dtype=object,
        )
        if allow_missing is None:
            allow_missing = self._missing_em()
        return values, _check_missing(values, j, allow_missing)

    def _fitted_columns(self, frame, named):
        """The fitted columns of ``frame``, by name when fit saw names."""
        names = getattr(self, "feature_names_in_", None)
        if names is not None and named:
            missing = [name for name in names if name not in frame.columns]
            if missing:
                raise DataValidationError(
                    "The feature names should match those that were passed during "
                    f"fit: X lacks the columns {missing}."
                )
            return frame[list(names)]
        if frame.shape[1] != self.n_features_in_:
            raise DataValidationError(
                f"X has {frame.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        return frame

    def _encode_column(self, series, j, allow_missing=None):
        family = self.column_families_[j]
        values, missing = self._column_values(series, j, allow_missing)
        if family == "categorical":
            return _encode(values, self.categories_[j], j, missing)
        try:
            encoded = np.full(values.shape, np.nan)
            encoded[~missing] = values[~missing].astype(np.float64)
            return encoded
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                f"column {j} ({family}) must be numeric ({exc}); map it to "
                "'categorical' in column_families to model its values as levels."
            ) from exc

    def _encoding_state(self):
        """Column families and categorical levels as plain JSON, for model files.

        A model fitted on a DataFrame also keeps its columns' dtypes
        (``frame_dtypes``), so that a loaded model samples and imputes tables.
        """
        state = {
            "column_families": list(self.column_families_),
            "categories": [
                [j, _plain_levels(levels, j)] for j, levels in self.categories_.items()
            ],
        }
        dtypes = getattr(self, "_frame_dtypes", None)
        if dtypes is not None:
            state["frame_dtypes"] = list(dtypes)
        return state

    def _set_encoding_state(self, state):
        """Restore what :meth:`_encoding_state` gave."""
        unknown = sorted(set(state) - {"column_families", "categories", "frame_dtypes"})
        if unknown:
            raise ValueError(f"unknown encoding entries {unknown}")
        families = state["column_families"]
        if not isinstance(families, list) or not all(
            f in COLUMN_FAMILIES for f in families
        ):
            raise ValueError(f"column_families must name families of {COLUMN_FAMILIES}")
        categories = state["categories"]
        if not isinstance(categories, list) or not all(
            isinstance(entry, list)
            and len(entry) == 2
            and type(entry[0]) is int
            and 0 <= entry[0] < len(families)
            for entry in categories
        ):
            raise ValueError(
                "categories must be a list of [column, levels] pairs, columns "
                f"numbered 0 .. {len(families) - 1}"
            )
        expected = [j for j, f in enumerate(families) if f == "categorical"]
        if sorted(j for j, _ in categories) != expected:
            raise ValueError(
                "categories must be given once for each categorical column "
                f"({expected})"
            )
        dtypes = state.get("frame_dtypes")
        if dtypes is not None and (
            not isinstance(dtypes, list)
            or len(dtypes) != len(families)
            or not all(isinstance(d, str) and d in _FRAME_DTYPES for d in dtypes)
        ):
            raise ValueError(
                f"frame_dtypes must be null or {len(families)} names of "
                f"{sorted(_FRAME_DTYPES)}"
            )
        self.column_families_ = families
        self.categories_ = {
            j: _levels_from_plain(levels, j) for j, levels in categories
        }
        self._frame_dtypes = dtypes

    # -- the family -------------------------------------------------------------------
    def _family_template(self):
        groups = {}
        for j, family in enumerate(self.column_families_):
            groups.setdefault(family, []).append(j)
        return Product(
            [(_PART_TEMPLATES[name](self, cols), cols) for name, cols in groups.items()]
        )

    def _set_fitted(self, mixture, dtype):
        self.weights_ = mixture.weights.astype(dtype)
        self.family_ = mixture.family

    def _mixture_from_attributes(self):
        return Mixture.from_weights(self.weights_, self.family_)

    # -- tables out: sample and impute ---------------------------------------------
    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Uses ``random_state``, so an integer seed gives the same samples each call.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples, from 1 to ``2**32``.

        Returns
        -------
        X : pandas.DataFrame or ndarray of shape (n_samples, n_features)
            Samples. A model fitted on a DataFrame gives a DataFrame with its
            columns and dtypes: categorical columns with their fitted levels,
            booleans as bool, integer columns as integers (a Gaussian integer
            column rounded), floats as floats. A model fitted on an array gives
            the encoded array (categories as codes, flags as 0/1).
        y : ndarray of shape (n_samples,)
            Component of each sample (sorted).
        """
        samples, labels = super().sample(n_samples)
        if getattr(self, "_frame_dtypes", None) is None:
            return samples, labels
        return self._decode_frame(samples), labels

    def impute(self, X, n_imputations=None, random_state=None):
        """Fill missing entries (None, NaN, pandas' NA) from the fitted mixture.

        The columns are independent within a component, so a missing entry
        depends on the row's observed entries through ``P(k | x_o)`` only.
        Single imputation gives a continuous column (Gaussian, gamma,
        exponential, log-normal) its conditional mean ``sum_k P(k | x_o)
        E[x_j | k]`` and a discrete one (categorical, Bernoulli, Poisson) its
        conditional mode, the value of largest ``sum_k P(k | x_o) P(x_j | k)``.
        Multiple imputation draws ``n_imputations`` completions: a component
        from ``P(k | x_o)``, then the missing entries from that component.
        Observed entries are kept as they are, whatever ``missing`` says.

        Parameters
        ----------
        X : pandas.DataFrame, dict of column groups or array-like
            The table, with the fitted columns.
        n_imputations : int, default=None
            None for the single imputation; otherwise the number of random
            completions.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws of multiple imputation.

        Returns
        -------
        X_filled : pandas.DataFrame, list of DataFrame or ndarray
            For a model fitted on a DataFrame, the fitted columns of ``X`` with
            the missing entries filled, in the fitted dtypes (a list of
            ``n_imputations`` tables for multiple imputation). For a model fitted
            on an array, the encoded array of shape (n_samples, n_features) or
            (n_imputations, n_samples, n_features).
        """
        check_is_fitted(self)
        if n_imputations is not None and not (
            isinstance(n_imputations, (int, np.integer))
            and not isinstance(n_imputations, bool)
            and n_imputations >= 1
        ):
            raise ValueError(
                "n_imputations must be None or a positive integer; got "
                f"{n_imputations!r}"
            )
        frame, named, _ = _as_frame(X, 1)
        frame = self._fitted_columns(frame, named)
        codes = self._encode_frame(frame, allow_missing=True)
        missing = np.isnan(codes)
        mixture = self._fitted_mixture()
        family = mixture.family
        for part, columns in zip(family.parts, family.columns, strict=True):
            if missing[:, columns].any() and not part.supports_missing:
                raise ValueError(
                    f"impute cannot fill the {part.name!r} columns {list(columns)}: "
                    "that family does not drop missing entries."
                )
        resp = np.exp(mixture.log_responsibilities(codes)[0])
        if n_imputations is None:
            filled = [np.where(missing, self._fill_values(family, resp), codes)]
        else:
            rng = check_random_state(random_state)
            filled = []
            for _ in range(int(n_imputations)):
                cumulative = np.cumsum(resp, axis=1)
                draws = rng.uniform(size=(len(resp), 1))
                labels = np.minimum(
                    (draws >= cumulative).sum(axis=1), mixture.n_components - 1
                )
                filled.append(np.where(missing, family.sample(labels, rng), codes))
        if getattr(self, "_frame_dtypes", None) is None:
            return filled[0] if n_imputations is None else np.stack(filled)
        tables = [self._decode_frame(table, frame, missing) for table in filled]
        return tables[0] if n_imputations is None else tables

    def _fill_values(self, family, resp):
        """Each row's single imputation of every column (encoded)."""
        values = np.empty((resp.shape[0], family.n_features))
        for part, columns in zip(family.parts, family.columns, strict=True):
            values[:, columns] = _part_fill(part, resp)
        return values

    def _decode_frame(self, codes, frame=None, missing=None):
        """A DataFrame in the fitted dtypes from an encoded table.

        With ``frame`` (the input of ``impute``), the entries not ``missing`` are
        ``frame``'s own values.
        """
        import pandas as pd

        names = getattr(self, "feature_names_in_", None)
        names = list(range(codes.shape[1])) if names is None else list(names)
        columns = {}
        for j, name in enumerate(names):
            column = self._decode_column(codes[:, j], j)
            if frame is not None and not missing[:, j].all():
                observed = frame.iloc[:, j].to_numpy(dtype=object)
                merged = column.to_numpy(dtype=object).copy()
                merged[~missing[:, j]] = observed[~missing[:, j]]
                column = pd.Series(merged).astype(column.dtype)
            columns[name] = column.array  # keeps categories and nullable dtypes
        index = None if frame is None else frame.index
        return pd.DataFrame(columns, index=index, columns=names)

    def _decode_column(self, values, j):
        """One encoded column in its fitted dtype, as a pandas Series."""
        import pandas as pd

        dtype = self._frame_dtypes[j]
        if self.column_families_[j] == "categorical":
            levels = self.categories_[j]
            codes = values.astype(np.int64)
            if dtype == "category":
                return pd.Series(pd.Categorical.from_codes(codes, categories=levels))
            return pd.Series(np.asarray(levels, dtype=object)[codes]).astype(dtype)
        if dtype in ("bool", "boolean"):
            return pd.Series(values != 0).astype(dtype)
        if dtype[:1] in "iuIU":  # integers: a Gaussian one is rounded
            return pd.Series(np.rint(values)).astype(dtype)
        if dtype in ("object", "string", "category"):
            return pd.Series(values.astype(object)).astype(dtype)
        return pd.Series(values).astype(dtype)


def _part_fill(part, resp):
    """Single imputations of one part's columns: conditional mean or mode."""
    name = part.name
    if name == "gaussian":
        return resp @ part.means
    if name == "lognormal":
        variances = np.asarray(part.covariances)
        return resp @ np.exp(part.means + variances / 2)
    if name == "gamma":
        return resp @ (part.shapes / part.rates)
    if name == "exponential":
        return resp @ (1.0 / part.rates)
    if name == "bernoulli":
        return (resp @ part.probabilities >= 0.5).astype(np.float64)
    if name == "categorical":
        return np.column_stack(
            [np.argmax(resp @ block, axis=1) for block in part.item_probabilities()]
        ).astype(np.float64)
    if name == "poisson":
        top = int(np.ceil(part.rates.max() + 10 * np.sqrt(part.rates.max()) + 10))
        counts = np.arange(top + 1)
        modes = []
        for j in range(part.rates.shape[1]):
            pmf = _poisson_law.pmf(counts[:, None], part.rates[:, j])  # (n, K)
            modes.append(np.argmax(resp @ pmf.T, axis=1))
        return np.column_stack(modes).astype(np.float64)
    raise ValueError(f"impute does not know the {name!r} family")
