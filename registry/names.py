"""Alias names, tag keys and audit event kinds: defined once, used everywhere."""

from __future__ import annotations

import re
from typing import Final

CHAMPION: Final = "champion"
CHALLENGER: Final = "challenger"
PREVIOUS: Final = "previous"

# Tags turnout writes on model versions (MLflow tag keys).
TAG_PREFIX: Final = "turnout."
TAG_STATUS: Final = "turnout.status"
TAG_REFERENCE: Final = "turnout.reference_profile"
TAG_SOURCE_FORMAT: Final = "turnout.source_format"
TAG_REGISTRATION: Final = "turnout.registration"  # run tag: the model a run registered

STATUS_READY: Final = "ready"

# Artifact paths inside a registration run.
REFERENCE_ARTIFACT_DIR: Final = "turnout"
REFERENCE_ARTIFACT_FILE: Final = "reference_profile.json"
MODEL_ARTIFACT_NAME: Final = "model"

# Audit event kinds (the `events.kind` column).
EVENT_REGISTER: Final = "model.register"
EVENT_PROMOTE: Final = "alias.promote"
EVENT_ROLLBACK: Final = "alias.rollback"
EVENT_ALIAS_SET: Final = "alias.set"
EVENT_ALIAS_REMOVE: Final = "alias.remove"

# Matched with fullmatch: `$` would also accept a trailing newline ("fraud\n").
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
# MLflow rejects aliases that look like versions ("v3", "3") and "latest".
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,254}")
_VERSION_ALIAS = re.compile(r"[vV][0-9]+")


def is_valid_model_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def is_valid_alias(alias: str) -> bool:
    if _ALIAS.fullmatch(alias) is None or alias.lower() == "latest":
        return False
    return _VERSION_ALIAS.fullmatch(alias) is None
