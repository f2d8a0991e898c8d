/* Models: every registered model with its aliases and active rollout. */
"use strict";

(function () {
  const { el, fill } = T;

  function aliases(map) {
    const names = Object.keys(map || {}).sort();
    return names.length ? names.map((a) => el("span", {}, T.badge(a + " → v" + map[a]), " ")) : "none";
  }

  function render(doc) {
    if (!doc.models.length) {
      fill("models", T.empty("No models are registered yet.",
        T.cmd("turnout models register fraud model.onnx --reference train.parquet"),
        el("p", {}, "Or run ", el("code", {}, "turnout demo"), ".")));
      return;
    }
    fill("models", T.table([
      { label: "Model", value: (m) => el("a", { href: T.url("models/" + encodeURIComponent(m.name)) }, m.name) },
      { label: "Aliases", value: (m) => el("span", {}, aliases(m.aliases)) },
      { label: "Latest version", value: (m) => m.latest_version ? "v" + m.latest_version : null },
      { label: "Rollout", value: (m) => m.active_rollout
          ? el("a", { href: T.url("rollouts/" + m.active_rollout.id) }, T.badge(m.active_rollout.phase, "phase-" + m.active_rollout.phase), " #" + m.active_rollout.id + " → v" + m.active_rollout.candidate + " at " + m.active_rollout.weight + "%")
          : (m.rollouts ? m.rollouts + " finished" : "none") },
      { label: "Drift", value: (m) => el("a", { href: T.url("models/" + encodeURIComponent(m.name) + "/drift") }, "windows") },
    ], doc.models));
  }

  T.poll(T.url("feeds/models"), render, {
    interval: 2000,
    onError: (err) => fill("models", T.empty("The models cannot be listed: " + err.message)),
  });
})();
