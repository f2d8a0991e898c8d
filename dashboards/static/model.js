/* One model: aliases, versions with their reference summary, champion history, rollouts. */
"use strict";

(function () {
  const { el, fill } = T;
  const model = T.params.model;

  function reference(v) {
    if (v.reference_error) return el("span", { class: "muted" }, "unreadable: " + v.reference_error);
    const r = v.reference;
    if (!r) return v.has_reference ? "…" : el("span", { class: "muted" }, "none (drift cannot be judged)");
    return el("details", {},
      el("summary", {}, r.rows + " rows · " + r.features + " features (" + r.numeric + " numeric, " + r.categorical + " categorical)"),
      el("ul", {}, (r.first_features || []).map((f) => el("li", {}, el("code", {}, f.name), " " + f.kind + ": " + f.range + (f.missing ? " · " + f.missing + " missing" : ""))),
        r.features > (r.first_features || []).length ? el("li", { class: "muted" }, "… and " + (r.features - r.first_features.length) + " more") : null));
  }

  function render(doc) {
    const names = Object.keys(doc.aliases).sort();
    fill("model-head", el("p", {}, names.length
      ? names.map((a) => el("span", {}, T.badge(a + " → v" + doc.aliases[a]), " "))
      : "No aliases yet: promote a version with ", names.length ? null : el("code", {}, "turnout promote " + model + " VERSION")),
      doc.description ? el("p", {}, doc.description) : null);
    fill("versions", doc.versions.length ? T.table([
      { label: "Version", value: (v) => "v" + v.version },
      { label: "Aliases", value: (v) => v.aliases.length ? el("span", {}, v.aliases.map((a) => el("span", {}, T.badge(a), " "))) : null },
      { label: "Status", value: (v) => v.status },
      { label: "Registered", value: (v) => T.time(v.created_at) },
      { label: "Format", value: (v) => v.source_format },
      { label: "Reference profile", value: reference },
    ], doc.versions) : T.empty("This model has no versions.", T.cmd("turnout models register " + model + " model.onnx --reference train.parquet")));
    fill("history", doc.history.length ? el("ol", { class: "timeline" }, doc.history.map((e) =>
      el("li", { class: e.kind === "model.register" ? "" : "change" },
        el("div", { class: "when" }, T.time(e.at) + " · " + e.actor),
        el("div", {}, e.kind === "model.register"
          ? "registered v" + (e.to_version || "?")
          : e.kind + ": " + (e.alias || "") + " " + (e.from_version ? "v" + e.from_version : "–") + " → " + (e.to_version ? "v" + e.to_version : "–")),
        e.reason ? el("div", { class: "muted" }, e.reason) : null)))
      : T.empty("No alias has moved yet.", el("p", {}, "Moves made with ", el("code", {}, "turnout promote"), ", rollbacks and rollouts appear here.")));
    fill("model-rollouts-list", doc.rollouts.length ? T.table([
      { label: "Rollout", value: (r) => el("a", { href: T.url("rollouts/" + r.id) }, "#" + r.id) },
      { label: "Versions", value: (r) => "v" + r.baseline + " → v" + r.candidate },
      { label: "Phase", value: (r) => T.badge(r.phase, "phase-" + r.phase) },
      { label: "Started", value: (r) => T.time(r.created_at) },
    ], doc.rollouts) : T.empty("No rollouts of this model yet.", T.cmd("turnout rollout start " + model + " --to VERSION --steps 5,25,50,100")));
  }

  T.poll(T.url("feeds/models/" + encodeURIComponent(model)), render, {
    interval: 2000,
    onError: (err) => fill("model-head", T.empty(err.status === 404 ? "There is no model named " + model + "." : "The model cannot be read: " + err.message)),
  });
})();
