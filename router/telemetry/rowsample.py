"""A bounded uniform sample of raw input rows per time bucket, for exact tests and reports.

Sketches count rows on bins; a drift report for humans (Evidently's page) and exact
two-sample tests want real rows. Each bucket keeps at most ``capacity`` rows by
reservoir sampling (every row seen has the same chance to be kept), and says how many
it saw, so samples of different buckets and replicas merge into a sample that is
still uniform over the rows of the whole window: ``merge_samples`` weighs each bucket's
rows by how many rows each stands for. Stored shape (``metric_buckets.samples``)::

    {"v": 1, "seen": n, "columns": [feature, ...], "rows": [[value, ...], ...]}

Values are JSON scalars: numbers (NaN and infinities become null), text, booleans.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

__all__ = ["SAMPLE_SCHEMA_VERSION", "RowSample", "merge_samples"]

SAMPLE_SCHEMA_VERSION: Final = 1


def _scalar(v: Any) -> Any:
    if v is None or isinstance(v, bool | str | int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f if math.isfinite(f) else None


def _as_list(row: Any) -> list[Any]:
    return row.tolist() if hasattr(row, "tolist") else list(row)


class RowSample:
    """Reservoir of at most ``capacity`` rows (algorithm R); ``seen`` counts every offer."""

    __slots__ = ("_random", "capacity", "rows", "seen")

    def __init__(self, capacity: int, rng: random.Random | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.seen = 0
        self.rows: list[list[Any]] = []
        self._random = (rng or random.Random()).random

    def offer(self, row: Sequence[Any]) -> None:
        """One row, values in feature order (kept rows are copied)."""
        self.seen += 1
        if len(self.rows) < self.capacity:
            self.rows.append(list(row))
            return
        j = int(self._random() * self.seen)
        if j < self.capacity:
            self.rows[j] = list(row)

    def offer_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows (a 2-D array or a sequence of rows); only kept rows are converted."""
        kept = self.rows
        capacity = self.capacity
        for i in range(len(rows)):
            self.seen += 1
            if len(kept) < capacity:
                kept.append(_as_list(rows[i]))
                continue
            j = int(self._random() * self.seen)
            if j < capacity:
                kept[j] = _as_list(rows[i])

    def to_dict(self, columns: Sequence[str]) -> dict[str, Any]:
        return {
            "v": SAMPLE_SCHEMA_VERSION,
            "seen": self.seen,
            "columns": list(columns),
            "rows": [[_scalar(v) for v in row] for row in self.rows],
        }


def merge_samples(
    docs: Iterable[Mapping[str, Any]], capacity: int, *, seed: int | None = None
) -> dict[str, Any]:
    """One uniform sample of at most ``capacity`` rows from several stored samples.

    Each draw picks a sample with probability proportional to the rows it saw and not
    yet drawn from (so a bucket that saw 900 rows gives about 9 of every 10 rows when
    merged with one that saw 100), then one of that sample's kept rows not taken yet:
    a multivariate hypergeometric allocation over the underlying rows, limited by
    the rows each sample kept. Samples whose columns differ from the first one's, or
    of another schema version, are skipped and counted in ``skipped``.
    """
    rng = random.Random(seed)
    columns: list[str] | None = None
    seen = 0
    skipped = 0
    pools: list[tuple[int, list[Any]]] = []  # (rows seen, kept rows) per sample
    for doc in docs:
        if not doc:
            continue
        rows = doc.get("rows")
        if doc.get("v") != SAMPLE_SCHEMA_VERSION or not isinstance(rows, list):
            skipped += 1
            continue
        cols = list(doc.get("columns") or [])
        if columns is None:
            columns = cols
        elif cols != columns:
            skipped += 1
            continue
        doc_seen = max(int(doc.get("seen", len(rows)) or 0), len(rows))
        seen += doc_seen
        if rows:
            pools.append((doc_seen, list(rows)))
    left = [float(n) for n, _ in pools]
    shuffled = [rng.sample(rows, len(rows)) for _, rows in pools]
    taken = [0] * len(pools)
    chosen: list[Any] = []
    while len(chosen) < capacity:
        open_ = [i for i in range(len(pools)) if taken[i] < len(shuffled[i]) and left[i] > 0]
        if not open_:
            break
        total = sum(left[i] for i in open_)
        pick = rng.random() * total
        for i in open_:
            pick -= left[i]
            if pick < 0:
                break
        chosen.append(shuffled[i][taken[i]])
        taken[i] += 1
        # One underlying row of that bucket is drawn (its kept rows stand in for it).
        left[i] -= 1.0
    return {
        "v": SAMPLE_SCHEMA_VERSION,
        "seen": seen,
        "columns": columns or [],
        "rows": chosen,
        "skipped": skipped,
    }
