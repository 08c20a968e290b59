"""Typed environment readers for settings. Each fails loudly, naming the variable.

Secrets may come from a file: for ``SECRET_KEY`` the reader also honours
``SECRET_KEY_FILE`` (Docker/Kubernetes secrets), and setting both is an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ImproperEnvironment(RuntimeError):
    """An environment variable holds a value Zenith cannot use."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"environment variable {name}: {problem}")
        self.name = name


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    file_name = f"{name}_FILE"
    path = os.environ.get(file_name)
    if path:
        if value:
            raise ImproperEnvironment(name, f"set both {name} and {file_name}; choose one")
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperEnvironment(file_name, f"cannot read {path!r}: {exc.strerror}") from exc
    return value


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = _raw(name)
    if value is None or value == "":
        if required:
            raise ImproperEnvironment(name, "is required")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperEnvironment(name, f"expected a boolean (true/false/1/0), got {value!r}")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError as exc:
        raise ImproperEnvironment(name, f"expected an integer, got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise ImproperEnvironment(name, f"must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperEnvironment(name, f"must be <= {maximum}, got {number}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value.strip())
    except ValueError as exc:
        raise ImproperEnvironment(name, f"expected a number, got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise ImproperEnvironment(name, f"must be >= {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, *, schemes: set[str], default: str | None = None) -> str | None:
    value = env_str(name, default)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperEnvironment(name, f"scheme must be one of {allowed}, got {parts.scheme!r}")
    if not parts.hostname and parts.scheme not in {"sqlite", "memory", "filesystem", "unix"}:
        raise ImproperEnvironment(name, f"has no host: {value!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ImproperEnvironment(name, f"bad port in {value!r}") from exc
    return value


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default) or default
    if value not in choices:
        raise ImproperEnvironment(
            name, f"must be one of {', '.join(sorted(choices))}, got {value!r}"
        )
    return value


def env_parse(name: str, default: T, parse: Callable[[str], T]) -> T:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        return parse(value)
    except (TypeError, ValueError) as exc:
        raise ImproperEnvironment(name, str(exc)) from exc


def json_object(text: str) -> dict[str, object]:
    """Parse a JSON object (for ``env_parse``); anything else is a ValueError."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value
