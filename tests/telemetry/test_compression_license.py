"""Both TimescaleDB licenses: the suite runs on the Timescale-licensed build (compression,
as deployments run it), and the Apache-only path is run here on a private cluster.

``timescaledb.license`` cannot be changed per database or per session (TimescaleDB
refuses: "Cannot change a license in a running session"; only the server's configuration
file or command line may set it), so the Apache run starts a private PostgreSQL with
``timescaledb.license = 'apache'`` (the same binaries, the Timescale License module not
loaded: what Debian's Apache-only build offers) and runs the store tests against it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from telemetry.stores.schema import enable_compression, timescale_features
from tests.support import pgcluster
from tests.telemetry.compression_support import expected_license, loaded_license

ROOT = Path(__file__).resolve().parents[2]

# What the Apache run covers: every store read and write, rollups, retention, the observer,
# the schema and the health check naming the license.
APACHE_RUN = [
    "tests/telemetry/test_store_queries.py",
    "tests/telemetry/test_observers.py",
    "tests/telemetry/test_rollup_concurrency.py",
    "tests/telemetry/test_ingest_json.py",
    "tests/telemetry/test_query_api.py",
    "tests/telemetry/test_compression_license.py::test_the_schema_follows_the_loaded_license",
    "tests/test_health_metrics.py::test_healthz_names_the_timescaledb_license_to_admins",
    "tests/test_infrastructure.py::test_database_is_postgresql_with_timescaledb",
]


@pytest.mark.django_db
def test_the_schema_follows_the_loaded_license() -> None:
    assert loaded_license() == expected_license()
    with connection.cursor() as cursor:
        features = timescale_features(cursor)
        cursor.execute(
            "SELECT count(*) FROM timescaledb_information.compression_settings "
            "WHERE hypertable_name = 'telemetry_sample'"
        )
        compression_columns = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM timescaledb_information.jobs "
            "WHERE hypertable_name = 'telemetry_sample' AND proc_name = 'policy_compression'"
        )
        policies = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM timescaledb_information.hypertables "
            "WHERE hypertable_name = 'telemetry_sample'"
        )
        assert cursor.fetchone()[0] == 1  # hypertables and drop_chunks either way
    if loaded_license() == "timescale":
        assert features == {"hypertable": True, "compression": True, "continuous_aggregates": True}
        assert (compression_columns, policies) == (3, 1)
        return
    assert features == {"hypertable": True, "compression": False, "continuous_aggregates": False}
    assert (compression_columns, policies) == (0, 0)
    with connection.cursor() as cursor:
        assert (
            enable_compression(cursor, after_days=settings.TELEMETRY_COMPRESS_AFTER_DAYS) is False
        )
        # Not merely undetected: the extension really refuses it under this license.
        with pytest.raises(Exception, match='not supported under the current "apache" license'):
            cursor.execute("ALTER TABLE telemetry_sample SET (timescaledb.compress)")


@pytest.mark.django_db
def test_the_license_cannot_be_switched_per_database() -> None:
    """Why the Apache run needs its own server (see the module docstring)."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    for statement in (
        "SET timescaledb.license = 'apache'",
        f"ALTER DATABASE {name} SET timescaledb.license = 'apache'",
    ):
        with (
            pytest.raises(DatabaseError, match="Cannot change a license in a running session"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert loaded_license() == expected_license()


@pytest.mark.slow
def test_the_store_suite_passes_under_the_apache_license(tmp_path: Path) -> None:
    assert pgcluster.available(), "the PostgreSQL server binaries are needed (postgresql-15)"
    cluster = pgcluster.TempCluster().init()
    try:
        cluster.stop()
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write("timescaledb.license = 'apache'\n")
        cluster.start().wait_ready()
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url("zenith_apache"),
            "ZENITH_EXPECT_TSDB_LICENSE": "apache",
        }
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *APACHE_RUN],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        report = run.stdout[-3000:] + run.stderr[-2000:]
        assert run.returncode == 0, report
        summary = run.stdout.strip().splitlines()[-1]
        assert " passed" in summary and "skipped" not in summary, summary
        assert "failed" not in summary and "error" not in summary, summary
    finally:
        cluster.destroy()
