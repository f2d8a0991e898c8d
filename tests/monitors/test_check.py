"""monitors.check: the offline check of two tables and the live window adapter."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from monitors.check import (
    check_frames,
    evaluate_window,
    exit_code,
    output_summary_input,
    window_inputs,
)
from monitors.errors import (
    ColumnMismatch,
    DataMismatch,
    EmptyData,
    MonitorError,
    SketchMismatch,
    TypeMismatch,
)
from monitors.policy import evaluate_feature
from monitors.profile import compute_profile


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.5, 0.3, 0.2]),
        }
    )


# --- table errors ---------------------------------------------------------------------


def test_missing_and_extra_columns_are_named() -> None:
    ref, cur = frame(2000, 1), frame(2000, 2)
    with pytest.raises(ColumnMismatch, match="missing from current: income") as info:
        check_frames(ref, cur.drop(columns=["income"]).assign(zip="75001"))
    assert "not in reference: zip" in str(info.value)
    assert isinstance(info.value, MonitorError)


def test_different_types_are_named() -> None:
    ref, cur = frame(2000, 1), frame(2000, 2)
    cur["age"] = cur["age"].astype(str)
    with pytest.raises(TypeMismatch, match=r"age \(float64 in reference, object in current\)"):
        check_frames(ref, cur)


def test_int_and_float_are_both_numeric_and_order_does_not_matter() -> None:
    ref, cur = frame(2000, 1), frame(2000, 2)
    cur["age"] = cur["age"].round().astype(np.int64)
    result = check_frames(ref, cur[["city", "income", "age"]])
    assert [f.name for f in result.features] == ["age", "income", "city"]
    assert result.feature("age").kind == "numeric"


@pytest.mark.parametrize(
    ("ref", "cur", "match"),
    [
        (pd.DataFrame({"a": []}), pd.DataFrame({"a": [1.0]}), "reference table has no rows"),
        (pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": []}), "current table has no rows"),
        (pd.DataFrame(), pd.DataFrame({"a": [1.0]}), "reference table has no columns"),
    ],
)
def test_empty_tables_are_refused(ref: pd.DataFrame, cur: pd.DataFrame, match: str) -> None:
    with pytest.raises(EmptyData, match=match):
        check_frames(ref, cur)


def test_bad_arguments() -> None:
    ref = frame(100, 1)
    with pytest.raises(DataMismatch, match="DataFrame"):
        check_frames(ref, [1, 2, 3])
    with pytest.raises(DataMismatch, match="unknown columns: nope"):
        check_frames(ref, ref, categorical=["nope"])
    with pytest.raises(DataMismatch, match="repeats columns: a"):
        check_frames(pd.DataFrame([[1, 2]], columns=["a", "a"]), ref)


# --- report entries, not errors -------------------------------------------------------


def test_same_data_is_ok_and_exits_zero() -> None:
    result = check_frames(frame(5000, 1), frame(5000, 2))
    assert result.verdict == "OK"
    assert exit_code(result) == 0


def test_a_shift_is_drift_and_exits_two() -> None:
    result = check_frames(frame(5000, 1), frame(5000, 2, shift=5.0))
    assert result.drifted == ("age",)
    assert exit_code(result) == 2
    assert exit_code("WARN") == 1
    assert exit_code("NO_DATA") == 1


def test_constant_column_is_compared_as_equal_or_not() -> None:
    ref = frame(3000, 1).assign(version=3.0)
    same = check_frames(ref, frame(3000, 2).assign(version=3.0)).feature("version")
    assert same.band == "OK"
    assert same.method == "jensenshannon"
    assert any("constant reference" in n for n in same.notes)
    cur = frame(3000, 2).assign(version=3.0)
    cur.loc[:299, "version"] = 4.0
    moved = check_frames(ref, cur).feature("version")
    assert moved.band == "DRIFT"
    assert moved.quality.out_of_range_rate == pytest.approx(0.1)


def test_all_nan_columns_read_no_data_with_quality() -> None:
    ref = frame(3000, 1).assign(blank=np.nan)
    cur = frame(3000, 2).assign(blank=np.nan)
    result = check_frames(ref, cur)
    blank = result.feature("blank")
    assert blank.band == "NO_DATA"
    assert "the reference has no finite value: data quality only" in blank.notes
    assert blank.quality.missing_rate == 1.0
    assert result.verdict == "OK"
    # A column that empties in the window: object dtype of Nones is not a type clash.
    cur2 = frame(3000, 2).assign(blank=np.nan)
    cur2["age"] = None
    gone = check_frames(ref, cur2)
    assert gone.feature("age").band == "NO_DATA"
    assert gone.feature("age").quality.band == "DRIFT"
    assert gone.verdict == "WARN"


def test_unseen_categories_raise_quality_and_drift() -> None:
    ref, cur = frame(5000, 1), frame(5000, 2)
    cur.loc[:999, "city"] = "marseille"
    city = check_frames(ref, cur).feature("city")
    assert city.quality.unseen_rate == pytest.approx(0.2)
    assert city.quality.band == "DRIFT"
    assert city.band == "DRIFT"


def test_more_categories_than_top_k_share_the_other_cell() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"code": rng.integers(0, 200, 5000).astype(str)})
    cur = pd.DataFrame({"code": rng.integers(0, 200, 5000).astype(str)})
    result = check_frames(ref, cur, top_k=20)
    code = result.feature("code")
    assert code.method == "jensenshannon"
    # Known limitation (docs/drift.md): the top 20 of 200 equally likely codes are the
    # ones the reference over-counted, so new data reads a little lower on them; that
    # may show as WARN, never as DRIFT.
    assert code.band != "DRIFT"
    assert code.quality.unseen_rate == 0.0


def test_missing_values_are_counted_apart() -> None:
    ref, cur = frame(5000, 1), frame(5000, 2)
    cur.loc[:1499, "income"] = np.nan
    income = check_frames(ref, cur).feature("income")
    assert income.quality.missing_rate == pytest.approx(0.3)
    assert income.quality.band == "DRIFT"
    assert income.current_count == 3500
    assert income.band == "OK"


def test_bool_columns_are_categorical_and_forced_categoricals_work() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"flag": rng.random(3000) < 0.3, "code": rng.integers(0, 3, 3000)})
    cur = pd.DataFrame({"flag": rng.random(3000) < 0.6, "code": rng.integers(0, 3, 3000)})
    result = check_frames(ref, cur, categorical=["code"])
    assert result.feature("flag").kind == "categorical"
    assert result.feature("flag").band == "DRIFT"
    assert result.feature("code").kind == "categorical"


# --- live window: profile + sketch ----------------------------------------------------


def _sketch(profile_frame: pd.DataFrame, window: pd.DataFrame, n_bins: int = 10) -> dict[str, Any]:
    """The stored sketch of a window, made by the gateway's own sketcher."""
    from router.telemetry import InputSketcher

    profile = compute_profile(profile_frame, n_bins=n_bins)
    names = [f.name for f in profile.features]
    sketcher = InputSketcher.from_profile(profile, names)
    sketcher.observe_rows(window[names])
    return sketcher.to_dict()


def test_window_verdict_agrees_with_the_offline_check() -> None:
    ref, cur = frame(5000, 1), frame(5000, 2, shift=2.0)
    profile = compute_profile(ref)
    live = evaluate_window(profile, _sketch(ref, cur))
    offline = check_frames(ref, cur)
    assert live.verdict == offline.verdict == "DRIFT"
    assert live.drifted == offline.drifted == ("age",)
    for name in ("age", "income", "city"):
        assert live.feature(name).statistic == pytest.approx(
            offline.feature(name).statistic, rel=1e-9
        )


def test_window_errors_and_gaps() -> None:
    ref = frame(3000, 1)
    profile = compute_profile(ref)
    doc = _sketch(ref, frame(3000, 2))
    with pytest.raises(SketchMismatch, match="version"):
        evaluate_window(profile, {**doc, "v": 2})
    bad = {**doc, "features": {**doc["features"], "age": {"kind": "numeric", "counts": [1, 2]}}}
    with pytest.raises(SketchMismatch, match="the sketch has 2 bins"):
        evaluate_window(profile, bad)
    partial = {**doc, "features": {"city": doc["features"]["city"], "new": doc["features"]["age"]}}
    result = evaluate_window(profile, partial)
    assert result.feature("age").band == "NO_DATA"
    assert "not in the window's sketch" in result.feature("age").notes
    assert result.notes == ("sketched features without a reference profile: new",)
    empty = evaluate_window(profile, {})
    assert empty.verdict == "NO_DATA"


def test_window_ks_uses_the_raw_sample_when_given() -> None:
    ref, cur = frame(800, 1), frame(800, 2, shift=4.0)
    profile = compute_profile(ref)
    inputs, _ = window_inputs(profile, _sketch(ref, cur), sample=cur)
    age = next(f for f in inputs if f.name == "age")
    assert age.reference_sample is not None and age.current_sample is not None
    result = evaluate_window(profile, _sketch(ref, cur), sample=cur)
    assert result.feature("age").method == "ks"
    assert "KS on the raw samples" in result.feature("age").notes
    assert result.feature("age").band == "DRIFT"


class _Grid:
    def bins(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        out: npt.NDArray[np.int64] = np.floor(np.asarray(values) * 10).astype(np.int64)
        return out


def test_output_summary_labels_and_values() -> None:
    rng = np.random.default_rng(6)
    ref_labels = rng.choice(["yes", "no"], 2000)
    labels = evaluate_feature(output_summary_input(ref_labels, {"labels": {"yes": 900, "no": 100}}))
    assert labels.band == "DRIFT"
    scores = rng.uniform(0, 1, 2000)
    ids, counts = np.unique(_Grid().bins(scores), return_counts=True)
    values = {str(k): int(v) for k, v in zip(ids, counts, strict=True)}
    same = evaluate_feature(output_summary_input(scores, {"values": values}, grid=_Grid()))
    assert same.band == "OK"
    ungridded = evaluate_feature(output_summary_input(scores, {"values": values}))
    assert ungridded.band == "NO_DATA"
