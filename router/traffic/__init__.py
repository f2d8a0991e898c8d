"""The gateway's split decision: weights, monotone sticky hashing, header/cookie match
rules and shadow traffic, plus the in-process routing table with atomic swap (pure)."""

from __future__ import annotations

from router.traffic.errors import PolicyError, TrafficError
from router.traffic.parse import parse_match, parse_shadow, parse_weights
from router.traffic.policy import (
    VERSION_PATTERN,
    MatchRule,
    Route,
    RoutingPolicy,
    Shadow,
    StickyKey,
    single,
)
from router.traffic.split import CompiledPolicy, Decision, Reason, extract_key, sticky_point
from router.traffic.table import RoutingTable

__all__ = [
    "VERSION_PATTERN",
    "CompiledPolicy",
    "Decision",
    "MatchRule",
    "PolicyError",
    "Reason",
    "Route",
    "RoutingPolicy",
    "RoutingTable",
    "Shadow",
    "StickyKey",
    "TrafficError",
    "extract_key",
    "parse_match",
    "parse_shadow",
    "parse_weights",
    "single",
    "sticky_point",
]
