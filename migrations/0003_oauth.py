from orjson import loads
from tortoise import fields, migrations
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.ids import uuid7


class Migration(migrations.Migration):
    dependencies = [('huifang', '0002_tenant_keys_rls')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('action', fields.CharField(max_length=64)),
                ('actor', fields.CharField(max_length=120)),
                ('target_type', fields.CharField(null=True, max_length=40)),
                ('target_id', fields.CharField(null=True, max_length=80)),
                ('details', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('ip', fields.CharField(null=True, max_length=64)),
                ('request_id', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'audit_event', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'at', 'id']), Index(fields=['tenant_id', 'action', 'at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='AuthorizationCode',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('code_hash', fields.CharField(max_length=64)),
                ('client_id', fields.CharField(max_length=80)),
                ('user_id', fields.UUIDField()),
                ('redirect_uri', fields.TextField(unique=False)),
                ('scope', fields.TextField(unique=False)),
                ('code_challenge', fields.CharField(max_length=128)),
                ('code_challenge_method', fields.CharField(max_length=8)),
                ('family_id', fields.UUIDField()),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'oauth_code', 'app': 'huifang', 'unique_together': (('tenant_id', 'code_hash'),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='PartnerApp',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('client_id', fields.CharField(max_length=80)),
                ('name', fields.CharField(max_length=120)),
                ('client_type', fields.CharField(max_length=16)),
                ('grant_types', ArrayField(default=list, element_type='TEXT')),
                ('redirect_uris', ArrayField(default=list, element_type='TEXT')),
                ('scopes', ArrayField(default=list, element_type='TEXT')),
                ('dealer_id', fields.UUIDField(null=True)),
                ('first_party', fields.BooleanField(default=False)),
                ('status', fields.CharField(default='active', max_length=16)),
                ('secret_hash', fields.CharField(null=True, max_length=128)),
                ('secret_hint', fields.CharField(null=True, max_length=16)),
                ('previous_secret_hash', fields.CharField(null=True, max_length=128)),
                ('previous_secret_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'partner_app', 'app': 'huifang', 'unique_together': (('tenant_id', 'client_id'),), 'indexes': [Index(fields=['tenant_id', 'name', 'id'])], 'pk_attr': 'id', 'table_description': 'An OAuth client registered by a brand. `client_id` embeds the tenant id (public), so the'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('token_hash', fields.CharField(max_length=64)),
                ('family_id', fields.UUIDField()),
                ('client_id', fields.CharField(max_length=80)),
                ('user_id', fields.UUIDField(null=True)),
                ('scope', fields.TextField(unique=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('rotated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'oauth_refresh_token', 'app': 'huifang', 'unique_together': (('tenant_id', 'token_hash'),), 'indexes': [Index(fields=['tenant_id', 'family_id'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TokenRevocation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('jti', fields.CharField(null=True, max_length=64)),
                ('family_id', fields.UUIDField(null=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'oauth_revocation', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'jti']), Index(fields=['tenant_id', 'family_id'])], 'pk_attr': 'id', 'table_description': 'Revoked access tokens (by jti) or whole families; checked on every API request in the'},
            bases=['TenantModel'],
        ),
    ]
