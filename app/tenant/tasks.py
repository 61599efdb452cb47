"""Tenancy jobs. Thin: they call the service."""
from __future__ import annotations

from app.core.jobs import tenant_job
from app.core.tenancy import Scope
from app.tenant import service


@tenant_job(service.RECOUNT_JOB)
async def recount_dealer_customers(scope: Scope, dealer_id: str) -> int | None:
    """Idempotent: sets the count from the customer table, whatever it was."""
    return await service.recount_dealer_customers(scope, dealer_id)
