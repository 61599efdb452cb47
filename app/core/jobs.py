"""The one jobs module: arq stays behind it (arq is in maintenance mode; swapping it out should
touch this file only).

- `enqueue(...)` only buffers, inside a tenant transaction; the buffer is sent after COMMIT and
  dropped on ROLLBACK.
- `@tenant_job` functions take ids only and run inside the tenant transaction of the tenant they
  were enqueued for, with a system actor scope. They must be idempotent.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Function
from arq.worker import func as arq_func

from app.core import db
from app.core.logging import request_id_var

log = logging.getLogger(__name__)

REGISTRY: dict[str, Function] = {}
# name -> arq cron keyword arguments; a fan-out cron enqueues the job once per tenant
PERIODIC: dict[str, dict] = {}
_pool: ArqRedis | None = None
_queue_name: str = "huifang:queue"


@dataclass(frozen=True)
class PendingJob:
    name: str
    tenant_id: str
    args: tuple
    job_id: str | None
    defer_by: float | None


def tenant_job(name: str, *, max_tries: int = 5, timeout: int = 300, transactional: bool = True):
    """Register `fn(scope, *ids)` as job `name`, run in the tenant's RLS transaction.
    `transactional=False`: the job opens its own tenant transactions (long jobs committing in
    batches, such as imports), still with the tenant's system scope."""

    def deco(fn: Callable[..., Awaitable[Any]]):
        async def run(ctx: dict, tenant_id: str, *args: Any) -> Any:
            from app.core.tenancy import Actor, scope_for

            tid = uuid.UUID(tenant_id)
            token = request_id_var.set(f"job:{ctx.get('job_id', '-')}")
            from app.settings import get_settings

            t_timeout = db.statement_timeout_ms.set(get_settings().job_statement_timeout_ms)
            try:
                if not transactional:
                    return await fn(scope_for(Actor.system(tid)), *args)
                async with db.tenant_transaction(tid):
                    return await fn(scope_for(Actor.system(tid)), *args)
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
    _pool = await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=queue_name)
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
        await p.enqueue_job(job.name, job.tenant_id, *job.args, _job_id=job.job_id, _queue_name=_queue_name, _defer_by=job.defer_by)
        log.info("job enqueued", extra={"job": job.name, "job_id": job.job_id, "job_tenant": job.tenant_id})


def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url)


def load_task_modules() -> None:
    """Import every `app/<domain>/tasks.py` so their jobs register."""
    import importlib
    import pkgutil

    import app

    for mod in pkgutil.iter_modules(app.__path__):
        if mod.ispkg:
            try:
                importlib.import_module(f"app.{mod.name}.tasks")
            except ModuleNotFoundError as e:
                if e.name != f"app.{mod.name}.tasks":
                    raise
