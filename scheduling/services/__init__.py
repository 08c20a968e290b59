"""Scheduling writes, one module (or package) per topic. Keyword-only and typed; one
transaction each; services never import tasks (entry points enqueue on commit).

- ``passes``: prediction jobs and their chunks, the periodic refresh.
- ``contacts``: manual booking, the contact lifecycle, the conflict checks.
- ``contact_plan``: the contact plan from stored passes (the pure planner's diff applied).
- ``transfers`` (package): submit and prepare, control, the transfer plan, chunk delivery.
- ``replan``: the orchestrator: contacts, then transfers onto them.
- ``execution`` (package): dispatching contacts, leases, running one from AOS to LOS.

Layering (import-linter): ``replan`` and ``execution`` over ``contact_plan`` and
``transfers``, over ``contacts``; contacts and transfers never import each other.
"""
