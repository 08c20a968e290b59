/* The transfers page: rows follow "transfer.progress" live; a transfer not on the page
 * (new, or one that changed while the socket was down) brings a fresh queue from the
 * server (the "transfers" snapshot, also asked for on every reconnect). */
(function () {
  "use strict";
  const Z = window.Zenith;
  const node = new URLSearchParams(location.search).get("node");
  let pending = null;
  function ask() { if (!pending) pending = setTimeout(() => { pending = null; Z.live.refresh("transfers"); }, 1000); }
  Z.live.on("transfer.progress", (m) => Z.transfers.apply(m.transfer));
  Z.transfers.onUnknown(() => ask());
  Z.live.onSnapshot("transfers", (m) => {
    const body = document.querySelector("#transfers tbody");
    if (m.data.html !== undefined && !node) {
      body.innerHTML = m.data.html || '<tr class="empty"><td colspan="11" class="muted">No open transfers.</td></tr>';
      Z.renderTimes(body);
      Z.bindActions(body);
      document.querySelector('[data-count="open"]').textContent = m.data.count;
    }
    (m.data.transfers || []).forEach((t) => Z.transfers.apply(t));
  });
  Z.live.snapshot("transfers");
  document.addEventListener("zenith:done", (ev) => { if (ev.detail.transfer) Z.transfers.apply(ev.detail.transfer); if (ev.detail.workload) setTimeout(() => location.reload(), 600); });
})();
