"""Drift monitoring: reference profiles of training data and the binning rule they share."""

from __future__ import annotations

from monitors.binning import bin_index, quantile_edges
from monitors.errors import MonitorError, ProfileError
from monitors.profile import compute_profile
from monitors.profile_schema import (
    PROFILE_SCHEMA_VERSION,
    Bins,
    CategoryCount,
    FeatureKind,
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

__all__ = [
    "PROFILE_SCHEMA_VERSION",
    "Bins",
    "CategoryCount",
    "FeatureKind",
    "FeatureProfile",
    "JsonScalar",
    "MonitorError",
    "ProfileError",
    "ProfileParams",
    "ProfileSample",
    "Quantiles",
    "ReferenceProfile",
    "bin_index",
    "compute_profile",
    "profile_from_json",
    "profile_summary",
    "profile_to_json",
    "quantile_edges",
    "sorted_quantiles",
]
