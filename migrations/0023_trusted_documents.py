"""Trusted documents and allow-list mode (issue #12 item 4): GraphQL documents registered for a
brand's own front-ends or for one partner app, and who runs only those (app/core/documents.py)."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql


class Migration(migrations.Migration):
    dependencies = [('huifang', '0022_surveys')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DocumentPolicy',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('client_id', fields.CharField(default='', max_length=80)),
                ('created_by', fields.CharField(max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'document_policy', 'app': 'huifang', 'unique_together': (('tenant_id', 'client_id'),), 'pk_attr': 'id', 'table_description': "Allow-list mode, on while its row exists: for the whole brand (`client_id` '') or for"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TrustedDocument',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('client_id', fields.CharField(default='', max_length=80)),
                ('sha256', fields.CharField(max_length=64)),
                ('name', fields.CharField(null=True, max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'trusted_document', 'app': 'huifang', 'unique_together': (('tenant_id', 'client_id', 'sha256'),), 'pk_attr': 'id', 'table_description': "A GraphQL document registered for a brand's own front-ends (`client_id` '') or for one"},
            bases=['Model'],
        ),
        ops.RunSQL(tenant_table_sql("document_policy")),
        ops.RunSQL(tenant_table_sql("trusted_document")),
        ops.RunSQL(["ALTER TABLE trusted_document ADD CONSTRAINT trusted_document_sha256_ck CHECK (sha256 ~ '^[0-9a-f]{64}$')"]),
    ]
