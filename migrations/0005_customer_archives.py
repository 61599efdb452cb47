from orjson import loads
from tortoise import fields, migrations
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.migration_ops import StateOnly  # state-only ops: see app/core/migration_ops.py


class Migration(migrations.Migration):
    dependencies = [('huifang', '0004_oauth_rls')]

    initial = False

    operations = [
        StateOnly(ops.RemoveField(model_name='Customer', name='dealer')),
        StateOnly(ops.AddField(
            model_name='Customer',
            name='dealer_id',
            field=fields.UUIDField(null=True),
        )),
        ops.CreateModel(
            name='ContactPoint',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('customer_id', fields.UUIDField()),
                ('channel', fields.CharField(max_length=16)),
                ('value', fields.CharField(max_length=254)),
                ('normalized', fields.CharField(max_length=254)),
                ('label', fields.CharField(null=True, max_length=40)),
                ('verified', fields.BooleanField(default=False)),
                ('consent', fields.BooleanField(default=True)),
                ('do_not_contact', fields.BooleanField(default=False)),
                ('is_primary', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_contact', 'app': 'huifang', 'unique_together': (('tenant_id', 'customer_id', 'channel', 'normalized'),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='CustomerEvent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('customer_id', fields.UUIDField()),
                ('kind', fields.CharField(max_length=24)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ref_type', fields.CharField(null=True, max_length=24)),
                ('ref_id', fields.UUIDField(null=True)),
                ('summary', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'customer_event', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'occurred_at', 'id'])], 'pk_attr': 'id', 'table_description': 'The timeline journal. `kind`: interaction, promise, promise_resolved, purchase, survey,'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='CustomerImport',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('format', fields.CharField(max_length=8)),
                ('filename', fields.CharField(null=True, max_length=200)),
                ('size_bytes', fields.IntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('rows_total', fields.IntField(default=0)),
                ('rows_created', fields.IntField(default=0)),
                ('rows_updated', fields.IntField(default=0)),
                ('rows_unchanged', fields.IntField(default=0)),
                ('rows_failed', fields.IntField(default=0)),
                ('errors', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_by', fields.CharField(max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'customer_import', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='ExternalRef',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('customer_id', fields.UUIDField()),
                ('source', fields.CharField(max_length=40)),
                ('external_id', fields.CharField(max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_external_ref', 'app': 'huifang', 'unique_together': (('tenant_id', 'source', 'external_id'),), 'indexes': [Index(fields=['tenant_id', 'customer_id'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='ImportChunk',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('import_id', fields.UUIDField()),
                ('seq', fields.IntField()),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'customer_import_chunk', 'app': 'huifang', 'unique_together': (('tenant_id', 'import_id', 'seq'),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Interaction',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('customer_id', fields.UUIDField()),
                ('dealer_id', fields.UUIDField(null=True)),
                ('kind', fields.CharField(max_length=16)),
                ('outcome', fields.CharField(max_length=24)),
                ('notes', fields.TextField(null=True, unique=False)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('user_id', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_interaction', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'occurred_at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='OwnedProduct',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('customer_id', fields.UUIDField()),
                ('product_model', fields.CharField(max_length=120)),
                ('serial', fields.CharField(null=True, max_length=64)),
                ('purchase_date', fields.DateField(null=True)),
                ('purchase_dealer_id', fields.UUIDField(null=True)),
                ('purchase_reason', fields.TextField(null=True, unique=False)),
                ('usage_notes', fields.TextField(null=True, unique=False)),
                ('warranty_end', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_product', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'purchase_date'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Promise',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('customer_id', fields.UUIDField()),
                ('dealer_id', fields.UUIDField(null=True)),
                ('description', fields.TextField(unique=False)),
                ('promised_by', fields.CharField(max_length=120)),
                ('due_date', fields.DateField(null=True)),
                ('status', fields.CharField(default='open', max_length=8)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolution_note', fields.TextField(null=True, unique=False)),
                ('created_by', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_promise', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'status']), Index(fields=['tenant_id', 'status', 'due_date'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TierChange',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('customer_id', fields.UUIDField()),
                ('from_tier', fields.CharField(null=True, max_length=1)),
                ('to_tier', fields.CharField(max_length=1)),
                ('score', fields.FloatField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'customer_tier_change', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TierPolicy',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('w_purchases', fields.FloatField(default=10)),
                ('w_spend', fields.FloatField(default=1)),
                ('w_tenure', fields.FloatField(default=2)),
                ('w_referrals', fields.FloatField(default=5)),
                ('a_min', fields.FloatField(default=40)),
                ('b_min', fields.FloatField(default=15)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'tier_policy', 'app': 'huifang', 'unique_together': (('tenant_id',),), 'pk_attr': 'id', 'table_description': "The brand's value formula: score = w_purchases*products + w_spend*spend/1000 +"},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='WinbackAction',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('customer_id', fields.UUIDField()),
                ('action', fields.CharField(max_length=40)),
                ('notes', fields.TextField(null=True, unique=False)),
                ('outcome', fields.CharField(default='pending', max_length=16)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('user_id', fields.UUIDField(null=True)),
            ],
            options={'table': 'customer_winback', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'occurred_at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.RemoveIndex(
            model_name='Customer',
            name=None,
            fields=['tenant_id', 'dealer_id', 'id'],
        ),
        ops.AddField(
            model_name='Customer',
            name='birth_year',
            field=fields.SmallIntField(null=True),
        ),
        StateOnly(ops.AddField(
            model_name='Customer',
            name='churn_status',
            field=fields.CharField(default='active', max_length=16),
        )),
        ops.AddField(
            model_name='Customer',
            name='churn_updated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Customer',
            name='erased_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Customer',
            name='gender',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Customer',
            name='hobby_notes',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Customer',
            name='household_notes',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Customer',
            name='last_survey_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Customer',
            name='last_survey_score',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Customer',
            name='lost_type',
            field=fields.CharField(null=True, max_length=40),
        ),
        ops.AddField(
            model_name='Customer',
            name='merged_into_id',
            field=fields.UUIDField(null=True),
        ),
        StateOnly(ops.AddField(
            model_name='Customer',
            name='open_ticket_count',
            field=fields.IntField(default=0),
        )),
        ops.AddField(
            model_name='Customer',
            name='preferred_contact_hours',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='Customer',
            name='preferred_language',
            field=fields.CharField(null=True, max_length=16),
        ),
        StateOnly(ops.AddField(
            model_name='Customer',
            name='referrals',
            field=fields.IntField(default=0),
        )),
        StateOnly(ops.AddField(
            model_name='Customer',
            name='search_text',
            field=fields.TextField(default='', unique=False),
        )),
        StateOnly(ops.AddField(
            model_name='Customer',
            name='service_spend',
            field=fields.DecimalField(default=0, max_digits=14, decimal_places=2),
        )),
        StateOnly(ops.AddField(
            model_name='Customer',
            name='tags',
            field=ArrayField(default=list, element_type='TEXT'),
        )),
        ops.AddField(
            model_name='Customer',
            name='tier',
            field=fields.CharField(null=True, max_length=1),
        ),
        ops.AddField(
            model_name='Customer',
            name='tier_score',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Customer',
            name='tier_updated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # NOT NULL columns need a database default for the rows that already exist
        ops.RunSQL([
            "ALTER TABLE customer ADD COLUMN churn_status VARCHAR(16) NOT NULL DEFAULT 'active'",
            "ALTER TABLE customer ADD COLUMN open_ticket_count INT NOT NULL DEFAULT 0",
            "ALTER TABLE customer ADD COLUMN referrals INT NOT NULL DEFAULT 0",
            "ALTER TABLE customer ADD COLUMN search_text TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE customer ADD COLUMN service_spend DECIMAL(14,2) NOT NULL DEFAULT 0",
            "ALTER TABLE customer ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}'",
        ]),
        ops.RunSQL([
            # move the foundation's phone/e-mail columns into contact points (owner: lift FORCE briefly)
            "ALTER TABLE customer NO FORCE ROW LEVEL SECURITY",
            """INSERT INTO customer_contact (id, tenant_id, customer_id, channel, value, normalized, verified, consent,
                   do_not_contact, is_primary, created_at)
               SELECT gen_random_uuid(), tenant_id, id, 'phone', phone, regexp_replace(phone, '[^0-9+]', '', 'g'),
                      false, true, false, true, now() FROM customer WHERE phone IS NOT NULL AND phone <> ''""",
            """INSERT INTO customer_contact (id, tenant_id, customer_id, channel, value, normalized, verified, consent,
                   do_not_contact, is_primary, created_at)
               SELECT gen_random_uuid(), tenant_id, id, 'email', email, lower(email),
                      false, true, false, true, now() FROM customer WHERE email IS NOT NULL AND email <> ''""",
            "UPDATE customer SET search_text = lower(name || ' ' || coalesce(phone, '') || ' ' || coalesce(email, ''))",
            "ALTER TABLE customer FORCE ROW LEVEL SECURITY",
        ]),
        ops.RemoveField(model_name='Customer', name='email'),
        ops.RemoveField(model_name='Customer', name='phone'),
    ]
