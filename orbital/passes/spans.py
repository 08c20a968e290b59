"""Data of the sweep: the propagation grid, and the spans (intervals above the horizon)
one chunk finds, with what is known at their ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from orbital import geometry
from orbital.passes.numeric import BoolArray, IntArray
from orbital.passes.pairs import Bucket
from orbital.timescales import FloatArray

# Rows of a stored pair state: u, rho2, du, dv, ddu, ddv (``PairState.stack``).
STATE_ROWS = 6


def _empty() -> FloatArray:
    return np.zeros(0)


def _empty_index() -> IntArray:
    return np.zeros(0, dtype=np.intp)


@dataclass
class Spans:
    """Intervals above the horizon for one chunk, with what is known at their ends.

    ``*_state`` rows are u, rho2, du, dv, ddu, ddv (see ``PairState``); elevation and azimuth
    are apparent when refraction is on. Unknown end values are NaN until filled.
    """

    sat: IntArray
    sta: IntArray
    aos: FloatArray
    los: FloatArray
    aos_clipped: BoolArray
    los_clipped: BoolArray
    aos_state: FloatArray
    los_state: FloatArray
    aos_el: FloatArray
    aos_az: FloatArray
    los_el: FloatArray
    los_az: FloatArray
    culm_span: IntArray = field(default_factory=_empty_index)
    culm_t: FloatArray = field(default_factory=_empty)
    culm_el: FloatArray = field(default_factory=_empty)
    culm_az: FloatArray = field(default_factory=_empty)

    def __len__(self) -> int:
        return int(self.aos.shape[0])

    @classmethod
    def unknown_ends(
        cls,
        sat: IntArray,
        sta: IntArray,
        aos: FloatArray,
        los: FloatArray,
        aos_clipped: BoolArray,
        los_clipped: BoolArray,
    ) -> Spans:
        n = aos.shape[0]
        return cls(
            sat,
            sta,
            aos,
            los,
            aos_clipped,
            los_clipped,
            np.full((STATE_ROWS, n), np.nan),
            np.full((STATE_ROWS, n), np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
        )

    def take(self, keep: BoolArray) -> Spans:
        """The spans where ``keep`` holds, with their culminations renumbered."""
        new_index = np.cumsum(keep) - 1
        culm_keep = keep[self.culm_span]
        return Spans(
            sat=self.sat[keep],
            sta=self.sta[keep],
            aos=self.aos[keep],
            los=self.los[keep],
            aos_clipped=self.aos_clipped[keep],
            los_clipped=self.los_clipped[keep],
            aos_state=self.aos_state[:, keep],
            los_state=self.los_state[:, keep],
            aos_el=self.aos_el[keep],
            aos_az=self.aos_az[keep],
            los_el=self.los_el[keep],
            los_az=self.los_az[keep],
            culm_span=new_index[self.culm_span[culm_keep]],
            culm_t=self.culm_t[culm_keep],
            culm_el=self.culm_el[culm_keep],
            culm_az=self.culm_az[culm_keep],
        )

    def fill_ends(self, bucket: Bucket, refraction: bool) -> None:
        """Evaluate the end values still unknown (clipped ends, ends cut by a mask)."""
        for times, state, el, az in (
            (self.aos, self.aos_state, self.aos_el, self.aos_az),
            (self.los, self.los_state, self.los_el, self.los_az),
        ):
            missing = np.flatnonzero(np.isnan(el))
            if missing.size == 0:
                continue
            pair = bucket.state(self.sat[missing], self.sta[missing], times[missing], accel=True)
            state[:, missing] = pair.stack()
            el[missing] = geometry.apparent_elevation_deg(pair.elevation_deg, refraction)
            az[missing] = pair.azimuth_deg


def concat_spans(parts: Sequence[Spans]) -> Spans:
    offsets = np.cumsum([0] + [len(p) for p in parts])

    def cat(name: str) -> Any:
        return np.concatenate([getattr(p, name) for p in parts], axis=-1)

    return Spans(
        sat=cat("sat"),
        sta=cat("sta"),
        aos=cat("aos"),
        los=cat("los"),
        aos_clipped=cat("aos_clipped"),
        los_clipped=cat("los_clipped"),
        aos_state=cat("aos_state"),
        los_state=cat("los_state"),
        aos_el=cat("aos_el"),
        aos_az=cat("aos_az"),
        los_el=cat("los_el"),
        los_az=cat("los_az"),
        culm_span=np.concatenate([p.culm_span + o for p, o in zip(parts, offsets, strict=False)]),
        culm_t=cat("culm_t"),
        culm_el=cat("culm_el"),
        culm_az=cat("culm_az"),
    )


@dataclass(frozen=True)
class Grid:
    """A uniform propagation grid, its detection points and the chunk size over it."""

    step: float
    times: FloatArray
    det: IntArray
    chunk: int
