"""The profile modules are pure: no I/O library, nothing outside the allowed set."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

MONITORS = Path(__file__).resolve().parents[2] / "monitors"
PURE_MODULES = ["profile.py", "profile_schema.py", "binning.py", "quantiles.py", "errors.py"]
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "pydantic", "pandas", "monitors"}
# Standard-library modules that do I/O; the caller reads and writes files, not us.
IO_STDLIB = {
    "asyncio",
    "ftplib",
    "glob",
    "http",
    "io",
    "os",
    "pathlib",
    "shutil",
    "smtplib",
    "socket",
    "sqlite3",
    "ssl",
    "subprocess",
    "tempfile",
    "urllib",
}


def _imported_roots(tree: ast.Module) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        # Relative imports (level > 0) stay inside the monitors package.
    return roots


@pytest.mark.parametrize("module", PURE_MODULES)
def test_imports_only_stdlib_numpy_scipy_pydantic_pandas(module: str) -> None:
    tree = ast.parse((MONITORS / module).read_text(encoding="utf-8"))
    roots = _imported_roots(tree)
    foreign = {r for r in roots if r not in sys.stdlib_module_names} - ALLOWED_THIRD_PARTY
    assert not foreign, f"{module} imports {sorted(foreign)}"
    io = roots & IO_STDLIB
    assert not io, f"{module} imports I/O modules {sorted(io)}"


@pytest.mark.parametrize("module", PURE_MODULES)
def test_does_not_call_open(module: str) -> None:
    tree = ast.parse((MONITORS / module).read_text(encoding="utf-8"))
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "open"
    ]
    assert not calls, f"{module} calls open()"


def test_the_checker_catches_a_foreign_import() -> None:
    tree = ast.parse("import requests\nfrom mlflow import log\nimport numpy.linalg\n")
    roots = _imported_roots(tree)
    assert {"requests", "mlflow"} <= roots and "numpy" in roots
