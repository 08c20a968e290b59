"""Scheduling reads, one module per topic: ``passes`` (passes, look angles, prediction
jobs, what needs predicting), ``contacts`` (the plan, one contact) and ``transfers`` (the
queue, one transfer or workload, verified downlink content, the contact plan's demand)."""
