"""Surveys (templates, results, selection rules), care tickets' links to results, assignment rules;
the customer import tables become the shared import pipeline's (data_import, with a kind)."""
from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from app.core.ids import uuid7
from app.core.rls import tenant_table_sql

NEW_TABLES = ["survey_template", "survey_result", "survey_selection_rule", "ticket_survey_result", "ticket_assignment_rule"]
RENAMES = [
    "ALTER TABLE customer_import RENAME TO data_import",
    "ALTER TABLE customer_import_chunk RENAME TO data_import_chunk",
    "ALTER TABLE data_import_chunk RENAME CONSTRAINT customer_import_chunk_import_fk TO data_import_chunk_import_fk",
    "DROP INDEX idx_customer_im_tenant__33d274",
]
# composite keys: every reference stays inside its brand (CONVENTIONS.md, the second wall)
_FK = "ALTER TABLE {0} ADD CONSTRAINT {0}_{1}_fk FOREIGN KEY (tenant_id, {1}_id) REFERENCES {2} (tenant_id, id) ON DELETE {3}"
KEYS = [
    _FK.format("survey_result", "template", "survey_template", "RESTRICT"),
    _FK.format("survey_result", "customer", "customer", "RESTRICT"),
    _FK.format("survey_result", "dealer", "dealer", "RESTRICT"),
    _FK.format("survey_result", "rule", "survey_selection_rule", "SET NULL (rule_id)"),
    _FK.format("survey_selection_rule", "template", "survey_template", "CASCADE"),
    # no key to ticket: the links are written only by complaint.open_care_tickets, in the transaction that
    # inserted or found the ticket, and tickets are never deleted. A key would cost a lookup per link that
    # PostgreSQL plans badly for tickets inserted in the same transaction while the statistics still say the
    # brand has none (it probes a (tenant_id, ..., id) index instead of the primary key: 0.5 ms a link at
    # 20,000 new tickets, the slowest statement of a survey import)
    _FK.format("ticket_survey_result", "result", "survey_result", "CASCADE"),
    _FK.format("ticket_assignment_rule", "dealer", "dealer", "CASCADE"),
    # at most one open survey (care) ticket per customer and episode, whatever number of rules
    # or duplicate deliveries select their results (app/complaint/service.py open_care_tickets)
    "CREATE UNIQUE INDEX ticket_open_care_uq ON ticket (tenant_id, customer_id, episode) WHERE source = 'survey' "
    "AND status NOT IN ('recovered', 'cancelled', 'duplicate', 'closed')",
    "ALTER TABLE survey_result ADD CONSTRAINT survey_result_score_ck CHECK (overall_score IS NULL OR overall_score BETWEEN 0 AND 10)",
    "ALTER TABLE survey_selection_rule ADD CONSTRAINT survey_selection_rule_match_ck CHECK (match IN ('all', 'any'))",
]

class Migration(migrations.Migration):
    dependencies = [('huifang', '0021_ticket_policy')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AssignmentRule',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('name', fields.CharField(max_length=120)),
                ('position', fields.IntField(default=0)),
                ('enabled', fields.BooleanField(default=True)),
                ('region', fields.CharField(null=True, max_length=64)),
                ('product_line', fields.CharField(null=True, max_length=60)),
                ('source', fields.CharField(null=True, max_length=16)),
                ('dealer_id', fields.UUIDField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'ticket_assignment_rule', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'position'])], 'pk_attr': 'id', 'table_description': "The brand's routing: a new ticket matching every condition set here (region of the"},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SelectionRule',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('name', fields.CharField(max_length=120)),
                ('position', fields.IntField(default=0)),
                ('enabled', fields.BooleanField(default=True)),
                ('template_id', fields.UUIDField(null=True)),
                ('match', fields.CharField(default='all', max_length=3)),
                ('conditions', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('priority', fields.CharField(default='normal', max_length=12)),
                ('category_code', fields.CharField(null=True, max_length=64)),
                ('dimension', fields.CharField(null=True, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'survey_selection_rule', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'position'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SurveyResult',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('template_id', fields.UUIDField()),
                ('source', fields.CharField(max_length=40)),
                ('response_id', fields.CharField(max_length=120)),
                ('customer_id', fields.UUIDField()),
                ('dealer_id', fields.UUIDField(null=True)),
                ('episode', fields.CharField(default='', max_length=120)),
                ('product_line', fields.CharField(null=True, max_length=60)),
                ('answered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answers', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('overall_score', fields.FloatField(null=True)),
                ('dimension_scores', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('unresolved', fields.BooleanField(default=False)),
                ('selected', fields.BooleanField(default=False)),
                ('selection_reason', fields.CharField(null=True, max_length=16)),
                ('rule_id', fields.UUIDField(null=True)),
                ('priority', fields.CharField(null=True, max_length=12)),
                ('import_id', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'survey_result', 'app': 'huifang', 'unique_together': (('tenant_id', 'source', 'response_id'),), 'indexes': [Index(fields=['tenant_id', 'answered_at', 'id']), Index(fields=['tenant_id', 'customer_id', 'answered_at']), Index(fields=['tenant_id', 'dealer_id', 'answered_at'])], 'pk_attr': 'id', 'table_description': 'One answered survey, idempotent by (source, response_id): a second delivery stores'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SurveyTemplate',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('code', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('active', fields.BooleanField(default=True)),
                ('questions', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'survey_template', 'app': 'huifang', 'unique_together': (('tenant_id', 'code'),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TicketSurveyResult',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid7, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('ticket_id', fields.UUIDField()),
                ('result_id', fields.UUIDField()),
                ('opened', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ticket_survey_result', 'app': 'huifang', 'unique_together': (('tenant_id', 'result_id'),), 'indexes': [Index(fields=['tenant_id', 'ticket_id'])], 'pk_attr': 'id', 'table_description': 'The survey results a care ticket holds: the one that opened it, and later ones of the'},
            bases=['TenantModel'],
        ),
        ops.AlterModelOptions(
            name='ImportChunk',
            options={'table': 'data_import_chunk', 'app': 'huifang', 'unique_together': (('tenant_id', 'import_id', 'seq'),), 'pk_attr': 'id', 'table_description': 'The uploaded file, in 1 MB pieces, until its import ends.'},
        ),
        ops.AddField(
            model_name='Ticket',
            name='episode',
            field=fields.CharField(default='', max_length=120),
        ),
        ops.AddField(
            model_name='Ticket',
            name='product_line',
            field=fields.CharField(null=True, max_length=60),
        ),
        # the customer import pipeline became everyone's (app/core/imports.py): same rows, a kind
        ops.RenameModel('CustomerImport', 'DataImport'),
        ops.AlterModelOptions(
            name='DataImport',
            options={'table': 'data_import', 'app': 'huifang', 'indexes': [Index(fields=['tenant_id', 'kind', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One bulk import of any kind (app/core/imports.py): customers, survey results, ...'},
        ),
        ops.RunSQL(RENAMES),
        ops.AddField(
            model_name='DataImport',
            name='kind',
            field=fields.CharField(default='customers', max_length=32),
        ),
        ops.AddField(
            model_name='DataImport',
            name='options',
            field=fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.RunSQL(["CREATE INDEX data_import_kind_idx ON data_import (tenant_id, kind, created_at)"]),
        ops.RunSQL([*(sql for t in NEW_TABLES for sql in tenant_table_sql(t)), *KEYS]),
    ]
