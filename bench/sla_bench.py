"""`python -m bench.sla_bench`: the SLA sweep at scale.

Seeds one brand (its own database, `<DATABASE_URL's database>_sla_bench`, or the embedded
server's) with 200 dealers, 100,000 customers and enough tickets for `--clocks` open clocks
(default 1,000,000: three per ticket, their next checks spread over the next 30 days), on a
Mon-Fri 09:00-18:00 Asia/Shanghai calendar, at a frozen Wednesday 15:00. Then measures, as the
worker does it (the service role under RLS, the same code):

1. the sweep with nothing due: `sla.sweep` (`sla_due_tenants()`, one range scan of the partial
   index on (next_check_at, tenant_id) that finds nothing), p50/p99, with the EXPLAIN of its
   query and of a brand's due query; goal under 50 ms;
2. the sweep with 10,000 clocks due (each the 75% warning of a first-contact clock): every
   warning fired (firing row, `sla.warned` event, the ticket's `sla.ticket_clocks` picture and
   the ticket's flags), in batches of 500 tickets; goal under 5 s; then a second sweep, which
   must find nothing;

each with the baseline of the same run: an empty tenant transaction (`SELECT 1` under RLS).
Business-calendar `add`/`between` throughput is `python -m bench.calendar_bench`.

Do not run it while a test suite runs on the same PostgreSQL cluster: the bulk load holds a
long transaction, and after-commit event delivery waits for the oldest one cluster-wide.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-sla"
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 3, 6, 15, 0, tzinfo=SH)  # a Wednesday
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
CALENDAR = {"timezone": "Asia/Shanghai", "weekly": {d: [["09:00", "18:00"]] for d in WORKDAYS}}
HOUR_US = 3600 * 1_000_000
TARGETS = {"first_contact": 8, "solution_proposed": 24, "resolution": 40}  # business hours

CUSTOMERS_SQL = """
INSERT INTO customer (id, tenant_id, dealer_id, name, tags, service_spend, referrals, churn_status, open_ticket_count,
                      search_text, search_name, created_at, updated_at)
SELECT gen_random_uuid(), $1, ($2::uuid[])[1 + (i % 200)], '客户' || i, ARRAY[]::text[], 0, 0, 'active', 0,
       '客户' || i, '客户' || i, $3, $3
  FROM generate_series(1, $4::int) AS i
"""
TICKETS_SQL = """
INSERT INTO ticket (id, tenant_id, number, customer_id, dealer_id, status, round, version, source, severity, priority, tags,
                    title, episode, brand_flagged, brand_owned, created_by, created_at, updated_at{flags})
SELECT gen_random_uuid(), $1, 'T-S-' || lpad(i::text, 8, '0'), c.id, c.dealer_id, 'assigned', 1, 1, 'hotline', 'medium',
       'normal', '[]'::jsonb, 'bench ticket ' || i, '', false, false, 'system', $4, $4{flag_values}
  FROM generate_series($2::int, $3::int) AS i
  JOIN (SELECT id, dealer_id, row_number() OVER (ORDER BY id) - 1 AS rn FROM customer WHERE tenant_id = $1) c ON c.rn = i % 100000
"""
PICTURES_SQL = """
INSERT INTO sla_ticket (id, tenant_id, number, status, round, customer_id, dealer_id, agent_id, priority, category_id, dimension,
                        source, opened_at, updated_at)
SELECT t.id, t.tenant_id, t.number, t.status, 1, t.customer_id, t.dealer_id, NULL, t.priority, NULL, NULL, t.source, $2, $2
  FROM ticket t WHERE t.tenant_id = $1 AND t.id = ANY($3::uuid[])
   AND NOT EXISTS (SELECT 1 FROM sla_ticket s WHERE s.tenant_id = t.tenant_id AND s.id = t.id)
"""
# every clock running since NOW, its next check somewhere in the next 30 days (none within the
# sweep's two-minute horizon: "nothing due" finds no brand at all)
CLOCKS_SQL = """
INSERT INTO sla_clock (id, tenant_id, ticket_id, metric, round, policy_id, policy_version, dealer_id, calendar_id, calendar_version,
                       calendar_mode, target_us, consumed_us, running_since, started_at, due_at, stopped_at, state, breached_at,
                       warned_at, checked_us, next_check_at, notice_at, pauses, warnings, escalation, notification_calendar_id, updated_at)
SELECT gen_random_uuid(), s.tenant_id, s.id, m.metric, 1, $2, $3, s.dealer_id, $4, $5, 'business', m.target, 0, $6::timestamptz, $6::timestamptz,
       $6::timestamptz + make_interval(mins => 60 + (hashtext(s.id::text || m.metric) & 65535) % 43200), NULL, 'running', NULL, NULL, 0,
       $6::timestamptz + make_interval(mins => 5 + (hashtext(s.id::text || m.metric) & 65535) % 43200), NULL,
       '["pending_customer"]'::jsonb, '[0.75, 0.9]'::jsonb, '[]'::jsonb, NULL, $6::timestamptz
  FROM sla_ticket s CROSS JOIN (VALUES ('first_contact', $7::bigint), ('solution_proposed', $8::bigint), ('resolution', $9::bigint)) AS m(metric, target)
 WHERE s.tenant_id = $1 AND s.id = ANY($10::uuid[])
   AND NOT EXISTS (SELECT 1 FROM sla_clock c WHERE c.tenant_id = s.tenant_id AND c.ticket_id = s.id)
"""
# 10,000 first-contact clocks that started at 09:00 today: 6 of their 8 business hours used at 15:00
DUE_SQL = """
WITH d AS (SELECT c.id FROM sla_clock c WHERE c.tenant_id = $1 AND c.metric = 'first_contact' ORDER BY c.id LIMIT $2)
UPDATE sla_clock c SET running_since = $3, started_at = $3, consumed_us = 0, checked_us = 0, warned_at = NULL, breached_at = NULL,
       state = 'running', due_at = $4, next_check_at = $5, notice_at = NULL
  FROM d WHERE c.tenant_id = $1 AND c.id = d.id
"""


def prepare_env() -> list:
    """Servers (embedded unless DATABASE_URL/REDIS_URL), the benchmark's own database and queue."""
    from app.core.db import PgTarget

    servers = []
    data = ROOT / ".data"
    data.mkdir(exist_ok=True)
    if os.environ.get("DATABASE_URL"):
        for key in ("DATABASE_URL", "DATABASE_ADMIN_URL"):
            if os.environ.get(key):
                target = PgTarget.parse(os.environ[key])
                os.environ[key] = target.with_(database=f"{target.database}_sla_bench").url()
    else:
        from app.core.embedded import start_postgres

        pg, url = start_postgres(data / "test-pg", "huifang_sla_bench")
        servers.append(pg)
        os.environ["DATABASE_URL"] = url
    if not os.environ.get("REDIS_URL"):
        from app.core.embedded import start_valkey
        from bench.graphql_bench import free_port

        vk, rurl = start_valkey(data / "bench-valkey", port=free_port())
        servers.append(vk)
        os.environ["REDIS_URL"] = rurl
    os.environ.update(ENV="test", LOG_LEVEL="WARNING", QUEUE_NAME="huifang:sla-bench", DB_POOL_MIN="2", DB_POOL_MAX="10")
    from app.settings import get_settings

    get_settings.cache_clear()
    return servers


async def seed(clocks: int):
    """The brand (once), its calendar and policy, and tickets with their clocks up to `clocks`."""
    from app.core import clock, db
    from app.core.db import PgTarget
    from app.core.ids import uuid7
    from app.core.tenancy import Actor, scope_for
    from app.settings import get_settings
    from app.sla import engine
    from app.sla import policies as pol
    from app.sla import repository as repo
    from app.sla.enums import CalendarKind

    s = get_settings()
    admin = await PgTarget.parse(s.admin_url).connect()
    try:
        tid = await admin.fetchval("SELECT id FROM brand WHERE slug = $1", SLUG)
        if tid is None:
            tid = uuid7()
            await admin.execute("INSERT INTO brand (id, slug, name, created_at) VALUES ($1, $2, 'SLA bench', $3)", tid, SLUG, NOW)
            await admin.executemany(
                "INSERT INTO dealer (id, tenant_id, code, name, region, time_zone, customer_count, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, 'Asia/Shanghai', 0, $6, $6)",
                [(uuid7(), tid, f"D{i:03d}", f"Dealer {i:03d}", f"r{i % 8}", NOW) for i in range(200)])
            dealers = [r["id"] for r in await admin.fetch("SELECT id FROM dealer WHERE tenant_id = $1 ORDER BY code", tid)]
            await admin.execute(CUSTOMERS_SQL, tid, dealers, NOW, 100_000)
    finally:
        await admin.close()
    scope = scope_for(Actor.system(tid))
    with clock.freeze(NOW):
        async with db.tenant_transaction(tid):
            await engine.ensure_defaults(scope)
            cal = next(c for c in await repo.calendars(scope) if c["kind"] == CalendarKind.BRAND)
            if cal["spec"] != CALENDAR:
                cal = await repo.update_calendar(scope, cal["id"], name=cal["name"], spec=CALENDAR, seed_report=None, new_version=True)
            policies = await repo.policies(scope)
            if [p["name"] for p in policies] != ["bench"]:
                for p in policies:
                    await repo.delete_policy(scope, p["id"], "keep")
                stored = pol.validate(name="bench", conditions={}, targets=[{"metric": m, "seconds": h * 3600} for m, h in TARGETS.items()],
                                      pauses=None, warnings=[0.75, 0.9], escalation=[], calendar="business")
                policies = await repo.insert_policies(scope, [{**stored, "position": 0, "enabled": True, "notification_calendar_id": None,
                                                               "open_clocks": "recompute"}])
            policy = policies[0]
    admin = await PgTarget.parse(s.admin_url).connect()
    try:
        have = await admin.fetchval("SELECT count(*) FROM ticket WHERE tenant_id = $1", tid)
        have_clocks = await admin.fetchval("SELECT count(*) FROM sla_clock WHERE tenant_id = $1", tid)
        tickets = -(-clocks // 3)
        if have < tickets or have_clocks < 3 * tickets:
            cols = {r[0] for r in await admin.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = 'ticket'")}
            flags = {"sla_warned", "sla_breached"} & cols  # the complaint module's copy of the SLA picture, when present
            sql = TICKETS_SQL.format(flags="".join(f", {c}" for c in sorted(flags)), flag_values=", false" * len(flags))
            print(f"seeding {max(0, tickets - have):,} tickets and {3 * tickets - have_clocks:,} clocks ...", flush=True)
            t0 = time.perf_counter()
            # short statements (each its own transaction): a long one would hold back every other
            # database's after-commit event delivery on the cluster while it runs
            for start in range(have + 1, tickets + 1, 25_000):
                await admin.execute(sql, tid, start, min(tickets, start + 24_999), NOW)
            ids = [r[0] for r in await admin.fetch("SELECT id FROM ticket WHERE tenant_id = $1 ORDER BY id", tid)]
            for i in range(0, len(ids), 25_000):
                await admin.execute(PICTURES_SQL, tid, NOW, ids[i:i + 25_000])
                await admin.execute(CLOCKS_SQL, tid, policy["id"], policy["version"], cal["id"], cal["version"], NOW,
                                    *(h * HOUR_US for h in TARGETS.values()), ids[i:i + 25_000])
            print(f"seeded in {time.perf_counter() - t0:.0f} s", flush=True)
        await admin.execute("VACUUM (ANALYZE) sla_clock")
        await admin.execute("VACUUM (ANALYZE) sla_ticket")
        await admin.execute("VACUUM (ANALYZE) ticket")
        n = await admin.fetchval("SELECT count(*) FROM sla_clock WHERE tenant_id = $1 AND state IN ('running', 'paused')", tid)
    finally:
        await admin.close()
    return tid, n


def _stats(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


async def _explain(sql: str, params: list) -> list[str]:
    from app.core.db import PgTarget
    from app.settings import get_settings

    conn = await PgTarget.parse(get_settings().admin_url).connect()
    try:
        return [r[0] for r in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, *params)]
    finally:
        await conn.close()


async def measure(tid, open_clocks: int, runs: int, due: int) -> None:
    from app.core import clock, db
    from app.core.db import PgTarget
    from app.settings import get_settings
    from app.sla import tasks

    async def floor():
        async with db.tenant_transaction(tid):
            await db.fetch("SELECT 1", [])

    base = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await floor()
        base.append((time.perf_counter() - t0) * 1000)
    b50, b99 = _stats(base)
    print(f"\n== SLA sweep, one brand with {open_clocks:,} open clocks ({runs} runs each) ==")
    print(f"{'case':48s} {'p50 ms':>9s} {'p99 ms':>9s} {'x floor':>8s}")
    print(f"{'floor: empty RLS transaction':48s} {b50:9.2f} {b99:9.2f} {1:8.1f}")

    with clock.freeze(NOW):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            assert await tasks.sweep() == 0
            times.append((time.perf_counter() - t0) * 1000)
    p50, p99 = _stats(times)
    print(f"{'sweep, nothing due (goal < 50 ms)':48s} {p50:9.2f} {p99:9.2f} {p50 / b50:8.1f}")
    print("\nEXPLAIN of sla_due_tenants(now) (the sweep's one statement when nothing is due):")
    for line in await _explain("SELECT DISTINCT tenant_id FROM sla_clock WHERE next_check_at <= $1", [NOW]):
        print("   ", line)

    admin = await PgTarget.parse(get_settings().admin_url).connect()
    try:
        await admin.execute("DELETE FROM sla_firing WHERE tenant_id = $1", tid)  # a re-run fires them again
        await admin.execute("UPDATE sla_clock SET warned_at = NULL WHERE tenant_id = $1 AND warned_at IS NOT NULL", tid)
        await admin.execute(DUE_SQL, tid, due, NOW.replace(hour=9), NOW.replace(hour=17), NOW - timedelta(minutes=1))
        await admin.execute("ANALYZE sla_clock")
        events_before = await admin.fetchval("SELECT count(*) FROM domain_event WHERE tenant_id = $1", tid)
    finally:
        await admin.close()
    print("\nEXPLAIN of a brand's due query (the first statement of each batch):")
    for line in await _explain("SELECT ticket_id FROM (SELECT ticket_id, next_check_at FROM sla_clock WHERE tenant_id = $1 AND "
                               "next_check_at <= $2 ORDER BY next_check_at LIMIT 500) d GROUP BY ticket_id ORDER BY min(next_check_at)",
                               [tid, NOW]):
        print("   ", line)
    with clock.freeze(NOW):
        t0 = time.perf_counter()
        processed = await tasks.sweep()
        took = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = await tasks.sweep()
        second = (time.perf_counter() - t0) * 1000
    admin = await PgTarget.parse(get_settings().admin_url).connect()
    try:
        fired = await admin.fetchval("SELECT count(*) FROM sla_firing WHERE tenant_id = $1", tid)
        warned = await admin.fetchval("SELECT count(*) FROM sla_clock WHERE tenant_id = $1 AND warned_at = $2", tid, NOW)
        new_events = await admin.fetchval("SELECT count(*) FROM domain_event WHERE tenant_id = $1", tid) - events_before
    finally:
        await admin.close()
    print(f"\n{due:,} clocks due: {processed:,} tickets processed in {took:.2f} s (goal < 5 s): {fired:,} firings, "
          f"{warned:,} clocks warned, {new_events:,} domain events; {took * 1e6 / max(1, processed):.0f} µs a ticket")
    print(f"the sweep right after: {again} tickets, {second:.1f} ms")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clocks", type=int, default=1_000_000)
    p.add_argument("--due", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=30)
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    servers = prepare_env()

    async def run():
        from app.core import db, jobs
        from app.core.setup import setup
        from app.settings import get_settings

        s = get_settings()
        await setup(s.admin_url, s.database_url, s.app_db_role)
        target = await db.service_target(s.database_url, s.app_db_role)
        await db.init_orm(target, minsize=1, maxsize=4)
        await jobs.init(s.redis_url, s.queue_name)
        jobs.load_task_modules()
        try:
            tid, n = await seed(args.clocks)
            await measure(tid, n, args.runs, args.due)
        finally:
            await jobs.pool().delete(s.queue_name)  # the deadline jobs the run queued: nobody runs them
            await jobs.close()
            await db.close_orm()

    try:
        asyncio.run(run())
    finally:
        for srv in servers:
            getattr(srv, "stop", lambda: None)()


if __name__ == "__main__":
    main()
