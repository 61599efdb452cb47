"""Queries of notifications: a person's own, newest first."""
from __future__ import annotations

import uuid
from typing import Sequence

from app.core import clock, db
from app.core.ids import uuid7
from app.core.pagination import Page, PageArgs, build_page, keyset_clause, parse_datetime, validate
from app.core.tenancy import Scope
from app.notification.models import Notification


async def add_many(scope: Scope, user_ids: Sequence[uuid.UUID], *, event_id: uuid.UUID, kind: str, subject_type: str,
                   subject_id: uuid.UUID | None, title: str) -> None:
    """Idempotent on (person, event): a replayed event adds nothing."""
    if not user_ids:
        return
    await db.fetch(
        "INSERT INTO notification (id, tenant_id, user_id, event_id, kind, subject_type, subject_id, title, created_at) "
        "SELECT u.id, $1, u.user_id, $3, $4, $5, $6, $7, $8 FROM unnest($2::uuid[], $9::uuid[]) AS u(user_id, id) "
        "ON CONFLICT (tenant_id, user_id, event_id) DO NOTHING",
        [scope.tenant_id, list(user_ids), event_id, kind, subject_type, subject_id, title[:200], clock.now(),
         [uuid7() for _ in user_ids]])


async def list_for(scope: Scope, user_id: uuid.UUID, page: PageArgs, *, unread_only: bool = False, max_size: int = 100) -> Page:
    limit, _ = validate(page, default=20, maximum=max_size)
    params: list = [scope.tenant_id, user_id]
    sql = "SELECT * FROM notification WHERE tenant_id = $1 AND user_id = $2" + (" AND read_at IS NULL" if unread_only else "")
    where, extra, order, backwards = keyset_clause(("created_at", "id"), page, len(params) + 1, descending=True,
                                                   parsers=(parse_datetime, None))
    params.extend(extra)
    rows = await db.conn().execute_query_dict(f"{sql}{where} ORDER BY {order} LIMIT {limit + 1}", params)
    items = [Notification._init_from_db(**r) for r in rows]
    return build_page(items, limit, backwards, page, key=lambda n: [n.created_at.isoformat(), n.id])


async def unread_count(scope: Scope, user_id: uuid.UUID) -> int:
    rows = await db.fetch("SELECT count(*) FROM notification WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL",
                          [scope.tenant_id, user_id])
    return rows[0][0]


async def mark_read(scope: Scope, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None) -> int:
    """Mark the person's own notifications read (`ids`, or all when None); returns how many changed."""
    params: list = [scope.tenant_id, user_id, clock.now()]
    only = ""
    if ids is not None:
        params.append(list(ids))
        only = " AND id = ANY($4::uuid[])"
    rows = await db.fetch(
        "WITH r AS (UPDATE notification SET read_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL"
        f"{only} RETURNING 1) SELECT count(*) FROM r", params)
    return rows[0][0]


async def by_id(scope: Scope, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification | None:
    rows = await db.conn().execute_query_dict("SELECT * FROM notification WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
                                              [scope.tenant_id, user_id, notification_id])
    return Notification._init_from_db(**rows[0]) if rows else None
