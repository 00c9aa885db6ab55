// Live operator page: the alert queue (fetched, then pushed over a WebSocket), side-by-side
// review and keyboard adjudication. No framework; text goes in with textContent only.
//
// The alert under review changes only when the operator chooses another one: a new arrival is
// announced (banner, live region, an optional tone) and highlighted, never selected; after the
// final outcome the page says so and waits for a choice. Keys act only on the alert shown.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = $("operator").dataset.me;
  const alerts = new Map(); // id -> alert
  const fresh = new Set(); // ids announced and not yet opened
  let current = null; // the alert shown; only select() and finish() change it
  let pendingDecision = null;
  const CATS = { wanted_by_courts: "Wanted by the courts", suspect: "Suspect", court_conditions: "Court conditions",
                 mappa: "MAPPA", missing_vulnerable: "Missing / vulnerable" };
  const LABELS = { confirmed: "Confirmed match", false_alert: "False alert", not_actioned: "Not actioned" };
  const OUTCOME_LABELS = { engaged_no_arrest: "engaged, no arrest", arrested: "arrested",
    charged_or_cautioned: "charged or cautioned", bailed_or_released_under_investigation: "bailed / released under investigation",
    no_further_action: "no further action" };
  const store = {  // the operator's own choices survive a reload (localStorage; nothing personal)
    get: (k) => { try { return localStorage.getItem("openlfr." + k); } catch (e) { return null; } },
    set: (k, v) => { try { localStorage.setItem("openlfr." + k, v); } catch (e) { /* private mode */ } },
  };
  let order = store.get("order") || $("operator").dataset.order || "newest_first";
  let soundOn = store.get("sound") === "on";
  let audio = null;

  function needsWork(a) {
    return a.status === "pending" || (a.status === "confirmed" && (!a.outcome || a.outcome === "arrested"));
  }
  function queue() {
    const sign = order === "oldest_first" ? 1 : -1;
    return [...alerts.values()].filter(needsWork).sort((x, y) => sign * (x.id - y.id));
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
    el.className = [current === a.id ? "sel" : "", fresh.has(a.id) ? "new" : "", a.status].join(" ").trim();
    if (current === a.id) el.setAttribute("aria-current", "true");
    const t = new Date(a.raised_at);
    const head = document.createElement("span");
    head.textContent = `#${a.id} ${a.subject_ref} · ${CATS[a.category] || a.category}`
      + (a.status === "confirmed" ? " · outcome due" : "") + (fresh.has(a.id) ? " · NEW" : "")
      + ((a.sightings || 1) > 1 ? ` · seen ${a.sightings} times` : "");
    const sub = document.createElement("span");
    sub.className = "sub";
    sub.textContent = `${a.deployment} (#${a.deployment_id}) · ${a.camera} · ${t.toLocaleTimeString()} · ${a.score.toFixed(2)}`;
    el.append(head, sub);
    el.addEventListener("click", () => select(a.id));
    return el;
  }
  function render() {
    const q = queue();
    $("count").textContent = q.length;
    $("queue").replaceChildren(...q.map(li));
    $("order-toggle").textContent = order === "oldest_first" ? "Oldest first" : "Newest first";
    $("order-toggle").setAttribute("aria-pressed", order === "oldest_first" ? "true" : "false");
    show(current === null ? null : alerts.get(current));
  }
  let shown = null;
  function show(a) {
    $("detail").dataset.current = a ? String(a.id) : "";
    $("alert").hidden = !a;
    $("empty").hidden = !!a || !$("done").hidden;
    if (!a) { shown = null; return; }
    $("done").hidden = true;
    if (shown !== a.id) {
      // Each image request is an audited consultation on the server.
      $("img-probe").src = `/api/alerts/${a.id}/probe.jpg`;
      $("img-ref").src = `/api/alerts/${a.id}/reference.jpg`;
      $("msg").textContent = "";
      cancelReason();
      shown = a.id;
      $("sightings").hidden = true;  // until this alert's own sightings arrive
      loadSightings(a.id).catch(() => {});
    }
    $("a-cat").textContent = CATS[a.category] || a.category;
    $("a-ref").textContent = a.subject_ref;
    $("a-dep").textContent = `${a.deployment} (#${a.deployment_id})`;
    $("a-score").textContent = a.score.toFixed(3);
    $("a-cam").textContent = a.camera;
    $("a-time").textContent = new Date(a.raised_at).toLocaleString();
    $("a-id").textContent = a.id;
    $("decide").hidden = a.status !== "pending";
    $("outcome").hidden = a.status !== "confirmed";
    $("outcome-1").hidden = a.outcome === "arrested";
    $("outcome-2").hidden = a.outcome !== "arrested";
  }
  // An alert's sightings (issue 12 item 4): listing them and each crop are audited on the server.
  async function loadSightings(id) {
    const data = await api(`/api/alerts/${id}/sightings`);
    if (shown !== id) return;
    const a = alerts.get(id);
    $("s-count").textContent = data.count;
    $("sightings").hidden = data.count < 2;
    $("s-list").replaceChildren(...data.sightings.map((v) => {
      const el = document.createElement("li");
      el.dataset.sighting = v.id;
      if (v.crop_url && !v.first) {  // the first sighting's crop is the probe shown above
        const img = document.createElement("img");
        img.src = v.crop_url; img.alt = "Face seen by the camera"; img.width = 96; img.height = 96;
        el.appendChild(img);
      }
      const txt = document.createElement("span");
      txt.textContent = `${v.camera} · ${new Date(v.seen_at).toLocaleTimeString()} · ${v.score.toFixed(2)}`
        + (v.first ? " · raised the alert" : "") + (v.crop_held ? "" : " · image purged");
      el.appendChild(txt);
      return el;
    }));
    if (a && a.sightings !== data.count) { a.sightings = data.count; render(); }  // the queue's label
  }
  // The same person seen again: the alert is updated in place, never raised again.
  function sighted(u) {
    const a = alerts.get(u.id);
    if (!a) return;
    a.sightings = u.sightings;
    render();
    if (current === a.id) loadSightings(a.id).catch(() => {});
    $("live").textContent = `Alert #${a.id}: seen again on ${u.camera} (${u.sightings} sightings).`;
  }
  function select(id) {
    current = id;
    fresh.delete(id);
    $("done").hidden = true;
    if (!fresh.size) $("announce").hidden = true;
    render();
  }
  // The alert shown is finished (by this operator or another): say so, and wait for a choice.
  function finish(a, text) {
    current = null;
    $("done").textContent = `${text} Choose the next alert from the queue.`;
    $("done").hidden = false;
    render();
  }
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
    const decision = pendingDecision;
    try {
      await api(`/api/alerts/${a.id}/adjudicate`, { decision, reason });
      a.status = decision;
      cancelReason();
      if (a.status === "confirmed") { $("msg").textContent = `Recorded: ${LABELS[decision]}.`; render(); }
      else finish(a, `Alert #${a.id} done: ${LABELS[decision].toLowerCase()}.`);
    } catch (e) { $("msg").textContent = "Refused: " + e.message; }
  }
  async function submitOutcome(outcome) {
    const a = alerts.get(current);
    if (!a || a.status !== "confirmed") return;
    try {
      await api(`/api/alerts/${a.id}/outcome`, { outcome });
      a.outcome = outcome;
      if (needsWork(a)) { $("msg").textContent = "Outcome recorded: arrested. Now the result."; render(); }
      else finish(a, `Alert #${a.id} done: outcome recorded (${OUTCOME_LABELS[outcome] || outcome}).`);
    } catch (e) { $("msg").textContent = "Refused: " + e.message; }
  }
  function beep() {
    // A short tone made here (no audio file); only when the operator switched sound on.
    if (!soundOn) return;
    try {
      audio = audio || new AudioContext();
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "sine"; osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.25);
      document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
    } catch (e) { /* no audio device: the banner still shows */ }
  }
  function arrived(a) {
    const known = alerts.has(a.id);
    add(a);
    if (known || !needsWork(a)) { render(); return; }
    fresh.add(a.id);
    const text = `New alert #${a.id}: ${a.subject_ref} (${CATS[a.category] || a.category}) on ${a.deployment}, ${a.camera}.`
      + (current !== null ? ` You are still on alert #${current}.` : " Choose it in the queue to review it.");
    $("announce").textContent = text;
    $("announce").hidden = false;
    $("live").textContent = text;
    beep();
    render();
  }
  function updated(u) {
    const a = alerts.get(u.id);
    if (!a) return;
    const before = a.status + "/" + (a.outcome || "");
    Object.assign(a, { status: u.status, outcome: u.outcome });
    if (before === a.status + "/" + (a.outcome || "")) return;
    fresh.delete(a.id);
    const what = a.outcome ? `outcome recorded (${OUTCOME_LABELS[a.outcome] || a.outcome})` : LABELS[a.status].toLowerCase();
    if (current === a.id && !needsWork(a)) {
      finish(a, `Alert #${a.id} was dealt with by ${u.by || "another operator"}: ${what}.`);
    } else {
      render();
      // Still the same alert on screen, but its state changed under the operator: say so.
      if (current === a.id && u.by !== me) $("msg").textContent = `${u.by || "Another operator"} recorded: ${what}.`;
    }
  }
  document.querySelectorAll("[data-decision]").forEach((b) => b.addEventListener("click", () => askReason(b.dataset.decision)));
  document.querySelectorAll("[data-outcome]").forEach((b) => b.addEventListener("click", () => submitOutcome(b.dataset.outcome)));
  $("decide").addEventListener("submit", (e) => { e.preventDefault(); submitDecision(); });
  $("outcome").addEventListener("submit", (e) => e.preventDefault());
  $("order-toggle").addEventListener("click", () => {
    order = order === "oldest_first" ? "newest_first" : "oldest_first";
    store.set("order", order);
    render();
  });
  $("sound-toggle").checked = soundOn;
  $("sound-toggle").addEventListener("change", (e) => {
    soundOn = e.target.checked;
    store.set("sound", soundOn ? "on" : "off");
    if (soundOn) { try { audio = audio || new AudioContext(); audio.resume(); } catch (err) { /* no audio */ } }
  });
  $("reason").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); submitDecision(); }
    if (e.key === "Escape") { e.preventDefault(); cancelReason(); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement
        || e.ctrlKey || e.metaKey || e.altKey) return;
    // Only the alert on screen can be acted on; with none shown, decision keys do nothing.
    const a = current === null || $("alert").hidden ? null : alerts.get(current);
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
    else if (e.key === "j" && q.length) select(q[Math.min(i + 1, q.length - 1)].id);
    else if (e.key === "k" && q.length) select(q[Math.max(i - 1, 0)].id);
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
      if (msg.type === "alerts") msg.alerts.forEach(arrived); // one message per poll
      else if (msg.type === "update") updated(msg.alert);
      else if (msg.type === "sighting") sighted(msg.alert);
      else if (msg.type === "health") health(msg.cameras);
    };
    ws.onclose = () => {
      $("conn").textContent = "reconnecting…"; $("conn").className = "pill off";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 10000);
    };
  }
  render(); // the operator's saved order on the toggle at once, before the first list arrives
  load().catch((e) => { $("msg").textContent = e.message; });
  connect();
})();
