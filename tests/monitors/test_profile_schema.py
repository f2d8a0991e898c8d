from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from monitors import (
    PROFILE_SCHEMA_VERSION,
    Bins,
    ProfileError,
    ReferenceProfile,
    compute_profile,
    profile_from_json,
    profile_summary,
    profile_to_json,
)


def _strict_loads(text: str) -> object:
    def refuse(token: str) -> float:
        raise AssertionError(f"non-strict JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def profile() -> ReferenceProfile:
    x = np.random.default_rng(0).normal(size=200)
    x[::10] = np.nan
    x[5] = np.inf
    frame = pd.DataFrame(
        {
            "x": x,
            "empty": np.full(200, np.nan),
            "city": ["a", "b", None, "c"] * 50,
            "flag": [True, False] * 100,
        }
    )
    return compute_profile(frame, sample_size=50)


def test_json_round_trip(profile: ReferenceProfile) -> None:
    assert profile_from_json(profile_to_json(profile)) == profile


def test_json_is_strict_even_with_nan_and_inf_in_the_data(profile: ReferenceProfile) -> None:
    doc = _strict_loads(profile_to_json(profile))
    assert isinstance(doc, dict)
    assert doc["schema_version"] == PROFILE_SCHEMA_VERSION
    assert all(
        v is None or isinstance(v, bool | int | float | str)
        for row in doc["sample"]["rows"]
        for v in row
    )


def test_newer_schema_version_is_refused(profile: ReferenceProfile) -> None:
    doc = json.loads(profile_to_json(profile))
    doc["schema_version"] = PROFILE_SCHEMA_VERSION + 1
    with pytest.raises(ProfileError, match=r"schema_version 2 .* reads version 1; upgrade"):
        profile_from_json(json.dumps(doc))


@pytest.mark.parametrize("version", [0, "1", None, True])
def test_unknown_schema_version_is_refused(profile: ReferenceProfile, version: object) -> None:
    doc = json.loads(profile_to_json(profile))
    doc["schema_version"] = version
    with pytest.raises(ProfileError, match="reads version 1"):
        profile_from_json(json.dumps(doc))


def test_missing_schema_version_is_refused() -> None:
    with pytest.raises(ProfileError, match="schema_version None"):
        profile_from_json("{}")


@pytest.mark.parametrize("text", ["not json", "[1]", '{"schema_version": NaN}'])
def test_malformed_documents_raise_profile_error(text: str) -> None:
    with pytest.raises(ProfileError):
        profile_from_json(text)


def test_inconsistent_document_raises_one_line_profile_error(profile: ReferenceProfile) -> None:
    doc = json.loads(profile_to_json(profile))
    doc["features"][0]["bins"]["counts"][0] += 1
    with pytest.raises(ProfileError, match="invalid reference profile at features") as info:
        profile_from_json(json.dumps(doc))
    assert "\n" not in str(info.value)


def test_models_are_frozen(profile: ReferenceProfile) -> None:
    with pytest.raises(ValidationError):
        profile.rows = 3


def test_bins_must_be_strictly_increasing() -> None:
    with pytest.raises(ValidationError, match="strictly increasing"):
        Bins(edges=[0.0, 0.0], counts=[1])


def test_non_finite_floats_cannot_enter_a_profile() -> None:
    with pytest.raises(ValidationError):
        Bins(edges=[0.0, float("inf")], counts=[1])


def test_summary(profile: ReferenceProfile) -> None:
    assert profile_summary(profile) == {
        "schema_version": 1,
        "rows": 200,
        "features": 4,
        "numeric": 2,
        "categorical": 2,
        "with_missing": 3,
        "sample_rows": 50,
        "created_with": "turnout-profile/1",
    }
