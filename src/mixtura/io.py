"""Safe model files: :func:`save` and :func:`load`, JSON plus NumPy arrays, no pickle.

A model file is a zip archive (any file name; ``.mixtura`` by convention) holding
``model.json``, which says what the model is, and one ``.npy`` file per array::

    model.json              format name and version, estimator class name,
                            hyperparameters, family name and configuration, dtype,
                            fit information, feature names, manifest of the arrays;
                            for estimators that encode their input (categorical
                            levels, column families) an ``encoding`` of plain JSON
    arrays/<name>.npy       one numeric array per manifest entry

An estimator made of several fitted estimators (a
:data:`~mixtura.estimators.COMPOSITE_ESTIMATORS` class, such as the mixture
discriminant classifier) is stored with its parts::

    model.json              format name and version, estimator class name,
                            hyperparameters, feature names, ``state`` (plain JSON
                            the estimator gives and checks), ``models`` (one
                            document per part, as a part's own file would hold)
                            and the manifest of the hyperparameters' arrays
    arrays/<name>.npy       the hyperparameters' arrays
    models/<i>/arrays/...   part ``i``'s arrays

A part is always a registered mixture estimator (:data:`ESTIMATORS`), never
another composite, so a composite nests one level deep. A fitted scikit-learn
``Pipeline`` ending in a mixtura estimator is stored the same way: its
transformers' parameters and fitted arrays under ``steps`` and the last step as
its one part (see :mod:`mixtura._io_pipeline`); a last step that is a composite
keeps its own layout below ``models/0/`` (``models/0/models/<j>/arrays/...``),
the one place where nesting goes two levels deep.

The arrays are ``log_weights`` (the mixing weights), ``family.<name>`` (the family's
parameters, :meth:`~mixtura.families.Family.arrays`) and ``params.<parameter>``
(array-valued hyperparameters). The first two are the estimator's fitted mixture,
its one source of truth: loading makes that mixture the model's fitted mixture
again and derives scikit-learn's fitted attributes (``means_``, ``precisions_``,
...) from it as the fit did, so a loaded model predicts, scores and samples bit for
bit as the saved one. Files of format version 1 also held those attributes as
``fitted.<attribute>`` arrays; they still load, and their attributes are checked
against the mixture's.

Loading *audits before it constructs*, as skops' ``io`` does: it reads the JSON,
checks every name against mixtura's registries of estimators and families, checks
every array's header against the manifest, and only then builds objects. Nothing in
a file is ever imported, called or unpickled (arrays are read with
``allow_pickle=False``), so a file from an untrusted source can at worst fail to
load, with a :class:`~mixtura.exceptions.ModelFileError` that says why.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import re
import secrets
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from sklearn.utils.validation import check_is_fitted

from mixtura._npy import read_npy_header
from mixtura._version import __version__
from mixtura.backend import logsumexp
from mixtura.estimators import (
    COMPOSITE_ESTIMATORS,
    CONDITIONAL_ESTIMATORS,
    ESTIMATORS,
)
from mixtura.exceptions import ModelFileError
from mixtura.families import FAMILIES
from mixtura.mixture import Mixture

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

#: the ``format`` entry of every model file's ``model.json``
FORMAT_NAME = "mixtura-model"
#: the newest format version this mixtura writes and reads
FORMAT_VERSION = 2
# From this version on a file holds the fitted mixture only (no fitted.* arrays).
_MIXTURE_ONLY_VERSION = 2

_JSON_MEMBER = "model.json"
_DOCUMENT_KEYS = frozenset(
    {
        "format",
        "format_version",
        "mixtura_version",
        "estimator",
        "params",
        "family",
        "dtype",
        "fit_info",
        "n_features_in_",
        "feature_names_in_",
        "fitted",
        "arrays",
    }
)
# The document of a composite estimator: its parts' documents under "models".
_COMPOSITE_KEYS = frozenset(
    {
        "format",
        "format_version",
        "mixtura_version",
        "estimator",
        "params",
        "n_features_in_",
        "feature_names_in_",
        "state",
        "models",
        "arrays",
    }
)
_MAX_PARTS = 4096
# Written only by estimators that encode their input (category levels, column
# families): plain JSON (objects, lists, strings, numbers, booleans, null) that the
# estimator's ``_encoding_state()`` gives and ``_set_encoding_state`` checks.
_OPTIONAL_KEYS = frozenset({"encoding"})
_MAX_ENCODING_DEPTH = 8
# Numeric dtypes only: anything else (object, strings, structured) is refused on
# both sides, so no array ever needs pickle.
_ARRAY_DTYPES = frozenset(
    np.dtype(kind).name
    for kind in (
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
    )
)
_FIT_DTYPES = frozenset({"float32", "float64"})
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_ARRAY_NAME = re.compile(rf"(log_weights|(family|fitted|params)\.{_IDENTIFIER})\Z")
_FITTED_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*_\Z")
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
# Bounds on what a file may make the loader hold in memory before any check.
_MAX_JSON_BYTES = 16 * 2**20
_MAX_NPY_HEADER_BYTES = 2**16
_MAX_NDIM = 32
# Weights are a probability vector up to the rounding of normalising in float64.
_WEIGHT_SUM_TOLERANCE = 1e-6
# Fixed member timestamps make the same model give the same bytes.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ADVICE = (
    "Load only files written by mixtura.save; if this one was, it was damaged or "
    "edited: save the model again."
)


def _is_droppable_callback(value):
    return callable(value)


def _is_random_state_instance(value):
    return isinstance(value, (np.random.RandomState, np.random.Generator))


# Parameters a file cannot hold without storing code or generator state; they are
# saved as None with a warning. Anything else unstorable is an error.
_DROPPED_PARAMS = {
    "callback": (_is_droppable_callback, "a callable"),
    "random_state": (_is_random_state_instance, "a RandomState or Generator"),
}


@dataclass(frozen=True)
class ContainerFormat:
    """How model files hold a container of estimators (a scikit-learn Pipeline).

    Registered by the module that implements it (:mod:`mixtura._io_pipeline`
    registers ``'Pipeline'`` when :mod:`mixtura` is imported), so that this
    module, whose helpers it uses, never imports it.

    Attributes
    ----------
    accepts : callable
        ``accepts(model) -> bool``.
    describe : callable
        ``describe(model, arrays, dropped) -> (document, parts)``.
    load : callable
        ``load(archive, document, path) -> model``, after its own audit.
    """

    accepts: object
    describe: object
    load: object


#: a document's ``estimator`` name -> the format of that container
CONTAINER_FORMATS: dict[str, ContainerFormat] = {}


def _container_format_of(model):
    for container in CONTAINER_FORMATS.values():
        if container.accepts(model):
            return container
    return None


# ----------------------------------------------------------------------------------
# save
# ----------------------------------------------------------------------------------
def save(model, path):
    """Write a fitted mixtura estimator to a model file.

    The file is a zip archive of JSON metadata and NumPy arrays; it holds no
    pickled objects, so :func:`load` never runs code from it. The file appears at
    ``path`` only once completely written: a failed save leaves no partial file
    and an existing file untouched.

    Parameters
    ----------
    model : estimator
        A fitted estimator of a class in :data:`mixtura.estimators.ESTIMATORS`,
        or a composite one (:data:`mixtura.estimators.COMPOSITE_ESTIMATORS`,
        e.g. :class:`~mixtura.MixtureDiscriminantAnalysis`), stored with its
        fitted parts, or a fitted :class:`sklearn.pipeline.Pipeline` of
        allowlisted transformers (``mixtura._io_pipeline.TRANSFORMERS``: the
        scalers, PCA, SimpleImputer, FunctionTransformer with ``func=None``)
        ending in a registered mixtura estimator or a composite one.
    path : str or os.PathLike
        Where to write the file (``.mixtura`` by convention); an existing file is
        replaced.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.
    TypeError
        If ``model`` is not a registered estimator, or a hyperparameter has a type
        a model file cannot hold, or a pipeline step is not an allowlisted
        transformer (the message names the step and the supported classes).
    ValueError
        If an array hyperparameter is not numeric or a value is not finite.

    Warns
    -----
    UserWarning
        When ``callback`` is a callable or ``random_state`` a RandomState instance:
        those are saved as None.

    See Also
    --------
    load : Read the model back.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from mixtura import GaussianMixture, load, save
    >>> X = np.array([[1.0, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.mixtura")
    >>> save(gm, path)
    >>> np.array_equal(load(path).predict(X), gm.predict(X))
    True
    """
    check_is_fitted(model)
    arrays, dropped = {}, []
    container = _container_format_of(model)
    if container is not None:
        document, parts = container.describe(model, arrays, dropped)
    else:
        document, parts = _describe_estimator(model, arrays, dropped)
    for name, what in dropped:
        warnings.warn(
            f"mixtura.save: parameter {name!r} holds {what}, which a model file "
            "cannot store safely; it is saved as None. Set it again after loading.",
            UserWarning,
            stacklevel=2,
        )
    _write_archive(os.fspath(path), document, arrays, parts)


def _is_composite(model):
    return COMPOSITE_ESTIMATORS.get(type(model).__name__) is type(model)


def _describe_estimator(model, arrays, dropped):
    """The document of a mixture or composite estimator, and its parts' arrays.

    What a container (a pipeline) calls for the estimator it holds, as
    :func:`save` does for one on its own.

    Parameters
    ----------
    model : estimator
        A fitted registered mixture estimator or composite estimator.
    arrays : dict
        Filled with the estimator's own arrays (name -> array).
    dropped : list
        Filled with (parameter, reason) for parameters saved as None.

    Returns
    -------
    document : dict
    parts : list of dict
        The parts' arrays, in the order of the document's ``models`` (empty for
        a mixture estimator).
    """
    if _is_composite(model):
        return _describe_composite(model, arrays, dropped)
    return _describe_checked(model, arrays, dropped), []


@dataclass(frozen=True)
class _NestedArrays:
    """The arrays of a part that has parts of its own (a composite in a pipeline).

    A part of :func:`_write_archive` is either a dict of its arrays or this;
    the nested parts' members go below the part's prefix
    (``models/<i>/models/<j>/arrays/...``).
    """

    arrays: dict
    parts: tuple = ()


def _describe_checked(model, arrays, dropped):
    """The document of a registered mixture estimator that model files can hold."""
    _check_registered(model)
    if not getattr(model, "_saves_to_model_files", True):
        raise NotImplementedError(
            f"mixtura.save cannot store a {type(model).__name__} yet: model files "
            "hold estimators whose fitted state is a mixture of one family "
            "(GaussianMixture, MixtureModel, the discrete and text mixtures)."
        )
    return _describe(model, arrays, dropped)


def _describe_composite(model, arrays, dropped):
    """The document of a composite estimator, and its parts' arrays.

    Returns
    -------
    document : dict
    parts : list of dict
        Each part's arrays (name -> array), in the order of ``models``.
    """
    state, models = model._model_file_state()
    documents, parts = [], []
    for part in models:
        part_arrays = {}
        documents.append(_describe_checked(part, part_arrays, dropped))
        parts.append(part_arrays)
    feature_names = getattr(model, "feature_names_in_", None)
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "mixtura_version": __version__,
        "estimator": type(model).__name__,
        "params": _encode_params(model, arrays, dropped),
        "n_features_in_": int(model.n_features_in_),
        "feature_names_in_": (
            None if feature_names is None else [str(n) for n in feature_names]
        ),
        "state": state,
        "models": documents,
    }
    document["arrays"] = {
        name: {"shape": list(value.shape), "dtype": value.dtype.name}
        for name, value in sorted(arrays.items())
    }
    return document, parts


def _single_mixture_estimators():
    """Estimators whose fitted state is one mixture: X-only and conditional."""
    return {**ESTIMATORS, **CONDITIONAL_ESTIMATORS}


def _check_registered(model):
    cls = type(model)
    if _single_mixture_estimators().get(cls.__name__) is not cls:
        raise TypeError(
            f"mixtura.save stores registered estimators only, and {cls.__qualname__} "
            f"is not one (registered: {sorted(ESTIMATORS)}). Register the class with "
            "mixtura.estimators.register_estimator so that load can find it."
        )


def _describe(model, arrays, dropped):
    """The ``model.json`` document of ``model``.

    Fills ``arrays`` with its arrays and ``dropped`` with (parameter, reason) for
    the parameters saved as None.
    """
    mixture = model._fitted_mixture()
    dtype = np.dtype(model._fit_dtype())
    if dtype.name not in _FIT_DTYPES:
        raise ValueError(
            f"cannot save a model fitted in {dtype}; model files hold float32 and "
            "float64 models."
        )
    _add_array(arrays, "log_weights", mixture.log_weights)
    for name, value in mixture.family.arrays().items():
        _add_array(arrays, f"family.{name}", value)
    feature_names = getattr(model, "feature_names_in_", None)
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "mixtura_version": __version__,
        "estimator": type(model).__name__,
        "params": _encode_params(model, arrays, dropped),
        "family": {"name": mixture.family.name, "config": mixture.family.config()},
        "dtype": dtype.name,
        "fit_info": {
            name: _encode_fit_info(name, getattr(model, name))
            for name in model._fit_info_attributes
        },
        "n_features_in_": int(model.n_features_in_),
        "feature_names_in_": (
            None if feature_names is None else [str(n) for n in feature_names]
        ),
        # version 2 stores the mixture only; the attributes are derived from it
        "fitted": [],
    }
    if hasattr(model, "_encoding_state"):
        document["encoding"] = model._encoding_state()
    document["arrays"] = {
        name: {"shape": list(value.shape), "dtype": value.dtype.name}
        for name, value in sorted(arrays.items())
    }
    return document


def _add_array(arrays, name, value):
    value = np.asarray(value)
    _check_storable(value, name)
    arrays[name] = value


def _check_storable(array, what):
    if array.dtype.name not in _ARRAY_DTYPES:
        raise ValueError(
            f"cannot save {what}: model files hold numeric arrays only (bool, int, "
            f"float) and it has dtype {array.dtype}. Convert it to numbers first."
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(
            f"cannot save {what}: it contains NaN or infinity, which a model file "
            "refuses on load. Replace those values before saving."
        )


def _encode_params(model, arrays, dropped):
    return {
        name: _encode_param(name, value, arrays, dropped)
        for name, value in model.get_params(deep=False).items()
    }


def _encode_param(name, value, arrays, dropped):
    rule = _DROPPED_PARAMS.get(name)
    if rule is not None and rule[0](value):
        dropped.append((name, rule[1]))
        return None
    scalar = _encode_scalar(value)
    if scalar is not _NOT_SCALAR:
        return scalar
    if isinstance(value, dict):
        return {"mapping": _encode_mapping(name, value)}
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(item, str) for item in value)
    ):
        return {"strings": [str(item) for item in value]}
    if isinstance(value, (np.ndarray, list, tuple, range)):
        try:
            array = np.asarray(value)
        except ValueError as exc:
            raise TypeError(
                f"cannot save parameter {name!r}: it is not a rectangular numeric "
                f"array ({exc})."
            ) from exc
        _add_array(arrays, f"params.{name}", array)
        return {"array": f"params.{name}"}
    raise TypeError(
        f"cannot save parameter {name!r} of type {type(value).__name__}: model files "
        "hold None, booleans, numbers, strings, dicts of those and numeric arrays. "
        "Set it to one of those with set_params before saving."
    )


def _encode_mapping(name, mapping):
    """A dict parameter (e.g. family_params) of string keys and scalar values."""
    encoded = {}
    for key, item in mapping.items():
        scalar = _encode_scalar(item)
        if not isinstance(key, str) or scalar is _NOT_SCALAR:
            raise TypeError(
                f"cannot save parameter {name!r}: its entry {key!r} is not a string "
                "key with a None, boolean, number or string value."
            )
        encoded[key] = scalar
    return encoded


_NOT_SCALAR = object()


def _encode_scalar(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _encode_float(float(value))
    return _NOT_SCALAR


def _encode_float(value):
    # Standard JSON has no NaN or infinity; they are written as tagged strings.
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return {"float": "nan"}
    return {"float": "inf" if value > 0 else "-inf"}


def _encode_fit_info(name, value):
    # numbers, booleans and flat lists of numbers (lower_bounds_), as load accepts
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_encode_fit_scalar(name, item) for item in value]
    return _encode_fit_scalar(name, value)


def _encode_fit_scalar(name, value):
    scalar = _encode_scalar(value)
    if scalar is _NOT_SCALAR or scalar is None or isinstance(scalar, str):
        raise TypeError(
            f"cannot save fit information {name!r} of type {type(value).__name__}; "
            "model files hold numbers, booleans and flat lists of numbers."
        )
    return scalar


def _write_archive(path, document, arrays, parts=()):
    # Everything is encoded before the file is opened, so most errors leave no
    # trace on disk; the archive goes to a temporary file that replaces ``path``
    # only once it is complete.
    try:
        text = json.dumps(document, indent=2, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"cannot save: a value is not finite ({exc}).") from exc
    members = [(_JSON_MEMBER, text.encode("utf-8"))]
    members += _array_members(arrays, parts)
    directory, base = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{base}.{secrets.token_hex(8)}.tmp")
    try:
        with open(temporary, "xb") as handle:
            with zipfile.ZipFile(handle, "w") as archive:
                for name, data in members:
                    archive.writestr(_zip_info(name), data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _array_members(arrays, parts, prefix=""):
    """(member name, .npy bytes) of ``arrays`` and of every part below ``prefix``."""
    members = [
        (_member(name, prefix), _npy_bytes(arrays[name])) for name in sorted(arrays)
    ]
    for index, part in enumerate(parts):
        nested = part if isinstance(part, _NestedArrays) else _NestedArrays(part)
        members += _array_members(
            nested.arrays, nested.parts, prefix + _part_prefix(index)
        )
    return members


def _member(name, prefix=""):
    return f"{prefix}arrays/{name}.npy"


def _part_prefix(index):
    """Where part ``index`` of a composite estimator keeps its arrays."""
    return f"models/{index}/"


def _npy_bytes(array):
    buffer = BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _zip_info(name):
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


# ----------------------------------------------------------------------------------
# load
# ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _ArrayRef:
    """A hyperparameter whose value is the array of that name."""

    name: str


@dataclass(frozen=True)
class _Plan:
    """What an audited file says to build; holds only checked, trusted values."""

    estimator_cls: type
    family_cls: type
    family_config: dict
    params: dict
    dtype: np.dtype
    fit_info: dict
    n_features_in: int
    feature_names: list | None
    fitted: tuple
    manifest: dict
    encoding: object = None

    def members(self, prefix=""):
        """The archive members this plan's arrays are read from."""
        return _manifest_members(self.manifest, prefix)

    def read(self, archive, path, prefix=""):
        """The arrays, each header checked against the manifest first."""
        return _read_manifest(archive, self.manifest, path, prefix)

    def build(self, arrays, path):
        """The fitted estimator, from the arrays :meth:`read` gave."""
        return _construct(self, arrays, path)


def _manifest_members(manifest, prefix):
    """The archive members of a manifest's arrays (below ``prefix``)."""
    return {_member(name, prefix) for name in manifest}


def _read_manifest(archive, manifest, path, prefix):
    """A manifest's arrays, each header checked against its shape and dtype first."""
    return {
        name: _read_array(archive, name, shape, dtype, path, prefix)
        for name, (shape, dtype) in manifest.items()
    }


def load(path):
    """Read a model file written by :func:`save`.

    The file is audited before anything is built: its format and version, the
    estimator and family names (looked up in mixtura's registries, never
    imported), the hyperparameter names and types, and every array's name, shape
    and dtype against the manifest. Arrays are read without pickle.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    model : BaseMixture, composite estimator or sklearn.pipeline.Pipeline
        The fitted estimator, predicting exactly as the saved one did.
        Hyperparameters that were lists come back as arrays; a callable
        ``callback`` or RandomState ``random_state`` that was saved comes back as
        None.

    Raises
    ------
    mixtura.exceptions.ModelFileError
        If the file is not a mixtura model file, is truncated or damaged, was
        edited inconsistently, or has a newer format version than this mixtura
        reads. The message names the file and the problem.
    OSError
        If the file cannot be opened (missing, a directory, no permission).

    See Also
    --------
    save : Write a model file.

    Examples
    --------
    >>> from mixtura import load
    >>> model = load("faithful.mixtura")  # doctest: +SKIP
    >>> model.predict([[3.6, 79.0]])  # doctest: +SKIP
    array([1])
    """
    path = os.fspath(path)
    with _open_archive(path) as archive:
        document = _read_document(archive, path)
        name = document.get("estimator")
        # (an edited name of another type is refused by the audit below)
        container = CONTAINER_FORMATS.get(name) if isinstance(name, str) else None
        if container is not None:
            return container.load(archive, document, path)
        plan = _audit_estimator_document(document, path)
        _check_member_names(archive, plan.members(), path)
        arrays = plan.read(archive, path)
    return plan.build(arrays, path)


def _audit_estimator_document(document, path):
    """The plan of a mixture estimator's or a composite estimator's document.

    A composite's document is the one with ``models`` (its parts'); either
    plan offers ``n_features_in``, ``members(prefix)``, ``read(archive, path,
    prefix)`` and ``build(arrays, path)``, so that a container (a pipeline)
    holds either the same way.
    """
    if "models" in document:
        return _audit_composite(document, path)
    return _audit(document, path)


@dataclass(frozen=True)
class _CompositePlan:
    """What an audited composite estimator's file says to build."""

    estimator_cls: type
    params: dict
    n_features_in: int
    feature_names: list | None
    state: object
    parts: tuple
    manifest: dict

    def members(self, prefix=""):
        """The members of its own arrays and of its parts' (below ``prefix``)."""
        expected = _manifest_members(self.manifest, prefix)
        for index, part in enumerate(self.parts):
            expected |= part.members(prefix + _part_prefix(index))
        return expected

    def read(self, archive, path, prefix=""):
        """Its own arrays and a list of its parts' arrays."""
        arrays = _read_manifest(archive, self.manifest, path, prefix)
        part_arrays = [
            part.read(archive, path, prefix + _part_prefix(index))
            for index, part in enumerate(self.parts)
        ]
        return arrays, part_arrays

    def build(self, arrays, path):
        """The fitted composite estimator, from the arrays :meth:`read` gave."""
        own, part_arrays = arrays
        return _construct_composite(self, own, part_arrays, path)


def _audit_composite(document, path):
    _audit_version(document, path)
    missing = sorted(_COMPOSITE_KEYS - set(document))
    if missing:
        raise _error(path, f"{_JSON_MEMBER} lacks the keys {missing}")
    unknown = sorted(set(document) - _COMPOSITE_KEYS)
    if unknown:
        raise _error(path, f"{_JSON_MEMBER} has unknown keys {unknown}")
    if not isinstance(document["mixtura_version"], str):
        raise _error(path, "mixtura_version must be a string")
    name = document["estimator"]
    # Only a dictionary lookup, as for the mixture estimators.
    if not isinstance(name, str) or name not in COMPOSITE_ESTIMATORS:
        raise _error(
            path,
            f"unknown composite estimator {name!r}; the known ones are "
            f"{sorted(COMPOSITE_ESTIMATORS)}",
            "A file naming another class was written by a newer mixtura or edited; "
            "upgrade mixtura or save the model again.",
        )
    estimator_cls = COMPOSITE_ESTIMATORS[name]
    manifest = _audit_manifest(document["arrays"], path)
    params = _audit_params(document["params"], estimator_cls, path)
    referenced = {v.name for v in params.values() if isinstance(v, _ArrayRef)}
    if set(manifest) != referenced:
        raise _error(
            path,
            f"the manifest lists the arrays {sorted(manifest)}, but the parameters "
            f"refer to {sorted(referenced)}",
        )
    n_features, feature_names = _audit_features(document, path)
    models = document["models"]
    if not isinstance(models, list) or not 1 <= len(models) <= _MAX_PARTS:
        raise _error(path, f"models must be a list of 1 to {_MAX_PARTS} documents")
    parts = []
    for index, part in enumerate(models):
        where = f"{path} [part {index}]"
        if not isinstance(part, dict) or part.get("format") != FORMAT_NAME:
            raise _error(where, f"a part must be a {FORMAT_NAME!r} document")
        parts.append(_audit(part, where))
    return _CompositePlan(
        estimator_cls=estimator_cls,
        params=params,
        n_features_in=n_features,
        feature_names=feature_names,
        state=_audit_encoding(document["state"], path),
        parts=tuple(parts),
        manifest=manifest,
    )


def _construct_composite(plan, arrays, part_arrays, path):
    params = {
        name: arrays[value.name] if isinstance(value, _ArrayRef) else value
        for name, value in plan.params.items()
    }
    cls = plan.estimator_cls
    with _wrap_errors(path, f"its parameters are invalid for {cls.__name__}"):
        estimator = cls(**params)
        estimator._validate_params()
    models = [
        _construct(part, part_arrays[index], f"{path} [part {index}]")
        for index, part in enumerate(plan.parts)
    ]
    # parts see the model's columns, unless the estimator says otherwise from its
    # state (GaussianMixtureRegression's joint mixture also sees the outputs)
    part_features = plan.n_features_in
    if hasattr(estimator, "_model_file_part_features"):
        with _wrap_errors(path, "its state is invalid"):
            part_features = estimator._model_file_part_features(
                plan.state, plan.n_features_in
            )
    for index, model in enumerate(models):
        if model.n_features_in_ != part_features:
            raise _error(
                path,
                f"part {index} has {model.n_features_in_} features, the model "
                f"{part_features}",
            )
    with _wrap_errors(path, "its state is invalid"):
        estimator._set_model_file_state(plan.state, models)
    estimator.n_features_in_ = plan.n_features_in
    if plan.feature_names is not None:
        estimator.feature_names_in_ = np.asarray(plan.feature_names, dtype=object)
    return estimator


def _error(path, problem, advice=_ADVICE):
    return ModelFileError(f"Cannot load model file {path!r}: {problem}. {advice}")


@contextlib.contextmanager
def _wrap_errors(path, what):
    """Report any exception raised while building as a ModelFileError on ``path``."""
    try:
        yield
    except Exception as exc:
        raise _error(path, f"{what} ({type(exc).__name__}: {exc})") from exc


# What zipfile raises for a damaged or crafted archive; a file that cannot be
# opened at all (missing, a directory) raises OSError before these apply.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


@contextlib.contextmanager
def _open_archive(path):
    with open(path, "rb") as handle:
        try:
            archive = zipfile.ZipFile(handle)
        except _ZIP_ERRORS as exc:
            raise _error(
                path,
                "it is not a zip archive, so it is not a mixtura model file or it "
                f"was truncated ({exc})",
            ) from exc
        with archive:
            yield archive


def _read_member(archive, name, max_bytes, path):
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise _error(path, f"member {name!r} is encrypted")
    if info.file_size > max_bytes:
        raise _error(
            path, f"member {name!r} holds {info.file_size} bytes, over {max_bytes}"
        )
    try:
        return archive.read(info)
    except _ZIP_ERRORS as exc:
        raise _error(path, f"member {name!r} is damaged ({exc})") from exc


def _read_document(archive, path):
    if _JSON_MEMBER not in archive.namelist():
        raise _error(
            path,
            f"the zip archive holds no {_JSON_MEMBER}, so it is not a mixtura model "
            "file (a NumPy .npz file or another zip archive?)",
        )
    raw = _read_member(archive, _JSON_MEMBER, _MAX_JSON_BYTES, path)
    try:
        document = json.loads(
            raw.decode("utf-8"),
            parse_constant=_refuse_constant,
            object_pairs_hook=_refuse_duplicates,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _error(path, f"{_JSON_MEMBER} is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise _error(
            path,
            f"{_JSON_MEMBER} does not declare format {FORMAT_NAME!r}, so this is not "
            "a mixtura model file",
        )
    return document


def _refuse_constant(name):
    raise ValueError(f"{name} is not standard JSON")


def _refuse_duplicates(pairs):
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate keys {duplicates}")
    return dict(pairs)


# -- audit: check the document against the registries, build nothing ----------------
def _audit(document, path):
    _audit_version(document, path)
    _audit_keys(document, path)
    estimator_cls = _audit_estimator(document["estimator"], path)
    family_cls, family_config = _audit_family(document["family"], path)
    dtype = document["dtype"]
    # a string first: a list or dict is unhashable (issue 19: TypeError escaped)
    if not isinstance(dtype, str) or dtype not in _FIT_DTYPES:
        raise _error(path, f"dtype must be one of {sorted(_FIT_DTYPES)}; got {dtype!r}")
    manifest = _audit_manifest(document["arrays"], path)
    params = _audit_params(document["params"], estimator_cls, path)
    fitted = _audit_fitted(document["fitted"], document["format_version"], path)
    _audit_array_names(manifest, params, fitted, path)
    n_features, feature_names = _audit_features(document, path)
    return _Plan(
        estimator_cls=estimator_cls,
        family_cls=family_cls,
        family_config=family_config,
        params=params,
        dtype=np.dtype(dtype),
        fit_info=_audit_fit_info(document["fit_info"], estimator_cls, path),
        n_features_in=n_features,
        feature_names=feature_names,
        fitted=fitted,
        manifest=manifest,
        encoding=_audit_encoding(document.get("encoding"), path),
    )


def _audit_encoding(value, path, depth=0):
    """Plain JSON only (no tagged objects are decoded); bounded nesting."""
    if depth > _MAX_ENCODING_DEPTH:
        raise _error(path, "the encoding is nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_audit_encoding(item, path, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            key: _audit_encoding(item, path, depth + 1) for key, item in value.items()
        }
    raise _error(path, f"the encoding holds an unsupported value {value!r}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _audit_version(document, path):
    version = document.get("format_version")
    if not _is_int(version) or version < 1:
        raise _error(path, f"unknown format version {version!r}")
    if version > FORMAT_VERSION:
        raise _error(
            path,
            f"it has format version {version} (written by mixtura "
            f"{document.get('mixtura_version')!s}), and this mixtura {__version__} "
            f"reads versions up to {FORMAT_VERSION}",
            "Upgrade mixtura (pip install --upgrade mixtura) to load it.",
        )


def _audit_keys(document, path):
    missing = sorted(_DOCUMENT_KEYS - set(document))
    if missing:
        raise _error(path, f"{_JSON_MEMBER} lacks the keys {missing}")
    unknown = sorted(set(document) - _DOCUMENT_KEYS - _OPTIONAL_KEYS)
    if unknown:
        raise _error(path, f"{_JSON_MEMBER} has unknown keys {unknown}")
    if not isinstance(document["mixtura_version"], str):
        raise _error(path, "mixtura_version must be a string")


def _audit_estimator(name, path):
    # Only a dictionary lookup: a name like "os.system" is never imported.
    known = _single_mixture_estimators()
    if not isinstance(name, str) or name not in known:
        raise _error(
            path,
            f"unknown estimator {name!r}; the known estimators are {sorted(known)}",
            "A file naming another class was written by a newer mixtura or edited; "
            "upgrade mixtura or save the model again.",
        )
    return known[name]


def _audit_family(entry, path):
    if not isinstance(entry, dict) or set(entry) != {"name", "config"}:
        raise _error(path, "family must be an object with keys 'name' and 'config'")
    name, config = entry["name"], entry["config"]
    if not isinstance(name, str) or name not in FAMILIES:
        raise _error(
            path,
            f"unknown family {name!r}; the known families are {sorted(FAMILIES)}",
        )
    if not isinstance(config, dict):
        raise _error(path, "the family's config must be an object")
    return FAMILIES[name], config


def _audit_manifest(manifest, path):
    if not isinstance(manifest, dict):
        raise _error(path, "arrays must be an object mapping names to shape and dtype")
    return {
        name: _audit_manifest_entry(name, entry, path)
        for name, entry in manifest.items()
    }


def _audit_manifest_entry(name, entry, path, pattern=_ARRAY_NAME):
    if not pattern.match(name):
        raise _error(path, f"invalid array name {name!r} in the manifest")
    if not isinstance(entry, dict) or set(entry) != {"shape", "dtype"}:
        raise _error(path, f"manifest entry of {name!r} needs exactly shape and dtype")
    shape, dtype = entry["shape"], entry["dtype"]
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_NDIM
        or not all(_is_int(n) and n >= 0 for n in shape)
    ):
        raise _error(path, f"array {name!r} has an invalid shape {shape!r}")
    if not isinstance(dtype, str) or dtype not in _ARRAY_DTYPES:
        raise _error(
            path,
            f"array {name!r} has dtype {dtype!r}; model files hold numeric arrays "
            f"only ({sorted(_ARRAY_DTYPES)})",
        )
    return tuple(shape), np.dtype(dtype)


def _audit_params(params, estimator_cls, path):
    if not isinstance(params, dict):
        raise _error(path, "params must be an object")
    valid = set(estimator_cls._get_param_names())
    unknown = sorted(set(params) - valid)
    if unknown:
        raise _error(
            path,
            f"unknown parameters {unknown} for {estimator_cls.__name__} (valid: "
            f"{sorted(valid)})",
            "The file was written by another mixtura version or edited; load it "
            "with that version and save the model again.",
        )
    # A missing parameter takes the constructor's default, so files stay readable
    # when an estimator gains a parameter.
    return {name: _decode_param(name, value, path) for name, value in params.items()}


def _decode_param(name, value, path):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict) and set(value) == {"array"}:
        if value["array"] != f"params.{name}":
            raise _error(
                path, f"parameter {name!r} must refer to array 'params.{name}'"
            )
        return _ArrayRef(value["array"])
    if isinstance(value, dict) and set(value) == {"mapping"}:
        return _decode_mapping(name, value["mapping"], path)
    if isinstance(value, dict) and set(value) == {"strings"}:
        strings = value["strings"]
        if not isinstance(strings, list) or not all(
            isinstance(item, str) for item in strings
        ):
            raise _error(path, f"parameter {name!r} must be a list of strings")
        return tuple(strings)
    decoded = _decode_float(value)
    if decoded is None:
        raise _error(path, f"parameter {name!r} has an unsupported value {value!r}")
    return decoded


def _decode_mapping(name, mapping, path):
    if not isinstance(mapping, dict):
        raise _error(path, f"parameter {name!r} must map names to values")
    decoded = {}
    for key, item in mapping.items():
        if item is None or isinstance(item, (bool, int, float, str)):
            decoded[key] = item
        elif (number := _decode_float(item)) is not None:
            decoded[key] = number
        else:
            raise _error(
                path, f"parameter {name!r} has an unsupported entry {key!r}: {item!r}"
            )
    return decoded


def _decode_float(value):
    """The float a tagged ``{"float": "inf"}`` stands for, or None."""
    if isinstance(value, dict) and set(value) == {"float"}:
        return (
            _NONFINITE.get(value["float"]) if isinstance(value["float"], str) else None
        )
    return None


def _audit_fitted(fitted, version, path):
    if not isinstance(fitted, list) or not all(
        isinstance(name, str) and _FITTED_NAME.match(name) for name in fitted
    ):
        raise _error(path, "fitted must be a list of fitted attribute names")
    if len(set(fitted)) != len(fitted):
        raise _error(path, "fitted lists an attribute twice")
    if fitted and version >= _MIXTURE_ONLY_VERSION:
        raise _error(
            path,
            f"format version {version} derives the fitted attributes from the "
            f"mixture, but fitted lists {fitted}",
        )
    return tuple(fitted)


def _audit_array_names(manifest, params, fitted, path):
    expected = {"log_weights"}
    expected |= {f"fitted.{name}" for name in fitted}
    expected |= {v.name for v in params.values() if isinstance(v, _ArrayRef)}
    missing = sorted(expected - set(manifest))
    if missing:
        raise _error(path, f"the manifest lacks the arrays {missing}")
    # family.* arrays are the family's to name; from_arrays checks them
    unexpected = sorted(
        name
        for name in manifest
        if name not in expected and not name.startswith("family.")
    )
    if unexpected:
        raise _error(path, f"the manifest lists arrays nothing uses: {unexpected}")


def _audit_fit_info(fit_info, estimator_cls, path):
    names = set(estimator_cls._fit_info_attributes)
    if not isinstance(fit_info, dict) or set(fit_info) != names:
        raise _error(path, f"fit_info must be an object with keys {sorted(names)}")
    return {name: _decode_fit_info(name, fit_info[name], path) for name in fit_info}


def _decode_fit_info(name, value, path):
    if isinstance(value, list):  # flat lists only, such as lower_bounds_
        return [_decode_fit_scalar(name, item, path) for item in value]
    return _decode_fit_scalar(name, value, path)


def _decode_fit_scalar(name, value, path):
    if isinstance(value, (bool, int, float)):
        return value
    decoded = _decode_float(value)
    if decoded is None:
        raise _error(path, f"fit_info {name!r} has an unsupported value {value!r}")
    return decoded


def _audit_features(document, path):
    n_features, names = document["n_features_in_"], document["feature_names_in_"]
    if not _is_int(n_features) or n_features < 1:
        raise _error(
            path, f"n_features_in_ must be a positive integer; got {n_features!r}"
        )
    if names is not None and (
        not isinstance(names, list)
        or len(names) != n_features
        or not all(isinstance(name, str) for name in names)
    ):
        raise _error(path, f"feature_names_in_ must be null or {n_features} strings")
    return n_features, names


def _check_member_names(archive, array_members, path):
    """The archive holds model.json and exactly the declared array members."""
    members = archive.namelist()
    if len(set(members)) != len(members):
        raise _error(path, "the zip archive holds a member name twice")
    expected = {_JSON_MEMBER} | set(array_members)
    missing = sorted(expected - set(members))
    if missing:
        raise _error(path, f"the arrays' members {missing} are missing")
    unexpected = sorted(set(members) - expected)
    if unexpected:
        raise _error(path, f"unexpected members {unexpected} that no entry declares")


def _read_array(archive, name, shape, dtype, path, prefix=""):
    """Read one array, checking its header against the manifest before its data."""
    n_bytes = math.prod(shape) * dtype.itemsize
    member = _member(name, prefix)
    raw = _read_member(archive, member, n_bytes + _MAX_NPY_HEADER_BYTES, path)
    stream = BytesIO(raw)
    header_shape, header_dtype = _read_npy_header(stream, name, path)
    if header_dtype.hasobject or header_dtype.name not in _ARRAY_DTYPES:
        raise _error(
            path,
            f"array {name!r} has dtype {header_dtype}; object and other non-numeric "
            "arrays are never loaded",
        )
    if header_shape != shape:
        raise _error(
            path, f"array {name!r} has shape {header_shape}; the manifest says {shape}"
        )
    if header_dtype.name != dtype.name:
        raise _error(
            path,
            f"array {name!r} has dtype {header_dtype.name}; the manifest says "
            f"{dtype.name}",
        )
    if len(raw) != stream.tell() + n_bytes:
        raise _error(
            path,
            f"array {name!r} holds {len(raw) - stream.tell()} bytes of data for "
            f"{n_bytes} expected",
        )
    stream.seek(0)
    array = np.load(stream, allow_pickle=False)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise _error(path, f"array {name!r} contains NaN or infinity")
    return array


def _read_npy_header(stream, name, path):
    try:
        shape, _, dtype = read_npy_header(stream)
    except ValueError as exc:
        raise _error(path, f"array {name!r} is not a valid .npy file ({exc})") from exc
    return shape, dtype


# -- construct: only audited values reach the constructors ---------------------------
def _construct(plan, arrays, path):
    params = {
        name: arrays[value.name] if isinstance(value, _ArrayRef) else value
        for name, value in plan.params.items()
    }
    cls = plan.estimator_cls
    with _wrap_errors(path, f"its parameters are invalid for {cls.__name__}"):
        estimator = cls(**params)
        estimator._validate_params()
    if plan.encoding is not None:
        if not hasattr(estimator, "_set_encoding_state"):
            raise _error(
                path, f"{cls.__name__} takes no encoding, but the file has one"
            )
        with _wrap_errors(path, "its encoding is invalid"):
            estimator._set_encoding_state(plan.encoding)
    _check_family_matches(estimator, plan, path)
    if plan.encoding is None and hasattr(estimator, "_set_encoding_state"):
        # issue 19: a CategoricalMixture file whose encoding was nulled loaded a
        # model without its levels, whose predictions raised AttributeError
        raise _error(path, f"{cls.__name__} needs an encoding, and the file has none")
    mixture = _build_mixture(plan, arrays, path)
    _set_fitted_arrays(estimator, mixture, plan, arrays, path)
    for name, value in plan.fit_info.items():
        setattr(estimator, name, value)
    if plan.n_features_in != mixture.n_features:
        raise _error(
            path,
            f"n_features_in_ is {plan.n_features_in} but the components have "
            f"{mixture.n_features} features",
        )
    estimator.n_features_in_ = plan.n_features_in
    if plan.feature_names is not None:
        # scikit-learn keeps feature names as an object array of str
        estimator.feature_names_in_ = np.asarray(plan.feature_names, dtype=object)
    return estimator


def _check_family_matches(estimator, plan, path):
    with _wrap_errors(path, "its parameters give no family"):
        template = estimator._family_template()
    expected = {"name": template.name, "config": template.config()}
    found = {"name": plan.family_cls.name, "config": plan.family_config}
    if expected != found:
        raise _error(
            path,
            f"the family {found} does not match the one its {type(estimator).__name__}"
            f" parameters give, {expected}",
        )


def _build_mixture(plan, arrays, path):
    family_arrays = {
        name.removeprefix("family."): value
        for name, value in arrays.items()
        if name.startswith("family.")
    }
    with _wrap_errors(path, f"its {plan.family_cls.name!r} family arrays are invalid"):
        family = plan.family_cls.from_arrays(plan.family_config, family_arrays)
    log_weights = arrays["log_weights"]
    if log_weights.shape != (family.n_components,):
        raise _error(
            path,
            f"log_weights has shape {log_weights.shape} for "
            f"{family.n_components} components",
        )
    total = float(logsumexp(log_weights.astype(np.float64), 0, np))
    if abs(total) > _WEIGHT_SUM_TOLERANCE:
        raise _error(
            path,
            "the weights are not a probability vector (the log of their sum is "
            f"{total:.3g}, not 0)",
        )
    with _wrap_errors(path, "its weights do not fit its components"):
        # as saved: normalising again would move the weights by a rounding
        return Mixture(log_weights, family, normalize=False)


def _set_fitted_arrays(estimator, mixture, plan, arrays, path):
    # The file's mixture becomes the fitted mixture, as it was the saved model's,
    # and the fitted attributes are derived from it, as the fit derived them: the
    # loaded model predicts, scores and samples bit for bit as the saved one.
    with _wrap_errors(path, "its fitted attributes could not be derived"):
        estimator._adopt_mixture(mixture, plan.dtype)
    # Version 1 files also hold the attributes; they must agree with the mixture
    # (up to the rounding of rederiving them in the fit's dtype).
    for name in plan.fitted:
        derived = estimator.__dict__.get(name)
        if not isinstance(derived, np.ndarray):
            raise _error(
                path,
                f"it stores the fitted array {name!r}, which "
                f"{type(estimator).__name__} does not have",
            )
        _check_consistent(name, arrays[f"fitted.{name}"], derived, path)


def _check_consistent(name, stored, derived, path):
    if stored.shape != derived.shape or stored.dtype != derived.dtype:
        raise _error(
            path,
            f"fitted array {name!r} has shape {stored.shape} and dtype {stored.dtype}; "
            f"the model's parameters give {derived.shape} and {derived.dtype}",
        )
    if derived.dtype.kind == "f" and derived.size:
        # rounding of the estimator's dtype, relative to the array's scale
        tolerance = math.sqrt(np.finfo(derived.dtype).eps)
        scale = max(float(np.abs(derived).max()), np.finfo(derived.dtype).tiny)
        close = np.allclose(stored, derived, rtol=tolerance, atol=tolerance * scale)
    else:
        close = np.array_equal(stored, derived)
    if not close:
        raise _error(
            path,
            f"fitted array {name!r} does not match the one its family and weights give",
        )
