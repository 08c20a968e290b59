/* Zenith console: the one live socket per browser, times (UTC or local), small helpers.
 *
 * Zenith.live.on(type, fn)          handle a relayed event ("telemetry.fleet", ...)
 * Zenith.live.onSnapshot(view, fn)  handle a snapshot of a view
 * Zenith.live.want({...})           a subscription kept across reconnects
 * Zenith.live.snapshot(view, key)   asked for on every (re)connect, after subscribing
 *
 * The socket reconnects with exponential backoff (0.5 s doubling to 30 s, with jitter),
 * and while it is down the page is marked (body.link-down): live values grey out and the
 * indicator says since when. Every reconnect re-subscribes and asks for fresh snapshots,
 * so nothing shown is silently stale.
 */
(function () {
  "use strict";
  const Z = (window.Zenith = window.Zenith || {});

  // ---- times ---------------------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  Z.timeMode = localStorage.getItem("zenith.time") === "local" ? "local" : "utc";

  Z.parts = function (date) {
    const local = Z.timeMode === "local";
    return {
      y: local ? date.getFullYear() : date.getUTCFullYear(),
      mo: (local ? date.getMonth() : date.getUTCMonth()) + 1,
      d: local ? date.getDate() : date.getUTCDate(),
      h: local ? date.getHours() : date.getUTCHours(),
      mi: local ? date.getMinutes() : date.getUTCMinutes(),
      s: local ? date.getSeconds() : date.getUTCSeconds(),
    };
  };
  Z.zoneLabel = function () {
    if (Z.timeMode === "utc") return "UTC";
    const off = -new Date().getTimezoneOffset();
    const sign = off >= 0 ? "+" : "-";
    const a = Math.abs(off);
    return "UTC" + sign + pad(Math.floor(a / 60)) + (a % 60 ? ":" + pad(a % 60) : "");
  };
  Z.fmt = function (iso, style) {
    if (!iso) return "—";
    const date = iso instanceof Date ? iso : new Date(iso);
    if (isNaN(date)) return "—";
    const p = Z.parts(date);
    const hms = pad(p.h) + ":" + pad(p.mi) + ":" + pad(p.s);
    if (style === "time") return hms;
    if (style === "hm") return pad(p.h) + ":" + pad(p.mi);
    if (style === "clock") return hms + " " + Z.zoneLabel();
    const day = p.y + "-" + pad(p.mo) + "-" + pad(p.d);
    if (style === "date") return day;
    if (style === "short") {
      const today = Z.parts(new Date());
      return (today.d === p.d && today.mo === p.mo ? "" : pad(p.mo) + "-" + pad(p.d) + " ") + hms;
    }
    return day + " " + hms;
  };
  Z.age = function (seconds) {
    if (seconds == null || isNaN(seconds)) return "never";
    const s = Math.max(0, Math.round(seconds));
    if (s < 90) return s + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    if (s < 172800) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  };
  Z.until = function (iso) {
    const s = (new Date(iso) - Date.now()) / 1000;
    if (s <= 0) return "now";
    return "in " + Z.age(s);
  };
  // Shift a UTC ISO string into the displayed zone, as Plotly draws wall-clock strings.
  Z.plotTime = function (iso) {
    if (iso == null) return iso;
    const date = new Date(typeof iso === "string" && !/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso + "Z" : iso);
    if (isNaN(date)) return iso;
    const p = Z.parts(date);
    const ms = String(date.getUTCMilliseconds()).padStart(3, "0");
    return p.y + "-" + pad(p.mo) + "-" + pad(p.d) + " " + pad(p.h) + ":" + pad(p.mi) + ":" + pad(p.s) + "." + ms;
  };
  Z.renderTimes = function (root) {
    (root || document).querySelectorAll("time[datetime]").forEach((el) => {
      el.textContent = Z.fmt(el.getAttribute("datetime"), el.dataset.style || "datetime");
      el.title = Z.timeMode === "utc" ? "UTC" : Z.zoneLabel();
    });
    (root || document).querySelectorAll("[data-until]").forEach((el) => {
      el.textContent = Z.until(el.dataset.until);
    });
  };
  function setMode(mode) {
    Z.timeMode = mode;
    localStorage.setItem("zenith.time", mode);
    const button = document.getElementById("time-toggle");
    if (button) {
      button.textContent = mode === "utc" ? "UTC" : "Local";
      button.setAttribute("aria-pressed", mode === "local" ? "true" : "false");
    }
    Z.renderTimes();
    document.dispatchEvent(new CustomEvent("zenith:timemode", { detail: mode }));
  }

  // A metric value with its unit, as people read it (bytes and rates scaled).
  Z.fmtValue = function (value, unit) {
    if (value == null || isNaN(value)) return "—";
    const scaled = (v, names) => {
      let n = Number(v), i = 0;
      while (Math.abs(n) >= 1000 && i < names.length - 1) { n /= 1000; i++; }
      return (i ? n.toFixed(1) : String(Math.round(n))) + " " + names[i];
    };
    if (unit === "B") return scaled(value, ["B", "kB", "MB", "GB", "TB", "PB"]);
    if (unit === "bit/s") return scaled(value, ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"]);
    const text = Math.abs(value) >= 1e5 ? Number(value).toExponential(3) : String(Number(Number(value).toPrecision(4)));
    return unit && unit !== "count" ? text + " " + unit : text;
  };

  // ---- toasts and actions --------------------------------------------------------------
  Z.toast = function (text, kind) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast " + (kind || "");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(() => el.remove(), kind === "bad" ? 9000 : 4500);
  };
  Z.csrf = function () {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };
  // Submit an action form without leaving the page; the server checks the role again.
  // A form with several actions names each on its button (formaction), as HTML does.
  Z.submit = async function (form, submitter) {
    const body = new FormData(form);
    const action = submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action;
    const response = await fetch(action, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": Z.csrf(), Accept: "application/json" },
      credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { detail: response.statusText }; }
    if (!response.ok) {
      Z.toast((data.detail || "refused") + " (" + response.status + ")", "bad");
      return null;
    }
    Z.toast(data.message || "done", "ok");
    return data;
  };
  Z.bindActions = function (root) {
    (root || document).querySelectorAll("form[data-action]").forEach((form) => {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const submitter = ev.submitter || null;
        const confirmText = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
        if (confirmText && !window.confirm(confirmText)) return;
        const buttons = Array.from(form.querySelectorAll("button")).filter((b) => !b.disabled);
        buttons.forEach((b) => (b.disabled = true));
        Z.submit(form, submitter).finally(() => buttons.forEach((b) => (b.disabled = false))).then((data) => {
          if (data) form.dispatchEvent(new CustomEvent("zenith:done", { detail: data, bubbles: true }));
        });
      });
    });
  };

  // ---- the live socket -----------------------------------------------------------------
  const handlers = {};
  const wanted = [];
  const snapshots = [];
  let ws = null;
  let attempt = 0;
  let lastMessage = 0;
  let downSince = null;
  let retryTimer = null;
  const indicator = () => document.getElementById("live-state");

  function show(state, text) {
    const el = indicator();
    if (el) {
      el.dataset.state = state;
      el.querySelector(".live-text").textContent = text;
    }
    document.body.classList.toggle("link-down", state !== "live" && state !== "connecting");
  }
  function dispatch(type, message) {
    (handlers[type] || []).forEach((fn) => {
      try { fn(message); } catch (e) { console.error(type, e); }
    });
  }
  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }
  function connect() {
    retryTimer = null;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(scheme + "://" + location.host + "/ws/console/");
    show(attempt ? "reconnecting" : "connecting", attempt ? "reconnecting…" : "connecting…");
    ws.onopen = () => { lastMessage = Date.now(); };
    ws.onmessage = (ev) => {
      lastMessage = Date.now();
      let message;
      try { message = JSON.parse(ev.data); } catch (e) { return; }
      if (message.type === "hello") {
        attempt = 0;
        downSince = null;
        show("live", "live");
        wanted.forEach(send);
        snapshots.forEach(send);
        dispatch("hello", message);
      } else if (message.type === "snapshot") {
        dispatch("snapshot:" + message.view, message);
        // Subscriptions go out before snapshots on the same socket: once a snapshot is
        // here, the page is following everything it shows (tests wait for this mark: the
        // views synced, space-separated, as a page may ask for several).
        const synced = new Set((document.body.dataset.synced || "").split(" ").filter(Boolean));
        synced.add(message.view);
        document.body.dataset.synced = Array.from(synced).join(" ");
      } else if (message.type === "error") {
        console.warn("console socket:", message.detail);
        dispatch("error", message);
      } else {
        dispatch(message.type, message);
      }
    };
    ws.onclose = (ev) => {
      ws = null;
      if (downSince === null) downSince = new Date();
      if (ev.code === 4401) {
        show("refused", "signed out: reload to sign in");
        return;
      }
      if (ev.code === 4403) {
        show("refused", "no console role");
        return;
      }
      attempt += 1;
      const delay = Math.min(30000, 500 * Math.pow(2, attempt - 1)) * (0.75 + Math.random() * 0.5);
      const until = Date.now() + delay;
      const tick = () => {
        if (ws) return;
        const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        show("offline", "offline since " + Z.fmt(downSince, "time") + " · retry in " + left + " s");
        if (left > 0) setTimeout(tick, 1000);
      };
      tick();
      retryTimer = setTimeout(connect, delay);
    };
  }
  // A socket that went quiet (a sleeping laptop, a dead proxy) is closed and reopened.
  setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastMessage > 45000) { ws.close(); return; }
    send({ type: "ping", id: Date.now() });
  }, 15000);

  Z.live = {
    on(type, fn) { (handlers[type] = handlers[type] || []).push(fn); },
    onSnapshot(view, fn) { this.on("snapshot:" + view, fn); },
    want(message) { wanted.push(message); send(message); },
    snapshot(view, key) {
      const message = key ? { type: "snapshot", view: view, key: key } : { type: "snapshot", view: view };
      if (!snapshots.some((m) => m.view === view && m.key === message.key)) snapshots.push(message);
      send(message);
    },
    refresh(view, key) { send(key ? { type: "snapshot", view: view, key: key } : { type: "snapshot", view: view }); },
    reconnectNow() { if (retryTimer) { clearTimeout(retryTimer); connect(); } },
    get connected() { return !!ws && ws.readyState === WebSocket.OPEN; },
  };

  // ---- start ---------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("time-toggle");
    if (button) button.addEventListener("click", () => setMode(Z.timeMode === "utc" ? "local" : "utc"));
    setMode(Z.timeMode);
    const clock = document.getElementById("clock");
    setInterval(() => {
      if (clock) clock.textContent = Z.fmt(new Date(), "clock");
      document.querySelectorAll("[data-until]").forEach((el) => (el.textContent = Z.until(el.dataset.until)));
    }, 1000);
    if (clock) clock.textContent = Z.fmt(new Date(), "clock");
    Z.bindActions();
    const live = indicator();
    if (live) {
      live.tabIndex = 0;
      live.addEventListener("click", () => Z.live.reconnectNow());
      connect();
    }
  });
  window.addEventListener("online", () => Z.live.reconnectNow());
})();
