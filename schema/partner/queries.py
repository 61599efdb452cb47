from __future__ import annotations

import strawberry

from app.audit import service as audit
from app.core.pagination import PageArgs
from app.core.permissions import Perm
from app.oauth import repository
from app.settings import get_settings
from schema.partner.types import AuditEvent, PartnerApp
from schema.permissions import describe, needs
from schema.relay import Connection


@strawberry.type
class PartnerQuery:
    @strawberry.field(description=describe(Perm.ADMIN, "The brand's OAuth clients, by name."), permission_classes=needs(Perm.ADMIN))
    async def partner_apps(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                           last: int | None = None, before: str | None = None) -> Connection[PartnerApp]:
        page = await repository.list_apps(info.context.scope, PageArgs(first, after, last, before), max_size=get_settings().graphql_page_max)
        return Connection.of(page, PartnerApp.from_row)

    @strawberry.field(description=describe(Perm.ADMIN, "The brand's audit trail, newest first."), permission_classes=needs(Perm.ADMIN))
    async def audit_events(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                           action: str | None = None) -> Connection[AuditEvent]:
        page = await audit.list_events(info.context.scope, PageArgs(first, after), action=action, max_size=get_settings().graphql_page_max)
        return Connection.of(page, AuditEvent.from_row)
