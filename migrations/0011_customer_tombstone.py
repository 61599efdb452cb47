"""Erasure tombstones (hashed external references) with forced RLS and tenant keys."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql


class Migration(migrations.Migration):
    dependencies = [('huifang', '0010_tenant_directory')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Tombstone',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('ref_hash', fields.CharField(max_length=64)),
                ('erased_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'customer_tombstone', 'app': 'huifang', 'unique_together': (('tenant_id', 'ref_hash'),), 'pk_attr': 'id', 'table_description': 'What erasure leaves of an external reference: a hash, so that the next import from the'},
            bases=['TenantModel'],
        ),
        ops.RunSQL(tenant_table_sql("customer_tombstone")),
    ]
