"""The typed errors pellucid raises.

Every error derives from :class:`PellucidError`, so ``except PellucidError`` catches anything pellucid
raises on purpose. Each subclass also derives from the matching built-in (``ValueError``, ``TypeError``,
``ImportError``) so code written against the old SDK's plain exceptions keeps working.

Messages follow one template: what was expected, what was found, and what to do about it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = [
    "PellucidError",
    "DataShapeError",
    "DataValueError",
    "EmptyDataError",
    "UnsupportedInputError",
    "ModelInterfaceError",
    "ProbabilitiesRequiredError",
    "ArgumentError",
    "MissingArgumentError",
    "MissingFileError",
    "ModelOutputError",
    "ResourceLimitError",
    "ExplanationFormatError",
    "ExplanationVersionError",
    "UnsafeArtifactError",
    "TransformationError",
    "MissingDependencyError",
    "ServiceError",
    "ServiceTimeoutError",
    "StoreError",
    "StoreIntegrityError",
    "StoreNotFoundError",
    "require",
]


class PellucidError(Exception):
    """Base class of every error pellucid raises on purpose."""


class DataShapeError(PellucidError, ValueError):
    """Data has the wrong number of rows, columns or dimensions."""


class DataValueError(PellucidError, ValueError):
    """Data holds values the model or the method cannot take (NaN, inf, non-numbers)."""


class EmptyDataError(DataShapeError):
    """Data has no rows or no columns."""


class UnsupportedInputError(PellucidError, TypeError):
    """The input's type is not one pellucid can read."""


class ModelInterfaceError(PellucidError, TypeError):
    """The model cannot be called the way the explainer needs."""


class ProbabilitiesRequiredError(ModelInterfaceError, ValueError):
    """Class probabilities are needed (e.g. ``classes=`` was given) but the model only predicts values or labels.

    Also a ``ValueError``, the type the old SDK raised in this case.
    """


class ModelOutputError(PellucidError, ValueError):
    """The model returned values an explanation cannot be built on (NaN or infinite outputs)."""


class ArgumentError(PellucidError, ValueError):
    """An argument has a value outside what the function accepts."""


class MissingArgumentError(ArgumentError, TypeError):
    """A required argument is missing (also a ``TypeError``, as a missing positional argument is in Python)."""
class MissingFileError(ArgumentError, FileNotFoundError):
    """A path given to pellucid names no file (still a ``FileNotFoundError`` for code that caught that)."""


class ResourceLimitError(ArgumentError):
    """A request would need more memory than the machine has; raised before anything is allocated."""


class ExplanationFormatError(PellucidError, ValueError):
    """A saved explanation is corrupt, truncated or not a pellucid explanation."""


class ExplanationVersionError(ExplanationFormatError):
    """A saved explanation was written by a newer, incompatible format version."""


class UnsafeArtifactError(PellucidError):
    """A saved artifact failed its integrity checks or would need unsafe loading (pickle)."""


class TransformationError(PellucidError, ValueError):
    """Feature transformations cannot be mapped back to raw features."""


class MissingDependencyError(PellucidError, ImportError):
    """An optional dependency is not installed."""


class ServiceError(PellucidError):
    """A remote service (tracking server, scheduler) could not be reached or answered an error."""


class ServiceTimeoutError(ServiceError, TimeoutError):
    """A remote service did not answer within the time pellucid allows a call."""


class StoreError(PellucidError):
    """Reading or writing the explanation history failed."""


class StoreIntegrityError(StoreError, UnsafeArtifactError):
    """A stored explanation failed its checksum: it is corrupted, truncated or was changed after upload."""


class StoreNotFoundError(StoreError, LookupError):
    """The run, experiment or explanation asked for does not exist in the tracking store."""


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or raise :class:`MissingDependencyError` naming the extra.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"lightgbm"``.
    extra : str
        The pellucid extra that installs it, e.g. ``"lightgbm"``.

    Returns
    -------
    module
        The imported module.

    Examples
    --------
    >>> np = require("numpy", "core")
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this feature needs the optional package {module!r}, which is not installed "
            f"(import failed: {exc}); install it with: pip install \"pellucid[{extra}]\""
        ) from exc


def describe(value: Any) -> str:
    """Short description of a value's type and shape for error messages."""
    shape = getattr(value, "shape", None)
    name = type(value).__module__ + "." + type(value).__qualname__
    if name.startswith("builtins."):
        name = type(value).__qualname__
    return f"{name} of shape {tuple(shape)}" if shape is not None else name
