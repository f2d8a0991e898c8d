"""RolloutStatus: JSON round trip and its checks on stored input."""

from __future__ import annotations

import json

import pytest

from router.rollout import RolloutError, RolloutPhase, RolloutStatus


def test_a_new_status_is_pending() -> None:
    status = RolloutStatus.new(100.0)
    assert status.phase is RolloutPhase.PENDING
    assert (status.step_index, status.weight, status.promoted) == (0, 0, False)
    assert status.started_at == status.updated_at == status.step_started_at == 100.0
    assert not status.is_terminal


def test_round_trip_through_json() -> None:
    status = RolloutStatus(
        phase=RolloutPhase.PAUSED,
        step_index=3,
        weight=25,
        step_started_at=10.5,
        paused_reason="waiting",
        approved_steps=(1, 3),
        message="m",
        analysis_state={"n": [1, 2], "x": {"y": 1.5}},
        started_at=1.0,
        updated_at=11.0,
        promoted=True,
        rollback_reason=None,
        pending_gate="confirm-promotion",
        gate_since=10.0,
    )
    again = RolloutStatus.from_dict(json.loads(json.dumps(status.to_dict())))
    assert again == status
    assert isinstance(again.phase, RolloutPhase)
    assert again.approved_steps == (1, 3)


def test_missing_fields_take_defaults() -> None:
    assert RolloutStatus.from_dict({"phase": "Progressing"}).phase is RolloutPhase.PROGRESSING


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"phase": "Running"}, "status.phase: unknown phase 'Running'"),
        ({"weight": 101}, "status.weight: must be 0..100"),
        ({"weight": True}, "status.weight: must be an integer"),
        ({"step_index": "2"}, "status.step_index: must be an integer"),
        ({"started_at": "now"}, "status.started_at: must be a number"),
        ({"approved_steps": [1, "2"]}, "status.approved_steps: must be a list of integers"),
        ({"analysis_state": []}, "status.analysis_state: must be an object"),
        ({"colour": 1}, "status.colour: unknown field"),
    ],
)
def test_bad_stored_status_names_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(RolloutError, match="^" + message.replace(".", r"\.")):
        RolloutStatus.from_dict(data)
