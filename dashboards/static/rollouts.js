/* Rollouts: every rollout, newest first, from the control API. */
"use strict";

(function () {
  const { el, fill } = T;

  function render(list) {
    if (!list.length) {
      fill("rollouts", T.empty("No rollouts yet. Start one:",
        T.cmd("turnout rollout start MODEL --to VERSION --strategy canary --steps 5,25,50,100")));
      return;
    }
    fill("rollouts", T.table([
      { label: "Rollout", value: (r) => el("a", { href: T.url("rollouts/" + r.id) }, "#" + r.id + " " + r.model) },
      { label: "Strategy", value: (r) => r.strategy },
      { label: "Versions", value: (r) => "v" + r.baseline + " → v" + r.candidate },
      { label: "Phase", value: (r) => T.badge(r.phase, "phase-" + r.phase) },
      { label: "Weight", value: (r) => r.weight + "%", num: true },
      { label: "Started", value: (r) => T.time(T.iso(r.created_at)) },
      { label: "Summary", value: (r) => r.summary || r.message },
    ], list));
  }

  T.poll(T.apiUrl("rollouts?limit=100"), render, {
    interval: 1500,
    onError: (err) => fill("rollouts", T.empty("Rollouts cannot be listed: " + err.message)),
  });
})();
