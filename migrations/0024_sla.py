"""Recovery SLAs (issue 11): calendars and their versions, policies, the engine's picture of each
ticket, one clock per ticket, metric and round, and one firing per (ticket, metric, round,
kind, level) — the unique key that makes each warning, breach and escalation step happen once.

The sweep's column is `sla_clock.next_check_at`, in two partial indexes (only clocks with
something pending are in them): (tenant_id, next_check_at) for a brand's due clocks, and
(next_check_at, tenant_id) for `sla_due_tenants(until)`, the brands with a clock due: SECURITY
DEFINER and owned by `huifang_search` (like `tenant_ids()`, migration 0010), it returns ids only.
Without a superuser to create that role it runs as the caller and finds nothing: the deadline
jobs still fire, the sweep has no brands to catch up."""
from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql

NEW_TABLES = ["sla_calendar", "sla_calendar_version", "sla_policy", "sla_ticket", "sla_clock", "sla_firing"]
# composite keys: every reference stays inside its brand (CONVENTIONS.md, the second wall)
_FK = "ALTER TABLE {0} ADD CONSTRAINT {0}_{1}_fk FOREIGN KEY (tenant_id, {1}_id) REFERENCES {2} (tenant_id, id) ON DELETE {3}"
KEYS = [
    _FK.format("sla_calendar", "dealer", "dealer", "CASCADE"),
    _FK.format("sla_policy", "notification_calendar", "sla_calendar", "SET NULL (notification_calendar_id)"),
    # the engine's picture of a ticket is the ticket's: id is the ticket's id
    "ALTER TABLE sla_ticket ADD CONSTRAINT sla_ticket_ticket_fk FOREIGN KEY (tenant_id, id) REFERENCES ticket (tenant_id, id) ON DELETE CASCADE",
    _FK.format("sla_clock", "ticket", "sla_ticket", "CASCADE"),
    _FK.format("sla_clock", "policy", "sla_policy", "SET NULL (policy_id)"),
    # a clock counts on an immutable calendar version (versions outlive a deleted calendar)
    "ALTER TABLE sla_clock ADD CONSTRAINT sla_clock_calendar_version_fk FOREIGN KEY (tenant_id, calendar_id, calendar_version) "
    "REFERENCES sla_calendar_version (tenant_id, calendar_id, version) ON DELETE RESTRICT",
    # deferred: a unit of work writes a new clock's firings before the clock itself
    "ALTER TABLE sla_firing ADD CONSTRAINT sla_firing_clock_fk FOREIGN KEY (tenant_id, clock_id) REFERENCES sla_clock (tenant_id, id) "
    "ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE sla_calendar ADD CONSTRAINT sla_calendar_kind_ck CHECK (kind IN ('brand', 'always', 'dealer', 'custom') "
    "AND (kind = 'dealer') = (dealer_id IS NOT NULL))",
    "ALTER TABLE sla_policy ADD CONSTRAINT sla_policy_calendar_ck CHECK (calendar IN ('business', 'always') "
    "AND open_clocks IN ('recompute', 'keep'))",
    "ALTER TABLE sla_clock ADD CONSTRAINT sla_clock_state_ck CHECK (state IN ('running', 'paused', 'met', 'cancelled') "
    "AND metric IN ('first_contact', 'solution_proposed', 'resolution', 'resurvey_sent') AND target_us > 0 AND consumed_us >= 0 "
    "AND (running_since IS NULL OR state = 'running'))",
    "ALTER TABLE sla_firing ADD CONSTRAINT sla_firing_kind_ck CHECK (kind IN ('warning', 'breach', 'escalation') "
    "AND notice IN ('sent', 'pending', 'dropped'))",
]
INDEXES = [
    # one brand calendar and one 24x7 calendar per brand, one calendar per dealer
    "CREATE UNIQUE INDEX sla_calendar_one_uq ON sla_calendar (tenant_id, kind) WHERE kind IN ('brand', 'always')",
    "CREATE UNIQUE INDEX sla_calendar_dealer_uq ON sla_calendar (tenant_id, dealer_id) WHERE dealer_id IS NOT NULL",
    # the sweep: a brand's due clocks, and the brands with any
    "CREATE INDEX sla_clock_due_idx ON sla_clock (tenant_id, next_check_at) WHERE next_check_at IS NOT NULL",
    "CREATE INDEX sla_clock_due_tenants_idx ON sla_clock (next_check_at, tenant_id) WHERE next_check_at IS NOT NULL",
    # a recompute walks the open clocks by ticket
    "CREATE INDEX sla_clock_open_idx ON sla_clock (tenant_id, ticket_id) WHERE state IN ('running', 'paused')",
]
DUE_TENANTS = [
    """
CREATE OR REPLACE FUNCTION sla_due_tenants(until timestamptz) RETURNS SETOF uuid
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $fn$
  SELECT DISTINCT tenant_id FROM sla_clock WHERE next_check_at <= until
$fn$""",
    "REVOKE ALL ON FUNCTION sla_due_tenants(timestamptz) FROM PUBLIC",
    """
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    GRANT SELECT (tenant_id, next_check_at) ON sla_clock TO huifang_search;
    ALTER FUNCTION sla_due_tenants(timestamptz) OWNER TO huifang_search;
    ALTER FUNCTION sla_due_tenants(timestamptz) SECURITY DEFINER;
  END IF;
END
$do$""",
]

class Migration(migrations.Migration):
    dependencies = [('huifang', '0023_trusted_documents')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SlaCalendar',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('name', fields.CharField(max_length=120)),
                ('kind', fields.CharField(max_length=12)),
                ('dealer_id', fields.UUIDField(null=True)),
                ('spec', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('version', fields.IntField(default=1)),
                ('seed_report', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'sla_calendar', 'app': 'huifang', 'unique_together': (('tenant_id', 'name'),), 'pk_attr': 'id', 'table_description': 'A business calendar (spec: app/sla/calendar.py). Every change bumps `version` and writes'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SlaCalendarVersion',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('calendar_id', fields.UUIDField()),
                ('version', fields.IntField()),
                ('spec', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sla_calendar_version', 'app': 'huifang', 'unique_together': (('tenant_id', 'calendar_id', 'version'),), 'pk_attr': 'id', 'table_description': 'What a calendar was at one version (never changed, never deleted: clocks count on it).'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SlaClock',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('ticket_id', fields.UUIDField()),
                ('metric', fields.CharField(max_length=24)),
                ('round', fields.IntField()),
                ('policy_id', fields.UUIDField(null=True)),
                ('policy_version', fields.IntField()),
                ('dealer_id', fields.UUIDField(null=True)),
                ('calendar_id', fields.UUIDField()),
                ('calendar_version', fields.IntField()),
                ('calendar_mode', fields.CharField(max_length=12)),
                ('target_us', fields.BigIntField()),
                ('consumed_us', fields.BigIntField(default=0)),
                ('running_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('stopped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('state', fields.CharField(max_length=12)),
                ('breached_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('warned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('checked_us', fields.BigIntField(default=0)),
                ('next_check_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notice_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('pauses', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('warnings', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('escalation', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('notification_calendar_id', fields.UUIDField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'sla_clock', 'app': 'huifang', 'unique_together': (('tenant_id', 'ticket_id', 'metric', 'round'),), 'indexes': [Index(fields=['tenant_id', 'started_at'])], 'pk_attr': 'id', 'table_description': 'One metric of one round of one ticket (app/sla/clocks.py). Business times in µs.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SlaFiring',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('clock_id', fields.UUIDField()),
                ('ticket_id', fields.UUIDField()),
                ('metric', fields.CharField(max_length=24)),
                ('round', fields.IntField()),
                ('kind', fields.CharField(max_length=12)),
                ('level', fields.IntField()),
                ('reached_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('fired_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('notify_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notice', fields.CharField(max_length=12)),
                ('noticed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sla_firing', 'app': 'huifang', 'unique_together': (('tenant_id', 'ticket_id', 'metric', 'round', 'kind', 'level'),), 'indexes': [Index(fields=['tenant_id', 'clock_id'])], 'pk_attr': 'id', 'table_description': 'A warning, breach or escalation step that happened: at most one per (ticket, metric,'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SlaPolicy',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('name', fields.CharField(max_length=120)),
                ('position', fields.IntField(default=0)),
                ('enabled', fields.BooleanField(default=True)),
                ('version', fields.IntField(default=1)),
                ('conditions', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('targets', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('pauses', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('warnings', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('escalation', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('calendar', fields.CharField(default='business', max_length=12)),
                ('notification_calendar_id', fields.UUIDField(null=True)),
                ('open_clocks', fields.CharField(default='recompute', max_length=12)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'sla_policy', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'position'])], 'pk_attr': 'id', 'table_description': "One of the brand's SLA policies (app/sla/policies.py: conditions, targets, pauses,"},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SlaTicket',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('number', fields.CharField(max_length=20)),
                ('status', fields.CharField(max_length=24)),
                ('round', fields.IntField(default=1)),
                ('customer_id', fields.UUIDField()),
                ('dealer_id', fields.UUIDField(null=True)),
                ('agent_id', fields.UUIDField(null=True)),
                ('priority', fields.CharField(null=True, max_length=12)),
                ('category_id', fields.UUIDField(null=True)),
                ('dimension', fields.CharField(null=True, max_length=16)),
                ('source', fields.CharField(null=True, max_length=16)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sla_ticket', 'app': 'huifang', 'pk_attr': 'id', 'table_description': "What the SLA engine knows of a ticket, from its events (`id` is the ticket's id): the"},
            bases=['TenantModel'],
        ),
        ops.RunSQL([*(sql for t in NEW_TABLES for sql in tenant_table_sql(t)), *KEYS, *INDEXES, *DUE_TENANTS]),
    ]
