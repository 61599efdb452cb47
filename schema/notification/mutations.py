"""Marking the viewer's notifications read."""
from __future__ import annotations

import strawberry

from app.notification import service
from schema.errors import domain_errors, run_mutation
from schema.permissions import PUBLIC, describe
from schema.relay import decode

NotificationError = domain_errors("Notification", None, "notification")


@strawberry.type
class NotificationsMarkReadPayload:
    marked: int | None
    errors: list[NotificationError]


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description=describe(None, "Mark the caller's notifications read: these ids (at most 100), or all of them."),
                         permission_classes=PUBLIC)
    async def notifications_mark_read(self, info: strawberry.Info, ids: list[strawberry.ID] | None = None) -> NotificationsMarkReadPayload:
        async def op():
            pks = [decode(i, "Notification")[1] for i in ids] if ids is not None else None
            return await service.mark_read(info.context.scope, pks)

        return await run_mutation(info, op, lambda n: NotificationsMarkReadPayload(marked=n, errors=[]),
                                  lambda errors: NotificationsMarkReadPayload(marked=None, errors=errors), NotificationError)
