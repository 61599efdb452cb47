"""Chinese names sort in pinyin order: customer.name, dealer.name and dealer.region use the
`zh_pinyin` collation (李 Li < 王 Wang < 张 Zhang), not code-point order.

`zh_pinyin` is, in order of preference:
- ICU `zh-u-co-pinyin` (CLDR: Han in pinyin order, then Latin; Latin case-insensitive first);
- else libc `zh_CN.UTF-8` (glibc's zh_CN collation is pinyin-based), when the OS has that locale;
- else nothing: the columns keep the database default collation and a WARNING says so. The
  embedded PostgreSQL wheel (`make test` / `make run`) is built `--without-icu`, and a system
  with only C.UTF-8 has no zh_CN locale either: there names keep sorting by code point.
A candidate is kept only if it really sorts pinyin (阿 A < 李 Li < 张 Zhang; ICU data without the
zh tailoring would not). Find out what a database got with
`SELECT collname, collprovider FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
WHERE attrelid = 'customer'::regclass AND attname = 'name'` (tests/core/test_collation.py does).

ALTER COLUMN ... TYPE keeps the type (read from the catalog) and only changes the collation: no
table rewrite, but every index on the column is rebuilt with it (customer_name_idx,
customer_dealer_name_idx, customer_tier_name_idx, customer_churn_idx, customer_open_ticket_idx;
the dealer (tenant_id, name, id) and (tenant_id, region, name, id) indexes), so `ORDER BY name, id`
and the keyset comparison `(name, id) > ($1, $2)` (which take the column's collation) still walk
them. It holds an ACCESS EXCLUSIVE lock on customer and dealer while those indexes rebuild. The
trigram indexes are on search_text / search_name (lower-cased copies, default collation): untouched.

Tortoise has no notion of collation: a later generated AlterField on these columns would emit
`ALTER COLUMN ... TYPE VARCHAR(n)` without COLLATE and silently return them to the default;
such a migration must add `COLLATE zh_pinyin` by hand."""
from tortoise import migrations
from tortoise.migrations import operations as ops

SQL = [
    r"""
DO $do$
DECLARE
  col record;
  kind text;
  ok boolean;
BEGIN
  -- ICU first, then libc zh_CN; a build or OS without either raises, and we try the next
  IF to_regcollation('public.zh_pinyin') IS NULL THEN
    BEGIN
      CREATE COLLATION public.zh_pinyin (provider = icu, locale = 'zh-u-co-pinyin');
    EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
      RAISE NOTICE '0013: no ICU collation (%)', SQLERRM;
    END;
  END IF;
  FOR attempt IN 1..2 LOOP
    IF to_regcollation('public.zh_pinyin') IS NOT NULL THEN
      -- really pinyin? (阿 A, 李 Li, 王 Wang, 张 Zhang are in the reverse order by code point)
      EXECUTE $q$SELECT '阿明' < '李四' COLLATE public.zh_pinyin AND '李四' < '王五' COLLATE public.zh_pinyin
                    AND '王五' < '张三' COLLATE public.zh_pinyin$q$ INTO ok;
      EXIT WHEN ok;
      RAISE NOTICE '0013: collation zh_pinyin (%) does not sort pinyin; dropped',
        (SELECT c.collprovider::text || ' ' || coalesce(to_jsonb(c) ->> 'colllocale', to_jsonb(c) ->> 'colliculocale', c.collcollate)
           FROM pg_collation c WHERE c.oid = to_regcollation('public.zh_pinyin'));
      DROP COLLATION public.zh_pinyin;
    END IF;
    EXIT WHEN attempt = 2;
    BEGIN
      CREATE COLLATION public.zh_pinyin (provider = libc, locale = 'zh_CN.UTF-8');
    EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR undefined_object THEN
      RAISE NOTICE '0013: no libc zh_CN.UTF-8 locale (%)', SQLERRM;
    END;
  END LOOP;

  IF to_regcollation('public.zh_pinyin') IS NULL THEN
    RAISE WARNING '0013: neither ICU nor a zh_CN.UTF-8 locale is available: customer.name, dealer.name and '
                  'dealer.region keep the default collation (names sort by code point, not pinyin)';
    RETURN;
  END IF;
  -- the ICU locale column is colliculocale up to PostgreSQL 16, colllocale from 17
  SELECT CASE c.collprovider WHEN 'i' THEN 'ICU ' WHEN 'c' THEN 'libc ' ELSE c.collprovider::text || ' ' END
         || coalesce(to_jsonb(c) ->> 'colllocale', to_jsonb(c) ->> 'colliculocale', c.collcollate)
    INTO kind FROM pg_collation c WHERE c.oid = to_regcollation('public.zh_pinyin');
  FOR col IN
    SELECT a.attrelid::regclass AS tbl, a.attname, format_type(a.atttypid, a.atttypmod) AS typ
      FROM pg_attribute a
     WHERE (a.attrelid, a.attname) IN (('customer'::regclass, 'name'), ('dealer'::regclass, 'name'),
                                       ('dealer'::regclass, 'region'))
       AND a.attcollation <> to_regcollation('public.zh_pinyin')
  LOOP
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE %s COLLATE public.zh_pinyin', col.tbl, col.attname, col.typ);
  END LOOP;
  RAISE NOTICE '0013: customer.name, dealer.name, dealer.region sort with zh_pinyin (%)', kind;
END
$do$""",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0012_token_cutoffs")]

    operations = [ops.RunSQL(SQL)]
