from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitors import ReferenceProfile, bin_index, compute_profile
from router.telemetry import (
    BATCH_MIN,
    OTHER,
    QUEUE_ROWS,
    RAW_GRID,
    InputSketch,
    InputSketcher,
    MergeMismatch,
    SchemaVersionError,
)


def _numeric_profile(edges: list[float], name: str = "x") -> ReferenceProfile:
    counts = [0] * (len(edges) - 1)
    counts[0] = 1
    return ReferenceProfile.model_validate(
        {
            "rows": 1,
            "params": {"n_bins": len(counts), "top_k": 5, "sample_size": 0, "seed": 0},
            "features": [
                {
                    "name": name,
                    "kind": "numeric",
                    "dtype": "float64",
                    "count": 1,
                    "missing": 0,
                    "n_unique": 1,
                    "infinite": 0,
                    "bins": {"edges": edges, "counts": counts},
                }
            ],
            "sample": {"columns": [name], "rows": []},
        }
    )


@pytest.fixture(scope="module")
def mixed_profile() -> ReferenceProfile:
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3.0, 1.0, n),
            "age": rng.integers(18, 90, n),
            "country": rng.choice(
                ["de", "fr", "it", "es", "nl", "pl"], n, p=[0.4, 0.3, 0.1, 0.1, 0.05, 0.05]
            ),
            "flag": rng.integers(0, 2, n),
        }
    )
    return compute_profile(frame, n_bins=10, top_k=3, categorical=["flag"])


_edges = st.lists(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    min_size=2,
    max_size=12,
    unique=True,
).map(sorted)


@given(_edges, st.data())
def test_single_row_binning_equals_monitors_bin_index(
    edges: list[float], data: st.DataObject
) -> None:
    value = data.draw(
        st.one_of(
            st.sampled_from(edges),
            st.sampled_from(edges).map(lambda e: math.nextafter(e, math.inf)),
            st.sampled_from(edges).map(lambda e: math.nextafter(e, -math.inf)),
            st.floats(allow_nan=False),
        )
    )
    sketcher = InputSketcher.from_profile(_numeric_profile(edges), ["x"])
    sketcher.observe_row([value])
    feature = sketcher.sketch().features["x"]
    expected = int(bin_index(edges, [value])[0])
    assert feature.bins == [1 if i == expected else 0 for i in range(len(edges) - 1)]
    assert feature.below == (1 if value < edges[0] else 0)
    assert feature.above == (1 if value > edges[-1] else 0)
    assert feature.missing == 0


def test_profile_decides_each_feature_kind(mixed_profile: ReferenceProfile) -> None:
    sketcher = InputSketcher.from_profile(mixed_profile, ["age", "country", "unknown", "flag"])
    assert sketcher.kinds == {
        "age": "numeric",
        "country": "categorical",
        "unknown": "raw",
        "flag": "categorical",
    }
    assert InputSketcher.from_profile(None, ["a", "b"]).kinds == {"a": "raw", "b": "raw"}


def test_numeric_feature_without_finite_reference_values_is_raw() -> None:
    profile = compute_profile(pd.DataFrame({"x": [np.nan, np.nan]}))
    assert InputSketcher.from_profile(profile, ["x"]).kinds == {"x": "raw"}


def test_duplicate_feature_names_are_refused() -> None:
    with pytest.raises(ValueError):
        InputSketcher.from_profile(None, ["a", "a"])


def test_categorical_counts_top_k_other_and_missing(mixed_profile: ReferenceProfile) -> None:
    top = [c.value for c in (mixed_profile.feature("country").categories or [])]
    assert len(top) == 3 and "xx" not in top and "nl" not in top
    sketcher = InputSketcher.from_profile(mixed_profile, ["country"])
    for v in [top[0], top[0], top[1], "xx", "nl", None, math.nan, 7]:
        sketcher.observe_row([v])
    feature = sketcher.sketch().features["country"]
    assert feature.kind == "categorical"
    assert feature.counts == {top[0]: 2, top[1]: 1, OTHER: 3}
    assert feature.missing == 2


def test_categorical_values_are_compared_as_text(mixed_profile: ReferenceProfile) -> None:
    # "flag" was profiled from ints 0/1: live 1 and "1" are the same category.
    sketcher = InputSketcher.from_profile(mixed_profile, ["flag"])
    for v in [1, "1", 0, True]:
        sketcher.observe_row([v])
    counts = sketcher.sketch().features["flag"].counts
    assert counts == {"1": 2, "0": 1, OTHER: 1}  # str(True) == "True" is not a category


def test_numeric_missing_and_non_numbers(mixed_profile: ReferenceProfile) -> None:
    sketcher = InputSketcher.from_profile(mixed_profile, ["age"])
    for v in [None, math.nan, "abc", b"1", 30, "30", np.float32(30.0)]:
        sketcher.observe_row([v])
    feature = sketcher.sketch().features["age"]
    assert feature.missing == 4
    assert sum(feature.bins) == 3


def test_row_of_wrong_width_is_skipped(mixed_profile: ReferenceProfile) -> None:
    sketcher = InputSketcher.from_profile(mixed_profile, ["age", "country"])
    sketcher.observe_row([30])
    sketcher.observe_row([30, "de", 1])
    sketcher.observe_row([30, "de"])
    assert (sketcher.rows, sketcher.skipped) == (1, 2)


def _rows(n: int, seed: int) -> list[list[Any]]:
    rng = np.random.default_rng(seed)
    rows: list[list[Any]] = []
    for i in range(n):
        amount: Any = float(rng.lognormal(3.0, 1.5))
        if i % 11 == 0:
            amount = None
        elif i % 13 == 0:
            amount = math.nan
        elif i % 17 == 0:
            amount = math.inf
        rows.append(
            [
                amount,
                int(rng.integers(0, 120)),
                str(rng.choice(["de", "fr", "it", "xx"])) if i % 7 else None,
                float(rng.normal(0, 1e4)) if i % 5 else -0.0,
                int(rng.integers(0, 2)),
            ]
        )
    return rows


NAMES = ["amount", "age", "country", "raw", "flag"]


@pytest.mark.parametrize("as_array", [False, True])
def test_batch_path_equals_row_by_row(mixed_profile: ReferenceProfile, as_array: bool) -> None:
    rows = _rows(500, seed=1)
    one = InputSketcher.from_profile(mixed_profile, NAMES)
    for r in rows:
        one.observe_row(r)
    many = one.fresh()
    batch: Any = np.array(rows, dtype=object) if as_array else rows
    many.observe_rows(batch)
    assert many.to_dict() == one.to_dict()
    assert many.rows == 500


def test_numeric_array_batch_equals_row_by_row() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    profile = compute_profile(frame)
    x = rng.normal(scale=2.0, size=(BATCH_MIN * 4, 4))
    x[3, 0] = np.nan
    x[5, 3] = np.inf
    one = InputSketcher.from_profile(profile, ["a", "b", "c", "d"])
    for r in x.tolist():
        one.observe_row(r)
    many = one.fresh()
    many.observe_rows(x)
    assert many.to_dict() == one.to_dict()
    small = one.fresh()
    small.observe_rows(x[: BATCH_MIN - 1])  # below the batch size: the row loop
    assert small.rows == BATCH_MIN - 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_queued_small_float_arrays_equal_row_by_row(
    mixed_profile: ReferenceProfile, dtype: type
) -> None:
    # Every kind of feature (numeric, categorical, raw) fed one-row float arrays, as the
    # gateway does: some are binned when the queue fills, the rest when read.
    rng = np.random.default_rng(9)
    x = rng.normal(scale=50.0, size=(QUEUE_ROWS + 37, 5)).astype(dtype)
    x[:, 4] = np.round(np.abs(x[:, 4])) % 3
    x[3, 0] = np.nan
    x[5, 3] = np.inf
    x[7, 2] = -0.0
    one = InputSketcher.from_profile(mixed_profile, NAMES)
    for r in x.tolist():
        one.observe_row(r)
    queued = one.fresh()
    for i in range(len(x)):
        queued.observe_rows(x[i : i + 1])
    queued.observe_rows(np.zeros((1, 4), dtype=dtype))  # wrong width: skipped at once
    assert (queued.rows, queued.skipped) == (len(x), 1)
    one.skipped += 1
    assert queued.to_dict() == one.to_dict()


def test_merge_bins_queued_rows_of_both_sides(mixed_profile: ReferenceProfile) -> None:
    x = np.random.default_rng(4).normal(size=(6, 5))
    a = InputSketcher.from_profile(mixed_profile, NAMES)
    b = a.fresh()
    for i in range(3):
        a.observe_rows(x[i : i + 1])
        b.observe_rows(x[i + 3 : i + 4])
    a.merge(b)
    whole = a.fresh()
    for r in x.tolist():
        whole.observe_row(r)
    assert a.to_dict() == whole.to_dict()


def test_dataframe_batch_is_accepted(mixed_profile: ReferenceProfile) -> None:
    rows = _rows(40, seed=2)
    frame = pd.DataFrame(rows, columns=NAMES)
    one = InputSketcher.from_profile(mixed_profile, NAMES)
    one.observe_rows(frame)
    assert one.rows == 40
    assert one.sketch().features["amount"].total == 40


def test_raw_grid_sketches_merge_exactly_across_processes() -> None:
    rng = np.random.default_rng(9)
    values = np.concatenate(
        [rng.normal(0, 1, 500), rng.lognormal(5, 3, 500), -rng.lognormal(1, 2, 200)]
    )
    rows = [[float(v)] for v in values]
    a = InputSketcher.from_profile(None, ["x"])
    b = InputSketcher.from_profile(None, ["x"])
    both = InputSketcher.from_profile(None, ["x"])
    for i, r in enumerate(rows):
        (a if i % 3 else b).observe_row(r)
        both.observe_row(r)
    merged = InputSketch.from_dict(a.to_dict())
    merged.merge(InputSketch.from_dict(b.to_dict()))
    assert merged.to_dict() == both.to_dict()
    # and the sketchers merge directly too
    a.merge(b)
    assert a.to_dict() == both.to_dict()


def test_raw_bins_follow_the_documented_grid() -> None:
    sketcher = InputSketcher.from_profile(None, ["x"])
    for v in [0.0, -0.0, 0.5, -0.5, 1e20, -math.inf, 99.0]:
        sketcher.observe_row([v])
    bins = sketcher.sketch().features["x"].raw_bins()
    assert bins == {
        0: 2,
        RAW_GRID.bin(0.5): 1,
        -1 - RAW_GRID.bin(0.5): 1,
        RAW_GRID.top: 1,
        -RAW_GRID.top - 1: 1,
        RAW_GRID.bin(99.0): 1,
    }
    lo, hi = RAW_GRID.bounds(RAW_GRID.bin(99.0))
    assert lo <= 99.0 < hi
    assert math.log10(1 + hi) - math.log10(1 + lo) == pytest.approx(1 / 20, rel=1e-4)


def test_dict_shape_and_round_trip(mixed_profile: ReferenceProfile) -> None:
    sketcher = InputSketcher.from_profile(mixed_profile, NAMES)
    sketcher.observe_rows(_rows(100, seed=3))
    doc = sketcher.to_dict()
    assert doc["v"] == 1 and doc["rows"] == 100 and doc["skipped"] == 0
    assert list(doc["features"]) == NAMES
    amount = doc["features"]["amount"]
    assert set(amount) == {"kind", "counts", "missing", "below", "above"}
    assert amount["kind"] == "numeric" and isinstance(amount["counts"], list)
    assert set(doc["features"]["country"]) == {"kind", "counts", "missing"}
    assert doc["features"]["raw"]["kind"] == "raw"
    assert all(isinstance(k, str) for k in doc["features"]["raw"]["counts"])
    assert InputSketch.from_dict(doc).to_dict() == doc


def test_merge_refuses_other_layouts(mixed_profile: ReferenceProfile) -> None:
    a = InputSketcher.from_profile(mixed_profile, ["age"])
    b = InputSketcher.from_profile(None, ["age"])
    a.observe_row([30])
    b.observe_row([30])
    sa, sb = InputSketch.from_dict(a.to_dict()), InputSketch.from_dict(b.to_dict())
    with pytest.raises(MergeMismatch):
        sa.merge(sb)
    with pytest.raises(MergeMismatch):
        a.merge(b)
    c = InputSketch.from_dict(_numeric_profile_sketch([0.0, 1.0, 2.0]))
    d = InputSketch.from_dict(_numeric_profile_sketch([0.0, 1.0]))
    with pytest.raises(MergeMismatch):
        c.merge(d)


def _numeric_profile_sketch(edges: list[float]) -> dict[str, Any]:
    s = InputSketcher.from_profile(_numeric_profile(edges), ["x"])
    s.observe_row([0.5])
    return s.to_dict()


def test_from_dict_refuses_unknown_versions_and_shapes() -> None:
    assert InputSketch.from_dict({}) == InputSketch()
    with pytest.raises(SchemaVersionError):
        InputSketch.from_dict({"v": 9, "features": {}})
    with pytest.raises(SchemaVersionError):
        InputSketch.from_dict({"v": 1, "features": {"x": {"kind": "weird", "counts": []}}})
    with pytest.raises(SchemaVersionError):
        InputSketch.from_dict({"v": 1, "features": {"x": {"kind": "raw", "counts": {"a": 1}}}})
    with pytest.raises(SchemaVersionError):
        InputSketch.from_dict({"v": 1, "features": {"x": {"kind": "numeric", "counts": [-1]}}})


def test_fresh_copies_share_bins_but_not_counts(mixed_profile: ReferenceProfile) -> None:
    a = InputSketcher.from_profile(mixed_profile, NAMES)
    a.observe_rows(_rows(20, seed=4))
    b = a.fresh()
    assert b.rows == 0 and b.kinds == a.kinds
    assert all(f.total == 0 for f in b.sketch().features.values())
