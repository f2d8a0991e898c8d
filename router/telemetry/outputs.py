"""Summaries of what a model version answered, and how often a shadow agreed with it.

Classifier labels (ints, strings, bools) are counted per class by ``str(label)``.
Numeric outputs (a regression value, or one probability column) are counted on the
fixed ``OUTPUT_GRID``: 100 bins per decade of ``1 + |x|`` (see
``router.telemetry.loggrid``), which puts about 30 bins across ``[0, 1]`` (0.023 wide
near 0, 0.046 near 1) and keeps a relative resolution of 2.3% far from zero; the sum
of the finite values gives the mean. Shadow pairs count compared requests and those
where the answers differed. Everything merges by addition. Stored shape::

    {"v": 1, "name": output name or null, "labels": {label: n},
     "values": {"<bin id>": n}, "sum": s, "invalid": n,
     "pairs": n, "disagreements": n}

``invalid`` counts outputs that are neither: None, NaN, infinities, and rows of more
than one value (reduce class probabilities to one column before observing them).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from router.telemetry.errors import MergeMismatch, SchemaVersionError
from router.telemetry.loggrid import SymLogGrid

__all__ = ["OUTPUTS_SCHEMA_VERSION", "OUTPUT_GRID", "OutputSummary", "disagree"]

OUTPUTS_SCHEMA_VERSION: Final = 1
# Part of the schema: a change here bumps OUTPUTS_SCHEMA_VERSION.
OUTPUT_GRID: Final = SymLogGrid(per_decade=100, decades=15)
_EDGES: Final = OUTPUT_GRID.edges
_BATCH_MIN: Final = 16
_LABEL_TYPES: Final = (str, int, bool)


class OutputSummary:
    """Counts of one output of one model version (labels, value bins, shadow pairs)."""

    __slots__ = ("disagreements", "invalid", "labels", "name", "pairs", "sum", "values")

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.labels: dict[str, int] = {}
        self.values: dict[int, int] = {}
        self.sum = 0.0
        self.invalid = 0
        self.pairs = 0
        self.disagreements = 0

    @property
    def value_count(self) -> int:
        return sum(self.values.values())

    @property
    def mean(self) -> float | None:
        """Mean of the numeric outputs, None if there were none."""
        n = self.value_count
        return self.sum / n if n else None

    def observe(self, values: Any) -> None:
        """Count the outputs of one request: a scalar, a sequence, or a numpy array."""
        cls = values.__class__
        if cls is list or cls is tuple:
            for v in values:
                self._one(v)
        elif cls is np.ndarray:
            self._array(values)
        else:
            self._one(values)

    def _one(self, v: Any) -> None:
        cls = v.__class__
        if cls is float:
            if v - v == 0.0:  # finite: inf - inf and NaN - NaN are NaN
                k = bisect_bin(v)
                self.values[k] = self.values.get(k, 0) + 1
                self.sum += v
            else:
                self.invalid += 1
        elif cls is str or cls is int or cls is bool:
            key = v if cls is str else str(v)
            self.labels[key] = self.labels.get(key, 0) + 1
        else:
            self._other(v)

    def _other(self, v: Any) -> None:
        if isinstance(v, np.generic):
            self._one(v.item())
        elif isinstance(v, float):  # a float subclass
            self._one(float(v))
        elif isinstance(v, _LABEL_TYPES):
            self._one(v if isinstance(v, str) else int(v))
        elif isinstance(v, bytes):
            self._one(v.decode("utf-8", "replace"))
        elif isinstance(v, list | tuple | np.ndarray) and len(v) == 1:
            self._one(v[0])  # one row of a [[y], ...] column
        else:
            self.invalid += 1

    def _array(self, a: np.ndarray[Any, Any]) -> None:
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim == 0:
            self._one(a.item())
            return
        if a.ndim != 1:
            self.invalid += a.shape[0]
            return
        if a.size < _BATCH_MIN or a.dtype.kind not in "fiub":
            for v in a.tolist():
                self._one(v)
            return
        if a.dtype.kind == "f":
            x = a.astype(np.float64, copy=False)
            finite = np.isfinite(x)
            self.invalid += int(x.size - np.count_nonzero(finite))
            x = x[finite]
            ids, counts = np.unique(OUTPUT_GRID.bins(x), return_counts=True)
            for k, c in zip(ids.tolist(), counts.tolist(), strict=True):
                self.values[k] = self.values.get(k, 0) + c
            self.sum += float(x.sum())
            return
        ids, counts = np.unique(a, return_counts=True)
        for k, c in zip(ids.tolist(), counts.tolist(), strict=True):
            key = str(k)
            self.labels[key] = self.labels.get(key, 0) + c

    def count_pair(self, agreed: bool) -> None:
        """Count one shadow comparison; ``agreed`` False counts a disagreement."""
        self.pairs += 1
        if not agreed:
            self.disagreements += 1

    def merge(self, other: OutputSummary) -> None:
        """Add ``other`` into this summary; ``MergeMismatch`` for another output name."""
        if other.name is not None:
            if self.name is None:
                self.name = other.name
            elif other.name != self.name:
                raise MergeMismatch(f"cannot merge output {other.name!r} into {self.name!r}")
        for key, n in other.labels.items():
            self.labels[key] = self.labels.get(key, 0) + n
        for k, n in other.values.items():
            self.values[k] = self.values.get(k, 0) + n
        self.sum += other.sum
        self.invalid += other.invalid
        self.pairs += other.pairs
        self.disagreements += other.disagreements

    def copy(self) -> OutputSummary:
        out = OutputSummary(self.name)
        out.merge(self)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OutputSummary):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": OUTPUTS_SCHEMA_VERSION,
            "name": self.name,
            "labels": {k: n for k, n in sorted(self.labels.items()) if n},
            "values": {str(k): n for k, n in sorted(self.values.items()) if n},
            "sum": self.sum,
            "invalid": self.invalid,
            "pairs": self.pairs,
            "disagreements": self.disagreements,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> OutputSummary:
        """Read ``to_dict``'s shape; an empty mapping is an empty summary."""
        out = cls()
        if not doc:
            return out
        if doc.get("v") != OUTPUTS_SCHEMA_VERSION:
            raise SchemaVersionError(
                f"output summary version {doc.get('v')!r} is not supported "
                f"(this build reads {OUTPUTS_SCHEMA_VERSION})"
            )
        name = doc.get("name")
        labels = doc.get("labels", {})
        values = doc.get("values", {})
        total = doc.get("sum", 0.0)
        if name is not None and not isinstance(name, str):
            raise SchemaVersionError("output summary 'name' must be a string or null")
        if not isinstance(labels, Mapping) or not isinstance(values, Mapping):
            raise SchemaVersionError("output summary 'labels' and 'values' must be mappings")
        if not isinstance(total, int | float) or not math.isfinite(total):
            raise SchemaVersionError("output summary 'sum' must be a finite number")
        out.name = name
        out.labels = {str(k): _count(n) for k, n in labels.items()}
        top = OUTPUT_GRID.top
        for key, n in values.items():
            k = int(key)
            if not -top - 1 <= k <= top:
                raise SchemaVersionError(f"output value bin {k} is off the grid")
            out.values[k] = _count(n)
        out.sum = float(total)
        out.invalid = _count(doc.get("invalid", 0))
        out.pairs = _count(doc.get("pairs", 0))
        out.disagreements = _count(doc.get("disagreements", 0))
        return out

    def __repr__(self) -> str:
        return (
            f"OutputSummary(name={self.name!r}, labels={len(self.labels)}, "
            f"values={self.value_count}, pairs={self.pairs})"
        )


def bisect_bin(x: float) -> int:
    """``OUTPUT_GRID.bin(x)`` without the method call (the per-request path)."""
    if x < 0.0:
        return -bisect_right(_EDGES, -x)
    return bisect_right(_EDGES, x) - 1


def disagree(primary: Any, shadow: Any, *, tolerance: float = 1e-6) -> bool:
    """Whether a shadow's answer differs from the primary's.

    Numbers differ when ``|a - b| > tolerance`` (two NaNs agree); anything else by
    ``!=``; sequences (and numpy arrays) element by element, and a length change is
    a disagreement.
    """
    if isinstance(primary, np.ndarray):
        primary = primary.tolist()
    if isinstance(shadow, np.ndarray):
        shadow = shadow.tolist()
    if isinstance(primary, list | tuple) or isinstance(shadow, list | tuple):
        if not isinstance(primary, list | tuple) or not isinstance(shadow, list | tuple):
            return True
        if len(primary) != len(shadow):
            return True
        return any(
            disagree(a, b, tolerance=tolerance) for a, b in zip(primary, shadow, strict=True)
        )
    if isinstance(primary, np.generic):
        primary = primary.item()
    if isinstance(shadow, np.generic):
        shadow = shadow.item()
    if (isinstance(primary, float) or isinstance(shadow, float)) and (
        _is_number(primary) and _is_number(shadow)
    ):
        a, b = float(primary), float(shadow)
        if a != a or b != b:
            return (a != a) != (b != b)
        return abs(a - b) > tolerance
    return bool(primary != shadow)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _count(value: object) -> int:
    if type(value) is not int or value < 0:
        raise SchemaVersionError(f"output summary count must be an int >= 0, got {value!r}")
    return value
