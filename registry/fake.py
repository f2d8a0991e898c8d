"""An in-memory RegistryClient for tests of code that sits on top of the registry."""

from __future__ import annotations

from datetime import UTC, datetime

from registry import names
from registry.errors import AliasNotFound, ModelNotFound, VersionNotFound
from registry.types import ModelInfo, NewVersion, VersionInfo


class InMemoryRegistry:
    def __init__(self) -> None:
        self._models: dict[str, dict[str, VersionInfo]] = {}
        self._bytes: dict[tuple[str, str], bytes] = {}
        self._profiles: dict[tuple[str, str], str] = {}
        self._aliases: dict[str, dict[str, str]] = {}
        self.alias_writes: list[tuple[str, str, str | None]] = []

    def list_models(self) -> list[ModelInfo]:
        return [self.get_model(n) for n in sorted(self._models)]

    def get_model(self, name: str) -> ModelInfo:
        if name not in self._models:
            raise ModelNotFound(f"no registered model named '{name}'")
        versions = self._models[name]
        return ModelInfo(
            name=name,
            aliases=dict(self._aliases[name]),
            latest_version=max(versions, key=int) if versions else None,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )

    def list_versions(self, name: str) -> list[VersionInfo]:
        self.get_model(name)
        return [self.get_version(name, v) for v in sorted(self._models[name], key=int)]

    def get_version(self, name: str, version: str) -> VersionInfo:
        self.get_model(name)
        info = self._models[name].get(str(version))
        if info is None:
            raise VersionNotFound(f"model '{name}' has no version {version}")
        aliases = tuple(sorted(a for a, v in self._aliases[name].items() if v == info.version))
        return VersionInfo(
            name=info.name,
            version=info.version,
            aliases=aliases,
            created_at=info.created_at,
            status=info.status,
            description=info.description,
            tags=dict(info.tags),
        )

    def version_by_alias(self, name: str, alias: str) -> VersionInfo:
        self.get_model(name)
        if alias not in self._aliases[name]:
            raise AliasNotFound(f"model '{name}' has no alias '{alias}'")
        return self.get_version(name, self._aliases[name][alias])

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.get_version(name, version)
        self._aliases[name][alias] = str(version)
        self.alias_writes.append((name, alias, str(version)))

    def delete_alias(self, name: str, alias: str) -> None:
        self.version_by_alias(name, alias)
        del self._aliases[name][alias]
        self.alias_writes.append((name, alias, None))

    def create_version(self, new: NewVersion) -> VersionInfo:
        versions = self._models.setdefault(new.name, {})
        self._aliases.setdefault(new.name, {})
        version = str(len(versions) + 1)
        tags = {**new.tags, names.TAG_STATUS: names.STATUS_READY}
        versions[version] = VersionInfo(
            name=new.name,
            version=version,
            aliases=(),
            created_at=datetime.now(UTC),
            status=names.STATUS_READY,
            description=new.description,
            tags=tags,
        )
        self._bytes[(new.name, version)] = new.onnx_bytes
        if new.reference_profile_json is not None:
            self._profiles[(new.name, version)] = new.reference_profile_json
        return self.get_version(new.name, version)

    def model_bytes(self, name: str, version: str) -> bytes:
        self.get_version(name, version)
        return self._bytes[(name, str(version))]

    def reference_profile(self, name: str, version: str) -> str | None:
        self.get_version(name, version)
        return self._profiles.get((name, str(version)))
