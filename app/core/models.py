"""Tables of the core itself (not of a domain): the job outbox."""
from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from app.core.ids import uuid7


class OutboxJob(Model):
    """A job enqueued by a committed transaction, written in that transaction. It is relayed
    to the queue after COMMIT and deleted by the job when it runs; rows whose relay failed
    (Redis down) are relayed again by the worker's sweep (`jobs.relay_outbox`)."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()
    name = fields.CharField(max_length=100)
    args = fields.JSONField()
    job_id = fields.CharField(max_length=200, null=True)
    run_at = fields.DatetimeField()
    relays = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "job_outbox"
        indexes = [Index(fields=["run_at"])]
