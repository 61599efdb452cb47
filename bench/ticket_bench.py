"""`make bench-tickets`: the `tickets` dashboard filters at scale.

Seeds one brand with 200 dealers (8 regions), 100,000 customers and N tickets (default
1,000,000) spread over statuses, priorities, rounds and two years, then times the common
dashboard filters through the repository as the service role under RLS (the SQL the API runs),
the status-by-dealer counts, and, as the baseline of the same run, an empty tenant transaction
(`SELECT 1` under the same RLS setup): every case is reported as p50/p99 and as a ratio to it.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-tickets"

CUSTOMERS_SQL = """
INSERT INTO customer (id, tenant_id, dealer_id, name, tags, service_spend, referrals, churn_status, open_ticket_count,
                      search_text, search_name, created_at, updated_at)
SELECT gen_random_uuid(), $1, ($2::uuid[])[1 + (i % 200)], '客户' || i, ARRAY[]::text[], 0, 0, 'active', 0,
       '客户' || i, '客户' || i, now(), now()
  FROM generate_series(1, $3::int) AS i
"""

TICKETS_SQL = """
INSERT INTO ticket (id, tenant_id, number, customer_id, dealer_id, status, round, version, source, severity, priority, tags,
                    title, brand_flagged, brand_owned, sla_warned, sla_breached, episode, created_by, created_at, updated_at)
SELECT gen_random_uuid(), $1, 'T-B-' || lpad(i::text, 8, '0'), c.id, c.dealer_id,
       (ARRAY['assigned','contacted','solution_proposed','pending_customer','resolved','awaiting_resurvey','recovered',
              'closed','closed','closed','closed','cancelled','escalated','new'])[1 + i % 14],
       CASE WHEN i % 25 = 0 THEN 2 ELSE 1 END, 1,
       (ARRAY['survey','hotline','web_form','dealer','partner_api','social_media'])[1 + i % 6],
       (ARRAY['low','medium','medium','high','critical'])[1 + i % 5],
       (ARRAY['low','normal','normal','normal','high','urgent'])[1 + i % 6], '[]'::jsonb, 'bench ticket ' || i,
       i % 25 = 0, false, false, false, '', 'system',
       now() - ((i * 63) % 63072000 || ' seconds')::interval, now() - ((i * 17) % 2592000 || ' seconds')::interval
  FROM generate_series($2::int, $3::int) AS i
  JOIN (SELECT id, dealer_id, row_number() OVER (ORDER BY id) - 1 AS rn FROM customer WHERE tenant_id = $1) c
    ON c.rn = i % 100000
"""


async def seed(n: int):
    from app.core.db import PgTarget
    from app.core.ids import uuid7
    from app.settings import get_settings

    conn = await PgTarget.parse(get_settings().admin_url).connect()
    try:
        tid = await conn.fetchval("SELECT id FROM brand WHERE slug = $1", SLUG)
        if tid is None:
            tid = uuid7()
            await conn.execute("INSERT INTO brand (id, slug, name, created_at) VALUES ($1, $2, 'Ticket bench', now())", tid, SLUG)
            await conn.executemany(
                "INSERT INTO dealer (id, tenant_id, code, name, region, time_zone, customer_count, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, 'Asia/Shanghai', 0, now(), now())",
                [(uuid7(), tid, f"D{i:03d}", f"Dealer {i:03d}", f"r{i % 8}") for i in range(200)])
            user = uuid7()
            await conn.execute("INSERT INTO app_user (id, tenant_id, email, display_name, is_active, created_at) "
                               "VALUES ($1, $2, 'admin@tickets.bench', 'admin', true, now())", user, tid)
            await conn.execute("INSERT INTO membership (id, tenant_id, user_id, role, regions, created_at) "
                               "VALUES ($1, $2, $3, 'brand_admin', '{}', now())", uuid7(), tid, user)
            dealers = [r["id"] for r in await conn.fetch("SELECT id FROM dealer WHERE tenant_id = $1 ORDER BY code", tid)]
            await conn.execute(CUSTOMERS_SQL, tid, dealers, 100_000)
        have = await conn.fetchval("SELECT count(*) FROM ticket WHERE tenant_id = $1", tid)
        if have < n:
            print(f"seeding {n - have:,} tickets ...", flush=True)
            t0 = time.perf_counter()
            step = 100_000
            for start in range(have + 1, n + 1, step):
                await conn.execute(TICKETS_SQL, tid, start, min(n, start + step - 1))
            print(f"seeded in {time.perf_counter() - t0:.0f} s", flush=True)
        await conn.execute("VACUUM (ANALYZE) ticket")
        user = await conn.fetchval("SELECT id FROM app_user WHERE tenant_id = $1", tid)
        dealer = await conn.fetchval("SELECT id FROM dealer WHERE tenant_id = $1 AND code = 'D007'", tid)
        return tid, user, dealer
    finally:
        await conn.close()


def _stats(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


async def measure(tid, user, dealer, runs: int) -> dict:
    from datetime import timedelta

    from app.complaint.repository import TicketFilter, count_tickets, list_tickets
    from app.core import clock, db
    from app.core.pagination import PageArgs
    from app.core.permissions import Role
    from app.core.tenancy import Actor, Membership, scope_for

    admin = scope_for(Actor.user(tid, user, [Membership(Role.BRAND_ADMIN)]))
    agent = scope_for(Actor.user(tid, user, [Membership(Role.DEALER_AGENT, dealer)]))
    regional = scope_for(Actor.user(tid, user, [Membership(Role.REGIONAL_MANAGER, None, frozenset({"r3"}))]))
    open_ = ["new", "assigned", "contacted", "solution_proposed", "pending_customer", "escalated"]
    week = clock.now() - timedelta(days=7)
    cases = [
        ("newest first, no filter", admin, TicketFilter(), "CREATED_AT"),
        ("open statuses", admin, TicketFilter(statuses=open_), "CREATED_AT"),
        ("escalated", admin, TicketFilter(statuses=["escalated"]), "CREATED_AT"),
        ("one dealer, open", admin, TicketFilter(dealer_ids=[dealer], statuses=open_), "CREATED_AT"),
        ("region r3", admin, TicketFilter(regions=["r3"]), "CREATED_AT"),
        ("urgent + open", admin, TicketFilter(priorities=["urgent"], statuses=open_), "CREATED_AT"),
        ("round 2", admin, TicketFilter(rounds=[2]), "CREATED_AT"),
        ("created in the last 7 days", admin, TicketFilter(created_after=week), "CREATED_AT"),
        ("recently updated", admin, TicketFilter(), "UPDATED_AT"),
        ("dealer agent, own dealer", agent, TicketFilter(), "CREATED_AT"),
        ("regional manager, open", regional, TicketFilter(statuses=open_), "CREATED_AT"),
    ]

    async def floor():
        async with db.tenant_transaction(tid):
            await db.fetch("SELECT 1", [])

    base = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await floor()
        base.append((time.perf_counter() - t0) * 1000)
    b50, b99 = _stats(base)
    print(f"\n{'case (page of 50)':34s} {'p50 ms':>8s} {'p99 ms':>8s} {'x floor':>8s} {'rows':>5s}")
    print(f"{'floor: empty RLS transaction':34s} {b50:8.2f} {b99:8.2f} {1:8.1f}")
    out = {}
    for name, scope, flt, order in cases:
        times, rows = [], 0
        for _ in range(runs):
            t0 = time.perf_counter()
            async with db.tenant_transaction(tid):
                page = await list_tickets(scope, flt, PageArgs(first=50), order=order)
            times.append((time.perf_counter() - t0) * 1000)
            rows = len(page.items)
        p50, p99 = _stats(times)
        out[name] = (p50, p99)
        print(f"{name:34s} {p50:8.2f} {p99:8.2f} {p50 / b50:8.1f} {rows:5d}")
    for name, scope, flt in (("counts by status x dealer (all)", admin, TicketFilter()),
                             ("counts, one region", admin, TicketFilter(regions=["r3"]))):
        times = []
        for _ in range(max(3, runs // 10)):
            t0 = time.perf_counter()
            async with db.tenant_transaction(tid):
                await count_tickets(scope, flt)
            times.append((time.perf_counter() - t0) * 1000)
        p50, p99 = _stats(times)
        print(f"{name:34s} {p50:8.2f} {p99:8.2f} {p50 / b50:8.1f}")
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=100)
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
        tid, user, dealer = await seed(args.tickets)
        target = await db.service_target(s.database_url, s.app_db_role)
        await db.init_orm(target, minsize=1, maxsize=4)
        try:
            print(f"\n== tickets, brand of {args.tickets:,} tickets, 100,000 customers, 200 dealers ({args.runs} runs each) ==")
            await measure(tid, user, dealer, args.runs)
        finally:
            await db.close_orm()

    try:
        asyncio.run(run())
    finally:
        for srv in servers:
            getattr(srv, "stop", lambda: None)()


if __name__ == "__main__":
    main()
