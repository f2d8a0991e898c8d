"""Webhook gates: confirm-* halt until they pass; a failed pre-rollout rolls back."""

from __future__ import annotations

from typing import Any

from router.rollout import CallGate, RolloutPhase, RolloutStatus, step
from tests.router.rollout.helpers import T0, make_spec, share, traffic, verdict

P = RolloutPhase
OK = verdict("Successful")


def hooks(*types: str) -> list[dict[str, Any]]:
    return [{"type": t, "url": f"https://ci.example/{t}"} for t in types]


def test_confirm_rollout_holds_pending_until_it_passes() -> None:
    spec = make_spec(webhooks=hooks("confirm-rollout", "event"))
    status, actions = step(RolloutStatus.new(T0), spec, None, T0)
    assert status.phase is P.PENDING and status.pending_gate == "confirm-rollout"
    assert actions[0] == CallGate("confirm-rollout") and traffic(actions) == []
    # No answer yet, or an answer in the very instant it was asked: still waiting.
    assert step(status, spec, None, T0 + 1) == (status, [])
    assert step(status, spec, None, T0, gate_ok=True) == (status, [])
    halted, actions = step(status, spec, None, T0 + 1, gate_ok=False)
    assert halted.phase is P.PENDING and halted.pending_gate == "confirm-rollout"
    assert halted.message.startswith("halted: the confirm-rollout gate did not pass")
    assert traffic(actions) == []
    assert step(halted, spec, None, T0 + 2, gate_ok=False) == (halted, [])  # asked again
    status, actions = step(halted, spec, None, T0 + 3, gate_ok=True)
    assert status.phase is P.PROGRESSING and status.pending_gate is None
    assert [share(a) for a in traffic(actions)] == [5]


def test_start_gates_run_in_order_and_one_answer_passes_one_gate() -> None:
    spec = make_spec(webhooks=hooks("pre-rollout", "confirm-rollout"))
    status, _ = step(RolloutStatus.new(T0), spec, None, T0)
    assert status.pending_gate == "confirm-rollout"
    status, actions = step(status, spec, None, T0 + 1, gate_ok=True)
    assert status.pending_gate == "pre-rollout" and status.gate_since == T0 + 1
    assert CallGate("pre-rollout") in actions
    # The same answer again at the same time does not pass the next gate.
    assert step(status, spec, None, T0 + 1, gate_ok=True) == (status, [])
    status, _ = step(status, spec, None, T0 + 2, gate_ok=True)
    assert status.phase is P.PROGRESSING


def test_failed_pre_rollout_gate_rolls_back_before_any_traffic_moves() -> None:
    spec = make_spec(webhooks=hooks("pre-rollout"))
    status, _ = step(RolloutStatus.new(T0), spec, None, T0)
    status, actions = step(status, spec, None, T0 + 1, gate_ok=False)
    assert status.phase is P.ROLLED_BACK
    assert status.rollback_reason == "the pre-rollout gate did not pass"
    assert traffic(actions) == []  # the baseline never stopped serving everything


def test_confirm_traffic_increase_before_each_weight_increase() -> None:
    spec = make_spec(step_weights=[10, 50], webhooks=hooks("confirm-traffic-increase"))
    status, actions = step(RolloutStatus.new(T0), spec, None, T0)
    assert status.phase is P.PROGRESSING and status.weight == 0
    assert status.pending_gate == "confirm-traffic-increase"
    assert [share(a) for a in traffic(actions)] == [0]
    status, actions = step(status, spec, None, T0 + 1, gate_ok=True)
    assert status.weight == 10 and [share(a) for a in traffic(actions)] == [10]
    status, _ = step(status, spec, OK, T0 + 61)
    assert status.weight == 10 and status.pending_gate == "confirm-traffic-increase"
    status, _ = step(status, spec, None, T0 + 62, gate_ok=False)
    assert status.weight == 10 and status.message.startswith("halted")
    status, actions = step(status, spec, None, T0 + 63, gate_ok=True)
    assert status.weight == 50 and [share(a) for a in traffic(actions)] == [50]


def test_confirm_promotion_holds_promoting() -> None:
    spec = make_spec(step_weights=[50], webhooks=hooks("confirm-promotion"))
    status, _ = step(RolloutStatus.new(T0), spec, None, T0)
    status, actions = step(status, spec, OK, T0 + 60)
    assert status.phase is P.PROMOTING and status.pending_gate == "confirm-promotion"
    assert actions[0] == CallGate("confirm-promotion")
    status, _ = step(status, spec, None, T0 + 61, gate_ok=False)
    assert status.phase is P.PROMOTING
    # Failing analysis still rolls back while the gate is waited for.
    rolled, _ = step(status, spec, verdict("Failed"), T0 + 62)
    assert rolled.phase is P.ROLLED_BACK
    status, _ = step(status, spec, None, T0 + 62, gate_ok=True)
    assert status.phase is P.SUCCEEDED and status.promoted


def test_notification_webhooks_are_not_gates() -> None:
    spec = make_spec(webhooks=hooks("event", "rollback", "post-rollout"))
    status, actions = step(RolloutStatus.new(T0), spec, None, T0)
    assert status.phase is P.PROGRESSING
    assert not any(isinstance(a, CallGate) for a in actions)
