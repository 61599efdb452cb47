"""Customer archive bounds and phone normalisation.

Phone numbers are now stored in E.164 (`+8613812345678`); the old rule kept national digits
(`13812345678`) for numbers written without a country code. Rewrite those old Chinese mobile
numbers so merge de-duplication and import matching (which compare `normalized`) treat old and
new rows alike. Safe: only 11-digit numbers 1[3-9]XXXXXXXXX (China's mobile plan) are touched,
and a row is skipped when the same customer already holds the E.164 form (the unique key
(tenant_id, customer_id, channel, normalized) would otherwise collide; both rows stay as they
were). Search is unaffected: search_text keeps the national digits, which the E.164 form also
contains. Row-level security is forced on customer_contact: run migrations as a superuser
(as `migrate` recommends), otherwise this statement sees no rows and changes nothing."""
from tortoise import migrations
from tortoise.migrations import operations as ops

REWRITE = r"""
UPDATE customer_contact c SET normalized = '+86' || c.normalized
 WHERE c.channel = 'phone' AND c.normalized ~ '^1[3-9][0-9]{9}$'
   AND NOT EXISTS (SELECT 1 FROM customer_contact o
                    WHERE o.tenant_id = c.tenant_id AND o.customer_id = c.customer_id
                      AND o.channel = 'phone' AND o.normalized = '+86' || c.normalized)
"""


class Migration(migrations.Migration):
    dependencies = [("huifang", "0013_pinyin_collation")]

    operations: list = [ops.RunSQL(REWRITE)]
