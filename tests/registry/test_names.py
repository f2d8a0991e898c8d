"""Model and alias names: turnout accepts a subset of what MLflow accepts."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from registry.names import CHALLENGER, CHAMPION, PREVIOUS, is_valid_alias, is_valid_model_name

VERSION_LIKE = re.compile(r"[vV]\d+")

# Names that are neither ASCII-clean nor too long, plus near misses of the rules.
_TEXT = st.text(
    alphabet=st.sampled_from("abcXYZvV019_-. /:\n\t\u00e9\u0661"), min_size=0, max_size=12
)


@pytest.mark.parametrize(
    "name",
    [
        "fraud",
        "Fraud",
        "fraud-detector",
        "fraud_detector",
        "fraud.v2",
        "2024-model",
        "a",
        "a" * 255,
    ],
)
def test_accepted_model_names(name: str) -> None:
    assert is_valid_model_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "my model",
        " fraud",
        "fraud ",
        "team/fraud",
        "fraud/",
        "models:fraud",
        "-fraud",
        ".fraud",
        "_fraud",
        "fraud\n",
        "fra\tud",
        "caf\u00e9",
        "a" * 256,
    ],
)
def test_rejected_model_names(name: str) -> None:
    assert not is_valid_model_name(name)


@pytest.mark.parametrize(
    "alias",
    [
        CHAMPION,
        CHALLENGER,
        PREVIOUS,
        "staging",
        "blue-green",
        "_shadow",
        "v",
        "v1a",
        "ver2",
        "latest2",
        "my_latest",
        "a" * 255,
    ],
)
def test_accepted_aliases(alias: str) -> None:
    assert is_valid_alias(alias)


@pytest.mark.parametrize(
    "alias",
    [
        "",
        "latest",
        "Latest",
        "LATEST",
        "v1",
        "V12",
        "v007",
        "3",
        "7up",
        "-canary",
        "my alias",
        "team/champion",
        "champion.v2",
        "champion:1",
        "champion\n",
        "caf\u00e9",
        "a" * 256,
    ],
)
def test_rejected_aliases(alias: str) -> None:
    assert not is_valid_alias(alias)


# Near misses: a valid core with a suffix that `$` (unlike \Z or fullmatch) lets through.
_NEAR_MISS = st.builds(
    str.__add__,
    st.sampled_from(["champion", "fraud", "v1", "latest", "V12"]),
    st.sampled_from(["", "\n", " ", "/x", "1"]),
)
_NAMES = _NEAR_MISS | _TEXT | st.text(max_size=20)


@given(_NAMES)
@example("latest\n")
@example("v1\n")
def test_accepted_alias_is_never_reserved_by_mlflow(alias: str) -> None:
    if is_valid_alias(alias):
        assert not VERSION_LIKE.fullmatch(alias)
        assert alias.lower() != "latest"


@given(_NAMES)
@example("champion\n")
@example("fraud\n")
def test_accepted_names_are_plain_ascii_words(text: str) -> None:
    if is_valid_alias(text):
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", text)
    if is_valid_model_name(text):
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,255}", text)
        assert "/" not in text and ":" not in text


Validator = Callable[[str], None]


@pytest.fixture(scope="module")
def mlflow_validators() -> tuple[Validator, Validator, Validator]:
    """MLflow's own validators (private, so a rename there shows up here first).

    Imported once per module: importing mlflow takes seconds, more than a Hypothesis
    example's deadline.
    """
    from mlflow.utils.validation import (
        _validate_model_alias_name,
        _validate_model_alias_name_reserved,
        _validate_model_name,
    )

    return _validate_model_name, _validate_model_alias_name, _validate_model_alias_name_reserved


@given(text=_NAMES)
def test_mlflow_accepts_whatever_turnout_accepts(
    mlflow_validators: tuple[Validator, Validator, Validator], text: str
) -> None:
    model_name, alias_chars, alias_reserved = mlflow_validators
    if is_valid_model_name(text):
        model_name(text)
    if is_valid_alias(text):
        alias_chars(text)
        alias_reserved(text)
