"""The stored form of input sketches: per-feature bin counts that merge by addition.

A sketch is written once per (model, version, replica, time bucket) into
``metric_buckets.sketches`` and merged by the controller and the drift monitor, so the
document carries a version and a reader refuses versions it does not know. Shape::

    {"v": 1, "rows": n, "skipped": n,
     "features": {
        name: {"kind": "numeric", "counts": [n, ...], "missing": n,
               "below": n, "above": n},
        name: {"kind": "categorical", "counts": {category: n, "__other__": n},
               "missing": n},
        name: {"kind": "raw", "counts": {"<bin id>": n}, "missing": n}}}

``numeric``: counts per bin of the reference profile's edges under
``monitors.bin_index``'s rule (one entry per bin); ``below`` / ``above`` say how many of
them lay outside the reference range (they are also in the outer bins). ``categorical``:
counts of ``str(value)`` for the profile's top categories, everything else in
``"__other__"``; zero counts are left out. ``raw``: a feature without reference bins,
counted on ``RAW_GRID`` (see ``router.telemetry.loggrid``), sparse by bin id. ``missing``
counts None, NaN and values that are not numbers (for numeric kinds). ``rows`` counts
the rows sketched, ``skipped`` rows of the wrong width that were not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from router.telemetry.errors import MergeMismatch, SchemaVersionError
from router.telemetry.loggrid import SymLogGrid

__all__ = [
    "OTHER",
    "RAW_GRID",
    "SKETCH_SCHEMA_VERSION",
    "FeatureSketch",
    "InputSketch",
    "SketchKind",
]

SKETCH_SCHEMA_VERSION: Final = 1
OTHER: Final = "__other__"
# 20 bins per decade of 1 + |x| up to 1e15: about 6 bins across 20..80 (an age), 20
# across 1e3..1e4; the extreme bins catch everything beyond. Part of the schema: a
# change here bumps SKETCH_SCHEMA_VERSION.
RAW_GRID: Final = SymLogGrid(per_decade=20, decades=15)

SketchKind = Literal["numeric", "categorical", "raw"]
_KINDS: Final = ("numeric", "categorical", "raw")


@dataclass(slots=True)
class FeatureSketch:
    """Counts of one feature. ``bins`` is used by numeric kinds, ``counts`` by the others."""

    kind: SketchKind
    bins: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    below: int = 0
    above: int = 0

    @property
    def total(self) -> int:
        """Values counted, missing ones included."""
        return sum(self.bins) + sum(self.counts.values()) + self.missing

    def merge(self, other: FeatureSketch, name: str = "?") -> None:
        """Add ``other`` into this sketch; ``MergeMismatch`` if the layouts differ."""
        if other.kind != self.kind:
            raise MergeMismatch(f"feature {name!r}: cannot merge {other.kind} into {self.kind}")
        if self.kind == "numeric":
            if len(other.bins) != len(self.bins):
                raise MergeMismatch(
                    f"feature {name!r}: {len(other.bins)} bins cannot merge into "
                    f"{len(self.bins)} (the profiles differ)"
                )
            self.bins = [a + b for a, b in zip(self.bins, other.bins, strict=True)]
        mine = self.counts
        for key, n in other.counts.items():
            mine[key] = mine.get(key, 0) + n
        self.missing += other.missing
        self.below += other.below
        self.above += other.above

    def copy(self) -> FeatureSketch:
        return FeatureSketch(
            self.kind, list(self.bins), dict(self.counts), self.missing, self.below, self.above
        )

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "numeric":
            return {
                "kind": "numeric",
                "counts": list(self.bins),
                "missing": self.missing,
                "below": self.below,
                "above": self.above,
            }
        counts = {k: n for k, n in self.counts.items() if n}
        return {"kind": self.kind, "counts": counts, "missing": self.missing}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], name: str = "?") -> FeatureSketch:
        if not isinstance(doc, Mapping):
            raise SchemaVersionError(f"feature {name!r}: a sketch must be a mapping")
        kind = doc.get("kind")
        raw_counts = doc.get("counts")
        if kind not in _KINDS:
            raise SchemaVersionError(f"feature {name!r}: unknown sketch kind {kind!r}")
        missing = _count(doc.get("missing", 0), name)
        if kind == "numeric":
            if not isinstance(raw_counts, list) or not raw_counts:
                raise SchemaVersionError(f"feature {name!r}: numeric counts must be a list")
            return cls(
                "numeric",
                bins=[_count(n, name) for n in raw_counts],
                missing=missing,
                below=_count(doc.get("below", 0), name),
                above=_count(doc.get("above", 0), name),
            )
        if not isinstance(raw_counts, Mapping):
            raise SchemaVersionError(f"feature {name!r}: {kind} counts must be a mapping")
        counts = {str(k): _count(n, name) for k, n in raw_counts.items()}
        if kind == "raw":
            for key in counts:
                _raw_bin_id(key, name)
        return cls(kind, counts=counts, missing=missing)

    def raw_bins(self) -> dict[int, int]:
        """For the raw kind: counts by integer bin id of ``RAW_GRID``."""
        return {int(k): n for k, n in self.counts.items()}


@dataclass(slots=True)
class InputSketch:
    """The sketches of every input feature of one model version over some rows."""

    rows: int = 0
    skipped: int = 0
    features: dict[str, FeatureSketch] = field(default_factory=dict)

    def merge(self, other: InputSketch) -> None:
        """Add ``other`` into this sketch (in place); features of either side are kept."""
        self.rows += other.rows
        self.skipped += other.skipped
        for name, theirs in other.features.items():
            mine = self.features.get(name)
            if mine is None:
                self.features[name] = theirs.copy()
            else:
                mine.merge(theirs, name)

    def copy(self) -> InputSketch:
        return InputSketch(self.rows, self.skipped, {k: f.copy() for k, f in self.features.items()})

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SKETCH_SCHEMA_VERSION,
            "rows": self.rows,
            "skipped": self.skipped,
            "features": {name: f.to_dict() for name, f in self.features.items()},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> InputSketch:
        """Read ``to_dict``'s shape; an empty mapping is an empty sketch."""
        if not doc:
            return cls()
        if doc.get("v") != SKETCH_SCHEMA_VERSION:
            raise SchemaVersionError(
                f"input sketch version {doc.get('v')!r} is not supported "
                f"(this build reads {SKETCH_SCHEMA_VERSION})"
            )
        features = doc.get("features", {})
        if not isinstance(features, Mapping):
            raise SchemaVersionError("input sketch 'features' must be a mapping")
        return cls(
            rows=_count(doc.get("rows", 0), "rows"),
            skipped=_count(doc.get("skipped", 0), "skipped"),
            features={str(n): FeatureSketch.from_dict(f, str(n)) for n, f in features.items()},
        )


def _count(value: object, name: str) -> int:
    if type(value) is not int or value < 0:
        raise SchemaVersionError(f"sketch of {name!r}: a count must be an int >= 0, got {value!r}")
    return value


def _raw_bin_id(key: str, name: str) -> int:
    try:
        bin_id = int(key)
    except ValueError:
        raise SchemaVersionError(f"feature {name!r}: raw bin id {key!r} is not an int") from None
    if not -RAW_GRID.top - 1 <= bin_id <= RAW_GRID.top:
        raise SchemaVersionError(f"feature {name!r}: raw bin id {bin_id} is off the grid")
    return bin_id
