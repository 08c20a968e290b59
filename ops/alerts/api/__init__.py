"""Alert REST endpoints, a module per topic: ``alerts`` (list, detail, actions), ``rules``,
``audit`` (list and CSV), ``notify`` (deliveries, channels, on call), ``sources`` (Events
API and Alertmanager receiver). Thin: parse, call one service or selector, render."""

from __future__ import annotations

READ = frozenset({"operate", "admin"})
ACT = frozenset({"operate", "admin"})
