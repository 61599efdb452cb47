from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry

from app.core.permissions import Perm
from app.core.permissions import Role as RoleEnum
from app.tenant import models
from schema.relay import Node, gid, node_type

Role = strawberry.enum(RoleEnum, name="Role", description="A membership role in a brand.")
Permission = strawberry.enum(Perm, name="Permission", description="An OAuth scope / permission.")


@strawberry.type(description="A brand: the tenant. Everything it owns is invisible to other brands.")
class Brand(Node):
    id: strawberry.ID
    slug: str
    name: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.BrandRow) -> "Brand":
        return cls(id=gid("Brand", row.id), slug=row.slug, name=row.name, created_at=row.created_at)


@strawberry.type(description="A dealer of the brand: sells and services, recovers unhappy customers.")
class Dealer(Node):
    id: strawberry.ID
    code: str
    name: str
    region: str
    time_zone: str
    city: str | None
    customer_count: int = strawberry.field(description="Customers whose dealer of record this is (recounted by a job).")
    customer_count_at: datetime | None
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: "models.DealerRow | models.Dealer") -> "Dealer":
        return cls(
            id=gid("Dealer", row.id), code=row.code, name=row.name, region=row.region, time_zone=row.time_zone,
            city=row.city, customer_count=row.customer_count, customer_count_at=row.customer_count_at,
            created_at=row.created_at, updated_at=row.updated_at, pk=row.id,
        )


@strawberry.type(description="A role held by a user, bound to a dealer (dealer roles) or regions (regional managers).")
class MembershipGrant:
    role: Role
    regions: list[str]
    dealer_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def dealer(self, info: strawberry.Info) -> Dealer | None:
        if self.dealer_pk is None:
            return None
        row = await info.context.loaders.dealer.load(self.dealer_pk)
        return Dealer.from_row(row) if row else None


@strawberry.type(description="A person with access to the brand.")
class User(Node):
    id: strawberry.ID
    email: str
    display_name: str
    is_active: bool
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: models.User) -> "User":
        return cls(id=gid("User", row.id), email=row.email, display_name=row.display_name, is_active=row.is_active, pk=row.id)

    @strawberry.field
    async def memberships(self, info: strawberry.Info) -> list[MembershipGrant]:
        grants = await info.context.loaders.user_memberships.load(self.pk) or []
        return [MembershipGrant(role=g.role, regions=sorted(g.regions), dealer_pk=g.dealer_id) for g in grants]


@strawberry.enum(description="Sort order of the dealers connection (keyset: the key, then id).")
class DealerOrderField(Enum):
    NAME = "NAME"
    CODE = "CODE"


@strawberry.input
class DealerFilter:
    regions: list[str] | None = None
    search: str | None = strawberry.field(default=None, description="Matches name or code (case-insensitive).")


@node_type("Brand")
async def _brand_node(info: strawberry.Info, pk: uuid.UUID):
    from app.tenant import repository

    if pk != info.context.scope.tenant_id:
        return None
    row = await repository.get_brand(info.context.scope)
    return Brand.from_row(row) if row else None


@node_type("Dealer")
async def _dealer_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.dealer.load(pk)
    return Dealer.from_row(row) if row else None


@node_type("User")
async def _user_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.user.load(pk)
    return User.from_row(row) if row else None
