"""Drift checks end to end: two tables offline, or a live window against its profile.

Pure (pandas allowed): values in, a ``monitors.policy.DriftResult`` out. The adapters
here only turn tables, reference profiles and input sketches into the policy's
per-feature counts; every statistic and every verdict comes from ``monitors.stats`` and
``monitors.policy``, so ``turnout drift check`` and the monitor judge alike.

Offline, the reference table plays the profile: numeric columns are cut into
``n_bins`` quantile bins of the reference, or on their support grid when they take few
distinct values (``monitors.binning.reference_edges``; values outside the reference
range count in the outer bins), categorical columns keep the reference's ``top_k``
categories plus one "other" cell, exactly as the gateway sketches live traffic.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitors.binning import (
    MAX_SUPPORT_VALUES,
    partitioned_quantile_edges,
    reference_edges,
    support_atoms,
)
from monitors.errors import (
    ColumnMismatch,
    DataMismatch,
    EmptyData,
    SketchMismatch,
    TypeMismatch,
)
from monitors.policy import (
    DEFAULT_POLICY,
    Band,
    DriftPolicy,
    DriftResult,
    FeatureInput,
    FeatureResult,
    Kind,
    evaluate,
    evaluate_feature,
)
from monitors.profile_schema import FeatureProfile, ReferenceProfile

__all__ = [
    "EXIT_CODES",
    "OTHER",
    "check_frames",
    "evaluate_predictions",
    "evaluate_window",
    "exit_code",
    "frame_inputs",
    "output_summary_input",
    "prediction_input",
    "window_inputs",
]

# Threads for the per-column work of a large two-table check (at most the CPU count),
# and the rows (both tables) from which threads pay for themselves.
_COLUMN_THREADS = min(4, os.cpu_count() or 1)
_THREADED_ROWS = 20_000

FloatArray = npt.NDArray[np.float64]

# The sketch's name for "every category beyond the profile's top ones"
# (router.telemetry.sketch_schema.OTHER); part of the sketch schema.
OTHER: Final = "__other__"
SKETCH_VERSION: Final = 1

EXIT_CODES: Final[Mapping[Band, int]] = {"OK": 0, "WARN": 1, "DRIFT": 2, "NO_DATA": 1}


def exit_code(result: DriftResult | Band) -> int:
    """Process exit status for a verdict: 0 OK, 1 WARN, 2 DRIFT. A check that could
    compare nothing (NO_DATA: every column empty on a side) exits 1, not 0: a batch
    job should not pass silently on data it never looked at."""
    band = result.verdict if isinstance(result, DriftResult) else result
    return EXIT_CODES[band]


# --- shared helpers -------------------------------------------------------------------


def _is_numeric(dtype: object) -> bool:
    # The profile's kind rule: bool is a category, ints and floats are numbers.
    if pd.api.types.is_bool_dtype(dtype):
        return False
    return bool(pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype))


def _floats(column: pd.Series) -> FloatArray:
    try:
        values: FloatArray = column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise TypeMismatch(f"column {column.name!r} has values that are not numbers") from exc
    return values


def _sorted_counts(sorted_values: FloatArray, edges: FloatArray) -> FloatArray:
    """Counts per bin under ``monitors.binning.bin_index``'s rule, from sorted values:
    bin ``i`` holds ``e[i] <= v < e[i + 1]``, the outer bins take everything beyond."""
    below_inner = np.searchsorted(sorted_values, edges[1:-1], side="left")
    cuts = np.concatenate([[0], below_inner, [sorted_values.size]])
    out: FloatArray = np.diff(cuts).astype(np.float64)
    return out


def _text_counts(column: pd.Series) -> tuple[dict[str, int], int]:
    """Counts of ``str(value)`` of the present values, and the missing count."""
    # factorize + bincount: the counts of value_counts(dropna=True) in one hashing pass.
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=len(uniques)).tolist()
    by_text: dict[str, int] = {}
    # Distinct values may share a text (0.0 and -0.0, 1 and "1"): their counts add up.
    for value, n in zip(np.asarray(uniques, dtype=object).tolist(), counts, strict=True):
        if n:
            key = str(value)
            by_text[key] = by_text.get(key, 0) + n
    return by_text, int(column.size - present.size)


def _top(counts: Mapping[str, int], top_k: int) -> list[str]:
    # The profile's order: count descending, ties by text.
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [k for k, _ in ordered[:top_k]]


# --- offline: two tables --------------------------------------------------------------


def _check_frames(
    reference: pd.DataFrame, current: pd.DataFrame, categorical: Collection[str]
) -> dict[str, Kind]:
    for side, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise DataMismatch(f"the {side} data must be a pandas DataFrame")
        if frame.shape[1] == 0:
            raise EmptyData(f"the {side} table has no columns")
        if frame.shape[0] == 0:
            raise EmptyData(f"the {side} table has no rows")
        names = [str(c) for c in frame.columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise DataMismatch(f"the {side} table repeats columns: {', '.join(repeated)}")
    ref_names = [str(c) for c in reference.columns]
    cur_names = {str(c) for c in current.columns}
    missing = [n for n in ref_names if n not in cur_names]
    extra = sorted(cur_names - set(ref_names))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing from current: {', '.join(missing)}")
        if extra:
            parts.append(f"not in reference: {', '.join(extra)}")
        raise ColumnMismatch("the tables have different columns; " + "; ".join(parts))
    if isinstance(categorical, str):
        raise DataMismatch("categorical must be a collection of column names, not a string")
    unknown = sorted(set(categorical) - set(ref_names))
    if unknown:
        raise DataMismatch(f"categorical names unknown columns: {', '.join(unknown)}")
    kinds: dict[str, Kind] = {}
    clashes: list[str] = []
    for name in ref_names:
        r, c = reference[name], current[name]
        if name in categorical:
            kinds[name] = "categorical"
            continue
        r_num, c_num = _is_numeric(r.dtype), _is_numeric(c.dtype)
        if r_num == c_num:
            kinds[name] = "numeric" if r_num else "categorical"
            continue
        # A column with no value at all has no type to disagree with.
        if r.isna().all():
            kinds[name] = "numeric" if c_num else "categorical"
        elif c.isna().all():
            kinds[name] = "numeric" if r_num else "categorical"
        else:
            clashes.append(f"{name} ({r.dtype} in reference, {c.dtype} in current)")
    if clashes:
        raise TypeMismatch(
            "columns are numeric on one side and not on the other: " + ", ".join(clashes)
        )
    return kinds


def _unsorted_counts(values: FloatArray, edges: FloatArray) -> FloatArray:
    """``_sorted_counts`` for values in any order (no NaN): one vectorised comparison
    per inner edge for a few edges, a binary search per value for many."""
    inner = edges[1:-1]
    if inner.size <= 16:
        below = [np.count_nonzero(values < e) for e in inner.tolist()]
        cuts = np.array([0, *below, values.size], dtype=np.float64)
        out: FloatArray = np.diff(cuts)
        return out
    index = np.searchsorted(inner, values, side="right")
    counts: FloatArray = np.bincount(index, minlength=edges.size - 1).astype(np.float64)
    return counts


# Integer-valued columns whose range is at most this many times their length are sorted
# by counting (np.bincount) rather than by comparison.
_COUNTING_SORT_RANGE: Final = 4
_EXACT_INTEGERS: Final = 2.0**52


def _sorted(values: FloatArray) -> FloatArray:
    """``np.sort(values)``, by counting for integer values in a small range (pixel
    intensities, counts, codes): a few passes over the data instead of a sort."""
    x = values
    if x.size < 1024 or not np.array_equal(x[:64], np.rint(x[:64])):
        return np.sort(x)
    lo, hi = float(x.min()), float(x.max())  # NaN propagates and fails the test below
    if not (
        -_EXACT_INTEGERS < lo <= hi < _EXACT_INTEGERS
        and hi - lo <= _COUNTING_SORT_RANGE * x.size
        and np.array_equal(x, np.rint(x))
    ):
        return np.sort(x)
    counts = np.bincount((x - lo).astype(np.int64), minlength=int(hi - lo) + 1)
    out: FloatArray = np.repeat(lo + np.arange(counts.size, dtype=np.float64), counts)
    return out


# References with at least this many present values skip the sort when a probe shows
# the feature is continuous (see _reference_side).
_PARTITION_ROWS: Final = 4096
_PROBE_VALUES: Final = 512


def _reference_side(
    present: FloatArray, n_bins: int
) -> tuple[FloatArray, int, FloatArray, FloatArray, float, float] | None:
    """The reference's finite values, distinct-value count, edges, counts on them, and
    finite range; None when it has no finite value.

    A discrete feature (or a small reference) is sorted: its distinct values decide the
    support grid, and the exact Wasserstein distance reads them in order. A large
    reference whose probe of ``_PROBE_VALUES`` evenly spaced values already holds more
    than ``MAX_SUPPORT_VALUES`` distinct ones is continuous for every rule that reads
    ``n_unique`` (all thresholds are at most 50): its quantile edges come from
    ``numpy.partition`` (the same edges, fewer passes than a sort), its counts from
    comparisons, and ``n_unique`` is the probe's count, a lower bound.
    """
    if present.size >= _PARTITION_ROWS:
        probe = np.unique(present[:: present.size // _PROBE_VALUES])
        if probe.size > MAX_SUPPORT_VALUES:
            is_finite = np.isfinite(present)
            finite = present if bool(is_finite.all()) else present[is_finite]
            edges = partitioned_quantile_edges(finite, n_bins)
            counts = _unsorted_counts(present, edges)
            return finite, int(probe.size), edges, counts, float(finite.min()), float(finite.max())
    r = _sorted(present)
    finite = r[
        int(np.searchsorted(r, -np.inf, side="right")) : int(
            np.searchsorted(r, np.inf, side="left")
        )
    ]
    if finite.size == 0:
        return None
    n_unique = int(np.count_nonzero(r[1:] != r[:-1])) + 1
    edges = reference_edges(finite, n_bins, all_finite=finite.size == r.size, n_unique=n_unique)
    return finite, n_unique, edges, _sorted_counts(r, edges), float(finite[0]), float(finite[-1])


def _numeric_input(
    name: str, reference: FloatArray, current: FloatArray, n_bins: int, reference_rows: int
) -> FeatureInput:
    # Neither side needs a full sort for a continuous feature (see _reference_side); the
    # window's counts, range and samples need no order, and only the exact Wasserstein
    # distance of a support grid reads its sample in order.
    r_nan = np.isnan(reference)
    r_missing = int(np.count_nonzero(r_nan))
    r = reference[~r_nan] if r_missing else reference
    c_nan = np.isnan(current)
    c_missing = int(np.count_nonzero(c_nan))
    c = current[~c_nan] if c_missing else current
    common: dict[str, Any] = {
        "name": name,
        "kind": "numeric",
        "reference_rows": int(reference.size),
        "current_rows": int(current.size),
        "reference_missing": r_missing,
        "current_missing": c_missing,
    }
    side = _reference_side(r, n_bins) if r.size else None
    if side is None:
        return FeatureInput(
            reference_counts=np.zeros(1),
            current_counts=np.zeros(1),
            n_unique=0,
            notes=("the reference has no finite value: data quality only",),
            **common,
        )
    finite, n_unique, edges, ref_counts, lo, hi = side
    out = int(np.count_nonzero(c < lo)) + int(np.count_nonzero(c > hi))
    c_is_finite = np.isfinite(c)
    c_finite = c if bool(c_is_finite.all()) else c[c_is_finite]
    cur_counts = _unsorted_counts(c, edges)
    unseen = _unseen_values(edges, ref_counts, cur_counts)
    if unseen is not None:  # a support grid: the exact distance walks both in order
        c_finite = _sorted(c_finite)
    return FeatureInput(
        reference_counts=ref_counts,
        current_counts=cur_counts,
        n_unique=n_unique,
        edges=edges,
        reference_std=float(np.std(finite)),
        out_of_range=out,
        unseen=unseen,
        constant=n_unique <= 1,
        reference_sample=finite,
        current_sample=c_finite,
        complete_samples=True,
        **{**common, "reference_rows": reference_rows},
    )


def _unseen_values(edges: FloatArray, reference: FloatArray, current: FloatArray) -> int | None:
    """On a support grid, the window's values the reference never had (its counts
    outside the atom cells); None on quantile bins, which cannot tell."""
    atoms = support_atoms(edges, reference)
    return None if atoms is None else int(round(float(current[~atoms].sum())))


def _categorical_input(
    name: str, reference: pd.Series, current: pd.Series, top_k: int
) -> FeatureInput:
    r_counts, r_missing = _text_counts(reference)
    c_counts, c_missing = _text_counts(current)
    labels = _top(r_counts, top_k)
    ref_top = np.array([r_counts[k] for k in labels], dtype=np.float64)
    cur_top = np.array([c_counts.get(k, 0) for k in labels], dtype=np.float64)
    ref_other = float(sum(r_counts.values())) - float(ref_top.sum())
    cur_other = float(sum(c_counts.values())) - float(cur_top.sum())
    unseen = sum(n for k, n in c_counts.items() if k not in r_counts)
    if ref_other or cur_other:
        labels = [*labels, OTHER]
        ref_top = np.append(ref_top, ref_other)
        cur_top = np.append(cur_top, cur_other)
    if not labels:
        labels, ref_top, cur_top = [OTHER], np.zeros(1), np.zeros(1)
    return FeatureInput(
        name=name,
        kind="categorical",
        reference_counts=ref_top,
        current_counts=cur_top,
        reference_rows=int(reference.size),
        current_rows=int(current.size),
        reference_missing=r_missing,
        current_missing=c_missing,
        n_unique=len(r_counts),
        labels=tuple(labels),
        unseen=unseen,
    )


def frame_inputs(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    categorical: Collection[str] = (),
    n_bins: int = 10,
    top_k: int = 50,
) -> list[FeatureInput]:
    """The policy's per-feature counts for two tables (validated as ``check_frames``)."""
    if n_bins < 1 or top_k < 1:
        raise DataMismatch("n_bins and top_k must be at least 1")
    kinds = _check_frames(reference, current, categorical)

    def one(name: str) -> FeatureInput:
        r, c = reference[name], current[name]
        if kinds[name] == "numeric":
            return _numeric_input(name, _floats(r), _floats(c), n_bins, len(reference))
        return _categorical_input(name, r, c, top_k)

    names = list(kinds)
    workers = min(_COLUMN_THREADS, len(names))
    if workers < 2 or len(reference) + len(current) < _THREADED_ROWS:
        return [one(name) for name in names]
    # Columns are independent, and their cost is numpy's sorts and searches, which run
    # without the GIL: on several cores they overlap. Results keep the column order.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="turnout-drift") as pool:
        return list(pool.map(one, names))


def check_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    policy: DriftPolicy = DEFAULT_POLICY,
    categorical: Collection[str] = (),
    n_bins: int = 10,
    top_k: int = 50,
    reference_outputs: npt.ArrayLike | None = None,
    current_outputs: npt.ArrayLike | None = None,
    output_kind: Kind | None = None,
) -> DriftResult:
    """Compare two tables column by column with the drift policy.

    Both tables need the same column names (order does not matter) and, per column,
    the same kind: numeric (int or float, not bool) on both sides, or neither; a
    column that is entirely missing on one side matches either kind. Columns named in
    ``categorical`` are compared by category whatever their dtype. Raises
    ``EmptyData``, ``ColumnMismatch``, ``TypeMismatch`` (all ``DataMismatch``, a
    ``MonitorError``) with one line saying what differs. Empty or all-NaN columns,
    constant columns and unseen categories are report entries, not errors.

    ``reference_outputs`` / ``current_outputs``: the model's outputs on each table, for
    prediction drift (see ``prediction_input``).
    """
    inputs = frame_inputs(reference, current, categorical=categorical, n_bins=n_bins, top_k=top_k)
    prediction = None
    if reference_outputs is not None and current_outputs is not None:
        prediction = prediction_input(
            reference_outputs, current_outputs, kind=output_kind, n_bins=n_bins
        )
    return evaluate(
        inputs, policy, rows=len(current), reference_rows=len(reference), prediction=prediction
    )


# --- predictions ----------------------------------------------------------------------


def _output_kind(values: npt.NDArray[Any]) -> Kind:
    if values.dtype.kind in "fc":
        return "numeric"
    if values.dtype.kind in "iu":
        # Integer outputs are class labels unless there are too many to be classes.
        return "categorical" if np.unique(values).size <= 50 else "numeric"
    return "categorical"


def prediction_input(
    reference_outputs: npt.ArrayLike,
    current_outputs: npt.ArrayLike,
    *,
    kind: Kind | None = None,
    n_bins: int = 10,
) -> FeatureInput:
    """Prediction drift input: the model's outputs on the reference sample against the
    window's outputs. Labels (text, bool, or integers with at most 50 values) are
    compared as categories, scores (floats) as a numeric feature; ``kind`` forces one."""
    ref = np.asarray(reference_outputs).ravel()
    cur = np.asarray(current_outputs).ravel()
    chosen = kind or _output_kind(ref)
    if chosen == "numeric":
        try:
            r = ref.astype(np.float64)
            c = cur.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeMismatch("numeric outputs must be numbers on both sides") from exc
        return _numeric_input("prediction", r, c, n_bins, int(ref.size))
    return _categorical_input(
        "prediction", pd.Series(ref, dtype=object), pd.Series(cur, dtype=object), top_k=50
    )


class Grid(Protocol):
    """What ``output_summary_input`` needs of ``router.telemetry``'s value grid."""

    def bins(self, values: FloatArray) -> npt.NDArray[np.int64]: ...


def output_summary_input(
    reference_outputs: npt.ArrayLike, summary: Mapping[str, Any], *, grid: Grid | None = None
) -> FeatureInput:
    """Prediction drift input from a window's stored output summary (the
    ``router.telemetry.outputs`` shape: ``labels`` by ``str(label)``, ``values`` by bin
    id of the output grid, ``invalid``). Labels are compared as categories; values need
    the ``grid`` the summary was counted on (``OUTPUT_GRID``), and are compared as
    ordered cells of that grid."""
    ref = np.asarray(reference_outputs).ravel()
    labels = summary.get("labels") or {}
    values = summary.get("values") or {}
    invalid = _as_count(summary.get("invalid", 0), "invalid")
    if labels:
        r_counts, r_missing = _text_counts(pd.Series(ref, dtype=object))
        cur = {str(k): _as_count(v, "labels") for k, v in labels.items()}
        keys = _top(r_counts, 50)
        cur_top = np.array([cur.get(k, 0) for k in keys], dtype=np.float64)
        cur_other = float(sum(cur.values())) - float(cur_top.sum())
        ref_top = np.array([r_counts[k] for k in keys], dtype=np.float64)
        ref_other = float(sum(r_counts.values())) - float(ref_top.sum())
        if ref_other or cur_other:
            keys = [*keys, OTHER]
            ref_top = np.append(ref_top, ref_other)
            cur_top = np.append(cur_top, cur_other)
        return FeatureInput(
            name="prediction",
            kind="categorical",
            reference_counts=ref_top if keys else np.zeros(1),
            current_counts=cur_top if keys else np.zeros(1),
            reference_rows=int(ref.size),
            current_rows=int(sum(cur.values())) + invalid,
            reference_missing=r_missing,
            current_missing=invalid,
            n_unique=len(r_counts),
            labels=tuple(keys),
            unseen=int(sum(n for k, n in cur.items() if k not in r_counts)),
        )
    note: tuple[str, ...] = ()
    r = ref.astype(np.float64) if ref.dtype.kind in "fiub" else np.zeros(0)
    r = r[np.isfinite(r)]
    if not values or grid is None:
        note = (
            ("no output values, or no grid to read them with",)
            if not values
            else ("output values need the output grid to be compared",)
        )
        return FeatureInput(
            name="prediction",
            kind="categorical",
            reference_counts=np.zeros(1) if grid is None else np.array([float(r.size)]),
            current_counts=np.zeros(1),
            reference_rows=int(ref.size),
            current_rows=invalid,
            reference_missing=int(ref.size - r.size),
            current_missing=invalid,
            n_unique=0,
            notes=note,
        )
    cur_bins = {int(k): _as_count(v, "values") for k, v in values.items()}
    ref_ids, ref_n = np.unique(grid.bins(r), return_counts=True)
    ids = sorted(set(ref_ids.tolist()) | set(cur_bins))
    ref_map = dict(zip(ref_ids.tolist(), ref_n.tolist(), strict=True))
    return FeatureInput(
        name="prediction",
        kind="categorical",
        reference_counts=np.array([ref_map.get(i, 0) for i in ids], dtype=np.float64),
        current_counts=np.array([cur_bins.get(i, 0) for i in ids], dtype=np.float64),
        reference_rows=int(ref.size),
        current_rows=int(sum(cur_bins.values())) + invalid,
        reference_missing=int(ref.size - r.size),
        current_missing=invalid,
        n_unique=len(ref_ids),
        labels=tuple(str(i) for i in ids),
        notes=("scores compared on the output grid's cells",),
    )


def evaluate_predictions(
    reference_outputs: npt.ArrayLike,
    current_outputs: npt.ArrayLike,
    *,
    policy: DriftPolicy = DEFAULT_POLICY,
    kind: Kind | None = None,
) -> FeatureResult:
    """Prediction drift alone: ``prediction_input`` judged by ``evaluate_feature``."""
    return evaluate_feature(prediction_input(reference_outputs, current_outputs, kind=kind), policy)


# --- live: a profile and a merged input sketch ----------------------------------------


class _HasToDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def _as_count(value: object, what: str) -> int:
    if type(value) is not int or value < 0:
        raise SketchMismatch(f"{what}: a count must be an int >= 0, got {value!r}")
    return value


def _sketch_doc(sketch: Mapping[str, Any] | _HasToDict) -> Mapping[str, Any]:
    doc = sketch if isinstance(sketch, Mapping) else sketch.to_dict()
    if not doc:
        return {"v": SKETCH_VERSION, "rows": 0, "features": {}}
    if doc.get("v") != SKETCH_VERSION:
        raise SketchMismatch(
            f"input sketch version {doc.get('v')!r} is not supported "
            f"(this build reads {SKETCH_VERSION})"
        )
    if not isinstance(doc.get("features", {}), Mapping):
        raise SketchMismatch("input sketch 'features' must be a mapping")
    return doc


def _sample_column(frame: pd.DataFrame | None, name: str) -> FloatArray | None:
    if frame is None or name not in frame.columns:
        return None
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    return finite if finite.size else None


def _profile_sample(profile: ReferenceProfile, position: int) -> FloatArray | None:
    values = [row[position] for row in profile.sample.rows]
    numbers = np.array(
        [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)],
        dtype=np.float64,
    )
    finite = numbers[np.isfinite(numbers)]
    return finite if finite.size else None


def _live_numeric(
    fp: FeatureProfile,
    sk: Mapping[str, Any] | None,
    common: dict[str, Any],
    samples: tuple[FloatArray | None, FloatArray | None],
) -> FeatureInput:
    if fp.bins is None:
        return FeatureInput(
            reference_counts=np.zeros(1),
            current_counts=np.zeros(1),
            n_unique=fp.n_unique,
            notes=("the reference has no finite value: data quality only",),
            **common,
        )
    ref = np.asarray(fp.bins.counts, dtype=np.float64)
    counts = sk.get("counts") if sk is not None else None
    kind = sk.get("kind") if sk is not None else None
    if sk is not None and (kind != "numeric" or not isinstance(counts, list)):
        raise SketchMismatch(f"feature {fp.name!r}: sketched as {kind!r}, profiled as numeric")
    if counts is not None and len(counts) != ref.size:
        raise SketchMismatch(
            f"feature {fp.name!r}: the sketch has {len(counts)} bins, the profile {ref.size}"
        )
    cur = (
        np.array([_as_count(n, fp.name) for n in counts], dtype=np.float64)
        if counts is not None
        else np.zeros(ref.size)
    )
    out = 0
    if sk is not None:
        out = _as_count(sk.get("below", 0), fp.name) + _as_count(sk.get("above", 0), fp.name)
    edges = np.asarray(fp.bins.edges, dtype=np.float64)
    atoms = support_atoms(edges, ref)
    unseen = None
    if atoms is not None:
        unseen = int(cur[~atoms].sum())
        # A support grid's outer cells reach beyond the reference range (the sketch's
        # below / above count only beyond the outer edges): the cells below the first
        # atom and above the last hold exactly the values outside it, as offline.
        held = np.flatnonzero(atoms)
        out = int(cur[: held[0]].sum() + cur[held[-1] + 1 :].sum())
    return FeatureInput(
        reference_counts=ref,
        current_counts=cur,
        n_unique=fp.n_unique,
        edges=edges,
        reference_std=fp.std,
        out_of_range=out,
        unseen=unseen,
        constant=fp.n_unique <= 1,
        reference_sample=samples[0],
        current_sample=samples[1],
        **common,
    )


def _live_categorical(
    fp: FeatureProfile, sk: Mapping[str, Any] | None, common: dict[str, Any]
) -> FeatureInput:
    categories = fp.categories or []
    labels = [c.value for c in categories]
    ref = [float(c.count) for c in categories]
    raw = sk.get("counts", {}) if sk is not None else {}
    if sk is not None and (sk.get("kind") != "categorical" or not isinstance(raw, Mapping)):
        raise SketchMismatch(
            f"feature {fp.name!r}: sketched as {sk.get('kind')!r}, profiled as categorical"
        )
    cur_map = {str(k): _as_count(v, fp.name) for k, v in raw.items()}
    cur = [float(cur_map.get(v, 0)) for v in labels]
    # Keys that are neither a top category nor "__other__" should not occur; they are
    # values the reference's top categories do not hold, so they count as other.
    cur_other = float(sum(cur_map.values())) - float(sum(cur))
    other_ref = float(fp.other_count or 0)
    if other_ref or cur_other:
        labels.append(OTHER)
        ref.append(other_ref)
        cur.append(cur_other)
    notes: tuple[str, ...] = ()
    unseen: int | None = int(cur_other)
    if other_ref:
        unseen = None
        notes = ("rare reference categories share the 'other' cell: unseen rate unknown",)
    return FeatureInput(
        reference_counts=np.asarray(ref or [0.0], dtype=np.float64),
        current_counts=np.asarray(cur or [0.0], dtype=np.float64),
        n_unique=fp.n_unique,
        labels=tuple(labels),
        unseen=unseen,
        notes=notes,
        **common,
    )


def window_inputs(
    profile: ReferenceProfile,
    sketch: Mapping[str, Any] | _HasToDict,
    *,
    sample: pd.DataFrame | None = None,
) -> tuple[list[FeatureInput], list[str]]:
    """The policy's per-feature counts for a live window, and report-level notes.

    ``sketch`` is a merged ``InputSketch`` or its ``to_dict()`` form (version 1).
    A sketch of another version, or a feature whose sketch does not fit its profile
    (other kind, other bin count, bad counts), raises ``SketchMismatch``: the window
    was sketched against another profile and comparing would mislead. A profiled
    feature absent from the sketch reads NO_DATA; sketched features the profile lacks
    are named in the notes. ``sample``: the window's raw-row sample, used by KS.
    """
    doc = _sketch_doc(sketch)
    features: Mapping[str, Any] = doc.get("features", {})
    rows = doc.get("rows", 0)
    inputs: list[FeatureInput] = []
    for position, fp in enumerate(profile.features):
        sk = features.get(fp.name)
        if sk is not None and not isinstance(sk, Mapping):
            raise SketchMismatch(f"feature {fp.name!r}: a sketch must be a mapping")
        missing = _as_count(sk.get("missing", 0), fp.name) if sk is not None else 0
        common: dict[str, Any] = {
            "name": fp.name,
            "kind": fp.kind,
            "reference_rows": profile.rows,
            "reference_missing": fp.missing,
            "current_missing": missing,
            "current_rows": 0,
        }
        if fp.kind == "numeric":
            samples = (_profile_sample(profile, position), _sample_column(sample, fp.name))
            made = _live_numeric(fp, sk, common, samples)
        else:
            made = _live_categorical(fp, sk, common)
        present = int(made.current_counts.sum())
        if fp.kind == "numeric" and fp.bins is None and sk is not None:
            present = sum(_as_count(n, fp.name) for n in (sk.get("counts") or {}).values())
        inputs.append(_with_rows(made, present + missing, sk is None))
    extra = sorted(set(features) - {f.name for f in profile.features})
    notes = [f"sketched features without a reference profile: {', '.join(extra)}"] if extra else []
    if not isinstance(rows, int) or rows < 0:
        raise SketchMismatch(f"sketch rows must be an int >= 0, got {rows!r}")
    return inputs, notes


def _with_rows(f: FeatureInput, rows: int, absent: bool) -> FeatureInput:
    notes = (*f.notes, "not in the window's sketch") if absent else f.notes
    return replace(f, current_rows=rows, notes=notes)


def evaluate_window(
    profile: ReferenceProfile,
    sketch: Mapping[str, Any] | _HasToDict,
    *,
    sample: pd.DataFrame | None = None,
    policy: DriftPolicy = DEFAULT_POLICY,
    prediction: FeatureInput | None = None,
) -> DriftResult:
    """Judge a live window: its merged input sketch against the reference profile.

    See ``window_inputs`` for the inputs and their errors; ``prediction`` comes from
    ``output_summary_input`` or ``prediction_input``.
    """
    inputs, notes = window_inputs(profile, sketch, sample=sample)
    doc = _sketch_doc(sketch)
    return evaluate(
        inputs,
        policy,
        rows=int(doc.get("rows", 0)),
        reference_rows=profile.rows,
        prediction=prediction,
        notes=notes,
    )
