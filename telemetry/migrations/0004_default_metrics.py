"""The node-health metrics every Zenith compute node reports, with default limits."""

from django.db import migrations

METRICS = [
    # name, unit, kind, description, warn_low, warn_high, crit_low, crit_high
    ("battery_soc", "ratio", "gauge", "battery state of charge", 0.3, None, 0.15, None),
    ("battery_temp_c", "degC", "gauge", "battery pack temperature", 0.0, 40.0, -10.0, 50.0),
    ("power_in_w", "W", "gauge", "solar array power generated", None, None, None, None),
    ("power_draw_w", "W", "gauge", "bus power consumed", None, None, None, None),
    ("cpu_temp_c", "degC", "gauge", "host CPU temperature", None, 85.0, None, 95.0),
    ("gpu_temp_c", "degC", "gauge", "hottest GPU temperature", None, 83.0, None, 92.0),
    ("gpu_util", "ratio", "gauge", "mean GPU utilisation", None, None, None, None),
    ("gpu_power_w", "W", "gauge", "GPU power draw", None, None, None, None),
    ("radiator_temp_c", "degC", "gauge", "radiator panel temperature", -40.0, 60.0, -60.0, 75.0),
    ("ecc_errors_total", "count", "counter", "GPU memory ECC corrected errors (resets on reboot)", None, None, None, None),
    ("ecc_uncorrected_total", "count", "counter", "GPU memory ECC uncorrected errors", None, None, None, None),
    ("xid_errors_total", "count", "counter", "GPU XID errors (resets on reboot)", None, None, None, None),
    ("seu_total", "count", "counter", "single-event upsets detected (radiation)", None, None, None, None),
    ("link_snr_db", "dB", "gauge", "ground link signal-to-noise ratio", 3.0, None, 1.0, None),
    ("link_rate_bps", "bit/s", "gauge", "achieved link rate", None, None, None, None),
    ("storage_used_bytes", "B", "gauge", "payload storage used", None, None, None, None),
    ("storage_free_bytes", "B", "gauge", "payload storage free", None, None, None, None),
    ("memory_used_ratio", "ratio", "gauge", "host memory used", None, 0.9, None, 0.97),
]


def add(apps, schema_editor):  # type: ignore[no-untyped-def]
    Metric = apps.get_model("telemetry", "Metric")
    for name, unit, kind, description, wl, wh, cl, ch in METRICS:
        Metric.objects.get_or_create(
            name=name,
            defaults={
                "unit": unit, "kind": kind, "description": description, "warn_low": wl,
                "warn_high": wh, "crit_low": cl, "crit_high": ch,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0003_series_tables")]
    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
