"""P7: versions load, shift and unload under continuous load with zero failed requests.

8 keep-alive connections send OIP infer requests without a routing key (so each
request is split at random by the weights) to one gateway for the whole run, while the
policy steps through a rollout: follow champion (v1) -> 1=100 -> 1=95,2=5 -> 75/25 ->
1=50,2=40,3=10 (v3, the GBT model, loads) -> 50/50 (v3 unloads) -> 2=100 (v1 unloads)
-> reset to follow the champion (v1 loads again, v2 unloads). Each policy is written
in-process with ``put_policy``, as ``turnout traffic set`` / ``reset`` store it.

A failed request is any non-200 answer or a connection error (a request lost on a
dropped connection). Target: zero. Also reported per step: the answers per version
(``x-turnout-version``), the split once the step settled (from 1 s after the write;
half a step in a quick run) against the weights, and the step's p99 latency (a load on
the watcher thread holds the GIL that the event loop needs).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from harness import Deployment, Server, oip_body
from loadgen import BackgroundLoad, build_request, percentile

STEPS: list[tuple[str, dict[str, int] | None]] = [
    ("follow champion (v1)", None),
    ("1=100", {"1": 100}),
    ("1=95 2=5", {"1": 95, "2": 5}),
    ("1=75 2=25", {"1": 75, "2": 25}),
    ("1=50 2=40 3=10 (v3 loads)", {"1": 50, "2": 40, "3": 10}),
    ("1=50 2=50 (v3 unloads)", {"1": 50, "2": 50}),
    ("2=100 (v1 unloads)", {"2": 100}),
    ("reset: follow champion (v1)", None),
]
SETTLE_S = 1.0
CONNECTIONS = 8


def run(dep: Deployment, gateway: Server, row: Any, *, quick: bool) -> dict[str, Any]:
    duration = 6.0 if quick else 24.0
    step_s = duration / len(STEPS)
    settle_s = min(SETTLE_S, step_s / 2)
    dep.put_policy("bc", None)
    time.sleep(1.2)  # two poll intervals: the gateway follows the champion again
    raw = build_request("POST", "/v2/models/bc/infer", gateway.port, oip_body(row))
    log_size = gateway.log.stat().st_size
    load = BackgroundLoad(
        port=gateway.port,
        requests=[raw],
        connections=CONNECTIONS,
        duration_s=duration,
        warmup_s=0.0,
        header="x-turnout-version",
        timeline=True,
    ).start()
    t_start = time.monotonic()
    writes: list[tuple[float, int]] = [(t_start, 0)]
    for k, (_, weights) in enumerate(STEPS[1:], start=1):
        time.sleep(max(0.0, t_start + k * step_s - time.monotonic()))
        t = time.monotonic()
        revision = dep.put_policy("bc", weights)
        writes.append((t, revision))
    result = load.join(timeout=duration + 60)
    t_end = t_start + duration + 5

    steps = []
    for k, (label, weights) in enumerate(STEPS):
        lo = writes[k][0]
        hi = writes[k + 1][0] if k + 1 < len(writes) else t_end
        window = [e for e in result.timeline if lo <= e[0] < hi]
        settled = [e for e in window if e[0] >= lo + settle_s]
        by_version = Counter(e[2] for e in window)
        settled_by = Counter(e[2] for e in settled)
        total_settled = sum(settled_by.values())
        lat = sorted(e[3] for e in window)
        steps.append(
            {
                "step": label,
                "weights": weights or {"1": 100},
                "requests": len(window),
                "failed": sum(1 for e in window if e[1] != 200),
                "by_version": dict(sorted(by_version.items())),
                "settled_split_pct": {
                    v: round(100.0 * c / total_settled, 1) for v, c in sorted(settled_by.items())
                }
                if total_settled
                else {},
                "p50_ms": round(percentile(lat, 50) / 1e6, 3) if lat else None,
                "p99_ms": round(percentile(lat, 99) / 1e6, 3) if lat else None,
                "max_ms": round(lat[-1] / 1e6, 3) if lat else None,
            }
        )
    log_text = gateway.log.read_bytes()[log_size:].decode(errors="replace")
    errors_in_log = [
        line for line in log_text.splitlines() if "Traceback" in line or "ERROR" in line
    ]
    dep.put_policy("bc", None)
    return {
        "settings": {
            "connections": CONNECTIONS,
            "duration_s": duration,
            "step_s": step_s,
            "settle_s": settle_s,
        },
        "requests": result.requests,
        "ok": result.ok,
        "non_200": result.requests - result.ok,
        "connection_errors": result.connection_errors,
        "failed": result.failed,
        "failures": result.failures,
        "by_version": dict(sorted(result.header_values.items())),
        "rps": round(result.rps, 1),
        "steps": steps,
        "gateway_log_errors": errors_in_log[:10],
        "met": result.failed == 0,
    }


def rows(r: dict[str, Any]) -> list[list[str]]:
    by = ", ".join(f"v{v}={c}" for v, c in r["by_version"].items())
    worst = max((s["p99_ms"] or 0.0) for s in r["steps"])
    return [
        [
            f"P7 failed requests while versions load/shift/unload ({r['settings']['connections']}"
            f" conn, {r['settings']['duration_s']:.0f} s)",
            f"{r['failed']} of {r['requests']}",
            "",
            "",
            "0",
            "yes" if r["met"] else "NO",
        ],
        [
            "P7   (info) answers per version; worst step p99",
            f"{by}; {worst:.1f} ms",
            "",
            "",
            "info",
            "",
        ],
    ]
