"""In-app notifications: one row per person and event, written by after-commit consumers of
domain events (app/notification/events.py)."""
from __future__ import annotations

from tortoise import fields

from app.tenant.models import TenantModel


class Notification(TenantModel):
    user_id = fields.UUIDField()
    event_id = fields.UUIDField()  # the domain event it came from: one notification per person and event
    kind = fields.CharField(max_length=40)
    subject_type = fields.CharField(max_length=40)
    subject_id = fields.UUIDField(null=True)
    title = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        unique_together = (("tenant_id", "user_id", "event_id"),)
        indexes = (("tenant_id", "user_id", "created_at", "id"),)
