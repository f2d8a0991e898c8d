"""The screenshot script reads the demo's output to find the pages to photograph."""

from __future__ import annotations

from dashboards.screenshots import DemoRun, parse_demo_line

DEMO_OUTPUT = """\
state directory: /tmp/x/state
server and dashboard: http://127.0.0.1:41234/  (rollouts, drift and alerts live)
scene 1: a good canary. v2 takes 5% -> 25% -> 50% -> 100% of traffic,
  rollout #1 started: breast-cancer v2, canary 5/25/50/100
  Progressing  v2 at   5%  step 1/8: weight 5%
  Succeeded    v2 at 100%  2 promoted: steps passed
scene 2: a bad canary. v3 was trained on corrupted labels; its accuracy
  rollout #2 started: breast-cancer v3, canary 5/25/50/100
  RolledBack   v3 at   0%  analysis Failed: accuracy failed
scene 3: drift.
still serving at http://127.0.0.1:41234/ with traffic; Ctrl-C to stop
"""


def test_parse_demo_output_finds_the_url_rollouts_and_the_end() -> None:
    run = DemoRun()
    lines = DEMO_OUTPUT.splitlines()
    for line in lines[:-1]:
        parse_demo_line(run, line)
    assert not run.serving
    parse_demo_line(run, lines[-1])
    assert run.serving and run.url == "http://127.0.0.1:41234" and run.model == "breast-cancer"
    assert run.started == [1, 2] and run.outcomes == {1: "Succeeded", 2: "RolledBack"}
    assert run.rollout("Succeeded") == 1 and run.rollout("RolledBack") == 2
    assert run.rollout("Aborted") is None
