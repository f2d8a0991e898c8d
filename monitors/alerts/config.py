"""Reading the alerts config file: a missing file means the defaults (log sink only)."""

from __future__ import annotations

from pathlib import Path

from monitors.alerts.errors import AlertConfigError
from monitors.alerts.rules import AlertsConfig, default_config, parse_config

__all__ = ["load_config"]


def load_config(path: Path) -> AlertsConfig:
    """The validated config at `path`, or the defaults when no file is there."""
    if not path.exists():
        return default_config(source=f"{path} (missing: defaults, log sink only)")
    if not path.is_file():
        raise AlertConfigError(f"alerts config {path} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertConfigError(f"cannot read alerts config {path}: {exc}") from None
    return parse_config(text, source=str(path))
