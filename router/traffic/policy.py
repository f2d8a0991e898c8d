"""Routing policies: how one model's traffic is split between its versions.

A policy is a frozen value, checked when it is built, and stored as JSON in the control
DB's ``routing_policies.policy`` column (``to_dict`` / ``from_dict``). The parts
(Route, MatchRule, Shadow, StickyKey) are checked by the RoutingPolicy that holds them,
so an error can name the part's place in it (``routes[1].weight``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from router.traffic.errors import PolicyError

__all__ = [
    "VERSION_PATTERN",
    "MatchRule",
    "Route",
    "RoutingPolicy",
    "Shadow",
    "StickyKey",
    "single",
]

Source = Literal["header", "cookie"]
Op = Literal["exact", "prefix", "regex"]

# Versions end up in CLI specs ("1=90", "3:20", "...->3") and in response headers, so
# they may not contain the separators of those forms or whitespace.
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

_SOURCES: frozenset[str] = frozenset({"header", "cookie"})
_OPS: frozenset[str] = frozenset({"exact", "prefix", "regex"})


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as a weight is a bug, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_version(path: str, value: object) -> None:
    if not isinstance(value, str) or VERSION_PATTERN.fullmatch(value) is None:
        raise PolicyError(
            f"{path}: must be a version like '3' (letters, digits, '.', '_', '-'), got {value!r}"
        )


def _check_name(path: str, value: object) -> None:
    if not isinstance(value, str) or not value or value != value.strip():
        raise PolicyError(f"{path}: must be a non-empty string without surrounding spaces")


@dataclass(frozen=True, slots=True)
class Route:
    """``weight`` percent of the traffic no match rule claims goes to ``version``."""

    version: str
    weight: int

    def validate(self, path: str = "route") -> None:
        _check_version(f"{path}.version", self.version)
        if not _is_int(self.weight) or not 0 <= self.weight <= 100:
            raise PolicyError(f"{path}.weight: must be an integer 0..100, got {self.weight!r}")


@dataclass(frozen=True, slots=True)
class MatchRule:
    """Send a request whose header or cookie ``name`` matches ``value`` to ``version``.

    ``exact`` compares the whole value, ``prefix`` its start, ``regex`` searches it
    (``re.search``: anchor with ``^``/``$`` to pin the whole value). Header names are
    case-insensitive in HTTP, so they are lower-cased here once; cookie names are not.
    """

    source: Source
    name: str
    op: Op
    value: str
    version: str

    def __post_init__(self) -> None:
        if self.source == "header" and isinstance(self.name, str):
            object.__setattr__(self, "name", self.name.lower())

    def validate(self, path: str = "match") -> None:
        if not isinstance(self.source, str) or self.source not in _SOURCES:
            raise PolicyError(f"{path}.source: must be 'header' or 'cookie', got {self.source!r}")
        _check_name(f"{path}.name", self.name)
        if not isinstance(self.op, str) or self.op not in _OPS:
            raise PolicyError(f"{path}.op: must be 'exact', 'prefix' or 'regex', got {self.op!r}")
        if not isinstance(self.value, str):
            raise PolicyError(f"{path}.value: must be a string, got {self.value!r}")
        if self.op == "regex":
            try:
                re.compile(self.value)
            except re.error as exc:
                raise PolicyError(f"{path}.value: invalid regex {self.value!r} ({exc})") from None
        _check_version(f"{path}.version", self.version)


@dataclass(frozen=True, slots=True)
class Shadow:
    """Mirror ``percent`` of requests to ``version``; its answers are recorded, not sent."""

    version: str
    percent: float

    def __post_init__(self) -> None:
        # JSON gives 20 as an int; keep one type so to_dict round-trips exactly.
        if _is_int(self.percent):
            object.__setattr__(self, "percent", float(self.percent))

    def validate(self, path: str = "shadow") -> None:
        _check_version(f"{path}.version", self.version)
        ok = isinstance(self.percent, float) and math.isfinite(self.percent)
        if not ok or not 0 < self.percent <= 100:
            raise PolicyError(f"{path}.percent: must be a number in (0, 100], got {self.percent!r}")


@dataclass(frozen=True, slots=True)
class StickyKey:
    """Where a request's stickiness key is read from, first found wins.

    The request header ``header``, then the cookie ``cookie``, then the field
    ``json_field`` of the JSON body (top level, or its ``parameters`` object). None
    turns a source off; all None makes every choice random.
    """

    header: str | None = "x-turnout-key"
    cookie: str | None = None
    json_field: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.header, str):
            object.__setattr__(self, "header", self.header.lower())

    def validate(self, path: str = "sticky") -> None:
        for name in ("header", "cookie", "json_field"):
            value = getattr(self, name)
            if value is not None:
                _check_name(f"{path}.{name}", value)


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """One model's split: match rules first, then weighted routes; optional shadow.

    List the baseline route first and candidates after it: the split lays routes out
    so that the last one's share only grows by taking keys from the routes before it
    (see router.traffic.split).
    """

    model: str
    routes: tuple[Route, ...]
    match: tuple[MatchRule, ...] = ()
    shadow: Shadow | None = None
    sticky: StickyKey = StickyKey()
    seed: str = ""
    revision: int = 0

    def __post_init__(self) -> None:
        # Accept lists from callers, but store tuples so the policy stays hashable.
        if isinstance(self.routes, list):
            object.__setattr__(self, "routes", tuple(self.routes))
        if isinstance(self.match, list):
            object.__setattr__(self, "match", tuple(self.match))
        self.validate()

    def validate(self) -> None:
        """Raise PolicyError naming the first invalid field; a built policy always passes."""
        _check_name("model", self.model)
        if not isinstance(self.routes, tuple) or not self.routes:
            raise PolicyError("routes: at least one route is required")
        seen: set[str] = set()
        for i, route in enumerate(self.routes):
            if not isinstance(route, Route):
                raise PolicyError(f"routes[{i}]: must be a Route, got {route!r}")
            route.validate(f"routes[{i}]")
            if route.version in seen:
                raise PolicyError(f"routes[{i}].version: duplicate version {route.version!r}")
            seen.add(route.version)
        total = sum(route.weight for route in self.routes)
        if total != 100:
            raise PolicyError(f"routes: weights must sum to 100, got {total}")
        if not isinstance(self.match, tuple):
            raise PolicyError("match: must be a list of match rules")
        for i, rule in enumerate(self.match):
            if not isinstance(rule, MatchRule):
                raise PolicyError(f"match[{i}]: must be a MatchRule, got {rule!r}")
            rule.validate(f"match[{i}]")
        if self.shadow is not None:
            if not isinstance(self.shadow, Shadow):
                raise PolicyError(f"shadow: must be a Shadow or null, got {self.shadow!r}")
            self.shadow.validate("shadow")
            if any(r.version == self.shadow.version and r.weight == 100 for r in self.routes):
                raise PolicyError(
                    f"shadow.version: {self.shadow.version!r} already answers 100% of "
                    "traffic; mirroring to it would never happen"
                )
        if not isinstance(self.sticky, StickyKey):
            raise PolicyError(f"sticky: must be a StickyKey, got {self.sticky!r}")
        self.sticky.validate("sticky")
        # The hash input is seed + NUL + key; a NUL in the seed would make it ambiguous.
        if not isinstance(self.seed, str) or "\0" in self.seed:
            raise PolicyError("seed: must be a string without NUL characters")
        if not _is_int(self.revision) or self.revision < 0:
            raise PolicyError(f"revision: must be an integer >= 0, got {self.revision!r}")

    def primary_versions(self) -> frozenset[str]:
        """Versions that answer some share of unmatched traffic (weight > 0)."""
        return frozenset(route.version for route in self.routes if route.weight > 0)

    def versions(self) -> frozenset[str]:
        """Every version this policy can send a request to: what a gateway must load."""
        named = set(self.primary_versions())
        named.update(rule.version for rule in self.match)
        if self.shadow is not None:
            named.add(self.shadow.version)
        return frozenset(named)

    def with_revision(self, revision: int) -> RoutingPolicy:
        return replace(self, revision=revision)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form; ``from_dict(p.to_dict()) == p``."""
        return {
            "model": self.model,
            "routes": [{"version": r.version, "weight": r.weight} for r in self.routes],
            "match": [
                {
                    "source": rule.source,
                    "name": rule.name,
                    "op": rule.op,
                    "value": rule.value,
                    "version": rule.version,
                }
                for rule in self.match
            ],
            "shadow": (
                None
                if self.shadow is None
                else {"version": self.shadow.version, "percent": self.shadow.percent}
            ),
            "sticky": {
                "header": self.sticky.header,
                "cookie": self.sticky.cookie,
                "json_field": self.sticky.json_field,
            },
            "seed": self.seed,
            "revision": self.revision,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RoutingPolicy:
        """Build and validate a policy from its JSON form; PolicyError names the field."""
        top = _fields(
            "policy", d, {"model", "routes"}, {"match", "shadow", "sticky", "seed", "revision"}
        )
        routes = tuple(
            _route_from(f"routes[{i}]", raw) for i, raw in enumerate(_list("routes", top["routes"]))
        )
        match = tuple(
            _rule_from(f"match[{i}]", raw)
            for i, raw in enumerate(_list("match", top.get("match", [])))
        )
        shadow = None
        if top.get("shadow") is not None:
            raw = _fields("shadow", top["shadow"], {"version", "percent"}, set())
            shadow = Shadow(version=_version_of(raw, "shadow"), percent=raw["percent"])
        sticky = StickyKey()
        if "sticky" in top:
            raw = _fields("sticky", top["sticky"], set(), {"header", "cookie", "json_field"})
            sticky = StickyKey(**raw)
        return cls(
            model=top["model"],
            routes=routes,
            match=match,
            shadow=shadow,
            sticky=sticky,
            seed=top.get("seed", ""),
            revision=top.get("revision", 0),
        )


def single(model: str, version: str, seed: str = "") -> RoutingPolicy:
    """All traffic to one version: the policy when no rollout runs (the champion)."""
    return RoutingPolicy(model=model, routes=(Route(version, 100),), seed=seed)


def _fields(path: str, value: object, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{path}: must be an object, got {type(value).__name__}")
    for name in value:
        if name not in required and name not in optional:
            where = "" if path == "policy" else f"{path}."
            raise PolicyError(f"{where}{name}: unknown field")
    for name in sorted(required):
        if name not in value:
            where = "" if path == "policy" else f"{path}."
            raise PolicyError(f"{where}{name}: required")
    return dict(value)


def _list(path: str, value: object) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise PolicyError(f"{path}: must be a list, got {type(value).__name__}")
    return list(value)


def _route_from(path: str, raw: object) -> Route:
    item = _fields(path, raw, {"version", "weight"}, set())
    return Route(version=_version_of(item, path), weight=item["weight"])


def _rule_from(path: str, raw: object) -> MatchRule:
    item = _fields(path, raw, {"source", "name", "op", "value", "version"}, set())
    return MatchRule(
        source=item["source"],
        name=item["name"],
        op=item["op"],
        value=item["value"],
        version=_version_of(item, path),
    )


def _version_of(item: Mapping[str, Any], path: str) -> Any:
    # Hand-written JSON often says "version": 3; MLflow versions are numbers anyway.
    value = item["version"]
    if _is_int(value) and value >= 0:
        return str(value)
    _check_version(f"{path}.version", value)
    return value
