"""SQL that makes a table tenant-owned (used by migrations): composite `(tenant_id, id)` primary
key, a foreign key to the brand, row-level security enabled, FORCED, and the tenant policy."""
from __future__ import annotations

TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def drop_foreign_keys_sql(table: str) -> str:
    return f"""
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = '"{table}"'::regclass AND contype = 'f' LOOP
    EXECUTE format('ALTER TABLE "{table}" DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;"""


def tenant_table_sql(table: str) -> list[str]:
    return [
        drop_foreign_keys_sql(table),
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_pkey"',
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (tenant_id, id)',
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_tenant_fk" FOREIGN KEY (tenant_id) REFERENCES brand (id)',
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY tenant_isolation ON "{table}" USING (tenant_id = {TENANT_EXPR}) WITH CHECK (tenant_id = {TENANT_EXPR})',
    ]
