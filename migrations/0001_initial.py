from tortoise import fields, migrations
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.permissions import Role


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Brand',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'brand', 'app': 'huifang', 'pk_attr': 'id', 'table_description': 'The tenant. Its `id` is the tenant id of every row the brand owns.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Dealer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('code', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=200)),
                ('region', fields.CharField(max_length=64)),
                ('time_zone', fields.CharField(default='Asia/Shanghai', max_length=64)),
                ('city', fields.CharField(null=True, max_length=100)),
                ('customer_count', fields.IntField(default=0)),
                ('customer_count_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'dealer', 'app': 'huifang', 'unique_together': (('tenant_id', 'code'),), 'indexes': [Index(fields=['tenant_id', 'name', 'id']), Index(fields=['tenant_id', 'region', 'name', 'id']), Index(fields=['tenant_id', 'code', 'id'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('dealer', fields.ForeignKeyField('huifang.Dealer', source_field='dealer_id', null=True, db_constraint=False, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('phone', fields.CharField(null=True, max_length=32)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'customer', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'dealer_id', 'id'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('email', fields.CharField(max_length=254)),
                ('display_name', fields.CharField(max_length=200)),
                ('is_active', fields.BooleanField(default=True)),
                ('password_hash', fields.CharField(null=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'app_user', 'app': 'huifang', 'unique_together': (('tenant_id', 'email'),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('user', fields.ForeignKeyField('huifang.User', source_field='user_id', db_constraint=False, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='BRAND_ADMIN: brand_admin\nBRAND_ANALYST: brand_analyst\nREGIONAL_MANAGER: regional_manager\nDEALER_MANAGER: dealer_manager\nDEALER_AGENT: dealer_agent', enum_type=Role, max_length=32)),
                ('dealer', fields.ForeignKeyField('huifang.Dealer', source_field='dealer_id', null=True, db_constraint=False, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('regions', ArrayField(default=list, element_type='TEXT')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'membership', 'app': 'huifang', 'unique_together': (('tenant_id', 'user_id', 'role'),), 'indexes': [Index(fields=['tenant_id', 'dealer_id'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
    ]
