/* Plotly figures built on the server (ops/console/figures), drawn here with the plotly.js
 * served from Zenith's own static files; the world map's topojson is local too.
 *
 * Figures carry UTC wall-clock strings. In local-time mode every time value is shifted
 * into the browser's zone before drawing (Plotly has no time zones), and shifted again
 * whenever the toggle changes: traces' x (bars drawn horizontally: their base), shapes'
 * x0/x1 and annotations' x on time axes, and the axis range.
 */
(function () {
  "use strict";
  const Z = (window.Zenith = window.Zenith || {});
  const CONFIG = {
    displaylogo: false,
    responsive: true,
    scrollZoom: false,
    topojsonURL: document.documentElement.dataset.topojson || "/static/console/vendor/topojson/",
    modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage"],
  };
  const figures = new Map();

  function clone(value) { return JSON.parse(JSON.stringify(value)); }
  function isTimeAxis(ref) { return typeof ref === "string" && ref.charAt(0) === "x"; }
  function shiftArray(values) { return Array.isArray(values) ? values.map((v) => (v == null ? v : Z.plotTime(v))) : values; }

  Z.localise = function (figure) {
    const fig = clone(figure);
    const meta = (fig.layout && fig.layout.meta) || {};
    if (!meta.time) return fig;
    (fig.data || []).forEach((trace) => {
      if (trace.type === "bar" && trace.orientation === "h") trace.base = shiftArray(trace.base);
      else if (!trace.type || trace.type === "scatter" || trace.type === "scattergl" || trace.type === "bar") trace.x = shiftArray(trace.x);
    });
    (fig.layout.shapes || []).forEach((shape) => {
      if (isTimeAxis(shape.xref || "x")) { shape.x0 = Z.plotTime(shape.x0); shape.x1 = Z.plotTime(shape.x1); }
    });
    (fig.layout.annotations || []).forEach((a) => { if (isTimeAxis(a.xref || "x")) a.x = Z.plotTime(a.x); });
    Object.keys(fig.layout).forEach((key) => {
      if (/^xaxis\d*$/.test(key)) {
        const axis = fig.layout[key];
        if (axis.range) axis.range = axis.range.map((v) => Z.plotTime(v));
        if (axis.title && axis.title.text !== undefined && meta.time === key) axis.title.text = "time (" + Z.zoneLabel() + ")";
      }
    });
    return fig;
  };

  // Draw (or redraw) a figure into an element, keeping it for time-mode changes.
  Z.plot = function (el, figure) {
    if (typeof el === "string") el = document.getElementById(el);
    if (!el || !window.Plotly) return Promise.resolve(null);
    figures.set(el, figure);
    const fig = Z.localise(figure);
    return Plotly.react(el, fig.data, fig.layout, CONFIG).then(() => el);
  };
  Z.figureOf = (el) => figures.get(el);
  Z.readFigure = function (id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  };
  document.addEventListener("zenith:timemode", () => {
    figures.forEach((figure, el) => { if (document.body.contains(el)) Z.plot(el, figure); });
  });
})();
