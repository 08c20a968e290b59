"""Operations apps: the fleet registry, alerts, the console, and ``edge`` (the API and
live plumbing every app shares). The project wiring lives in ``zenith``."""
