/* Transfer rows, updated in place from "transfer.progress" events and snapshots.
 * A row's state drives which controls show (CSS on tr[data-state]); the server checks
 * the role and the state again on every action. Rows not on the page ask the page to
 * resynchronise (Zenith.transfers.onUnknown). */
(function () {
  "use strict";
  const Z = window.Zenith;
  const units = (value, list, step) => {
    let n = Number(value), i = 0;
    while (Math.abs(n) >= step && i < list.length - 1) { n /= step; i++; }
    return i === 0 ? n.toFixed(0) + " " + list[0] : n.toFixed(1) + " " + list[i];
  };
  const bytes = (v) => units(v, ["B", "kB", "MB", "GB", "TB", "PB"], 1000);
  const rate = (v) => (v == null ? "—" : units(v, ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"], 1000));
  const listeners = [];

  function set(row, field, text) {
    const el = row.querySelector('[data-f="' + field + '"]');
    if (el && el.textContent !== text) el.textContent = text;
    return el;
  }
  function apply(t) {
    const rows = document.querySelectorAll('tr[data-transfer="' + t.id + '"]');
    if (!rows.length) { listeners.forEach((fn) => fn(t)); return false; }
    rows.forEach((row) => {
      row.dataset.state = t.state;
      const pill = set(row, "state", t.state.replace("_", " "));
      if (pill) pill.className = "pill state-" + t.state;
      const pct = t.size_bytes ? (100 * t.bytes_done) / t.size_bytes : 100;
      const bar = row.querySelector(".bar");
      if (bar) {
        bar.querySelector("i").style.width = pct.toFixed(1) + "%";
        bar.setAttribute("aria-valuenow", pct.toFixed(0));
      }
      set(row, "progress", (100 * t.progress).toFixed(1) + "% · " + bytes(t.bytes_done) + " / " + bytes(t.size_bytes));
      set(row, "rate", rate(t.rate_bps));
      const eta = row.querySelector('[data-f="eta"]');
      if (eta) eta.textContent = t.eta ? Z.fmt(t.eta, "short") : "—";
      const risk = row.querySelector('[data-f="risk"]');
      if (risk) risk.hidden = !t.deadline_risk;
    });
    return true;
  }
  Z.transfers = {
    apply: apply,
    onUnknown(fn) { listeners.push(fn); },
    bytes: bytes,
    rate: rate,
  };
})();
