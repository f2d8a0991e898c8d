from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from router.traffic import (
    CompiledPolicy,
    Decision,
    MatchRule,
    PolicyError,
    Route,
    RoutingPolicy,
    Shadow,
    StickyKey,
    extract_key,
    single,
    sticky_point,
)

NO_HEADERS: dict[str, str] = {}
KEYS = [f"user-{i}" for i in range(2000)]


def _compile(*routes: tuple[str, int], **fields: Any) -> CompiledPolicy:
    policy = RoutingPolicy("fraud", tuple(Route(v, w) for v, w in routes), **fields)
    return CompiledPolicy.from_policy(policy)


def _never() -> float:
    raise AssertionError("rand() must not be called")


def _constant(value: float) -> Callable[[], float]:
    return lambda: value


# --- sticky_point: the hashing scheme is pinned ------------------------------------------

# Computed once in a separate interpreter, straight from hashlib:
#   n = int.from_bytes(blake2b((seed + "\0" + key).encode(), digest_size=8).digest(), "big")
#   (n >> 11) / 2**53
# A change here moves users between versions mid-rollout on a mixed-version fleet.
PINNED = [
    ("", "a", 0.7578436299408889),
    ("seed", "user-1", 0.2531139990493312),
    ("rollout-7", "42", 0.2053637140640705),
    ("fraud:r3", "alice@example.com", 0.3162950831299238),
    ("r1:shadow", "user-42", 0.5188497020422365),
    ("s", "ü-ключ", 0.5651905778468019),
]


@pytest.mark.parametrize(("seed", "key", "point"), PINNED)
def test_sticky_point_is_pinned(seed: str, key: str, point: float) -> None:
    assert sticky_point(seed, key) == point


def test_sticky_point_is_in_the_unit_interval() -> None:
    points = [sticky_point("s", key) for key in KEYS]
    assert all(0.0 <= p < 1.0 for p in points)
    assert len(set(points)) == len(points)


def test_sticky_point_separates_seed_from_key() -> None:
    assert sticky_point("ab", "c") != sticky_point("a", "bc")


def test_sticky_point_survives_lone_surrogates() -> None:
    # json.loads happily yields them; a key must never crash the split.
    assert 0.0 <= sticky_point("s", "\ud800") < 1.0


# --- match rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "sent", "hit"),
    [
        ("exact", "yes", "yes", True),
        ("exact", "yes", "yes please", False),
        ("exact", "yes", "Yes", False),
        ("prefix", "be", "beta", True),
        ("prefix", "be", "alpha", False),
        ("regex", "^beta-[0-9]+$", "beta-12", True),
        ("regex", "^beta-[0-9]+$", "beta-x", False),
        ("regex", "ta-1", "beta-12", True),  # re.search: unanchored unless anchored
    ],
)
def test_match_ops(op: str, value: str, sent: str, hit: bool) -> None:
    rule = MatchRule("header", "x-beta", op, value, "3")  # type: ignore[arg-type]
    compiled = _compile(("1", 100), match=(rule,))
    decision = compiled.decide(key=None, headers={"x-beta": sent}, cookies={}, rand=_never)
    assert decision == (Decision("3", None, "match") if hit else Decision("1", None, "single"))


def test_header_rule_reads_headers_not_cookies() -> None:
    compiled = _compile(("1", 100), match=(MatchRule("header", "X-Beta", "exact", "yes", "3"),))
    assert compiled.decide(key=None, headers={"x-beta": "yes"}, cookies={}).version == "3"
    assert compiled.decide(key=None, headers={}, cookies={"x-beta": "yes"}).version == "1"


def test_cookie_rule_reads_cookies_not_headers() -> None:
    compiled = _compile(("1", 100), match=(MatchRule("cookie", "group", "exact", "beta", "3"),))
    assert compiled.decide(key=None, headers={}, cookies={"group": "beta"}).version == "3"
    assert compiled.decide(key=None, headers={"group": "beta"}, cookies={}).version == "1"


def test_first_matching_rule_wins() -> None:
    rules = (
        MatchRule("header", "x-a", "exact", "1", "3"),
        MatchRule("header", "x-b", "prefix", "", "4"),
        MatchRule("cookie", "c", "regex", ".", "5"),
    )
    compiled = _compile(("1", 100), match=rules)
    both = compiled.decide(key="k", headers={"x-a": "1", "x-b": "z"}, cookies={"c": "z"})
    assert both.version == "3"
    assert (
        compiled.decide(key="k", headers={"x-a": "2", "x-b": "z"}, cookies={"c": "z"}).version
        == "4"
    )
    assert compiled.decide(key="k", headers={}, cookies={"c": "z"}).version == "5"


def test_match_beats_weights_and_stickiness() -> None:
    compiled = _compile(
        ("1", 50), ("2", 50), match=(MatchRule("header", "x-b", "exact", "y", "3"),)
    )
    for key in KEYS[:50]:
        assert compiled.decide(key=key, headers={"x-b": "y"}, cookies={}) == Decision(
            "3", None, "match"
        )


# --- weighted choice and reasons --------------------------------------------------------------


def test_reason_sticky_when_a_key_is_present() -> None:
    decision = _compile(("1", 50), ("2", 50)).decide(key="k", headers={}, cookies={}, rand=_never)
    assert decision.reason == "sticky"


@pytest.mark.parametrize("key", [None, ""])
def test_reason_random_without_a_key(key: str | None) -> None:
    compiled = _compile(("1", 50), ("2", 50))
    assert compiled.decide(key=key, headers={}, cookies={}, rand=_constant(0.2)) == Decision(
        "1", None, "random"
    )
    assert compiled.decide(key=key, headers={}, cookies={}, rand=_constant(0.7)).version == "2"


def test_reason_single_when_one_route_has_weight() -> None:
    compiled = _compile(("1", 0), ("2", 100), ("3", 0))
    for key in [None, "k", *KEYS[:20]]:
        assert compiled.decide(key=key, headers={}, cookies={}, rand=_never) == Decision(
            "2", None, "single"
        )


def test_zero_weight_route_is_never_chosen() -> None:
    compiled = _compile(("1", 60), ("2", 0), ("3", 40))
    chosen = {compiled.decide(key=key, headers={}, cookies={}).version for key in KEYS}
    rng = random.Random(1)
    chosen |= {
        compiled.decide(key=None, headers={}, cookies={}, rand=rng.random).version for _ in KEYS
    }
    assert chosen == {"1", "3"}


def test_layout_last_route_takes_the_top_of_the_interval() -> None:
    compiled = _compile(("1", 50), ("2", 30), ("3", 20))
    at = [(0.0, "1"), (0.4999, "1"), (0.5, "2"), (0.7999, "2"), (0.8, "3"), (0.99999, "3")]
    for u, version in at:
        assert (
            compiled.decide(key=None, headers={}, cookies={}, rand=_constant(u)).version == version
        )


def test_sticky_choice_follows_the_point() -> None:
    compiled = _compile(("1", 90), ("2", 10), seed="r7")
    for key in KEYS:
        expected = "2" if sticky_point("r7", key) >= 0.9 else "1"
        assert compiled.decide(key=key, headers={}, cookies={}).version == expected


def test_the_seed_reshuffles_keys() -> None:
    first = _compile(("1", 50), ("2", 50), seed="a")
    second = _compile(("1", 50), ("2", 50), seed="b")
    same = sum(
        first.decide(key=k, headers={}, cookies={}) == second.decide(key=k, headers={}, cookies={})
        for k in KEYS
    )
    assert 0.4 * len(KEYS) < same < 0.6 * len(KEYS)


# --- shadow -------------------------------------------------------------------------------------


def test_shadow_is_never_the_answering_version() -> None:
    rules = (MatchRule("header", "x-b", "exact", "y", "2"),)
    compiled = _compile(("1", 50), ("2", 50), match=rules, shadow=Shadow("2", 100))
    rng = random.Random(3)
    for key in [*KEYS, None]:
        for headers in ({}, {"x-b": "y"}):
            decision = compiled.decide(key=key, headers=headers, cookies={}, rand=rng.random)
            assert decision.shadow != decision.version
            assert decision.shadow == (None if decision.version == "2" else "2")


def test_shadow_applies_to_matched_requests_too() -> None:
    rules = (MatchRule("header", "x-b", "exact", "y", "3"),)
    compiled = _compile(("1", 100), match=rules, shadow=Shadow("2", 100))
    assert compiled.decide(key=None, headers={"x-b": "y"}, cookies={}) == Decision(
        "3", "2", "match"
    )


def test_shadow_draw_is_sticky_for_keyed_requests() -> None:
    compiled = _compile(("1", 100), shadow=Shadow("2", 30), seed="s")
    for key in KEYS:
        mirrored = compiled.decide(key=key, headers={}, cookies={}, rand=_never).shadow == "2"
        assert mirrored == (sticky_point("s:shadow", key) < 0.3)


def test_shadow_draw_uses_rand_without_a_key() -> None:
    compiled = _compile(("1", 100), shadow=Shadow("2", 30))
    assert compiled.decide(key=None, headers={}, cookies={}, rand=_constant(0.29)).shadow == "2"
    assert compiled.decide(key=None, headers={}, cookies={}, rand=_constant(0.3)).shadow is None


def test_no_shadow_means_no_mirror() -> None:
    compiled = _compile(("1", 50), ("2", 50))
    assert all(compiled.decide(key=k, headers={}, cookies={}).shadow is None for k in KEYS)


# --- compiling --------------------------------------------------------------------------------


def test_compiled_policy_keeps_its_policy() -> None:
    policy = single("fraud", "7")
    assert CompiledPolicy.from_policy(policy).policy is policy


def test_compiling_a_tampered_policy_fails() -> None:
    policy = single("fraud", "7")
    object.__setattr__(policy, "routes", (Route("7", 60),))
    with pytest.raises(PolicyError, match="sum to 100"):
        CompiledPolicy.from_policy(policy)


def test_compiling_something_else_fails() -> None:
    with pytest.raises(PolicyError, match="expected a RoutingPolicy"):
        CompiledPolicy.from_policy({"model": "fraud"})  # type: ignore[arg-type]


# --- extract_key ------------------------------------------------------------------------------

STICKY = StickyKey(header="x-user", cookie="uid", json_field="user_id")


def test_key_from_header_first() -> None:
    assert extract_key(STICKY, {"x-user": "h"}, {"uid": "c"}, {"user_id": "j"}) == "h"


def test_key_from_cookie_second() -> None:
    assert extract_key(STICKY, {}, {"uid": "c"}, {"user_id": "j"}) == "c"


def test_key_from_json_top_level_then_parameters() -> None:
    assert extract_key(STICKY, {}, {}, {"user_id": "j", "parameters": {"user_id": "p"}}) == "j"
    assert extract_key(STICKY, {}, {}, {"inputs": [], "parameters": {"user_id": "p"}}) == "p"


def test_key_from_json_integer() -> None:
    assert extract_key(STICKY, {}, {}, {"user_id": 42}) == "42"


@pytest.mark.parametrize("value", [True, 4.2, None, ["a"], {"a": 1}])
def test_key_ignores_json_values_that_are_not_text_or_integers(value: object) -> None:
    assert extract_key(STICKY, {}, {}, {"user_id": value}) is None


def test_empty_strings_count_as_no_key() -> None:
    assert (
        extract_key(
            STICKY, {"x-user": ""}, {"uid": ""}, {"user_id": "", "parameters": {"user_id": "p"}}
        )
        == "p"
    )
    assert extract_key(STICKY, {"x-user": ""}, {"uid": ""}, {"user_id": ""}) is None


def test_no_key_sources_gives_no_key() -> None:
    off = StickyKey(header=None)
    assert extract_key(off, {"x-turnout-key": "h"}, {"uid": "c"}, {"user_id": "j"}) is None


def test_no_body_gives_no_json_key() -> None:
    assert extract_key(STICKY, {}, {}, None) is None
    assert extract_key(STICKY, {}, {}, {"parameters": "not an object"}) is None


def test_default_sticky_header() -> None:
    assert extract_key(StickyKey(), {"x-turnout-key": "u1"}, {}, None) == "u1"


def test_decision_is_frozen() -> None:
    decision = Decision("1", None, "single")
    with pytest.raises(AttributeError):
        decision.version = "2"  # type: ignore[misc]
    assert Counter([decision, Decision("1", None, "single")])[decision] == 2
