"""Queries of the audit trail."""
from __future__ import annotations

from app.audit.models import AuditEvent
from app.core import db
from app.core.pagination import Page, PageArgs, build_page, keyset_clause, parse_datetime, validate
from app.core.tenancy import Scope


async def list_events(scope: Scope, page: PageArgs, *, action: str | None = None, max_size: int = 100) -> Page:
    limit, _ = validate(page, default=50, maximum=max_size)
    params: list = [scope.tenant_id]
    sql = "SELECT * FROM audit_event WHERE tenant_id = $1"
    if action:
        params.append(action)
        sql += f" AND action = ${len(params)}"
    # newest first
    where, extra, order, backwards = keyset_clause(
        ("at", "id"), page, len(params) + 1, descending=True, parsers=(parse_datetime, None))
    params.extend(extra)
    sql += f"{where} ORDER BY {order} LIMIT {limit + 1}"
    rows = await db.conn().execute_query_dict(sql, params)
    events = [AuditEvent._init_from_db(**r) for r in rows]
    return build_page(events, limit, backwards, page, key=lambda e: [e.at.isoformat(), e.id])
