"""A realistic load test (issue 12, item 6): brand dashboards, partner sync pulls, dealer agents
working tickets and writes, at once, against `python -m app serve`; capacity guidance from it.

The brand (`loadmix`): 200 dealers, 20,000 customers, 40,000 tickets (seeded once in the bench
database), 16 dealer agents (one per dealer), the admin, and a partner app whose token comes from
the real OAuth client-credentials flow. Each of the `--concurrency` keep-alive connections plays one
role, in these shares:

- **dashboard** (admin, 1/4 of the connections): the open tickets page of 50 with dealer and
  customer, and the ticket counts by status and dealer;
- **sync** (partner app, 1/8): pages of 100 customers (keyset, following `endCursor`, from the
  start again at the end) and of 100 tickets by `UPDATED_AT`;
- **agent** (dealer agents, 1/2): the agent's queue (20 tickets with customer and SLA due), one
  ticket in detail (events and clocks), a contact recorded on a ticket (write), a ticket raised for
  a customer of the dealer (write);
- **admin** (1/8): a customer's tags updated (write), the dealer list page.

Runs: the mix at saturation (closed loop) with 1 worker process and with all cores, then paced
(open loop, latency measured from each request's scheduled start, so a slow server cannot hide
its queue) at half the 1-process saturation rate, and saturation with a few `DB_POOL_MAX` values.
Per operation: requests, req/s, p50/p99 (ms), errors (any fails the run) and conflicts
(`TICKET_CHANGED`: two agents of a dealer acted on the same ticket at once and the optimistic
lock refused the second, the documented answer a client reloads on; counted, and failing the run
only past 5 % of an operation's answers); per run: PostgreSQL transactions and
Redis commands per request, and the PostgreSQL connections busy (sampled), from which README's
capacity guidance sizes the pool and Redis.

In a closed loop a faster operation is asked for more often: each operation's share of the served
requests is printed with it, so runs of different code compare the same mix or say that they do
not. The writes stay (tens of tickets and a few hundred contacts a run, against 40,000 tickets: the data
drifts by a fraction of a percent a run; a fresh `BENCH_DATABASE` starts over). The server runs with
`ENV=test` and `LOG_LEVEL=WARNING`, as `make bench` does: production's access log line per request
is not part of the numbers (README, "Capacity guidance").

`make bench-load` (`BENCH_ARGS="--duration 15"`); `BENCH_DATABASE` names the database."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.load import Client, read_response

ROOT = Path(__file__).resolve().parent.parent
BRAND = "loadmix"
DEALERS = 200
CUSTOMERS = 20_000
TICKETS = 40_000
AGENTS = 16

CUSTOMERS_SQL = """
INSERT INTO customer (id, tenant_id, dealer_id, name, tags, service_spend, referrals, churn_status, open_ticket_count,
                      search_text, search_name, created_at, updated_at)
SELECT gen_random_uuid(), $1, d.id, 'Customer ' || i, ARRAY[]::text[], 0, 0, 'active', 0, 'customer ' || i, 'customer ' || i,
       now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
  FROM generate_series(1, $2::int) AS i
  JOIN (SELECT id, row_number() OVER (ORDER BY code) - 1 AS rn FROM dealer WHERE tenant_id = $1) d ON d.rn = i % $3
"""
TICKETS_SQL = """
INSERT INTO ticket (id, tenant_id, number, customer_id, dealer_id, status, round, version, source, severity, priority, tags,
                    title, episode, brand_flagged, brand_owned, created_by, created_at, updated_at, sla_warned, sla_breached)
SELECT gen_random_uuid(), $1, 'T-L-' || lpad(i::text, 8, '0'), c.id, c.dealer_id,
       (ARRAY['assigned','contacted','resolved','closed','new','contacted'])[1 + i % 6], 1, 1, 'hotline', 'medium',
       (ARRAY['low','normal','high','urgent'])[1 + i % 4], '[]'::jsonb, 'load ticket ' || i, '', false, false, 'system',
       now() - (i || ' minutes')::interval, now() - (i || ' seconds')::interval, false, false
  FROM generate_series(1, $2::int) AS i
  JOIN (SELECT id, dealer_id, row_number() OVER (ORDER BY id) - 1 AS rn FROM customer WHERE tenant_id = $1) c ON c.rn = i % $3
"""

DASH_TICKETS = """query Dash($f: TicketFilter) { tickets(first: 50, filter: $f) { edges { cursor node { id number title status
 priority createdAt slaDueAt dealer { id code name } customer { id name } } } pageInfo { hasNextPage endCursor } } }"""
DASH_COUNTS = "query Counts { ticketCounts { status dealerId count } }"
SYNC_CUSTOMERS = """query Sync($after: String) { customers(first: 100, after: $after, orderBy: CREATED_AT) { edges { node { id name
 tier churnStatus openTicketCount createdAt updatedAt dealer { id code } } } pageInfo { hasNextPage endCursor } } }"""
SYNC_TICKETS = """query SyncT($after: String) { tickets(first: 100, after: $after, orderBy: UPDATED_AT) { edges { node { id number
 status priority round updatedAt customerId dealer { id } } } pageInfo { hasNextPage endCursor } } }"""
AGENT_QUEUE = """query Queue($f: TicketFilter) { tickets(first: 20, filter: $f) { edges { node { id number title status priority
 slaDueAt overdue customer { id name } } } } }"""
AGENT_TICKET = """query One($id: ID!) { ticket(id: $id) { id number title status round version verbatim contactNotes
 availableActions customer { id name tier openTicketCount } dealer { id name } events { at action fromStatus toStatus } sla { metric dueAt state } } }"""
AGENT_CONTACT = """mutation Contact($in: TicketRecordContactInput!) { ticketRecordContact(input: $in) { ticket { id status version }
 errors { code message } } }"""
AGENT_CREATE = """mutation Create($in: TicketCreateInput!) { ticketCreate(input: $in) { ticket { id number status } errors { code message } } }"""
ADMIN_CUSTOMER = """mutation Tag($in: CustomerUpdateInput!) { customerUpdate(input: $in) { customer { id tags updatedAt }
 errors { code message } } }"""
ADMIN_DEALERS = "query Dealers { dealers(first: 50) { edges { node { id code name region customerCount } } } }"

ROLE_SHARES = (("dashboard", 2), ("sync", 1), ("agent", 4), ("admin", 1))  # of every 8 connections


async def seed() -> dict:
    """The brand, its rows and its users (once per database); tokens minted per run."""
    from app.core import db
    from app.core.auth.tokens import mint_access_token
    from app.core.db import PgTarget
    from app.core.setup import setup
    from app.core.tenancy import Actor, scope_for
    from app.oauth import service as oauth
    from app.settings import get_settings
    from app.tenant.models import Dealer, Membership, Role, User
    from app.tenant.provision import provision_brand

    s = get_settings()
    await setup(s.admin_url, s.database_url, s.app_db_role)
    target = await db.service_target(s.database_url, s.app_db_role)
    admin = await PgTarget.parse(s.admin_url).connect()
    try:
        tid = await admin.fetchval("SELECT id FROM brand WHERE slug = $1", BRAND)
        await db.init_orm(target, minsize=1, maxsize=2)
        if tid is None:
            brand, _ = await provision_brand(BRAND, "Load Mix Brand", f"admin@{BRAND}.example")
            tid = brand.id
            async with db.tenant_transaction(tid):
                await Dealer.bulk_create([Dealer(tenant_id=tid, code=f"L-{i:04d}", name=f"Dealer {i:04d}", region=f"r{i % 7}")
                                          for i in range(DEALERS)])
                dealers = await Dealer.filter(tenant_id=tid).order_by("code").limit(AGENTS)
                for i, d in enumerate(dealers):
                    u = await User.create(tenant_id=tid, email=f"agent{i}@{BRAND}.example", display_name=f"Agent {i}")
                    await Membership.create(tenant_id=tid, user_id=u.id, role=Role.DEALER_AGENT, dealer_id=d.id, regions=[])
            await admin.execute(CUSTOMERS_SQL, tid, CUSTOMERS, DEALERS)
            await admin.execute(TICKETS_SQL, tid, TICKETS, CUSTOMERS)
            await admin.execute("ANALYZE customer; ANALYZE ticket")
        async with db.tenant_transaction(tid):
            admin_user = await User.get(tenant_id=tid, email=f"admin@{BRAND}.example")
            agents = []
            for m in await Membership.filter(tenant_id=tid, role=Role.DEALER_AGENT).order_by("dealer_id"):
                agents.append((m.user_id, m.dealer_id))
            app, secret = await oauth.create_app(
                scope_for(Actor.system(tid)), name=f"sync-{uuid.uuid4().hex[:6]}", client_type="confidential",
                grant_types=["client_credentials"], redirect_uris=[], scopes=["customers:read", "tickets:read"])
        work = {}
        for user_id, dealer_id in agents:
            rows = await admin.fetch(
                """SELECT (SELECT array_agg(id) FROM (SELECT id FROM ticket WHERE tenant_id = $1 AND dealer_id = $2
                             AND status IN ('assigned', 'contacted') ORDER BY created_at DESC LIMIT 40) t) AS tickets,
                          (SELECT array_agg(id) FROM (SELECT id FROM customer WHERE tenant_id = $1 AND dealer_id = $2
                             LIMIT 40) c) AS customers""", tid, dealer_id)
            work[user_id] = {"dealer": dealer_id, "tickets": rows[0]["tickets"] or [], "customers": rows[0]["customers"] or []}
        customers = [r["id"] for r in await admin.fetch(
            "SELECT id FROM customer WHERE tenant_id = $1 ORDER BY id LIMIT 500", tid)]
    finally:
        await admin.close()
        await db.close_orm()
    from app.core.ids import to_global_id

    return {
        "tenant": str(tid), "service_url": target.url(),
        "admin": mint_access_token(tenant_id=tid, subject=str(admin_user.id), ttl_seconds=7200),
        "agents": [{"token": mint_access_token(tenant_id=tid, subject=str(uid), ttl_seconds=7200),
                    "tickets": [to_global_id("Ticket", t) for t in w["tickets"]],
                    "customers": [to_global_id("Customer", c) for c in w["customers"]]} for uid, w in work.items()],
        "customers": [to_global_id("Customer", c) for c in customers],
        "app": {"client_id": app.client_id, "secret": secret},
    }


def app_token(port: int, app: dict) -> str:
    """The partner app's token through the real client-credentials flow."""
    import httpx

    r = httpx.post(f"http://127.0.0.1:{port}/oauth/token", data={"grant_type": "client_credentials",
                   "scope": "customers:read tickets:read"}, auth=(app["client_id"], app["secret"]))
    r.raise_for_status()
    return r.json()["access_token"]


# ---- the load generator ---------------------------------------------------------------------------

class Role:
    """One connection's behaviour: `next()` gives (operation name, token, body); `seen()` reads
    what an answer says the next request needs (a cursor)."""

    def __init__(self, kind: str, tokens: dict, rng: random.Random, index: int):
        self.kind, self.rng = kind, rng
        self.tokens = tokens
        self.cursor = {"customers": None, "tickets": None}
        self.agent = tokens["agents"][index % len(tokens["agents"])]
        self.step = 0

    def next(self, only: str | None = None) -> tuple[str, str, dict]:
        while True:
            op = self._next()
            if only is None or op[0] == only:
                return op

    def _next(self) -> tuple[str, str, dict]:
        r, self.step = self.rng.random(), self.step + 1
        if self.kind == "dashboard":
            if r < 0.7:
                return "dashboard.tickets", self.tokens["admin"], {
                    "query": DASH_TICKETS, "variables": {"f": {"statuses": ["NEW", "ASSIGNED", "CONTACTED"]}}}
            return "dashboard.counts", self.tokens["admin"], {"query": DASH_COUNTS}
        if self.kind == "sync":
            which = "customers" if r < 0.5 else "tickets"
            return f"sync.{which}", self.tokens["app"], {
                "query": SYNC_CUSTOMERS if which == "customers" else SYNC_TICKETS, "variables": {"after": self.cursor[which]}}
        if self.kind == "agent":
            a = self.agent
            if r < 0.35:
                return "agent.queue", a["token"], {"query": AGENT_QUEUE, "variables": {"f": {"statuses": ["ASSIGNED", "CONTACTED"]}}}
            if r < 0.75:
                return "agent.ticket", a["token"], {"query": AGENT_TICKET, "variables": {"id": self.rng.choice(a["tickets"])}}
            if r < 0.95:
                return "agent.recordContact", a["token"], {"query": AGENT_CONTACT, "variables": {"in": {
                    "id": self.rng.choice(a["tickets"]), "channel": "PHONE", "notes": f"called back, step {self.step}"}}}
            return "agent.ticketCreate", a["token"], {"query": AGENT_CREATE, "variables": {"in": {
                "customerId": self.rng.choice(a["customers"]), "source": "HOTLINE", "title": f"load complaint {self.step}",
                "verbatim": "The repair took three visits."}}}
        if r < 0.5:
            return "admin.customerUpdate", self.tokens["admin"], {"query": ADMIN_CUSTOMER, "variables": {"in": {
                "id": self.rng.choice(self.tokens["customers"]), "tags": [f"t{self.rng.randrange(20)}"]}}}
        return "admin.dealers", self.tokens["admin"], {"query": ADMIN_DEALERS}

    def seen(self, op: str, doc: dict) -> None:
        if op.startswith("sync."):
            which = op[5:]
            page = doc["data"][which]["pageInfo"]
            self.cursor[which] = page["endCursor"] if page["hasNextPage"] else None


def roles_for(concurrency: int, only: str | None = None) -> list[str]:
    cycle = [only.split(".")[0]] if only else [kind for kind, n in ROLE_SHARES for _ in range(n)]
    return [cycle[i % len(cycle)] for i in range(concurrency)]


async def connection(port: int, role: Role, deadline: float, interval: float | None, start: float, out: dict,
                     only: str | None = None):
    """One keep-alive connection at a time. `interval`: paced (open loop), each request's latency
    counted from its scheduled start; None: as fast as answers come (closed loop). It connects
    again every RECONNECT_SECONDS (bench.load.Client), so that with several worker processes each gets its share
    (bench/load.py says why)."""
    client = Client("127.0.0.1", port)
    due = start + (role.rng.random() * interval if interval else 0)
    try:
        while True:
            await client.fresh()
            if interval:
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
            t0 = due if interval else time.perf_counter()
            if t0 >= deadline:
                return
            op, token, payload = role.next(only)
            body = json.dumps(payload).encode()
            client.writer.write(
                b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token.encode()
                + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            status, answer = await read_response(client.reader)
            rec = out.setdefault(op, {"lat": [], "errors": 0, "conflicts": 0, "sample": None})
            rec["lat"].append(time.perf_counter() - t0)
            doc = json.loads(answer) if status == 200 else {}
            kind = outcome(status, doc)
            if kind == "conflict":
                rec["conflicts"] += 1
            elif kind == "error":
                rec["errors"] += 1
                rec["sample"] = rec["sample"] or answer[:300].decode(errors="replace")
            else:
                role.seen(op, doc)
            if interval:
                due += interval
    finally:
        client.close()


async def drive(port: int, tokens: dict, concurrency: int, duration: float, rate: float | None, seed: int = 7,
                only: str | None = None) -> dict:
    out: dict = {}
    start = time.perf_counter() + 0.05
    interval = concurrency / rate if rate else None
    kinds = roles_for(concurrency, only)
    await asyncio.gather(*(connection(port, Role(k, tokens, random.Random(seed * 1000 + i), i), start + duration, interval, start, out,
                                      only)
                           for i, k in enumerate(kinds)))
    elapsed = time.perf_counter() - start
    ops, total = {}, 0
    for op, rec in sorted(out.items()):
        lat = sorted(rec["lat"])
        total += len(lat)
        ops[op] = {"requests": len(lat), "rps": round(len(lat) / elapsed, 1), "errors": rec["errors"], "conflicts": rec["conflicts"],
                   "share": round(len(lat) / max(1, sum(len(r["lat"]) for r in out.values())), 3),
                   "p50_ms": round(lat[len(lat) // 2] * 1000, 1), "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
                   **({"error_sample": rec["sample"]} if rec["sample"] else {})}
    every = sorted(x for rec in out.values() for x in rec["lat"])
    return {"rps": round(total / elapsed, 1), "requests": total,
            "p50_ms": round(every[len(every) // 2] * 1000, 1), "p99_ms": round(every[int(len(every) * 0.99)] * 1000, 1), "ops": ops}


CONFLICTS = {"TICKET_CHANGED"}  # a business answer under concurrency, not a failure (see the module's docstring)
MAX_CONFLICT_SHARE = 0.05  # more of an operation's answers than this being conflicts fails the run


def outcome(status: int, doc: dict) -> str:
    """"ok", "conflict" (every error of the payload is one of CONFLICTS: two agents acted on one
    ticket at once, the answer a real client reloads on) or "error" (anything else)."""
    payload_errors = [e for v in (doc.get("data") or {}).values() if isinstance(v, dict) for e in v.get("errors") or ()]
    if status != 200 or "errors" in doc:
        return "error"
    if not payload_errors:
        return "ok"
    return "conflict" if all(e.get("code") in CONFLICTS for e in payload_errors) else "error"


# ---- counters around a run ----------------------------------------------------------------------

async def pg_counters(url: str) -> dict:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT xact_commit + xact_rollback AS xacts FROM pg_stat_database WHERE datname = current_database()")
        return dict(row)
    finally:
        await conn.close()


def redis_commands(url: str) -> dict[str, int]:
    import redis

    r = redis.Redis.from_url(url)
    try:
        return {k.removeprefix("cmdstat_"): v["calls"] for k, v in r.info("commandstats").items()}
    finally:
        r.close()


async def sample_busy(url: str, stop: asyncio.Event, role: str) -> list[int]:
    """PostgreSQL connections of the service role in a transaction, every 50 ms (each sample is
    a transaction of its own in the database's counters: `measured` subtracts them)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    seen = []
    try:
        while not stop.is_set():
            seen.append(await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = $1 "
                "AND state IN ('active', 'idle in transaction')", role))
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return seen


async def measured(port: int, tokens: dict, a, rate: float | None, admin_url: str, role: str) -> dict:
    before_pg, before_redis = await pg_counters(admin_url), redis_commands(os.environ["REDIS_URL"])
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_busy(admin_url, stop, role))
    result = await drive(port, tokens, a.concurrency, a.duration, rate)
    stop.set()
    busy = await sampler
    after_pg, after_redis = await pg_counters(admin_url), redis_commands(os.environ["REDIS_URL"])
    n = max(1, result["requests"])
    busy.sort()
    redis_by = {k: round((v - before_redis.get(k, 0)) / n, 2) for k, v in after_redis.items() if v - before_redis.get(k, 0) > 0}
    # the counters' own: every sample, and the `before` reading (PostgreSQL's statistics reach
    # pg_stat_database up to a second late: what the warm-up left unreported is counted here
    # and about as much of this run's end is not, on runs of 15 s)
    ours = len(busy) + 1
    result.update(pg_transactions_per_request=round((after_pg["xacts"] - before_pg["xacts"] - ours) / n, 2),
                  redis_commands_per_request=round(sum(redis_by.values()), 2),
                  redis_by_command=dict(sorted(redis_by.items(), key=lambda kv: -kv[1])[:6]),
                  pg_busy_mean=round(sum(busy) / max(1, len(busy)), 1), pg_busy_p99=busy[int(len(busy) * 0.99)] if busy else 0)
    return result


def run_server(workers: int, env_extra: dict, tokens_base: dict) -> tuple[subprocess.Popen, int, dict]:
    from bench.graphql_bench import free_port, start

    port = free_port()
    env = {**os.environ, **env_extra}
    proc = start([sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)], env, port)
    tokens = {**tokens_base, "app": app_token(port, tokens_base["app_client"])}
    return proc, port, tokens


def print_run(title: str, r: dict) -> None:
    print(f"\n-- {title}: {r['rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; per request: "
          f"{r['pg_transactions_per_request']} PostgreSQL transactions, {r['redis_commands_per_request']} Redis commands; "
          f"PostgreSQL connections busy: mean {r['pg_busy_mean']}, p99 {r['pg_busy_p99']} --")
    print("   Redis commands per request: " + ", ".join(f"{k} {v}" for k, v in r["redis_by_command"].items()))
    print(f"   {'operation':24} {'req/s':>8} {'share':>6} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'conflicts':>9}")
    for op, o in r["ops"].items():
        print(f"   {op:24} {o['rps']:8} {o['share']:6.1%} {o['p50_ms']:8} {o['p99_ms']:8} {o['errors']:7} {o['conflicts']:9}")
        if o.get("error_sample"):
            print(f"      first error: {o['error_sample']}")


def main():
    from app.core.serve import available_cores
    from bench.graphql_bench import prepare_env

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--pools", default="4,10,20", help="DB_POOL_MAX values of the pool-sizing runs (1 process)")
    p.add_argument("--paced", type=float, default=0.5, help="the paced run's rate, a fraction of 1-process saturation (0: none)")
    p.add_argument("--json", action="store_true", help="also print the whole report as JSON")
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))
    servers = prepare_env()
    try:
        from app.settings import get_settings

        base = asyncio.run(seed())
        base["app_client"] = base.pop("app")
        s = get_settings()
        from app.core.db import PgTarget

        role = PgTarget.parse(base["service_url"]).user
        admin_url = s.admin_url
        cores = available_cores()
        report = {"concurrency": a.concurrency, "duration_s": a.duration, "cores": cores, "runs": {}}
        print(f"== Huifang load mix: {a.concurrency} connections (dashboard/sync/agent/admin "
              f"{'/'.join(str(n) for _, n in ROLE_SHARES)} of 8), {a.duration:.0f} s a run, {cores} cores ==")
        plan = [("saturation, 1 process", 1, {}, None)]
        if cores > 1:
            plan.append((f"saturation, {cores} processes", cores, {}, None))
        for title, workers, extra, rate in plan:
            proc, port, tokens = run_server(workers, extra, base)
            try:
                asyncio.run(drive(port, tokens, a.concurrency, 3, None))  # warm up: plans, pools, caches
                r = report["runs"][title] = asyncio.run(measured(port, tokens, a, rate, admin_url, role))
                print_run(title, r)
                if workers == 1 and a.paced:
                    target = round(r["rps"] * a.paced, 1)
                    t2 = f"paced at {target} req/s ({a.paced:.0%} of 1-process saturation), 1 process"
                    r2 = report["runs"][t2] = asyncio.run(measured(port, tokens, a, target, admin_url, role))
                    print_run(t2, r2)
            finally:
                proc.terminate()
                proc.wait(30)
        for pool in [int(x) for x in a.pools.split(",") if x.strip()]:
            title = f"saturation, 1 process, DB_POOL_MAX={pool}"
            proc, port, tokens = run_server(1, {"DB_POOL_MAX": str(pool), "DB_POOL_MIN": str(min(pool, 4))}, base)
            try:
                asyncio.run(drive(port, tokens, a.concurrency, 3, None))
                r = report["runs"][title] = asyncio.run(measured(port, tokens, a, None, admin_url, role))
                print_run(title, r)
            finally:
                proc.terminate()
                proc.wait(30)
        failed = {t: {op: o["errors"] for op, o in r["ops"].items() if o["errors"]} for t, r in report["runs"].items()}
        failed = {t: f for t, f in failed.items() if f}
        # a conflict now and then is concurrency; many would be a broken lock, failing the run too
        clashing = {t: {op: f"{o['conflicts']} conflicts in {o['requests']}" for op, o in r["ops"].items()
                        if o["conflicts"] > MAX_CONFLICT_SHARE * o["requests"]} for t, r in report["runs"].items()}
        failed.update({t: f for t, f in clashing.items() if f})
        if a.json:
            print(json.dumps(report, indent=1))
        if failed:
            raise SystemExit(f"requests failed, the numbers would mean nothing: {failed}")
    finally:
        for srv in servers:
            getattr(srv, "stop", lambda: None)()


if __name__ == "__main__":
    main()
