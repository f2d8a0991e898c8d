"""Per-version request series of one model: requests, traffic share, error rate, latency.

Read from the gateways' one-second metric buckets (every replica merged), cut into
steps of a few seconds so a chart holds a few hundred points whatever the range.
A step in which a version served nothing has ``None`` for its rates and latencies:
no data is drawn as a gap, never as zero.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from dashboards.feeds._time import choose_step, from_epoch
from router.telemetry.bucket import Bucket
from router.telemetry.merged import merge_buckets
from router.telemetry.store import read_buckets

__all__ = ["traffic_series"]


def traffic_series(
    session: Session,
    model: str,
    *,
    since: float,
    until: float,
    versions: Collection[str] | None = None,
    max_points: int = 240,
) -> dict[str, Any]:
    """Series of ``model`` over ``[since, until)`` (epoch seconds), one point per step.

    ``t`` holds each step's start; every version's lists are as long as ``t``. The
    latest step may still grow: buckets reach the control DB about a second late.
    """
    step = choose_step(max(until - since, 1.0), max_points)
    first = math.floor(since / step) * step
    rows = read_buckets(
        session,
        model,
        since=from_epoch(first),
        until=from_epoch(until),
        versions=versions,
        include_sketches=False,
    )
    by_step: dict[int, list[Bucket]] = defaultdict(list)
    for b in rows:
        by_step[int(b.bucket_start.timestamp() // step)].append(b)
    n = max(0, math.ceil((until - first) / step))
    starts = [first + i * step for i in range(n)]
    names = sorted({b.version for b in rows} | set(versions or ()), key=_version_key)
    out: dict[str, dict[str, list[Any]]] = {v: {k: [None] * n for k in _FIELDS} for v in names}
    for i, start in enumerate(starts):
        merged = merge_buckets(by_step.get(int(start // step), ()), include_sketches=False)
        total = sum(m.requests for m in merged.values())
        for v in names:
            series = out[v]
            m = merged.get(v)
            series["requests"][i] = 0 if m is None else m.requests
            series["errors"][i] = 0 if m is None else m.errors
            if m is None or not m.requests:
                continue
            series["share"][i] = m.requests / total if total else None
            series["error_rate"][i] = m.error_rate
            series["p50"][i] = m.p50
            series["p95"][i] = m.p95
            series["p99"][i] = m.p99
    return {
        "model": model,
        "step_s": step,
        "since": first,
        "until": until,
        "t": starts,
        "versions": out,
    }


_FIELDS = ("requests", "errors", "share", "error_rate", "p50", "p95", "p99")


def _version_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if version.isdigit() else (1, version)
