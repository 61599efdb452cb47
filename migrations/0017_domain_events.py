"""Domain events (app/core/events.py): `domain_event`, append-only and tenant-scoped, and one
`event_cursor` row per brand and after-commit consumer.

`domain_event.txid` is the recording transaction's id (xid8, `pg_current_xact_id()`). A consumer
reads `(txid, id) > cursor` and only `txid < pg_snapshot_xmin(pg_current_snapshot())`: every
transaction below that bound has ended, so an event committed late by a long transaction is
never skipped (ordering by id or by a sequence alone would skip it). The cursor's `txid` column
is added here in SQL (xid8 has no Tortoise field). The service role may insert events and never
update or delete them (app/core/setup.py revokes both)."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql

SQL = [
    "ALTER TABLE domain_event ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()",
    "CREATE INDEX domain_event_relay_idx ON domain_event (tenant_id, txid, id)",
    "CREATE INDEX domain_event_subject_idx ON domain_event (tenant_id, subject_id, id)",
    "ALTER TABLE event_cursor ADD COLUMN last_txid xid8 NOT NULL DEFAULT '0'",
    "CREATE INDEX domain_event_occurred_idx ON domain_event (occurred_at)",
    # the sweep's list of brands with recent events (owned by huifang_search, like tenant_ids())
    """
CREATE OR REPLACE FUNCTION events_tenants(since interval) RETURNS SETOF uuid
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $fn$
  SELECT DISTINCT tenant_id FROM domain_event WHERE occurred_at > now() - since
$fn$""",
    "REVOKE ALL ON FUNCTION events_tenants(interval) FROM PUBLIC",
    """
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    GRANT SELECT (tenant_id, occurred_at) ON domain_event TO huifang_search;
    ALTER FUNCTION events_tenants(interval) OWNER TO huifang_search;
    ALTER FUNCTION events_tenants(interval) SECURITY DEFINER;
  END IF;
END
$do$""",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0016_job_outbox")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DomainEvent",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ("tenant_id", fields.UUIDField()),
                ("type", fields.CharField(max_length=80)),
                ("subject_type", fields.CharField(max_length=40)),
                ("subject_id", fields.UUIDField(null=True)),
                ("actor", fields.CharField(max_length=120)),
                ("payload", fields.JSONField(default=dict)),
                ("occurred_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("request_id", fields.CharField(max_length=64, null=True)),
            ],
            options={"table": "domain_event", "app": "huifang", "pk_attr": "id",
                     "table_description": "One domain event, recorded in the transaction of the change it describes."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EventCursor",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ("tenant_id", fields.UUIDField()),
                ("consumer", fields.CharField(max_length=80)),
                ("last_event_id", fields.UUIDField(null=True)),
                ("delivered", fields.BigIntField(default=0)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "event_cursor", "app": "huifang", "pk_attr": "id",
                     "unique_together": (("tenant_id", "consumer"),),
                     "table_description": "How far one after-commit consumer has read a brand's events."},
            bases=["Model"],
        ),
        ops.RunSQL(tenant_table_sql("domain_event")),
        ops.RunSQL(tenant_table_sql("event_cursor")),
        ops.RunSQL(SQL),
    ]
