"""API token secrets: their public prefix and how they are hashed for storage and lookup.
Pure: shared by the writes (issue), the reads (lookup) and authentication."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "znt_"  # noqa: S105 - a public marker that makes leaked tokens greppable


def hash_token(secret: str) -> str:
    """What is stored and looked up: the SHA-256 of the secret, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)
