"""The time-series tables (raw SQL; see telemetry/stores/schema.py for the layout)."""

from django.db import migrations


def create_series(apps, schema_editor):  # type: ignore[no-untyped-def]
    from django.conf import settings

    from telemetry.stores import schema

    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            schema.create_postgres(cursor, chunk_interval_hours=settings.TELEMETRY_CHUNK_HOURS)
            schema.enable_compression(cursor, after_days=settings.TELEMETRY_COMPRESS_AFTER_DAYS)
        else:
            schema.create_sqlite(cursor)


def drop_series(apps, schema_editor):  # type: ignore[no-untyped-def]
    from telemetry.stores import schema

    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            schema.drop_postgres(cursor)
        else:
            schema.drop_sqlite(cursor)


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0002_registry")]
    operations = [migrations.RunPython(create_series, drop_series)]
