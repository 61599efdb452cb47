from __future__ import annotations

import strawberry

from app.core.pagination import PageArgs
from app.core.permissions import Perm
from app.oauth import repository
from app.settings import get_settings
from schema.oauth.types import PartnerApp
from schema.permissions import describe, needs
from schema.relay import Connection


@strawberry.type
class PartnerQuery:
    @strawberry.field(description=describe(Perm.ADMIN, "The brand's OAuth clients, by name."), permission_classes=needs(Perm.ADMIN))
    async def partner_apps(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                           last: int | None = None, before: str | None = None) -> Connection[PartnerApp]:
        page = await repository.list_apps(info.context.scope, PageArgs(first, after, last, before), max_size=get_settings().graphql_page_max)
        return Connection.of(page, PartnerApp.from_row)
