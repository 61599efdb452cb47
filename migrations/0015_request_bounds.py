"""Customer search stops where the page needs it.

`customer_search_ids` was a UNION of its two (mutually exclusive) branches: the de-duplication
made PostgreSQL compute every hit before returning the first, so even `LIMIT 1` over it read
them all. As UNION ALL it streams, and the repository first asks how dense the hits are
(at most SEARCH_DENSE_HITS + 1 of them) before choosing how to page (app/customer/repository)."""
from tortoise import migrations
from tortoise.migrations import operations as ops

SQL = [
    """
CREATE OR REPLACE FUNCTION customer_search_ids(pattern text, with_contacts boolean) RETURNS SETOF uuid
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $fn$
  SELECT id FROM customer
   WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
     AND with_contacts AND search_text LIKE pattern
  UNION ALL
  SELECT id FROM customer
   WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
     AND NOT with_contacts AND search_name LIKE pattern
$fn$""",
    # CREATE OR REPLACE resets every property it does not name: restore what 0008 set
    """
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    ALTER FUNCTION customer_search_ids(text, boolean) OWNER TO huifang_search;
    ALTER FUNCTION customer_search_ids(text, boolean) SECURITY DEFINER;
  END IF;
END
$do$""",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0014_customer_bounds")]

    operations = [ops.RunSQL(SQL)]
