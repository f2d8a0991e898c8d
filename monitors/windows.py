"""Drift windows: which windows of a model version are due, and their merged telemetry.

A window is a span of metric buckets of one (model, version), every gateway replica's
buckets added together. Two kinds:

- **time** windows of ``width_s`` seconds, aligned to multiples of ``width_s`` since the
  epoch, so every monitor (and every restart of one) cuts the same windows;
- **row** windows that close at the end of the first bucket that brings the count of
  sketched rows since the previous window's end to ``rows`` or more.

A window is complete once its end is ``grace_s`` in the past: replicas flush about
every second, so a bucket's counts reach the control DB a little after it ends. The
runner evaluates complete windows after the last one it stored a report for, and at
most ``max_catch_up`` of them per tick (a monitor that was down for a day does not
replay the whole day; it says how many windows it skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrations.models.telemetry import DriftReport, MetricBucket
from router.telemetry.bucket import Bucket
from router.telemetry.errors import TelemetryError
from router.telemetry.outputs import OutputSummary
from router.telemetry.rowsample import merge_samples
from router.telemetry.sketch_schema import InputSketch
from router.telemetry.store import read_buckets

__all__ = [
    "Window",
    "WindowData",
    "WindowSpec",
    "active_versions",
    "due_windows",
    "last_window_end",
    "merge_window",
    "parse_window",
]

WindowKind = Literal["time", "rows"]


@dataclass(frozen=True)
class WindowSpec:
    """How windows are cut. ``size`` is seconds for ``time`` and rows for ``rows``."""

    kind: WindowKind = "time"
    size: int = 300
    grace_s: float = 5.0
    max_catch_up: int = 12
    # A row window never spans more than this: a trickle of traffic still gets judged.
    max_span_s: int = 3600

    def __post_init__(self) -> None:
        if self.kind not in ("time", "rows"):
            raise ValueError(f"window kind must be 'time' or 'rows', got {self.kind!r}")
        if self.size < 1:
            raise ValueError(f"window size must be >= 1, got {self.size}")
        if self.grace_s < 0 or self.max_catch_up < 1 or self.max_span_s < 1:
            raise ValueError("grace_s must be >= 0, max_catch_up and max_span_s >= 1")

    def describe(self) -> str:
        return f"{self.size} s" if self.kind == "time" else f"{self.size} rows"


_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_window(text: str, **options: Any) -> WindowSpec:
    """``300s``, ``5m``, ``1h`` (time windows) or ``10000rows`` (row windows)."""
    raw = text.strip().lower()
    kind: WindowKind
    if raw.endswith("rows"):
        kind, number, scale = "rows", raw[:-4], 1
    elif raw[-1:] in _UNITS:
        kind, number, scale = "time", raw[:-1], _UNITS[raw[-1]]
    else:
        raise ValueError(f"window {text!r}: expected a duration like 300s, 5m, 1h or 10000rows")
    if not number.isdigit() or int(number) < 1:
        raise ValueError(f"window {text!r}: the size must be a whole number >= 1")
    return WindowSpec(kind=kind, size=int(number) * scale, **options)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class WindowData:
    """Everything the monitor read for one window of one (model, version)."""

    model: str
    version: str
    window: Window
    requests: int
    sketch: InputSketch | None
    outputs: OutputSummary
    replicas: frozenset[str]
    # Buckets that could not be read or merged (another schema, other bins): skipped.
    notes: tuple[str, ...] = ()
    # A uniform sample of the window's raw input rows (rowsample.merge_samples shape),
    # None when the gateways kept none.
    sample: dict[str, Any] | None = None

    def sample_frame(self) -> pd.DataFrame | None:
        """The raw-row sample as a DataFrame (feature columns), or None."""
        if not self.sample or not self.sample.get("rows"):
            return None
        return pd.DataFrame(self.sample["rows"], columns=self.sample["columns"])

    @property
    def rows(self) -> int:
        return self.sketch.rows if self.sketch is not None else 0


def _epoch_floor(t: datetime, width_s: int) -> datetime:
    seconds = int(t.timestamp()) // width_s * width_s
    return datetime.fromtimestamp(seconds, UTC)


def active_versions(session: Session, since: datetime) -> list[tuple[str, str]]:
    """The (model, version) pairs with telemetry since ``since``, sorted."""
    rows = session.execute(
        select(MetricBucket.model_name, MetricBucket.version)
        .distinct()
        .where(MetricBucket.bucket_start >= since)
        .order_by(MetricBucket.model_name, MetricBucket.version)
    )
    return [(r[0], r[1]) for r in rows]


def last_window_end(session: Session, model: str, version: str) -> datetime | None:
    """The end of the latest window with a stored drift report, or None."""
    found = session.execute(
        select(func.max(DriftReport.window_end)).where(
            DriftReport.model_name == model, DriftReport.version == version
        )
    ).scalar_one_or_none()
    if found is None:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def due_windows(
    session: Session,
    spec: WindowSpec,
    model: str,
    version: str,
    *,
    now: datetime,
    after: datetime | None,
) -> tuple[list[Window], int]:
    """The complete windows after ``after`` (oldest first) and how many were skipped.

    With no ``after`` (nothing evaluated yet) only the latest complete window is due:
    a new monitor judges the present, not the history.
    """
    horizon = now - timedelta(seconds=spec.grace_s)
    if spec.kind == "time":
        return _time_windows(spec, horizon, after)
    return _row_windows(session, spec, model, version, horizon, after)


def _time_windows(
    spec: WindowSpec, horizon: datetime, after: datetime | None
) -> tuple[list[Window], int]:
    width = timedelta(seconds=spec.size)
    last_end = _epoch_floor(horizon, spec.size)
    first_start = last_end - width if after is None else _epoch_floor(after, spec.size)
    starts: list[datetime] = []
    t = first_start
    while t + width <= last_end:
        starts.append(t)
        t += width
    skipped = max(0, len(starts) - spec.max_catch_up)
    return [Window(s, s + width) for s in starts[skipped:]], skipped


def _row_windows(
    session: Session,
    spec: WindowSpec,
    model: str,
    version: str,
    horizon: datetime,
    after: datetime | None,
) -> tuple[list[Window], int]:
    since = after if after is not None else horizon - timedelta(seconds=spec.max_span_s)
    rows_by_start: dict[datetime, tuple[int, int]] = {}
    for start, width, sketch in session.execute(
        select(MetricBucket.bucket_start, MetricBucket.width_s, MetricBucket.sketches)
        .where(
            MetricBucket.model_name == model,
            MetricBucket.version == version,
            MetricBucket.bucket_start >= since,
        )
        .order_by(MetricBucket.bucket_start)
    ):
        aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
        n = int((sketch or {}).get("rows", 0) or 0)
        prior, _ = rows_by_start.get(aware, (0, width))
        rows_by_start[aware] = (prior + n, width)
    windows: list[Window] = []
    window_start = since
    count = 0
    for start in sorted(rows_by_start):
        n, width = rows_by_start[start]
        end = start + timedelta(seconds=width)
        if end > horizon:
            break
        count += n
        span = (end - window_start).total_seconds()
        if count >= spec.size or (count > 0 and span >= spec.max_span_s):
            windows.append(Window(window_start, end))
            window_start, count = end, 0
    if after is None and windows:
        return windows[-1:], len(windows) - 1
    skipped = max(0, len(windows) - spec.max_catch_up)
    return windows[skipped:], skipped


# Raw rows kept per window: enough for KS and a readable report, bounded in memory.
SAMPLE_ROWS = 2000


def merge_window(session: Session, model: str, version: str, window: Window) -> WindowData:
    """Every replica's buckets of (model, version) in ``window``, added together."""
    buckets: list[Bucket] = read_buckets(
        session,
        model,
        since=window.start,
        until=window.end,
        versions=[version],
        include_samples=True,
    )
    sketch: InputSketch | None = None
    outputs = OutputSummary()
    requests = 0
    replicas: set[str] = set()
    notes: list[str] = []
    for b in buckets:
        requests += b.requests
        replicas.add(b.replica)
        try:
            part = InputSketch.from_dict(b.sketches) if b.sketches else None
            out = OutputSummary.from_dict(b.outputs) if b.outputs else None
            if part is not None:
                if sketch is None:
                    sketch = part
                else:
                    trial = sketch.copy()
                    trial.merge(part)  # on a copy: a mismatch must not half-merge
                    sketch = trial
            if out is not None:
                outputs.merge(out)
        except TelemetryError as exc:
            notes.append(f"bucket {b.bucket_start.isoformat()} of {b.replica} skipped: {exc}")
    samples = [b.samples for b in buckets if b.samples]
    sample = merge_samples(samples, SAMPLE_ROWS, seed=0) if samples else None
    if sample is not None and sample.get("skipped"):
        notes.append(f"{sample['skipped']} row samples of other columns skipped")
    return WindowData(
        model,
        version,
        window,
        requests,
        sketch,
        outputs,
        frozenset(replicas),
        tuple(notes),
        sample,
    )
