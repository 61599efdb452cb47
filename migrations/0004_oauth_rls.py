"""Tenant keys and forced row-level security for the OAuth tables (see 0002 and app.core.rls)."""
from tortoise import migrations
from tortoise.migrations import operations as ops

from app.core.rls import drop_foreign_keys_sql, tenant_table_sql

TABLES = ["partner_app", "oauth_code", "oauth_refresh_token", "oauth_revocation", "audit_event"]

SQL: list[str] = [drop_foreign_keys_sql(t) for t in TABLES]
for _t in TABLES:
    SQL += tenant_table_sql(_t)[1:]
SQL += [
    "ALTER TABLE partner_app ADD CONSTRAINT partner_app_dealer_fk FOREIGN KEY (tenant_id, dealer_id) "
    "REFERENCES dealer (tenant_id, id) ON DELETE RESTRICT",
    "ALTER TABLE partner_app ADD CONSTRAINT partner_app_type_ck CHECK (client_type IN ('confidential', 'public'))",
    "ALTER TABLE partner_app ADD CONSTRAINT partner_app_status_ck CHECK (status IN ('active', 'disabled'))",
    "ALTER TABLE oauth_code ADD CONSTRAINT oauth_code_user_fk FOREIGN KEY (tenant_id, user_id) "
    "REFERENCES app_user (tenant_id, id) ON DELETE CASCADE",
    "ALTER TABLE oauth_refresh_token ADD CONSTRAINT oauth_refresh_user_fk FOREIGN KEY (tenant_id, user_id) "
    "REFERENCES app_user (tenant_id, id) ON DELETE CASCADE",
    "ALTER TABLE oauth_refresh_token ADD CONSTRAINT oauth_refresh_client_fk FOREIGN KEY (tenant_id, client_id) "
    "REFERENCES partner_app (tenant_id, client_id) ON DELETE CASCADE",
    "ALTER TABLE oauth_code ADD CONSTRAINT oauth_code_client_fk FOREIGN KEY (tenant_id, client_id) "
    "REFERENCES partner_app (tenant_id, client_id) ON DELETE CASCADE",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0003_oauth")]

    operations = [ops.RunSQL(SQL)]
