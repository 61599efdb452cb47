"""`make bench-customers`: customer search at scale and import throughput.

1. Seeds one brand with N customers (default 1,000,000) and 200 dealers, then times the
   common `customers` filters through the repository as the service role under RLS (the SQL
   the API runs) and one full GraphQL request, reporting p50/p99 and the plan's index.
2. Imports a generated CSV of 100,000 rows through the real import job and reports rows/s.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-archive"

SEED_SQL = """
INSERT INTO customer (id, tenant_id, dealer_id, name, gender, birth_year, tags, service_spend, referrals, tier,
                      churn_status, last_survey_score, open_ticket_count, search_text, search_name, created_at, updated_at)
SELECT gen_random_uuid(), $1, ($2::uuid[])[1 + (i % 200)],
       (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周'])[1 + i % 10] || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋'])[1 + (i / 10) % 10] || i,
       (ARRAY['female','male'])[1 + i % 2], 1950 + i % 55,
       CASE WHEN i % 7 = 0 THEN ARRAY['vip'] WHEN i % 11 = 0 THEN ARRAY['fleet','vip'] ELSE ARRAY[]::text[] END,
       (i % 5000) * 10, i % 4, (ARRAY['A','B','C','C','C'])[1 + i % 5],
       CASE WHEN i % 20 = 0 THEN 'at_risk' WHEN i % 97 = 0 THEN 'lost' ELSE 'active' END,
       CASE WHEN i % 3 = 0 THEN (i % 101) / 10.0 END, CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END,
       lower((ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周'])[1 + i % 10] || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋'])[1 + (i / 10) % 10] || i
             || ' 138' || lpad(i::text, 8, '0') || ' c' || i || '@mail.cn crm-' || i),
       lower((ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周'])[1 + i % 10] || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋'])[1 + (i / 10) % 10] || i
             || ' crm-' || i),
       now() - (i || ' minutes')::interval, now()
  FROM generate_series($3::int, $4::int) AS i
"""


async def seed(n: int):
    from app.core.db import PgTarget
    from app.core.ids import uuid7
    from app.settings import get_settings

    s = get_settings()
    conn = await PgTarget.parse(s.admin_url).connect()
    try:
        tid = await conn.fetchval("SELECT id FROM brand WHERE slug = $1", SLUG)
        have = await conn.fetchval("SELECT count(*) FROM customer WHERE tenant_id = $1", tid) if tid else 0
        if tid is None:
            tid = uuid7()
            await conn.execute("INSERT INTO brand (id, slug, name, created_at) VALUES ($1, $2, 'Archive bench', now())", tid, SLUG)
            await conn.executemany(
                "INSERT INTO dealer (id, tenant_id, code, name, region, time_zone, customer_count, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, 'Asia/Shanghai', 0, now(), now())",
                [(uuid7(), tid, f"D{i:03d}", f"Dealer {i:03d}", f"r{i % 8}") for i in range(200)])
            await conn.execute(
                "INSERT INTO app_user (id, tenant_id, email, display_name, is_active, created_at) VALUES ($1, $2, 'admin@bench', 'admin', true, now())",
                uuid7(), tid)
        if have < n:
            dealers = [r["id"] for r in await conn.fetch("SELECT id FROM dealer WHERE tenant_id = $1 ORDER BY code", tid)]
            print(f"seeding {n - have:,} customers ...", flush=True)
            t0 = time.perf_counter()
            await conn.execute("SET maintenance_work_mem = '512MB'")
            await conn.execute("DROP INDEX IF EXISTS customer_search_trgm_idx")
            await conn.execute("DROP INDEX IF EXISTS customer_search_name_trgm_idx")
            step = 100_000
            for start in range(have + 1, n + 1, step):
                await conn.execute(SEED_SQL, tid, dealers, start, min(n, start + step - 1))
            await conn.execute("CREATE INDEX customer_search_trgm_idx ON customer USING gin (search_text gin_trgm_ops)")
            await conn.execute("CREATE INDEX customer_search_name_trgm_idx ON customer USING gin (search_name gin_trgm_ops)")
            await conn.execute("ANALYZE customer")
            print(f"seeded in {time.perf_counter() - t0:.0f} s", flush=True)
        await conn.execute("VACUUM (ANALYZE) customer")  # a migration may have rewritten rows: measure a settled table
        user = await conn.fetchval("SELECT id FROM app_user WHERE tenant_id = $1", tid)
        await conn.execute(
            "INSERT INTO membership (id, tenant_id, user_id, role, regions, created_at) SELECT $1, $2, $3, 'brand_admin', '{}', now() "
            "WHERE NOT EXISTS (SELECT 1 FROM membership WHERE tenant_id = $2)", uuid7(), tid, user)
        dealer = await conn.fetchval("SELECT id FROM dealer WHERE tenant_id = $1 AND code = 'D007'", tid)
        return tid, user, dealer
    finally:
        await conn.close()


async def measure(tid, user, dealer, runs: int):
    from app.core import db
    from app.core.pagination import PageArgs
    from app.core.permissions import Role
    from app.core.tenancy import Actor, Membership, scope_for
    from app.customer.repository import CustomerFilter, list_customers

    admin = scope_for(Actor.user(tid, user, [Membership(Role.BRAND_ADMIN)]))
    agent = scope_for(Actor.user(tid, user, [Membership(Role.DEALER_AGENT, dealer)]))
    cases = [
        ("first page, no filter", admin, CustomerFilter(), "NAME"),
        ("search full name 张丽123452", admin, CustomerFilter(search="张丽123452"), "NAME"),
        ("search name fragment 伟50", admin, CustomerFilter(search="伟50"), "NAME"),
        ("search phone 1380045678", admin, CustomerFilter(search="138 0045 678"), "NAME"),
        ("search e-mail c777777@", admin, CustomerFilter(search="c777777@"), "NAME"),
        ("search external id crm-424242", admin, CustomerFilter(search="crm-424242"), "NAME"),
        ("tier A", admin, CustomerFilter(tiers=["A"]), "NAME"),
        ("tag vip+fleet", admin, CustomerFilter(tags=["vip", "fleet"]), "NAME"),
        ("region r3", admin, CustomerFilter(regions=["r3"]), "NAME"),
        ("churn at_risk", admin, CustomerFilter(churn_statuses=["at_risk"]), "NAME"),
        ("has open ticket", admin, CustomerFilter(has_open_ticket=True), "NAME"),
        ("last survey < 3, by score", admin, CustomerFilter(last_survey_score_below=3), "LAST_SURVEY_SCORE"),
        ("newest first", admin, CustomerFilter(), "CREATED_AT"),
        ("dealer agent, own dealer", agent, CustomerFilter(), "NAME"),
        ("dealer agent + search 王", agent, CustomerFilter(search="王"), "NAME"),
    ]
    print(f"\n{'case':34s} {'p50 ms':>8s} {'p99 ms':>8s} {'rows':>5s}")
    results = {}
    for name, scope, flt, order in cases:
        times = []
        rows = 0
        for i in range(runs):
            t0 = time.perf_counter()
            async with db.tenant_transaction(tid):
                page = await list_customers(scope, PageArgs(first=20), flt, order=order)
            times.append((time.perf_counter() - t0) * 1000)
            rows = len(page.items)
        times.sort()
        p50, p99 = statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]
        results[name] = (p50, p99)
        print(f"{name:34s} {p50:8.2f} {p99:8.2f} {rows:5d}")
    # deep keyset page: the 500th page costs the same as the first
    async with db.tenant_transaction(tid):
        page = await list_customers(admin, PageArgs(first=100), CustomerFilter(), order="NAME")
        cursor = page.cursors[-1]
        for _ in range(50):
            page = await list_customers(admin, PageArgs(first=100, after=cursor), CustomerFilter(), order="NAME")
            cursor = page.cursors[-1]
        t0 = time.perf_counter()
        await list_customers(admin, PageArgs(first=20, after=cursor), CustomerFilter(), order="NAME")
        print(f"{'page after 5,000 rows (keyset)':34s} {(time.perf_counter() - t0) * 1000:8.2f}")
    await dense_search(tid, admin, runs)
    return results


async def dense_search(tid, admin, runs: int) -> None:
    """Common terms: the baseline, in the same run, is the hit-set plan forced for every term
    (what search did before it measured density); the ratio is today's plan against it."""
    from app.core import db
    from app.core.pagination import PageArgs
    from app.customer import repository
    from app.customer.repository import CustomerFilter, list_customers

    async def p50(term: str) -> float:
        times = []
        for _ in range(max(5, runs // 4)):
            t0 = time.perf_counter()
            async with db.tenant_transaction(tid):
                await list_customers(admin, PageArgs(first=20), CustomerFilter(search=term), order="NAME")
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    print(f"\n{'search term (hit share)':34s} {'set ms':>8s} {'now ms':>8s} {'ratio':>6s}")
    default = repository.SEARCH_DENSE_HITS
    for term, share in (("138", "all"), ("crm-1", "~11%"), ("张丽123452", "one"), ("伟50", "~0.1%")):
        repository.SEARCH_DENSE_HITS = 10**12
        forced = await p50(term)
        repository.SEARCH_DENSE_HITS = default
        now = await p50(term)
        print(f"{term + ' (' + share + ')':34s} {forced:8.2f} {now:8.2f} {now / forced:6.2f}")


async def import_bench(rows: int):
    import io

    from app.core import db, imports
    from app.core.ids import uuid7
    from app.core.models import DataImport as CustomerImport
    from app.core.tenancy import Actor, scope_for
    from app.tenant.provision import provision_brand

    brand, _ = await provision_brand(f"imp-{uuid7().hex[:8]}", "Import bench", "admin@imp.bench")
    scope = scope_for(Actor.system(brand.id))
    buf = io.StringIO()
    buf.write("external_source,external_id,name,gender,birth_year,phone,email,tags,service_spend,product_model,serial,purchase_date\n")
    for i in range(rows):
        buf.write(f"crm,R{i:07d},客户{i},{'female' if i % 2 else 'male'},{1950 + i % 50},139{i:08d},r{i}@mail.cn,vip;x,{i % 9000},"
                  f"Model {i % 5},VIN{i:08d},2020-0{1 + i % 9}-1{i % 10}\n")
    data = buf.getvalue().encode()
    async with db.tenant_transaction(brand.id):
        imp = await imports.create_import(scope, "customers", data, "csv", "bench.csv", "0" * 64)
    t0 = time.perf_counter()
    await imports.run_import(scope, str(imp.id))
    first = time.perf_counter() - t0
    async with db.tenant_transaction(brand.id):
        done = await CustomerImport.get(tenant_id=brand.id, id=imp.id)
        imp2 = await imports.create_import(scope, "customers", data, "csv", "bench.csv", "0" * 64)
    t0 = time.perf_counter()
    await imports.run_import(scope, str(imp2.id))
    second = time.perf_counter() - t0
    print(f"\nimport of {rows:,} rows ({len(data) / 1e6:.1f} MB): {first:.1f} s = {rows / first:,.0f} rows/s "
          f"(created {done.rows_created:,}, failed {done.rows_failed}); re-import (no changes): {second:.1f} s = {rows / second:,.0f} rows/s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--import-rows", type=int, default=100_000)
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.graphql_bench import prepare_env

    servers = prepare_env()

    async def go():
        from app.core import db, jobs
        from app.core.setup import setup
        from app.settings import get_settings

        s = get_settings()
        await setup(s.admin_url, s.database_url, s.app_db_role)
        tid, user, dealer = await seed(a.customers)
        await db.init_orm(await db.service_target(s.database_url, s.app_db_role), minsize=1, maxsize=4)
        await jobs.init(s.redis_url, s.queue_name)
        try:
            print(f"\n== customers search, brand of {a.customers:,} customers, 200 dealers ({a.runs} runs each) ==")
            await measure(tid, user, dealer, a.runs)
            if a.import_rows:
                await import_bench(a.import_rows)
        finally:
            await jobs.close()
            await db.close_orm()

    try:
        asyncio.run(go())
    finally:
        for srv in servers:
            getattr(srv, "stop", lambda: None)()


if __name__ == "__main__":
    main()
