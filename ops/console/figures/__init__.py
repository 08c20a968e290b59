"""Plotly figures for the console, built in Python and drawn by the browser's plotly.js.

Pure: dataclasses and plain values in, ``plotly.graph_objects.Figure`` out; no Django, no
database. ``series`` (a node's metrics), ``timeline`` (passes and contacts per station),
``sky`` (a pass's polar track over the horizon mask), ``tracks`` (the world map).
Times are UTC wall-clock strings (Plotly has no time zones); ``layout.meta.time`` names
the time axis, so the page can shift it to local time (``static/console/figures.js``).
"""
