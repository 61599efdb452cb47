"""`make bench`: the full stack vs a plain Starlette + asyncpg floor, measured in the same run.

Queries (`--query`, default both): `dealers`, authenticated `viewer` + the first page (20) of
`dealers`, brand with 200 dealers; `tickets`, a dashboard page of 50 tickets with each one's
dealer and customer (DataLoader batches), brand with 300 customers and 400 tickets.
Measured twice: both servers as one process, then both with one worker per core
(`--processes`, default: the cores this process may use; `python -m app serve --workers N`
against `uvicorn --workers N`, every worker with its own pool of 10 connections). The load
generator is a separate process (`--load-processes` of them, latencies merged) with
`--concurrency` keep-alive connections (each connecting again every 0.25 s, so that every
worker gets its share: bench/load.py). Reports rps, p50/p99, the ratio to the floor per
mode, how each scales from one process to N, SQL statements per request, the server's CPU per
request measured in process (steadier than req/s on a shared machine: what a change saves shows
there first), and a cProfile of the GraphQL path (where the time goes)."""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = ("{ viewer { roles brand { id name } } dealers(first: 20) { edges { cursor node { id code name region } } "
         "pageInfo { hasNextPage } } }")
TICKETS_QUERY = ("{ tickets(first: 50) { edges { cursor node { id number title status priority createdAt "
                 "dealer { id code name } customer { id name } } } pageInfo { hasNextPage } } }")
QUERIES = {"dealers": QUERY, "tickets": TICKETS_QUERY}
BRAND = "bench"
DEALERS = 200
CUSTOMERS = 300
TICKETS = 400


# the tickets dashboard's rows, as bench/ticket_bench.py writes them (as the admin: no events, no counters)
CUSTOMERS_SQL = """
INSERT INTO customer (id, tenant_id, dealer_id, name, tags, service_spend, referrals, churn_status, open_ticket_count,
                      search_text, search_name, created_at, updated_at)
SELECT gen_random_uuid(), $1, d.id, '客户' || i, ARRAY[]::text[], 0, 0, 'active', 0, '客户' || i, '客户' || i, now(), now()
  FROM generate_series(1, $2::int) AS i
  JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM dealer WHERE tenant_id = $1) d ON d.rn = i % 200
"""
TICKETS_SQL = """
INSERT INTO ticket (id, tenant_id, number, customer_id, dealer_id, status, round, version, source, severity, priority, tags,
                    title, episode, brand_flagged, brand_owned, created_by, created_at, updated_at)
SELECT gen_random_uuid(), $1, 'T-B-' || lpad(i::text, 8, '0'), c.id, c.dealer_id,
       (ARRAY['assigned','contacted','resolved','closed','new'])[1 + i % 5], 1, 1, 'hotline', 'medium',
       (ARRAY['low','normal','high','urgent'])[1 + i % 4], '[]'::jsonb, 'bench ticket ' || i, '', false, false, 'system',
       now() - (i || ' minutes')::interval, now()
  FROM generate_series(1, $2::int) AS i
  JOIN (SELECT id, dealer_id, row_number() OVER (ORDER BY id) - 1 AS rn FROM customer WHERE tenant_id = $1) c ON c.rn = i % 300
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_env() -> list:
    """Servers (embedded unless DATABASE_URL/REDIS_URL), a bench database, signing keys."""
    from app.core.auth.keys import generate_key
    from app.core.db import PgTarget

    servers = []
    name = os.environ.get("BENCH_DATABASE", "huifang_bench")  # engineers sharing a server each take their own
    data = ROOT / ".data"
    data.mkdir(exist_ok=True)
    if os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = PgTarget.parse(os.environ["DATABASE_URL"]).with_(database=name).url()
        if os.environ.get("DATABASE_ADMIN_URL"):
            os.environ["DATABASE_ADMIN_URL"] = PgTarget.parse(os.environ["DATABASE_ADMIN_URL"]).with_(database=name).url()
    else:
        from app.core.embedded import start_postgres

        pg, url = start_postgres(data / "test-pg", name)
        servers.append(pg)
        os.environ["DATABASE_URL"] = url
    if not os.environ.get("REDIS_URL"):
        from app.core.embedded import start_valkey

        vk, rurl = start_valkey(data / "bench-valkey", port=free_port())
        servers.append(vk)
        os.environ["REDIS_URL"] = rurl
    keys = data / "bench-jwks.json"
    if not keys.exists():
        keys.write_text(json.dumps({"keys": [generate_key()]}))
    # one token drives the load: its cost bucket is made bottomless (the throttle's Redis calls are still measured)
    # JWT_ISSUER: `serve --port` moves the default issuer with the port, and the token is minted here
    os.environ.update(JWT_KEYS_FILE=str(keys), ENV="test", LOG_LEVEL="WARNING", DB_POOL_MIN="10", DB_POOL_MAX="10",
                      JWT_ISSUER="https://huifang.bench",
                      GRAPHQL_COST_BUCKET_SIZE="1000000000")
    from app.settings import get_settings

    get_settings.cache_clear()
    return servers


async def seed() -> tuple[str, str]:
    from app.cli import brand_id_by_slug  # noqa: F401
    from app.core import db
    from app.core.auth.tokens import mint_access_token
    from app.core.db import PgTarget
    from app.core.setup import setup
    from app.settings import get_settings
    from app.tenant.models import Dealer, User
    from app.tenant.provision import provision_brand

    s = get_settings()
    await setup(s.admin_url, s.database_url, s.app_db_role)
    target = await db.service_target(s.database_url, s.app_db_role)
    conn = await PgTarget.parse(s.admin_url).connect()
    tid = await conn.fetchval("SELECT id FROM brand WHERE slug = $1", BRAND)
    await conn.close()
    await db.init_orm(target, minsize=1, maxsize=2)
    if tid is None:
        brand, _ = await provision_brand(BRAND, "Bench Brand", f"admin@{BRAND}.example")
        tid = brand.id
        async with db.tenant_transaction(tid):
            await Dealer.bulk_create([Dealer(tenant_id=tid, code=f"B-{i:04d}", name=f"Dealer {i:04d}", region=f"r{i % 7}") for i in range(DEALERS)])
    conn = await PgTarget.parse(s.admin_url).connect()
    try:
        if not await conn.fetchval("SELECT count(*) FROM customer WHERE tenant_id = $1", tid):
            await conn.execute(CUSTOMERS_SQL, tid, CUSTOMERS)
        if not await conn.fetchval("SELECT count(*) FROM ticket WHERE tenant_id = $1", tid):
            await conn.execute(TICKETS_SQL, tid, TICKETS)
    finally:
        await conn.close()
    async with db.tenant_transaction(tid):
        user = await User.get(tenant_id=tid, email=f"admin@{BRAND}.example")
    await db.close_orm()
    return mint_access_token(tenant_id=tid, subject=str(user.id), ttl_seconds=3600), target.url()


def start(cmd: list[str], env: dict, port: int) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(150):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.2)
    raise RuntimeError(f"{cmd} did not start")


def load(port: int, token: str, concurrency: int, duration: float, processes: int = 1, query: str = QUERY) -> dict:
    """`processes` load generators sharing `concurrency` connections; latencies merged."""
    body = json.dumps({"query": query})
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "bench.load", "--url", f"http://127.0.0.1:{port}/graphql", "--token", token,
         "--body", body, "--concurrency", str(n), "--duration", str(duration), "--raw"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in shares if n]
    parts = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"bench.load failed: {err}")
        parts.append(json.loads(out))
    lat = sorted(x for part in parts for x in part["latencies_ms"])

    def pct(p):
        return round(lat[min(len(lat) - 1, int(len(lat) * p))], 2) if lat else None

    return {"requests": len(lat), "errors": sum(part["errors"] for part in parts),
            "rps": round(sum(part["rps"] for part in parts), 1), "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99)}


def measure(processes: int, token: str, service_url: str, a, query: str = QUERY) -> dict:
    """Both servers with `processes` workers each, warmed up, then `a.rounds` rounds."""
    import httpx

    env = dict(os.environ)
    app_port, floor_port = free_port(), free_port()
    app_proc = start([sys.executable, "-m", "app", "serve", "--port", str(app_port), "--workers", str(processes)], env, app_port)
    floor_proc = start([sys.executable, "-m", "uvicorn", "bench.floor:app", "--port", str(floor_port), "--no-access-log",
                        "--log-level", "warning", "--workers", str(processes)], {**env, "FLOOR_DATABASE_URL": service_url}, floor_port)
    answers = []
    try:
        for port in (floor_port, app_port):  # a wrong answer must not pass for a fast one
            r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
            if r.status_code != 200 or "errors" in r.json():
                raise RuntimeError(f"port {port} answers {r.status_code}: {r.text[:500]}")
            answers.append(r.json()["data"])
        if answers[0] != answers[1]:  # the floor does the same work: the same answer
            raise RuntimeError(f"the floor and huifang answer differently:\n{answers[0]}\n{answers[1]}")
        load(floor_port, token, a.concurrency, 3, a.load_processes, query)  # warm up both (every worker, every pool)
        load(app_port, token, a.concurrency, 3, a.load_processes, query)
        rounds = []
        for _ in range(a.rounds):
            rounds.append({"floor": load(floor_port, token, a.concurrency, a.duration, a.load_processes, query),
                           "huifang": load(app_port, token, a.concurrency, a.duration, a.load_processes, query)})
    finally:
        for proc in (app_proc, floor_proc):
            proc.terminate()
            proc.wait(30)
    failed = [(name, r[name]["errors"]) for r in rounds for name in r if r[name]["errors"]]
    if failed:
        raise RuntimeError(f"{processes} process(es): requests failed, the numbers would mean nothing: {failed}")
    best = max((r["huifang"] for r in rounds), key=lambda r: r["rps"])
    floor = max((r["floor"] for r in rounds), key=lambda r: r["rps"])
    return {"processes": processes, "rounds": rounds, "huifang_best": best, "floor_best": floor,
            "throughput_ratio": round(best["rps"] / floor["rps"], 3)}


async def statements_and_profile(token: str, n: int, query: str = QUERY) -> tuple[int, list[str], str, float, int]:
    """In-process, the app started as the server starts it (its lifespan) on the server's event
    loop: SQL statements of one request, the server's CPU per request (ms, best of 3 rounds of n
    sequential requests), a cProfile of n requests, and the Python function calls per request it
    counted (nearly the same for the same code whatever the machine's load, the
    event loop's share aside: a small change shows there when the machine's drift hides it in
    the CPU time)."""
    from app.main import create_app
    from tests.asgi_call import post_graphql
    from tests.querycount import count_queries

    app = create_app()
    body = json.dumps({"query": query}).encode()

    async def one():
        await post_graphql(app, token, body)

    # the server's startup: pools, the cost throttle's Redis (its calls are part of the path),
    # the collector's settings (GC_FREEZE, GC_YOUNG_THRESHOLD)
    async with app.router.lifespan_context(app):
        await one()
        with count_queries() as c:
            await one()
        cpu = []
        for _ in range(3):  # this process's CPU per request (PostgreSQL's and Redis's are theirs): steadier than req/s
            c0 = time.process_time()
            for _ in range(n):
                await one()
            cpu.append((time.process_time() - c0) / n * 1000)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            await one()
        prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(25)
    return c.count, c.statements, buf.getvalue(), round(min(cpu), 3), stats.total_calls // n


def server_loop():
    """The event loop the server runs on (uvicorn's `loop="auto"`: uvloop when installed), for
    the in-process measurement."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main():
    from app.core.serve import available_cores

    p = argparse.ArgumentParser()
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--processes", type=int, default=available_cores(), help="workers of the all-cores run (default: the cores)")
    p.add_argument("--load-processes", type=int, default=1, help="load generator processes")
    p.add_argument("--profile-requests", type=int, default=300)
    p.add_argument("--query", choices=[*QUERIES, "all"], default="all")
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))
    names = list(QUERIES) if a.query == "all" else [a.query]
    servers = prepare_env()
    results = {}
    try:
        token, service_url = asyncio.run(seed())
        for name in names:
            modes = [measure(n, token, service_url, a, QUERIES[name]) for n in sorted({1, max(1, a.processes)})]
            with asyncio.Runner(loop_factory=server_loop()) as runner:
                results[name] = (modes, *runner.run(statements_and_profile(token, a.profile_requests, QUERIES[name])))
    finally:
        for srv in servers:
            getattr(srv, "stop", lambda: None)()

    report = {"concurrency": a.concurrency, "duration_s": a.duration, "cores": available_cores(), "load_processes": a.load_processes,
              "queries": {}}
    for name, (modes, n_sql, sql, profile, cpu_ms, calls) in results.items():
        # the tenant transaction's BEGIN carries set_config (one round trip); COMMIT ends it
        report["queries"][name] = {"query": QUERIES[name], "modes": modes, "sql_statements_per_request": n_sql + 2,
                                   "cpu_ms_per_request": cpu_ms, "python_calls_per_request": calls,
                                   "sql": ["BEGIN; SELECT set_config(...)", *sql, "COMMIT"]}
        print(f"\n== Huifang GraphQL benchmark: {name} ({a.concurrency} connections, {a.load_processes} load process(es), "
              f"{available_cores()} cores) ==\n{QUERIES[name]}")
        for m in modes:
            print(f"\n-- {m['processes']} process(es) each --")
            for i, r in enumerate(m["rounds"], 1):
                for who in ("floor", "huifang"):
                    x = r[who]
                    print(f"round {i} {who:8s} {x['rps']:8.1f} req/s  p50 {x['p50_ms']:6.2f} ms  p99 {x['p99_ms']:6.2f} ms  errors {x['errors']}")
            print(f"throughput ratio huifang/floor: {m['throughput_ratio']:.2f}  (goal >= 0.60)")
            print(f"huifang p99: {m['huifang_best']['p99_ms']} ms  (goal < 25 ms)   floor p99: {m['floor_best']['p99_ms']} ms")
        if len(modes) > 1:
            one, many = modes[0], modes[-1]
            print(f"\nscaling 1 -> {many['processes']} processes: huifang x{many['huifang_best']['rps'] / one['huifang_best']['rps']:.2f}, "
                  f"floor x{many['floor_best']['rps'] / one['floor_best']['rps']:.2f} (the load generator and PostgreSQL share the same cores)")
        else:
            print("\n(one core: the all-cores run is the one-process run)")
        print(f"SQL round trips per request: {n_sql + 2} (BEGIN + set_config, {', '.join(q.split()[0] + '…' for q in sql)}, COMMIT)")
        print(f"server CPU per request (in process, sequential, best of 3 x {a.profile_requests}): {cpu_ms} ms; "
              f"Python calls per request: {calls:,} (nearly the same across runs: compare small changes here)")
        print("\n== where the time goes (cProfile, tottime, %d in-process requests) ==" % a.profile_requests)
        print("\n".join(profile.splitlines()[:45]))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"graphql-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
