"""The builtin provider: the gateway's own telemetry, read through the controller's callable."""

from __future__ import annotations

from router.analysis.errors import ProviderError
from router.analysis.measurement import Measurement
from router.analysis.providers.base import BuiltinReader, Window
from router.analysis.spec import MetricSpec

__all__ = ["BuiltinProvider"]


class BuiltinProvider:
    """Every builtin metric of a tick reads the same two measurements: the last window's
    pair is kept, so three metrics cost one read per version, not three."""

    def __init__(self, read: BuiltinReader) -> None:
        self._read = read
        self._last: tuple[Window, tuple[Measurement | None, Measurement | None]] | None = None

    def measure(
        self, metric: MetricSpec, window: Window
    ) -> tuple[Measurement | None, Measurement | None]:
        if self._last is not None and self._last[0] == window:
            return self._last[1]
        try:
            candidate = self._read(window.model, window.candidate, window.since, window.until)
            baseline = (
                None
                if window.baseline is None
                else self._read(window.model, window.baseline, *window.baseline_span)
            )
        except Exception as exc:  # any failure of the reader is a failed measurement
            raise ProviderError(f"builtin metrics of {window.model!r}: {exc}") from exc
        pair = (candidate, baseline)
        self._last = (window, pair)
        return pair
