from __future__ import annotations

from router.telemetry import errors


def test_every_error_is_a_telemetry_error_drawn_in_the_tree() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.TelemetryError)
        assert name in (errors.__doc__ or "")
    assert issubclass(errors.InvalidObservation, ValueError)
