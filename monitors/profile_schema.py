"""The versioned JSON schema of a reference profile and its strict-JSON codec.

A profile is stored once per model version and read by the gateway and the drift
monitor for as long as that version lives, so the document carries
``schema_version`` and a reader refuses versions it does not know rather than
misreading them. Any change to a field's meaning bumps ``PROFILE_SCHEMA_VERSION``.
"""

from __future__ import annotations

import json
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitors.errors import ProfileError

__all__ = [
    "PROFILE_SCHEMA_VERSION",
    "Bins",
    "CategoryCount",
    "FeatureKind",
    "FeatureProfile",
    "JsonScalar",
    "ProfileParams",
    "ProfileSample",
    "Quantiles",
    "ReferenceProfile",
    "profile_from_json",
    "profile_summary",
    "profile_to_json",
]

PROFILE_SCHEMA_VERSION: Final = 1

FeatureKind = Literal["numeric", "categorical"]
# Strict JSON has no NaN or Infinity; rejecting them at validation keeps every
# profile that exists in memory serialisable.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
JsonScalar = bool | int | FiniteFloat | str | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Quantiles(_Frozen):
    """Reference quantiles of the finite values (numpy's "linear" method)."""

    p01: FiniteFloat
    p05: FiniteFloat
    p25: FiniteFloat
    p50: FiniteFloat
    p75: FiniteFloat
    p95: FiniteFloat
    p99: FiniteFloat


class Bins(_Frozen):
    """Bins of a numeric feature; binned with ``monitors.binning.bin_index``.

    ``edges`` is strictly increasing with ``len(counts) + 1`` entries. Two layouts
    (``monitors.binning.reference_edges``): quantile bins, at most ``n_bins`` of them
    (edges collapse where values repeat, and a value holding a bin's worth of mass gets
    a bin of its own, ``monitors.binning.quantile_edges``); or, for a feature with few
    distinct values, its support grid: one bin ``[v, nextafter(v))`` per value, the
    gaps between values and one gap's width beyond the range cut into equal bins, at
    most ``monitors.binning.MAX_GRID_CELLS`` bins (``monitors.binning.support_edges``).
    Bin ``i`` holds ``edges[i] <= v < edges[i + 1]``, the last bin is closed on the
    right, and live values below ``edges[0]`` / above ``edges[-1]`` count in the first /
    last bin. The layout changes no field's meaning: readers bin on whatever edges they
    find.
    """

    edges: list[FiniteFloat]
    counts: list[Count]

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        if len(self.counts) < 1 or len(self.edges) != len(self.counts) + 1:
            raise ValueError(
                f"bins need len(edges) == len(counts) + 1 >= 2, got "
                f"{len(self.edges)} edges and {len(self.counts)} counts"
            )
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("bin edges must be strictly increasing")
        return self


class CategoryCount(_Frozen):
    """One of the top categories: ``str(value)`` of the source value and its count."""

    value: str
    count: Count


class FeatureProfile(_Frozen):
    """Profile of one column.

    ``count`` is the number of non-missing values and ``count + missing`` the number of
    rows. Numeric features fill ``infinite`` .. ``bins`` and leave ``categories`` and
    ``other_count`` as None; categorical features the reverse. Statistics and quantiles
    are over the finite values; ``+-inf`` values are counted in ``count``,
    ``infinite`` and the outer bins. They are None when there is no finite value.
    """

    name: str
    kind: FeatureKind
    dtype: str
    count: Count
    missing: Count
    n_unique: Count
    # numeric
    infinite: Count | None = None
    min: FiniteFloat | None = None
    max: FiniteFloat | None = None
    mean: FiniteFloat | None = None
    std: FiniteFloat | None = None
    quantiles: Quantiles | None = None
    bins: Bins | None = None
    # categorical
    categories: list[CategoryCount] | None = None
    other_count: Count | None = None

    @model_validator(mode="after")
    def _check_kind(self) -> Self:
        numeric_fields = (self.infinite, self.min, self.max, self.mean, self.std)
        numeric_set = any(f is not None for f in numeric_fields) or (
            self.quantiles is not None or self.bins is not None
        )
        if self.kind == "numeric":
            if self.categories is not None or self.other_count is not None:
                raise ValueError(f"numeric feature {self.name!r} has category fields")
            if self.infinite is None:
                raise ValueError(f"numeric feature {self.name!r} lacks 'infinite'")
            if self.infinite > self.count:
                raise ValueError(f"feature {self.name!r}: infinite > count")
            if self.bins is not None and sum(self.bins.counts) != self.count:
                raise ValueError(
                    f"feature {self.name!r}: bin counts sum to {sum(self.bins.counts)}, "
                    f"count is {self.count}"
                )
        else:
            if numeric_set:
                raise ValueError(f"categorical feature {self.name!r} has numeric fields")
            if self.categories is None or self.other_count is None:
                raise ValueError(f"categorical feature {self.name!r} lacks categories/other_count")
            total = sum(c.count for c in self.categories) + self.other_count
            if total != self.count:
                raise ValueError(
                    f"feature {self.name!r}: categories + other_count = {total}, "
                    f"count is {self.count}"
                )
        return self


class ProfileSample(_Frozen):
    """A uniform sample of reference rows (source order), JSON-safe values."""

    columns: list[str]
    rows: list[list[JsonScalar]]

    @model_validator(mode="after")
    def _check_width(self) -> Self:
        width = len(self.columns)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"sample row {i} has {len(row)} values, expected {width}")
        return self


class ProfileParams(_Frozen):
    """The arguments the profile was computed with, so it can be reproduced."""

    n_bins: int
    top_k: int
    sample_size: int
    seed: int


class ReferenceProfile(_Frozen):
    """Reference profile of a model version's training data."""

    schema_version: Literal[1] = PROFILE_SCHEMA_VERSION
    created_with: str = f"turnout-profile/{PROFILE_SCHEMA_VERSION}"
    rows: Count
    params: ProfileParams
    features: list[FeatureProfile]
    sample: ProfileSample

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        for f in self.features:
            if f.count + f.missing != self.rows:
                raise ValueError(
                    f"feature {f.name!r}: count + missing = {f.count + f.missing}, "
                    f"rows is {self.rows}"
                )
        if self.sample.columns != names:
            raise ValueError("sample columns must be the feature names, in order")
        return self

    def feature(self, name: str) -> FeatureProfile:
        """The profile of feature ``name``; ``KeyError`` if there is none."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


def profile_to_json(profile: ReferenceProfile) -> str:
    """Serialise to strict JSON (no NaN / Infinity; compact, field order fixed)."""
    return json.dumps(profile.model_dump(mode="json"), allow_nan=False, separators=(",", ":"))


def _reject_constant(token: str) -> float:
    raise ProfileError(f"reference profile is not strict JSON: found {token}")


def profile_from_json(text: str | bytes) -> ReferenceProfile:
    """Parse and validate a profile document; ``ProfileError`` on any problem.

    The schema version is checked before the body so that a newer document fails with
    "upgrade turnout" instead of a list of unknown fields.
    """
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"reference profile is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ProfileError("reference profile must be a JSON object")
    found = doc.get("schema_version")
    if found != PROFILE_SCHEMA_VERSION or isinstance(found, bool):
        newer = type(found) is int and found > PROFILE_SCHEMA_VERSION
        hint = "; upgrade turnout to read it" if newer else ""
        raise ProfileError(
            f"reference profile schema_version {found!r} is not supported: this build "
            f"reads version {PROFILE_SCHEMA_VERSION}{hint}"
        )
    try:
        return ReferenceProfile.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ProfileError(f"invalid reference profile at {where}: {first['msg']}{more}") from exc


def profile_summary(profile: ReferenceProfile) -> dict[str, int | str]:
    """A short human summary for ``turnout models show``."""
    kinds = [f.kind for f in profile.features]
    return {
        "schema_version": profile.schema_version,
        "rows": profile.rows,
        "features": len(kinds),
        "numeric": kinds.count("numeric"),
        "categorical": kinds.count("categorical"),
        "with_missing": sum(1 for f in profile.features if f.missing > 0),
        "sample_rows": len(profile.sample.rows),
        "created_with": profile.created_with,
    }
