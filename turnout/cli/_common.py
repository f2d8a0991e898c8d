"""What every command shares: settings/services from the root context, output helpers."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from turnout.services import Services
from turnout.settings import Settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class CliState:
    debug: bool = False
    state_dir: Path | None = None
    server: str | None = None
    _services: Services | None = field(default=None, repr=False)

    def reset(self, *, debug: bool, state_dir: Path | None, server: str | None = None) -> None:
        self.close()
        self.debug, self.state_dir, self.server = debug, state_dir, server

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None

    def services(self) -> Services:
        if self._services is None:
            overrides: dict[str, Any] = {}
            if self.state_dir is not None:
                overrides["state_dir"] = self.state_dir
            self._services = Services(Settings(**overrides))
        return self._services


STATE = CliState()


def services() -> Services:
    return STATE.services()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def fmt_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def print_error(message: str, label: str = "error") -> None:
    err.print(f"[red]{label}:[/red] ", markup=True, end="")
    err.print(message, markup=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)
