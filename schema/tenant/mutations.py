from __future__ import annotations

from typing import Awaitable, Callable

import strawberry

from app.core.errors import AppError
from app.tenant import service
from schema.errors import UserError, user_errors
from schema.permissions import describe, needs
from schema.relay import decode
from app.core.permissions import Perm
from schema.tenant.types import Dealer


@strawberry.type
class DealerPayload:
    dealer: Dealer | None
    errors: list[UserError]


@strawberry.input
class DealerCreateInput:
    code: str
    name: str
    region: str
    time_zone: str = "Asia/Shanghai"
    city: str | None = None


@strawberry.input
class DealerUpdateInput:
    id: strawberry.ID
    code: str | None = None
    name: str | None = None
    region: str | None = None
    time_zone: str | None = None
    city: str | None = None


@strawberry.input
class DealerRecountCustomersInput:
    id: strawberry.ID


async def run_dealer(info: strawberry.Info, op: Callable[[], Awaitable]) -> DealerPayload:
    """Business errors go in the payload and roll the operation's transaction back."""
    try:
        row = await op()
    except AppError as e:
        info.context.rollback = True
        return DealerPayload(dealer=None, errors=user_errors(e))
    return DealerPayload(dealer=Dealer.from_row(row), errors=[])


@strawberry.type
class TenantMutation:
    @strawberry.mutation(description=describe(Perm.ADMIN, "Create a dealer."), permission_classes=needs(Perm.ADMIN))
    async def dealer_create(self, info: strawberry.Info, input: DealerCreateInput) -> DealerPayload:
        return await run_dealer(info, lambda: service.create_dealer(
            info.context.scope, code=input.code, name=input.name, region=input.region,
            time_zone=input.time_zone, city=input.city))

    @strawberry.mutation(description=describe(Perm.ADMIN, "Update a dealer; omitted fields stay as they are."), permission_classes=needs(Perm.ADMIN))
    async def dealer_update(self, info: strawberry.Info, input: DealerUpdateInput) -> DealerPayload:
        async def op():
            _, pk = decode(input.id, "Dealer")
            return await service.update_dealer(
                info.context.scope, pk, code=input.code, name=input.name, region=input.region,
                time_zone=input.time_zone, city=input.city)

        return await run_dealer(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Queue a recount of the dealer's customers (a background job, after commit)."), permission_classes=needs(Perm.ADMIN))
    async def dealer_recount_customers(self, info: strawberry.Info, input: DealerRecountCustomersInput) -> DealerPayload:
        async def op():
            _, pk = decode(input.id, "Dealer")
            return await service.request_customer_recount(info.context.scope, pk)

        return await run_dealer(info, op)
