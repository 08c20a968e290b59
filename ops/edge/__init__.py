"""The API edge every app shares (not a Django app; imports no app).

``exceptions``: ``DomainError``, the base of every app's named errors. ``errors``: the JSON
error shape and the one DRF exception handler that
maps domain errors, validation errors and database outages to HTTP. ``access``: scopes,
roles and who the caller is (``request_scopes``, ``request_spacecraft_ids``,
``actor_name``), and the spacecraft restriction services and selectors apply
(``check_spacecraft_allowed``, ``check_unrestricted``, ``only_allowed``). ``permissions``:
the one permission class. ``fields``: what every endpoint shares about its input
(``path_id``, ``check_window``, ``state_pattern``); fields naming fleet objects by slug
are the fleet's (``ops.fleet.fields``). ``pagination``, ``schema`` (OpenAPI auth).
``live``: the one way apps publish live events to consoles.
Token authentication itself is the fleet's (``ops.fleet.auth``): it owns the tokens.
"""
