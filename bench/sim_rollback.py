"""P5: time to roll back a bad canary, and false rollbacks of a good one (simulated clock).

    .venv/bin/python bench/sim_rollback.py [--runs 1000] [--seed 20260105] [--results DIR]

A 10% canary at 100 req/s, judged on counts cumulative since the step began. Each
rule sees the same simulated runs: turnout's sequential test (checked every second),
a naive one-sided z-test at 5% re-run every 10 s (and every 1 s), and Flagger's
default threshold check (every 60 s the last minute's error rate against a max of 2%,
twice the healthy rate; rollback after 5 failed checks). Scenarios: error rate
1% -> 5% and A/A at 1% for an hour (the P5 target), plus latency (p50 x1.5) and
accuracy (0.9 -> 0.8, labels 30 s late) with their A/A hours. Prints a table and
writes ``sim_rollback.json`` to the results folder. Runs are simulated in chunks, so
memory stays bounded whatever ``--runs`` is.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from router.analysis import SequentialSpec
from router.analysis.simulate import (
    AlarmSummary,
    CountPaths,
    LatencyPaths,
    Traffic,
    error_paths,
    labelled_paths,
    latency_paths,
    naive_z_alarms,
    sequential_error_alarms,
    sequential_latency_alarms,
    summarize,
    threshold_alarms,
)
from router.telemetry.histogram import LATENCY_BOUNDS

BENCH = Path(__file__).resolve().parent
ALPHA = 0.05
TARGET_MEDIAN_S = 30.0
HOUR = Traffic(rate=100.0, share=0.1, seconds=3600)
BAD = Traffic(rate=100.0, share=0.1, seconds=900)
LABEL_DELAY_S = 30
CHUNK_RUNS = 250  # bounds memory: arrays are runs x seconds

SEQ = SequentialSpec(alpha=ALPHA)  # the default minimum effects per kind
LR_ALONE = SequentialSpec(alpha=ALPHA, min_effect=1e-9)

FloatArray = npt.NDArray[np.float64]
Rule = Callable[[Any], FloatArray]


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "a/a" (every alarm is false) or "bad" (every alarm is right)
    paths: Callable[[np.random.Generator, int], Any]
    rules: dict[str, Rule]


def _error_rules() -> dict[str, Rule]:
    return {
        "sequential (turnout, min effect +1 pt)": lambda p: sequential_error_alarms(p, SEQ),
        "sequential, likelihood ratio alone": lambda p: sequential_error_alarms(p, LR_ALONE),
        "naive z-test every 10 s": lambda p: naive_z_alarms(p, alpha=ALPHA, every_s=10),
        "naive z-test every 1 s": lambda p: naive_z_alarms(p, alpha=ALPHA, every_s=1),
        "Flagger: 60 s x 5 checks, max 2%": lambda p: threshold_alarms(
            p, max_rate=0.02, interval_s=60, threshold=5
        ),
    }


def _latency_rules() -> dict[str, Rule]:
    return {
        "sequential (turnout, min effect +20%)": lambda p: sequential_latency_alarms(p, SEQ),
        "sequential, no minimum effect": lambda p: sequential_latency_alarms(p, LR_ALONE),
    }


def _accuracy_rules() -> dict[str, Rule]:
    return {
        "sequential (turnout, min effect -2 pts)": lambda p: sequential_error_alarms(
            p, SEQ, kind="accuracy"
        ),
        "sequential, likelihood ratio alone": lambda p: sequential_error_alarms(
            p, LR_ALONE, kind="accuracy"
        ),
        "naive z-test every 10 s": lambda p: naive_z_alarms(p, alpha=ALPHA, every_s=10),
    }


def _lat(median_c: float, traffic: Traffic) -> Callable[[np.random.Generator, int], LatencyPaths]:
    bounds = tuple(LATENCY_BOUNDS)
    return lambda rng, n: latency_paths(rng, n, traffic, bounds, median_c, 0.05, 0.5)


def _err(rate_c: float, traffic: Traffic) -> Callable[[np.random.Generator, int], CountPaths]:
    return lambda rng, n: error_paths(rng, n, traffic, rate_c, 0.01)


def _acc(acc_c: float, traffic: Traffic) -> Callable[[np.random.Generator, int], CountPaths]:
    return lambda rng, n: labelled_paths(rng, n, traffic, acc_c, 0.9, LABEL_DELAY_S)


SCENARIOS = (
    Scenario("errors 1% -> 5%", "bad", _err(0.05, BAD), _error_rules()),
    Scenario("errors A/A 1%, 1 h", "a/a", _err(0.01, HOUR), _error_rules()),
    Scenario("latency p50 x1.5", "bad", _lat(0.075, BAD), _latency_rules()),
    Scenario("latency A/A, 1 h", "a/a", _lat(0.05, HOUR), _latency_rules()),
    Scenario("accuracy 0.9 -> 0.8 (labels +30 s)", "bad", _acc(0.8, BAD), _accuracy_rules()),
    Scenario("accuracy A/A 0.9, 1 h", "a/a", _acc(0.9, HOUR), _accuracy_rules()),
)


def run_scenario(scenario: Scenario, runs: int, seed: np.random.SeedSequence) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    times: dict[str, list[FloatArray]] = {rule: [] for rule in scenario.rules}
    t0 = time.monotonic()
    for start in range(0, runs, CHUNK_RUNS):
        paths = scenario.paths(rng, min(CHUNK_RUNS, runs - start))
        for rule, fn in scenario.rules.items():
            times[rule].append(fn(paths))
    return {
        "scenario": scenario.name,
        "kind": scenario.kind,
        "seconds": round(time.monotonic() - t0, 1),
        "rules": {rule: summarize(np.concatenate(t)) for rule, t in times.items()},
    }


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _time(s: float | None) -> str:
    return "never" if s is None or not math.isfinite(s) else f"{s:.0f} s"


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| scenario | rule | rollbacks (95% CI) | median time | p90 time |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for rule, s in r["rules"].items():
            rate = f"{s.rate:.1%} ({s.rate_low:.1%} - {s.rate_high:.1%})"
            lines.append(
                f"| {r['scenario']} | {rule} | {rate} | {_time(s.median_s)} | {_time(s.p90_s)} |"
            )
    return lines


def targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name = {r["scenario"]: r["rules"] for r in results}
    ours = "sequential (turnout, min effect +1 pt)"
    flagger = "Flagger: 60 s x 5 checks, max 2%"
    bad: AlarmSummary = by_name["errors 1% -> 5%"][ours]
    anchor: AlarmSummary = by_name["errors 1% -> 5%"][flagger]
    aa: AlarmSummary = by_name["errors A/A 1%, 1 h"][ours]
    return [
        {
            "target": f"median time to roll back 1% -> 5% <= {TARGET_MEDIAN_S:.0f} s",
            "value": _finite(bad.median_s),
            "anchor": _finite(anchor.median_s),
            "met": bad.median_s <= TARGET_MEDIAN_S,
        },
        {
            "target": f"false rollbacks over 1 h of A/A <= alpha ({ALPHA})",
            "value": aa.rate,
            "ci": [aa.rate_low, aa.rate_high],
            "met": aa.rate <= ALPHA,
        },
    ]


def _finite(x: float) -> float | None:
    """JSON has no infinity: "never" is null."""
    return x if math.isfinite(x) else None


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="simulated runs per scenario")
    parser.add_argument("--seed", type=int, default=20260105, help="seed of every scenario")
    parser.add_argument("--results", type=Path, default=BENCH / "results", help="output folder")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")

    started = time.monotonic()
    seeds = np.random.SeedSequence(args.seed).spawn(len(SCENARIOS))
    results = []
    for scenario, seed in zip(SCENARIOS, seeds, strict=True):
        say(f"-- {scenario.name}: {args.runs} runs ...")
        results.append(run_scenario(scenario, args.runs, seed))
        say(f"   {results[-1]['seconds']:.1f} s")
    elapsed = time.monotonic() - started

    say()
    say(
        f"P5 simulated: 10% canary, 100 req/s, checked every second; alpha {ALPHA}; "
        f"{args.runs} runs per scenario, seed {args.seed}; {elapsed:.0f} s"
    )
    say()
    for line in table(results):
        say(line)
    met = targets(results)
    say()
    for t in met:
        value = t["value"]
        shown = f"{value:.1%}" if "alpha" in t["target"] else _time(value)
        extra = f" (Flagger: {_time(t['anchor'])})" if "anchor" in t else ""
        say(f"{'met ' if t['met'] else 'MISSED'} {t['target']}: {shown}{extra}")

    doc = {
        "benchmark": "P5",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "command": " ".join(["python bench/sim_rollback.py", *(argv or sys.argv[1:])]),
        "runs": args.runs,
        "seed": args.seed,
        "elapsed_s": round(elapsed, 1),
        "setup": {
            "rate_rps": HOUR.rate,
            "canary_share": HOUR.share,
            "check_every_s": 1,
            "alpha": ALPHA,
            "aa_seconds": HOUR.seconds,
            "bad_seconds": BAD.seconds,
            "label_delay_s": LABEL_DELAY_S,
            "min_samples": 100,
        },
        "results": [
            {**r, "rules": {rule: s.to_dict() for rule, s in r["rules"].items()}} for r in results
        ],
        "targets": met,
        "table": table(results),
    }
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / "sim_rollback.json"
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    say(f"\nwrote {out}")
    return 0 if all(t["met"] for t in met) else 1


if __name__ == "__main__":
    sys.exit(main())
