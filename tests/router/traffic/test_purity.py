"""router.traffic is pure: it imports only the standard library, numpy and pydantic."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "router" / "traffic"
ALLOWED_THIRD_PARTY = {"numpy", "pydantic"}
FILES = sorted(PACKAGE.glob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative imports stay inside router.traffic (a module, not a package).
                found.append((node.lineno, "router.traffic" if node.level == 1 else "router"))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def _allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
        return True
    return module == "router.traffic" or module.startswith("router.traffic.")


def test_the_package_has_modules() -> None:
    assert {path.name for path in FILES} >= {"policy.py", "split.py", "table.py", "errors.py"}


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_imports_only_stdlib_numpy_pydantic_and_itself(path: Path) -> None:
    offenders = [f"{path.name}:{line} imports {m}" for line, m in _imports(path) if not _allowed(m)]
    assert not offenders, "\n".join(offenders)


def test_the_rule_catches_an_io_import() -> None:
    assert not _allowed("httpx")
    assert not _allowed("router.telemetry")
    assert not _allowed("sqlalchemy.orm")
    assert _allowed("collections.abc")
    assert _allowed("router.traffic.policy")
