"""Compute the reference profile of a model version's training data.

Pure: a DataFrame in, a ``ReferenceProfile`` out; the caller reads the file and stores
the JSON. Computed once at registration, so the gateway can bin live inputs and the
drift monitor compare windows without touching the training data again.

Kind rule: integer and float columns are numeric unless named in ``categorical``;
everything else (bool, object, string, category, datetime, ...) is categorical.
Missing means NaN / None / NA / NaT; it is counted in ``missing`` and kept out of
statistics, bins and categories.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import pandas as pd

from monitors.binning import bin_index, reference_edges
from monitors.errors import ProfileError
from monitors.profile_schema import (
    PROFILE_SCHEMA_VERSION,
    Bins,
    CategoryCount,
    FeatureProfile,
    JsonScalar,
    ProfileParams,
    ProfileSample,
    Quantiles,
    ReferenceProfile,
    profile_from_json,
    profile_summary,
    profile_to_json,
)
from monitors.quantiles import sorted_quantiles

# The schema and the binning rule are re-exported because callers think of them as
# "the profile API" (``from monitors.profile import ReferenceProfile, bin_index``).
__all__ = [
    "PROFILE_SCHEMA_VERSION",
    "FeatureProfile",
    "ProfileError",
    "ReferenceProfile",
    "bin_index",
    "compute_profile",
    "profile_from_json",
    "profile_summary",
    "profile_to_json",
]

_QUANTILES = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}
_FLOAT_MAX = float(np.finfo(np.float64).max)


def compute_profile(
    data: pd.DataFrame,
    *,
    n_bins: int = 10,
    top_k: int = 50,
    sample_size: int = 1000,
    seed: int = 0,
    categorical: Collection[str] = (),
) -> ReferenceProfile:
    """Profile every column of ``data``.

    Numeric columns get count / missing / infinite / min / max / mean / std (population,
    ddof=0) and quantiles over their finite values, plus bins (quantile bins, or the
    support grid of a feature with few distinct values: see
    ``monitors.binning.reference_edges``) whose counts, taken with ``bin_index``, sum to
    the non-missing count (``+-inf`` land in the outer bins). Categorical columns get
    the ``top_k`` most frequent ``str(value)`` (ties broken by value) and the count of
    the rest. The sample holds ``min(sample_size, rows)`` rows drawn uniformly without
    replacement with ``numpy.random.default_rng(seed)``, in source order, with
    JSON-safe values (missing and non-finite -> None, other non-JSON types -> str).

    Raises ``ProfileError`` for an empty frame, no columns, duplicate column names,
    unknown names in ``categorical`` or out-of-range arguments.
    """
    names = _check_args(data, n_bins, top_k, sample_size, categorical)
    wanted = set(categorical)
    features: list[FeatureProfile] = []
    for position, name in enumerate(names):
        column = data.iloc[:, position]
        if name not in wanted and _is_numeric(column.dtype):
            features.append(_numeric_feature(name, column, n_bins))
        else:
            features.append(_categorical_feature(name, column, top_k))
    return ReferenceProfile(
        rows=len(data),
        params=ProfileParams(n_bins=n_bins, top_k=top_k, sample_size=sample_size, seed=seed),
        features=features,
        sample=_sample(data, names, sample_size, seed),
    )


def _check_args(
    data: pd.DataFrame, n_bins: int, top_k: int, sample_size: int, categorical: Collection[str]
) -> list[str]:
    if not isinstance(data, pd.DataFrame):
        raise ProfileError(f"expected a pandas DataFrame, got {type(data).__name__}")
    if data.shape[1] == 0:
        raise ProfileError("cannot profile a frame with no columns")
    if data.shape[0] == 0:
        raise ProfileError("cannot profile an empty frame: it has no rows")
    if n_bins < 1:
        raise ProfileError(f"n_bins must be at least 1, got {n_bins}")
    if top_k < 0:
        raise ProfileError(f"top_k must not be negative, got {top_k}")
    if sample_size < 0:
        raise ProfileError(f"sample_size must not be negative, got {sample_size}")
    names = [str(c) for c in data.columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ProfileError(f"column names must be unique, repeated: {', '.join(duplicates)}")
    if isinstance(categorical, str):
        # A bare string is a Collection[str] of its characters: almost surely a mistake.
        raise ProfileError("categorical must be a collection of column names, not a string")
    unknown = sorted(set(categorical) - set(names))
    if unknown:
        raise ProfileError(f"categorical names unknown columns: {', '.join(unknown)}")
    return names


def _is_numeric(dtype: object) -> bool:
    # pandas calls bool numeric; a 0/1 flag is better compared by category frequency.
    if pd.api.types.is_bool_dtype(dtype):
        return False
    return bool(pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype))


def _numeric_feature(name: str, column: pd.Series, n_bins: int) -> FeatureProfile:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    present = values[~np.isnan(values)]
    # One sort serves n_unique, min/max, every quantile and the finite/infinite split.
    ordered = np.sort(present)
    n_unique = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1 if ordered.size else 0
    lo = int(np.searchsorted(ordered, -np.inf, side="right"))
    hi = int(np.searchsorted(ordered, np.inf, side="left"))
    finite = ordered[lo:hi]
    base = {
        "name": name,
        "kind": "numeric",
        "dtype": str(column.dtype),
        "count": int(ordered.size),
        "missing": int(values.size - ordered.size),
        "n_unique": n_unique,
        "infinite": int(ordered.size - finite.size),
    }
    if finite.size == 0:
        return FeatureProfile.model_validate(base)
    edges = reference_edges(
        finite, n_bins, all_finite=finite.size == ordered.size, n_unique=n_unique
    )
    counts = np.bincount(bin_index(edges, ordered), minlength=edges.size - 1)
    qs = sorted_quantiles(finite, list(_QUANTILES.values()))
    mean, std = _mean_std(finite)
    return FeatureProfile.model_validate(
        {
            **base,
            "min": float(finite[0]),
            "max": float(finite[-1]),
            "mean": mean,
            "std": std,
            "quantiles": Quantiles.model_validate(
                dict(zip(_QUANTILES, (float(q) for q in qs), strict=True))
            ),
            "bins": Bins(edges=edges.tolist(), counts=counts.tolist()),
        }
    )


def _mean_std(ordered_finite: npt.NDArray[np.float64]) -> tuple[float, float]:
    x = ordered_finite
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(x))
        std = float(np.std(x))
    if math.isfinite(mean) and math.isfinite(std):
        return mean, std
    # Sums (or squares) overflowed: values near the float64 limit. Scaling to [-1, 1]
    # first cannot overflow; the clamps absorb the last ulp of rounding.
    scale = max(abs(float(x[0])), abs(float(x[-1])))
    y = x / scale
    mean = min(max(float(np.mean(y)) * scale, float(x[0])), float(x[-1]))
    std = min(float(np.std(y)) * scale, _FLOAT_MAX)
    return mean, std


def _categorical_feature(name: str, column: pd.Series, top_k: int) -> FeatureProfile:
    is_missing = column.isna().to_numpy(dtype=bool)
    present = column[~is_missing]
    if present.dtype == object and pd.api.types.infer_dtype(present, skipna=False) != "string":
        # Mixed objects are counted by their text: Python says 1 == 1.0 == True, and
        # lists or dicts are unhashable, but the live side only ever compares text.
        present = present.map(str)
    raw = present.value_counts(dropna=False, sort=False)
    raw = raw[raw.to_numpy() > 0]  # a category dtype lists unobserved categories too
    # Distinct values of one dtype may still share a text (0.0 and -0.0); merge them.
    by_text = pd.Series(raw.to_numpy(dtype=np.int64), index=raw.index.astype(object).map(str))
    merged = by_text.groupby(level=0, sort=True).sum()
    # Stable sort after the sorted groupby: ties in count keep ascending text order,
    # so the top-K cut is deterministic.
    merged = merged.sort_values(ascending=False, kind="stable")
    count = int(present.size)
    top = merged.iloc[:top_k]
    categories = [
        CategoryCount(value=str(v), count=int(c))
        for v, c in zip(top.index, top.to_numpy(), strict=True)
    ]
    return FeatureProfile(
        name=name,
        kind="categorical",
        dtype=str(column.dtype),
        count=count,
        missing=int(is_missing.sum()),
        n_unique=int(merged.size),
        categories=categories,
        other_count=count - sum(c.count for c in categories),
    )


def _sample(data: pd.DataFrame, names: list[str], sample_size: int, seed: int) -> ProfileSample:
    size = min(sample_size, len(data))
    rng = np.random.default_rng(seed)
    # Sorted so the sample reads in source order; the set of rows stays uniform.
    picked = np.sort(rng.choice(len(data), size=size, replace=False))
    part = data.iloc[picked]
    columns = [[_json_scalar(v) for v in part.iloc[:, j].tolist()] for j in range(len(names))]
    rows = [list(row) for row in zip(*columns, strict=True)] if size else []
    return ProfileSample(columns=names, rows=rows)


def _json_scalar(value: object) -> JsonScalar:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)
