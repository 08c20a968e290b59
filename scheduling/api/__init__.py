"""Scheduling's REST API, one module per resource: ``passes`` (passes, prediction jobs,
look angles), ``contacts`` (the plan, manual booking, replan, cancel), ``transfers`` and
``workloads``. Routes in ``scheduling.urls``."""
