"""Customer-archive jobs. Thin: they call the service."""
from __future__ import annotations

from app.core.jobs import tenant_job
from app.core.tenancy import Scope
from app.customer import service


@tenant_job(service.TIER_JOB)
async def recompute_tiers(scope: Scope, customer_id: str = "") -> int:
    return await service.recompute_tiers(scope, customer_id)


@tenant_job("customer.import", transactional=False, timeout=3600, max_tries=3)
async def run_import(scope: Scope, import_id: str) -> str:
    """Commits batch by batch (progress is visible while it runs); safe to run twice."""
    from app.core import imports

    return await imports.run_import(scope, import_id)
