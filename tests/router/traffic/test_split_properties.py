"""Hypothesis properties of the split: determinism, monotonicity, order independence."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from router.traffic import CompiledPolicy, Route, RoutingPolicy, Shadow

seeds = st.text(max_size=20).filter(lambda s: "\0" not in s)
keys = st.text(min_size=1, max_size=40)


def _canary(seed: str, weight: int, shadow: Shadow | None = None) -> CompiledPolicy:
    routes = (Route("1", 100 - weight), Route("2", weight))
    return CompiledPolicy.from_policy(RoutingPolicy("m", routes, shadow=shadow, seed=seed))


def _fails() -> float:
    raise AssertionError("a keyed decision must not draw")


@given(seeds, keys, st.integers(0, 100), st.floats(1, 100))
def test_same_key_and_seed_decide_the_same(seed: str, key: str, weight: int, pct: float) -> None:
    first = _canary(seed, weight, Shadow("3", pct))
    again = _canary(seed, weight, Shadow("3", pct))
    decision = first.decide(key=key, headers={}, cookies={}, rand=_fails)
    assert decision == first.decide(key=key, headers={}, cookies={}, rand=_fails)
    assert decision == again.decide(key=key, headers={}, cookies={}, rand=_fails)


@given(seeds, st.lists(keys, min_size=1, max_size=30), st.integers(0, 100), st.integers(0, 100))
def test_candidate_share_is_monotone_in_its_weight(
    seed: str, batch: list[str], w1: int, w2: int
) -> None:
    low, high = sorted((w1, w2))
    at_low, at_high = _canary(seed, low), _canary(seed, high)
    for key in batch:
        if at_low.decide(key=key, headers={}, cookies={}).version == "2":
            assert at_high.decide(key=key, headers={}, cookies={}).version == "2"


@given(
    seeds,
    st.lists(st.integers(0, 100), min_size=2, max_size=8).map(sorted),
    st.lists(keys, min_size=1, max_size=20),
)
def test_a_key_in_the_canary_stays_through_every_step(
    seed: str, steps: list[int], batch: list[str]
) -> None:
    policies = [_canary(seed, weight) for weight in steps]
    for key in batch:
        path = [p.decide(key=key, headers={}, cookies={}).version for p in policies]
        # Once "2", always "2": the path is some "1"s followed by some "2"s.
        assert path == sorted(path)


@given(
    seeds,
    st.lists(keys, min_size=1, max_size=30, unique=True),
    st.randoms(use_true_random=False),
    st.lists(st.integers(1, 40), min_size=3, max_size=3),
)
def test_a_keys_choice_does_not_depend_on_decision_order(
    seed: str, batch: list[str], rng: random.Random, raw: list[int]
) -> None:
    weights = [raw[0], raw[1], 100 - raw[0] - raw[1]]
    routes = tuple(Route(str(i), w) for i, w in enumerate(weights))
    compiled = CompiledPolicy.from_policy(
        RoutingPolicy("m", routes, shadow=Shadow("9", 50), seed=seed)
    )
    forward = {k: compiled.decide(key=k, headers={}, cookies={}) for k in batch}
    shuffled = list(batch)
    rng.shuffle(shuffled)
    backward = {k: compiled.decide(key=k, headers={}, cookies={}) for k in shuffled}
    assert forward == backward
