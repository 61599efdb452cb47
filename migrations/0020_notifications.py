"""In-app notifications (app/notification): one row per person and domain event; tenant keys,
forced RLS, the person a composite foreign key to app_user."""
from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql

KEYS = [
    'ALTER TABLE notification ADD CONSTRAINT notification_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id) ON DELETE CASCADE',
]

class Migration(migrations.Migration):
    dependencies = [('huifang', '0019_ticket_updated_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('user_id', fields.UUIDField()),
                ('event_id', fields.UUIDField()),
                ('kind', fields.CharField(max_length=40)),
                ('subject_type', fields.CharField(max_length=40)),
                ('subject_id', fields.UUIDField(null=True)),
                ('title', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'huifang', 'unique_together': (('tenant_id', 'user_id', 'event_id'),), 'indexes': [Index(fields=['tenant_id', 'user_id', 'created_at', 'id'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.RunSQL(tenant_table_sql("notification")),
        ops.RunSQL(KEYS),
    ]
