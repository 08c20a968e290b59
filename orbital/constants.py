"""Physical and time constants, defined once. Units in the names.

Two Earth models are kept on purpose: WGS84 for station positions and altitudes (what GPS
and station surveys give), WGS72 for SGP4 (the model TLEs are fitted with). hapsira's
J2 propagation uses its own GM, radius and J2, repeated here so both agree.
"""

from __future__ import annotations

import math

# --- time ------------------------------------------------------------------------------
SECONDS_PER_DAY = 86_400.0
UNIX_EPOCH_MJD = 40_587.0
# 2000-01-01T12:00:00 as POSIX seconds: GMST 1982 counts days of UT1 from this instant.
J2000_UNIX_S = 946_728_000.0
TAU = 2.0 * math.pi

# --- the Earth -------------------------------------------------------------------------
# WGS84 ellipsoid: equatorial radius and flattening (stations, altitudes, shadow).
WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563
EARTH_RADIUS_KM = WGS84_A_KM
# Mean sidereal rotation rate for GMST 1982 around 2000-2050 (rad per second of UT1).
EARTH_ROTATION_RAD_S = 7.292115146706979e-5
# WGS72, the constants SGP4 is defined with; used to characterise TLE orbits.
MU_WGS72_KM3_S2 = 398_600.8
# Earth as hapsira models it (GM, equatorial radius and J2 from its constants).
MU_EARTH_KM3_S2 = 398_600.4418
R_EARTH_J2_KM = 6378.1366
J2_EARTH = 1.08263e-3

# --- orbits we plan for ----------------------------------------------------------------
MIN_PERIGEE_ALTITUDE_KM = 100.0  # below the Karman line an orbit decays within hours
MAX_SEMI_MAJOR_AXIS_KM = 500_000.0  # beyond lunar distance: not an Earth orbit we plan for

# --- the Sun and light -----------------------------------------------------------------
AU_KM = 149_597_870.7
SUN_RADIUS_KM = 696_000.0
SPEED_OF_LIGHT_KM_S = 299_792.458
