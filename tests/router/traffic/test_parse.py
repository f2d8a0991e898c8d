from __future__ import annotations

import pytest

from router.traffic import (
    MatchRule,
    PolicyError,
    Route,
    RoutingPolicy,
    Shadow,
    parse_match,
    parse_shadow,
    parse_weights,
)

# --- weights ------------------------------------------------------------------------------


def test_parse_weights_keeps_the_order_given() -> None:
    assert parse_weights(["1=90", "2=10"]) == (Route("1", 90), Route("2", 10))


def test_parse_weights_accepts_a_v_prefix_on_numbers() -> None:
    assert parse_weights(["v1=90", "V2=10"]) == (Route("1", 90), Route("2", 10))


def test_parse_weights_keeps_non_numeric_versions() -> None:
    assert parse_weights(["blue=100", "v2beta=0"]) == (Route("blue", 100), Route("v2beta", 0))


def test_parse_weights_result_builds_a_policy() -> None:
    assert RoutingPolicy("m", parse_weights(["1=0", "2=100"])).primary_versions() == {"2"}


@pytest.mark.parametrize("item", ["1", "1=", "=90", "1=ninety", "1=-5", "1=9.5", "1=+9", "1 2=9"])
def test_parse_weights_rejects_malformed_items(item: str) -> None:
    with pytest.raises(PolicyError, match="expected VERSION=WEIGHT") as caught:
        parse_weights(["2=10", item])
    assert str(caught.value).startswith(repr(item))
    assert "\n" not in str(caught.value)


def test_parse_weights_rejects_weights_over_100() -> None:
    with pytest.raises(PolicyError, match=r"'1=150': route.weight: must be an integer 0..100"):
        parse_weights(["1=150"])


def test_parse_weights_rejects_a_bad_version() -> None:
    with pytest.raises(PolicyError, match="route.version"):
        parse_weights(["a:b=100"])


def test_parse_weights_needs_at_least_one_item() -> None:
    with pytest.raises(PolicyError, match="no weights given; expected VERSION=WEIGHT"):
        parse_weights([])


# --- shadow -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["3:20", "v3:20", "3:20%", "3:20.0"])
def test_parse_shadow(text: str) -> None:
    assert parse_shadow(text) == Shadow("3", 20.0)


def test_parse_shadow_fraction() -> None:
    assert parse_shadow("3:0.5") == Shadow("3", 0.5)


@pytest.mark.parametrize("text", ["3", "3=20", ":20", "3:", "3:x", "3:-1", "3:20:1"])
def test_parse_shadow_rejects_malformed_text(text: str) -> None:
    with pytest.raises(PolicyError, match="expected VERSION:PERCENT") as caught:
        parse_shadow(text)
    assert str(caught.value).startswith(repr(text))


@pytest.mark.parametrize("text", ["3:0", "3:100.5"])
def test_parse_shadow_rejects_percent_out_of_range(text: str) -> None:
    with pytest.raises(PolicyError, match=r"shadow.percent: must be a number in \(0, 100\]"):
        parse_shadow(text)


# --- match --------------------------------------------------------------------------------


def test_parse_match_exact_header() -> None:
    assert parse_match("header:x-beta=yes->3") == MatchRule("header", "x-beta", "exact", "yes", "3")


def test_parse_match_prefix() -> None:
    assert parse_match("header:x-beta^=be->3") == MatchRule("header", "x-beta", "prefix", "be", "3")


def test_parse_match_regex_cookie() -> None:
    assert parse_match("cookie:group~=^beta.*->3") == MatchRule(
        "cookie", "group", "regex", "^beta.*", "3"
    )


def test_parse_match_regex_may_contain_arrows_and_equals() -> None:
    assert parse_match("header:x-q~=a->b=c->v4") == MatchRule(
        "header", "x-q", "regex", "a->b=c", "4"
    )


def test_parse_match_lower_cases_header_names() -> None:
    assert parse_match("header:X-Beta=yes->3").name == "x-beta"


def test_parse_match_empty_value_is_exact_empty() -> None:
    assert parse_match("header:x-beta=->3") == MatchRule("header", "x-beta", "exact", "", "3")


@pytest.mark.parametrize(
    "text",
    [
        "header:x-beta=yes",  # no target
        "x-beta=yes->3",  # no source
        "query:x-beta=yes->3",  # unknown source
        "header:x-beta->3",  # no operator
        "header:=yes->3",  # no name
        "header:^=yes->3",  # no name before the prefix operator
        "header:x-beta=yes->",  # empty version
    ],
)
def test_parse_match_rejects_malformed_text(text: str) -> None:
    with pytest.raises(PolicyError, match="expected SOURCE:NAME=VALUE->VERSION") as caught:
        parse_match(text)
    assert str(caught.value).startswith(repr(text))
    assert "\n" not in str(caught.value)


def test_parse_match_rejects_a_bad_regex() -> None:
    with pytest.raises(PolicyError, match=r"match.value: invalid regex '\(beta'"):
        parse_match("cookie:group~=(beta->3")
