"""SLA jobs. Thin: they call the engine (app/sla/engine.py), which is idempotent.

- `sla.check` (tenant): a deadline job, deferred to a clock's next check (5-second buckets per
  brand) once that is less than two minutes away: fires what is due (the sweep's function).
- `sla.sweep` (cron, every minute at :15): every brand with a clock due within the next two
  minutes (`sla_due_tenants()`, migration 0024: one range scan of the partial index on
  next_check_at) gets a run for what is due now (whatever a job missed: a worker down, a queue
  lost, a clock jump) and the deadline jobs of the next two minutes.
- `sla.recompute` (tenant, mode): open clocks after a policy or calendar change.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from app.core import clock, db
from app.core.jobs import cron_task, tenant_job
from app.core.tenancy import Scope
from app.sla import engine

log = logging.getLogger("huifang.sla")


@tenant_job(engine.CHECK_JOB, transactional=False, max_tries=5)
async def check(scope: Scope) -> int:
    return await engine.process_due(scope.tenant_id)


@tenant_job(engine.RECOMPUTE_JOB, transactional=False, timeout=3600, max_tries=5)
async def recompute(scope: Scope, mode: str) -> int:
    return await engine.recompute(scope.tenant_id, mode)


@cron_task("sla.sweep", second=15)  # every minute
async def sweep() -> int:
    """Every brand with something due gets a run; one brand's failure does not stop the others."""
    now = clock.now()
    rows = await db.fetch("SELECT sla_due_tenants($1)", [now + timedelta(seconds=engine.HORIZON_SECONDS)])
    total = 0
    for (tenant_id,) in rows:
        try:
            total += await engine.process_due(tenant_id, now)
            await engine.arm(tenant_id, now)
        except Exception:  # noqa: BLE001 - logged; the next brand still gets its run, this one the next minute
            log.error("SLA sweep failed for a brand", exc_info=True, extra={"sla_tenant": str(tenant_id)})
    return total
