"""The results table (text for the terminal, Markdown for bench/results) and machine notes."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

HEADER = ["benchmark", "turnout", "anchor", "ratio", "target", "met"]


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def cpu_busy(seconds: float = 1.0) -> float | None:
    """The share of all CPUs busy over SECONDS (other work, when this run is idle)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return round(1.0 - (idle1 - idle0) / total, 3) if total > 0 else None


def machine(root: Path) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in (
        "turnout",
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "orjson",
        "onnxruntime",
        "mlflow",
        "scikit-learn",
        "skl2onnx",
        "numpy",
    ):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    commit = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "wrk": shutil.which("wrk") is not None,
        "taskset": shutil.which("taskset") is not None,
        "commit": commit,
    }


def text_table(rows: list[list[str]]) -> str:
    table = [HEADER, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = []
    for n, r in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    def esc(c: str) -> str:
        return c.replace("|", "\\|")

    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(doc: dict[str, Any], rows: list[list[str]]) -> str:
    m = doc["machine"]
    notes = doc.get("notes", [])
    parts = [
        f"# turnout benchmarks: {'quick (smoke) run' if doc['quick'] else 'full run'}",
        "",
        f"Run {doc['started_at']} in {doc['elapsed_s']:.0f} s; commit `{m.get('commit')}`; "
        f"command `{doc['command']}`.",
        "",
        f"Machine: {m['cpus']} x {m['cpu']}, {m['memory_gb']} GB, Linux {m['kernel']}, "
        f"Python {m['python']}; onnxruntime {m['packages'].get('onnxruntime')}, "
        f"uvicorn {m['packages'].get('uvicorn')}, fastapi {m['packages'].get('fastapi')}, "
        f"mlflow {m['packages'].get('mlflow')}.",
        f"Pinning: {doc['pinning']}.",
        f"Load average (1, 5, 15 min) at start {doc.get('loadavg_start')}, "
        f"at end {doc.get('loadavg_end')}; CPU busy with other work just before the run "
        f"{doc.get('cpu_busy_before')} (share of both cores).",
        "",
        markdown_table(rows),
        "",
    ]
    if notes:
        parts += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)
