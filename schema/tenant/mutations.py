from __future__ import annotations

from typing import Awaitable, Callable

import strawberry

from app.core.permissions import Perm
from app.core.permissions import Role as RoleEnum
from app.tenant import errors as tenant_errors
from app.tenant import service
from schema.errors import domain_errors, run_mutation
from schema.permissions import describe, needs
from schema.relay import decode
from schema.tenant.types import Dealer, Role, User

TenantError = domain_errors("Tenant", tenant_errors, "dealer or staff")


@strawberry.type
class DealerPayload:
    dealer: Dealer | None
    errors: list[TenantError]


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


def run_dealer(info: strawberry.Info, op: Callable[[], Awaitable]):
    return run_mutation(info, op, lambda row: DealerPayload(dealer=Dealer.from_row(row), errors=[]),
                        lambda errors: DealerPayload(dealer=None, errors=errors), TenantError)


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



@strawberry.input
class MembershipInput:
    role: Role
    dealer_id: strawberry.ID | None = strawberry.field(default=None, description="Required for dealer roles.")
    regions: list[str] | None = strawberry.field(default=None, description="Required for regional managers.")


@strawberry.input
class UserCreateInput:
    email: str
    display_name: str
    memberships: list[MembershipInput]


@strawberry.input
class UserUpdateInput:
    id: strawberry.ID
    display_name: str | None = None
    is_active: bool | None = strawberry.field(default=None, description="False: the user's tokens stop working at once.")
    memberships: list[MembershipInput] | None = strawberry.field(default=None, description="Replaces every role.")


@strawberry.type
class UserPayload:
    user: User | None
    errors: list[TenantError]


def _grants(items: list[MembershipInput] | None):
    if items is None:
        return None
    from app.core.tenancy import Membership

    return [Membership(RoleEnum(m.role.value), decode(m.dealer_id, "Dealer")[1] if m.dealer_id else None,
                       frozenset(r.strip() for r in (m.regions or []) if r.strip())) for m in items]


def run_user(info: strawberry.Info, op):
    return run_mutation(info, op, lambda row: UserPayload(user=User.from_row(row), errors=[]),
                        lambda errors: UserPayload(user=None, errors=errors), TenantError)


@strawberry.type
class UserMutation:
    @strawberry.mutation(description=describe(Perm.ADMIN, "Add a staff member with roles (set the login password with the CLI)."),
                         permission_classes=needs(Perm.ADMIN))
    async def user_create(self, info: strawberry.Info, input: UserCreateInput) -> UserPayload:
        async def op():
            return await service.create_user(info.context.scope, email=input.email, display_name=input.display_name,
                                             grants=_grants(input.memberships))

        return await run_user(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Change a staff member's name, roles or active flag."),
                         permission_classes=needs(Perm.ADMIN))
    async def user_update(self, info: strawberry.Info, input: UserUpdateInput) -> UserPayload:
        async def op():
            return await service.update_user(info.context.scope, decode(input.id, "User")[1], display_name=input.display_name,
                                             is_active=input.is_active, grants=_grants(input.memberships))

        return await run_user(info, op)
