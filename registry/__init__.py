"""MLflow-backed model versions, aliases with an audit trail, and model file conversion."""

from __future__ import annotations

from registry.client import RegistryClient, resolve
from registry.errors import (
    AliasNotFound,
    ConversionError,
    DataFileError,
    InvalidInput,
    InvalidModelFile,
    InvalidName,
    ModelNotFound,
    NoPreviousVersion,
    NotFound,
    NotOnnxVersion,
    PromotionConflict,
    RegistrationFailed,
    RegistryError,
    RegistryUnavailable,
    UntrustedModelFile,
    VersionNotFound,
    VersionNotReady,
)
from registry.types import ModelInfo, NewVersion, VersionInfo

__all__ = [
    "AliasNotFound",
    "ConversionError",
    "DataFileError",
    "InvalidInput",
    "InvalidModelFile",
    "InvalidName",
    "ModelInfo",
    "ModelNotFound",
    "NewVersion",
    "NoPreviousVersion",
    "NotFound",
    "NotOnnxVersion",
    "PromotionConflict",
    "RegistrationFailed",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "UntrustedModelFile",
    "VersionInfo",
    "VersionNotFound",
    "VersionNotReady",
    "resolve",
]
