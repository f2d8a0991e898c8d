from __future__ import annotations

import re

from router.telemetry import names


def test_every_metric_is_declared_once_with_valid_names() -> None:
    constants = {
        value
        for key, value in vars(names).items()
        if key.isupper() and isinstance(value, str) and value.startswith("turnout_")
    }
    assert constants == set(names.METRICS)
    for name, spec in names.METRICS.items():
        assert spec.name == name
        assert re.fullmatch(r"turnout_[a-z0-9_]+", name)
        assert name.endswith("_total") == (spec.type == "counter")
        assert all(re.fullmatch(r"[a-z_]+", label) for label in spec.labels)
        assert spec.help and "\n" not in spec.help
        assert name in (names.__doc__ or ""), f"{name} is not documented in the docstring"


def test_outcomes() -> None:
    assert names.OUTCOMES == ("ok", "client_error", "model_error", "timeout")
