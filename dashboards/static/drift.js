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
  const PREDICTION = "prediction (model output)";
  let doc = null;
  let chosen = { window: null, feature: null };
  let version = T.params.version || "";

  function options(select, items, selected) {
    const before = select.value;
    select.replaceChildren(...items.map(([value, label]) => el("option", { value: value, selected: String(value) === String(selected) }, label)));
    if (selected === undefined && before) select.value = before;
  }

  /* p-values span many decades: exponents below 0.001. */
  const pval = (p) => (p === null || p === undefined ? "–" : p < 0.001 ? p.toExponential(1) : p.toPrecision(2));
  const short = (x) => (x === null || x === undefined ? "–" : String(Number(Number(x).toPrecision(3))));
  const bandBadge = (band) => T.badge(band === "NO_DATA" ? "no data" : band, "band-" + band);

  /* One line for a heatmap cell: band, method, effect against the thresholds. */
  function cellText(c) {
    if (!c) return "no entry";
    let text = c.band + (c.method ? " · " + c.method : "");
    if (c.effect !== null) text += "<br>effect " + short(c.effect) + " (warn " + short(c.warn) + ", drift " + short(c.drift) + ")";
    if (c.p_adjusted !== null) text += "<br>p (BH) " + pval(c.p_adjusted);
    if (c.quality && c.quality !== "OK") text += "<br>data quality " + c.quality;
    return text;
  }

  function render(d) {
    doc = d;
    if (!d.windows.length) {
      fill("drift-summary", T.empty("No drift window of " + model + " has been evaluated yet.",
        el("p", {}, "Windows appear here as the monitor evaluates them; a version needs a reference profile (", el("code", {}, "turnout models register " + model + " model.onnx --reference train.parquet"), ") and live traffic.")));
      T.plot("chart-heatmap", [], {});
      fill("window-features", T.empty("No window yet."));
      return;
    }
    if (!version && d.version) version = d.version;
    options(versionSelect, d.versions.map((v) => [v, "v" + v]), d.version);
    const newest = d.windows[d.windows.length - 1];
    const drifting = d.features.filter((f, i) => d.z[i][d.z[i].length - 1] === 2);
    fill("drift-summary", el("p", {}, "Newest window: ", bandBadge(newest.verdict), " " + T.time(newest.start) + " – " + T.time(newest.end) + " · " + newest.rows + " rows" + (drifting.length ? " · drifting: " + drifting.join(", ") : "") + (newest.streak ? " · " + newest.streak + " drifting window" + (newest.streak > 1 ? "s" : "") + " in a row" : "")));

    const x = d.windows.map((w) => T.time(w.end) + " · #" + w.id);
    const rows = d.features.slice();
    const z = d.z.slice();
    const text = d.cells.map((row) => row.map(cellText));
    if (d.prediction) {
      rows.push(PREDICTION);
      z.push(d.prediction.z);
      text.push(d.prediction.cells.map(cellText));
    }
    const none = T.css("--heat-none"), ok = T.css("--heat-ok"), warn = T.css("--heat-warn"), drift = T.css("--heat-drift");
    // One row per feature must stay readable: the chart grows with the features.
    const chart = document.getElementById("chart-heatmap");
    chart.style.height = Math.max(260, 18 * rows.length + 110) + "px";
    T.plot(chart, [{
      type: "heatmap", x: x, y: rows, z: z, text: text, hovertemplate: "%{y}<br>%{x}<br>%{text}<extra></extra>", zmin: -1, zmax: 2, xgap: 1, ygap: 1,
      colorscale: [[0, none], [0.25, none], [0.25, ok], [0.5, ok], [0.5, warn], [0.75, warn], [0.75, drift], [1, drift]],
      colorbar: { tickvals: [-0.625, 0.125, 0.875, 1.625], ticktext: ["no data", "OK", "WARN", "DRIFT"], thickness: 12 },
    }], {
      hovermode: "closest", margin: { l: 150, r: 16, t: 8, b: 70 },
      yaxis: { automargin: true, rangemode: "normal", autorange: "reversed", type: "category", dtick: 1 },
      xaxis: { type: "category", tickangle: -45, nticks: 12, automargin: true },
    });

    if (chosen.window === null || !d.windows.some((w) => w.id === chosen.window)) chosen.window = newest.id;
    if (chosen.feature === null || !d.features.includes(chosen.feature)) chosen.feature = drifting[0] || d.features[0] || null;
    options(windowSelect, d.windows.slice().reverse().map((w) => [w.id, T.time(w.end) + " · #" + w.id + " · " + w.verdict + (w.drifted ? " (" + w.drifted + " drifted)" : "")]), chosen.window);
    options(featureSelect, d.features.map((f) => [f, f]), chosen.feature);
    showReportLink();
  }

  function showReportLink() {
    const w = doc && doc.windows.find((x) => x.id === chosen.window);
    link.hidden = !w;
    if (w) link.href = T.siteUrl(w.report_url);
  }

  /* -- one window, feature by feature ---------------------------------------------- */

  function effectCell(e) {
    if (e.effect === null) return "–";
    const scale = e.drift_threshold ? 2 * e.drift_threshold : null;
    const pos = (v) => Math.max(0, Math.min(100, (100 * v) / scale)) + "%";
    const bar = scale ? el("span", { class: "effect-bar", "aria-hidden": "true" },
      el("span", { class: "fill band-" + e.band, style: "width:" + pos(e.effect) }),
      e.warn_threshold !== null ? el("i", { style: "left:" + pos(e.warn_threshold) }) : null,
      el("i", { class: "drift", style: "left:50%" })) : null;
    const times = e.band === "DRIFT" && e.ratio !== null && e.ratio >= 1 ? " (" + short(e.ratio) + "× drift)" : "";
    return el("span", { class: "effect" }, bar, el("span", {}, short(e.effect) + times));
  }

  function qualityCell(q) {
    if (!q) return "–";
    const rates = [];
    if (q.missing_rate) rates.push("missing " + T.pct(q.missing_rate, 1));
    if (q.out_of_range_rate) rates.push("out of range " + T.pct(q.out_of_range_rate, 1));
    if (q.unseen_rate) rates.push("unseen " + T.pct(q.unseen_rate, 1));
    return el("div", {}, bandBadge(q.band), rates.length ? " " + rates.join(", ") : "",
      (q.issues || []).length ? el("ul", { class: "issues" }, q.issues.map((i) => el("li", {}, i))) : null);
  }

  function featureName(e) {
    if (e.prediction) return el("strong", {}, PREDICTION);
    return el("button", {
      type: "button", class: "linkish", "aria-pressed": String(e.name === chosen.feature),
      title: "Show " + e.name + " against the reference below",
      onclick: () => { chosen.feature = e.name; featureSelect.value = e.name; distribution(); renderDetail(detail); },
    }, e.name);
  }

  let detail = null;
  function renderDetail(w) {
    detail = w;
    if (!w) return;
    const s = w.summary;
    const judged = w.features.filter((f) => f.band !== "NO_DATA" && f.band !== "?").length;
    const facts = [
      s.rows !== null ? s.rows + " rows" : null,
      s.requests !== null ? s.requests + " requests" : null,
      s.reference_rows !== null ? "reference " + s.reference_rows + " rows" : null,
      s.drifted.length + " of " + judged + " features drifted" + (s.drift_share !== null ? " (" + T.pct(s.drift_share, 0) + ")" : ""),
      s.warned.length ? s.warned.length + " warned" : null,
      s.streak ? s.streak + " drifting window" + (s.streak > 1 ? "s" : "") + " in a row" : null,
      s.window_kind ? s.window_kind + " window of " + T.num(s.window_size) + (s.window_kind === "time" ? " s" : " rows") : null,
      s.replicas.length ? s.replicas.length + " replica" + (s.replicas.length > 1 ? "s" : "") : null,
      s.alpha_drift !== null ? "alpha WARN " + s.alpha_warn + ", DRIFT " + s.alpha_drift : null,
    ].filter(Boolean);
    fill("window-summary", el("p", {}, "Window #" + w.report_id + " ", T.time(w.window.start) + " – " + T.time(w.window.end) + ": ", bandBadge(s.verdict), " · " + facts.join(" · ")));
    // Notes every feature shares (how the statistic was computed) are said once, below.
    const shared = w.features.length > 1 ? (w.features[0].notes || []).filter((n) => w.features.every((f) => (f.notes || []).includes(n))) : [];
    const columns = [
      { label: "Feature", value: featureName },
      { label: "Band", value: (e) => bandBadge(e.band) },
      { label: "Method", value: (e) => el("span", { class: "nowrap" }, e.method || "–"), },
      { label: "Effect", value: effectCell },
      { label: "WARN / DRIFT at", value: (e) => (e.warn_threshold === null && e.drift_threshold === null ? null : el("span", { class: "nowrap" }, short(e.warn_threshold) + " / " + short(e.drift_threshold))), num: true },
      { label: "Statistic", value: (e) => short(e.statistic), num: true },
      { label: "p (BH)", value: (e) => el("span", { class: "nowrap" }, pval(e.p_adjusted)), num: true },
      { label: "Rows (window / ref.)", value: (e) => (e.current_count === null ? null : el("span", { class: "nowrap" }, e.current_count + " / " + e.reference_count)), num: true },
      { label: "Data quality", value: (e) => qualityCell(e.quality) },
      { label: "Notes", value: (e) => { const own = (e.notes || []).filter((n) => !shared.includes(n)); return own.length ? own.join("; ") : null; } },
    ];
    const rowAttrs = (e) => ({ class: (e.prediction ? "prediction " : "") + (e.name === chosen.feature && !e.prediction ? "chosen" : "") });
    // The features that need a look come first; the quiet ones wait behind a disclosure.
    const loud = (e) => e.band !== "OK" || (e.quality && e.quality.band !== "OK");
    const first = w.features.filter(loud);
    const quiet = w.features.filter((e) => !loud(e));
    if (w.prediction) first.push(Object.assign({ prediction: true }, w.prediction));
    const box = document.getElementById("window-features");
    const wasOpen = box.querySelector("details[open]") !== null;
    fill(box,
      first.length ? T.table(columns, first, { rowAttrs: rowAttrs }) : null,
      quiet.length ? el("details", { class: "quiet", open: wasOpen || !first.length },
        el("summary", {}, quiet.length + (first.length ? " more" : "") + " feature" + (quiet.length > 1 ? "s" : "") + " in band OK with no data quality issue"),
        T.table(columns, quiet, { rowAttrs: rowAttrs })) : null,
      !first.length && !quiet.length ? T.empty("This window has no feature entries.") : null);
    fill("window-notes", (s.notes || []).concat(shared.map((n) => "every feature: " + n)).map((n) => el("li", {}, n)));
  }

  let lastWindow = "";
  async function windowDetail() {
    if (chosen.window === null) return;
    let w;
    try {
      w = await T.getJSON(T.url("feeds/drift/reports/" + chosen.window));
    } catch (err) {
      fill("window-features", T.empty("The window cannot be read: " + err.message));
      return;
    }
    const key = JSON.stringify(w);
    if (key === lastWindow) return;
    lastWindow = key;
    renderDetail(w);
  }

  /* -- reference vs current ------------------------------------------------------- */

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
      ? chosen.feature + " in window #" + d.report_id + ": " + e.band + (e.method ? ", " + e.method : "") + (e.effect !== null ? ", effect " + short(e.effect) : "") + (e.drift_threshold !== null ? " (warn " + short(e.warn_threshold) + ", drift " + short(e.drift_threshold) + ")" : "") + (e.p_adjusted !== null ? ", p (BH) " + pval(e.p_adjusted) : "")
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

  function choose() {
    showReportLink();
    windowDetail();
    distribution();
  }

  const feedUrl = () => T.url("feeds/models/" + encodeURIComponent(model) + "/drift" + (version ? "?version=" + encodeURIComponent(version) : ""));
  const poll = T.poll(feedUrl, (d) => { render(d); choose(); }, { interval: 2000 });
  versionSelect.addEventListener("change", () => { version = versionSelect.value; chosen = { window: null, feature: null }; poll.refresh(); });
  windowSelect.addEventListener("change", () => { chosen.window = Number(windowSelect.value); choose(); });
  featureSelect.addEventListener("change", () => { chosen.feature = featureSelect.value; distribution(); renderDetail(detail); });
  function bindClick() {
    const node = document.getElementById("chart-heatmap");
    if (!window.Plotly || !node.on) return false;
    node.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (!p || !doc) return;
      const w = doc.windows[p.pointIndex[1]];
      const f = doc.features[p.pointIndex[0]];
      chosen = { window: w ? w.id : chosen.window, feature: f || chosen.feature };
      windowSelect.value = String(chosen.window);
      featureSelect.value = chosen.feature;
      choose();
    });
    return true;
  }
  const binder = setInterval(() => { if (bindClick()) clearInterval(binder); }, 500);
})();
