/* turnout dashboard: what every page shares. Polling feeds, building DOM safely (text
   only, never innerHTML with data), the operator token, confirmations, charts. */
"use strict";

(function () {
  const body = document.body;
  const T = {
    base: body.dataset.base || "",
    site: body.dataset.site || "",
    api: body.dataset.api || "/api/v1",
    params: JSON.parse(document.getElementById("page-params").textContent || "{}"),
  };
  window.T = T;

  T.url = (path) => T.base + "/" + String(path).replace(/^\/+/, "");
  T.siteUrl = (path) => T.site + "/" + String(path).replace(/^\/+/, "");
  T.apiUrl = (path) => T.api + "/" + String(path).replace(/^\/+/, "");

  /* -- DOM ------------------------------------------------------------------------ */

  T.el = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  T.fill = function (target, ...children) {
    const node = typeof target === "string" ? document.getElementById(target) : target;
    if (!node) return null;
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
    node.removeAttribute("aria-busy");
    return node;
  };

  T.empty = function (message, ...hints) {
    return T.el("div", { class: "empty" }, T.el("p", {}, message), ...hints);
  };

  T.cmd = (text) => T.el("pre", {}, T.el("code", {}, text));

  T.badge = (text, cls) => T.el("span", { class: "badge " + (cls || "") }, text);

  T.table = function (columns, rows, opts) {
    const head = T.el("tr", {}, columns.map((c) => T.el("th", { scope: "col", class: c.num ? "num" : "" }, c.label)));
    const lines = rows.map((row) =>
      T.el("tr", opts && opts.rowAttrs ? opts.rowAttrs(row) : {},
        columns.map((c) => {
          const value = c.value(row);
          return T.el("td", { "data-label": c.label, class: c.num ? "num" : "" }, value === null || value === undefined ? "–" : value);
        })));
    return T.el("table", { class: "stack" }, T.el("thead", {}, head), T.el("tbody", {}, lines));
  };

  /* -- formatting ----------------------------------------------------------------- */

  T.date = (epoch) => (epoch === null || epoch === undefined ? null : new Date(epoch * 1000));
  T.time = function (epoch) {
    if (epoch === null || epoch === undefined) return "–";
    const d = new Date(epoch * 1000);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString();
  };
  T.iso = (text) => (text ? Date.parse(text) / 1000 : null);
  T.ago = function (epoch) {
    if (epoch === null || epoch === undefined) return "–";
    const s = Math.max(0, Date.now() / 1000 - epoch);
    if (s < 60) return Math.round(s) + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return (s / 3600).toFixed(1) + " h ago";
    return (s / 86400).toFixed(1) + " d ago";
  };
  T.pct = (x, digits) => (x === null || x === undefined ? "–" : (100 * x).toFixed(digits === undefined ? 2 : digits) + "%");
  T.ms = (s) => (s === null || s === undefined ? "–" : (1000 * s).toFixed(s < 0.01 ? 2 : 1) + " ms");
  T.num = (x) => (x === null || x === undefined ? "–" : Math.abs(x) >= 1000 || Number.isInteger(x) ? String(Math.round(x * 1000) / 1000) : Number(x).toPrecision(4));

  /* -- live status and polling ---------------------------------------------------- */

  const live = document.getElementById("live");
  let lastOk = 0;
  let failing = false;
  function showLive() {
    if (!live) return;
    if (failing) {
      live.className = "live down";
      live.textContent = "connection lost, retrying";
    } else if (lastOk) {
      live.className = "live ok";
      const s = Math.round((Date.now() - lastOk) / 1000);
      live.textContent = s <= 2 ? "live" : "updated " + s + " s ago";
    }
  }
  setInterval(showLive, 1000);

  T.getJSON = async function (url) {
    const response = await fetch(url, { cache: "no-store", headers: { accept: "application/json" } });
    let doc = null;
    try {
      doc = await response.json();
    } catch (e) {
      doc = null;
    }
    if (!response.ok) {
      const detail = doc && (doc.error || doc.detail || doc.title) ? doc.error || doc.detail || doc.title : response.statusText;
      const err = new Error(detail);
      err.status = response.status;
      err.doc = doc;
      throw err;
    }
    return doc;
  };

  /* Calls fn(doc) with the feed now and about every intervalMs while the tab is visible.
     onError(err) is told of HTTP errors (the live indicator covers lost connections). */
  T.poll = function (url, fn, opts) {
    const o = Object.assign({ interval: 1000, onError: null }, opts || {});
    let timer = null;
    let running = false;
    let current = url;
    let lastText = null;
    let lastTarget = null;
    async function tick() {
      clearTimeout(timer);
      if (document.hidden) return;
      if (running) return;
      running = true;
      try {
        const target = typeof current === "function" ? current() : current;
        const doc = await T.getJSON(target);
        failing = false;
        lastOk = Date.now();
        // Unchanged data is not drawn again: focus and open details stay where they are.
        const text = JSON.stringify(doc);
        if (text !== lastText || target !== lastTarget) {
          lastText = text;
          lastTarget = target;
          fn(doc);
        }
      } catch (err) {
        if (err.status) {
          failing = false;
          lastOk = Date.now();
          if (o.onError) o.onError(err);
        } else {
          failing = true;
        }
      } finally {
        running = false;
        showLive();
        timer = setTimeout(tick, o.interval);
      }
    }
    document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });
    tick();
    return { refresh: () => { lastText = null; tick(); }, setUrl: (u) => { current = u; tick(); } };
  };

  /* -- toasts --------------------------------------------------------------------- */

  T.toast = function (message, kind) {
    const box = document.getElementById("toasts");
    const item = T.el("div", { class: "toast " + (kind || "") }, message);
    box.append(item);
    setTimeout(() => item.remove(), kind === "bad" ? 9000 : 5000);
  };

  /* -- operator token and confirmed actions --------------------------------------- */

  const TOKEN_KEY = "turnout.token";
  T.token = () => sessionStorage.getItem(TOKEN_KEY) || "";

  /* Opens a modal dialog; resolves to the value of the button that closed it. Enter in
     its text field means the dialog's main button (enterValue), not the first one. */
  function openDialog(dialog, focus, enterValue) {
    return new Promise((resolve) => {
      const onKey = (event) => {
        if (event.key === "Enter" && event.target instanceof HTMLInputElement) {
          event.preventDefault();
          dialog.close(enterValue);
        }
      };
      dialog.addEventListener("keydown", onKey);
      dialog.addEventListener("close", () => {
        dialog.removeEventListener("keydown", onKey);
        resolve(dialog.returnValue);
      }, { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      if (focus) focus.focus();
    });
  }

  T.askToken = async function () {
    const dialog = document.getElementById("token-dialog");
    const input = document.getElementById("token-input");
    input.value = T.token();
    const answer = await openDialog(dialog, input, "save");
    if (answer === "save" && input.value.trim()) sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    if (answer === "clear") sessionStorage.removeItem(TOKEN_KEY);
    markToken();
    return answer === "save";
  };

  function markToken() {
    const button = document.getElementById("token-button");
    if (button) button.textContent = T.token() ? "Token ✓" : "Token";
  }
  markToken();
  document.getElementById("token-button").addEventListener("click", () => T.askToken());

  /* Ask for confirmation (with a reason), then POST to the control API with the token.
     Resolves to the answer document, or null when cancelled or refused. */
  T.act = async function (opts) {
    const dialog = document.getElementById("confirm-dialog");
    document.getElementById("confirm-title").textContent = opts.title;
    document.getElementById("confirm-text").textContent = opts.message;
    const ok = document.getElementById("confirm-ok");
    ok.textContent = opts.confirm || "Confirm";
    ok.className = opts.danger ? "danger" : "";
    const reason = document.getElementById("confirm-reason");
    reason.value = "";
    document.getElementById("confirm-token-note").hidden = Boolean(T.token());
    const answer = await openDialog(dialog, reason, "ok");
    if (answer !== "ok") return null;
    if (!T.token() && !(await T.askToken())) {
      T.toast("Nothing was done: an operator token is needed.", "bad");
      return null;
    }
    const body = reason.value.trim() ? JSON.stringify({ reason: reason.value.trim() }) : "";
    let response;
    try {
      response = await fetch(opts.url, {
        method: "POST",
        headers: { authorization: "Bearer " + T.token(), "content-type": "application/json", accept: "application/json" },
        body: body,
      });
    } catch (e) {
      T.toast("The server cannot be reached; nothing was done.", "bad");
      return null;
    }
    let doc = null;
    try {
      doc = await response.json();
    } catch (e) {
      doc = null;
    }
    if (!response.ok) {
      const detail = doc && (doc.detail || doc.error) ? doc.detail || doc.error : response.statusText;
      if (response.status === 401 || response.status === 403) {
        T.toast(detail + " — set an operator token with the Token button.", "bad");
      } else if (response.status === 404 || response.status === 405) {
        T.toast("This server has no such action (" + response.status + "): " + detail, "bad");
      } else {
        T.toast(detail, "bad");
      }
      return null;
    }
    return doc || {};
  };

  /* -- charts --------------------------------------------------------------------- */

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  T.colors = () => [1, 2, 3, 4, 5, 6].map((i) => css("--series-" + i));
  T.css = css;
  const redraws = [];
  T.onTheme = (fn) => redraws.push(fn);
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => redraws.forEach((fn) => fn()));

  T.layout = function (extra) {
    const fg = css("--fg");
    const grid = css("--grid");
    const base = {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: fg, family: "system-ui, sans-serif", size: 12 },
      margin: { l: 56, r: 16, t: 12, b: 40 },
      xaxis: { gridcolor: grid, zerolinecolor: grid, linecolor: grid },
      yaxis: { gridcolor: grid, zerolinecolor: grid, linecolor: grid, rangemode: "tozero" },
      legend: { orientation: "h", y: -0.2 },
      hovermode: "x unified",
      colorway: T.colors(),
      uirevision: "keep",
    };
    const out = Object.assign({}, base, extra || {});
    out.xaxis = Object.assign({}, base.xaxis, (extra || {}).xaxis || {});
    out.yaxis = Object.assign({}, base.yaxis, (extra || {}).yaxis || {});
    return out;
  };

  /* Draw (or update in place) a chart; data-points on the element counts the points. */
  T.plot = function (target, traces, layout) {
    const node = typeof target === "string" ? document.getElementById(target) : target;
    if (!node) return;
    const points = traces.reduce((n, t) => n + (t.x ? t.x.filter((_, i) => (t.y ? t.y[i] !== null && t.y[i] !== undefined : true)).length : 0), 0);
    node.dataset.points = String(points);
    if (!window.Plotly) {
      T.fill(node, T.el("p", { class: "note" }, "Charts need the plotly package installed on the server (it ships the Plotly.js bundle)."));
      return;
    }
    window.Plotly.react(node, traces, T.layout(layout), { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] });
    if (!node._resizer && window.ResizeObserver) {
      // The grid reflows when charts appear or the window narrows: follow the box.
      node._resizer = new ResizeObserver(() => window.Plotly.Plots.resize(node));
      node._resizer.observe(node);
    }
  };
})();
