/* The fleet board: tiles updated in place (fixed sizes: nothing reflows).
 *
 * Sources: the board embedded in the page and every "fleet" snapshot (on each
 * (re)connect and every 10 minutes, which renews the hour of eclipse forecast), live
 * "telemetry.fleet" (newest values; older ones are ignored) and "contact.state" events.
 * A one-second tick ages "last seen", flips eclipse markers at their forecast times and
 * keeps the counts. Gauges mirror ops/console/gauges.py.
 *
 * Alerts (for roles that may see them): the board carries every open alert of its nodes
 * and "alert.changed" events update that set; a tile's left edge is its node's worst open
 * alert that is not shelved (ops/console/selectors/alerts.py worst_of).
 */
(function () {
  "use strict";
  const Z = window.Zenith;
  const LATE_S = 60;
  const STALE_S = 300;
  const limits = JSON.parse(document.getElementById("fleet-limits").textContent);
  const tiles = new Map(); // slug -> {el, id, role, metrics, seen, contact, light, changes, alert}
  const byId = new Map();
  const stations = new Map(); // id -> {slug, el, busy, antennas}
  const contacts = new Map(); // contact id -> {craft, station}
  const RANK = { watch: 1, warning: 2, distress: 3, critical: 4, severe: 5 };
  const marks = new Map(); // open alert id -> {craft, severity, shelved (ms, 0: not shelved)}
  let seesAlerts = false;
  let nextUnshelve = Infinity;
  let filter = "all";
  let search = "";

  document.querySelectorAll(".tile").forEach((el) => {
    const t = { el: el, id: Number(el.dataset.id), slug: el.dataset.slug, role: el.dataset.role, name: el.dataset.name,
      metrics: {}, seen: null, contact: null, light: el.dataset.light || null, changes: [], alert: el.dataset.alert || null,
      gauges: {} };
    el.querySelectorAll(".g").forEach((g) => (t.gauges[g.dataset.m] = { el: g, bar: g.querySelector("i"), text: g.querySelector(".gv") }));
    t.ageEl = el.querySelector(".age");
    t.contactEl = el.querySelector("[data-contact]");
    tiles.set(t.slug, t);
    byId.set(t.id, t);
  });
  document.querySelectorAll(".station").forEach((el) => {
    stations.set(Number(el.dataset.id), { slug: el.dataset.station, el: el, ant: el.querySelector(".ant") });
  });

  // ---- gauges (as ops/console/gauges.py) ----------------------------------------------
  function level(name, value) {
    const l = limits[name];
    if (!l) return "";
    const [wl, wh, cl, ch] = l;
    if ((cl !== null && value <= cl) || (ch !== null && value >= ch)) return "crit";
    if ((wl !== null && value <= wl) || (wh !== null && value >= wh)) return "warn";
    return "";
  }
  const clamp = (p) => Math.max(0, Math.min(100, p));
  function gaugeValues(m) {
    const v = (name) => (m[name] ? m[name][1] : null);
    const out = {};
    const soc = v("battery_soc");
    out.battery = soc === null ? null : [clamp(soc * 100), Math.round(soc * 100) + "%", level("battery_soc", soc)];
    const pin = v("power_in_w"), draw = v("power_draw_w");
    if (pin === null || draw === null) out.power = null;
    else {
      const net = (pin - draw) / 1000;
      out.power = [clamp(pin > 0 ? (draw / pin) * 100 : 100), (net >= 0 ? "+" : "") + net.toFixed(1) + "kW", net < 0 ? "warn" : ""];
    }
    const temp = v("gpu_temp_c");
    const top = (limits.gpu_temp_c && limits.gpu_temp_c[3]) || 100;
    out.gpu_temp = temp === null ? null : [clamp((temp / top) * 100), Math.round(temp) + "°C", level("gpu_temp_c", temp)];
    const util = v("gpu_util");
    out.gpu_util = util === null ? null : [clamp(util * 100), Math.round(util * 100) + "%", ""];
    const used = v("storage_used_bytes"), free = v("storage_free_bytes");
    if (used === null || free === null || used + free <= 0) out.storage = null;
    else {
      const share = used / (used + free);
      out.storage = [clamp(share * 100), Math.round(share * 100) + "%", share >= 0.95 ? "crit" : share >= 0.85 ? "warn" : ""];
    }
    return out;
  }
  function drawGauges(t) {
    const values = gaugeValues(t.metrics);
    Object.keys(t.gauges).forEach((key) => {
      const g = t.gauges[key];
      const val = values[key];
      const cls = "g " + (val ? val[2] : "none");
      if (g.el.className !== cls) g.el.className = cls;
      const width = (val ? val[0].toFixed(0) : 0) + "%";
      if (g.bar.style.width !== width) g.bar.style.width = width;
      const text = val ? val[1] : "—";
      if (g.text.textContent !== text) g.text.textContent = text;
    });
  }

  // ---- state changes ------------------------------------------------------------------
  function applyMetrics(t, metrics) {
    let changed = false;
    Object.keys(metrics).forEach((name) => {
      const pair = metrics[name];
      const seen = t.metrics[name];
      if (seen && seen[0] > pair[0]) return; // an older value (a backfill) is not "latest"
      t.metrics[name] = pair;
      changed = true;
      const at = Date.parse(pair[0]);
      if (!t.seen || at > t.seen) t.seen = at;
    });
    if (changed) drawGauges(t);
  }
  function setContact(t, station) {
    t.contact = station || null;
    t.el.classList.toggle("in-contact", !!station);
    if (t.contactEl.textContent !== (station || "")) t.contactEl.textContent = station || "";
  }
  function setAlert(t, severity) {
    t.alert = severity || null;
    if (severity) t.el.dataset.alert = severity;
    else delete t.el.dataset.alert;
  }
  function worstOf(craftId, now) {
    let worst = null;
    marks.forEach((m) => {
      if (m.craft !== craftId || m.shelved > now) return;
      if (!worst || RANK[m.severity] > RANK[worst]) worst = m.severity;
    });
    return worst;
  }
  function drawAlerts(craftIds) {
    const now = Date.now();
    nextUnshelve = Infinity;
    marks.forEach((m) => { if (m.shelved > now && m.shelved < nextUnshelve) nextUnshelve = m.shelved; });
    (craftIds || Array.from(byId.keys())).forEach((id) => {
      const t = byId.get(id);
      if (t) setAlert(t, worstOf(id, now));
    });
  }
  function mark(id, craft, severity, shelvedUntil) {
    marks.set(id, { craft: craft, severity: severity, shelved: shelvedUntil ? Date.parse(shelvedUntil) : 0 });
  }
  function applyBoard(board) {
    const now = Date.parse(board.now);
    contacts.clear();
    (board.contacts || []).forEach((c) => contacts.set(c.id, c));
    Object.keys(board.nodes).forEach((slug) => {
      const t = tiles.get(slug);
      if (!t) return;
      const n = board.nodes[slug];
      const metrics = {};
      Object.keys(n.m).forEach((name) => (metrics[name] = [(n.mt && n.mt[name]) || n.seen, n.m[name]]));
      t.metrics = {};
      t.seen = null;
      applyMetrics(t, metrics);
      drawGauges(t);
      setContact(t, n.contact);
      t.light = n.light;
      t.changes = (n.lc || []).map(([s, state]) => [now + s * 1000, state]);
      setAlert(t, n.alert);
    });
    seesAlerts = board.alerts !== null && board.alerts !== undefined;
    marks.clear();
    (board.alerts || []).forEach(([id, craft, severity, shelved]) => mark(id, craft, severity, shelved));
    if (seesAlerts) drawAlerts();
    Object.keys(board.stations).forEach((slug) => {
      const s = board.stations[slug];
      const st = stations.get(s.id);
      if (st) { st.busy = s.busy; st.antennas = s.antennas; }
    });
    drawStations();
    tick();
  }
  function drawStations() {
    stations.forEach((st) => {
      if (st.busy === undefined) return;
      st.ant.textContent = st.busy + "/" + st.antennas;
      st.el.classList.toggle("busy", st.busy > 0);
    });
  }

  // ---- the one-second tick: ages, eclipse markers, filters, counts ---------------------
  function matches(t) {
    if (search && !(t.slug.includes(search) || t.name.includes(search))) return false;
    switch (filter) {
      case "leo": return t.role !== "geo";
      case "geo": return t.role === "geo";
      case "alert": return !!t.alert;
      case "stale": return t.el.classList.contains("stale") || t.el.classList.contains("never");
      case "contact": return !!t.contact;
      case "eclipse": return t.light === "umbra" || t.light === "penumbra";
      default: return true;
    }
  }
  function tick() {
    const now = Date.now();
    if (now >= nextUnshelve) drawAlerts(); // a shelve ran out: that alert counts again
    const counts = { contact: 0, eclipse: 0, stale: 0, alert: 0 };
    tiles.forEach((t) => {
      while (t.changes.length && t.changes[0][0] <= now) t.light = t.changes.shift()[1];
      const light = t.light === "umbra" || t.light === "penumbra" ? t.light : "";
      if (t.el.dataset.light !== light) t.el.dataset.light = light;
      const age = t.seen ? (now - t.seen) / 1000 : null;
      const stale = age !== null && age >= STALE_S;
      t.el.classList.toggle("never", age === null);
      t.el.classList.toggle("late", age !== null && age >= LATE_S && !stale);
      t.el.classList.toggle("stale", stale);
      t.el.classList.toggle("los", stale && !t.contact && t.role !== "geo");
      let text = age === null ? "never" : Z.age(age);
      if (stale && !t.contact && t.role !== "geo") text = "LOS " + text;
      if (t.ageEl.textContent !== text) t.ageEl.textContent = text;
      if (t.contact) counts.contact++;
      if (light) counts.eclipse++;
      if (stale && (t.contact || t.role === "geo")) counts.stale++;
      if (t.alert) counts.alert++;
      const hidden = !matches(t);
      if (t.el.hidden !== hidden) t.el.hidden = hidden;
    });
    Object.keys(counts).forEach((key) => {
      const el = document.querySelector('[data-count="' + key + '"]');
      if (el) el.textContent = counts[key];
    });
    document.querySelectorAll(".group").forEach((group) => {
      const shown = group.querySelectorAll(".tile:not([hidden])").length;
      group.querySelector("[data-group-count]").textContent = shown;
      group.hidden = shown === 0;
    });
  }

  // ---- live ---------------------------------------------------------------------------
  Z.live.on("telemetry.fleet", (m) => {
    Object.keys(m.nodes).forEach((slug) => {
      const t = tiles.get(slug);
      if (t) applyMetrics(t, m.nodes[slug]);
    });
  });
  Z.live.on("contact.state", (m) => {
    const c = m.contact;
    const t = byId.get(c.spacecraft_id);
    const st = stations.get(c.station_id);
    const active = c.state === "in_progress";
    const known = contacts.get(c.id);
    if (active && !known) {
      contacts.set(c.id, c);
      if (st) st.busy = (st.busy || 0) + 1;
    } else if (!active && known) {
      contacts.delete(c.id);
      if (st) st.busy = Math.max(0, (st.busy || 1) - 1);
    }
    if (t) {
      if (active) setContact(t, st ? st.slug : "?");
      else if (t.contact && (!st || t.contact === st.slug)) setContact(t, null);
    }
    drawStations();
    tick();
  });
  Z.live.on("alert.changed", (m) => {
    const a = m.alert;
    if (!seesAlerts || a.spacecraft_id === null) return;
    if (a.state === "normal") marks.delete(a.id);
    else mark(a.id, a.spacecraft_id, a.severity, a.shelved_until);
    drawAlerts([a.spacecraft_id]);
    tick();
  });
  Z.live.onSnapshot("fleet", (m) => applyBoard(m.data));
  Z.live.snapshot("fleet");
  setInterval(() => Z.live.refresh("fleet"), 10 * 60 * 1000);

  // ---- controls -----------------------------------------------------------------------
  document.querySelectorAll("[data-filter]").forEach((button) => {
    button.addEventListener("click", () => {
      filter = button.dataset.filter;
      document.querySelectorAll("[data-filter]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      tick();
    });
  });
  document.querySelectorAll("[data-density]").forEach((button) => {
    button.addEventListener("click", () => {
      document.getElementById("board").classList.toggle("compact", button.dataset.density === "compact");
      document.querySelectorAll("[data-density]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      localStorage.setItem("zenith.density", button.dataset.density);
    });
  });
  if (localStorage.getItem("zenith.density") === "compact") {
    const compact = document.querySelector('[data-density="compact"]');
    if (compact) compact.click();
  }
  const box = document.getElementById("fleet-search");
  box.addEventListener("input", () => { search = box.value.trim().toLowerCase(); tick(); });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "/" && document.activeElement !== box) { ev.preventDefault(); box.focus(); }
  });

  applyBoard(JSON.parse(document.getElementById("fleet-data").textContent));
  setInterval(tick, 1000);
})();
