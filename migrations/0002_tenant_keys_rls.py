"""Tenant keys and row-level security (wall two of isolation).

Tortoise has no composite primary keys, so this migration:
- makes `(tenant_id, id)` the primary key of every tenant-owned table (Citus: distributed by tenant);
- replaces single-column foreign keys with composite ones that include `tenant_id`;
- enables and FORCES row-level security with one policy per table on
  `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`.
With no tenant set, reads return no rows and writes fail. New tenant tables must do the same
(use `app.core.rls.tenant_table_sql()`); tests/core/test_catalog.py walks the catalog and fails otherwise."""
from tortoise import migrations
from tortoise.migrations import operations as ops

from app.core.rls import TENANT_EXPR, drop_foreign_keys_sql, tenant_table_sql  # noqa: E402

TENANT_TABLES = ["dealer", "app_user", "membership", "customer"]

SQL: list[str] = [drop_foreign_keys_sql(t) for t in TENANT_TABLES]
for _t in TENANT_TABLES:
    SQL += tenant_table_sql(_t)[1:]
SQL += [
    # the brand row is visible only to its own tenant
    'ALTER TABLE brand ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE brand FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY tenant_isolation ON brand USING (id = {TENANT_EXPR}) WITH CHECK (id = {TENANT_EXPR})',
    # operators (the role that runs migrations, never the service's role) may look brands up
    # by slug across tenants, e.g. `python -m app token --brand SLUG`
    'CREATE POLICY operator_lookup ON brand FOR SELECT TO CURRENT_USER USING (true)',
    # composite foreign keys between tenant tables
    'ALTER TABLE membership ADD CONSTRAINT membership_user_fk FOREIGN KEY (tenant_id, user_id) '
    'REFERENCES app_user (tenant_id, id) ON DELETE CASCADE',
    'ALTER TABLE membership ADD CONSTRAINT membership_dealer_fk FOREIGN KEY (tenant_id, dealer_id) '
    'REFERENCES dealer (tenant_id, id) ON DELETE CASCADE',
    'ALTER TABLE customer ADD CONSTRAINT customer_dealer_fk FOREIGN KEY (tenant_id, dealer_id) '
    'REFERENCES dealer (tenant_id, id) ON DELETE SET NULL (dealer_id)',
    # a dealer-role membership names a dealer; brand roles do not
    "ALTER TABLE membership ADD CONSTRAINT membership_dealer_role_ck CHECK "
    "((role IN ('dealer_manager', 'dealer_agent')) = (dealer_id IS NOT NULL))",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0001_initial")]

    operations = [ops.RunSQL(SQL)]
