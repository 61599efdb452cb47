"""Tenancy rules: who may manage dealers, what a valid dealer is, brand provisioning."""
from __future__ import annotations

import re
import uuid
from functools import lru_cache
from zoneinfo import available_timezones

from app.core import jobs
from app.core.errors import AppError, InputErrors, NotFound, ValidationFailed
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.tenant import repository as repo
from app.tenant.models import Dealer

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
RECOUNT_JOB = "tenant.recount_dealer_customers"


@lru_cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_dealer_fields(values: dict) -> None:
    errors: list[AppError] = []
    if "code" in values and not CODE_RE.match(values["code"] or ""):
        errors.append(ValidationFailed("Code: 1-32 letters, digits, '.', '_' or '-'.", field="code", code="INVALID"))
    for name, limit in (("name", 200), ("region", 64), ("city", 100)):
        if name in values and values[name] is not None:
            v = values[name].strip()
            values[name] = v
            if not v or len(v) > limit:
                errors.append(ValidationFailed(f"{name.capitalize()} must be 1-{limit} characters.", field=name, code="INVALID"))
    if "time_zone" in values and values["time_zone"] not in _zones():
        errors.append(ValidationFailed("Unknown IANA time zone.", field="timeZone", code="INVALID_TIME_ZONE"))
    if errors:
        raise InputErrors(errors)


async def create_dealer(scope: Scope, *, code: str, name: str, region: str, time_zone: str = "Asia/Shanghai", city: str | None = None) -> Dealer:
    scope.require(Perm.ADMIN)
    values = {"code": code, "name": name, "region": region, "time_zone": time_zone, "city": city}
    _check_dealer_fields(values)
    return await repo.create_dealer(scope, **values)


async def get_dealer(scope: Scope, dealer_id: uuid.UUID):
    dealer = (await repo.dealers_by_ids(scope, [dealer_id])).get(dealer_id)
    if dealer is None:
        raise NotFound("No such dealer.", field="id")
    return dealer


async def update_dealer(scope: Scope, dealer_id: uuid.UUID, **changes) -> Dealer:
    scope.require(Perm.ADMIN)
    dealer = await repo.dealer_for_update(scope, dealer_id)
    if dealer is None:
        raise NotFound("No such dealer.", field="id")
    changes = {k: v for k, v in changes.items() if v is not None}
    _check_dealer_fields(changes)
    for k, v in changes.items():
        setattr(dealer, k, v)
    if changes:
        await repo.save_dealer(scope, dealer, list(changes))
    return dealer


async def request_customer_recount(scope: Scope, dealer_id: uuid.UUID) -> Dealer:
    """Queue the recount; the job runs after this transaction commits. Duplicate requests
    for the same dealer collapse into one queued job."""
    scope.require(Perm.ADMIN)
    dealer = await get_dealer(scope, dealer_id)
    jobs.enqueue(RECOUNT_JOB, scope.tenant_id, dealer.id, job_id=f"recount:{scope.tenant_id}:{dealer.id}")
    return dealer


async def recount_dealer_customers(scope: Scope, dealer_id: str) -> int | None:
    return await repo.recount_customers(scope, uuid.UUID(dealer_id))
