/* Open alerts, kept live: the alerts page (three lists), a node's alerts (one list) and
 * one alert's page. Rows come from the server (the page, or a snapshot's HTML) and are
 * updated in place from "alert.changed" events; which list a row is on follows
 * group_of in ops/console/selectors/alerts.py. What an event does not carry (the value,
 * who acked) comes with a fresh snapshot, asked for when a row is new or its severity or
 * latch changed, and on every (re)connect. A row someone is typing in (focus inside, or
 * its "More" open) is updated field by field, never replaced.
 */
(function () {
  "use strict";
  const Z = window.Zenith;
  const root = document.querySelector("[data-alerts-view]");
  if (!root) return;
  const view = root.dataset.alertsView; // "alerts", "node_alerts" or "alert"
  const key = root.dataset.key || null;
  const craft = root.dataset.spacecraft ? Number(root.dataset.spacecraft) : null;
  const only = root.dataset.alert ? Number(root.dataset.alert) : null;
  const RANK = { watch: 1, warning: 2, distress: 3, critical: 4, severe: 5 };

  function groupOf(a) {
    if (a.state === "normal") return null;
    if (a.shelved_until && Date.parse(a.shelved_until) > Date.now()) return "shelved";
    if (a.state === "acknowledged") return "acknowledged";
    return "firing";
  }
  const bodyOf = (group) =>
    root.querySelector('tbody[data-alert-group="' + group + '"]') || root.querySelector('tbody[data-alert-group="all"]');
  const rowOf = (id) => root.querySelector('tr[data-alert-id="' + id + '"]');
  const busy = (tr) => tr.contains(document.activeElement) || !!tr.querySelector("details[open]");
  const field = (tr, name) => tr.querySelector('[data-f="' + name + '"]');
  // Worst first, then newest: as the server orders them.
  const before = (a, b) => {
    const ra = RANK[a.dataset.severity] || 0, rb = RANK[b.dataset.severity] || 0;
    return ra !== rb ? ra > rb : a.dataset.started > b.dataset.started;
  };

  function fromHtml(html) {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    const tr = t.content.firstElementChild;
    Z.renderTimes(tr);
    Z.bindActions(tr);
    zones(tr);
    return tr;
  }
  function apply(tr, a) {
    tr.dataset.state = a.state;
    tr.dataset.severity = a.severity;
    tr.dataset.active = a.active ? "1" : "0";
    tr.dataset.shelved = a.shelved_until || "";
    const sev = field(tr, "severity");
    sev.textContent = a.severity;
    sev.className = "pill sev sev-" + a.severity;
    const state = field(tr, "state");
    state.textContent = a.state;
    state.className = "pill state-" + a.state;
    field(tr, "cleared").hidden = !!a.active;
    field(tr, "assignee").textContent = a.assignee || "—";
    const shelved = field(tr, "shelved");
    if (a.shelved_until) {
      shelved.innerHTML = '<time data-style="short"></time>';
      shelved.firstChild.setAttribute("datetime", a.shelved_until);
      Z.renderTimes(shelved);
    } else shelved.textContent = "—";
  }
  function place(tr, group) {
    const body = bodyOf(group);
    const rows = Array.from(body.querySelectorAll("tr[data-alert-id]")).filter((r) => r !== tr);
    const next = rows.find((r) => before(tr, r));
    if (next) { if (tr.nextElementSibling !== next) body.insertBefore(tr, next); }
    else if (tr.parentNode !== body || tr.nextElementSibling) body.appendChild(tr);
  }
  function counts() {
    root.querySelectorAll("tbody[data-alert-group]").forEach((body) => {
      const n = body.querySelectorAll("tr[data-alert-id]").length;
      const empty = body.querySelector("tr.empty");
      if (empty) empty.hidden = n > 0;
      const counter = document.querySelector('[data-count="' + body.dataset.alertGroup + '"]');
      if (counter) counter.textContent = n;
    });
    const open = document.querySelector('[data-count="open"]');
    if (open) open.textContent = root.querySelectorAll("tr[data-alert-id]").length;
  }

  // ---- snapshots (on every (re)connect, and when an event leaves something unknown) ----
  let pending = null;
  function ask() {
    if (view === "alert" || pending) return;
    pending = setTimeout(() => { pending = null; Z.live.refresh(view, key); }, 300);
  }
  function sync(data) {
    const keep = new Set();
    const order = {};
    data.rows.forEach((r) => {
      keep.add(String(r.id));
      let tr = rowOf(r.id);
      if (tr && busy(tr)) apply(tr, r.alert);
      else {
        const fresh = fromHtml(r.html);
        if (tr) tr.replaceWith(fresh);
        tr = fresh;
      }
      (order[r.group] = order[r.group] || []).push(tr);
    });
    root.querySelectorAll("tr[data-alert-id]").forEach((tr) => { if (!keep.has(tr.dataset.alertId)) tr.remove(); });
    Object.keys(order).forEach((group) => {
      const body = bodyOf(group);
      order[group].forEach((tr) => body.appendChild(tr));
    });
    const oncall = document.getElementById("oncall");
    if (oncall && data.oncall_html !== undefined) {
      oncall.innerHTML = data.oncall_html;
      Z.renderTimes(oncall);
    }
    counts();
  }

  // ---- live --------------------------------------------------------------------------------
  function changed(a) {
    if (craft !== null && a.spacecraft_id !== craft) return;
    if (only !== null && a.id !== only) return;
    const tr = rowOf(a.id);
    const group = groupOf(a);
    if (view === "alert") { stale(); if (tr && group) apply(tr, a); return; }
    if (!tr) { if (group) ask(); return; }
    if (!group) { tr.remove(); counts(); return; }
    const refetch = tr.dataset.severity !== a.severity || a.state === "latched";
    apply(tr, a);
    place(tr, group);
    counts();
    if (refetch) ask(); // a new value, or who acked a latched alert: the server knows
  }
  Z.live.on("alert.changed", (m) => changed(m.alert));
  // Escape closes an open "More…" and gives the focus back to it.
  root.addEventListener("keydown", (ev) => {
    const open = ev.key === "Escape" && ev.target.closest && ev.target.closest("details[open]");
    if (!open) return;
    open.open = false;
    open.querySelector("summary").focus();
  });
  document.addEventListener("zenith:done", (ev) => {
    if (!ev.detail.alert || !root.contains(ev.target)) return;
    if (view === "alert") { location.reload(); return; } // one's own action: its history
    const form = ev.target;
    const more = form.querySelector("details");
    if (more) more.open = false;
    form.querySelectorAll('input[name="comment"], input[name="until"]').forEach((i) => (i.value = ""));
    changed(ev.detail.alert);
  });

  // One alert's page: its history grows with every change, so it says so and reloads
  // when nobody is typing (and after a reconnect: it may have missed changes).
  let hellos = 0;
  function stale() {
    const form = root.querySelector("form");
    if (form && (form.contains(document.activeElement) || form.querySelector("details[open]"))) {
      document.getElementById("alert-changed").hidden = false;
    } else location.reload();
  }
  if (view === "alert") {
    Z.live.on("hello", () => { hellos += 1; if (hellos > 1) stale(); });
    const reload = document.querySelector("[data-reload]");
    if (reload) reload.addEventListener("click", () => location.reload());
  } else {
    Z.live.onSnapshot(view, (m) => { if (!key || m.key === key) sync(m.data); });
    Z.live.snapshot(view, key);
  }

  // ---- shelving "until": typed in the page's zone (UTC, or local with its offset) -------
  function offsetFor(input) {
    if (Z.timeMode !== "local" || !input.value) return 0;
    const at = new Date(input.value); // no zone: the browser's local time
    return isNaN(at) ? 0 : -at.getTimezoneOffset();
  }
  function zones(scope) {
    (scope || root).querySelectorAll('input[name="until"]').forEach((input) => {
      const form = input.form;
      form.querySelector('input[name="utc_offset_min"]').value = offsetFor(input);
      form.querySelectorAll("[data-zone]").forEach((el) => (el.textContent = Z.zoneLabel()));
    });
  }
  root.addEventListener("input", (ev) => { if (ev.target.name === "until") zones(ev.target.closest("tr") || root); });
  document.addEventListener("zenith:timemode", () => zones());
  zones();

  // A shelve that ran out moves its row back (the server unshelves it on its next sweep
  // and says so; until then the row should not claim it is still shelved).
  setInterval(() => {
    root.querySelectorAll('tr[data-alert-id][data-shelved]:not([data-shelved=""])').forEach((tr) => {
      if (Date.parse(tr.dataset.shelved) > Date.now() || view === "alert") return;
      tr.dataset.shelved = "";
      place(tr, groupOf({ state: tr.dataset.state }));
      counts();
    });
  }, 5000);
  counts();
})();
