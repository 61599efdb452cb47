"""Audit trail: who did what to which object, from where. Append-only for the service."""
from __future__ import annotations

from tortoise import fields

from app.tenant.models import TenantModel


class AuditEvent(TenantModel):
    at = fields.DatetimeField(auto_now_add=True)
    action = fields.CharField(max_length=64)
    actor = fields.CharField(max_length=120)
    target_type = fields.CharField(max_length=40, null=True)
    target_id = fields.CharField(max_length=80, null=True)
    details = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=64, null=True)
    request_id = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_event"
        indexes = (("tenant_id", "at", "id"), ("tenant_id", "action", "at"))
