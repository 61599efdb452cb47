"""`make bench-surveys`: survey intake at volume through the batch path.

Seeds one brand with 200 dealers and 100,000 customers (each with an external id), a template
and two selection rules, then imports N survey results (default 100,000) as one CSV file
through the shared import pipeline: parsing, validation, customer matching, storing, rule
evaluation and care-ticket opening (about 12% of the results are detractors or unresolved).
Reported: results per second, statements per result, tickets opened; then the same file again
(every result a duplicate: nothing changes). The baseline of the same run is the floor of the
storage alone: the same rows written into survey_result with one unnest INSERT per batch, no
matching, no rules, no events.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-surveys"

CUSTOMERS_SQL = """
WITH c AS (
  INSERT INTO customer (id, tenant_id, dealer_id, name, tags, service_spend, referrals, churn_status, open_ticket_count,
                        search_text, search_name, created_at, updated_at)
  SELECT gen_random_uuid(), $1, ($2::uuid[])[1 + (i % 200)], '客户' || i, ARRAY[]::text[], 0, 0, 'active', 0,
         '客户' || i, '客户' || i, now(), now()
    FROM generate_series(1, $3::int) AS i
  RETURNING id, name)
INSERT INTO customer_external_ref (id, tenant_id, customer_id, source, external_id, created_at)
SELECT gen_random_uuid(), $1, c.id, 'crm', 'C' || substr(c.name, 3), now() FROM c
"""


@contextmanager
def counting():
    from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper

    seen = [0]
    patches = []
    for cls in (AsyncpgDBClient, TransactionWrapper):
        for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
            if name in cls.__dict__:
                fn = cls.__dict__[name]

                def wrap(fn=fn):
                    async def inner(self, *a, **kw):
                        seen[0] += 1
                        return await fn(self, *a, **kw)
                    return inner
                patches.append(mock.patch.object(cls, name, wrap()))
    for p in patches:
        p.start()
    try:
        yield seen
    finally:
        for p in patches:
            p.stop()


async def seed(customers: int):
    from app.core.db import PgTarget
    from app.core.ids import uuid7
    from app.settings import get_settings

    conn = await PgTarget.parse(get_settings().admin_url).connect()
    try:
        tid = await conn.fetchval("SELECT id FROM brand WHERE slug = $1", SLUG)
        if tid is None:
            tid = uuid7()
            await conn.execute("INSERT INTO brand (id, slug, name, created_at) VALUES ($1, $2, 'Survey bench', now())", tid, SLUG)
            await conn.executemany(
                "INSERT INTO dealer (id, tenant_id, code, name, region, time_zone, customer_count, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, 'Asia/Shanghai', 0, now(), now())",
                [(uuid7(), tid, f"D{i:03d}", f"Dealer {i:03d}", f"r{i % 8}") for i in range(200)])
        have = await conn.fetchval("SELECT count(*) FROM customer WHERE tenant_id = $1", tid)
        if have < customers:
            dealers = [r["id"] for r in await conn.fetch("SELECT id FROM dealer WHERE tenant_id = $1 ORDER BY code", tid)]
            print(f"seeding {customers - have:,} customers ...", flush=True)
            await conn.execute(CUSTOMERS_SQL.replace("generate_series(1, $3::int)", "generate_series($4::int + 1, $3::int)"),
                               tid, dealers, customers, have)
            await conn.execute("VACUUM (ANALYZE) customer")
            await conn.execute("VACUUM (ANALYZE) customer_external_ref")
        # every run starts from no results and no tickets
        for table in ("ticket_survey_result", "survey_result", "survey_selection_rule", "survey_template"):
            await conn.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tid)
        await conn.execute("UPDATE customer SET open_ticket_count = 0, last_survey_score = NULL, last_survey_at = NULL "
                           "WHERE tenant_id = $1", tid)
        await conn.execute("DELETE FROM customer_event WHERE tenant_id = $1", tid)
        await conn.execute("DELETE FROM ticket WHERE tenant_id = $1", tid)
        await conn.execute("DELETE FROM domain_event WHERE tenant_id = $1", tid)
        for table in ("customer", "customer_event", "ticket", "survey_result", "domain_event"):  # an earlier run's dead rows
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        return tid
    finally:
        await conn.close()


def results_csv(n: int, customers: int, prefix: str) -> bytes:
    rows = ["template_code,source,response_id,answered_at,external_source,external_id,dealer_code,q.nps,q.care,q.resolved"]
    for i in range(n):
        nps = 3 if i % 10 == 0 else 9 - i % 3  # one in ten a detractor
        resolved = "no" if i % 50 == 7 else "yes"  # one in fifty unresolved
        rows.append(f"svc,bench,{prefix}{i:07d},2026-11-{1 + i % 28:02d}T10:00:00+08:00,crm,C{1 + i % customers},"
                    f"D{i % 200:03d},{nps},{1 + i % 5},{resolved}")
    return ("\n".join(rows) + "\n").encode()


async def floor(tid, n: int, batch: int) -> float:
    """The same rows, stored with nothing else: one unnest INSERT per batch (of SELECTed customer ids)."""
    import orjson

    from app.core import db
    from app.core.ids import uuid7

    async with db.tenant_transaction(tid):
        template = (await db.fetch("SELECT id FROM survey_template WHERE tenant_id = $1", [tid]))[0][0]
        customers = [r[0] for r in await db.fetch("SELECT customer_id FROM customer_external_ref WHERE tenant_id = $1", [tid])]
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        k = min(batch, n - start)
        async with db.tenant_transaction(tid):
            await db.fetch(
                "INSERT INTO survey_result (id, tenant_id, template_id, source, response_id, customer_id, episode, answered_at, "
                "answers, dimension_scores, unresolved, selected, created_at) SELECT x.id, $1, $2, 'floor', x.r, x.c, '', now(), "
                "x.a::jsonb, '{}'::jsonb, false, false, now() FROM unnest($3::uuid[], $4::text[], $5::uuid[], $6::text[]) AS x(id, r, c, a)",
                [tid, template, [uuid7() for _ in range(k)], [f"F{start + j}" for j in range(k)],
                 [customers[(start + j) % len(customers)] for j in range(k)],
                 [orjson.dumps({"nps": 9, "care": 4, "resolved": True}).decode()] * k])
    return time.perf_counter() - t0


async def measure(tid, n: int, customers: int) -> None:
    from app.core import db, imports
    from app.core.tenancy import Actor, scope_for
    from app.settings import get_settings
    from app.survey import service

    scope = scope_for(Actor.system(tid))
    async with db.tenant_transaction(tid):
        await service.save_template(scope, code="svc", name="After service", questions=[
            {"key": "nps", "text": "Recommend us?", "kind": "score_10", "role": "overall"},
            {"key": "care", "text": "Staff cared", "kind": "score_5", "dimension": "empathy"},
            {"key": "resolved", "text": "Resolved?", "kind": "yes_no", "role": "resolved"}])
        await service.create_rule(scope, service.RuleInput(name="detractor", priority="high", category_code="service_failure",
                                                           conditions=[{"field": "overall", "op": "lte", "value": 6}]))
        await service.create_rule(scope, service.RuleInput(name="uncaring", priority="urgent", conditions=[
            {"field": "dimension", "key": "empathy", "op": "lt", "value": 3}, {"field": "overall", "op": "lte", "value": 7}]))
    data = results_csv(n, customers, "R")
    batch = get_settings().import_batch_size
    print(f"\n== survey intake: {n:,} results as one CSV ({len(data) / 1e6:.1f} MB), batches of {batch}, "
          f"{customers:,} customers, 200 dealers ==")
    batch = imports.kinds()["survey_results"].batch_size or batch
    base = await floor(tid, n, batch)
    print(f"{'floor: the rows alone (unnest INSERT)':44s} {n / base:10,.0f} results/s")
    async with db.tenant_transaction(tid):
        await db.fetch("DELETE FROM survey_result WHERE tenant_id = $1 AND source = 'floor'", [tid])
    for label in ("first delivery (match, store, select, open)", "the same file again (all duplicates)"):
        async with db.tenant_transaction(tid):
            imp = await imports.create_import(scope, "survey_results", data, "csv", "bench.csv", "0" * 64)
        with counting() as statements:
            t0 = time.perf_counter()
            await imports.run_import(scope, str(imp.id))
            took = time.perf_counter() - t0
        async with db.tenant_transaction(tid):
            row = (await db.fetch("SELECT rows_created, rows_unchanged, rows_failed FROM data_import WHERE tenant_id = $1 AND id = $2",
                                  [tid, imp.id]))[0]
            tickets = (await db.fetch("SELECT count(*) FROM ticket WHERE tenant_id = $1", [tid]))[0][0]
        print(f"{label:44s} {n / took:10,.0f} results/s  {statements[0] / n:5.3f} statements/result  "
              f"x floor {base / took:5.2f}  created {row[0]:,} unchanged {row[1]:,} failed {row[2]:,}  tickets {tickets:,}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", type=int, default=100_000)
    p.add_argument("--customers", type=int, default=100_000)
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.graphql_bench import prepare_env

    servers = prepare_env()

    async def run():
        from app.core import db
        from app.core.setup import setup
        from app.settings import get_settings

        s = get_settings()
        await setup(s.admin_url, s.database_url, s.app_db_role)
        tid = await seed(args.customers)
        target = await db.service_target(s.database_url, s.app_db_role)
        await db.init_orm(target, minsize=1, maxsize=4)
        from app.core import jobs

        await jobs.init(s.redis_url, f"{s.queue_name}:bench")  # the relay jobs go to a queue nobody works
        try:
            await measure(tid, args.results, args.customers)
        finally:
            await db.close_orm()

    try:
        asyncio.run(run())
    finally:
        for srv in servers:
            getattr(srv, "stop", lambda: None)()


if __name__ == "__main__":
    main()
