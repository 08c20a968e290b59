"""The sweep over all spacecraft x stations: detection, crossings, culminations, masks."""

from __future__ import annotations

import math

import numpy as np

from orbital import geometry, propagation, timescales
from orbital.geometry import Station
from orbital.passes.brackets import PEAK_MARGIN_KM, Brackets
from orbital.passes.numeric import IntArray
from orbital.passes.pairs import Bucket
from orbital.passes.refine import Refine
from orbital.passes.spans import Grid, Spans, concat_spans

# The search's steps live in ``_brackets`` (detection, crossings, spans) and ``_refine``
# (culminations, masks); this module holds the grid and the per-chunk orchestration.
__all__ = ["PEAK_MARGIN_KM", "Grid", "Search", "Spans", "concat_spans"]

# Detection points every DETECTION_STEP_S, and at least every DETECTION_STRIDE grid steps.
DETECTION_STEP_S = 240.0
DETECTION_STRIDE = 4
# Pair arrays per chunk (spacecraft x detection points x stations): bounds memory.
CHUNK_ELEMENTS = 750_000


class Search(Brackets, Refine):
    """One search: the stations, the window and what follows from them."""

    def __init__(
        self,
        stations: tuple[Station, ...],
        t0: float,
        t1: float,
        refraction: bool,
        eop: timescales.EarthOrientation,
    ) -> None:
        self.stations, self.t0, self.t1 = stations, t0, t1
        self.refraction, self.eop = refraction, eop
        sites = [s.site for s in stations]
        self.site_pos = np.array([s.position_km for s in sites]).reshape(-1, 3)
        self.site_up = np.array([s.up for s in sites]).reshape(-1, 3)
        self.site_east = np.array([s.east for s in sites]).reshape(-1, 3)
        self.site_north = np.array([s.north for s in sites]).reshape(-1, 3)
        # The sweep runs against each station's lowest horizon, as a geometric
        # elevation (refraction only moves it); masked stations are re-cut afterwards.
        threshold = np.array(
            [geometry.geometric_threshold_deg(s.horizon.lowest_deg, refraction) for s in stations]
        )
        self.sine = np.sin(np.radians(threshold))
        self.masked = np.array([not s.horizon.is_flat for s in stations], dtype=bool)

    def grid(self, step: float) -> Grid:
        """The propagation and detection grids for one grid step.

        Detection points run from the window's start to its end or just past it; the
        propagation grid has four more steps before the first and five after the last,
        so every interpolation has its eight nodes.
        """
        stride = max(1, min(DETECTION_STRIDE, round(DETECTION_STEP_S / step)))
        points = math.ceil((self.t1 - self.t0) / (step * stride)) + 1
        det = 4 + stride * np.arange(points)
        times = self.t0 + step * (np.arange(int(det[-1]) + 6, dtype=np.float64) - 4.0)
        chunk = max(1, CHUNK_ELEMENTS // (det.size * max(1, len(self.stations))))
        return Grid(step, times, det, chunk)

    def chunk(
        self, grid: Grid, group: IntArray, all_orbits: tuple[propagation.Orbit, ...]
    ) -> tuple[IntArray, Spans | None, dict[int, str]]:
        """Search one chunk of spacecraft sharing ``grid``: their spans, and failures."""
        states = propagation.propagate([all_orbits[i] for i in group], grid.times, eop=self.eop)
        errors = {int(group[k]): e for k, e in enumerate(states.errors) if e is not None}
        ok = np.array([e is None for e in states.errors], dtype=bool)
        if not ok.any() or not self.stations:
            return group[ok], None, errors
        r, _ = propagation.teme_to_ecef(states.r_km[ok], states.v_km_s[ok], states.theta)
        bucket = Bucket(
            grid_start_s=float(grid.times[0]),
            step_s=grid.step,
            nodes=grid.times.size,
            r_flat=np.ascontiguousarray(r.reshape(-1, 3)),
            site_pos=self.site_pos,
            site_east=self.site_east,
            site_north=self.site_north,
            site_up=self.site_up,
        )
        detection = self._detect(r, grid)
        spans = self._spans(bucket, detection)
        spans.fill_ends(bucket, self.refraction)
        self._culminations(bucket, spans, detection)
        if self.masked.any():
            spans = self._recut_masks(bucket, spans)
        return group[ok], spans, errors
