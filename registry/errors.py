"""Errors raised by the registry.

    RegistryError
    ├── RegistryUnavailable        MLflow (tracking or registry store) cannot be reached
    ├── NotFound
    │   ├── ModelNotFound          no registered model of that name
    │   ├── VersionNotFound        the model has no such version
    │   └── AliasNotFound          the model has no such alias
    ├── InvalidInput
    │   ├── InvalidName            a model or alias name MLflow would reject
    │   ├── InvalidModelFile       missing, unreadable, or not a model turnout can load
    │   ├── UntrustedModelFile     a pickle without --trust-pickle, or skops types not trusted
    │   ├── ConversionError        skl2onnx could not convert the scikit-learn model
    │   ├── DataFileError          a CSV/Parquet file that cannot be read
    │   ├── NotOnnxVersion         a registered version that has no ONNX flavor
    │   └── VersionNotReady        a version whose status is not ready (e.g. still pending)
    ├── RegistrationFailed         MLflow failed mid-registration (the version was removed)
    ├── PromotionConflict          another promotion of the same model won the race
    └── NoPreviousVersion          rollback asked for, but no `previous` alias exists

Every message is one line that names the problem; the CLI prints it as is.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base class of every registry error."""


class RegistryUnavailable(RegistryError):
    pass


class NotFound(RegistryError):
    pass


class ModelNotFound(NotFound):
    pass


class VersionNotFound(NotFound):
    pass


class AliasNotFound(NotFound):
    pass


class InvalidInput(RegistryError):
    pass


class InvalidName(InvalidInput):
    pass


class InvalidModelFile(InvalidInput):
    pass


class UntrustedModelFile(InvalidInput):
    pass


class ConversionError(InvalidInput):
    pass


class DataFileError(InvalidInput):
    pass


class NotOnnxVersion(InvalidInput):
    pass


class VersionNotReady(InvalidInput):
    pass


class RegistrationFailed(RegistryError):
    pass


class PromotionConflict(RegistryError):
    pass


class NoPreviousVersion(RegistryError):
    pass
