"""The import rules of ARCHITECTURE.md, checked by parsing every module with `ast`.

Every import counts: `import x`, `from x import y`, relative imports, imports inside
functions, under `if TYPE_CHECKING:`, and `importlib.import_module("x")` /
`__import__("x")` with a literal name. A rule's failure lists each offending
file:line and the import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("turnout", "registry", "router", "monitors", "migrations", "dashboards")

ONNXRUNTIME_HOME = "router/inference/"
MLFLOW_HOME = "registry/mlflow_registry.py"
EVIDENTLY_HOME = "monitors/report.py"

PURE_MONITOR_NAMES = (
    "profile.py",
    "profile_schema.py",
    "binning.py",
    "quantiles.py",
    "errors.py",
    "stats.py",
    "policy.py",
    "check.py",
)
PURE_ROUTER_FILES = (
    "router/inference/signature.py",
    "router/inference/binding.py",
    "router/inference/checks.py",
    # Not named in ARCHITECTURE.md, but binding.py raises its errors; it is stdlib-only
    # like monitors/errors.py, and is held to the same rule.
    "router/inference/errors.py",
    "router/traffic/__init__.py",
    "router/traffic/errors.py",
    "router/traffic/policy.py",
    "router/traffic/parse.py",
    "router/traffic/split.py",
    "router/traffic/table.py",
    "router/quality/stats.py",
    "router/api/codec/__init__.py",
    "router/api/codec/errors.py",
    "router/api/codec/oip.py",
    "router/api/codec/mlflow_scoring.py",
    "router/api/codec/_json.py",
    "router/api/codec/_tensors.py",
    "router/api/codec/_frames.py",
    "router/analysis/errors.py",
    "router/analysis/evaluate.py",
    "router/analysis/jsonpath.py",
    "router/analysis/judge.py",
    "router/analysis/measurement.py",
    "router/analysis/sequential.py",
    "router/analysis/shift.py",
    "router/analysis/simulate.py",
    "router/analysis/spec.py",
    "router/analysis/verdict.py",
    "router/rollout/actions.py",
    "router/rollout/describe.py",
    "router/rollout/errors.py",
    "router/rollout/machine.py",
    "router/rollout/phases.py",
    "router/rollout/spec.py",
    "router/rollout/status.py",
)
# orjson only turns bytes into objects and back: no I/O, so pure modules may use it.
PURE_THIRD_PARTY = frozenset({"numpy", "scipy", "pandas", "pydantic", "orjson"})


@dataclass(frozen=True)
class Import:
    file: str  # relative to the project root, with forward slashes
    line: int
    module: str  # absolute dotted name; for `from m import n`, m
    name: str | None = None  # for `from m import n`, n (it may be a submodule)

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    @property
    def candidates(self) -> tuple[str, ...]:
        """The modules this statement may load: m, and m.n when n is a submodule."""
        if self.name is None or self.name == "*":
            return (self.module,)
        return (self.module, f"{self.module}.{self.name}")

    def __str__(self) -> str:
        what = self.module if self.name is None else f"{self.module} ({self.name})"
        return f"{self.file}:{self.line} imports {what}"


def module_name(relative: str) -> str:
    parts = relative.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(relative: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    package = module_name(relative).split(".")
    if not relative.endswith("__init__.py"):
        package.pop()
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _literal_import(node: ast.Call) -> str | None:
    func = node.func
    named = (isinstance(func, ast.Name) and func.id in {"import_module", "__import__"}) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )
    if named and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def collect_imports(source: str, relative: str) -> list[Import]:
    found: list[Import] = []
    for node in ast.walk(ast.parse(source, filename=relative)):
        if isinstance(node, ast.Import):
            found.extend(Import(relative, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(relative, node.module, node.level)
            found.extend(Import(relative, node.lineno, module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Call):
            literal = _literal_import(node)
            if literal is not None:
                found.append(Import(relative, node.lineno, literal))
    return sorted(found, key=lambda item: (item.file, item.line, item.module))


def project_files() -> list[str]:
    files: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                files.append(path.relative_to(ROOT).as_posix())
    return files


@cache
def all_imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for relative in project_files():
        found.extend(collect_imports((ROOT / relative).read_text(encoding="utf-8"), relative))
    return tuple(found)


def pure_files() -> list[str]:
    monitors = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "monitors").rglob("*.py"))
        if path.name in PURE_MONITOR_NAMES
    ]
    return [*monitors, *PURE_ROUTER_FILES]


# --- the rules: each returns the imports that break it ------------------------------


def _under(imp: Import, package: str) -> bool:
    return imp.file.startswith(package + "/")


def _from_project(imp: Import, packages: Iterable[str]) -> bool:
    return imp.top in set(packages)


def migrations_violations(imports: Iterable[Import]) -> list[Import]:
    others = set(PACKAGES) - {"migrations"}
    return [i for i in imports if _under(i, "migrations") and _from_project(i, others)]


def registry_violations(imports: Iterable[Import]) -> list[Import]:
    others = set(PACKAGES) - {"registry", "migrations"}
    return [i for i in imports if _under(i, "registry") and _from_project(i, others)]


def router_monitors_violations(imports: Iterable[Import]) -> list[Import]:
    return [
        i
        for i in imports
        if (_under(i, "router") or _under(i, "monitors"))
        and _from_project(i, {"turnout", "dashboards"})
    ]


def onnxruntime_violations(imports: Iterable[Import]) -> list[Import]:
    return [
        i for i in imports if i.top == "onnxruntime" and not i.file.startswith(ONNXRUNTIME_HOME)
    ]


def mlflow_violations(imports: Iterable[Import]) -> list[Import]:
    return [i for i in imports if i.top == "mlflow" and i.file != MLFLOW_HOME]


def evidently_violations(imports: Iterable[Import]) -> list[Import]:
    return [i for i in imports if i.top == "evidently" and i.file != EVIDENTLY_HOME]


# What the dashboard may read through (ARCHITECTURE.md: "dashboards reads through
# migrations and router.telemetry names"), plus the existing read functions it calls.
DASHBOARD_MAY_IMPORT = (
    "dashboards",
    "migrations",
    "registry",
    "router.telemetry",
    "router.controller.store",
    "monitors.store",
    "monitors.profile_schema",
    "monitors.errors",
)


def dashboards_violations(imports: Iterable[Import]) -> list[Import]:
    def allowed(imp: Import) -> bool:
        if imp.top not in PACKAGES:
            return imp.top not in {"onnxruntime", "mlflow", "evidently"}
        return any(
            imp.module == home or imp.module.startswith(home + ".") for home in DASHBOARD_MAY_IMPORT
        ) or (
            imp.module in {"monitors", "router"}
            and imp.name is not None
            and any(f"{imp.module}.{imp.name}" == home for home in DASHBOARD_MAY_IMPORT)
        )

    return [i for i in imports if _under(i, "dashboards") and not allowed(i)]


def pure_violations(imports: Iterable[Import], pure: Iterable[str]) -> list[Import]:
    pure_files_ = set(pure)
    pure_modules = {module_name(f) for f in pure_files_}

    def allowed(imp: Import) -> bool:
        if imp.top in sys.stdlib_module_names or imp.top in PURE_THIRD_PARTY:
            return True
        return any(candidate in pure_modules for candidate in imp.candidates)

    return [i for i in imports if i.file in pure_files_ and not allowed(i)]


def _report(rule: str, offenders: list[Import]) -> str:
    return rule + ":\n" + "\n".join(f"  {item}" for item in offenders)


# --- the collector finds what it must ------------------------------------------------


def _imports_of(relative: str) -> list[Import]:
    return [i for i in all_imports() if i.file == relative]


def test_scans_every_package() -> None:
    files = project_files()
    for package in PACKAGES:
        assert f"{package}/__init__.py" in files


def test_collector_sees_a_top_level_import() -> None:
    assert any(i.top == "onnxruntime" for i in _imports_of("router/inference/session.py"))


def test_collector_sees_imports_inside_functions() -> None:
    # registry/mlflow_registry.py imports mlflow only inside functions.
    assert any(i.top == "mlflow" for i in _imports_of(MLFLOW_HOME))
    assert any(i.module == "skl2onnx" for i in _imports_of("registry/convert.py"))


def test_collector_sees_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import mlflow.tracking\n"
        "def f():\n"
        "    from evidently import Report\n"
        "    return importlib.import_module('onnxruntime')\n"
    )
    found = collect_imports(source, "monitors/stats.py")
    assert [(i.line, i.module) for i in found] == [
        (1, "typing"),
        (3, "mlflow.tracking"),
        (5, "evidently"),
        (6, "onnxruntime"),
    ]


def test_collector_resolves_relative_imports() -> None:
    found = collect_imports(
        "from . import signature\nfrom .. import traffic\nfrom .errors import E\n",
        "router/inference/binding.py",
    )
    assert [i.candidates for i in found] == [
        ("router.inference", "router.inference.signature"),
        ("router", "router.traffic"),
        ("router.inference.errors", "router.inference.errors.E"),
    ]
    init = collect_imports("from .session import load\n", "router/inference/__init__.py")
    assert init[0].module == "router.inference.session"


def test_pure_modules_exist() -> None:
    missing = [f for f in PURE_ROUTER_FILES if not (ROOT / f).is_file()]
    assert not missing, f"pure modules named by this test are gone: {missing}"


# --- each rule catches a breach ------------------------------------------------------

_BREACHES: list[tuple[Callable[[Iterable[Import]], list[Import]], Import]] = [
    (migrations_violations, Import("migrations/models/base.py", 3, "registry.names")),
    (registry_violations, Import("registry/convert.py", 3, "router.inference", "load_session")),
    (registry_violations, Import("registry/fake.py", 3, "turnout.settings")),
    (router_monitors_violations, Import("router/api/app.py", 3, "turnout.settings")),
    (router_monitors_violations, Import("monitors/runner.py", 3, "dashboards")),
    (onnxruntime_violations, Import("registry/convert.py", 9, "onnxruntime")),
    (onnxruntime_violations, Import("router/traffic/split.py", 9, "onnxruntime.capi")),
    (mlflow_violations, Import("turnout/cli/models.py", 9, "mlflow.tracking")),
    (evidently_violations, Import("monitors/stats.py", 9, "evidently", "Report")),
    (dashboards_violations, Import("dashboards/app.py", 9, "router.serving.gateway")),
    (dashboards_violations, Import("dashboards/app.py", 9, "monitors.report")),
    (dashboards_violations, Import("dashboards/app.py", 9, "onnxruntime")),
    (dashboards_violations, Import("dashboards/app.py", 9, "turnout.settings")),
]


@pytest.mark.parametrize(
    ("rule", "breach"), _BREACHES, ids=[f"{r.__name__}:{b.file}" for r, b in _BREACHES]
)
def test_rule_catches_a_breach(
    rule: Callable[[Iterable[Import]], list[Import]], breach: Import
) -> None:
    assert rule([breach]) == [breach]


def test_rules_allow_the_homes() -> None:
    assert not registry_violations([Import("registry/audit.py", 1, "migrations.models")])
    assert not onnxruntime_violations([Import("router/inference/session.py", 1, "onnxruntime")])
    assert not mlflow_violations([Import(MLFLOW_HOME, 1, "mlflow.onnx")])
    assert not evidently_violations([Import(EVIDENTLY_HOME, 1, "evidently")])


def test_pure_rule_catches_a_breach() -> None:
    pure = ["monitors/binning.py", "router/inference/signature.py"]
    breaches = [
        Import("monitors/binning.py", 1, "sqlalchemy"),
        Import("monitors/binning.py", 2, "monitors.report"),
        Import("router/inference/signature.py", 1, "router.inference.session", "OnnxModel"),
        Import("router/inference/signature.py", 2, "router.inference", "session"),
        Import("router/inference/signature.py", 3, "onnx"),
    ]
    fine = [
        Import("monitors/binning.py", 3, "numpy.typing"),
        Import("monitors/binning.py", 4, "collections.abc", "Sequence"),
        Import("router/inference/signature.py", 4, "monitors.binning", "bin_index"),
        Import("router/inference/signature.py", 5, "router.inference", "signature"),
        Import("monitors/runner.py", 1, "sqlalchemy"),  # not a pure module
    ]
    assert pure_violations([*breaches, *fine], pure) == breaches


# --- the rules hold for the project --------------------------------------------------


def test_migrations_import_nothing_of_the_project() -> None:
    offenders = migrations_violations(all_imports())
    assert not offenders, _report("migrations may import only itself", offenders)


def test_registry_imports_only_migrations() -> None:
    offenders = registry_violations(all_imports())
    assert not offenders, _report("registry may import only itself and migrations", offenders)


def test_router_and_monitors_do_not_import_turnout_or_dashboards() -> None:
    offenders = router_monitors_violations(all_imports())
    assert not offenders, _report(
        "router and monitors may not import turnout/dashboards", offenders
    )


def test_only_router_inference_imports_onnxruntime() -> None:
    offenders = onnxruntime_violations(all_imports())
    assert not offenders, _report(f"only {ONNXRUNTIME_HOME} may import onnxruntime", offenders)


def test_only_the_mlflow_registry_imports_mlflow() -> None:
    offenders = mlflow_violations(all_imports())
    assert not offenders, _report(f"only {MLFLOW_HOME} may import mlflow", offenders)


def test_only_the_drift_report_imports_evidently() -> None:
    offenders = evidently_violations(all_imports())
    assert not offenders, _report(f"only {EVIDENTLY_HOME} may import evidently", offenders)


def test_pure_modules_import_no_io_library() -> None:
    offenders = pure_violations(all_imports(), pure_files())
    allowed = ", ".join(sorted(PURE_THIRD_PARTY))
    assert not offenders, _report(
        f"pure modules may import the standard library, {allowed} and pure modules", offenders
    )


def test_dashboards_read_only_through_their_sources() -> None:
    offenders = dashboards_violations(all_imports())
    allowed = ", ".join(DASHBOARD_MAY_IMPORT[1:])
    assert not offenders, _report(f"dashboards may import only {allowed}", offenders)
