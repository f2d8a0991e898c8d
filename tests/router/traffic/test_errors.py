from __future__ import annotations

from router.traffic import PolicyError, TrafficError


def test_policy_error_is_a_traffic_error() -> None:
    assert issubclass(PolicyError, TrafficError)
    assert issubclass(TrafficError, Exception)
