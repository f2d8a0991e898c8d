"""router.rollout is pure: stdlib, pydantic, router.traffic / analysis / rollout; yaml
only in spec_io.py (parsing text)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "router" / "rollout"
FILES = sorted(PACKAGE.glob("*.py"))
PROJECT_OK = ("router.traffic", "router.analysis", "router.rollout")


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # A relative import stays in the project; name it so the rule can judge it.
            base = "router.rollout" if node.level == 1 else "router"
            found.append((node.lineno, base if node.level else node.module or ""))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            found.append((node.lineno, "__import__"))
    return found


def _allowed(module: str, filename: str) -> bool:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top == "pydantic":
        return True
    if top == "yaml":
        return filename == "spec_io.py"
    return any(module == ok or module.startswith(ok + ".") for ok in PROJECT_OK)


def test_the_package_has_its_modules() -> None:
    names = {path.name for path in FILES}
    assert names >= {"spec.py", "spec_io.py", "phases.py", "machine.py", "errors.py"}


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_imports_only_pure_modules(path: Path) -> None:
    bad = [f"{path.name}:{n} imports {m}" for n, m in _imports(path) if not _allowed(m, path.name)]
    assert not bad, "\n".join(bad)


def test_the_rule_catches_io_imports() -> None:
    assert not _allowed("httpx", "machine.py")
    assert not _allowed("sqlalchemy.orm", "machine.py")
    assert not _allowed("router.serving", "machine.py")
    assert not _allowed("migrations.models", "machine.py")
    assert not _allowed("yaml", "spec.py")
    assert not _allowed("__import__", "spec.py")
    assert _allowed("yaml", "spec_io.py")
    assert _allowed("router.analysis.spec", "spec.py")
    assert _allowed("collections.abc", "machine.py")
