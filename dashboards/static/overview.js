/* Overview: active rollouts, models, drift and alerts at a glance. */
"use strict";

(function () {
  const { el, fill } = T;

  function rolloutCard(r) {
    return el("article", { class: "card" },
      el("h3", {}, el("a", { href: T.url("rollouts/" + r.id) }, "#" + r.id + " " + r.model)),
      el("div", {}, T.badge(r.phase, "phase-" + r.phase), " v" + r.baseline + " → v" + r.candidate + " (" + r.strategy + ")"),
      el("div", { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": r.weight, "aria-label": "traffic to the candidate" },
        el("span", { style: "width:" + Math.max(0, Math.min(100, r.weight)) + "%" })),
      el("div", { class: "muted" }, r.weight + "% to v" + r.candidate + (r.steps ? " · step " + Math.min(r.step_index + 1, r.steps) + "/" + r.steps : "")),
      el("p", {}, r.summary || r.message || ""));
  }

  function render(doc) {
    const nothing = doc.models === 0 && !doc.active.length && !doc.finished.length;
    fill("overview-empty", nothing
      ? T.empty("No models are registered yet. Register one and start a rollout:",
          T.cmd("turnout models register fraud model.onnx --reference train.parquet\nturnout promote fraud 1\nturnout rollout start fraud --to 2 --steps 5,25,50,100"),
          el("p", {}, "Or run ", el("code", {}, "turnout demo"), " to watch a full rollout story."))
      : null);
    fill("active", doc.active.length
      ? el("div", { class: "cards" }, doc.active.map(rolloutCard))
      : T.empty("No rollout is running.", el("p", {}, "Start one with ", el("code", {}, "turnout rollout start MODEL --to VERSION"), "; it shows up here within a second.")));
    const glance = el("ul", {},
      el("li", {}, doc.models === null
        ? (doc.registry_error ? "Models: the registry cannot be read (" + doc.registry_error + ")" : "Models: no registry configured")
        : el("a", { href: T.url("models") }, doc.models + " registered model" + (doc.models === 1 ? "" : "s"))),
      el("li", {}, el("a", { href: T.url("alerts") }, doc.open_alerts + " open alert" + (doc.open_alerts === 1 ? "" : "s"))),
      el("li", {}, doc.drift.length
        ? el("span", {}, "Drift: ", doc.drift.map((d, i) => el("span", {}, i ? ", " : "", el("a", { href: T.url("models/" + encodeURIComponent(d.model) + "/drift") }, d.model), " ", T.badge(d.verdict || "?", "band-" + d.verdict))))
        : "Drift: no windows evaluated yet"));
    fill("glance", glance);
    fill("finished", doc.finished.length
      ? T.table([
          { label: "Rollout", value: (r) => el("a", { href: T.url("rollouts/" + r.id) }, "#" + r.id + " " + r.model) },
          { label: "Versions", value: (r) => "v" + r.baseline + " → v" + r.candidate },
          { label: "Phase", value: (r) => T.badge(r.phase, "phase-" + r.phase) },
          { label: "Finished", value: (r) => T.time(T.iso(r.finished_at)) },
          { label: "Summary", value: (r) => r.summary || r.message },
        ], doc.finished)
      : el("p", { class: "muted" }, "None yet."));
  }

  T.poll(T.url("feeds/overview"), render, { interval: 1000 });
})();
