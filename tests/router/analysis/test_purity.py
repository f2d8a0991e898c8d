"""router.analysis is pure outside its adapters: the judge and the statistics import only
the standard library, numpy, scipy, pydantic and router.analysis itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "router" / "analysis"
# The edges: providers/ does HTTP; adapt.py reads router.telemetry types (lazily).
EDGES = {"adapt.py"}
PURE = sorted(p for p in PACKAGE.glob("*.py") if p.name not in EDGES)
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "pydantic"}


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "router.analysis" if node.level else node.module or ""))
    return found


def _allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
        return True
    return module == "router.analysis" or (
        module.startswith("router.analysis.") and not module.startswith("router.analysis.providers")
    )


def test_the_package_has_its_modules() -> None:
    names = {p.name for p in PURE}
    assert names >= {"judge.py", "sequential.py", "spec.py", "verdict.py", "errors.py"}


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.name)
def test_pure_modules_import_no_io(path: Path) -> None:
    offenders = [f"{path.name}:{line} imports {m}" for line, m in _imports(path) if not _allowed(m)]
    assert not offenders, "\n".join(offenders)


def test_the_rule_catches_io() -> None:
    assert not _allowed("httpx")
    assert not _allowed("router.telemetry.merged")
    assert not _allowed("router.analysis.providers.web")
    assert _allowed("scipy.special")


def test_importing_the_judge_loads_no_io_library() -> None:
    code = (
        "import sys, router.analysis\n"
        "bad = [m for m in ('httpx', 'sqlalchemy', 'router.telemetry', 'router.quality')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PACKAGE.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
