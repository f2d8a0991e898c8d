"""The exception tree of router.rollout.errors."""

from __future__ import annotations

import pytest

from router.rollout import CommandError, RolloutError, SpecError, TransitionError


@pytest.mark.parametrize("error", [SpecError, TransitionError, CommandError])
def test_every_error_is_a_rollout_error(error: type[Exception]) -> None:
    assert issubclass(error, RolloutError)
    assert not issubclass(RolloutError, ValueError)


def test_the_errors_are_distinct() -> None:
    assert len({SpecError, TransitionError, CommandError}) == 3
    assert not issubclass(SpecError, CommandError)
    assert not issubclass(CommandError, TransitionError)
