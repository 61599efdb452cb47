"""Customer archives: tenant keys, forced RLS, composite foreign keys, search indexes.

Search: a trigram GIN index on search_text, so a name/phone/e-mail/external-id search in a brand
of millions answers from the index (measured: leading the GIN with tenant_id through btree_gin
made every lookup walk the tenant's whole posting list, ~100x slower; RLS and the query's
tenant filter are applied to the few matching rows instead)."""
from tortoise import migrations
from tortoise.migrations import operations as ops

from app.core.rls import drop_foreign_keys_sql, tenant_table_sql

TABLES = ["customer_contact", "customer_external_ref", "customer_product", "customer_promise", "customer_interaction",
          "customer_winback", "customer_tier_change", "customer_event", "tier_policy", "customer_import",
          "customer_import_chunk"]

CHILDREN = ["customer_contact", "customer_external_ref", "customer_product", "customer_promise", "customer_interaction",
            "customer_winback", "customer_tier_change", "customer_event"]

SQL: list[str] = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
SQL += [drop_foreign_keys_sql(t) for t in TABLES]
for _t in TABLES:
    SQL += tenant_table_sql(_t)[1:]
for _t in CHILDREN:
    SQL.append(f'ALTER TABLE "{_t}" ADD CONSTRAINT "{_t}_customer_fk" FOREIGN KEY (tenant_id, customer_id) '
               f'REFERENCES customer (tenant_id, id) ON DELETE CASCADE')
SQL += [
    "ALTER TABLE customer_product ADD CONSTRAINT customer_product_dealer_fk FOREIGN KEY (tenant_id, purchase_dealer_id) "
    "REFERENCES dealer (tenant_id, id) ON DELETE SET NULL (purchase_dealer_id)",
    "ALTER TABLE customer_promise ADD CONSTRAINT customer_promise_dealer_fk FOREIGN KEY (tenant_id, dealer_id) "
    "REFERENCES dealer (tenant_id, id) ON DELETE SET NULL (dealer_id)",
    "ALTER TABLE customer_interaction ADD CONSTRAINT customer_interaction_dealer_fk FOREIGN KEY (tenant_id, dealer_id) "
    "REFERENCES dealer (tenant_id, id) ON DELETE SET NULL (dealer_id)",
    "ALTER TABLE customer ADD CONSTRAINT customer_merged_fk FOREIGN KEY (tenant_id, merged_into_id) "
    "REFERENCES customer (tenant_id, id) ON DELETE SET NULL (merged_into_id)",
    "ALTER TABLE customer_import_chunk ADD CONSTRAINT customer_import_chunk_import_fk FOREIGN KEY (tenant_id, import_id) "
    "REFERENCES customer_import (tenant_id, id) ON DELETE CASCADE",
    "ALTER TABLE customer ADD CONSTRAINT customer_gender_ck CHECK (gender IN ('female', 'male', 'other'))",
    "ALTER TABLE customer ADD CONSTRAINT customer_tier_ck CHECK (tier IN ('A', 'B', 'C'))",
    "ALTER TABLE customer ADD CONSTRAINT customer_churn_ck CHECK (churn_status IN ('active', 'at_risk', 'lost'))",
    "ALTER TABLE customer ADD CONSTRAINT customer_birth_year_ck CHECK (birth_year BETWEEN 1900 AND 2100)",
    "ALTER TABLE customer_contact ADD CONSTRAINT customer_contact_channel_ck CHECK (channel IN ('phone', 'email', 'wechat', 'qq', 'other_im'))",
    "ALTER TABLE customer_promise ADD CONSTRAINT customer_promise_status_ck CHECK (status IN ('open', 'kept', 'broken'))",
    # list and filter indexes (keyset: the sort key, then id)
    "CREATE INDEX customer_name_idx ON customer (tenant_id, name, id)",
    "CREATE INDEX customer_dealer_name_idx ON customer (tenant_id, dealer_id, name, id)",
    "CREATE INDEX customer_created_idx ON customer (tenant_id, created_at, id)",
    "CREATE INDEX customer_tier_name_idx ON customer (tenant_id, tier, name, id)",
    "CREATE INDEX customer_survey_idx ON customer (tenant_id, last_survey_score, id) WHERE last_survey_score IS NOT NULL",
    "CREATE INDEX customer_churn_idx ON customer (tenant_id, churn_status, name, id) WHERE churn_status <> 'active'",
    "CREATE INDEX customer_open_ticket_idx ON customer (tenant_id, name, id) WHERE open_ticket_count > 0",
    "CREATE INDEX customer_tags_idx ON customer USING gin (tags)",
    "CREATE INDEX customer_search_trgm_idx ON customer USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX customer_contact_lookup_idx ON customer_contact (tenant_id, channel, normalized)",
    "CREATE INDEX customer_contact_customer_idx ON customer_contact (tenant_id, customer_id)",
]


class Migration(migrations.Migration):
    dependencies = [("huifang", "0005_customer_archives")]

    operations = [ops.RunSQL(SQL)]
