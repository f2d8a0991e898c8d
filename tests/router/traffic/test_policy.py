from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.traffic import (
    MatchRule,
    PolicyError,
    Route,
    RoutingPolicy,
    Shadow,
    StickyKey,
    single,
)


def _canary(**changes: Any) -> RoutingPolicy:
    fields: dict[str, Any] = {
        "model": "fraud",
        "routes": (Route("1", 90), Route("2", 10)),
        "match": (MatchRule("header", "x-beta", "exact", "yes", "3"),),
        "shadow": Shadow("3", 20.0),
        "sticky": StickyKey(header="x-user", cookie="uid", json_field="user_id"),
        "seed": "rollout-7",
        "revision": 4,
    }
    fields.update(changes)
    return RoutingPolicy(**fields)


def _raises(message: str, **changes: Any) -> None:
    with pytest.raises(PolicyError) as caught:
        _canary(**changes)
    assert str(caught.value).startswith(message), str(caught.value)


# --- building and the JSON form --------------------------------------------------------


def test_a_valid_policy_builds_with_defaults() -> None:
    policy = RoutingPolicy("fraud", (Route("1", 100),))
    assert policy.match == ()
    assert policy.shadow is None
    assert policy.sticky == StickyKey(header="x-turnout-key")
    assert (policy.seed, policy.revision) == ("", 0)


def test_to_dict_from_dict_round_trips_through_json() -> None:
    policy = _canary()
    assert RoutingPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


def test_to_dict_is_the_stored_shape() -> None:
    assert single("fraud", "7", seed="s").to_dict() == {
        "model": "fraud",
        "routes": [{"version": "7", "weight": 100}],
        "match": [],
        "shadow": None,
        "sticky": {"header": "x-turnout-key", "cookie": None, "json_field": None},
        "seed": "s",
        "revision": 0,
    }


def test_from_dict_fills_optional_fields() -> None:
    policy = RoutingPolicy.from_dict(
        {"model": "fraud", "routes": [{"version": "1", "weight": 100}]}
    )
    assert policy == single("fraud", "1")


def test_from_dict_accepts_integer_versions_and_percent() -> None:
    policy = RoutingPolicy.from_dict(
        {
            "model": "fraud",
            "routes": [{"version": 1, "weight": 100}],
            "shadow": {"version": 2, "percent": 20},
        }
    )
    assert policy.routes == (Route("1", 100),)
    assert policy.shadow == Shadow("2", 20.0)
    assert isinstance(policy.shadow.percent, float)


def test_lists_are_stored_as_tuples_so_a_policy_is_hashable() -> None:
    policy = RoutingPolicy("fraud", [Route("1", 100)], match=[])  # type: ignore[arg-type]
    assert isinstance(policy.routes, tuple)
    assert isinstance(policy.match, tuple)
    assert hash(policy) == hash(single("fraud", "1"))


# --- from_dict names the field ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "model": "m",
                "routes": [{"version": "1", "weight": 90}, {"version": "2", "weight": "10"}],
            },
            "routes[1].weight: must be an integer 0..100",
        ),
        ({"model": "m"}, "routes: required"),
        ({"routes": [{"version": "1", "weight": 100}]}, "model: required"),
        ({"model": "m", "routes": [], "rotes": []}, "rotes: unknown field"),
        ({"model": "m", "routes": {"1": 100}}, "routes: must be a list"),
        ({"model": "m", "routes": ["1=100"]}, "routes[0]: must be an object"),
        ({"model": "m", "routes": [{"version": "1"}]}, "routes[0].weight: required"),
        (
            {"model": "m", "routes": [{"version": "1", "weight": 100, "w": 1}]},
            "routes[0].w: unknown field",
        ),
        ({"model": "m", "routes": [{"version": None, "weight": 100}]}, "routes[0].version:"),
        (
            {
                "model": "m",
                "routes": [{"version": "1", "weight": 100}],
                "match": [
                    {"source": "query", "name": "a", "op": "exact", "value": "", "version": "2"}
                ],
            },
            "match[0].source: must be 'header' or 'cookie'",
        ),
        (
            {"model": "m", "routes": [{"version": "1", "weight": 100}], "shadow": {"version": "2"}},
            "shadow.percent: required",
        ),
        (
            {"model": "m", "routes": [{"version": "1", "weight": 100}], "sticky": None},
            "sticky: must be an object",
        ),
        (
            {"model": "m", "routes": [{"version": "1", "weight": 100}], "sticky": {"query": "k"}},
            "sticky.query: unknown field",
        ),
        ([("model", "m")], "policy: must be an object"),
    ],
)
def test_from_dict_errors_name_the_field(data: Any, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        RoutingPolicy.from_dict(data)
    assert str(caught.value).startswith(message), str(caught.value)


# --- validation: one test per rule -------------------------------------------------------


def test_at_least_one_route() -> None:
    _raises("routes: at least one route is required", routes=())


@pytest.mark.parametrize("weight", [-1, 101, 50.0, "50", True, None])
def test_weights_are_integers_0_to_100(weight: Any) -> None:
    routes = (Route("1", 50), Route("2", weight))
    _raises("routes[1].weight: must be an integer 0..100", routes=routes)


@pytest.mark.parametrize("weights", [(90, 5), (90, 20), (0, 0)])
def test_weights_sum_to_exactly_100(weights: tuple[int, int]) -> None:
    routes = (Route("1", weights[0]), Route("2", weights[1]))
    _raises(f"routes: weights must sum to 100, got {sum(weights)}", routes=routes)


def test_zero_weight_routes_are_allowed() -> None:
    policy = _canary(routes=(Route("1", 100), Route("2", 0)))
    assert policy.primary_versions() == frozenset({"1"})


def test_no_duplicate_versions_in_routes() -> None:
    _raises("routes[1].version: duplicate version '1'", routes=(Route("1", 50), Route("1", 50)))


@pytest.mark.parametrize("version", ["", " 1", "1 ", "a=b", "3:20", "x->y", 3])
def test_versions_are_plain_tokens(version: object) -> None:
    _raises("routes[0].version: must be a version", routes=(Route(version, 100),))  # type: ignore[arg-type]


@pytest.mark.parametrize("model", ["", " fraud", None])
def test_model_name_is_non_empty(model: object) -> None:
    _raises("model: must be a non-empty string", model=model)


def test_match_regex_must_compile_and_the_error_names_the_rule() -> None:
    rules = (
        MatchRule("header", "x-beta", "exact", "yes", "3"),
        MatchRule("cookie", "group", "regex", "(beta", "3"),
    )
    _raises("match[1].value: invalid regex '(beta'", match=rules)


def test_match_source_must_be_header_or_cookie() -> None:
    _raises("match[0].source:", match=(MatchRule("query", "a", "exact", "b", "3"),))  # type: ignore[arg-type]


def test_match_op_must_be_known() -> None:
    _raises("match[0].op:", match=(MatchRule("header", "a", "suffix", "b", "3"),))  # type: ignore[arg-type]


def test_match_name_is_non_empty() -> None:
    _raises("match[0].name:", match=(MatchRule("header", "", "exact", "b", "3"),))


def test_match_value_is_a_string() -> None:
    _raises("match[0].value: must be a string", match=(MatchRule("header", "a", "exact", 1, "3"),))  # type: ignore[arg-type]


def test_match_version_is_checked() -> None:
    _raises("match[0].version:", match=(MatchRule("header", "a", "exact", "b", ""),))


def test_header_names_are_lower_cased_cookie_names_kept() -> None:
    assert MatchRule("header", "X-Beta", "exact", "yes", "3").name == "x-beta"
    assert MatchRule("cookie", "Group", "exact", "yes", "3").name == "Group"
    assert StickyKey(header="X-User").header == "x-user"
    assert StickyKey(cookie="UID").cookie == "UID"


@pytest.mark.parametrize("percent", [0.0, -5.0, 100.5, math.nan, math.inf, "20"])
def test_shadow_percent_is_in_0_exclusive_to_100(percent: object) -> None:
    _raises("shadow.percent: must be a number in (0, 100]", shadow=Shadow("3", percent))  # type: ignore[arg-type]


def test_shadow_of_100_percent_is_allowed() -> None:
    assert _canary(shadow=Shadow("3", 100)).shadow == Shadow("3", 100.0)


def test_shadow_may_not_be_the_route_with_weight_100() -> None:
    _raises(
        "shadow.version: '1' already answers 100%",
        routes=(Route("1", 100), Route("2", 0)),
        shadow=Shadow("1", 20.0),
    )


def test_shadow_may_be_a_route_under_100_or_a_version_not_routed() -> None:
    assert _canary(shadow=Shadow("2", 20.0)).shadow == Shadow("2", 20.0)
    assert _canary(shadow=Shadow("9", 20.0)).shadow == Shadow("9", 20.0)


@pytest.mark.parametrize(
    "sticky", [StickyKey(header=""), StickyKey(cookie=" uid"), StickyKey(json_field="")]
)
def test_sticky_names_are_non_empty(sticky: StickyKey) -> None:
    _raises("sticky.", sticky=sticky)


def test_sticky_may_be_off() -> None:
    off = StickyKey(header=None)
    assert _canary(sticky=off).sticky == off


def test_seed_has_no_nul() -> None:
    _raises("seed: must be a string without NUL", seed="a\0b")


@pytest.mark.parametrize("revision", [-1, True, 1.0])
def test_revision_is_a_non_negative_integer(revision: object) -> None:
    _raises("revision: must be an integer >= 0", revision=revision)


def test_validate_passes_on_a_built_policy() -> None:
    _canary().validate()


# --- accessors ----------------------------------------------------------------------------


def test_versions_names_weighted_routes_match_targets_and_shadow() -> None:
    policy = _canary(routes=(Route("1", 100), Route("2", 0)), shadow=Shadow("4", 5.0))
    assert policy.versions() == frozenset({"1", "3", "4"})
    assert policy.primary_versions() == frozenset({"1"})


def test_with_revision_changes_only_the_revision() -> None:
    policy = _canary()
    newer = policy.with_revision(5)
    assert newer.revision == 5
    assert newer.to_dict() | {"revision": 4} == policy.to_dict()


def test_with_revision_validates() -> None:
    with pytest.raises(PolicyError, match="revision"):
        _canary().with_revision(-1)


def test_single_sends_everything_to_one_version() -> None:
    policy = single("fraud", "7", seed="x")
    assert policy.routes == (Route("7", 100),)
    assert (policy.model, policy.seed, policy.shadow, policy.match) == ("fraud", "x", None, ())


# --- property: accepted policies always split exactly 100 -------------------------------

_raw_routes = st.lists(
    st.fixed_dictionaries(
        {
            "version": st.sampled_from(["1", "2", "3", "4", "5"]),
            "weight": st.one_of(st.integers(-10, 110), st.just(25), st.just(50)),
        }
    ),
    min_size=0,
    max_size=5,
)


@given(_raw_routes)
def test_accepted_policies_have_weights_summing_to_100(routes: list[dict[str, Any]]) -> None:
    try:
        policy = RoutingPolicy.from_dict({"model": "m", "routes": routes})
    except PolicyError:
        return
    assert sum(route.weight for route in policy.routes) == 100
    assert all(0 <= route.weight <= 100 for route in policy.routes)
    assert len({route.version for route in policy.routes}) == len(policy.routes)
    policy.validate()
