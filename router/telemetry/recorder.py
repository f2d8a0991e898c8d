"""The per-request telemetry of a gateway replica: time buckets to flush, totals to scrape.

``record`` is called once per request on the event-loop thread after the model
answered; it costs a few microseconds for a 20-feature row (no numpy, no allocation
beyond the first request of a version in each bucket). It updates two things: the
cell of the current time bucket, which a flusher thread ``drain``s about every second
into ``Bucket`` rows, and the cumulative totals that ``/metrics`` renders.

Threads. One lock guards the current-bucket dict, the list of completed buckets and
the totals. ``record`` holds it only while it adds to in-memory counters (bounded,
microseconds; never across I/O or the model call). ``drain`` holds it only to swap
the dict references out; turning cells into JSON-ready ``Bucket`` objects happens
after the lock is released, which is safe because a cell taken out is no longer
reachable by ``record``. Without the lock a ``record`` preempted between reading the
current dict and adding to it could write into a cell ``drain`` already converted,
and that count would be lost. Uncontended, the lock costs about 0.1 us; ``drain``
takes it once a second for a swap, so ``record`` practically never waits. Several
recording threads are safe too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from router.telemetry.bucket import Bucket
from router.telemetry.errors import InvalidObservation
from router.telemetry.histogram import N_BUCKETS, LatencyHistogram, bucket_index
from router.telemetry.names import OUTCOMES
from router.telemetry.outputs import OutputSummary
from router.telemetry.rowsample import RowSample
from router.telemetry.sketch import InputSketcher
from router.telemetry.totals import ShadowTotals, Totals, VersionTotals

__all__ = ["Recorder"]

_OUTCOME_INDEX: Final = {name: i for i, name in enumerate(OUTCOMES)}
_OK, _CLIENT, _MODEL, _TIMEOUT = range(4)
_Key = tuple[str, str]


class _Series:
    """Cumulative counters of one (model, version)."""

    __slots__ = ("lat", "lat_sum", "outcomes", "rows")

    def __init__(self) -> None:
        self.outcomes = [0, 0, 0, 0]
        self.rows = 0
        self.lat = [0] * N_BUCKETS
        self.lat_sum = 0.0


class _ShadowSeries:
    __slots__ = ("comparisons", "disagreements", "outcomes")

    def __init__(self) -> None:
        self.outcomes = [0, 0, 0, 0]
        self.comparisons = 0
        self.disagreements = 0


class _Cell:
    """What one (model, version) did in the current time bucket."""

    __slots__ = ("lat", "lat_sum", "outcomes", "outputs", "sample", "series", "sketcher")

    def __init__(
        self,
        series: _Series | None,
        sketcher: InputSketcher | None,
        output: str | None,
        sample: RowSample | None = None,
    ) -> None:
        self.series = series
        self.sketcher = sketcher
        self.sample = sample
        self.outputs = OutputSummary(output)
        self.outcomes = [0, 0, 0, 0]
        self.lat = [0] * N_BUCKETS
        self.lat_sum = 0.0


class _Registration:
    __slots__ = ("output_name", "sketcher")

    def __init__(self, sketcher: InputSketcher | None, output_name: str | None) -> None:
        self.sketcher = sketcher
        self.output_name = output_name


class Recorder:
    """Counters of one gateway replica, bucketed by ``bucket_width_s`` of ``clock`` time.

    ``clock`` must be wall-clock seconds since the epoch (``time.time``): bucket
    starts are compared across replicas. Memory grows by one cell per version per
    bucket until ``drain``; the ``Flusher`` drains every second even while the DB is
    down (its backlog is bounded).
    """

    def __init__(
        self,
        replica: str,
        bucket_width_s: int = 1,
        clock: Callable[[], float] = time.time,
        sample_rows: int = 0,
    ) -> None:
        if type(bucket_width_s) is not int or bucket_width_s < 1:
            raise ValueError(f"bucket_width_s must be an int >= 1, got {bucket_width_s!r}")
        if sample_rows < 0:
            raise ValueError(f"sample_rows must be >= 0, got {sample_rows!r}")
        # Raw input rows kept per version and bucket (0: none); see rowsample.py.
        self.sample_rows = sample_rows
        self.replica = replica
        self.bucket_width_s = bucket_width_s
        self._clock = clock
        self._lock = threading.Lock()
        self._regs: dict[_Key, _Registration] = {}
        self._series: dict[_Key, _Series] = {}
        self._shadow: dict[tuple[str, str, str], _ShadowSeries] = {}
        self._slot = int(clock() // bucket_width_s)
        self._current: dict[_Key, _Cell] = {}
        self._pending: list[tuple[int, dict[_Key, _Cell]]] = []

    def register(
        self,
        model: str,
        version: str,
        sketcher: InputSketcher | None = None,
        output_name: str | None = None,
    ) -> None:
        """Say how to sketch the inputs and name the outputs of a version.

        Optional: an unregistered version is counted without sketches. Takes effect
        from the next time bucket for a version that already recorded in this one.
        """
        with self._lock:
            self._regs[(model, version)] = _Registration(sketcher, output_name)

    def unregister(self, model: str, version: str) -> None:
        """Forget a version's registration and totals (its pending buckets still drain)."""
        with self._lock:
            self._regs.pop((model, version), None)
            self._series.pop((model, version), None)
            for key in [k for k in self._shadow if k[0] == model and k[1] == version]:
                del self._shadow[key]

    def record(
        self,
        model: str,
        version: str,
        *,
        latency_s: float,
        outcome: str,
        rows: int | None = None,
        row: Sequence[Any] | None = None,
        matrix: Any = None,
        outputs: Any = None,
    ) -> None:
        """Count one request answered by ``version`` (not a mirrored one).

        ``outcome`` is one of ``names.OUTCOMES``. ``row`` (one input row, values in
        the sketcher's feature order) or ``matrix`` (many rows) feeds the input
        sketch; ``outputs`` (one value per row, or a scalar) the output summary.
        ``rows`` defaults to ``len(matrix)`` or 1. Raises ``InvalidObservation`` for
        an unknown outcome or a negative / non-finite latency, counting nothing.
        """
        o = _OUTCOME_INDEX.get(outcome)
        if o is None:
            raise InvalidObservation(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
        li = bucket_index(latency_s)
        if rows is None:
            rows = len(matrix) if matrix is not None else 1
        slot = int(self._clock() // self.bucket_width_s)
        key = (model, version)
        with self._lock:
            if slot != self._slot:
                self._rotate(slot)
            cell = self._current.get(key)
            if cell is None:
                cell = self._new_cell(key)
            cell.outcomes[o] += 1
            cell.lat[li] += 1
            cell.lat_sum += latency_s
            series = cell.series
            if series is None:  # the version was only mirrored to so far in this bucket
                series = cell.series = self._series_of(key)
            series.outcomes[o] += 1
            series.lat[li] += 1
            series.lat_sum += latency_s
            series.rows += rows
            sketcher = cell.sketcher
            if sketcher is not None:
                sample = cell.sample
                if row is not None:
                    sketcher.observe_row(row)
                    if sample is not None:
                        sample.offer(row)
                if matrix is not None:
                    sketcher.observe_rows(matrix)
                    if sample is not None:
                        sample.offer_rows(matrix)
            if outputs is not None:
                cell.outputs.observe(outputs)

    def record_shadow(
        self,
        model: str,
        primary_version: str,
        shadow_version: str,
        *,
        latency_s: float,
        outcome: str,
        agreed: bool | None = None,
        outputs: Any = None,
    ) -> None:
        """Count one request mirrored to ``shadow_version``.

        It lands in the shadow version's time bucket (requests, errors, latency,
        outputs, and a compared pair when ``agreed`` is not None) and in the shadow
        totals; the totals of requests served to clients are left alone.
        """
        o = _OUTCOME_INDEX.get(outcome)
        if o is None:
            raise InvalidObservation(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
        li = bucket_index(latency_s)
        slot = int(self._clock() // self.bucket_width_s)
        key = (model, shadow_version)
        skey = (model, shadow_version, primary_version)
        with self._lock:
            if slot != self._slot:
                self._rotate(slot)
            cell = self._current.get(key)
            if cell is None:
                cell = self._new_cell(key, served=False)
            cell.outcomes[o] += 1
            cell.lat[li] += 1
            cell.lat_sum += latency_s
            shadow = self._shadow.get(skey)
            if shadow is None:
                shadow = self._shadow[skey] = _ShadowSeries()
            shadow.outcomes[o] += 1
            if agreed is not None:
                cell.outputs.count_pair(agreed)
                shadow.comparisons += 1
                if not agreed:
                    shadow.disagreements += 1
            if outputs is not None:
                cell.outputs.observe(outputs)

    def drain(self, now: float | None = None, *, force: bool = False) -> list[Bucket]:
        """Remove and return the buckets whose time slot ended by ``now``.

        ``force`` takes the current, incomplete slot too (at shutdown). A version
        that records again in a slot already drained yields a second bucket with the
        same key later; ``store.write_buckets`` adds the two.
        """
        current = int((self._clock() if now is None else now) // self.bucket_width_s)
        with self._lock:
            taken = [(s, cells) for s, cells in self._pending if force or s < current]
            self._pending = [(s, cells) for s, cells in self._pending if not (force or s < current)]
            if self._current and (force or self._slot < current):
                taken.append((self._slot, self._current))
                self._current = {}
        return [
            self._bucket(slot, key, cell) for slot, cells in taken for key, cell in cells.items()
        ]

    def totals(self) -> Totals:
        """A consistent copy of the cumulative counters (for ``/metrics``)."""
        with self._lock:
            versions = tuple(
                VersionTotals(
                    model=m,
                    version=v,
                    outcomes=dict(zip(OUTCOMES, s.outcomes, strict=True)),
                    rows=s.rows,
                    latency=LatencyHistogram(list(s.lat), s.lat_sum),
                )
                for (m, v), s in self._series.items()
            )
            shadows = tuple(
                ShadowTotals(
                    model=m,
                    version=v,
                    primary_version=p,
                    outcomes=dict(zip(OUTCOMES, s.outcomes, strict=True)),
                    comparisons=s.comparisons,
                    disagreements=s.disagreements,
                )
                for (m, v, p), s in self._shadow.items()
            )
        return Totals(replica=self.replica, versions=versions, shadows=shadows)

    def _rotate(self, slot: int) -> None:
        # Called with the lock held: the finished slot joins the pending list.
        if self._current:
            self._pending.append((self._slot, self._current))
            self._current = {}
        self._slot = slot

    def _series_of(self, key: _Key) -> _Series:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        return series

    def _new_cell(self, key: _Key, *, served: bool = True) -> _Cell:
        # Called with the lock held, once per version per time bucket. A version that
        # is only mirrored to gets no served-request totals (no zero series on /metrics).
        series = self._series_of(key) if served else None
        reg = self._regs.get(key)
        if reg is None:
            cell = _Cell(series, None, None)
        else:
            fresh = reg.sketcher.fresh() if reg.sketcher is not None else None
            sample = RowSample(self.sample_rows) if fresh is not None and self.sample_rows else None
            cell = _Cell(series, fresh, reg.output_name, sample)
        self._current[key] = cell
        return cell

    def _bucket(self, slot: int, key: _Key, cell: _Cell) -> Bucket:
        outputs = cell.outputs
        observed = outputs.labels or outputs.values or outputs.invalid or outputs.pairs
        sketcher = cell.sketcher
        return Bucket(
            model_name=key[0],
            version=key[1],
            replica=self.replica,
            bucket_start=datetime.fromtimestamp(slot * self.bucket_width_s, UTC),
            width_s=self.bucket_width_s,
            requests=sum(cell.outcomes),
            errors_client=cell.outcomes[_CLIENT],
            errors_model=cell.outcomes[_MODEL],
            errors_timeout=cell.outcomes[_TIMEOUT],
            latency_hist=LatencyHistogram(cell.lat, cell.lat_sum).to_dict(),
            outputs=outputs.to_dict() if observed else {},
            sketches=sketcher.to_dict()
            if sketcher is not None and sketcher.rows + sketcher.skipped
            else {},
            samples=cell.sample.to_dict(sketcher.feature_names)
            if cell.sample is not None and sketcher is not None and cell.sample.rows
            else {},
        )
