"""Notifications of the person calling: read them, mark them read. Only people have them (a
partner app acting for itself sees none)."""
from __future__ import annotations

import uuid

from app.core.errors import ValidationFailed
from app.core.pagination import Page, PageArgs
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.notification import repository as repo

MAX_MARK = 100


def _mine(scope: Scope) -> bool:
    """Only people have notifications, and today they are all about tickets: a token without
    tickets:read (an app acting for the user with narrower scopes) sees none."""
    return scope.actor.user_id is not None and scope.can(Perm.TICKETS_READ)


async def my_notifications(scope: Scope, page: PageArgs, *, unread_only: bool = False, max_size: int = 100) -> Page | None:
    if not _mine(scope):
        return None
    return await repo.list_for(scope, scope.actor.user_id, page, unread_only=unread_only, max_size=max_size)


async def my_unread_count(scope: Scope) -> int:
    return await repo.unread_count(scope, scope.actor.user_id) if _mine(scope) else 0


async def mark_read(scope: Scope, ids: list[uuid.UUID] | None) -> int:
    if ids is not None and len(ids) > MAX_MARK:
        raise ValidationFailed(f"At most {MAX_MARK} ids per call (or none, for all).", field="ids")
    if not _mine(scope):
        return 0
    return await repo.mark_read(scope, scope.actor.user_id, ids)


async def my_notification(scope: Scope, notification_id: uuid.UUID):
    """One of the caller's own notifications, else None (another person's is not found)."""
    if not _mine(scope):
        return None
    return await repo.by_id(scope, scope.actor.user_id, notification_id)
