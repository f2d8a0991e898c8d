"""Value types the registry hands out: frozen, MLflow-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: str
    aliases: tuple[str, ...]
    created_at: datetime
    status: str  # turnout status tag if present, else MLflow's own status (lower case)
    description: str | None = None
    run_id: str | None = None
    source: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status in {"ready"}

    @property
    def reference_uri(self) -> str | None:
        from registry.names import TAG_REFERENCE

        return self.tags.get(TAG_REFERENCE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "aliases": list(self.aliases),
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "description": self.description,
            "run_id": self.run_id,
            "source": self.source,
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class ModelInfo:
    name: str
    aliases: dict[str, str]
    latest_version: str | None
    created_at: datetime
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "aliases": dict(self.aliases),
            "latest_version": self.latest_version,
            "created_at": self.created_at.isoformat(),
            "description": self.description,
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class NewVersion:
    """Everything registration writes, computed and checked before anything is written."""

    name: str
    onnx_bytes: bytes
    input_example: dict[str, Any]  # input name -> numpy array the model was run on
    outputs: dict[str, Any]  # output name -> numpy array it returned
    source_format: str
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    reference_profile_json: str | None = None
