/* Alerts: the outbox as people see it, with each delivery's state, and acknowledging. */
"use strict";

(function () {
  const { el, fill } = T;
  const status = document.getElementById("status");

  function deliveries(a) {
    if (!a.deliveries.length) return el("span", { class: "muted" }, "no sink");
    return el("ul", { class: "notes" }, a.deliveries.map((d) => el("li", {},
      T.badge(d.status, "st-" + d.status), " " + d.sink + " · " + d.attempts + " attempt" + (d.attempts === 1 ? "" : "s"),
      d.status === "delivered" ? " · " + T.ago(d.delivered_at) : d.status === "pending" ? " · next " + T.time(d.next_attempt_at) : "",
      d.last_error ? el("div", { class: "muted" }, d.last_error) : null)));
  }

  async function ack(a) {
    const answer = await T.act({
      title: "Acknowledge this alert?",
      message: a.kind + " on " + a.model + (a.version ? " v" + a.version : "") + ": " + (a.summary || a.dedup_key),
      confirm: "Acknowledge",
      url: T.apiUrl("alerts/" + encodeURIComponent(a.id) + "/ack"),
    });
    if (answer) {
      T.toast("Alert acknowledged.", "ok");
      poll.refresh();
    }
  }

  function render(doc) {
    const counts = doc.counts || {};
    document.getElementById("alert-counts").textContent = (counts.open || 0) + " open · " + (counts.acked || 0) + " acknowledged";
    if (!doc.alerts.length) {
      fill("alerts", T.empty(status.value === "open" ? "No open alerts." : "No alerts.",
        el("p", {}, "Drift, data-quality and rollback alerts appear here as the monitors raise them; try a sink with ", el("code", {}, "turnout alerts test SINK"), ".")));
      return;
    }
    fill("alerts", T.table([
      { label: "Raised", value: (a) => el("span", { class: "nowrap" }, T.time(a.created_at), a.repeats ? el("div", { class: "muted" }, "repeated " + a.repeats + "×, last " + T.ago(a.last_seen_at)) : null) },
      { label: "Severity", value: (a) => T.badge(a.severity, "sev-" + a.severity) },
      { label: "Alert", value: (a) => el("div", {}, el("strong", {}, a.kind), " · ", el("a", { href: T.url("models/" + encodeURIComponent(a.model)) }, a.model), a.version ? " v" + a.version : "",
          a.title ? el("div", {}, a.title) : null,
          a.summary ? el("div", { class: a.title ? "muted" : "" }, a.summary) : null,
          a.kind === "drift" ? el("div", {}, el("a", { href: T.url("models/" + encodeURIComponent(a.model) + "/drift" + (a.version ? "?version=" + encodeURIComponent(a.version) : "")) }, "drift of " + a.model + (a.version ? " v" + a.version : ""))) : null,
          el("details", {}, el("summary", {}, "payload"), el("pre", {}, JSON.stringify(a.payload, null, 2)))) },
      { label: "Deliveries", value: deliveries },
      { label: "Status", value: (a) => a.status === "acked"
          ? el("span", {}, T.badge("acknowledged"), el("div", { class: "muted" }, (a.acked_by || "") + " " + T.ago(a.acked_at)))
          : el("button", { type: "button", class: "ghost", onclick: () => ack(a), "aria-label": "Acknowledge " + a.kind + " alert on " + a.model }, "Acknowledge") },
    ], doc.alerts));
  }

  const url = () => T.url("feeds/alerts" + (status.value ? "?status=" + status.value : ""));
  const poll = T.poll(url, render, { interval: 1500 });
  status.addEventListener("change", () => poll.refresh());
})();
