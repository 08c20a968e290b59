"""Orbital mechanics for Zenith, free of Django: TLE and element-set parsing and checks
(``tle``, ``elements``), one constants module, time scales and Earth orientation
(``timescales``), propagation (SGP4 for TLEs, J2 through hapsira for element sets:
``propagation``), station geometry and horizon masks (``geometry``), pass search
(``passes``) and eclipses (``eclipses``). Scheduling, the console's ground tracks and the
simulator all use it; import-linter keeps Django (and every Zenith app) out of it.
"""
