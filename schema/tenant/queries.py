from __future__ import annotations

import strawberry

from app.core.errors import NotFound
from app.core.pagination import PageArgs
from app.core.permissions import Perm
from app.settings import get_settings
from app.tenant import repository
from schema.permissions import PUBLIC, describe, needs
from schema.relay import Connection
from schema.tenant.types import Brand, Dealer, DealerFilter, DealerOrderField, Permission, Role, User


@strawberry.type(description="Who is calling: the user (null for partner apps), the brand, roles and permissions.")
class Viewer:
    roles: list[Role]
    permissions: list[Permission]
    actor_kind: str

    @strawberry.field
    async def user(self, info: strawberry.Info) -> User | None:
        uid = info.context.actor.user_id
        if uid is None:
            return None
        row = await info.context.loaders.user.load(uid)
        return User.from_row(row) if row else None

    @strawberry.field
    async def brand(self, info: strawberry.Info) -> Brand:
        return await _brand(info)


async def _brand(info: strawberry.Info) -> Brand:
    row = await repository.get_brand(info.context.scope)
    if row is None:
        raise NotFound("The brand of this token does not exist.")
    return Brand.from_row(row)


@strawberry.type
class TenantQuery:
    @strawberry.field(description=describe(None, "The authenticated caller."), permission_classes=PUBLIC)
    def viewer(self, info: strawberry.Info) -> Viewer:
        actor = info.context.actor
        return Viewer(
            roles=sorted(actor.roles, key=lambda r: r.value),
            permissions=sorted(actor.perms, key=lambda p: p.value),
            actor_kind=actor.kind,
        )

    @strawberry.field(description=describe(None, "The caller's brand."), permission_classes=PUBLIC)
    async def brand(self, info: strawberry.Info) -> Brand:
        return await _brand(info)

    @strawberry.field(description=describe(Perm.ADMIN, "The brand's staff, by e-mail."), permission_classes=needs(Perm.ADMIN))
    async def users(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None) -> Connection[User]:
        page = await repository.list_users(info.context.scope, PageArgs(first, after, last, before), max_size=get_settings().graphql_page_max)
        return Connection.of(page, User.from_row)

    @strawberry.field(description=describe(None, "Dealers visible to the caller (dealer staff: their dealer; regional managers: their regions), keyset-paginated."), permission_classes=PUBLIC)
    async def dealers(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: DealerFilter | None = None,
        order_by: DealerOrderField = DealerOrderField.NAME,
    ) -> Connection[Dealer]:
        s = get_settings()
        page = await repository.list_dealers(
            info.context.scope,
            PageArgs(first, after, last, before),
            regions=filter.regions if filter else None,
            search=filter.search if filter else None,
            order=order_by.value,
            max_size=s.graphql_page_max,
        )
        return Connection.of(page, Dealer.from_row)
