"""The one jobs module: arq stays behind it (arq is in maintenance mode; swapping it out should
touch this file only).

- `enqueue(...)` only buffers, inside a tenant transaction. The buffer is written to the
  `job_outbox` table in that transaction (so COMMIT keeps the jobs with the work and ROLLBACK
  drops both), relayed to the queue after COMMIT, and each outbox row is deleted by the job when
  it runs. If the relay fails (Redis down), the caller still gets its answer: the worker's
  sweep (`relay_outbox`, every minute) relays rows overdue by RELAY_AFTER_SECONDS again.
- `@tenant_job` functions take ids only and run inside the tenant transaction of the tenant they
  were enqueued for, with a system actor scope. They must be idempotent.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable

from arq.connections import ArqRedis, RedisSettings
from arq.worker import Function
from arq.worker import func as arq_func

from app.core import db
from app.core.logging import request_id_var

log = logging.getLogger(__name__)

REGISTRY: dict[str, Function] = {}
# name -> arq cron keyword arguments; a fan-out cron enqueues the job once per tenant
PERIODIC: dict[str, dict] = {}
CRONS: dict[str, tuple[Callable[[], Awaitable[Any]], dict]] = {}  # platform crons (not per tenant)
_pool: ArqRedis | None = None
_queue_name: str = "huifang:queue"


@dataclass(frozen=True)
class PendingJob:
    name: str
    tenant_id: str
    args: tuple
    job_id: str | None
    defer_by: float | None
    outbox_id: uuid.UUID | None = None


RELAY_AFTER_SECONDS = 60  # an outbox row this overdue was not relayed, or its job was dropped
MAX_RELAYS = 10  # then it stays for an operator (logged as an error), never relayed in a loop


def tenant_job(name: str, *, max_tries: int = 5, timeout: int = 300, transactional: bool = True):
    """Register `fn(scope, *ids)` as job `name`, run in the tenant's RLS transaction.
    `transactional=False`: the job opens its own tenant transactions (long jobs committing in
    batches, such as imports), still with the tenant's system scope."""

    def deco(fn: Callable[..., Awaitable[Any]]):
        async def run(ctx: dict, tenant_id: str, *args: Any, outbox: str | None = None) -> Any:
            from app.core.tenancy import Actor, scope_for

            tid = uuid.UUID(tenant_id)
            token = request_id_var.set(f"job:{ctx.get('job_id', '-')}")
            from app.settings import get_settings

            t_timeout = db.statement_timeout_ms.set(get_settings().job_statement_timeout_ms)
            try:
                if not transactional:
                    result = await fn(scope_for(Actor.system(tid)), *args)
                    if outbox:
                        async with db.tenant_transaction(tid):
                            await _done(tid, outbox, ctx.get("job_id"))
                    return result
                async with db.tenant_transaction(tid):
                    result = await fn(scope_for(Actor.system(tid)), *args)
                    if outbox:
                        await _done(tid, outbox, ctx.get("job_id"))  # with the job's own work
                    return result
            finally:
                db.statement_timeout_ms.reset(t_timeout)
                request_id_var.reset(token)

        run.__name__ = run.__qualname__ = name
        if name in REGISTRY:
            raise RuntimeError(f"job {name} registered twice")
        # keep_result=0: a job id only deduplicates while the job is queued or running; a kept
        # result would make arq refuse the same id (e.g. the next recount) for an hour
        REGISTRY[name] = arq_func(run, name=name, max_tries=max_tries, timeout=timeout, keep_result=0)
        fn.job_name = name  # type: ignore[attr-defined]
        return fn

    return deco


def periodic(name: str, **schedule):
    """Register a tenant job that runs on a schedule (arq cron arguments: hour, minute, ...),
    once per tenant: a fan-out cron lists the tenants and enqueues `name` for each, with a job
    id per tenant and run, so a duplicated fan-out enqueues nothing twice."""

    def deco(fn):
        decorated = tenant_job(name)(fn)
        PERIODIC[name] = schedule
        return decorated

    return deco


def cron_task(name: str, **schedule):
    """Register a platform cron `fn()` (not per tenant: it finds its brands itself), e.g. the
    events sweep. arq cron arguments (second, minute, ...), UTC."""

    def deco(fn):
        if name in CRONS:
            raise RuntimeError(f"cron {name} registered twice")
        CRONS[name] = (fn, schedule)
        return fn

    return deco


async def fan_out(name: str, run_key: str) -> int:
    """Enqueue periodic job `name` for every tenant (ids from the tenant_ids() function)."""
    _, rows = await db.conn().execute_query("SELECT tenant_ids() AS id")
    p = pool()
    for r in rows:
        await p.enqueue_job(name, str(r["id"]), _job_id=f"{name}:{r['id']}:{run_key}", _queue_name=_queue_name)
    log.info("periodic job fanned out", extra={"job": name, "tenants": len(rows)})
    return len(rows)


def cron_jobs():
    from arq.cron import cron

    jobs_ = []
    for name, schedule in PERIODIC.items():
        async def run(ctx, _name=name):
            from app.core import clock

            return await fan_out(_name, clock.now().strftime("%Y%m%d%H%M"))

        run.__qualname__ = f"fanout:{name}"
        jobs_.append(cron(run, name=f"fanout:{name}", unique=True, **schedule))

    for name, (fn, schedule) in CRONS.items():
        async def run_cron(ctx, _fn=fn):
            return await _fn()

        run_cron.__qualname__ = name
        jobs_.append(cron(run_cron, name=name, unique=True, **schedule))

    async def sweep(ctx):
        return await relay_outbox()

    sweep.__qualname__ = "outbox:relay"
    jobs_.append(cron(sweep, name="outbox:relay", unique=True, second=30))  # every minute
    return jobs_


def enqueue(name: str, tenant_id: uuid.UUID, *args: Any, job_id: str | None = None, defer_by: float | None = None) -> None:
    """Buffer a job; it is sent when the surrounding tenant transaction commits."""
    buffer = db.pending_jobs()
    if buffer is None:
        raise RuntimeError("enqueue() must be called inside tenant_transaction()")
    if name not in REGISTRY:
        load_task_modules()
        if name not in REGISTRY:
            raise KeyError(f"unknown job {name}")
    buffer.append(PendingJob(name, str(tenant_id), tuple(str(a) if isinstance(a, uuid.UUID) else a for a in args), job_id, defer_by))


async def init(redis_url: str, queue_name: str) -> ArqRedis:
    global _pool, _queue_name
    _queue_name = queue_name
    # arq's own create_pool would take redis-py's unbounded pool: the same bounded one as the
    # request path's client instead (app.core.redisconn)
    from app.core.redisconn import bounded_pool

    _pool = ArqRedis(bounded_pool(redis_url), default_queue_name=queue_name)
    await _pool.ping()  # fail at startup, as create_pool does
    return _pool


async def close() -> None:
    global _pool
    if _pool is not None:
        await _pool.aclose()
        _pool = None


def pool() -> ArqRedis:
    if _pool is None:
        raise RuntimeError("jobs.init() has not run")
    return _pool


async def send(jobs: list[PendingJob]) -> None:
    p = pool()
    for job in jobs:
        extra = {"outbox": str(job.outbox_id)} if job.outbox_id else {}
        job_id = job.job_id or (f"outbox:{job.outbox_id}" if job.outbox_id else None)
        await p.enqueue_job(job.name, job.tenant_id, *job.args, _job_id=job_id, _queue_name=_queue_name, _defer_by=job.defer_by, **extra)
        log.info("job enqueued", extra={"job": job.name, "job_id": job_id, "job_tenant": job.tenant_id})


async def write_outbox(conn, tenant_id: uuid.UUID, buffer: list[PendingJob]) -> None:
    """Inside the tenant transaction, before COMMIT: one INSERT for all of its jobs. Each
    buffered job gets its outbox id (the buffer is updated in place)."""
    import orjson

    from app.core.ids import uuid7

    for i, job in enumerate(buffer):
        buffer[i] = replace(job, outbox_id=uuid7())
    await conn.execute_query(
        "INSERT INTO job_outbox (id, tenant_id, name, args, job_id, run_at, relays, created_at) "
        "SELECT u.id, $1, u.name, u.args::jsonb, u.job_id, now() + make_interval(secs => u.defer), 0, now() "
        "FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[]) AS u(id, name, args, job_id, defer)",
        [tenant_id, [j.outbox_id for j in buffer], [j.name for j in buffer], [orjson.dumps(list(j.args)).decode() for j in buffer],
         [j.job_id for j in buffer], [float(j.defer_by or 0) for j in buffer]])


async def relay(buffer: list[PendingJob]) -> None:
    """After COMMIT. A failure here loses nothing: the rows are in the outbox for the sweep."""
    try:
        await send(buffer)
    except Exception:  # noqa: BLE001 - Redis down or unreachable: the sweep relays them later
        log.warning("relay after commit failed; the jobs wait in the outbox", exc_info=True,
                    extra={"jobs": [j.name for j in buffer]})


async def _done(tenant_id: uuid.UUID, outbox: str, job_id: str | None) -> None:
    """The job ran: its outbox row goes, and so do older rows of the same job id (arq collapsed
    them into this run, which started after they were committed)."""
    await db.fetch("DELETE FROM job_outbox WHERE tenant_id = $1 AND (id = $2 OR (job_id = $3 AND id < $2))",
                   [tenant_id, uuid.UUID(outbox), job_id])


async def relay_outbox(overdue_seconds: float = RELAY_AFTER_SECONDS, batch: int = 500,
                       tenants: list[uuid.UUID] | None = None) -> int:
    """The sweep: relay again every outbox row overdue by `overdue_seconds` (its relay failed,
    or the queue dropped it). Brands come from outbox_tenants() (migration 0016), or `tenants`;
    each brand's rows are read in its own RLS transaction. Returns how many jobs were relayed."""
    import orjson

    if tenants is not None:
        rows = [(t,) for t in tenants]
    else:
        rows = await db.fetch("SELECT outbox_tenants(make_interval(secs => $1))", [float(overdue_seconds)])
    total = 0
    for (tenant_id,) in rows:
        async with db.tenant_transaction(tenant_id):
            due = await db.fetch(
                # (a WITH first: Tortoise drops the rows of a statement that starts with UPDATE)
                "WITH due AS (SELECT id FROM job_outbox WHERE tenant_id = $1 AND run_at < now() - make_interval(secs => $2)"
                " AND relays < $3 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) "
                "UPDATE job_outbox o SET relays = o.relays + 1 FROM due WHERE o.tenant_id = $1 AND o.id = due.id "
                "RETURNING o.id, o.name, o.args, o.job_id, o.relays",
                [tenant_id, float(overdue_seconds), MAX_RELAYS, batch])
        pending = [PendingJob(r[1], str(tenant_id), tuple(orjson.loads(r[2]) if isinstance(r[2], (str, bytes)) else r[2]), r[3], None, r[0])
                   for r in due]
        for r in due:
            if r[4] >= MAX_RELAYS:
                log.error("outbox job relayed %d times without running; left for an operator", r[4],
                          extra={"job": r[1], "job_tenant": str(tenant_id), "outbox": str(r[0])})
        await send(pending)
        total += len(pending)
    if total:
        log.info("outbox relayed", extra={"jobs": total, "tenants": len(rows)})
    return total


def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url)


def load_task_modules() -> None:
    """Import the `tasks` (and `events`) module of every domain in app.domains.DOMAINS, so their
    jobs and event handlers register."""
    import importlib

    from app.domains import app_modules

    importlib.import_module("app.core.events")  # the platform's own jobs (the event relay)
    for name in (*app_modules("tasks"), *app_modules("events")):
        importlib.import_module(name)


db.JobHooks.before_commit = write_outbox
db.JobHooks.after_commit = relay
