"""arq worker: job functions gathered from `app/*/tasks.py`.

Run with `python -m workers` (or `arq workers.WorkerSettings`). SIGTERM/SIGINT let running jobs
finish (up to 30 s, `job_completion_wait`) before the process exits. Cron schedules are UTC."""
from __future__ import annotations

import logging

from app.core import db, jobs
from app.settings import get_settings

log = logging.getLogger("huifang.worker")
jobs.load_task_modules()


async def startup(ctx: dict) -> None:
    settings = get_settings()
    target = await db.service_target(settings.database_url, settings.app_db_role)
    await db.init_orm(target, minsize=1, maxsize=settings.db_pool_max)
    await jobs.init(settings.redis_url, settings.queue_name)  # jobs may enqueue jobs
    log.info("worker started", extra={"functions": sorted(jobs.REGISTRY), "db_user": target.user})


async def shutdown(ctx: dict) -> None:
    await jobs.close()
    await db.close_orm()
    log.info("worker stopped")


def worker_settings(**overrides):
    settings = get_settings()
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL must be set")
    attrs = dict(
        functions=list(jobs.REGISTRY.values()),
        cron_jobs=jobs.cron_jobs(),
        redis_settings=jobs.redis_settings(settings.redis_url),
        queue_name=settings.queue_name,
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=20,
        job_timeout=300,
        keep_result=3600,
        health_check_interval=30,
        job_completion_wait=30,
        timezone=__import__("datetime").timezone.utc,  # cron schedules are UTC
    )
    attrs.update(overrides)
    return type("WorkerSettings", (), attrs)


class _Lazy(type):
    def __getattr__(cls, name):  # arq reads class attributes of WorkerSettings
        return getattr(worker_settings(), name)


class WorkerSettings(metaclass=_Lazy):
    """`arq workers.WorkerSettings` entry point (settings read from the environment on use)."""
