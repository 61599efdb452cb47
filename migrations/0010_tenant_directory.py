"""`tenant_ids()`: the ids of all brands, for scheduled jobs that fan out per tenant.

The service role cannot list brands (the brand table is under forced RLS like every tenant
table), so a periodic job could not know which tenants to run for. This SECURITY DEFINER
function, owned by the NOLOGIN `huifang_search` role (BYPASSRLS, may read brand.id only),
returns ids and nothing else; each per-tenant job then runs in its tenant's RLS transaction.
Without a superuser to create that role it runs as the caller and returns nothing."""
from tortoise import migrations
from tortoise.migrations import operations as ops

SQL = [
    """
CREATE OR REPLACE FUNCTION tenant_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $fn$
  SELECT id FROM brand
$fn$""",
    "REVOKE ALL ON FUNCTION tenant_ids() FROM PUBLIC",
    """
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    GRANT SELECT (id) ON brand TO huifang_search;
    ALTER FUNCTION tenant_ids() OWNER TO huifang_search;
    ALTER FUNCTION tenant_ids() SECURITY DEFINER;
  END IF;
END
$do$""",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0009_code_redirect_optional")]

    operations = [ops.RunSQL(SQL)]
