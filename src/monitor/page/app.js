// Trident monitor page: plain JavaScript, no dependencies, no build step.
// Views: the runs list ("/") and one run ("/runs/ID"). A run's view folds the run's
// events (GET /api/runs/ID/events, Server-Sent Events, replayed then live) into node
// states, a DAG, a timeline, node details, an event log and totals.
"use strict";

(function () {
  const TOKEN = new URLSearchParams(location.search).get("token");
  const LIST_POLL_MS = 2000;
  const LOG_SHOWN = 1500;
  const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"];
  const FINAL = ["workflow_completed", "workflow_failed", "workflow_interrupted"];
  const app = document.getElementById("app");
  const conn = document.getElementById("conn");
  const crumbs = document.getElementById("crumbs");
  let cleanup = [];

  // ---- small helpers ------------------------------------------------------------------
  function withToken(path) {
    if (!TOKEN) return path;
    return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
  }
  async function api(path, options) {
    const response = await fetch(withToken(path), Object.assign({ headers: { Accept: "application/json" } }, options || {}));
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = { error: text }; }
    if (!response.ok) throw new Error((body && body.error) || response.status + " " + response.statusText);
    return body;
  }
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of [].concat(children || [])) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return node;
  }
  function svg(tag, attrs, children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of [].concat(children || [])) if (c) node.appendChild(c);
    return node;
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return "–";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    const m = Math.floor(ms / 60000), s = Math.round((ms % 60000) / 1000);
    return m + " min " + s + " s";
  }
  function fmtCost(c) {
    if (c === null || c === undefined) return "–";
    if (c === 0) return "$0";
    return "$" + (c < 0.01 ? c.toFixed(5) : c.toFixed(4));
  }
  function fmtTime(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toLocaleString();
  }
  function badge(status) {
    return el("span", { class: "badge s-" + status, text: status });
  }
  function json(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }
  function warnings(list) {
    if (!list || !list.length) return null;
    return el("div", { class: "warn", role: "alert" }, [
      el("strong", { text: "Problems reading artifacts (skipped):" }),
      el("ul", {}, list.map((w) => el("li", { text: w }))),
    ]);
  }
  // replaceChildren() turns null into the text "null": drop empty parts first.
  function fill(node, ...parts) {
    node.replaceChildren(...parts.filter((p) => p !== null && p !== undefined && p !== false));
  }
  function setConn(state, text) {
    conn.className = state;
    conn.textContent = text;
  }
  function link(path, text, attrs) {
    return el("a", Object.assign({ href: withToken(path), "data-nav": "1" }, attrs || {}), [text]);
  }

  // ---- navigation ---------------------------------------------------------------------
  function route() {
    cleanup.forEach((f) => f());
    cleanup = [];
    const match = location.pathname.match(/^\/runs\/([^/]+)$/);
    if (match) runView(decodeURIComponent(match[1]));
    else listView();
  }
  function go(path) {
    history.pushState({}, "", withToken(path));
    route();
    app.focus();
  }
  document.addEventListener("click", (e) => {
    const a = e.target.closest && e.target.closest("a[data-nav]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    go(new URL(a.href).pathname);
  });
  document.getElementById("home").href = withToken("/");
  document.getElementById("home").setAttribute("data-nav", "1");
  window.addEventListener("popstate", route);

  // ---- runs list ----------------------------------------------------------------------
  function listView() {
    document.title = "Runs · Trident monitor";
    crumbs.textContent = "runs";
    setConn("", "");
    const table = el("div", { class: "scroll" });
    const problems = el("div");
    const form = el("div");
    app.replaceChildren(el("h1", { text: "Runs" }), problems, form, el("div", { class: "card" }, [table]));
    let stopped = false;
    cleanup.push(() => { stopped = true; });
    api("/api/projects").then((p) => { if (!stopped) newRunForm(form, p); }).catch(() => {});
    async function refresh() {
      if (stopped) return;
      if (!document.hidden) {
        try {
          const list = await api("/api/runs");
          if (stopped) return;
          problems.replaceChildren(warnings(list.warnings) || "");
          table.replaceChildren(runsTable(list.runs));
          setConn("live", "updated " + new Date().toLocaleTimeString());
        } catch (e) {
          setConn("retry", "cannot reach the monitor: " + e.message);
        }
      }
      if (!stopped) { const t = setTimeout(refresh, LIST_POLL_MS); cleanup.push(() => clearTimeout(t)); }
    }
    refresh();
  }

  function runsTable(runs) {
    if (!runs.length) return el("p", { class: "muted", text: "No runs yet. Start one with `trident project run`; it shows up here by itself." });
    // Columns marked "opt" are hidden on narrow screens.
    const head = el("tr", {}, ["status", "run", "workflow", "started", "duration", "nodes ✓/✗/skip/cached", "tokens in/out", "cost"]
      .map((h, i) => el("th", { class: [i >= 4 ? "num" : "", i === 3 || i === 6 ? "opt" : ""].join(" ").trim() || null, scope: "col", text: h })));
    const rows = runs.map((r) => {
      const duration = r.duration_ms != null ? r.duration_ms : r.status === "running" && r.started_at ? Date.now() - new Date(r.started_at) : null;
      const tr = el("tr", { class: "row-link", "data-run": r.run_id }, [
        el("td", {}, [badge(r.status)]),
        el("td", { class: "mono" }, [link("/runs/" + encodeURIComponent(r.run_id), r.run_id.slice(0, 8), { title: r.run_id }),
          r.warnings && r.warnings.length ? el("span", { class: "error", title: r.warnings.join("\n"), text: " ⚠" }) : null]),
        el("td", { title: r.project }, [r.name || "?", r.error ? el("div", { class: "error", text: r.error.slice(0, 140) }) : null]),
        el("td", { class: "opt", text: fmtTime(r.started_at) }),
        el("td", { class: "num", text: fmtMs(duration) }),
        el("td", { class: "num", text: [r.nodes.succeeded, r.nodes.failed, r.nodes.skipped, r.nodes.cached].join(" / ") }),
        el("td", { class: "num opt", text: r.input_tokens + " / " + r.output_tokens }),
        el("td", { class: "num", text: fmtCost(r.cost_usd) }),
      ]);
      tr.addEventListener("click", (e) => { if (!e.target.closest("a")) go("/runs/" + encodeURIComponent(r.run_id)); });
      return tr;
    });
    return el("table", {}, [el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  function newRunForm(container, info) {
    if (!info || !info.allow_runs || !info.projects.length) return;
    const box = el("details", { class: "card" });
    box.appendChild(el("summary", {}, [el("strong", { text: "New run" })]));
    const projectSelect = el("select", { id: "nr-project" }, info.projects.map((p) => el("option", { value: p.project, text: (p.name || "?") + " — " + p.project })));
    const fields = el("div");
    const dry = el("input", { type: "checkbox", id: "nr-dry" });
    const status = el("div", { role: "status", "aria-live": "polite" });
    function renderFields() {
      const p = info.projects.find((x) => x.project === projectSelect.value);
      fields.replaceChildren();
      if (p && p.error) fields.appendChild(el("p", { class: "error", text: p.error }));
      for (const [name, f] of Object.entries((p && p.inputs) || {})) {
        const id = "nr-f-" + name;
        let input;
        if (f.type === "boolean") input = el("input", { type: "checkbox", id, "data-field": name, "data-type": f.type });
        else if (f.type === "number" || f.type === "integer") input = el("input", { type: "number", step: "any", id, "data-field": name, "data-type": f.type, required: f.required });
        else if (f.type === "array" || f.type === "object") input = el("textarea", { id, rows: 3, "data-field": name, "data-type": f.type, placeholder: f.type === "array" ? "[...] (JSON)" : "{...} (JSON)", required: f.required });
        else input = el("input", { type: "text", id, "data-field": name, "data-type": f.type || "string", required: f.required });
        fields.appendChild(el("label", { for: id }, [el("span", {}, [name, f.required ? " *" : "", " ", el("span", { class: "hint", text: "(" + (f.type || "string") + ") " + (f.description || "") })]), input]));
      }
    }
    projectSelect.addEventListener("change", renderFields);
    renderFields();
    const form = el("form", { class: "new-run" }, [
      el("label", { for: "nr-project" }, ["Project", projectSelect]),
      fields,
      el("label", { class: "row", for: "nr-dry" }, [dry, "Dry run (no model calls)"]),
      el("div", {}, [el("button", { type: "submit", text: "Start run" })]),
      status,
    ]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const inputs = {};
      try {
        for (const input of fields.querySelectorAll("[data-field]")) {
          const name = input.getAttribute("data-field"), type = input.getAttribute("data-type");
          if (type === "boolean") inputs[name] = input.checked;
          else if (input.value === "") continue;
          else if (type === "number" || type === "integer") inputs[name] = Number(input.value);
          else if (type === "array" || type === "object") inputs[name] = JSON.parse(input.value);
          else inputs[name] = input.value;
        }
      } catch (err) {
        status.replaceChildren(el("p", { class: "error", text: "Invalid JSON in a field: " + err.message }));
        return;
      }
      status.textContent = "Starting…";
      try {
        const r = await api("/api/runs", { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ project: projectSelect.value, inputs, dry_run: dry.checked }) });
        go("/runs/" + encodeURIComponent(r.run_id));
      } catch (err) {
        status.replaceChildren(el("pre", { class: "error", text: err.message }));
      }
    });
    box.appendChild(form);
    container.replaceChildren(box);
  }

  // ---- one run: state folded from events ------------------------------------------------
  function newNode(id, type) {
    return { id, type: type || null, status: "pending", started: null, ended: null, duration_ms: null,
      input_tokens: 0, output_tokens: 0, cost_usd: null, model: null, error: null, error_type: null,
      skip_reason: null, inputs: undefined, outputs: undefined, prompt: null, turns: [], tools: [], retries: [] };
  }

  function applyEvent(run, ev) {
    const data = ev.data || {};
    const t = Date.parse(ev.timestamp);
    if (ev.run_id === run.run_id) {
      if (ev.event === "workflow_started") {
        run.status = "running"; run.attempt = data.attempt || run.attempt + 1; run.ended = false;
        if (!run.started) run.started = t;
        if (data.name) run.name = data.name;
      } else if (FINAL.includes(ev.event)) {
        run.status = ev.event === "workflow_completed" ? "completed" : ev.event === "workflow_failed" ? "failed" : "interrupted";
        run.duration_ms = data.duration_ms != null ? data.duration_ms : run.duration_ms;
        run.error = data.error || null;
        run.ended = true; run.endedAt = t;
        for (const n of run.nodes.values()) if (n.status === "running") n.status = "pending";
      }
    }
    if (!ev.node_id || ev.run_id !== run.run_id) return;
    let n = run.nodes.get(ev.node_id);
    if (!n) { n = newNode(ev.node_id, data.type); run.nodes.set(ev.node_id, n); run.order.push(ev.node_id); run.graphChanged = true; }
    if (data.type && !n.type) n.type = data.type;
    switch (ev.event) {
      case "node_started":
        Object.assign(n, { status: "running", started: t, ended: null, duration_ms: null, error: null, error_type: null });
        break;
      case "node_completed":
      case "node_failed":
        n.status = ev.event === "node_completed" ? "completed" : "failed";
        n.ended = t; n.duration_ms = data.duration_ms != null ? data.duration_ms : n.duration_ms;
        if (n.started == null && n.duration_ms != null) n.started = t - n.duration_ms;
        if (data.input_tokens != null) n.input_tokens = data.input_tokens;
        if (data.output_tokens != null) n.output_tokens = data.output_tokens;
        if (data.model) n.model = data.model;
        if ("cost_usd" in data) n.cost_usd = data.cost_usd;
        if (ev.event === "node_failed") { n.error = data.error || null; n.error_type = data.error_type || null; }
        break;
      case "node_skipped":
        n.status = data.reason === "cached_from_checkpoint" ? "cached" : "skipped";
        n.skip_reason = data.reason || null;
        break;
      case "input_received": n.inputs = data.inputs; break;
      case "output_produced": n.outputs = data.outputs; break;
      case "prompt_rendered": n.prompt = data.prompt; if (data.model) n.model = data.model; break;
      case "agent_turn_started": n.turns.push({ turn: data.turn_number, started: t }); break;
      case "agent_turn_completed": {
        const turn = n.turns.find((x) => x.turn === data.turn_number && x.tool_calls === undefined) || (n.turns.push({ turn: data.turn_number }), n.turns[n.turns.length - 1]);
        Object.assign(turn, { tool_calls: data.tool_calls, input_tokens: data.input_tokens, output_tokens: data.output_tokens, ended: t });
        break;
      }
      case "agent_tool_called": n.tools.push({ name: data.tool_name, input: data.tool_input, at: t }); break;
      case "provider_retry": n.retries.push(data); break;
      default: break;
    }
  }

  // ---- one run: view --------------------------------------------------------------------
  function runView(runId) {
    document.title = runId.slice(0, 8) + " · Trident monitor";
    crumbs.replaceChildren(link("/", "runs"), " / ", el("span", { class: "mono", text: runId }));
    const run = { run_id: runId, name: null, status: "running", attempt: 0, started: null, duration_ms: null, error: null,
      ended: false, nodes: new Map(), order: [], edges: [], graphChanged: true, events: [], lastSeq: 0, selected: null, summary: null };
    const parts = {
      head: el("div"), problems: el("div"), totals: el("div", { class: "card", "aria-label": "Totals" }),
      dag: el("div", { class: "card" }), detail: el("div", { class: "card detail", "aria-live": "polite" }),
      gantt: el("div", { class: "card" }), log: el("div", { class: "card" }), streamProblems: [],
    };
    fill(app, parts.head, parts.problems, parts.totals,
      el("div", { class: "grid" }, [el("div", {}, [parts.dag, parts.gantt]), parts.detail]), parts.log);
    let stopped = false, source = null, drawQueued = false, ticker = null;
    cleanup.push(() => { stopped = true; if (source) source.close(); if (ticker) clearInterval(ticker); });
    const filters = { type: "", level: "DEBUG", node: "", text: "" };
    buildLogControls();

    function queueDraw() {
      if (drawQueued) return;
      drawQueued = true;
      requestAnimationFrame(() => { drawQueued = false; if (!stopped) draw(); });
    }

    api("/api/runs/" + encodeURIComponent(runId)).then((detail) => {
      if (stopped) return;
      run.summary = detail;
      run.name = run.name || detail.name;
      if (run.events.length === 0) {
        run.status = detail.status;
        run.ended = detail.status !== "running";
        run.duration_ms = detail.duration_ms;
        run.started = detail.started_at ? Date.parse(detail.started_at) : null;
      }
      for (const g of detail.graph.nodes) {
        if (!run.nodes.has(g.id)) { run.nodes.set(g.id, newNode(g.id, g.type)); run.order.push(g.id); }
        const n = run.nodes.get(g.id);
        if (!n.type) n.type = g.type;
        const s = detail.node_states[g.id];
        if (s && run.events.length === 0) {
          n.status = s.status; n.duration_ms = s.duration_ms != null ? s.duration_ms : null;
          n.started = s.started_at ? Date.parse(s.started_at) : null;
          if (n.started != null && n.duration_ms != null) n.ended = n.started + n.duration_ms;
          if (s.tokens) { n.input_tokens = s.tokens.input; n.output_tokens = s.tokens.output; }
          if ("cost_usd" in s) n.cost_usd = s.cost_usd;
          if (s.error) n.error = s.error;
        }
      }
      // Graph order first (level by level), then nodes only the events named.
      const graphIds = detail.graph.nodes.map((g) => g.id);
      run.order = graphIds.concat(run.order.filter((id) => !graphIds.includes(id)));
      run.edges = detail.graph.edges;
      run.graphChanged = true;
      parts.problems.replaceChildren(warnings(detail.warnings) || "");
      queueDraw();
    }).catch((e) => {
      fill(parts.head, el("h1", { text: "Run " + runId }), el("p", { class: "error", text: e.message }));
    });

    function connect() {
      const url = withToken("/api/runs/" + encodeURIComponent(runId) + "/events");
      source = new EventSource(url);
      setConn("retry", "connecting…");
      source.onopen = () => setConn("live", "live");
      let quietErrors = 0;
      source.onmessage = (m) => {
        quietErrors = 0;
        const seq = Number(m.lastEventId);
        if (seq && seq <= run.lastSeq) return; // never twice
        let ev;
        try { ev = JSON.parse(m.data); } catch (e) { return; }
        if (seq) run.lastSeq = seq;
        run.events.push(ev);
        applyEvent(run, ev);
        if (ev.run_id === run.run_id && FINAL.includes(ev.event)) {
          // The server closes the stream at the run's end: do not reconnect.
          source.close();
          setConn("ended", "run ended");
          api("/api/runs/" + encodeURIComponent(runId)).then((d) => { run.summary = d; queueDraw(); }).catch(() => {});
        }
        queueDraw();
      };
      source.addEventListener("trident_warning", (m) => {
        try { parts.streamProblems.push(JSON.parse(m.data).warning); } catch (e) { parts.streamProblems.push(m.data); }
        queueDraw();
      });
      source.onerror = () => {
        // A run that ended without a final event (its process was killed): the server
        // closes the stream once the run index says so; a reconnection that brought
        // nothing new means there is nothing more: do not reconnect forever.
        quietErrors += 1;
        if (!run.ended && quietErrors >= 2 && run.summary && run.summary.status !== "running") {
          source.close();
          run.ended = true;
        }
        if (source.readyState === EventSource.CLOSED) {
          if (run.ended) setConn("ended", "run ended");
          else setConn("retry", "stream closed");
        } else setConn("retry", "reconnecting…");
      };
    }
    connect();
    ticker = setInterval(() => { if (!run.ended && !document.hidden) queueDraw(); }, 1000);

    // Keyboard: "/" to the log's text filter, Escape closes the node detail.
    function onKey(e) {
      if (e.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
        e.preventDefault(); parts.log.querySelector("input[type=search]").focus();
      } else if (e.key === "Escape" && run.selected) { select(null); }
    }
    document.addEventListener("keydown", onKey);
    cleanup.push(() => document.removeEventListener("keydown", onKey));

    function select(id) {
      run.selected = id;
      filters.node = id || "";
      const nodeSelect = parts.log.querySelector("#f-node");
      if (nodeSelect) nodeSelect.value = filters.node;
      draw();
    }

    function draw() {
      drawHead(); drawTotals(); drawDag(); drawGantt(); drawDetail(); drawLog();
      parts.problems.replaceChildren(warnings(((run.summary && run.summary.warnings) || []).concat(parts.streamProblems)) || "");
    }

    function elapsed() {
      if (run.duration_ms != null && run.ended) return run.duration_ms;
      if (run.started == null) return null;
      return (run.ended && run.endedAt ? run.endedAt : Date.now()) - run.started;
    }

    function drawHead() {
      const s = run.summary || {};
      fill(parts.head,
        el("h1", {}, [(run.name || s.name || "run") + " ", badge(run.status)]),
        el("div", { class: "muted" }, [
          el("span", { class: "mono", text: run.run_id }), " · started " + fmtTime(s.started_at || (run.started && new Date(run.started).toISOString())),
          " · attempt " + Math.max(run.attempt, s.attempts || 1),
          s.dry_run ? " · dry run" : "",
          s.project ? " · " + s.project : "",
        ]),
        run.error || s.error ? el("pre", { class: "error", text: run.error || s.error }) : null);
    }

    function drawTotals() {
      const counts = { pending: 0, running: 0, completed: 0, failed: 0, skipped: 0, cached: 0 };
      let tin = 0, tout = 0, cost = 0, priced = false, retries = 0;
      for (const n of run.nodes.values()) {
        counts[n.status] = (counts[n.status] || 0) + 1;
        tin += n.input_tokens || 0; tout += n.output_tokens || 0; retries += n.retries.length;
        if (n.cost_usd != null) { cost += n.cost_usd; priced = true; }
      }
      const item = (label, value) => el("div", {}, [el("b", { text: value }), el("span", { class: "muted", text: label })]);
      parts.totals.replaceChildren(el("div", { class: "totals" }, [
        item("duration", fmtMs(elapsed())),
        item("completed", counts.completed), item("running", counts.running), item("pending", counts.pending),
        item("failed", counts.failed), item("skipped", counts.skipped), item("cached", counts.cached),
        item("tokens in", tin), item("tokens out", tout), item("cost", priced ? fmtCost(cost) : "–"),
        item("retries", retries), item("events", run.events.length),
      ]));
    }

    // Layered layout: a node's layer is its longest path from a source; within a layer,
    // nodes are ordered by the mean position of their upstream nodes (fewer crossings).
    function layout() {
      const ids = run.order.filter((id) => run.nodes.has(id));
      const preds = new Map(ids.map((id) => [id, []]));
      for (const e of run.edges) if (preds.has(e.to) && preds.has(e.from)) preds.get(e.to).push(e.from);
      const layer = new Map();
      const visiting = new Set();
      function depth(id) {
        if (layer.has(id)) return layer.get(id);
        if (visiting.has(id)) return 0;
        visiting.add(id);
        let d = 0;
        for (const p of preds.get(id) || []) d = Math.max(d, depth(p) + 1);
        visiting.delete(id);
        layer.set(id, d);
        return d;
      }
      ids.forEach(depth);
      const layers = [];
      for (const id of ids) (layers[layer.get(id)] = layers[layer.get(id)] || []).push(id);
      const pos = new Map();
      layers.forEach((l, i) => {
        if (i > 0) {
          const key = (id) => { const p = preds.get(id); return p.length ? p.reduce((s, x) => s + pos.get(x), 0) / p.length : 1e9; };
          l.sort((a, b) => key(a) - key(b));
        }
        l.forEach((id, j) => pos.set(id, j));
      });
      return { layers, layer, pos };
    }

    function drawDag() {
      const { layers, layer, pos } = layout();
      const W = 150, H = 40, GX = 56, GY = 14, PAD = 8;
      const tallest = Math.max(1, ...layers.map((l) => (l ? l.length : 0)));
      const width = PAD * 2 + layers.length * W + Math.max(0, layers.length - 1) * GX;
      const height = PAD * 2 + tallest * H + (tallest - 1) * GY;
      const xy = (id) => {
        const l = layers[layer.get(id)];
        const offset = (tallest - l.length) * (H + GY) / 2;
        return [PAD + layer.get(id) * (W + GX), PAD + offset + pos.get(id) * (H + GY)];
      };
      const edges = run.edges.filter((e) => run.nodes.has(e.from) && run.nodes.has(e.to)).map((e) => {
        const [x1, y1] = xy(e.from), [x2, y2] = xy(e.to);
        const sx = x1 + W, sy = y1 + H / 2, tx = x2, ty = y2 + H / 2, mx = (sx + tx) / 2;
        const path = svg("path", { class: "edge" + (e.condition ? " cond" : ""), d: `M${sx},${sy} C${mx},${sy} ${mx},${ty} ${tx - 6},${ty}`, "marker-end": "url(#arrow)" });
        if (e.condition) path.appendChild(svg("title", {}, [document.createTextNode("if " + e.condition)]));
        return path;
      });
      const nodes = [...layer.keys()].map((id) => {
        const n = run.nodes.get(id);
        const [x, y] = xy(id);
        const label = id.length > 18 ? id.slice(0, 17) + "…" : id;
        const g = svg("g", { class: "node" + (run.selected === id ? " selected" : ""), "data-node": id, "data-status": n.status,
          transform: `translate(${x},${y})`, tabindex: "0", role: "button", "aria-label": `${id} (${n.type || "node"}): ${n.status}`,
          onclick: () => select(run.selected === id ? null : id),
          onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(run.selected === id ? null : id); } } }, [
          svg("title", {}, [document.createTextNode(`${id} (${n.type || "?"}): ${n.status}${n.duration_ms != null ? ", " + fmtMs(n.duration_ms) : ""}`)]),
          svg("rect", { width: W, height: H }),
          svg("text", { x: 8, y: 16 }, [document.createTextNode(label)]),
          svg("text", { class: "kind", x: 8, y: 31 }, [document.createTextNode((n.type || "?") + " · " + n.status + (n.status === "running" && n.started ? " " + fmtMs(Date.now() - n.started) : n.duration_ms != null ? " " + fmtMs(n.duration_ms) : ""))]),
        ]);
        return g;
      });
      const focused = document.activeElement && document.activeElement.getAttribute && document.activeElement.getAttribute("data-node");
      const defs = svg("defs", {}, [svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "0", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto" },
        [svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "currentColor" })])]);
      const picture = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "The run's DAG",
        style: `color: var(--muted); width: 100%; max-width: ${width}px; min-width: ${Math.min(width, 520)}px; height: auto` }, [defs].concat(edges, nodes));
      const legend = el("div", { class: "legend", "aria-hidden": "true" }, ["pending", "running", "completed", "failed", "skipped", "cached"].map(badge));
      parts.dag.replaceChildren(el("h2", { text: "DAG" }), legend, el("div", { class: "dag" }, [picture]));
      if (focused) { const again = parts.dag.querySelector(`[data-node="${CSS.escape(focused)}"]`); if (again) again.focus(); }
    }

    function drawGantt() {
      const started = [...run.nodes.values()].filter((n) => n.started != null);
      if (!started.length) { parts.gantt.replaceChildren(el("h2", { text: "Timeline" }), el("p", { class: "muted", text: "No node has started yet." })); return; }
      started.sort((a, b) => a.started - b.started || a.id.localeCompare(b.id));
      const now = Date.now();
      const t0 = Math.min(...started.map((n) => n.started));
      const end = (n) => n.ended != null ? n.ended : n.status === "running" ? now : n.started + (n.duration_ms || 0);
      const t1 = Math.max(t0 + 1, ...started.map(end));
      const rows = [];
      for (const n of started) {
        const left = ((n.started - t0) / (t1 - t0)) * 100, w = ((end(n) - n.started) / (t1 - t0)) * 100;
        rows.push(el("div", { class: "label", title: n.id }, [link("/runs/" + encodeURIComponent(run.run_id), n.id, { onclick: (e) => { e.preventDefault(); e.stopPropagation(); select(n.id); } })]));
        rows.push(el("div", { class: "track" }, [el("div", { class: "bar s-" + n.status, style: `left:${left}%;width:${Math.max(w, 0.3)}%`, title: `${n.id}: ${fmtMs(end(n) - n.started)}` })]));
        rows.push(el("div", { class: "dur", text: fmtMs(n.duration_ms != null ? n.duration_ms : end(n) - n.started) }));
      }
      parts.gantt.replaceChildren(el("h2", { text: "Timeline" }), el("div", { class: "muted", text: "0 → " + fmtMs(t1 - t0) }), el("div", { class: "gantt" }, rows));
    }

    function drawDetail() {
      const n = run.selected && run.nodes.get(run.selected);
      if (!n) {
        parts.detail.replaceChildren(el("h2", { text: "Node detail" }), el("p", { class: "muted", text: "Select a node in the DAG (click, or Tab then Enter) to see its inputs, outputs, prompt, tokens, cost, errors, agent turns and retries. Escape closes." }));
        return;
      }
      const rows = [
        ["type", n.type || "?"], ["status", badge(n.status)], ["model", n.model], ["started", n.started ? new Date(n.started).toLocaleTimeString() : null],
        ["duration", n.duration_ms != null ? fmtMs(n.duration_ms) : n.status === "running" && n.started ? fmtMs(Date.now() - n.started) + " so far" : null],
        ["tokens", n.input_tokens || n.output_tokens ? n.input_tokens + " in / " + n.output_tokens + " out" : null],
        ["cost", n.cost_usd != null ? fmtCost(n.cost_usd) : null], ["skipped", n.skip_reason], ["retries", n.retries.length || null],
      ].filter((r) => r[1] !== null && r[1] !== undefined && r[1] !== "");
      const body = [el("h2", {}, ["Node ", el("span", { class: "mono", text: n.id }), " ", el("button", { class: "plain", type: "button", text: "Close", onclick: () => select(null) })]),
        el("dl", {}, rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, [v])]))];
      if (n.error) body.push(el("h3", { text: "Error" + (n.error_type ? " (" + n.error_type + ")" : "") }), el("pre", { class: "error", text: n.error }));
      if (n.inputs !== undefined) body.push(el("h3", { text: "Inputs" }), el("pre", { text: json(n.inputs) }));
      if (n.prompt) body.push(el("h3", { text: "Rendered prompt" }), el("pre", { text: n.prompt }));
      if (n.outputs !== undefined) body.push(el("h3", { text: "Outputs" }), el("pre", { text: json(n.outputs) }));
      if (n.turns.length) body.push(el("h3", { text: "Agent turns" }), el("ol", {}, n.turns.map((t) => el("li", { text: `turn ${t.turn}: ${t.tool_calls != null ? t.tool_calls + " tool calls" : "running"}${t.input_tokens != null ? ", " + t.input_tokens + "/" + t.output_tokens + " tokens" : ""}` }))));
      if (n.tools.length) body.push(el("h3", { text: "Agent tool calls" }), el("ul", {}, n.tools.map((t) => el("li", {}, [el("span", { class: "mono", text: t.name }), " ", el("span", { class: "muted", text: typeof t.input === "string" ? t.input : JSON.stringify(t.input) })]))));
      if (n.retries.length) body.push(el("h3", { text: "Retries" }), el("ul", {}, n.retries.map((r) => el("li", { text: `attempt ${r.attempt}: ${r.status || ""} ${r.error || ""} (waited ${fmtMs(r.delay_ms)})` }))));
      if (n.inputs === undefined && n.outputs === undefined && !n.prompt && n.status !== "pending") body.push(el("p", { class: "muted", text: "Inputs and outputs come from the run's verbose events (events.jsonl); this run has none for this node." }));
      fill(parts.detail, ...body);
    }

    function buildLogControls() {
      const type = el("select", { id: "f-type" }, [el("option", { value: "", text: "all events" })]);
      const level = el("select", { id: "f-level" }, LEVELS.map((l) => el("option", { value: l, text: l === "DEBUG" ? "all levels" : l + " and worse" })));
      const node = el("select", { id: "f-node" }, [el("option", { value: "", text: "all nodes" })]);
      const text = el("input", { type: "search", id: "f-text", placeholder: "text (press /)" });
      type.addEventListener("change", () => { filters.type = type.value; drawLog(); });
      level.addEventListener("change", () => { filters.level = level.value; drawLog(); });
      node.addEventListener("change", () => { filters.node = node.value; run.selected = node.value || null; draw(); });
      text.addEventListener("input", () => { filters.text = text.value.toLowerCase(); drawLog(); });
      parts.logBody = el("div", { class: "log scroll" });
      parts.logCount = el("span", { class: "muted" });
      parts.log.replaceChildren(el("h2", {}, ["Events ", parts.logCount]),
        el("div", { class: "filters", role: "search" }, [
          el("label", { for: "f-type" }, ["type", type]), el("label", { for: "f-level" }, ["level", level]),
          el("label", { for: "f-node" }, ["node", node]), el("label", { for: "f-text" }, ["text", text])]),
        parts.logBody);
    }

    function syncOptions(select, values) {
      const have = new Set([...select.options].map((o) => o.value));
      for (const v of values) if (!have.has(v)) select.appendChild(el("option", { value: v, text: v }));
    }

    function drawLog() {
      syncOptions(parts.log.querySelector("#f-type"), [...new Set(run.events.map((e) => e.event))].sort());
      syncOptions(parts.log.querySelector("#f-node"), run.order);
      parts.log.querySelector("#f-node").value = filters.node;
      const min = LEVELS.indexOf(filters.level);
      const shown = run.events.filter((e) =>
        (!filters.type || e.event === filters.type) &&
        LEVELS.indexOf(e.level) >= min &&
        (!filters.node || e.node_id === filters.node) &&
        (!filters.text || JSON.stringify(e).toLowerCase().includes(filters.text)));
      const last = shown.slice(-LOG_SHOWN);
      parts.logCount.textContent = `(${shown.length} of ${run.events.length}${shown.length > last.length ? ", last " + last.length + " shown" : ""})`;
      const rows = last.map((e) => el("tr", { class: "lv-" + e.level }, [
        el("td", { class: "num mono", text: e.seq }),
        el("td", { class: "mono", text: (e.timestamp || "").slice(11, 23) }),
        el("td", { text: e.level }),
        el("td", { class: "mono", text: e.event + (e.run_id !== run.run_id ? " (sub-run " + String(e.run_id).slice(0, 8) + ")" : "") }),
        el("td", { class: "mono", text: e.node_id || "" }),
        el("td", { class: "data", text: JSON.stringify(e.data || {}).slice(0, 300) }),
      ]));
      const stick = parts.logBody.scrollTop + parts.logBody.clientHeight >= parts.logBody.scrollHeight - 20;
      parts.logBody.replaceChildren(el("table", {}, [
        el("thead", {}, [el("tr", {}, ["seq", "time", "level", "event", "node", "data"].map((h) => el("th", { scope: "col", text: h })))]),
        el("tbody", {}, rows)]));
      if (stick) parts.logBody.scrollTop = parts.logBody.scrollHeight;
    }
  }

  route();
})();
