"""P4: drift check speed and quality, turnout against Evidently's DataDriftPreset.

    .venv/bin/python bench/drift.py [--quick] [--seed 20260105] [--results DIR]

Speed: one window of 50k rows x 20 features against a 50k-row reference with three
planted shifts; turnout's ``check_frames`` (both tables in, every statistic, the
calibration, the verdict) and the live path (``evaluate_window``: a stored reference
profile and the window's merged sketch) against ``Report([DataDriftPreset()]).run`` on
the same two tables; medians of repeated runs, and the drifted-feature sets.

Quality: windows from the reference distribution and with planted shifts (a mean shift
of 0.1-0.5 sd in one feature, a category share change, a variance change), in synthetic
data (20k-row reference, 10k-row windows) and in scikit-learn's bundled data sets (the
whole set is the reference, windows of 10k rows resampled from it). For every window
both tools judge the same tables; the table gives the share of windows each flags
(dataset verdict) and the share where the shifted feature itself is flagged. turnout's
false-alarm rate on undrifted synthetic windows is also measured on many more windows
than Evidently can run in the time. Writes ``drift.json`` and ``drift.md`` (``--quick``:
``drift-quick.*``) to the results folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from monitors.check import check_frames, evaluate_window  # noqa: E402
from monitors.policy import AlertState, _calibrate_cached  # noqa: E402
from monitors.profile import compute_profile  # noqa: E402
from monitors.shifts import Shift, category_move, mean_shift, scale, synthetic  # noqa: E402

NUMERIC = [
    *(f"norm{i}" for i in range(5)),
    *(f"logn{i}" for i in range(3)),
    "expo0",
    "expo1",
    "unif",
    "pois",
    "small",
    "flag",
    "gappy",
    "heavy",
]
CATEGORICAL = ["cat0", "cat1", "cat2", "bool"]


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


# --- Evidently ------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidentlyVerdict:
    dataset_drift: bool
    drifted: tuple[str, ...]


def evidently_check(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> EvidentlyVerdict:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
    drifted: list[str] = []
    share = 0.0
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
            drift_share = float(config.get("drift_share", 0.5))
        elif config["type"].endswith("ValueDrift"):
            value, threshold = float(metric["value"]), float(config["threshold"])
            is_p_value = "p_value" in str(config["method"])
            if (value < threshold) if is_p_value else (value >= threshold):
                drifted.append(str(config["column"]))
    return EvidentlyVerdict(share >= drift_share, tuple(drifted))


# --- P4 speed -------------------------------------------------------------------------


def _sketch_of(profile: Any, window: pd.DataFrame) -> dict[str, Any]:
    """The merged input sketch of a window, made by the gateway's own sketcher."""
    from router.telemetry import InputSketcher

    names = [f.name for f in profile.features]
    sketcher = InputSketcher.from_profile(profile, names)
    sketcher.observe_rows(window[names])
    return dict(sketcher.to_dict())


def _median_time(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def speed(seed: int, quick: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    reference = synthetic(50_000, rng)
    window = synthetic(50_000, rng)
    window["norm0"] = window["norm0"] + 0.5 * 1.0
    window["norm3"] = 30 + (window["norm3"] - 30) * 1.5
    moved = (window["cat0"] == "a") & (rng.random(len(window)) < 0.25)
    window.loc[moved, "cat0"] = "d"
    planted = {"norm0", "norm3", "cat0"}

    _calibrate_cached.cache_clear()
    t = time.perf_counter()
    ours_first = check_frames(reference, window)
    cold = time.perf_counter() - t
    warm, warm_all = _median_time(lambda: check_frames(reference, window), 5 if quick else 20)

    profile = compute_profile(reference)
    sketch = _sketch_of(profile, window)
    _calibrate_cached.cache_clear()
    t = time.perf_counter()
    live_result = evaluate_window(profile, sketch)
    live_cold = time.perf_counter() - t
    live, _ = _median_time(lambda: evaluate_window(profile, sketch), 5 if quick else 20)

    evidently_check(reference.iloc[:1000], window.iloc[:1000], NUMERIC, CATEGORICAL)  # warm-up
    ev_times = []
    ev_result = None
    for _ in range(1 if quick else 3):
        t = time.perf_counter()
        ev_result = evidently_check(reference, window, NUMERIC, CATEGORICAL)
        ev_times.append(time.perf_counter() - t)
    assert ev_result is not None
    ev = statistics.median(ev_times)
    return {
        "rows": 50_000,
        "features": 20,
        "planted": sorted(planted),
        "turnout_check_frames_cold_s": cold,
        "turnout_check_frames_warm_median_s": warm,
        "turnout_check_frames_warm_min_s": min(warm_all),
        "turnout_live_window_cold_s": live_cold,
        "turnout_live_window_warm_median_s": live,
        "evidently_median_s": ev,
        "evidently_runs_s": ev_times,
        "ratio_cold": cold / ev,
        "ratio_warm": warm / ev,
        "ratio_live_warm": live / ev,
        "turnout_drifted": sorted(ours_first.drifted),
        "turnout_live_drifted": sorted(live_result.drifted),
        "evidently_drifted": sorted(ev_result.drifted),
        "same_drifted_set": set(ours_first.drifted) == set(ev_result.drifted) == planted,
    }


# --- quality --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    data: str
    name: str
    column: str | None
    shift: Shift | None


def _bundled() -> dict[str, pd.DataFrame]:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine

    out = {}
    for name, loader in (
        ("breast_cancer", load_breast_cancer),
        ("wine", load_wine),
        ("diabetes", load_diabetes),
        ("digits", load_digits),
    ):
        out[name] = loader(as_frame=True).frame.drop(columns=["target"])
    return out


def scenarios(bundled: dict[str, pd.DataFrame]) -> list[Scenario]:
    out = [
        Scenario("synthetic", "no shift", None, None),
        Scenario("synthetic", "mean +0.1 sd", "norm2", mean_shift("norm2", 3.0, 0.1)),
        Scenario("synthetic", "mean +0.2 sd", "norm2", mean_shift("norm2", 3.0, 0.2)),
        Scenario("synthetic", "mean +0.5 sd", "norm2", mean_shift("norm2", 3.0, 0.5)),
        # lognormal(0, 0.8): sd = sqrt((e^0.64 - 1) e^0.64) = 1.303
        Scenario("synthetic", "mean +0.1 sd (lognormal)", "logn1", mean_shift("logn1", 1.303, 0.1)),
        Scenario("synthetic", "sd x1.1", "norm1", scale("norm1", 10.0, 1.1)),
        Scenario("synthetic", "sd x1.2", "norm1", scale("norm1", 10.0, 1.2)),
        Scenario("synthetic", "2 points a->d", "cat1", category_move("cat1", 0.02)),
        Scenario("synthetic", "5 points a->d", "cat1", category_move("cat1", 0.05)),
    ]
    for data, frame in bundled.items():
        stds = frame.std()
        column = str(stds[frame.nunique() > 10].idxmax())
        sd = float(stds[column])
        out.append(Scenario(data, "no shift", None, None))
        for amount in (0.1, 0.3, 0.5):
            out.append(Scenario(data, f"mean +{amount} sd", column, mean_shift(column, sd, amount)))
    return out


def _window(
    scenario: Scenario, reference: pd.DataFrame, rng: np.random.Generator, rows: int
) -> pd.DataFrame:
    if scenario.data == "synthetic":
        window = synthetic(rows, rng)
    else:
        window = reference.iloc[rng.integers(0, len(reference), rows)].reset_index(drop=True)
    return window if scenario.shift is None else scenario.shift(window, rng)


def quality(seed: int, windows: int, null_windows: int) -> dict[str, Any]:
    bundled = _bundled()
    rng = np.random.default_rng(seed)
    references = {"synthetic": synthetic(20_000, rng), **bundled}
    rows_out = []
    for scenario in scenarios(bundled):
        reference = references[scenario.data]
        if scenario.data == "synthetic":
            numeric, categorical = NUMERIC, CATEGORICAL
        else:
            numeric, categorical = list(reference.columns), []
        ours = {"flagged": 0, "column": 0, "column_warn": 0, "warn_or_worse": 0}
        ev = {"flagged": 0, "column": 0, "any_column": 0}
        started = time.perf_counter()
        for _ in range(windows):
            window = _window(scenario, reference, rng, 10_000)
            result = check_frames(reference, window)
            verdict = evidently_check(reference, window, numeric, categorical)
            ours["flagged"] += result.verdict == "DRIFT"
            ours["warn_or_worse"] += result.verdict in ("WARN", "DRIFT")
            ev["flagged"] += verdict.dataset_drift
            ev["any_column"] += bool(verdict.drifted)
            if scenario.column is not None:
                ours["column"] += scenario.column in result.drifted
                ours["column_warn"] += scenario.column in (*result.drifted, *result.warned)
                ev["column"] += scenario.column in verdict.drifted
        row = {
            "data": scenario.data,
            "reference_rows": len(reference),
            "scenario": scenario.name,
            "column": scenario.column,
            "windows": windows,
            "turnout_dataset_drift": ours["flagged"] / windows,
            "turnout_warn_or_drift": ours["warn_or_worse"] / windows,
            "turnout_column_drift": ours["column"] / windows if scenario.column else None,
            "turnout_column_warn_or_drift": (
                ours["column_warn"] / windows if scenario.column else None
            ),
            "evidently_dataset_drift": ev["flagged"] / windows,
            "evidently_any_column": ev["any_column"] / windows,
            "evidently_column_drift": ev["column"] / windows if scenario.column else None,
            "seconds": round(time.perf_counter() - started, 1),
        }
        say(
            f"   {scenario.data:14s} {scenario.name:26s} ours {row['turnout_dataset_drift']:.2f}"
            f" / col {row['turnout_column_drift']}  evidently {row['evidently_dataset_drift']:.2f}"
            f" / col {row['evidently_column_drift']} / any {row['evidently_any_column']:.2f}"
        )
        rows_out.append(row)

    # turnout alone on many undrifted synthetic windows: per-window DRIFT and WARN
    # rates, and alerts after hysteresis (3 consecutive DRIFT windows).
    reference = references["synthetic"]
    verdicts: list[str] = []
    state = AlertState()
    alerts = 0
    for _ in range(null_windows):
        result = check_frames(reference, synthetic(10_000, rng))
        verdicts.append(result.verdict)
        state, event = state.step(result.verdict)
        alerts += event == "raise"
    null = {
        "windows": null_windows,
        "drift_rate": verdicts.count("DRIFT") / null_windows,
        "warn_rate": verdicts.count("WARN") / null_windows,
        "alerts_after_hysteresis": alerts,
    }
    return {"scenarios": rows_out, "null": null}


# --- output ---------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def markdown(doc: dict[str, Any]) -> str:
    s = doc["speed"]
    q = doc["quality"]
    lines = [
        f"# P4 drift check ({doc['run_at']}, commit {doc['commit']})",
        "",
        f"Command: `{doc['command']}`",
        "",
        *(
            [f"Sections kept from an earlier run: {doc['sections_from_previous_run']}", ""]
            if doc.get("sections_from_previous_run")
            else []
        ),
        "## Speed: one window, 50k rows x 20 features, 50k-row reference",
        "",
        "| what | time | vs Evidently |",
        "|---|---|---|",
        f"| Evidently DataDriftPreset (median) | {s['evidently_median_s'] * 1e3:.0f} ms | 1 |",
        f"| turnout check_frames, first call (calibration computed) | "
        f"{s['turnout_check_frames_cold_s'] * 1e3:.1f} ms | 1/{1 / s['ratio_cold']:.0f} |",
        f"| turnout check_frames, median (calibration cached) | "
        f"{s['turnout_check_frames_warm_median_s'] * 1e3:.1f} ms | 1/{1 / s['ratio_warm']:.0f} |",
        f"| turnout live window (profile + sketch), median | "
        f"{s['turnout_live_window_warm_median_s'] * 1e3:.1f} ms | "
        f"1/{1 / s['ratio_live_warm']:.0f} |",
        "",
        f"Planted shifts: {', '.join(s['planted'])}. Drifted: turnout "
        f"{s['turnout_drifted']}, live {s['turnout_live_drifted']}, Evidently "
        f"{s['evidently_drifted']}; same set: {s['same_drifted_set']}.",
        "",
        "## Quality: share of 10k-row windows flagged",
        "",
        "Dataset = the window's verdict (turnout: DRIFT; Evidently: drifted share >= 0.5). "
        "Column = the shifted feature itself flagged (turnout DRIFT, or WARN or DRIFT; "
        "Evidently drift). Evidently any = at least one column flagged.",
        "",
        "| data (reference rows) | scenario | windows | turnout dataset | turnout column | "
        "turnout column >= WARN | Evidently dataset | Evidently column | Evidently any |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in q["scenarios"]:
        lines.append(
            f"| {r['data']} ({r['reference_rows']}) | {r['scenario']} | {r['windows']} | "
            f"{_pct(r['turnout_dataset_drift'])} | {_pct(r['turnout_column_drift'])} | "
            f"{_pct(r['turnout_column_warn_or_drift'])} | "
            f"{_pct(r['evidently_dataset_drift'])} | {_pct(r['evidently_column_drift'])} | "
            f"{_pct(r['evidently_any_column'])} |"
        )
    n = q["null"]
    lines += [
        "",
        f"turnout alone on {n['windows']} undrifted synthetic windows (10k rows, 20 features): "
        f"DRIFT {n['drift_rate']:.2%} of windows, WARN {n['warn_rate']:.2%}, "
        f"alerts after hysteresis (3 consecutive DRIFT) {n['alerts_after_hysteresis']}.",
        "",
    ]
    return "\n".join(lines)


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BENCH,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few windows: a smoke run")
    parser.add_argument("--seed", type=int, default=20260105, help="seed of every draw")
    parser.add_argument("--windows", type=int, help="windows per scenario (both tools)")
    parser.add_argument("--null-windows", type=int, help="undrifted windows, turnout alone")
    parser.add_argument("--results", type=Path, default=BENCH / "results", help="output folder")
    parser.add_argument(
        "--only",
        choices=("speed", "quality"),
        help="one section; the other is kept from the previous results file",
    )
    args = parser.parse_args(argv)
    windows = args.windows or (3 if args.quick else 20)
    null_windows = args.null_windows or (50 if args.quick else 1000)
    stem = "drift-quick" if args.quick else "drift"
    previous: dict[str, Any] = {}
    if args.only and (args.results / f"{stem}.json").is_file():
        previous = json.loads((args.results / f"{stem}.json").read_text())
    if args.only and not previous:
        parser.error(f"--only needs a previous {stem}.json in {args.results}")

    started = time.monotonic()
    if args.only == "quality":
        speed_doc = previous["speed"]
    else:
        say("-- P4 speed: 50k x 20 ...")
        speed_doc = speed(args.seed, args.quick)
        say(
            f"   turnout {speed_doc['turnout_check_frames_warm_median_s'] * 1e3:.1f} ms "
            f"(first {speed_doc['turnout_check_frames_cold_s'] * 1e3:.1f} ms), Evidently "
            f"{speed_doc['evidently_median_s']:.2f} s, same set {speed_doc['same_drifted_set']}"
        )
    if args.only == "speed":
        quality_doc = previous["quality"]
    else:
        say(f"-- quality: {windows} windows per scenario, {null_windows} undrifted ...")
        quality_doc = quality(args.seed + 1, windows, null_windows)
    versions: dict[str, str | None] = {}
    for pkg in ("evidently", "numpy", "scipy", "pandas", "scikit-learn"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    doc = {
        "benchmark": "P4",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "command": " ".join([".venv/bin/python bench/drift.py", *(argv or sys.argv[1:])]),
        "seed": args.seed,
        "versions": versions,
        "elapsed_s": round(time.monotonic() - started, 1),
        "speed": speed_doc,
        "quality": quality_doc,
    }
    if args.only:
        kept = "quality" if args.only == "speed" else "speed"
        # A section kept through several --only runs keeps the time it was measured.
        measured = (previous.get("sections_from_previous_run") or {}).get(kept)
        doc["sections_from_previous_run"] = {kept: measured or previous.get("run_at")}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{stem}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    text = markdown(doc)
    (args.results / f"{stem}.md").write_text(text)
    say()
    say(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
