"""Complaint tickets (app/complaint): the ticket with its recovery record, the brand's category
tree, the per-brand ticket-number counter; tenant keys, forced RLS and composite foreign keys."""
from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql

KEYS = [
    'ALTER TABLE ticket ADD CONSTRAINT ticket_customer_fk FOREIGN KEY (tenant_id, customer_id) REFERENCES customer (tenant_id, id) ON DELETE RESTRICT',
    'ALTER TABLE ticket ADD CONSTRAINT ticket_dealer_fk FOREIGN KEY (tenant_id, dealer_id) REFERENCES dealer (tenant_id, id) ON DELETE RESTRICT',
    'ALTER TABLE ticket ADD CONSTRAINT ticket_agent_fk FOREIGN KEY (tenant_id, agent_id) REFERENCES app_user (tenant_id, id) ON DELETE SET NULL (agent_id)',
    'ALTER TABLE ticket ADD CONSTRAINT ticket_category_fk FOREIGN KEY (tenant_id, category_id) REFERENCES ticket_category (tenant_id, id) ON DELETE RESTRICT',
    'ALTER TABLE ticket_category ADD CONSTRAINT ticket_category_parent_fk FOREIGN KEY (tenant_id, parent_id) REFERENCES ticket_category (tenant_id, id) ON DELETE RESTRICT',
    "ALTER TABLE ticket ADD CONSTRAINT ticket_round_ck CHECK (round >= 1)",
]

class Migration(migrations.Migration):
    dependencies = [('huifang', '0017_domain_events')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Ticket',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('number', fields.CharField(max_length=20)),
                ('customer_id', fields.UUIDField()),
                ('dealer_id', fields.UUIDField(null=True)),
                ('agent_id', fields.UUIDField(null=True)),
                ('status', fields.CharField(default='new', max_length=24)),
                ('round', fields.IntField(default=1)),
                ('version', fields.IntField(default=1)),
                ('source', fields.CharField(max_length=16)),
                ('channel', fields.CharField(null=True, max_length=40)),
                ('external_ref', fields.CharField(null=True, max_length=120)),
                ('category_id', fields.UUIDField(null=True)),
                ('dimension', fields.CharField(null=True, max_length=16)),
                ('severity', fields.CharField(default='medium', max_length=12)),
                ('priority', fields.CharField(default='normal', max_length=12)),
                ('tags', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('title', fields.CharField(max_length=200)),
                ('verbatim', fields.TextField(null=True, unique=False)),
                ('product_id', fields.UUIDField(null=True)),
                ('brand_flagged', fields.BooleanField(default=False)),
                ('brand_owned', fields.BooleanField(default=False)),
                ('contact_channel', fields.CharField(null=True, max_length=16)),
                ('contact_notes', fields.TextField(null=True, unique=False)),
                ('root_cause', fields.TextField(null=True, unique=False)),
                ('solution', fields.TextField(null=True, unique=False)),
                ('compensation_kind', fields.CharField(null=True, max_length=16)),
                ('compensation_value', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('compensation_currency', fields.CharField(null=True, max_length=3)),
                ('compensation_approved_by', fields.UUIDField(null=True)),
                ('follow_up', fields.TextField(null=True, unique=False)),
                ('status_reason', fields.TextField(null=True, unique=False)),
                ('duplicate_of_id', fields.UUIDField(null=True)),
                ('created_by', fields.CharField(max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ticket', 'app': 'huifang', 'unique_together': (('tenant_id', 'number'),), 'indexes': [Index(fields=['tenant_id', 'created_at', 'id']), Index(fields=['tenant_id', 'status', 'created_at', 'id']), Index(fields=['tenant_id', 'dealer_id', 'status', 'created_at', 'id']), Index(fields=['tenant_id', 'customer_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TicketCategory',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('parent_id', fields.UUIDField(null=True)),
                ('code', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=120)),
                ('name_zh', fields.CharField(null=True, max_length=120)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'ticket_category', 'app': 'huifang', 'unique_together': (('tenant_id', 'code'),), 'pk_attr': 'id', 'table_description': "The brand's category tree, seeded with the causes of seed 003 (brands add their own)."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TicketCounter',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('year', fields.IntField()),
                ('last_number', fields.IntField(default=0)),
            ],
            options={'table': 'ticket_counter', 'app': 'huifang', 'unique_together': (('tenant_id', 'year'),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        *(ops.RunSQL(tenant_table_sql(t)) for t in ("ticket", "ticket_category", "ticket_counter")),
        ops.RunSQL(KEYS),
    ]
