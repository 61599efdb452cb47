"""Search without `customers:pii` must not reveal contact details.

`search_text` holds phone numbers, e-mails and IM ids: a caller who sees them masked could
still probe them digit by digit through substring search. Those callers now search
`search_name` (name and external ids only); `customer_search_ids(pattern, with_contacts)`
picks the column, and each column has its own trigram index."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.migration_ops import StateOnly

SQL = [
    "ALTER TABLE customer ADD COLUMN search_name TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE customer NO FORCE ROW LEVEL SECURITY",
    """UPDATE customer c SET search_name = lower(c.name || coalesce(' ' || (
           SELECT string_agg(r.external_id, ' ') FROM customer_external_ref r
            WHERE r.tenant_id = c.tenant_id AND r.customer_id = c.id), ''))
        WHERE c.erased_at IS NULL""",
    "ALTER TABLE customer FORCE ROW LEVEL SECURITY",
    "CREATE INDEX customer_search_name_trgm_idx ON customer USING gin (search_name gin_trgm_ops)",
    "DROP FUNCTION IF EXISTS customer_search_ids(text)",
    """
CREATE FUNCTION customer_search_ids(pattern text, with_contacts boolean) RETURNS SETOF uuid
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $fn$
  SELECT id FROM customer
   WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
     AND with_contacts AND search_text LIKE pattern
  UNION
  SELECT id FROM customer
   WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
     AND NOT with_contacts AND search_name LIKE pattern
$fn$""",
    "REVOKE ALL ON FUNCTION customer_search_ids(text, boolean) FROM PUBLIC",
    """
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    GRANT SELECT (search_name) ON customer TO huifang_search;
    ALTER FUNCTION customer_search_ids(text, boolean) OWNER TO huifang_search;
    ALTER FUNCTION customer_search_ids(text, boolean) SECURITY DEFINER;
  END IF;
END
$do$""",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0007_customer_search_function")]

    operations = [
        StateOnly(ops.AddField(model_name="Customer", name="search_name", field=fields.TextField(default=""))),
        ops.RunSQL(SQL),
    ]
