"""The short CLI forms of a policy's parts, as in ``turnout traffic set fraud 1=90 2=10
--shadow 3:20 --match header:x-beta=yes->3``.

Each error is one line: the text given, what is wrong, and the form expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from router.traffic.errors import PolicyError
from router.traffic.policy import MatchRule, Op, Route, Shadow, Source

__all__ = ["parse_match", "parse_shadow", "parse_weights"]

WEIGHTS_FORM = "expected VERSION=WEIGHT with WEIGHT 0..100, e.g. 1=90 or v2=10"
SHADOW_FORM = "expected VERSION:PERCENT with PERCENT in (0, 100], e.g. 3:20"
MATCH_FORM = (
    "expected SOURCE:NAME=VALUE->VERSION with SOURCE header or cookie and '=' exact, "
    "'^=' prefix or '~=' regex, e.g. header:x-beta=yes->3"
)

_WEIGHT = re.compile(r"(?P<version>[^=\s]+)=(?P<weight>\d{1,3})")
_SHADOW = re.compile(r"(?P<version>[^:\s]+):(?P<percent>\d+(?:\.\d+)?)%?")
# Versions are MLflow numbers; people write them "v3" as often as "3".
_V_NUMBER = re.compile(r"[vV](\d+)")
_OP_BY_MARK: dict[str, Op] = {"^": "prefix", "~": "regex"}


def parse_weights(items: Iterable[str]) -> tuple[Route, ...]:
    """``["1=90", "v2=10"]`` -> routes 1 (90%) and 2 (10%), in the order given."""
    routes: list[Route] = []
    for item in items:
        found = _WEIGHT.fullmatch(item.strip())
        if found is None:
            raise PolicyError(f"{item!r}: {WEIGHTS_FORM}")
        route = Route(_version(found["version"]), int(found["weight"]))
        _check(item, WEIGHTS_FORM, route.validate, "route")
        routes.append(route)
    if not routes:
        raise PolicyError(f"no weights given; {WEIGHTS_FORM}")
    return tuple(routes)


def parse_shadow(text: str) -> Shadow:
    """``"3:20"`` (or ``"v3:20%"``) -> mirror 20% of requests to version 3."""
    found = _SHADOW.fullmatch(text.strip())
    if found is None:
        raise PolicyError(f"{text!r}: {SHADOW_FORM}")
    shadow = Shadow(_version(found["version"]), float(found["percent"]))
    _check(text, SHADOW_FORM, shadow.validate, "shadow")
    return shadow


def parse_match(text: str) -> MatchRule:
    """``"header:x-beta=yes->3"``; ``^=`` for a prefix, ``~=`` for a regex."""
    # Split at the last arrow: a regex may contain "->", a version cannot.
    head, arrow, version = text.strip().rpartition("->")
    source, colon, rest = head.partition(":")
    equals = rest.find("=")
    if not arrow or not colon or source not in ("header", "cookie") or equals < 0:
        raise PolicyError(f"{text!r}: {MATCH_FORM}")
    name = rest[:equals]
    op: Op = "exact"
    if name and name[-1] in _OP_BY_MARK:
        name, op = name[:-1], _OP_BY_MARK[name[-1]]
    rule = MatchRule(
        source=_source(source),
        name=name,
        op=op,
        value=rest[equals + 1 :],
        version=_version(version.strip()),
    )
    _check(text, MATCH_FORM, rule.validate, "match")
    return rule


def _version(text: str) -> str:
    number = _V_NUMBER.fullmatch(text)
    return number[1] if number is not None else text


def _source(text: str) -> Source:
    return "header" if text == "header" else "cookie"


def _check(text: str, form: str, validate: Callable[[str], None], path: str) -> None:
    try:
        validate(path)
    except PolicyError as exc:
        raise PolicyError(f"{text!r}: {exc}; {form}") from None
