"""Per-version request telemetry: counters, mergeable latency histograms, input
sketches and output summaries, flushed as time buckets to the control DB and exposed
to Prometheus."""

from __future__ import annotations

from router.telemetry import names
from router.telemetry.bucket import Bucket
from router.telemetry.errors import (
    InvalidObservation,
    MergeMismatch,
    SchemaVersionError,
    TelemetryError,
    UnknownMetric,
)
from router.telemetry.flusher import Flusher
from router.telemetry.histogram import (
    HISTOGRAM_SCHEMA_VERSION,
    LATENCY_BOUNDS,
    LatencyHistogram,
    bucket_index,
)
from router.telemetry.loggrid import SymLogGrid
from router.telemetry.merged import MergedStats, add_buckets, merge_buckets
from router.telemetry.outputs import OUTPUT_GRID, OUTPUTS_SCHEMA_VERSION, OutputSummary, disagree
from router.telemetry.prometheus import CONTENT_TYPE, EXPOSED_BOUNDS, Sample, render
from router.telemetry.recorder import Recorder
from router.telemetry.sketch import BATCH_MIN, QUEUE_ROWS, InputSketcher
from router.telemetry.sketch_schema import (
    OTHER,
    RAW_GRID,
    SKETCH_SCHEMA_VERSION,
    FeatureSketch,
    InputSketch,
    SketchKind,
)
from router.telemetry.store import prune, read_buckets, read_merged, write_buckets
from router.telemetry.totals import ShadowTotals, Totals, VersionTotals

__all__ = [
    "BATCH_MIN",
    "CONTENT_TYPE",
    "EXPOSED_BOUNDS",
    "HISTOGRAM_SCHEMA_VERSION",
    "LATENCY_BOUNDS",
    "OTHER",
    "OUTPUTS_SCHEMA_VERSION",
    "OUTPUT_GRID",
    "RAW_GRID",
    "SKETCH_SCHEMA_VERSION",
    "Bucket",
    "FeatureSketch",
    "Flusher",
    "InputSketch",
    "InputSketcher",
    "QUEUE_ROWS",
    "InvalidObservation",
    "LatencyHistogram",
    "MergeMismatch",
    "MergedStats",
    "OutputSummary",
    "Recorder",
    "Sample",
    "SchemaVersionError",
    "ShadowTotals",
    "SketchKind",
    "SymLogGrid",
    "TelemetryError",
    "Totals",
    "UnknownMetric",
    "VersionTotals",
    "add_buckets",
    "bucket_index",
    "disagree",
    "merge_buckets",
    "names",
    "prune",
    "read_buckets",
    "read_merged",
    "render",
    "write_buckets",
]
