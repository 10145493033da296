"""Model files of scikit-learn pipelines that end in a mixtura estimator.

A fitted :class:`sklearn.pipeline.Pipeline` whose steps are allowlisted
transformers and whose last step is a registered mixtura estimator is stored as a
composite document (see :mod:`mixtura.io`)::

    model.json              format name and version, "estimator": "Pipeline",
                            the pipeline's params, ``steps`` (one entry per
                            transformer: name, class, constructor params,
                            fitted attributes), ``final`` (the last step's
                            name), ``models`` (the last step's document) and
                            the manifest of the transformers' arrays
    arrays/steps.<i>.<attribute>.npy
    models/0/arrays/...     the last step's arrays
    models/0/models/<j>/arrays/...
                            when the last step is a composite estimator
                            (:data:`~mixtura.estimators.COMPOSITE_ESTIMATORS`:
                            ``MixtureDiscriminantAnalysis``,
                            ``GaussianMixtureRegression``), its part ``j``'s

The last step's document and members below ``models/0/`` are those of its own
file (:mod:`mixtura.io`), so a composite is audited, read and built by the same
code as when it is saved alone.

A transformer is stored as its constructor parameters (JSON scalars) and the
fitted attributes its class lists in :data:`TRANSFORMERS`, each an array
(``float`` or ``int``, of a shape given by the step's width and, for PCA, its
number of components) or a scalar. Loading looks the class name up in that
table (never imports it), checks every parameter and attribute name, every
array's shape and dtype, and the widths of consecutive steps, and only then
builds the transformers and the pipeline. Nothing is unpickled or called from
the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from mixtura import io as _io

__all__ = ["TRANSFORMERS", "describe_pipeline", "is_pipeline", "load_pipeline"]

PIPELINE = "Pipeline"
_PIPELINE_KEYS = frozenset(
    {
        "format",
        "format_version",
        "mixtura_version",
        "estimator",
        "params",
        "steps",
        "final",
        "models",
        "arrays",
    }
)
_STEP_KEYS = frozenset({"name", "class", "params", "attributes", "feature_names_in_"})
_MAX_STEPS = 64
_STEP_ARRAY = re.compile(r"steps\.([0-9]{1,3})\.([A-Za-z_][A-Za-z0-9_]*)\Z")
_SVD_SOLVERS = frozenset({"full", "arpack", "randomized", "covariance_eigh"})
_IMPUTER_STRATEGIES = frozenset({"mean", "median", "most_frequent", "constant"})
_NUMERIC_DTYPES = frozenset({"float16", "float32", "float64", "int32", "int64"})


# Forms of a fitted attribute: ("array", shape, kinds) with shape symbols "f"
# (the step's n_features_in_) and "c" (n_components_) and kinds a string of
# dtype kinds; "int", "float", "none"; ("choice", names); "dtype" (a numeric
# dtype's name).
def _array(*shape, kinds="f"):
    return ("array", shape, kinds)


_PER_FEATURE = _array("f")
_PER_COMPONENT = _array("c")


@dataclass(frozen=True)
class _Spec:
    """What a model file keeps of one transformer class."""

    attributes: dict
    #: attributes that a fitted transformer may lack (then they are not stored)
    optional: frozenset = frozenset()
    #: the width of the step's output, from its attributes (None: its input's)
    width_out: str | None = None


def _specs():
    """Transformer class name -> (class, spec); imported only when needed."""
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import (
        FunctionTransformer,
        MaxAbsScaler,
        MinMaxScaler,
        RobustScaler,
        StandardScaler,
    )

    n_features = {"n_features_in_": ("int",)}
    return {
        "StandardScaler": (
            StandardScaler,
            _Spec(
                {
                    **n_features,
                    "n_samples_seen_": ("int", "float", _array("f", kinds="iuf")),
                    "mean_": (_PER_FEATURE, "none"),
                    "var_": (_PER_FEATURE, "none"),
                    "scale_": (_PER_FEATURE, "none"),
                }
            ),
        ),
        "MinMaxScaler": (
            MinMaxScaler,
            _Spec(
                {
                    **n_features,
                    "n_samples_seen_": ("int",),
                    "min_": (_PER_FEATURE,),
                    "scale_": (_PER_FEATURE,),
                    "data_min_": (_PER_FEATURE,),
                    "data_max_": (_PER_FEATURE,),
                    "data_range_": (_PER_FEATURE,),
                }
            ),
        ),
        "MaxAbsScaler": (
            MaxAbsScaler,
            _Spec(
                {
                    **n_features,
                    "n_samples_seen_": ("int",),
                    "max_abs_": (_PER_FEATURE,),
                    "scale_": (_PER_FEATURE,),
                }
            ),
        ),
        "RobustScaler": (
            RobustScaler,
            _Spec(
                {
                    **n_features,
                    "center_": (_PER_FEATURE, "none"),
                    "scale_": (_PER_FEATURE, "none"),
                }
            ),
        ),
        "PCA": (
            PCA,
            _Spec(
                {
                    **n_features,
                    "n_components_": ("int",),
                    "n_samples_": ("int",),
                    "noise_variance_": ("float",),
                    "_fit_svd_solver": (("choice", _SVD_SOLVERS),),
                    "mean_": (_PER_FEATURE,),
                    "components_": (_array("c", "f"),),
                    "explained_variance_": (_PER_COMPONENT,),
                    "explained_variance_ratio_": (_PER_COMPONENT,),
                    "singular_values_": (_PER_COMPONENT,),
                },
                width_out="n_components_",
            ),
        ),
        "FunctionTransformer": (
            FunctionTransformer,
            _Spec(n_features, optional=frozenset({"n_features_in_"})),
        ),
        "SimpleImputer": (
            SimpleImputer,
            _Spec(
                {
                    **n_features,
                    "statistics_": (_PER_FEATURE,),
                    "indicator_": ("none",),
                    "_fit_dtype": ("dtype",),
                    "_fill_dtype": ("dtype",),
                }
            ),
        ),
    }


#: the transformer classes a pipeline in a model file may hold
TRANSFORMERS = (
    "FunctionTransformer",
    "MaxAbsScaler",
    "MinMaxScaler",
    "PCA",
    "RobustScaler",
    "SimpleImputer",
    "StandardScaler",
)


def is_pipeline(model):
    """Whether ``model`` is a scikit-learn Pipeline (imports nothing new)."""
    return type(model).__name__ == PIPELINE and hasattr(model, "steps")


# ----------------------------------------------------------------------------------
# save
# ----------------------------------------------------------------------------------
def describe_pipeline(pipeline, arrays, dropped):
    """The document of a fitted pipeline, and its last step's arrays.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted; every step but the last an allowlisted transformer (or
        ``'passthrough'``), the last a registered mixtura estimator.
    arrays : dict
        Filled with the transformers' arrays (name -> array).
    dropped : list
        Filled with (parameter, reason) for parameters saved as None.

    Returns
    -------
    document : dict
    parts : list of dict
        The last step's arrays.

    Raises
    ------
    TypeError
        If a step is not an allowlisted transformer, the last step not a mixtura
        estimator, or a parameter not storable.
    """
    from sklearn.pipeline import Pipeline

    if type(pipeline) is not Pipeline:
        raise TypeError(
            f"mixtura.save stores sklearn.pipeline.Pipeline itself, not "
            f"{type(pipeline).__qualname__}."
        )
    if pipeline.memory is not None or getattr(pipeline, "transform_input", None):
        raise TypeError(
            "mixtura.save stores pipelines without memory and transform_input only; "
            "set them to None before saving."
        )
    *transformers, (final_name, final) = pipeline.steps
    if not _io._is_composite(final):
        try:
            _io._check_registered(final)
        except TypeError as exc:
            raise TypeError(
                f"the last step {final_name!r} of the pipeline cannot be saved: {exc}"
            ) from exc
    specs = _specs()
    steps = [
        _describe_step(index, name, step, specs, arrays, dropped)
        for index, (name, step) in enumerate(transformers)
    ]
    part_arrays = {}
    # a composite's own document and parts, as its own file holds them
    model_document, nested = _io._describe_estimator(final, part_arrays, dropped)
    document = {
        "format": _io.FORMAT_NAME,
        "format_version": _io.FORMAT_VERSION,
        "mixtura_version": _io.__version__,
        "estimator": PIPELINE,
        "params": {"verbose": bool(pipeline.verbose)},
        "steps": steps,
        "final": str(final_name),
        "models": [model_document],
        "arrays": {
            name: {"shape": list(value.shape), "dtype": value.dtype.name}
            for name, value in sorted(arrays.items())
        },
    }
    return document, [_io._NestedArrays(part_arrays, tuple(nested))]


def _refuse_step(name, step, why=""):
    return TypeError(
        f"mixtura.save cannot store the pipeline step {name!r} "
        f"({type(step).__qualname__}){': ' + why if why else ''}. A pipeline in a "
        f"model file holds the transformers {list(TRANSFORMERS)} (or "
        "'passthrough') followed by a registered mixtura estimator or a "
        "composite one (e.g. MixtureDiscriminantAnalysis)."
    )


def _describe_step(index, name, step, specs, arrays, dropped):
    if not isinstance(name, str):
        raise TypeError(f"pipeline step names must be strings; got {name!r}")
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return {"name": name, "class": "passthrough", "params": {}, "attributes": {}}
    entry = specs.get(type(step).__name__)
    if entry is None or type(step) is not entry[0]:
        raise _refuse_step(name, step)
    _check_step_params(name, step)
    params = {}
    for key, value in step.get_params(deep=False).items():
        rule = _io._DROPPED_PARAMS.get(key)
        if rule is not None and rule[0](value):
            dropped.append((f"{name}__{key}", rule[1]))
            value = None
        scalar = _encode_step_param(value)
        if scalar is _io._NOT_SCALAR:
            raise _refuse_step(
                name,
                step,
                f"its parameter {key!r} is a {type(value).__name__}, and model files "
                "hold None, booleans, numbers, strings and tuples of numbers",
            )
        params[key] = scalar
    attributes = {}
    for attribute, forms in entry[1].attributes.items():
        if attribute not in vars(step):
            if attribute in entry[1].optional:
                continue
            raise _refuse_step(name, step, f"it lacks the attribute {attribute!r}")
        attributes[attribute] = _encode_attribute(
            index, name, step, attribute, vars(step)[attribute], forms, arrays
        )
    names = vars(step).get("feature_names_in_")
    return {
        "name": name,
        "class": type(step).__name__,
        "params": params,
        "attributes": attributes,
        "feature_names_in_": None if names is None else [str(n) for n in names],
    }


def _encode_step_param(value):
    """A JSON scalar, or ``{"tuple": [...]}`` for a tuple of numbers (ranges)."""
    if isinstance(value, tuple) and 0 < len(value) <= 8:
        items = [_io._encode_scalar(item) for item in value]
        if all(isinstance(item, (int, float)) for item in items) and not any(
            isinstance(item, bool) for item in items
        ):
            return {"tuple": items}
        return _io._NOT_SCALAR
    return _io._encode_scalar(value)


def _check_step_params(name, step):
    cls = type(step).__name__
    if cls == "FunctionTransformer" and (
        step.func is not None or step.inverse_func is not None
    ):
        raise _refuse_step(
            name,
            step,
            "a FunctionTransformer is stored only with func=None and "
            "inverse_func=None (a function is code)",
        )
    if cls == "SimpleImputer":
        if step.strategy not in _IMPUTER_STRATEGIES or step.add_indicator:
            raise _refuse_step(
                name,
                step,
                "a SimpleImputer is stored with a named strategy "
                f"({sorted(_IMPUTER_STRATEGIES)}) and add_indicator=False only",
            )
        if np.dtype(step._fit_dtype).name not in _NUMERIC_DTYPES:
            raise _refuse_step(name, step, "it was fitted on non-numeric data")


def _encode_attribute(index, name, step, attribute, value, forms, arrays):
    if value is None and "none" in forms:
        return None
    if "dtype" in forms:
        dtype = np.dtype(value).name
        if dtype not in _NUMERIC_DTYPES:
            raise _refuse_step(name, step, f"its {attribute} is {dtype}")
        return {"dtype": dtype}
    if isinstance(value, np.ndarray) and value.ndim > 0:
        key = f"steps.{index}.{attribute}"
        _io._add_array(arrays, key, value)
        if value.flags.c_contiguous or value.flags.f_contiguous or not value.size:
            return {"array": key}
        # a strided view (PCA's arpack and randomized components_): BLAS rounds by
        # the memory layout, so the loaded array gets the same strides back
        return {"array": key, "strides": [s // value.itemsize for s in value.strides]}
    if isinstance(value, str):
        return value
    scalar = _io._encode_scalar(
        value.item() if isinstance(value, np.generic) else value
    )
    if scalar is _io._NOT_SCALAR or scalar is None:
        raise _refuse_step(
            name, step, f"its attribute {attribute!r} has an unexpected value"
        )
    return scalar


# ----------------------------------------------------------------------------------
# load
# ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _StepPlan:
    name: str
    cls: type | None  # None: passthrough
    params: dict
    attributes: dict
    feature_names: list | None


def load_pipeline(archive, document, path):
    """Audit a pipeline's document, read its arrays, then build the pipeline.

    Parameters
    ----------
    archive : zipfile.ZipFile
    document : dict
        The file's ``model.json``.
    path : str
        The file, for messages.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline

    Raises
    ------
    mixtura.exceptions.ModelFileError
        If anything in the file is not as :func:`describe_pipeline` writes it.
    """
    manifest, steps, final_name, part, verbose = _audit_pipeline(document, path)
    expected = _io._manifest_members(manifest, "")
    expected |= part.members(_io._part_prefix(0))
    _io._check_member_names(archive, expected, path)
    arrays = _io._read_manifest(archive, manifest, path, "")
    part_arrays = part.read(archive, path, _io._part_prefix(0))
    built = [_construct_step(step, arrays, path) for step in steps]
    final = part.build(part_arrays, f"{path} [part 0]")
    from sklearn.pipeline import Pipeline

    with _io._wrap_errors(path, "its steps do not make a pipeline"):
        pipeline = Pipeline([*built, (final_name, final)], verbose=verbose)
        pipeline._validate_params()
        pipeline._validate_steps()
    return pipeline


def _audit_pipeline(document, path):
    _io._audit_version(document, path)
    missing = sorted(_PIPELINE_KEYS - set(document))
    if missing:
        raise _io._error(path, f"{_io._JSON_MEMBER} lacks the keys {missing}")
    unknown = sorted(set(document) - _PIPELINE_KEYS)
    if unknown:
        raise _io._error(path, f"{_io._JSON_MEMBER} has unknown keys {unknown}")
    if not isinstance(document["mixtura_version"], str):
        raise _io._error(path, "mixtura_version must be a string")
    params = document["params"]
    if not (
        isinstance(params, dict)
        and set(params) == {"verbose"}
        and isinstance(params["verbose"], bool)
    ):
        raise _io._error(path, "params must be an object with a boolean 'verbose'")
    manifest = _audit_step_manifest(document["arrays"], path)
    entries = document["steps"]
    if not isinstance(entries, list) or len(entries) > _MAX_STEPS:
        raise _io._error(path, f"steps must be a list of at most {_MAX_STEPS} steps")
    specs = _specs()
    steps, used, width = [], set(), None
    for index, entry in enumerate(entries):
        step, width = _audit_step(index, entry, specs, manifest, width, path)
        used |= {
            value.name
            for value in step.attributes.values()
            if isinstance(value, _io._ArrayRef)
        }
        steps.append(step)
    if used != set(manifest):
        raise _io._error(
            path,
            f"the manifest lists the arrays {sorted(manifest)}, but the steps refer "
            f"to {sorted(used)}",
        )
    final_name = document["final"]
    names = [step.name for step in steps] + [final_name]
    if not isinstance(final_name, str) or len(set(names)) != len(names):
        raise _io._error(path, "the steps' names must be distinct strings")
    models = document["models"]
    if not isinstance(models, list) or len(models) != 1:
        raise _io._error(path, "models must hold exactly the last step's document")
    where = f"{path} [part 0]"
    if not isinstance(models[0], dict) or models[0].get("format") != _io.FORMAT_NAME:
        raise _io._error(where, f"a part must be a {_io.FORMAT_NAME!r} document")
    part = _io._audit_estimator_document(models[0], where)
    if width is not None and part.n_features_in != width:
        raise _io._error(
            path,
            f"the last step has {part.n_features_in} features, and the step before "
            f"it gives {width}",
        )
    return manifest, steps, final_name, part, params["verbose"]


def _audit_step_manifest(manifest, path):
    if not isinstance(manifest, dict):
        raise _io._error(
            path, "arrays must be an object mapping names to shape and dtype"
        )
    audited = {}
    for name, entry in manifest.items():
        if not _STEP_ARRAY.match(name):
            raise _io._error(path, f"invalid array name {name!r} in the manifest")
        audited[name] = _io._audit_manifest_entry(name, entry, path, _STEP_ARRAY)
    return audited


def _audit_step(index, entry, specs, manifest, width, path):
    """One step's plan and the width of its output (None: unknown)."""
    where = f"step {index}"
    if not isinstance(entry, dict) or not (
        {"name", "class", "params", "attributes"} <= set(entry) <= _STEP_KEYS
    ):
        raise _io._error(
            path, f"{where} must be an object with keys {sorted(_STEP_KEYS)}"
        )
    name, cls_name = entry["name"], entry["class"]
    if not isinstance(name, str) or not name or "__" in name:
        raise _io._error(path, f"{where} has an invalid name {name!r}")
    if cls_name == "passthrough":
        if entry["params"] != {} or entry["attributes"] != {}:
            raise _io._error(path, f"{where} is a passthrough with parameters")
        return _StepPlan(name, None, {}, {}, None), width
    # only a dictionary lookup: a name like "os.system" is never imported
    if not isinstance(cls_name, str) or cls_name not in specs:
        raise _io._error(
            path,
            f"{where} names the unknown transformer {cls_name!r}; the known ones "
            f"are {list(TRANSFORMERS)}",
        )
    cls, spec = specs[cls_name]
    params = _audit_step_params(entry["params"], cls, where, path)
    attributes = entry["attributes"]
    if not isinstance(attributes, dict):
        raise _io._error(path, f"{where}: attributes must be an object")
    unknown = sorted(set(attributes) - set(spec.attributes))
    absent = sorted(set(spec.attributes) - set(attributes) - spec.optional)
    if unknown or absent:
        raise _io._error(
            path,
            f"{where} ({cls_name}) has the unknown attributes {unknown} and lacks "
            f"{absent}",
        )
    sizes = {}
    for symbol, attribute in (("f", "n_features_in_"), ("c", "n_components_")):
        value = attributes.get(attribute)
        if attribute in attributes and not (_io._is_int(value) and value >= 1):
            raise _io._error(path, f"{where}: {attribute} must be a positive integer")
        sizes[symbol] = value
    if width is not None and sizes["f"] is not None and sizes["f"] != width:
        raise _io._error(
            path, f"{where} takes {sizes['f']} features, the step before gives {width}"
        )
    decoded = {
        attribute: _audit_attribute(
            index,
            attribute,
            value,
            spec.attributes[attribute],
            sizes,
            manifest,
            where,
            path,
        )
        for attribute, value in attributes.items()
    }
    names = entry.get("feature_names_in_")
    if names is not None and (
        not isinstance(names, list)
        or not all(isinstance(n, str) for n in names)
        or len(names) != sizes["f"]
    ):
        raise _io._error(path, f"{where}: feature_names_in_ must be null or strings")
    out = sizes["f"] if spec.width_out is None else attributes[spec.width_out]
    return _StepPlan(name, cls, params, decoded, names), out


def _audit_step_params(params, cls, where, path):
    if not isinstance(params, dict):
        raise _io._error(path, f"{where}: params must be an object")
    unknown = sorted(set(params) - set(cls._get_param_names()))
    if unknown:
        raise _io._error(
            path, f"{where}: unknown parameters {unknown} for {cls.__name__}"
        )
    decoded = {}
    for key, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            decoded[key] = value
        elif (number := _io._decode_float(value)) is not None:
            decoded[key] = number
        elif (
            isinstance(value, dict)
            and set(value) == {"tuple"}
            and isinstance(value["tuple"], list)
            and 0 < len(value["tuple"]) <= 8
            and all(
                isinstance(item, (int, float)) and not isinstance(item, bool)
                for item in value["tuple"]
            )
        ):
            decoded[key] = tuple(value["tuple"])
        else:
            raise _io._error(
                path, f"{where}: parameter {key!r} has an unsupported value {value!r}"
            )
    if cls.__name__ == "FunctionTransformer" and (
        decoded.get("func") is not None or decoded.get("inverse_func") is not None
    ):
        raise _io._error(path, f"{where}: a FunctionTransformer's func must be null")
    return decoded


def _audit_attribute(index, attribute, value, forms, sizes, manifest, where, path):
    """The attribute's value, or an :class:`~mixtura.io._ArrayRef` to check."""
    if value is None and "none" in forms:
        return None
    if _io._is_int(value) and "int" in forms:
        return value
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and ("float" in forms)
    ):
        return float(value)
    if isinstance(value, dict) and set(value) == {"float"} and "float" in forms:
        number = _io._decode_float(value)
        if number is not None and not math.isinf(number):
            return number
    if (
        isinstance(value, dict)
        and set(value) == {"dtype"}
        and "dtype" in forms
        and isinstance(value["dtype"], str)  # a list is unhashable
        and value["dtype"] in _NUMERIC_DTYPES
    ):
        return np.dtype(value["dtype"])
    if isinstance(value, str):
        for form in forms:
            if isinstance(form, tuple) and form[0] == "choice" and value in form[1]:
                return value
    if isinstance(value, dict) and set(value) in ({"array"}, {"array", "strides"}):
        key = f"steps.{index}.{attribute}"
        arrays = [
            form for form in forms if isinstance(form, tuple) and form[0] == "array"
        ]
        if value["array"] == key and key in manifest and arrays:
            shape, dtype = manifest[key]
            _, symbols, kinds = arrays[0]
            expected = tuple(sizes.get(symbol) for symbol in symbols)
            if shape != expected or dtype.kind not in kinds:
                raise _io._error(
                    path,
                    f"{where}: array {attribute!r} has shape {shape} and dtype "
                    f"{dtype.name}; the step needs shape {expected} and a dtype of "
                    f"kind {kinds!r}",
                )
            strides = value.get("strides")
            if strides is None:
                return _io._ArrayRef(key)
            _audit_strides(strides, shape, attribute, where, path)
            return _StridedRef(key, tuple(strides))
    raise _io._error(
        path, f"{where}: attribute {attribute!r} has an unsupported value {value!r}"
    )


@dataclass(frozen=True)
class _StridedRef(_io._ArrayRef):
    """An array to lay out with these strides (in elements)."""

    strides: tuple = ()


#: the most elements a strided layout may span, relative to the array's size
_MAX_SPAN = 2**24


def _span(shape, strides):
    """How many elements a layout of ``strides`` (elements) reaches over."""
    return 1 + sum((n - 1) * abs(s) for n, s in zip(shape, strides, strict=True))


def _audit_strides(strides, shape, attribute, where, path):
    if not (
        isinstance(strides, list)
        and len(strides) == len(shape)
        and all(_io._is_int(s) and s != 0 and abs(s) <= _MAX_SPAN for s in strides)
        and _span(shape, strides) <= _MAX_SPAN
    ):
        raise _io._error(
            path, f"{where}: array {attribute!r} has invalid strides {strides!r}"
        )


def _strided(array, strides, path):
    """``array`` copied into a view with ``strides`` (elements), as it was saved."""
    shape = array.shape
    span = _span(shape, strides)
    offset = sum((n - 1) * -s for n, s in zip(shape, strides, strict=True) if s < 0)
    buffer = np.zeros(span, dtype=array.dtype)
    view = np.lib.stride_tricks.as_strided(
        buffer[offset:], shape, [s * array.itemsize for s in strides]
    )
    view[...] = array
    if not np.array_equal(view, array):  # overlapping strides alias entries
        raise _io._error(path, f"the strides {list(strides)} overlap")
    return view


def _construct_step(step, arrays, path):
    if step.cls is None:
        return (step.name, "passthrough")
    with _io._wrap_errors(path, f"the step {step.name!r} cannot be built"):
        transformer = step.cls(**step.params)
        transformer._validate_params()
    for attribute, value in step.attributes.items():
        if isinstance(value, _StridedRef):
            value = _strided(arrays[value.name], value.strides, path)
        elif isinstance(value, _io._ArrayRef):
            value = arrays[value.name]
        setattr(transformer, attribute, value)
    if step.feature_names is not None:
        transformer.feature_names_in_ = np.asarray(step.feature_names, dtype=object)
    return (step.name, transformer)


_io.CONTAINER_FORMATS["Pipeline"] = _io.ContainerFormat(
    is_pipeline, describe_pipeline, load_pipeline
)
