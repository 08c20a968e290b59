"""The console's reads: each page's data gathered across apps, in a fixed number of
queries whatever the fleet's size (every page has a query-count guard).

``fleet`` (the tiles), ``node`` (one node in depth), ``passes`` (the timeline and a
pass's sky track), ``tracks`` (the world map), ``transfers`` (the queue), ``alerts``
(open alerts and their lists, on call, through ``ops.alerts``' selectors); ``orbits``
holds what several pages share (current orbits, light and shadow).
"""
