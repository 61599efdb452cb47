"""Customer search that can use its trigram index under row-level security.

PostgreSQL will not use an index for a non-leakproof operator under RLS, and LIKE (textlike) is
not leakproof: a search in a brand of 1,000,000 customers fell back to a sequential scan
(~200 ms). `customer_search_ids(pattern)` returns only the ids of the current tenant's matching
customers: it filters on the same `app.tenant_id` setting as the policies (no tenant, no rows),
and runs as `huifang_search`, a NOLOGIN role that bypasses RLS and may read only the columns it
needs. The main query then fetches the rows through RLS as usual. Where the migrating role is
not a superuser (it cannot create a BYPASSRLS role) the function is created without SECURITY
DEFINER: still correct, just not index-assisted."""
from tortoise import migrations
from tortoise.migrations import operations as ops

SQL = [
    """
CREATE OR REPLACE FUNCTION customer_search_ids(pattern text) RETURNS SETOF uuid
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $fn$
  SELECT id FROM customer
   WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
     AND search_text LIKE pattern
$fn$""",
    "REVOKE ALL ON FUNCTION customer_search_ids(text) FROM PUBLIC",
    """
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'huifang_search') THEN
      CREATE ROLE huifang_search NOLOGIN BYPASSRLS;
    END IF;
    GRANT USAGE ON SCHEMA public TO huifang_search;
    GRANT SELECT (id, tenant_id, search_text) ON customer TO huifang_search;
    ALTER FUNCTION customer_search_ids(text) OWNER TO huifang_search;
    ALTER FUNCTION customer_search_ids(text) SECURITY DEFINER;
  END IF;
END
$do$""",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0006_customer_keys_rls")]

    operations = [ops.RunSQL(SQL)]
