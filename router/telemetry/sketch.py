"""Binning live inputs into mergeable per-version sketches on the request hot path.

An ``InputSketcher`` is built once per model version from its reference profile and
then counts rows: numeric features on the profile's bin edges (exactly
``monitors.bin_index``'s rule), categorical features by the profile's top categories,
and features the profile lacks on the fixed ``RAW_GRID``. One row costs a bisection
or a dict lookup per feature in plain Python (a numpy call costs about 1 us, more than
a whole feature); batches of ``BATCH_MIN`` rows or more are binned column by column
with numpy. Small float arrays (the gateway's one-row requests) are queued instead
and binned with numpy ``QUEUE_ROWS`` at a time, or when the counts are read: the same
bins for a fraction of the per-row cost. ``sketch()`` / ``to_dict()`` give the stored
form (``sketch_schema``).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from monitors import FeatureProfile, ReferenceProfile
from router.telemetry.errors import MergeMismatch
from router.telemetry.sketch_schema import (
    OTHER,
    RAW_GRID,
    FeatureSketch,
    InputSketch,
    SketchKind,
)

__all__ = ["BATCH_MIN", "QUEUE_ROWS", "InputSketcher"]

# Below this many rows the per-row loop beats numpy's per-call overhead.
BATCH_MIN: Final = 16
# Queued float rows are binned together once this many are waiting.
QUEUE_ROWS: Final = 256

_RAW_EDGES: Final = RAW_GRID.edges
_MISSING: Final = None  # the key of the missing count in categorical and raw dicts

# (position, extended edges, counts): counts[j] for j = bisect_right(edges, v), see
# _numeric_public; the last slot counts missing values.
_NumSpec = tuple[int, list[float], list[int]]
_CatSpec = tuple[int, frozenset[str], dict[str | None, int]]
_RawSpec = tuple[int, dict[int | None, int]]


class InputSketcher:
    """Counts of the input features of one model version (build with ``from_profile``)."""

    __slots__ = (
        "_categorical",
        "_kinds",
        "_names",
        "_numeric",
        "_queue",
        "_queued",
        "_raw",
        "rows",
        "skipped",
    )

    def __init__(
        self,
        names: tuple[str, ...],
        kinds: dict[str, SketchKind],
        numeric: list[_NumSpec],
        categorical: list[_CatSpec],
        raw: list[_RawSpec],
    ) -> None:
        # Internal: use from_profile or fresh. The edges lists and category sets are
        # shared between a sketcher and its fresh copies; only the counts are owned.
        self._names = names
        self._kinds = kinds
        self._numeric = numeric
        self._categorical = categorical
        self._raw = raw
        # Float arrays counted in ``rows`` but not binned yet (see ``observe_rows``).
        self._queue: list[npt.NDArray[np.floating[Any]]] = []
        self._queued = 0
        self.rows = 0
        self.skipped = 0

    @classmethod
    def from_profile(
        cls, profile: ReferenceProfile | None, feature_names: Sequence[str]
    ) -> InputSketcher:
        """A sketcher for rows whose values come in the order of ``feature_names``.

        A numeric feature with bins in ``profile`` is binned on those edges; a
        categorical one counts its top categories; any other feature (no profile, not
        in it, or numeric without a finite value in the reference) goes on ``RAW_GRID``.
        """
        names = tuple(str(n) for n in feature_names)
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        kinds: dict[str, SketchKind] = {}
        numeric: list[_NumSpec] = []
        categorical: list[_CatSpec] = []
        raw: list[_RawSpec] = []
        for position, name in enumerate(names):
            feature = _feature(profile, name)
            if feature is not None and feature.kind == "numeric" and feature.bins is not None:
                edges = [float(e) for e in feature.bins.edges]
                # One more edge just above the last: then bisect_right tells "equal to
                # the last edge" (in range) from "above it" at no extra cost per value.
                edges.append(math.nextafter(edges[-1], math.inf))
                numeric.append((position, edges, [0] * (len(edges) + 2)))
                kinds[name] = "numeric"
            elif feature is not None and feature.kind == "categorical":
                allowed = frozenset(c.value for c in feature.categories or ())
                counts: dict[str | None, int] = dict.fromkeys(allowed, 0)
                counts[OTHER] = 0
                counts[_MISSING] = 0
                categorical.append((position, allowed, counts))
                kinds[name] = "categorical"
            else:
                raw.append((position, {}))
                kinds[name] = "raw"
        return cls(names, kinds, numeric, categorical, raw)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def kinds(self) -> dict[str, SketchKind]:
        """How each feature is sketched: ``numeric``, ``categorical`` or ``raw``."""
        return dict(self._kinds)

    def fresh(self) -> InputSketcher:
        """A sketcher with the same bins and no counts (one per time bucket)."""
        return InputSketcher(
            self._names,
            self._kinds,
            [(p, edges, [0] * len(c)) for p, edges, c in self._numeric],
            [(p, allowed, dict.fromkeys(c, 0)) for p, allowed, c in self._categorical],
            [(p, {}) for p, _ in self._raw],
        )

    def observe_row(self, row: Sequence[Any]) -> None:
        """Count one row (values in ``feature_names`` order); O(features), no numpy.

        A row of the wrong length is counted in ``skipped`` and not sketched. Pass
        Python scalars (a numpy row is converted with ``tolist`` first).
        """
        if row.__class__ is not list and row.__class__ is not tuple:
            row = _as_list(row)
        if len(row) != len(self._names):
            self.skipped += 1
            return
        self.rows += 1
        for i, edges, ncounts in self._numeric:
            v = row[i]
            try:
                if v == v:  # False for NaN
                    ncounts[bisect_right(edges, v)] += 1
                else:
                    ncounts[-1] += 1
            except TypeError:  # None, text, or another non-number
                _numeric_slow(v, edges, ncounts)
        for i, allowed, ccounts in self._categorical:
            v = row[i]
            try:
                if v is None or v != v:
                    ccounts[_MISSING] += 1
                    continue
            except (TypeError, ValueError):  # pandas.NA and friends refuse to be truthy
                ccounts[_MISSING] += 1
                continue
            key = v if v.__class__ is str else str(v)
            ccounts[key if key in allowed else OTHER] += 1
        for i, rcounts in self._raw:
            v = row[i]
            k: int | None
            try:
                if v == v:
                    k = (
                        bisect_right(_RAW_EDGES, v) - 1
                        if v >= 0.0
                        else -bisect_right(_RAW_EDGES, -v)
                    )
                else:
                    k = _MISSING
            except TypeError:
                k = _raw_slow(v)
            rcounts[k] = rcounts.get(k, 0) + 1

    def observe_rows(self, rows: Any) -> None:
        """Count many rows: a 2-D numpy array, a DataFrame, or a sequence of rows.

        From ``BATCH_MIN`` rows on, numeric and raw columns are binned with numpy
        (the same bins as ``observe_row``); fewer rows go through ``observe_row``.
        """
        if hasattr(rows, "to_numpy") and not isinstance(rows, np.ndarray):
            rows = rows.to_numpy()
        if isinstance(rows, np.ndarray):
            if rows.ndim == 1 and rows.size == 0:
                return
            if rows.ndim != 2:
                raise ValueError(f"observe_rows needs a 2-D array, got {rows.ndim}-D")
            if rows.shape[0] < BATCH_MIN and rows.dtype.kind == "f":
                self._enqueue(rows)
                return
            if rows.shape[0] < BATCH_MIN:
                for row in rows.tolist():
                    self.observe_row(row)
                return
            if rows.shape[1] != len(self._names):
                self.skipped += rows.shape[0]
                return
            self.rows += rows.shape[0]
            self._observe_columns(rows.shape[0], lambda i: rows[:, i])
            return
        listed = list(rows)
        if len(listed) < BATCH_MIN:
            for row in listed:
                self.observe_row(row)
            return
        width = len(self._names)
        good = [r if isinstance(r, list | tuple) else _as_list(r) for r in listed]
        good = [r for r in good if len(r) == width]
        self.skipped += len(listed) - len(good)
        self.rows += len(good)
        if good:
            self._observe_columns(len(good), lambda i: [r[i] for r in good])

    def _enqueue(self, rows: npt.NDArray[np.floating[Any]]) -> None:
        # Float values bin the same in a batch as one by one (``tolist`` and a float64
        # column hold the same doubles), so only when they are binned changes.
        n = rows.shape[0]
        if rows.shape[1] != len(self._names):
            self.skipped += n
            return
        self.rows += n
        self._queue.append(rows)
        self._queued += n
        if self._queued >= QUEUE_ROWS:
            self._bin_queue()

    def _bin_queue(self) -> None:
        """Bin the queued rows (already counted in ``rows``)."""
        if not self._queue:
            return
        queue = self._queue
        block = queue[0] if len(queue) == 1 else np.concatenate(queue)
        self._queue = []
        self._queued = 0
        x = block.astype(np.float64)
        self._observe_columns(x.shape[0], lambda i: x[:, i])

    def _observe_columns(self, n: int, column: Any) -> None:
        for i, edges, ncounts in self._numeric:
            values = column(i)
            x = _floats(values)
            if x is None:
                for v in _tolist(values):
                    _numeric_slow(v, edges, ncounts)
                continue
            present = x[~np.isnan(x)]
            ncounts[-1] += n - present.size
            j = np.searchsorted(np.asarray(edges), present, side="right")
            for slot, c in enumerate(np.bincount(j, minlength=len(edges) + 1).tolist()):
                ncounts[slot] += c
        for i, allowed, ccounts in self._categorical:
            for v in _tolist(column(i)):
                if _is_missing(v):
                    ccounts[_MISSING] += 1
                else:
                    key = v if v.__class__ is str else str(v)
                    ccounts[key if key in allowed else OTHER] += 1
        for i, rcounts in self._raw:
            values = column(i)
            x = _floats(values)
            if x is None:
                for v in _tolist(values):
                    k = _raw_slow(v)
                    rcounts[k] = rcounts.get(k, 0) + 1
                continue
            nan = np.isnan(x)
            if nan.any():
                rcounts[_MISSING] = rcounts.get(_MISSING, 0) + int(nan.sum())
            ids, counts = np.unique(RAW_GRID.bins(x[~nan]), return_counts=True)
            for k, c in zip(ids.tolist(), counts.tolist(), strict=True):
                rcounts[k] = rcounts.get(k, 0) + c

    def merge(self, other: InputSketcher) -> None:
        """Add the counts of ``other`` (same features and bins) into this sketcher."""
        if other._names != self._names or other._kinds != self._kinds:
            raise MergeMismatch("cannot merge sketchers of different features")
        self._bin_queue()
        other._bin_queue()
        for (_, e1, mine), (_, e2, theirs) in zip(self._numeric, other._numeric, strict=True):
            if e1 != e2:
                raise MergeMismatch("cannot merge sketchers with different bin edges")
            for j, c in enumerate(theirs):
                mine[j] += c
        for (_, _, cmine), (_, _, ctheirs) in zip(
            self._categorical, other._categorical, strict=True
        ):
            for key, c in ctheirs.items():
                cmine[key] = cmine.get(key, 0) + c
        for (_, rmine), (_, rtheirs) in zip(self._raw, other._raw, strict=True):
            for k, c in rtheirs.items():
                rmine[k] = rmine.get(k, 0) + c
        self.rows += other.rows
        self.skipped += other.skipped

    def sketch(self) -> InputSketch:
        """The counts so far in their stored form (a copy)."""
        self._bin_queue()
        names = self._names
        features: dict[str, FeatureSketch] = {}
        for i, _, ncounts in self._numeric:
            features[names[i]] = _numeric_public(ncounts)
        for i, _, ccounts in self._categorical:
            features[names[i]] = FeatureSketch(
                "categorical",
                counts={k: c for k, c in ccounts.items() if k is not None and c},
                missing=ccounts[_MISSING],
            )
        for i, rcounts in self._raw:
            features[names[i]] = FeatureSketch(
                "raw",
                counts={
                    str(k): c for k, c in sorted(rcounts.items(), key=_raw_order) if k is not None
                },
                missing=rcounts.get(_MISSING, 0),
            )
        ordered = {name: features[name] for name in names}
        return InputSketch(rows=self.rows, skipped=self.skipped, features=ordered)

    def to_dict(self) -> dict[str, Any]:
        """``sketch().to_dict()``: the JSON shape documented in ``sketch_schema``."""
        return self.sketch().to_dict()


def _feature(profile: ReferenceProfile | None, name: str) -> FeatureProfile | None:
    if profile is None:
        return None
    try:
        return profile.feature(name)
    except KeyError:
        return None


def _numeric_public(c: list[int]) -> FeatureSketch:
    # Internal slots for n bins (edges e0..en plus one just above en), j from bisect_right:
    # 0 below e0 | 1..n the bins | n+1 equal to en | n+2 above en | n+3 missing.
    n = len(c) - 4
    bins = c[1 : n + 1]
    bins[0] += c[0]
    bins[-1] += c[n + 1] + c[n + 2]
    return FeatureSketch("numeric", bins=bins, missing=c[n + 3], below=c[0], above=c[n + 2])


def _numeric_slow(v: Any, edges: list[float], counts: list[int]) -> None:
    x = _to_float(v)
    if x is None:
        counts[-1] += 1
    else:
        counts[bisect_right(edges, x)] += 1


def _raw_slow(v: Any) -> int | None:
    x = _to_float(v)
    if x is None:
        return _MISSING
    return RAW_GRID.bin(x)


def _to_float(v: Any) -> float | None:
    """``float(v)`` when that is a number (not NaN); None for missing or non-numbers."""
    if v is None or isinstance(v, bytes | bytearray):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if x != x else x


def _is_missing(v: Any) -> bool:
    try:
        return v is None or bool(v != v)
    except (TypeError, ValueError):
        return True


def _raw_order(item: tuple[int | None, int]) -> int:
    return -(2**62) if item[0] is None else item[0]


def _floats(values: Any) -> npt.NDArray[np.float64] | None:
    """The column as float64 (None becomes NaN), or None if some value is not a number."""
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return x if x.ndim == 1 else None


def _tolist(values: Any) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _as_list(row: Any) -> list[Any]:
    if hasattr(row, "tolist"):
        listed = row.tolist()
        if isinstance(listed, list):
            return listed
    return list(row)
