"""Customer-archive jobs. Thin: they call the service."""
from __future__ import annotations

from app.core.jobs import tenant_job
from app.core.tenancy import Scope
from app.customer import service


@tenant_job(service.TIER_JOB)
async def recompute_tiers(scope: Scope, customer_id: str = "") -> int:
    return await service.recompute_tiers(scope, customer_id)
