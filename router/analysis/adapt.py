"""Measurements from router.telemetry's merged statistics and router.quality's metrics.

The one place router.analysis meets the telemetry types. Their modules are imported
for type checking only, and the histogram bounds lazily, so the judge and everything
it imports stay pure (standard library, numpy, scipy, pydantic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router.analysis.measurement import LatencyCounts, Measurement, Quality

if TYPE_CHECKING:
    from router.quality.stats import VersionQuality
    from router.telemetry.merged import MergedStats

__all__ = ["measurement_from_merged", "quality_from_version"]


def measurement_from_merged(
    stats: MergedStats, quality: VersionQuality | Quality | None = None
) -> Measurement:
    """One version's merged buckets (and, optionally, its labelled quality) as a Measurement.

    Errors are the version's own (model errors and timeouts); client errors are bad
    input, not the model's fault, as in MergedStats.error_rate.
    """
    from router.telemetry.histogram import LATENCY_BOUNDS  # lazy: see the module docstring

    if quality is not None and not isinstance(quality, Quality):
        quality = quality_from_version(quality)
    return Measurement(
        requests=stats.requests,
        errors=stats.errors,
        latency=LatencyCounts(tuple(LATENCY_BOUNDS), tuple(stats.latency.counts)),
        output_labels=dict(stats.outputs.labels),
        output_values=dict(stats.outputs.values),
        quality=quality,
        pairs=stats.outputs.pairs,
        disagreements=stats.outputs.disagreements,
    )


def quality_from_version(quality: VersionQuality) -> Quality:
    """router.quality's per-version numbers in the judge's terms."""
    return Quality(
        labelled=quality.labelled,
        accuracy=quality.accuracy,
        log_loss=quality.log_loss,
        mae=quality.mae,
        rmse=quality.rmse,
    )
