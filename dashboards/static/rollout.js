/* One rollout: phase and step, actions, traffic and per-version charts with the analysis
   thresholds, the analysis tick by tick, and the decision timeline. The rollout document
   comes from the control API; the time series from the dashboard's feed. */
"use strict";

(function () {
  const { el, fill } = T;
  const id = T.params.id;
  let doc = T.params.rollout;
  let series = null;

  /* Where each command applies (docs/rollouts.md, Commands). */
  const COMMANDS = {
    approve: { phases: ["Paused"], says: "The paused step passes and the rollout goes on." },
    pause: { phases: ["Progressing", "Promoting", "PostPromotion"], says: "Traffic stays where it is until someone resumes or approves." },
    resume: { phases: ["Paused"], says: "The current step is judged again from its start." },
    promote: { phases: ["Progressing", "Paused", "Promoting"], says: "The remaining steps are skipped: the candidate becomes the champion and gets all traffic." },
    "promote-full": { phases: ["Progressing", "Paused", "Promoting", "PostPromotion"], says: "As promote, and any post-promotion window is skipped too." },
    abort: { phases: ["Pending", "Progressing", "Paused", "Promoting", "PostPromotion"], says: "Traffic goes back to the baseline at once and the champion alias is restored.", danger: true },
    retry: { phases: ["RolledBack", "Aborted", "Failed"], says: "The rollout starts again from Pending with the same spec." },
  };

  function stepLabel(step) {
    if (step.setWeight !== undefined) return "weight " + step.setWeight + "%";
    if (step.pause !== undefined) {
      const d = step.pause && (step.pause.duration_s || step.pause.duration);
      return d ? "pause " + d + " s" : "pause until approved";
    }
    if (step.analysis !== undefined) {
      const d = step.analysis && (step.analysis.duration_s || step.analysis.duration);
      return "analysis" + (d ? " " + d + " s" : "");
    }
    return Object.keys(step)[0] || "?";
  }

  function renderDoc(d) {
    doc = d;
    const steps = (d.spec && d.spec.steps) || [];
    const terminal = ["Succeeded", "RolledBack", "Aborted", "Failed"].includes(d.phase);
    document.getElementById("rollout-sub").textContent = d.model + ": v" + d.baseline + " → v" + d.candidate + " (" + d.strategy + ")";
    const phase = document.getElementById("phase");
    phase.textContent = d.phase;
    phase.className = "badge phase-" + d.phase;
    document.getElementById("step").textContent = steps.length ? "step " + Math.min(d.step_index + 1, steps.length) + "/" + steps.length : "";
    document.getElementById("weight").textContent = d.weight + "% to v" + d.candidate;
    document.getElementById("summary").textContent = d.summary || d.message || "";
    fill("steps", steps.length
      ? steps.map((s, i) => el("li", {
          class: i < d.step_index || (terminal && d.phase === "Succeeded") ? "done" : i === d.step_index && !terminal ? "current" : "",
          "aria-current": i === d.step_index && !terminal ? "step" : null,
        }, (i + 1) + ". " + stepLabel(s)))
      : el("li", {}, d.strategy + ": one window, no steps"));
    for (const button of document.querySelectorAll("#actions button")) {
      const rule = COMMANDS[button.dataset.command];
      const allowed = rule.phases.includes(d.phase);
      button.disabled = !allowed;
      button.title = allowed ? rule.says : "Not in phase " + d.phase;
    }
  }

  async function command(name) {
    const rule = COMMANDS[name];
    const label = name.replace("-", " ");
    const answer = await T.act({
      title: label.charAt(0).toUpperCase() + label.slice(1) + " rollout #" + id + "?",
      message: rule.says + " (" + doc.model + ": v" + doc.baseline + " → v" + doc.candidate + ", now " + doc.phase + ")",
      confirm: label.charAt(0).toUpperCase() + label.slice(1),
      danger: Boolean(rule.danger),
      url: T.apiUrl("rollouts/" + id + "/" + name),
    });
    if (!answer) return;
    const done = (answer.done || []).length ? " (" + answer.done.join("; ") + ")" : "";
    T.toast("rollout #" + id + ": " + name + ": " + answer.phase_before + " → " + answer.phase + done, "ok");
    docPoll.refresh();
    seriesPoll.refresh();
  }
  for (const button of document.querySelectorAll("#actions button")) {
    button.addEventListener("click", () => command(button.dataset.command));
  }

  /* -- charts ------------------------------------------------------------------------- */

  const DASH = { p50: "dot", p95: "dash", p99: "solid" };

  function versionColor(v) {
    const colors = T.colors();
    return v === String(series.candidate) ? colors[1] : v === String(series.baseline) ? colors[0] : colors[2];
  }

  function hline(y, name, color, x0, x1) {
    return { x: [x0, x1], y: [y, y], name: name, mode: "lines", line: { color: color, dash: "dash", width: 1.5 }, hoverinfo: "name+y" };
  }

  /* The charts start a little before the rollout and end a little after it (the traffic
     around it is context): dotted lines mark where the rollout itself began and ended. */
  function marks() {
    const line = { color: T.css("--muted"), width: 1, dash: "dot" };
    const at = [[series.started, "start"], [series.finished, "end"]].filter(([t]) => t !== null && t !== undefined && t >= series.since && t <= series.until);
    return {
      shapes: at.map(([t]) => ({ type: "line", xref: "x", yref: "paper", x0: T.date(t), x1: T.date(t), y0: 0, y1: 1, line: line })),
      annotations: at.map(([t, label]) => ({ xref: "x", yref: "paper", x: T.date(t), y: 1, yanchor: "bottom", text: label, showarrow: false, font: { size: 10, color: T.css("--muted") } })),
    };
  }

  function drawWeights() {
    const points = series.weights.points;
    const versions = [...new Set(points.flatMap((p) => Object.keys(p.weights).concat(Object.keys(p.mirror || {}))))];
    const until = T.date(series.until);
    const traces = [];
    for (const v of versions) {
      const x = points.map((p) => T.date(p.t)).concat([until]);
      const y = points.map((p) => p.weights[v] || 0);
      y.push(y[y.length - 1]);
      traces.push({ x, y, name: "v" + v + " configured", mode: "lines", line: { shape: "hv", color: versionColor(v), width: 2 } });
      if (points.some((p) => p.mirror && p.mirror[v])) {
        const m = points.map((p) => (p.mirror && p.mirror[v]) || 0);
        m.push(m[m.length - 1]);
        traces.push({ x, y: m, name: "v" + v + " mirrored", mode: "lines", line: { shape: "hv", color: versionColor(v), dash: "dot" } });
      }
    }
    const t = series.traffic.t.map(T.date);
    for (const [v, s] of Object.entries(series.traffic.versions)) {
      traces.push({ x: t, y: s.share.map((x) => (x === null ? null : 100 * x)), name: "v" + v + " observed", mode: "markers", marker: { color: versionColor(v), size: 4, opacity: 0.6 } });
    }
    T.plot("chart-weights", traces, Object.assign(marks(), { margin: { l: 56, r: 16, t: 18, b: 40 }, yaxis: { title: { text: "% of requests" }, range: [0, 105] } }));
  }

  function thresholdsOf(kind) {
    return Object.entries(series.thresholds).filter(([, t]) => t.kind === kind);
  }

  function drawErrors() {
    const t = series.traffic.t.map(T.date);
    const traces = Object.entries(series.traffic.versions).map(([v, s]) => ({
      x: t, y: s.error_rate.map((x) => (x === null ? null : 100 * x)), name: "v" + v, mode: "lines+markers",
      marker: { size: 3 }, line: { color: versionColor(v) }, connectgaps: false,
    }));
    const x0 = t[0], x1 = t[t.length - 1];
    const bad = T.css("--bad");
    for (const [name, th] of thresholdsOf("error_rate")) {
      if (th.max !== null) traces.push(hline(100 * th.max, name + ": max", bad, x0, x1));
      if (th.relative_max !== null) {
        const base = series.traffic.versions[series.baseline];
        if (base) traces.push({ x: t, y: base.error_rate.map((x) => (x === null ? null : 100 * x * th.relative_max)), name: name + ": ×" + th.relative_max + " baseline", mode: "lines", line: { color: bad, dash: "dot", width: 1.5 } });
      }
    }
    // A little room below zero: an error-free version draws on the axis line otherwise.
    const top = Math.max(0, ...traces.flatMap((tr) => tr.y.filter((v) => v !== null)));
    T.plot("chart-errors", traces, Object.assign(marks(), { margin: { l: 56, r: 16, t: 18, b: 40 }, yaxis: { title: { text: "errors, % of requests" }, range: [-0.04 * (top || 1), 1.08 * (top || 1)] } }));
  }

  function drawLatency() {
    const t = series.traffic.t.map(T.date);
    const traces = [];
    for (const [v, s] of Object.entries(series.traffic.versions)) {
      for (const q of ["p50", "p95", "p99"]) {
        traces.push({ x: t, y: s[q].map((x) => (x === null ? null : 1000 * x)), name: "v" + v + " " + q, mode: "lines", line: { color: versionColor(v), dash: DASH[q], width: q === "p99" ? 2 : 1.5 }, connectgaps: false });
      }
    }
    const x0 = t[0], x1 = t[t.length - 1];
    const bad = T.css("--bad");
    for (const [name, th] of thresholdsOf("latency")) {
      const q = "p" + Math.round(100 * (th.quantile || 0.5));
      if (th.max !== null) traces.push(hline(1000 * th.max, name + ": " + q + " max", bad, x0, x1));
      if (th.relative_max !== null) {
        const base = series.traffic.versions[series.baseline];
        if (base && base[q]) traces.push({ x: t, y: base[q].map((x) => (x === null ? null : 1000 * x * th.relative_max)), name: name + ": " + q + " ≤ ×" + th.relative_max + " baseline", mode: "lines", line: { color: bad, dash: "dot", width: 1.5 } });
      }
    }
    T.plot("chart-latency", traces, Object.assign(marks(), { margin: { l: 56, r: 16, t: 18, b: 40 }, yaxis: { title: { text: "latency, ms" }, type: "log", dtick: 1, rangemode: "normal" } }));
  }

  function drawAnalysis() {
    const box = document.getElementById("analysis-charts");
    const a = series.analysis;
    const names = Object.keys(a.metrics);
    if (!names.length) {
      fill(box, T.empty("No analysis tick yet.", el("p", {}, "The controller judges the candidate about every second once the rollout progresses; with ", el("code", {}, "analysis: null"), " it only runs timers.")));
      return;
    }
    if (box.querySelector(".empty")) box.replaceChildren();
    const t = a.t.map(T.date);
    const colors = T.colors();
    const bad = T.css("--bad");
    names.forEach((name, i) => {
      let holder = document.getElementById("analysis-" + i);
      if (!holder) {
        holder = el("div", { id: "analysis-" + i, class: "chart", role: "img", "aria-label": "Analysis metric " + name });
        box.append(el("section", { "aria-label": name }, el("h3", {}, name), el("p", { class: "muted", id: "analysis-rule-" + i }), holder));
      }
      const m = a.metrics[name];
      const th = series.thresholds[name] || {};
      const last = m.phase.length ? m.phase[m.phase.length - 1] : null;
      const rule = m.rule.length ? m.rule[m.rule.length - 1] : "";
      document.getElementById("analysis-rule-" + i).textContent = (last ? "now " + last + ". " : "") + (rule ? "rule: " + rule : "");
      const traces = [
        // Markers big enough that a metric judged on a single tick still shows.
        { x: t, y: m.value, name: "candidate v" + series.candidate, mode: "lines+markers", marker: { size: 6 }, line: { color: colors[1], width: 2 } },
        { x: t, y: m.baseline, name: "baseline v" + series.baseline, mode: "lines+markers", marker: { size: 6 }, line: { color: colors[0], width: 2 } },
      ];
      if (th.max !== undefined && th.max !== null) traces.push(hline(th.max, "max", bad, t[0], t[t.length - 1]));
      if (th.min !== undefined && th.min !== null) traces.push(hline(th.min, "min", bad, t[0], t[t.length - 1]));
      if (th.relative_max) traces.push({ x: t, y: m.baseline.map((b) => (b === null ? null : b * th.relative_max)), name: "×" + th.relative_max + " baseline", mode: "lines", line: { color: bad, dash: "dot" } });
      T.plot(holder, traces, { yaxis: { title: { text: th.kind || "" } } });
    });
  }

  /* -- decision timeline --------------------------------------------------------------- */

  function evidence(ev) {
    const metrics = ev.metrics || [];
    return el("div", { class: "evidence" },
      ev.reason ? el("p", {}, "Verdict: " + (ev.phase || "") + ": " + ev.reason) : null,
      metrics.length ? T.table([
        { label: "Metric", value: (m) => m.name },
        { label: "Phase", value: (m) => T.badge(m.phase, "verdict-" + m.phase) },
        { label: "Candidate", value: (m) => T.num(m.value), num: true },
        { label: "Baseline", value: (m) => T.num(m.baseline), num: true },
        { label: "Rule", value: (m) => m.threshold },
        { label: "Statistics", value: (m) => Object.entries(m.statistics || {}).map(([k, v]) => k + "=" + T.num(v)).join(", ") },
        { label: "Message", value: (m) => m.message },
      ], metrics) : null,
      (ev.actions_done || []).length ? el("p", {}, "Done: " + ev.actions_done.join("; ")) : null,
      el("details", {}, el("summary", {}, "raw evidence"), el("pre", {}, JSON.stringify(ev, null, 2))));
  }

  let openEntries = new Set();
  function drawTimeline() {
    const entries = series.timeline.slice().reverse();
    if (!entries.length) {
      fill("timeline", T.empty("No decision yet: the controller has not ticked on this rollout.", el("p", {}, "Is a controller running? ", el("code", {}, "turnout serve"), " runs one (role all), or ", el("code", {}, "turnout controller"), ".")));
      return;
    }
    const box = document.getElementById("timeline");
    for (const d of box.querySelectorAll("details[data-key]")) {
      if (d.open) openEntries.add(d.dataset.key); else openEntries.delete(d.dataset.key);
    }
    fill(box, el("ol", { class: "timeline" }, entries.slice(0, 200).map((e) => {
      const key = String(e.first_at);
      const change = e.phase_before !== e.phase_after || (e.actions || []).length > 0;
      return el("li", { class: change ? "change" : "" },
        el("div", { class: "when" }, T.time(e.first_at) + (e.count > 1 ? " – " + T.time(e.last_at) + " · " + e.count + " ticks" : "") + " · step " + (e.step_index + 1)),
        el("div", {}, T.badge(e.verdict, "verdict-" + e.verdict), " ", e.phase_before === e.phase_after ? e.phase_after : e.phase_before + " → " + e.phase_after),
        el("div", {}, e.reason),
        (e.actions || []).length ? el("div", { class: "muted" }, "done: " + e.actions.join("; ")) : null,
        el("details", { "data-key": key, open: openEntries.has(key) }, el("summary", {}, "evidence"), evidence(e.evidence || {})));
    })));
  }

  function renderSeries(s) {
    series = s;
    drawWeights();
    drawErrors();
    drawLatency();
    drawAnalysis();
    drawTimeline();
  }
  T.onTheme(() => series && renderSeries(series));

  const range = document.getElementById("range");
  const seriesUrl = () => T.url("feeds/rollouts/" + id + "/series" + (range.value ? "?range_s=" + range.value : ""));
  const docPoll = T.poll(T.apiUrl("rollouts/" + id), renderDoc, { interval: 1000 });
  const seriesPoll = T.poll(seriesUrl, renderSeries, { interval: 1000 });
  range.addEventListener("change", () => seriesPoll.refresh());
  renderDoc(doc);
})();
