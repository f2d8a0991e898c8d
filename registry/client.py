"""The RegistryClient protocol: what turnout needs from a model registry."""

from __future__ import annotations

from typing import Protocol

from registry.types import ModelInfo, NewVersion, VersionInfo


class RegistryClient(Protocol):
    def list_models(self) -> list[ModelInfo]: ...

    def get_model(self, name: str) -> ModelInfo: ...

    def list_versions(self, name: str) -> list[VersionInfo]: ...

    def get_version(self, name: str, version: str) -> VersionInfo: ...

    def version_by_alias(self, name: str, alias: str) -> VersionInfo: ...

    def set_alias(self, name: str, alias: str, version: str) -> None: ...

    def delete_alias(self, name: str, alias: str) -> None: ...

    def create_version(self, new: NewVersion) -> VersionInfo: ...

    def model_bytes(self, name: str, version: str) -> bytes: ...

    def reference_profile(self, name: str, version: str) -> str | None: ...


def resolve(client: RegistryClient, name: str, ref: str | None) -> VersionInfo:
    """A version from a reference: "7", "@alias", or None for the champion."""
    from registry.names import CHAMPION

    if ref is None:
        return client.version_by_alias(name, CHAMPION)
    if ref.startswith("@"):
        return client.version_by_alias(name, ref[1:])
    return client.get_version(name, ref)
