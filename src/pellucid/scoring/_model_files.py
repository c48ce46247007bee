"""Store and load models without pickle: LightGBM text, XGBoost JSON, CatBoost .cbm, scikit-learn through skops.

skops files are loaded with an explicit list of trusted types computed here: skops' own defaults plus the
scikit-learn *classes* a file names (tree arrays, histogram predictors ...). A file naming anything else — a
function, a type from another package, a builtin — is refused before it is loaded. Pickle is written or read
only when the caller passes ``allow_pickle=True`` for a model with no safe format.
"""

from __future__ import annotations

import importlib
import json
import logging
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from pellucid.errors import (
    ArgumentError,
    ModelInterfaceError,
    PellucidError,
    UnsafeArtifactError,
    UnsupportedInputError,
    require,
)

__all__ = ["serialize_model", "deserialize_model", "load_model_file", "model_library", "skops_trusted_types"]

logger = logging.getLogger(__name__)

_SUFFIXES = {"lightgbm_text": ".txt", "xgboost_json": ".json", "catboost_cbm": ".cbm", "skops": ".skops",
             "pickle": ".pkl"}


def model_library(model: Any) -> str:
    """``"lightgbm"``, ``"xgboost"``, ``"catboost"``, ``"sklearn"`` or ``"other"`` from the model's type."""
    module = type(model).__module__
    for library in ("lightgbm", "xgboost", "catboost", "sklearn"):
        if module == library or module.startswith(library + "."):
            return library
    return "other"


# ---------------------------------------------------------------------- skops policy
# Packages whose classes a skops file may name: scikit-learn, pellucid's own transformers and sklearn-pandas'
# DataFrameMapper. Only classes are accepted (skops builds them from stored state), and no function but
# numpy's ufuncs (skops trusts them itself) and the pure numpy array functions below, which users hand to
# FunctionTransformer; none of them reads or writes files or calls code it is given.
_TRUSTED_CLASS_PACKAGES = ("sklearn", "pellucid.transformations", "sklearn_pandas")
_TRUSTED_NUMPY_FUNCTIONS = frozenset({
    "clip", "nan_to_num", "round", "around", "fix", "sinc", "i0", "real", "imag", "angle", "asarray",
    "atleast_2d", "ravel", "squeeze", "transpose", "cumsum", "cumprod", "diff", "sort",
})


def _in_package(module_name: str, package: str) -> bool:
    return module_name == package or module_name.startswith(package + ".")


def _is_trusted_numpy_function(name: str) -> bool:
    module_name, _, attribute = name.rpartition(".")
    if module_name != "numpy" or attribute not in _TRUSTED_NUMPY_FUNCTIONS:
        return False
    return callable(getattr(np, attribute, None)) and not isinstance(getattr(np, attribute), type)


def _is_trusted_class(name: str) -> bool:
    if _is_trusted_numpy_function(name):
        return True
    module_name, _, attribute = name.rpartition(".")
    if not attribute:
        return False
    numpy_type = _in_package(module_name, "numpy")
    if not numpy_type and not any(_in_package(module_name, p) for p in _TRUSTED_CLASS_PACKAGES):
        return False
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    found = getattr(module, attribute, None)
    if not isinstance(found, type):
        return False
    # From numpy only dtypes and scalar types (estimator parameters such as dtype=np.float64), nothing else.
    return not numpy_type or found is np.dtype or issubclass(found, np.generic)


def skops_trusted_types(*, data: bytes | None = None, file: Path | None = None) -> list[str]:
    """The types to trust when loading a skops dump, or :class:`UnsafeArtifactError` when any is not acceptable.

    skops already trusts scikit-learn estimators, numpy and scipy containers and numpy ufuncs; what it leaves
    untrusted is accepted here only when it is a class defined in scikit-learn, pellucid.transformations or
    sklearn-pandas, a numpy dtype or scalar type, or one of a few pure numpy array functions (``numpy.clip``,
    ``numpy.nan_to_num`` ...). Other functions and types from anywhere else are refused.

    Parameters
    ----------
    data : bytes, optional
        The dump's content.
    file : Path, optional
        The dump's path.

    Returns
    -------
    list of str
        Type names to pass as ``trusted`` to ``skops.io.load``.
    """
    skops_io = require("skops.io", "serve")
    try:
        untrusted = skops_io.get_untrusted_types(data=data) if data is not None else skops_io.get_untrusted_types(
            file=file
        )
    except Exception as exc:  # a corrupt or foreign zip
        raise UnsafeArtifactError(f"the skops file cannot be inspected: {type(exc).__name__}: {exc}") from exc
    refused = [name for name in untrusted if not _is_trusted_class(name)]
    if refused:
        raise UnsafeArtifactError(
            f"the skops file names types pellucid does not trust: {refused}. Only classes of scikit-learn, "
            "pellucid.transformations and sklearn-pandas, numpy and scipy containers and numpy types are loaded; "
            "store other models in their own format or with allow_pickle=True"
        )
    return list(untrusted)


# ---------------------------------------------------------------------- writing
def serialize_model(
    model: Any, *, allow_pickle: bool = False, stem: str = "model"
) -> tuple[str, str, bytes, dict[str, Any]]:
    """A model as file content in its safest format.

    Parameters
    ----------
    model : object
        LightGBM Booster/LGBMModel, XGBoost Booster/XGBModel, a scikit-learn estimator or pipeline, or (with
        ``allow_pickle``) anything picklable.
    allow_pickle : bool
        Fall back to pickle for a model with no safe format.
    stem : str
        File name without suffix (``"model"``, ``"transformations"``).

    Returns
    -------
    (file name, format, content, info)
        ``info`` is JSON to keep in the manifest (library and estimator type).
    """
    library = model_library(model)
    info: dict[str, Any] = {"library": library, "type": f"{type(model).__module__}.{type(model).__qualname__}"}
    if library == "lightgbm":
        booster = model.booster_ if hasattr(model, "booster_") else model
        text = booster.model_to_string()
        info["estimator"] = type(model).__name__
        if hasattr(model, "classes_"):
            info["classes"] = np.asarray(model.classes_).tolist()
        return stem + _SUFFIXES["lightgbm_text"], "lightgbm_text", text.encode("utf-8"), info
    if library == "xgboost":
        info["estimator"] = type(model).__name__
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.json"
            model.save_model(str(path))  # the sklearn wrapper keeps its attributes in the JSON
            return stem + _SUFFIXES["xgboost_json"], "xgboost_json", path.read_bytes(), info
    if library == "catboost":
        info["estimator"] = type(model).__name__
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.cbm"
            model.save_model(str(path), format="cbm")  # CatBoost's own binary format, no pickle
            return stem + _SUFFIXES["catboost_cbm"], "catboost_cbm", path.read_bytes(), info
    if library == "sklearn" or _in_package(type(model).__module__, "pellucid.transformations") or _in_package(
        type(model).__module__, "sklearn_pandas"
    ):
        skops_io = require("skops.io", "serve")
        try:
            content = skops_io.dumps(model)
            skops_trusted_types(data=content)
            return stem + _SUFFIXES["skops"], "skops", content, info
        except Exception as exc:  # skops raises whatever a part's own __reduce__ raises
            if not allow_pickle:
                raise UnsafeArtifactError(
                    f"the model {info['type']} holds parts skops cannot store safely ({exc}); pass allow_pickle=True "
                    "to store it as a pickle you trust"
                ) from exc
    if not allow_pickle:
        raise UnsafeArtifactError(
            f"the model {info['type']} has no safe storage format (LightGBM text, XGBoost JSON or skops for "
            "scikit-learn); pass allow_pickle=True to store it as a pickle (loading it will need allow_pickle=True)"
        )
    logger.warning("storing the model %s as a pickle because allow_pickle=True", info["type"])
    try:
        content = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise ModelInterfaceError(f"the model {info['type']} cannot be pickled: {type(exc).__name__}: {exc}") from exc
    return stem + _SUFFIXES["pickle"], "pickle", content, info


# ---------------------------------------------------------------------- reading
def deserialize_model(path: Path, file_format: str, info: dict[str, Any], *, allow_pickle: bool = False) -> Any:
    """Load a model file written by :func:`serialize_model` (its checksum already verified).

    Parameters
    ----------
    path : Path
        The model file.
    file_format : str
        ``"lightgbm_text"``, ``"xgboost_json"``, ``"catboost_cbm"``, ``"skops"`` or ``"pickle"``.
    info : dict
        What :func:`serialize_model` recorded.
    allow_pickle : bool
        Needed for ``"pickle"``.
    """
    if file_format == "lightgbm_text":
        lightgbm = require("lightgbm", "lightgbm")
        return lightgbm.Booster(model_file=str(path))
    if file_format == "xgboost_json":
        return _load_xgboost(path, info.get("estimator"))
    if file_format == "catboost_cbm":
        catboost = require("catboost", "catboost")
        allowed = {"CatBoostClassifier": catboost.CatBoostClassifier, "CatBoostRegressor": catboost.CatBoostRegressor,
                   "CatBoost": catboost.CatBoost}
        estimator = info.get("estimator", "CatBoost")
        if estimator not in allowed:
            raise UnsafeArtifactError(f"unknown CatBoost estimator type {estimator!r}; expected one of {sorted(allowed)}")
        model = allowed[estimator]()
        model.load_model(str(path), format="cbm")
        return model
    if file_format == "skops":
        skops_io = require("skops.io", "serve")
        trusted = skops_trusted_types(file=path)
        return skops_io.load(path, trusted=trusted)
    if file_format == "pickle":
        if not allow_pickle:
            raise UnsafeArtifactError(f"{path.name} is a pickle; loading it runs code. Pass allow_pickle=True if you trust it")
        with open(path, "rb") as handle:
            return pickle.load(handle)  # noqa: S301 - the user passed allow_pickle=True for their own model
    raise UnsafeArtifactError(f"unknown model file format {file_format!r}")


def _load_xgboost(path: Path, estimator: str | None) -> Any:
    xgboost = require("xgboost", "xgboost")
    if estimator == "Booster":
        return xgboost.Booster(model_file=str(path))
    if estimator is None:  # a user's file: pick the wrapper from the objective stored in it
        config = json.loads(xgboost.Booster(model_file=str(path)).save_config())
        objective = config.get("learner", {}).get("objective", {}).get("name", "")
        estimator = "XGBClassifier" if objective.startswith(("binary:", "multi:")) else "XGBRegressor"
    allowed = {"XGBClassifier": xgboost.XGBClassifier, "XGBRegressor": xgboost.XGBRegressor,
               "XGBRFClassifier": xgboost.XGBRFClassifier, "XGBRFRegressor": xgboost.XGBRFRegressor}
    if estimator not in allowed:
        raise UnsafeArtifactError(f"unknown XGBoost estimator type {estimator!r}; expected one of {sorted(allowed)}")
    model = allowed[estimator]()
    model.load_model(str(path))
    return model


def _looks_like_pickle(path: Path) -> bool:
    """True when the file starts like a pickle of protocol 2 or later (what pickle and joblib write)."""
    with open(path, "rb") as handle:
        head = handle.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def load_model_file(path: str | Path, *, allow_pickle: bool = False) -> Any:
    """Load a user's model file for the service: ``.txt`` (LightGBM), ``.json``/``.ubj`` (XGBoost), ``.skops``,
    or ``.pkl``/``.joblib`` only with ``allow_pickle``.

    Parameters
    ----------
    path : str or Path
        The model file.
    allow_pickle : bool
        Trust and unpickle a pickle/joblib file.

    Returns
    -------
    object
        The model.
    """
    path = Path(path)
    if not path.is_file():
        raise ArgumentError(f"expected a model file; found nothing at {path}")
    suffix = path.suffix.lower()
    readers = {".txt": ("a LightGBM text model", lambda: deserialize_model(path, "lightgbm_text", {})),
               ".json": ("an XGBoost JSON model", lambda: _load_xgboost(path, None)),
               ".ubj": ("an XGBoost UBJSON model", lambda: _load_xgboost(path, None)),
               ".skops": ("a scikit-learn .skops model", lambda: deserialize_model(path, "skops", {}))}
    if suffix in readers:
        what, read = readers[suffix]
        if _looks_like_pickle(path):
            raise UnsupportedInputError(
                f"expected {what} in {path.name}; found a pickle. Loading a pickle runs code stored in it: if you "
                "trust the file, name it .pkl and pass allow_pickle=True (--allow-pickle)"
            )
        try:
            return read()
        except PellucidError:
            raise
        except Exception as exc:  # each library has its own error (LightGBMError, XGBoostError, ...)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise UnsupportedInputError(
                f"expected {what} in {path.name}; it cannot be read ({type(exc).__name__}: {first})"
            ) from exc
    if suffix in (".pkl", ".pickle", ".joblib"):
        if not allow_pickle:
            raise UnsafeArtifactError(
                f"{path.name} is a pickle/joblib file; loading it runs code stored in it. Pass allow_pickle=True "
                "(--allow-pickle) only for a file you trust, or save the model as .skops, LightGBM .txt or XGBoost .json"
            )
        joblib = require("joblib", "core")
        return joblib.load(path)
    raise ArgumentError(
        f"expected a model file ending in .txt (LightGBM), .json/.ubj (XGBoost), .skops (scikit-learn) or "
        f".pkl/.joblib (with allow_pickle); found {path.name}"
    )
