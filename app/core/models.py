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


class DomainEvent(Model):
    """One domain event (app/core/events.py): append-only, recorded in the transaction of the
    change it describes. `txid` (xid8, set by the database: migration 0017) orders events for
    after-commit consumers."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()
    type = fields.CharField(max_length=80)
    subject_type = fields.CharField(max_length=40)
    subject_id = fields.UUIDField(null=True)
    actor = fields.CharField(max_length=120)
    payload = fields.JSONField(default=dict)
    occurred_at = fields.DatetimeField()
    request_id = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "domain_event"


class EventCursor(Model):
    """How far one after-commit consumer has read a brand's events: (txid, event id)."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()
    consumer = fields.CharField(max_length=80)
    last_event_id = fields.UUIDField(null=True)
    delivered = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "event_cursor"
        unique_together = (("tenant_id", "consumer"),)
