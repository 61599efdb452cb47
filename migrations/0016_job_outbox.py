"""The job outbox: jobs are written in the transaction that enqueues them, so a Redis outage
between COMMIT and the send delays work and loses none (app/core/jobs.py, app/core/models.py).

`outbox_tenants()` (SECURITY DEFINER, owned by `huifang_search` like `tenant_ids()`) returns
the ids of brands with rows overdue for relay, and nothing else, for the worker's sweep."""
from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql

FUNCTION = [
    """
CREATE OR REPLACE FUNCTION outbox_tenants(overdue interval) RETURNS SETOF uuid
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $fn$
  SELECT DISTINCT tenant_id FROM job_outbox WHERE run_at < now() - overdue
$fn$""",
    "REVOKE ALL ON FUNCTION outbox_tenants(interval) FROM PUBLIC",
    """
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    GRANT SELECT (tenant_id, run_at) ON job_outbox TO huifang_search;
    ALTER FUNCTION outbox_tenants(interval) OWNER TO huifang_search;
    ALTER FUNCTION outbox_tenants(interval) SECURITY DEFINER;
  END IF;
END
$do$""",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0015_request_bounds")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OutboxJob",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ("tenant_id", fields.UUIDField()),
                ("name", fields.CharField(max_length=100)),
                ("args", fields.JSONField()),
                ("job_id", fields.CharField(max_length=200, null=True)),
                ("run_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("relays", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "job_outbox", "app": "huifang", "indexes": [Index(fields=["run_at"])], "pk_attr": "id",
                     "table_description": "A job enqueued by a committed transaction, written in that transaction."},
            bases=["Model"],
        ),
        ops.RunSQL(tenant_table_sql("job_outbox")),
        ops.RunSQL(FUNCTION),
    ]
