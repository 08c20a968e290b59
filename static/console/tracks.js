/* The world map: node markers move between the positions the server computed ahead
 * (every 2 s, interpolated along the shorter way round); contact changes recolour them;
 * a fresh figure (tracks, terminator, positions) is fetched every 5 minutes and after
 * every reconnect. */
(function () {
  "use strict";
  const Z = window.Zenith;
  const el = document.getElementById("map");
  let figure = Z.readFigure("map-figure");
  const contactOf = new Map(); // craft id -> contact ids
  const COLOURS = { contact: "#36d1c4", eclipse: "#7d8cff", "": "#5cb3ff" };

  function draw() { return Z.plot(el, figure); }
  function position(i, t) {
    const p = figure.layout.meta.positions;
    const k = (t - Date.parse(p.t0)) / 1000 / p.step_s;
    const n = p.lat[i].length;
    const a = Math.max(0, Math.min(n - 1, Math.floor(k)));
    const b = Math.min(n - 1, a + 1);
    const f = Math.max(0, Math.min(1, k - a));
    let lon0 = p.lon[i][a], lon1 = p.lon[i][b];
    if (lon1 - lon0 > 180) lon1 -= 360;
    if (lon0 - lon1 > 180) lon1 += 360;
    let lon = lon0 + (lon1 - lon0) * f;
    if (lon > 180) lon -= 360;
    if (lon < -180) lon += 360;
    return [p.lat[i][a] + (p.lat[i][b] - p.lat[i][a]) * f, lon];
  }
  function move() {
    const meta = figure.layout && figure.layout.meta;
    if (!meta || !meta.positions || !el.data) return;
    const trace = figure.data[meta.nodes_trace];
    const now = Date.now();
    const lat = [], lon = [];
    meta.positions.slugs.forEach((_s, i) => { const [a, b] = position(i, now); lat.push(a); lon.push(b); });
    trace.lat = lat;
    trace.lon = lon;
    Plotly.restyle(el, { lat: [lat], lon: [lon] }, [meta.nodes_trace]);
  }
  function recolour() {
    const meta = figure.layout.meta;
    const trace = figure.data[meta.nodes_trace];
    const colours = trace.marker.color.slice();
    meta.positions.ids.forEach((id, i) => {
      const inContact = (contactOf.get(id) || new Set()).size > 0;
      if (inContact) colours[i] = COLOURS.contact;
      else if (colours[i] === COLOURS.contact) colours[i] = COLOURS[""];
    });
    trace.marker.color = colours;
    Plotly.restyle(el, { "marker.color": [colours] }, [meta.nodes_trace]);
  }
  async function refresh() {
    const response = await fetch("figure.json" + location.search, { credentials: "same-origin" });
    if (response.ok) { figure = await response.json(); await draw(); move(); }
  }
  Z.live.on("contact.state", (m) => {
    const c = m.contact;
    const set = contactOf.get(c.spacecraft_id) || new Set();
    if (c.state === "in_progress") set.add(c.id); else set.delete(c.id);
    contactOf.set(c.spacecraft_id, set);
    recolour();
  });
  Z.live.onSnapshot("contacts", (m) => {
    contactOf.clear();
    m.data.active.forEach((c) => {
      const set = contactOf.get(c.spacecraft_id) || new Set();
      set.add(c.id);
      contactOf.set(c.spacecraft_id, set);
    });
    recolour();
  });
  let snapshots = 0;
  Z.live.onSnapshot("contacts", () => { snapshots += 1; if (snapshots > 1) refresh(); });
  Z.live.snapshot("contacts");
  draw().then(() => { move(); el.dataset.ready = "1"; });
  setInterval(move, 2000);
  setInterval(refresh, 5 * 60 * 1000);
})();
