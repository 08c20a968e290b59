"""The audit log: every state change, notification and rule edit, with who, when, why.

Append-only in PostgreSQL itself: triggers refuse UPDATE, DELETE and TRUNCATE whoever
issues them (migration 0001). The model is unmanaged, so Django's test flush (a TRUNCATE
of every managed table) leaves it alone rather than tripping the trigger; ids never repeat,
so rows from one test never match another test's alerts or rules. It references alerts and
rules by value, not by foreign key: a deleted rule keeps its history, and no cascade ever
needs to touch an audit row.
"""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    alert_id = models.BigIntegerField(null=True, blank=True)
    rule_key = models.CharField(max_length=64, blank=True)
    spacecraft = models.CharField(max_length=64, blank=True)
    comment = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        managed = False
        db_table = "alerts_audit"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%dT%H:%M:%SZ} {self.actor} {self.action}"
