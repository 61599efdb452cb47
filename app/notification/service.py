"""Notifications of the person calling: read them, mark them read. Only people have them (a
partner app acting for itself sees none)."""
from __future__ import annotations

import uuid

from app.core.errors import ValidationFailed
from app.core.pagination import Page, PageArgs
from app.core.tenancy import Scope
from app.notification import repository as repo

MAX_MARK = 100


async def my_notifications(scope: Scope, page: PageArgs, *, unread_only: bool = False, max_size: int = 100) -> Page | None:
    if scope.actor.user_id is None:
        return None
    return await repo.list_for(scope, scope.actor.user_id, page, unread_only=unread_only, max_size=max_size)


async def my_unread_count(scope: Scope) -> int:
    return 0 if scope.actor.user_id is None else await repo.unread_count(scope, scope.actor.user_id)


async def mark_read(scope: Scope, ids: list[uuid.UUID] | None) -> int:
    if ids is not None and len(ids) > MAX_MARK:
        raise ValidationFailed(f"At most {MAX_MARK} ids per call (or none, for all).", field="ids")
    if scope.actor.user_id is None:
        return 0
    return await repo.mark_read(scope, scope.actor.user_id, ids)


async def my_notification(scope: Scope, notification_id: uuid.UUID):
    """One of the caller's own notifications, else None (another person's is not found)."""
    if scope.actor.user_id is None:
        return None
    return await repo.by_id(scope, scope.actor.user_id, notification_id)
