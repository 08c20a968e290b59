"""Bad environment values stop Zenith at start with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
    }
    env.update({"ZENITH_VAR_DIR": str(tmp_path), **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"DATABASE_URL": "mysql://db/zenith", "SECRET_KEY": "x" * 40}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://db:notaport/zenith", "SECRET_KEY": "x" * 40}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://db/zenith"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"REDIS_URL": "http://redis:6379"}, "REDIS_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"INFLUXDB_URL": "http://influx:8086"}, "INFLUXDB_TOKEN"),
        ({"SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE"),
    ],
)
def test_bad_values_fail_naming_the_variable(
    overrides: dict[str, str], name: str, tmp_path: Path
) -> None:
    result = start(overrides, tmp_path)
    assert result.returncode != 0
    assert f"environment variable {name}" in result.stderr


def test_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 50 + "\n")
    result = start({"SECRET_KEY_FILE": str(secret)}, tmp_path)
    assert result.returncode == 0, result.stderr
    both = start({"SECRET_KEY_FILE": str(secret), "SECRET_KEY": "k" * 40}, tmp_path)
    assert both.returncode != 0 and "choose one" in both.stderr


def test_embedded_defaults(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
    }
    env["ZENITH_VAR_DIR"] = str(tmp_path)
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='zenith.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'],"
        " s.CELERY_BROKER_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "filesystem://",
    ]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
