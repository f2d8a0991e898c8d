"""describe_status: one line a human reads in the CLI or on the dashboard."""

from __future__ import annotations

import pytest

from router.rollout import RolloutPhase, RolloutStatus, describe_status, step
from tests.router.rollout.helpers import T0, cmd, make_spec, started, verdict

P = RolloutPhase
OK = verdict("Successful")


def test_canary_analysis_progress() -> None:
    spec = make_spec(step_weights=[5, 25, 50, 100])
    status, _ = started(spec)
    status, _ = step(status, spec, OK, T0 + 60)
    assert (
        describe_status(status, spec, now=T0 + 102) == "step 4/8: canary at 25%, analysis 42/60 s"
    )
    # Without `now`, the time of the last update.
    assert describe_status(status, spec) == "step 4/8: canary at 25%, analysis 0/60 s"


def test_canary_pause_and_approval() -> None:
    spec = make_spec(steps=[{"setWeight": 10}, {"pause": {"duration": 30}}, {"pause": {}}])
    status, _ = started(spec)
    assert describe_status(status, spec, now=T0 + 12) == "step 2/3: canary at 10%, pause 12/30 s"
    status, _ = step(status, spec, None, T0 + 30)
    assert describe_status(status, spec) == (
        "paused at step 3/3: canary at 10%: waiting for approval"
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"strategy": "bluegreen"}, "pre-promotion: preview of 2, analysis 10/60 s"),
        ({"strategy": "abtest", "abtest": {"split": 20}}, "A/B test: 20% to 2, 10/3600 s"),
        (
            {"strategy": "shadow", "shadow_percent": 10},
            "shadow: 10% mirrored to 2, analysis 10/60 s",
        ),
    ],
)
def test_other_strategies(fields: dict[str, object], expected: str) -> None:
    spec = make_spec(**fields)
    status, _ = started(spec)
    assert describe_status(status, spec, now=T0 + 10) == expected


def test_post_promotion_and_endings() -> None:
    spec = make_spec(strategy="bluegreen")
    status, _ = started(spec)
    post, _ = step(status, spec, OK, T0 + 60)
    assert describe_status(post, spec, now=T0 + 75) == (
        "post-promotion: 2 at 100%, analysis 15/60 s"
    )
    done, _ = step(post, spec, OK, T0 + 120)
    assert describe_status(done, spec) == "succeeded: 2 promoted to champion"
    back, _ = step(post, spec, verdict("Failed", "5xx 3%"), T0 + 70)
    assert describe_status(back, spec) == "rolled back to 1: analysis Failed: 5xx 3%"
    aborted, _ = step(status, spec, None, T0 + 5, command=cmd("abort", by="ana"))
    assert describe_status(aborted, spec) == "aborted, back on 1: aborted by ana"


def test_pending_and_gates() -> None:
    spec = make_spec(webhooks=[{"type": "confirm-rollout", "url": "https://x"}])
    assert describe_status(RolloutStatus.new(T0), spec) == (
        "pending: not started yet (canary 1 -> 2)"
    )
    status, _ = started(spec)
    assert describe_status(status, spec) == (
        "pending: waiting for the confirm-rollout gate (canary 1 -> 2)"
    )


def test_unresolved_baseline_reads_as_the_champion() -> None:
    spec = make_spec().model_copy(update={"baseline": None})
    assert describe_status(RolloutStatus.new(T0), spec).endswith("(canary the champion -> 2)")


def test_failed_and_promoting() -> None:
    spec = make_spec(
        step_weights=[50], webhooks=[{"type": "confirm-promotion", "url": "https://x"}]
    )
    status, _ = started(spec)
    status, _ = step(status, spec, OK, T0 + 60)
    assert status.phase is P.PROMOTING
    assert describe_status(status, spec) == "promoting 2: waiting for the confirm-promotion gate"
    failed = RolloutStatus(phase=P.FAILED, rollback_reason="candidate 2 does not load")
    assert describe_status(failed, spec) == "failed: candidate 2 does not load"
