"""Queries of the audit trail."""
from __future__ import annotations

import strawberry

from app.audit import service as audit
from app.core.pagination import PageArgs
from app.core.permissions import Perm
from app.settings import get_settings
from schema.audit.types import AuditEvent
from schema.permissions import describe, needs
from schema.relay import Connection


@strawberry.type
class AuditQuery:
    @strawberry.field(description=describe(Perm.ADMIN, "The brand's audit trail, newest first."), permission_classes=needs(Perm.ADMIN))
    async def audit_events(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                           action: str | None = None) -> Connection[AuditEvent]:
        page = await audit.list_events(info.context.scope, PageArgs(first, after), action=action, max_size=get_settings().graphql_page_max)
        return Connection.of(page, AuditEvent.from_row)
