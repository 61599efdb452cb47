"""Per-brand ticket rules: the round limit and the compensation approval threshold."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql


class Migration(migrations.Migration):
    dependencies = [('huifang', '0020_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TicketPolicy',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('max_rounds', fields.IntField(default=2)),
                ('approval_threshold', fields.DecimalField(default=1000, max_digits=12, decimal_places=2)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'ticket_policy', 'app': 'huifang', 'unique_together': (('tenant_id',),), 'pk_attr': 'id', 'table_description': "The brand's rules for its tickets (one row per brand; defaults until it sets them)."},
            bases=['TenantModel'],
        ),
        ops.RunSQL(tenant_table_sql("ticket_policy")),
        ops.RunSQL(["ALTER TABLE ticket_policy ADD CONSTRAINT ticket_policy_ck CHECK (max_rounds BETWEEN 1 AND 10 "
                    "AND approval_threshold >= 0)"]),
    ]
