"""Split frequencies by simulation: fixed key sets and seeded draws, so deterministic."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from scipy.stats import chisquare

from router.traffic import CompiledPolicy, Route, RoutingPolicy, Shadow

N = 20_000
KEYS = [f"user-{i}" for i in range(N)]
WEIGHTS = [(90, 10), (50, 25, 25)]


def _compiled(weights: tuple[int, ...], shadow: Shadow | None = None) -> CompiledPolicy:
    routes = tuple(Route(str(i + 1), weight) for i, weight in enumerate(weights))
    return CompiledPolicy.from_policy(RoutingPolicy("m", routes, shadow=shadow, seed="rollout-1"))


def _p_value(counts: Counter[str], weights: tuple[int, ...]) -> float:
    observed = [counts[str(i + 1)] for i in range(len(weights))]
    expected = [N * weight / 100 for weight in weights]
    return float(chisquare(observed, expected).pvalue)


@pytest.mark.parametrize("weights", WEIGHTS, ids=str)
def test_sticky_split_matches_the_weights(weights: tuple[int, ...]) -> None:
    compiled = _compiled(weights)
    counts = Counter(compiled.decide(key=k, headers={}, cookies={}).version for k in KEYS)
    assert _p_value(counts, weights) > 0.001


@pytest.mark.parametrize("weights", WEIGHTS, ids=str)
def test_random_split_matches_the_weights(weights: tuple[int, ...]) -> None:
    compiled = _compiled(weights)
    rand = random.Random(42).random
    counts = Counter(
        compiled.decide(key=None, headers={}, cookies={}, rand=rand).version for _ in range(N)
    )
    assert _p_value(counts, weights) > 0.001


def test_shadow_mirrors_its_percent_of_keyed_requests() -> None:
    compiled = _compiled((90, 10), Shadow("3", 20))
    mirrored = sum(compiled.decide(key=k, headers={}, cookies={}).shadow == "3" for k in KEYS)
    assert abs(mirrored / N - 0.20) <= 0.015


def test_shadow_mirrors_its_percent_of_unkeyed_requests() -> None:
    compiled = _compiled((90, 10), Shadow("3", 20))
    rand = random.Random(42).random
    mirrored = sum(
        compiled.decide(key=None, headers={}, cookies={}, rand=rand).shadow == "3" for _ in range(N)
    )
    assert abs(mirrored / N - 0.20) <= 0.015


def test_shadow_draw_is_independent_of_the_primary_choice() -> None:
    compiled = _compiled((50, 50), Shadow("3", 20))
    decisions = [compiled.decide(key=k, headers={}, cookies={}) for k in KEYS]
    for version in ("1", "2"):
        answered = [d for d in decisions if d.version == version]
        share = sum(d.shadow == "3" for d in answered) / len(answered)
        assert abs(share - 0.20) <= 0.02
