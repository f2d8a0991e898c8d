"""The per-request split decision: which version answers, and which one (if any) shadows.

Called on every request, so a policy is compiled once (cumulative thresholds, compiled
regexes, and every possible Decision built ahead) and ``decide`` only looks things up.

Layout of the weighted routes on [0, 1) (routes with weight 0 take no room): in list
order, bottom to top, so the LAST route gets [1 - w_last/100, 1), the one before it the
interval just below, and the first route the interval starting at 0. A request with
point u goes to the route whose interval holds u. Hence the keys sent to "route i or any
route after it" are exactly those with u >= 1 - (w_i + ... + w_last)/100, a set that only
grows with that sum. With the baseline listed first and the candidate last, a key in the
canary at 5% stays in it at 25% and 50% (same seed): monotone sticky hashing.
"""

from __future__ import annotations

import hashlib
import random
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from router.traffic.errors import PolicyError
from router.traffic.policy import RoutingPolicy, StickyKey

__all__ = ["CompiledPolicy", "Decision", "Reason", "extract_key", "sticky_point"]

Reason = Literal["match", "sticky", "random", "single"]

_TWO_POW_MINUS_53 = 2.0**-53
# Appended to the seed so the shadow draw is independent of the primary one.
_SHADOW_SALT = ":shadow"
_EXACT, _PREFIX, _REGEX = 0, 1, 2
_OP_CODES = {"exact": _EXACT, "prefix": _PREFIX, "regex": _REGEX}


def sticky_point(seed: str, key: str) -> float:
    """A key's fixed point in [0, 1): the same on every process, machine and restart.

    blake2b, never ``hash()``: Python salts str hashes per process.
    """
    data = f"{seed}\0{key}".encode("utf-8", "surrogatepass")
    number = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")
    # Keep the top 53 bits: a double holds them exactly, so the result stays below 1.0
    # (dividing all 64 bits by 2**64 can round up to 1.0).
    return (number >> 11) * _TWO_POW_MINUS_53


@dataclass(frozen=True, slots=True)
class Decision:
    """Where one request goes: ``version`` answers; ``shadow`` gets a mirrored copy."""

    version: str
    shadow: str | None
    reason: Reason


# (the decision without a shadow, the decision with it, or None when never mirrored)
_Pair = tuple[Decision, Decision | None]


class _Rule(NamedTuple):
    is_header: bool
    name: str
    op: int
    value: str
    pattern: re.Pattern[str] | None
    pair: _Pair


class CompiledPolicy:
    """A RoutingPolicy made ready for ``decide``; build with ``from_policy``."""

    __slots__ = (
        "_cuts",
        "_random",
        "_rules",
        "_seed",
        "_shadow_cut",
        "_shadow_seed",
        "_single",
        "_sticky",
        "policy",
    )

    policy: RoutingPolicy
    _rules: tuple[_Rule, ...]
    _single: _Pair | None
    _cuts: tuple[float, ...]
    _sticky: tuple[_Pair, ...]
    _random: tuple[_Pair, ...]
    _seed: str
    _shadow_seed: str
    _shadow_cut: float

    @classmethod
    def from_policy(cls, policy: RoutingPolicy) -> CompiledPolicy:
        if not isinstance(policy, RoutingPolicy):
            raise PolicyError(f"expected a RoutingPolicy, got {type(policy).__name__}")
        # A frozen dataclass can still be forced; compiling a bad one would misroute.
        policy.validate()
        self = cls.__new__(cls)
        self.policy = policy
        shadow = policy.shadow
        shadow_version = None if shadow is None else shadow.version
        self._seed = policy.seed
        self._shadow_seed = policy.seed + _SHADOW_SALT
        self._shadow_cut = 0.0 if shadow is None else shadow.percent / 100

        def pair(version: str, reason: Reason) -> _Pair:
            plain = Decision(version, None, reason)
            if shadow_version is None or shadow_version == version:
                return (plain, None)
            return (plain, Decision(version, shadow_version, reason))

        self._rules = tuple(
            _Rule(
                is_header=rule.source == "header",
                name=rule.name,
                op=_OP_CODES[rule.op],
                value=rule.value,
                pattern=re.compile(rule.value) if rule.op == "regex" else None,
                pair=pair(rule.version, "match"),
            )
            for rule in policy.match
        )
        live = [route for route in policy.routes if route.weight > 0]
        self._single = pair(live[0].version, "single") if len(live) == 1 else None
        # Lower edge of each live route after the first: (100 - its weight and all later
        # ones) / 100, one exact integer divided once, so the edges are monotone in it.
        cuts: list[float] = []
        above = 100
        for route in live[:0:-1]:
            above -= route.weight
            cuts.append(above / 100)
        self._cuts = tuple(reversed(cuts))
        self._sticky = tuple(pair(route.version, "sticky") for route in live)
        self._random = tuple(pair(route.version, "random") for route in live)
        return self

    def decide(
        self,
        *,
        key: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        rand: Callable[[], float] = random.random,
    ) -> Decision:
        """Pick the answering version (match rules, then weights) and the shadow.

        ``headers`` must be keyed by lower-case names (as ASGI servers give them). An
        empty ``key`` counts as none: the choice is then random.
        """
        for is_header, name, op, value, pattern, rule_pair in self._rules:
            got = headers.get(name) if is_header else cookies.get(name)
            if got is None:
                continue
            if op == _EXACT:
                hit = got == value
            elif op == _PREFIX:
                hit = got.startswith(value)
            else:
                hit = pattern is not None and pattern.search(got) is not None
            if hit:
                return self._mirror(rule_pair, key, rand)
        if self._single is not None:
            return self._mirror(self._single, key, rand)
        if key:
            chosen = self._sticky[bisect_right(self._cuts, sticky_point(self._seed, key))]
        else:
            chosen = self._random[bisect_right(self._cuts, rand())]
        return self._mirror(chosen, key, rand)

    def _mirror(self, pair: _Pair, key: str | None, rand: Callable[[], float]) -> Decision:
        plain, mirrored = pair
        if mirrored is None:
            return plain
        if key:
            point = sticky_point(self._shadow_seed, key)
        else:
            point = rand()
        return mirrored if point < self._shadow_cut else plain

    def __repr__(self) -> str:
        return f"CompiledPolicy({self.policy.model!r}, revision={self.policy.revision})"


def extract_key(
    sticky: StickyKey,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    json_body: Mapping[str, Any] | None,
) -> str | None:
    """The request's stickiness key: header, then cookie, then JSON field; or None.

    The JSON field is read from the body's top level, then from its ``parameters``
    object (where the Open Inference Protocol puts request-wide values). Empty strings
    count as no key; JSON integers are used as their decimal text.
    """
    if sticky.header is not None:
        value = headers.get(sticky.header)
        if value:
            return value
    if sticky.cookie is not None:
        value = cookies.get(sticky.cookie)
        if value:
            return value
    if sticky.json_field is not None and json_body is not None:
        found = _json_key(json_body.get(sticky.json_field))
        if found is not None:
            return found
        parameters = json_body.get("parameters")
        if isinstance(parameters, Mapping):
            return _json_key(parameters.get(sticky.json_field))
    return None


def _json_key(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    # bool is an int, but true/false would put half of all users on one key.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
