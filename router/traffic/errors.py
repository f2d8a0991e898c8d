"""Exceptions raised by router.traffic.

Every message is one line naming the offending field (``routes[1].weight: ...``) or,
for the CLI forms, the text given and the form expected.

    TrafficError
    └── PolicyError   a routing policy, its JSON form or a CLI spec of it is invalid
"""

from __future__ import annotations

__all__ = ["PolicyError", "TrafficError"]


class TrafficError(Exception):
    """Base class of every error raised by router.traffic."""


class PolicyError(TrafficError):
    """A routing policy (or the JSON / CLI text it was built from) is invalid."""
