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


class TrustedDocument(Model):
    """A GraphQL document registered for one OAuth app of the brand (`client_id`), or for its
    operator-minted tokens (`client_id` ''); in allow-list mode only registered documents run
    (app/core/documents.py)."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()
    client_id = fields.CharField(max_length=80, default="")
    sha256 = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200, null=True)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trusted_document"
        unique_together = (("tenant_id", "client_id", "sha256"),)


class DocumentPolicy(Model):
    """Allow-list mode, on while its row exists: for the whole brand (`client_id` '') or for
    one partner app."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()
    client_id = fields.CharField(max_length=80, default="")
    created_by = fields.CharField(max_length=120)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "document_policy"
        unique_together = (("tenant_id", "client_id"),)


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


class DataImport(Model):
    """One bulk import of any kind (app/core/imports.py): customers, survey results, ..."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()
    kind = fields.CharField(max_length=32, default="customers")
    status = fields.CharField(max_length=16, default="pending")  # pending | running | done | failed
    format = fields.CharField(max_length=8)  # csv | jsonl
    filename = fields.CharField(max_length=200, null=True)
    size_bytes = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    rows_total = fields.IntField(default=0)
    rows_created = fields.IntField(default=0)
    rows_updated = fields.IntField(default=0)
    rows_unchanged = fields.IntField(default=0)
    rows_failed = fields.IntField(default=0)
    errors = fields.JSONField(default=list)  # [{line, field, code, message}] (first 1000)
    options = fields.JSONField(default=dict)  # the upload's kind-specific options (e.g. unmatched=create)
    created_by = fields.CharField(max_length=120)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "data_import"
        indexes = (("tenant_id", "kind", "created_at"),)


class ImportChunk(Model):
    """The uploaded file, in 1 MB pieces, until its import ends."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()
    import_id = fields.UUIDField()
    seq = fields.IntField()
    data = fields.BinaryField()

    class Meta:
        table = "data_import_chunk"
        unique_together = (("tenant_id", "import_id", "seq"),)
