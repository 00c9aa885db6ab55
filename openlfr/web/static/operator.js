// Live operator page: the alert queue (fetched, then pushed over a WebSocket), side-by-side
// review and keyboard adjudication. No framework; text goes in with textContent only.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const alerts = new Map(); // id -> alert
  let current = null;
  let pendingDecision = null;
  const $ = (id) => document.getElementById(id);
  const CATS = { wanted_by_courts: "Wanted by the courts", suspect: "Suspect", court_conditions: "Court conditions",
                 mappa: "MAPPA", missing_vulnerable: "Missing / vulnerable" };

  function needsWork(a) {
    return a.status === "pending" || (a.status === "confirmed" && (!a.outcome || a.outcome === "arrested"));
  }
  function queue() {
    return [...alerts.values()].filter(needsWork).sort((x, y) => x.id - y.id);
  }
  async function api(path, body) {
    const res = await fetch(path, {
      method: body ? "POST" : "GET",
      headers: body ? { "Content-Type": "application/json", "X-CSRF-Token": csrf } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((data.rule ? data.rule + ": " : "") + (data.detail || res.status));
    return data;
  }
  function add(a) {
    alerts.set(a.id, Object.assign(alerts.get(a.id) || {}, a));
  }
  async function load() {
    for (const status of ["pending", "confirmed"]) {
      (await api("/api/alerts?status=" + status)).forEach(add);
    }
    render();
  }
  function li(a) {
    const el = document.createElement("li");
    el.dataset.id = a.id;
    el.className = (current === a.id ? "sel " : "") + a.status;
    const t = new Date(a.raised_at);
    el.textContent = `#${a.id} ${CATS[a.category] || a.category} · ${a.camera} · ${t.toLocaleTimeString()} · ${a.score.toFixed(2)}`
      + (a.status === "confirmed" ? " · outcome due" : "");
    el.addEventListener("click", () => select(a.id));
    return el;
  }
  function render() {
    const q = queue();
    $("count").textContent = q.length;
    if (current === null || !q.some((a) => a.id === current)) current = q.length ? q[0].id : null;
    $("queue").replaceChildren(...q.map(li));
    show(current === null ? null : alerts.get(current));
  }
  let shown = null;
  function show(a) {
    $("empty").hidden = !!a;
    $("alert").hidden = !a;
    if (!a) { shown = null; return; }
    if (shown !== a.id) {
      // Each image request is an audited consultation on the server.
      $("img-probe").src = `/api/alerts/${a.id}/probe.jpg`;
      $("img-ref").src = `/api/alerts/${a.id}/reference.jpg`;
      $("msg").textContent = "";
      cancelReason();
      shown = a.id;
    }
    $("a-cat").textContent = CATS[a.category] || a.category;
    $("a-ref").textContent = a.subject_ref;
    $("a-score").textContent = a.score.toFixed(3);
    $("a-cam").textContent = a.camera;
    $("a-time").textContent = new Date(a.raised_at).toLocaleString();
    $("a-id").textContent = a.id;
    $("decide").hidden = a.status !== "pending";
    $("outcome").hidden = a.status !== "confirmed";
    $("outcome-1").hidden = a.outcome === "arrested";
    $("outcome-2").hidden = a.outcome !== "arrested";
  }
  function select(id) { current = id; render(); }
  const LABELS = { confirmed: "Confirmed match", false_alert: "False alert", not_actioned: "Not actioned" };
  function askReason(decision) {
    pendingDecision = decision;
    $("reason-box").hidden = false;
    $("reason-label").textContent = LABELS[decision] + " — reason";
    $("reason").value = "";
    $("reason").focus();
  }
  function cancelReason() {
    pendingDecision = null;
    $("reason-box").hidden = true;
  }
  async function submitDecision() {
    const a = alerts.get(current);
    const reason = $("reason").value.trim();
    if (!a || !pendingDecision) return;
    if (!reason) { $("msg").textContent = "A reason is required."; return; }
    try {
      await api(`/api/alerts/${a.id}/adjudicate`, { decision: pendingDecision, reason });
      a.status = pendingDecision;
      $("msg").textContent = `Recorded: ${LABELS[pendingDecision]}.`;
      cancelReason();
      if (a.status === "confirmed") { show(a); $("queue").replaceChildren(...queue().map(li)); }
      else render();
    } catch (e) { $("msg").textContent = "Refused: " + e.message; }
  }
  async function submitOutcome(outcome) {
    const a = alerts.get(current);
    if (!a || a.status !== "confirmed") return;
    try {
      await api(`/api/alerts/${a.id}/outcome`, { outcome });
      a.outcome = outcome;
      $("msg").textContent = "Outcome recorded.";
      render();
    } catch (e) { $("msg").textContent = "Refused: " + e.message; }
  }
  document.querySelectorAll("[data-decision]").forEach((b) => b.addEventListener("click", () => askReason(b.dataset.decision)));
  document.querySelectorAll("[data-outcome]").forEach((b) => b.addEventListener("click", () => submitOutcome(b.dataset.outcome)));
  $("decide").addEventListener("submit", (e) => { e.preventDefault(); submitDecision(); });
  $("outcome").addEventListener("submit", (e) => e.preventDefault());
  $("reason").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); submitDecision(); }
    if (e.key === "Escape") { e.preventDefault(); cancelReason(); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey || e.altKey) return;
    const a = current === null ? null : alerts.get(current);
    const q = queue();
    const i = q.findIndex((x) => x.id === current);
    const keys = { c: "confirmed", f: "false_alert", n: "not_actioned" };
    const outs = { e: "engaged_no_arrest", a: "arrested", 1: "charged_or_cautioned",
                   2: "bailed_or_released_under_investigation", 3: "no_further_action" };
    if (a && a.status === "pending" && keys[e.key]) { e.preventDefault(); askReason(keys[e.key]); }
    else if (a && a.status === "confirmed" && outs[e.key]) {
      const second = ["1", "2", "3"].includes(e.key);
      if (second === (a.outcome === "arrested")) { e.preventDefault(); submitOutcome(outs[e.key]); }
    }
    else if (e.key === "j" && i + 1 < q.length) select(q[i + 1].id);
    else if (e.key === "k" && i > 0) select(q[i - 1].id);
  });

  function health(cams) {
    const rows = cams.map((c) => {
      const tr = document.createElement("tr");
      for (const [v, n] of [[c.deployment, 0], [c.camera, 0], [c.fps.toFixed(1), 1], [c.dropped, 1]]) {
        const td = document.createElement("td");
        td.textContent = v;
        if (n) td.className = "n";
        tr.appendChild(td);
      }
      if (c.fps < 5) tr.className = "warn";
      return tr;
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 4; td.className = "muted"; td.textContent = "No deployment running";
      tr.appendChild(td); rows.push(tr);
    }
    $("cams").tBodies[0].replaceChildren(...rows);
  }
  let delay = 500;
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/alerts");
    ws.onopen = () => { delay = 500; $("conn").textContent = "live"; $("conn").className = "pill on"; load().catch(() => {}); };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "alert") { add(msg.alert); render(); }
      else if (msg.type === "health") health(msg.cameras);
    };
    ws.onclose = () => {
      $("conn").textContent = "reconnecting…"; $("conn").className = "pill off";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 10000);
    };
  }
  load().catch((e) => { $("msg").textContent = e.message; });
  connect();
})();
