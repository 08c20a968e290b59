/* One node: the series chart (range presets, metrics, live appends), newest values,
 * contact and light, transfers. Subscribes to this node's telemetry only. */
(function () {
  "use strict";
  const Z = window.Zenith;
  const info = document.getElementById("node-slug");
  const slug = info.dataset.slug;
  const craftId = Number(info.dataset.id);
  const liveRanges = Z.readFigure("node-live-ranges");
  const limits = Z.readFigure("node-limits");
  const units = Z.readFigure("node-units");
  const counters = new Set(Z.readFigure("node-counters"));
  const chart = document.getElementById("series");
  const spans = { "15m": 900e3, "1h": 3600e3, "6h": 21600e3, "24h": 86400e3, "7d": 604800e3, "30d": 2592000e3 };
  let range = info.dataset.range;
  let figure = Z.readFigure("series-figure");
  let lastCounter = {}; // metric -> [ms, value] for live rates
  let latest = {};
  let drawPending = false;
  let lightChanges = (Z.readFigure("node-light-changes") || []).map(([at, s]) => [Date.parse(at), s]);

  const utc = (ms) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
  function chosen() {
    return Array.from(document.querySelectorAll("#metric-picker input:checked")).map((i) => i.value);
  }
  function mode() {
    const live = liveRanges.includes(range);
    document.getElementById("chart-mode").textContent = live ? "● live: new samples appended" : "refreshes every minute";
  }
  function draw() { Z.plot(chart, figure); }
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    setTimeout(() => { drawPending = false; draw(); }, 500);
  }
  async function load() {
    const params = new URLSearchParams();
    params.set("range", range);
    chosen().forEach((m) => params.append("m", m));
    history.replaceState(null, "", location.pathname + "?" + params.toString());
    const response = await fetch(location.pathname + "series.json?" + params.toString(), {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) { Z.toast("could not load the series (" + response.status + ")", "bad"); return; }
    figure = await response.json();
    lastCounter = {};
    mode();
    draw();
  }

  // Append a live sample to its panel's line (and slide the window), as the server
  // would have bucketed it: the mean of a one-sample bucket is the sample.
  function append(metric, iso, value) {
    if (!liveRanges.includes(range) || !figure.layout.meta) return;
    const entry = (figure.layout.meta.series || []).find((s) => s.metric === metric);
    if (!entry) return;
    const ms = Date.parse(iso);
    let y = value;
    if (counters.has(metric)) {
      const prev = lastCounter[metric];
      lastCounter[metric] = [ms, value];
      if (!prev || ms <= prev[0]) return;
      const step = value >= prev[1] ? value - prev[1] : value; // a reset starts again from 0
      y = step / ((ms - prev[0]) / 1000);
    }
    const trace = figure.data[entry.trace];
    const x = utc(ms);
    if (trace.x.length && trace.x[trace.x.length - 1] >= x) return;
    trace.x.push(x);
    trace.y.push(y);
    const start = utc(Date.now() - spans[range]);
    while (trace.x.length && trace.x[0] < start) { trace.x.shift(); trace.y.shift(); }
    scheduleDraw();
  }
  function slide() {
    if (!figure.layout) return;
    const end = utc(Date.now());
    const start = utc(Date.now() - spans[range]);
    Object.keys(figure.layout).forEach((key) => { if (/^xaxis\d*$/.test(key) && figure.layout[key].range) figure.layout[key].range = [start, end]; });
    (figure.layout.shapes || []).forEach((s) => { if (s.type === "line") { s.x0 = end; s.x1 = end; } });
    scheduleDraw();
  }

  function levelOf(name, value) {
    const l = limits[name];
    if (!l) return "";
    const [wl, wh, cl, ch] = l;
    if ((cl !== null && value <= cl) || (ch !== null && value >= ch)) return "crit";
    if ((wl !== null && value <= wl) || (wh !== null && value >= wh)) return "warn";
    return "";
  }
  function showValue(name, iso, value) {
    const seen = latest[name];
    if (seen && seen[0] > iso) return false;
    latest[name] = [iso, value];
    let row = document.querySelector('#values [data-metric="' + name + '"]');
    if (!row) {
      row = document.createElement("div");
      row.dataset.metric = name;
      row.innerHTML = '<span></span><span class="num" data-v></span>';
      row.firstChild.textContent = name;
      const box = document.getElementById("values");
      const empty = box.querySelector("p");
      if (empty) empty.remove();
      box.appendChild(row);
    }
    row.className = levelOf(name, value);
    row.querySelector("[data-v]").textContent = Z.fmtValue(value, units[name]);
    const seenEl = document.getElementById("node-seen");
    const newest = Object.values(latest).reduce((a, b) => (a > b[0] ? a : b[0]), "");
    seenEl.innerHTML = '<time datetime="' + newest + '"></time>';
    Z.renderTimes(seenEl);
    return true;
  }
  function showContact(station) {
    const el = document.getElementById("node-contact");
    el.hidden = !station;
    el.querySelector("span").textContent = station || "";
  }
  function showLight(state) {
    document.getElementById("node-light").textContent = state || "no orbit";
  }

  // ---- live ---------------------------------------------------------------------------
  Z.live.want({ type: "subscribe", node: slug });
  Z.live.on("telemetry.update", (m) => {
    if (m.node !== slug) return;
    Object.keys(m.metrics).forEach((name) => {
      const [iso, value] = m.metrics[name];
      if (showValue(name, iso, value)) append(name, iso, value);
    });
  });
  Z.live.on("contact.state", (m) => {
    if (m.contact.spacecraft_id !== craftId) return;
    Z.live.refresh("node", slug); // the station's name comes with the snapshot
  });
  Z.live.on("transfer.progress", (m) => {
    if (m.transfer.spacecraft_id === craftId) Z.transfers.apply(m.transfer);
  });
  Z.transfers.onUnknown((t) => { if (t.spacecraft_id === craftId) Z.live.refresh("node", slug); });
  Z.live.onSnapshot("node", (m) => {
    if (m.key !== slug) return;
    const d = m.data;
    Object.keys(d.latest).forEach((name) => showValue(name, d.latest[name][0], d.latest[name][1]));
    showContact(d.contact);
    showLight(d.light);
    lightChanges = d.light_changes.map(([at, s]) => [Date.parse(at), s]);
    d.transfers.forEach((t) => Z.transfers.apply(t));
  });
  // After a reconnect the chart is redrawn from the store: a gap the socket missed is filled.
  let snapshots = 0;
  Z.live.onSnapshot("node", (m) => { snapshots += 1; if (m.key === slug && snapshots > 1) load(); });
  Z.live.snapshot("node", slug);

  // ---- controls and clocks ---------------------------------------------------------------
  document.querySelectorAll("[data-range]").forEach((button) => {
    button.addEventListener("click", () => {
      range = button.dataset.range;
      document.querySelectorAll("[data-range]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      load();
    });
  });
  document.querySelectorAll("#metric-picker input").forEach((box) => {
    box.addEventListener("change", () => {
      const picked = chosen();
      if (picked.length > 6) { box.checked = false; Z.toast("at most 6 metrics at once", "bad"); return; }
      load();
    });
  });
  document.querySelectorAll("#values [data-metric]").forEach((row) => {
    const v = row.querySelector("[data-v]");
    latest[row.dataset.metric] = [v.dataset.t, Number(v.dataset.value)];
    v.textContent = Z.fmtValue(Number(v.dataset.value), units[row.dataset.metric]);
  });
  setInterval(() => {
    const now = Date.now();
    while (lightChanges.length && lightChanges[0][0] <= now) showLight(lightChanges.shift()[1]);
    if (liveRanges.includes(range)) slide();
  }, 5000);
  setInterval(() => { if (!liveRanges.includes(range)) load(); }, 60000);
  mode();
  draw();
})();
