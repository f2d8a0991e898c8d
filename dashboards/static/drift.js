/* Drift: the models with evaluated windows (index), and for one model the per-feature
   band heatmap, one feature's distribution against the reference, and the link to the
   window's Evidently report. */
"use strict";

(function () {
  const { el, fill } = T;

  if (document.body.dataset.page === "drift-index") {
    T.poll(T.url("feeds/drift"), (doc) => {
      fill("drift-models", doc.models.length ? T.table([
        { label: "Model", value: (m) => el("a", { href: T.url("models/" + encodeURIComponent(m.model) + "/drift") }, m.model) },
        { label: "Latest verdict", value: (m) => el("span", {}, T.badge(m.verdict || "?", "band-" + m.verdict), " v" + m.version) },
        { label: "Windows", value: (m) => m.windows, num: true },
        { label: "Versions", value: (m) => m.versions, num: true },
        { label: "Last window ended", value: (m) => T.ago(m.last_window_end) },
      ], doc.models) : T.empty("No drift window has been evaluated yet.",
        el("p", {}, "The monitor judges live inputs window by window once a version with a reference profile serves traffic (", el("code", {}, "turnout serve"), " runs it; ", el("code", {}, "turnout monitor"), " alone). Register versions with ", el("code", {}, "--reference train.parquet"), ".")));
    }, { interval: 2000 });
    return;
  }

  const model = T.params.model;
  const versionSelect = document.getElementById("version");
  const windowSelect = document.getElementById("window");
  const featureSelect = document.getElementById("feature");
  const link = document.getElementById("report-link");
  let doc = null;
  let chosen = { window: null, feature: null };
  let version = T.params.version || "";

  function options(select, items, selected) {
    const before = select.value;
    select.replaceChildren(...items.map(([value, label]) => el("option", { value: value, selected: String(value) === String(selected) }, label)));
    if (selected === undefined && before) select.value = before;
  }

  function render(d) {
    doc = d;
    if (!d.windows.length) {
      fill("drift-summary", T.empty("No drift window of " + model + " has been evaluated yet.",
        el("p", {}, "Windows appear here as the monitor evaluates them; a version needs a reference profile (", el("code", {}, "turnout models register " + model + " model.onnx --reference train.parquet"), ") and live traffic.")));
      T.plot("chart-heatmap", [], {});
      return;
    }
    if (!version && d.version) version = d.version;
    options(versionSelect, d.versions.map((v) => [v, "v" + v]), d.version);
    const newest = d.windows[d.windows.length - 1];
    const drifting = d.features.filter((f, i) => d.z[i][d.z[i].length - 1] === 2);
    fill("drift-summary", el("p", {}, "Newest window: ", T.badge(newest.verdict, "band-" + newest.verdict), " " + T.time(newest.start) + " – " + T.time(newest.end) + " · " + newest.rows + " rows" + (drifting.length ? " · drifting: " + drifting.join(", ") : "")));

    const x = d.windows.map((w) => T.time(w.end));
    const ok = T.css("--heat-ok"), warn = T.css("--heat-warn"), drift = T.css("--heat-drift");
    const text = d.cells.map((row) => row.map((c) => (c ? c.band + (c.statistic ? " · " + c.statistic : "") + (c.value !== null ? " = " + T.num(c.value) : "") + (c.threshold !== null ? " (threshold " + T.num(c.threshold) + ")" : "") : "no entry")));
    T.plot("chart-heatmap", [{
      type: "heatmap", x: x, y: d.features, z: d.z, text: text, hoverinfo: "x+y+text", zmin: 0, zmax: 2, xgap: 1, ygap: 1,
      colorscale: [[0, ok], [0.33, ok], [0.34, warn], [0.66, warn], [0.67, drift], [1, drift]],
      colorbar: { tickvals: [0, 1, 2], ticktext: ["OK", "WARN", "DRIFT"], thickness: 12 },
    }], { hovermode: "closest", margin: { l: 140, r: 16, t: 12, b: 60 }, yaxis: { automargin: true, rangemode: "normal", autorange: "reversed" }, xaxis: { type: "category" } });

    if (chosen.window === null || !d.windows.some((w) => w.id === chosen.window)) chosen.window = newest.id;
    if (chosen.feature === null || !d.features.includes(chosen.feature)) chosen.feature = drifting[0] || d.features[0] || null;
    options(windowSelect, d.windows.slice().reverse().map((w) => [w.id, T.time(w.end) + " · " + w.verdict]), chosen.window);
    options(featureSelect, d.features.map((f) => [f, f]), chosen.feature);
    showReportLink();
  }

  function showReportLink() {
    const w = doc && doc.windows.find((x) => x.id === chosen.window);
    link.hidden = !w;
    if (w) link.href = T.siteUrl(w.report_url);
  }

  let lastDist = "";
  async function distribution() {
    if (chosen.window === null || !chosen.feature) return;
    const url = T.url("feeds/drift/reports/" + chosen.window + "/distribution?feature=" + encodeURIComponent(chosen.feature));
    let d;
    try {
      d = await T.getJSON(url);
    } catch (err) {
      fill("dist-notes", el("li", {}, "The distribution cannot be read: " + err.message));
      return;
    }
    const key = JSON.stringify([d.report_id, d.feature, d.current, d.reference]);
    const e = d.entry;
    document.getElementById("dist-entry").textContent = e
      ? chosen.feature + ": " + e.band + (e.statistic ? ", " + e.statistic : "") + (e.value !== null ? " = " + T.num(e.value) : "") + (e.threshold !== null ? ", threshold " + T.num(e.threshold) : "")
      : "";
    fill("dist-notes", (d.notes || []).map((n) => el("li", {}, n)));
    if (key === lastDist) return;
    lastDist = key;
    const colors = T.colors();
    const traces = [];
    if (d.reference.length) traces.push({ type: "bar", x: d.labels, y: d.reference, name: "reference", marker: { color: colors[0] } });
    if (d.current.length) traces.push({ type: "bar", x: d.labels, y: d.current, name: "window (" + d.current_rows + " values)", marker: { color: colors[1] } });
    T.plot("chart-distribution", traces, { barmode: "group", hovermode: "closest", xaxis: { type: "category", automargin: true }, yaxis: { title: { text: "share of rows" }, tickformat: ".0%" } });
  }

  const feedUrl = () => T.url("feeds/models/" + encodeURIComponent(model) + "/drift" + (version ? "?version=" + encodeURIComponent(version) : ""));
  const poll = T.poll(feedUrl, (d) => { render(d); distribution(); }, { interval: 2000 });
  versionSelect.addEventListener("change", () => { version = versionSelect.value; chosen = { window: null, feature: null }; poll.refresh(); });
  windowSelect.addEventListener("change", () => { chosen.window = Number(windowSelect.value); showReportLink(); distribution(); });
  featureSelect.addEventListener("change", () => { chosen.feature = featureSelect.value; distribution(); });
  function bindClick() {
    const node = document.getElementById("chart-heatmap");
    if (!window.Plotly || !node.on) return false;
    node.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (!p || !doc) return;
      const w = doc.windows[p.pointIndex[1]];
      chosen = { window: w ? w.id : chosen.window, feature: doc.features[p.pointIndex[0]] || chosen.feature };
      windowSelect.value = String(chosen.window);
      featureSelect.value = chosen.feature;
      showReportLink();
      distribution();
    });
    return true;
  }
  const binder = setInterval(() => { if (bindClick()) clearInterval(binder); }, 500);
})();
