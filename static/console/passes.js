/* The passes timeline: the now line moves every 5 s; contact state changes recolour the
 * table at once and redraw the timeline (debounced); a click opens the sky plot. */
(function () {
  "use strict";
  const Z = window.Zenith;
  const hours = document.getElementById("passes-info").dataset.hours;
  const el = document.getElementById("timeline");
  let figure = Z.readFigure("timeline-figure");
  let reload = null;

  const utc = (ms) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
  function bind(div) {
    if (div.dataset.bound) return;
    div.dataset.bound = "1";
    div.on("plotly_click", (ev) => {
      const point = ev.points && ev.points[0];
      if (point && point.customdata) openSky(point.customdata);
    });
  }
  function draw() { Z.plot(el, figure).then((div) => div && bind(div)); }
  function moveNow() {
    const now = utc(Date.now());
    (figure.layout.shapes || []).forEach((s) => { if (s.name === "now") { s.x0 = now; s.x1 = now; } });
    (figure.layout.annotations || []).forEach((a) => { if (a.name === "now") a.x = now; });
    draw();
  }
  async function refresh() {
    reload = null;
    const response = await fetch("figure.json?hours=" + hours, { credentials: "same-origin" });
    if (response.ok) { figure = await response.json(); draw(); }
  }
  function later() { if (!reload) reload = setTimeout(refresh, 1500); }
  async function openSky(passId) {
    const response = await fetch("/passes/" + passId + "/sky.json", { credentials: "same-origin" });
    if (!response.ok) { Z.toast("no sky plot for pass " + passId, "bad"); return; }
    const sky = document.getElementById("sky");
    sky.innerHTML = "";
    Z.plot(sky, await response.json());
    const link = document.getElementById("sky-link");
    link.innerHTML = '<a href="/passes/' + passId + '/">pass ' + passId + ' details →</a>';
    document.getElementById("sky-panel").scrollIntoView({ block: "nearest" });
  }

  Z.live.on("contact.state", (m) => {
    const row = document.querySelector('tr[data-contact="' + m.contact.id + '"]');
    if (row) {
      const pill = row.querySelector('[data-f="state"]');
      pill.textContent = m.contact.state;
      pill.className = "pill state-" + m.contact.state;
    }
    later();
  });
  // Every (re)connect: contact states from the snapshot; after the first, a fresh figure
  // too, so no state change missed while the socket was down stays drawn.
  let snapshots = 0;
  Z.live.onSnapshot("contacts", (m) => {
    Object.keys(m.data.states).forEach((id) => {
      const pill = document.querySelector('tr[data-contact="' + id + '"] [data-f="state"]');
      if (pill) { pill.textContent = m.data.states[id]; pill.className = "pill state-" + m.data.states[id]; }
    });
    snapshots += 1;
    if (snapshots > 1) refresh();
  });
  Z.live.snapshot("contacts");
  document.querySelectorAll("[data-sky]").forEach((b) => b.addEventListener("click", () => openSky(b.dataset.sky)));
  setInterval(moveNow, 5000);
  setInterval(refresh, 5 * 60 * 1000);
  draw();
})();
