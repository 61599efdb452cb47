"""The viewer's notifications."""
from __future__ import annotations

import strawberry

from app.core.pagination import Page, PageArgs
from app.notification import service
from app.settings import get_settings
from schema.notification.types import Notification
from schema.permissions import PUBLIC, describe
from schema.relay import Connection


@strawberry.type
class NotificationQuery:
    @strawberry.field(description=describe(None, "The caller's own notifications, newest first (empty for a partner app acting for itself)."),
                      permission_classes=PUBLIC)
    async def notifications(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                            unread_only: bool = False) -> Connection[Notification]:
        page = await service.my_notifications(info.context.scope, PageArgs(first, after), unread_only=unread_only,
                                              max_size=get_settings().graphql_page_max)
        return Connection.of(page or Page([], False, False, []), Notification.from_row)

    @strawberry.field(description=describe(None, "How many of the caller's notifications are unread."), permission_classes=PUBLIC)
    async def unread_notification_count(self, info: strawberry.Info) -> int:
        return await service.my_unread_count(info.context.scope)
