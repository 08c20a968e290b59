"""Per-process cache of verified tokens (see ``auth.principal_for_secret``).

Kept apart from ``auth`` so that services (revocation) can evict without importing the
authentication layer.
"""

from __future__ import annotations

import threading
import time
from typing import Any

_entries: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()
MAX_ENTRIES = 10_000


def get(key: str) -> Any | None:
    entry = _entries.get(key)
    if entry is None or entry[0] <= time.monotonic():
        return None
    return entry[1]


def put(key: str, value: Any, ttl_s: float) -> None:
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (time.monotonic() + ttl_s, value)


def forget(key: str) -> None:
    with _lock:
        _entries.pop(key, None)


def clear() -> None:
    with _lock:
        _entries.clear()
