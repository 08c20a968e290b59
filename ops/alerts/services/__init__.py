"""Alert writes, a module per topic. Keyword-only, typed, one transaction each.

``rules`` (rule and tag edits), ``evaluation`` (the ingest observer: limits on the ingest
path), ``lifecycle`` (raise/worsen/clear and the people's actions: ack, unack, shelve,
unshelve, reset, assign), ``outbox`` and ``audit`` (the rows every change writes),
``notify`` (fan-out and delivery by claiming workers), ``escalation`` (steps, shelve
expiry), ``oncall`` (schedules), ``staleness`` (pass-aware silence), ``sources`` (Events
API and Alertmanager).
"""
