"""Queries of complaint tickets. Scope first; dealer staff see their dealers' tickets only."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from app.complaint.models import AssignmentRule, Ticket, TicketCategory, TicketPolicy
from app.core import clock, db
from app.core.ids import uuid7
from app.core.pagination import Page, PageArgs, build_page, keyset_clause, parse_datetime, validate
from app.core.rows import reader
from app.core.tenancy import Scope, dealer_visibility_sql

# (name, English, Chinese, parent code): the causes of seed 003 and the misuse of a new product
DEFAULT_CATEGORIES: tuple[tuple[str, str, str, str | None], ...] = (
    ("product_defect", "Product defect", "产品缺陷", None),
    ("product_defect.manufacturer", "Manufacturer's responsibility", "厂家责任", "product_defect"),
    ("product_defect.seller", "Seller's responsibility", "销售商责任", "product_defect"),
    ("product_defect.customer", "Customer's own responsibility", "顾客自身责任", "product_defect"),
    ("service_failure", "Service failure", "服务失误", None),
    ("service_failure.inappropriate_response", "Inappropriate response", "应对不得体", "service_failure"),
    ("service_failure.bad_attitude", "Bad attitude", "态度不好", "service_failure"),
    ("service_failure.staff_misconduct", "Staff misconduct", "员工行为不当", "service_failure"),
    ("service_failure.insufficient_explanation", "Insufficient explanation", "说明不足", "service_failure"),
    ("service_failure.money_error", "Money errors", "收款差错", "service_failure"),
    ("service_failure.poor_gift_packaging", "Poor gift packaging", "礼品包装不当", "service_failure"),
    ("service_failure.broken_promise", "Broken promises", "未履行承诺", "service_failure"),
    ("service_failure.delivery_problem", "Delivery problems", "送货问题", "service_failure"),
    ("service_failure.label_mismatch", "Label not matching content", "标示与内容不符", "service_failure"),
    ("misuse", "Misuse of a new product or material", "新产品、新材料使用不当", None),
)


@dataclass
class TicketFilter:
    statuses: Sequence[str] | None = None
    dealer_ids: Sequence[uuid.UUID] | None = None
    regions: Sequence[str] | None = None
    category_ids: Sequence[uuid.UUID] | None = None
    dimensions: Sequence[str] | None = None
    priorities: Sequence[str] | None = None
    sources: Sequence[str] | None = None
    rounds: Sequence[int] | None = None
    agent_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    overdue: bool | None = None  # a running SLA clock is past its due instant (now, by the one clock)
    sla_breached: bool | None = None  # a clock of the ticket's current round breached


ORDERS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at"}


def _where(scope: Scope, f: TicketFilter, params: list) -> str:
    sql = dealer_visibility_sql(scope, params, "t.dealer_id")

    def add(value, cast: str, column: str) -> None:
        nonlocal sql
        params.append(list(value))
        sql += f" AND t.{column} = ANY(${len(params)}::{cast}[])"

    for value, cast, column in ((f.statuses, "text", "status"), (f.dealer_ids, "uuid", "dealer_id"),
                                (f.category_ids, "uuid", "category_id"), (f.dimensions, "text", "dimension"),
                                (f.priorities, "text", "priority"), (f.sources, "text", "source"), (f.rounds, "int", "round")):
        if value:
            add(value, cast, column)
    if f.regions:
        params.append(list(f.regions))
        sql += f" AND t.dealer_id IN (SELECT d.id FROM dealer d WHERE d.tenant_id = $1 AND d.region = ANY(${len(params)}::text[]))"
    for value, op, column in ((f.created_after, ">=", "created_at"), (f.created_before, "<", "created_at"),
                              (f.updated_after, ">=", "updated_at"), (f.updated_before, "<", "updated_at")):
        if value is not None:
            params.append(value)
            sql += f" AND t.{column} {op} ${len(params)}"
    for value, column in ((f.agent_id, "agent_id"), (f.customer_id, "customer_id")):
        if value is not None:
            params.append(value)
            sql += f" AND t.{column} = ${len(params)}"
    if f.overdue is not None:  # only running clocks set sla_due_at, and only open tickets have them
        params.append(clock.now())
        sql += (f" AND t.sla_due_at < ${len(params)}" if f.overdue else f" AND (t.sla_due_at IS NULL OR t.sla_due_at >= ${len(params)})")
    if f.sla_breached is not None:
        params.append(f.sla_breached)
        sql += f" AND t.sla_breached = ${len(params)}"
    return sql


async def list_tickets(scope: Scope, f: TicketFilter, page: PageArgs, *, order: str = "CREATED_AT", max_size: int = 100) -> Page:
    """Newest first, keyset over (order column, id)."""
    limit, _ = validate(page, default=20, maximum=max_size)
    column = ORDERS[order]
    params: list = [scope.tenant_id]
    r = reader(Ticket)
    sql = f"SELECT {r.columns('t')} FROM ticket t WHERE t.tenant_id = $1" + _where(scope, f, params)
    where, extra, order_sql, backwards = keyset_clause((f"t.{column}", "t.id"), page, len(params) + 1, descending=True,
                                                       parsers=(parse_datetime, None))
    params.extend(extra)
    tickets = [r.row(rec) for rec in await db.fetch(f"{sql}{where} ORDER BY {order_sql} LIMIT {limit + 1}", params)]
    return build_page(tickets, limit, backwards, page, key=lambda t: [getattr(t, column).isoformat(), t.id])


async def count_tickets(scope: Scope, f: TicketFilter) -> list[tuple[str, uuid.UUID | None, int]]:
    """(status, dealer id, count) for the dashboards: one GROUP BY."""
    params: list = [scope.tenant_id]
    sql = ("SELECT t.status, t.dealer_id, count(*) FROM ticket t WHERE t.tenant_id = $1" + _where(scope, f, params)
           + " GROUP BY t.status, t.dealer_id ORDER BY t.status, t.dealer_id")
    return [(r[0], r[1], r[2]) for r in await db.fetch(sql, params)]


async def tickets_by_ids(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Ticket]:
    """Read rows (app.core.rows: the ticket's attributes, immutable); `ticket_for_update` for a write."""
    r = reader(Ticket)
    params: list = [scope.tenant_id, list(ids)]
    sql = (f"SELECT {r.columns('t')} FROM ticket t WHERE t.tenant_id = $1 AND t.id = ANY($2::uuid[])"
           + dealer_visibility_sql(scope, params, "t.dealer_id"))
    return {t.id: t for t in map(r.row, await db.fetch(sql, params))}


async def tickets_of_customers(scope: Scope, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Ticket]]:
    """Each customer's tickets, newest first, at most 20 each (Customer.tickets)."""
    params: list = [scope.tenant_id, list(customer_ids)]
    vis = dealer_visibility_sql(scope, params, "t.dealer_id")
    r = reader(Ticket)
    rows = await db.fetch(
        f"SELECT {r.columns('x')} FROM unnest($2::uuid[]) AS c(id) CROSS JOIN LATERAL ("
        f"  SELECT t.* FROM ticket t WHERE t.tenant_id = $1 AND t.customer_id = c.id{vis} ORDER BY t.created_at DESC, t.id DESC LIMIT 20"
        ") x", params)
    out: dict[uuid.UUID, list[Ticket]] = {i: [] for i in customer_ids}
    for t in map(r.row, rows):
        out[t.customer_id].append(t)
    return out


async def reserve_numbers(scope: Scope, year: int, n: int) -> int:
    """Reserve n consecutive numbers of the year; returns the first."""
    rows = await db.fetch(
        "WITH n AS (INSERT INTO ticket_counter (id, tenant_id, year, last_number) VALUES (gen_random_uuid(), $1, $2, $3) "
        "ON CONFLICT (tenant_id, year) DO UPDATE SET last_number = ticket_counter.last_number + $3 RETURNING last_number) "
        "SELECT last_number FROM n", [scope.tenant_id, year, n])
    return rows[0][0] - n + 1


_DONE_SQL = "('recovered', 'cancelled', 'duplicate', 'closed')"  # the partial unique index of migration 0022


async def open_care_tickets(scope: Scope, keys: Sequence[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """The open survey ticket of each (customer, episode), where there is one."""
    if not keys:
        return {}
    # one probe of the partial unique index per key (a plain IN would read every open survey ticket of the brand)
    rows = await db.fetch(
        "SELECT k.c, k.e, t.id FROM unnest($2::uuid[], $3::text[]) AS k(c, e) CROSS JOIN LATERAL ("
        "SELECT id FROM ticket WHERE tenant_id = $1 AND customer_id = k.c AND episode = k.e AND source = 'survey' "
        f"AND status NOT IN {_DONE_SQL} LIMIT 1) t", [scope.tenant_id, [k[0] for k in keys], [k[1] for k in keys]])
    return {(r[0], r[1]): r[2] for r in rows}


async def insert_care_tickets(scope: Scope, rows: Sequence[dict]) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """Insert survey tickets; one whose customer and episode already has an open one (a
    concurrent intake got there first) is skipped. Returns what was inserted."""
    if not rows:
        return {}
    cols = ("id", "number", "customer_id", "dealer_id", "status", "priority", "category_id", "dimension", "title",
            "episode", "product_line", "external_ref")
    types = ("uuid", "text", "uuid", "uuid", "text", "text", "uuid", "text", "text", "text", "text", "text")
    params = [scope.tenant_id, scope.actor.label[:120], clock.now(), *([r[c] for r in rows] for c in cols)]
    unnest = ", ".join(f"${i + 4}::{t}[]" for i, t in enumerate(types))
    got = await db.fetch(
        f"WITH i AS (INSERT INTO ticket (tenant_id, created_by, created_at, updated_at, source, round, version, severity, tags, "
        f"brand_flagged, brand_owned, sla_warned, sla_breached, {', '.join(cols)}) "
        f"SELECT $1, $2, $3, $3, 'survey', 1, 1, 'medium', '[]'::jsonb, false, false, false, false, x.* "
        f"FROM unnest({unnest}) AS x({', '.join(cols)}) "
        f"ON CONFLICT (tenant_id, customer_id, episode) WHERE source = 'survey' AND status NOT IN {_DONE_SQL} DO NOTHING "
        "RETURNING customer_id, episode, id) SELECT * FROM i", params)
    return {(r[0], r[1]): r[2] for r in got}


async def link_results(scope: Scope, links: Sequence[tuple[uuid.UUID, uuid.UUID, bool]]) -> None:
    """(ticket_id, result_id, opened): the results a care ticket holds (each result once)."""
    if links:
        await db.fetch(
            "INSERT INTO ticket_survey_result (id, tenant_id, ticket_id, result_id, opened, created_at) "
            "SELECT x.id, $1, x.t, x.r, x.o, $5 FROM unnest($6::uuid[], $2::uuid[], $3::uuid[], $4::bool[]) AS x(id, t, r, o) "
            "ON CONFLICT (tenant_id, result_id) DO NOTHING",
            [scope.tenant_id, [x[0] for x in links], [x[1] for x in links], [x[2] for x in links], clock.now(),
             [uuid7() for _ in links]])


async def tickets_of_results(scope: Scope, result_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """result id -> the care ticket holding it (visible to the scope or not: callers check)."""
    rows = await db.fetch("SELECT result_id, ticket_id FROM ticket_survey_result WHERE tenant_id = $1 AND result_id = ANY($2::uuid[])",
                          [scope.tenant_id, list(result_ids)])
    return {r[0]: r[1] for r in rows}


async def set_sla_flags(scope: Scope, rows: Sequence[tuple[uuid.UUID, datetime | None, bool, bool]]) -> None:
    """(ticket id, due, warned, breached) from the SLA engine, one statement for a batch. Not a
    change of the ticket (no version bump): the engine's picture of it."""
    if rows:
        await db.fetch(
            "UPDATE ticket t SET sla_due_at = x.due, sla_warned = x.w, sla_breached = x.b "
            "FROM unnest($2::uuid[], $3::timestamptz[], $4::bool[], $5::bool[]) AS x(id, due, w, b) "
            "WHERE t.tenant_id = $1 AND t.id = x.id",
            [scope.tenant_id, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]])


async def assignment_rules(scope: Scope) -> list[AssignmentRule]:
    rows = await db.conn().execute_query_dict(
        "SELECT * FROM ticket_assignment_rule WHERE tenant_id = $1 ORDER BY position, created_at, id", [scope.tenant_id])
    return [AssignmentRule._init_from_db(**r) for r in rows]


async def next_number(scope: Scope, year: int) -> int:
    # (a WITH first: Tortoise drops the rows of a statement that starts with INSERT or UPDATE)
    rows = await db.fetch(
        "WITH n AS (INSERT INTO ticket_counter (id, tenant_id, year, last_number) VALUES (gen_random_uuid(), $1, $2, 1) "
        "ON CONFLICT (tenant_id, year) DO UPDATE SET last_number = ticket_counter.last_number + 1 RETURNING last_number) "
        "SELECT last_number FROM n", [scope.tenant_id, year])
    return rows[0][0]


async def update_ticket(scope: Scope, ticket_id: uuid.UUID, version: int, changes: dict) -> Ticket | None:
    """Apply `changes` if the ticket is still at `version` (bumping it); None if it moved on."""
    params: list = [scope.tenant_id, ticket_id, version]
    sets = []
    for column, value in changes.items():
        params.append(value)
        sets.append(f"{column} = ${len(params)}")
    rows = await db.conn().execute_query_dict(
        f"WITH u AS (UPDATE ticket SET {', '.join(sets)}, version = version + 1 WHERE tenant_id = $1 AND id = $2 AND version = $3 "
        "RETURNING *) SELECT * FROM u",
        params)
    return Ticket._init_from_db(**rows[0]) if rows else None


async def ensure_categories(scope: Scope) -> None:
    """The default tree, once per brand (a no-op once it exists). Two first requests at once:
    the second waits for the first's lock and then finds the tree."""
    await db.fetch("SELECT pg_advisory_xact_lock(hashtext('ticket_category:' || $1::text))", [str(scope.tenant_id)])
    if await db.fetch("SELECT 1 FROM ticket_category WHERE tenant_id = $1 LIMIT 1", [scope.tenant_id]):
        return
    ids = {code: uuid.uuid4() for code, *_ in DEFAULT_CATEGORIES}
    for position, (code, name, name_zh, parent) in enumerate(DEFAULT_CATEGORIES):
        await db.fetch(
            "INSERT INTO ticket_category (id, tenant_id, parent_id, code, name, name_zh, position) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (tenant_id, code) DO NOTHING", [ids[code], scope.tenant_id, ids[parent] if parent else None, code, name, name_zh, position])


async def categories(scope: Scope) -> list[TicketCategory]:
    rows = await db.conn().execute_query_dict(
        "SELECT * FROM ticket_category WHERE tenant_id = $1 ORDER BY position, code", [scope.tenant_id])
    return [TicketCategory._init_from_db(**r) for r in rows]


async def category_by_code(scope: Scope, code: str) -> TicketCategory | None:
    rows = await db.conn().execute_query_dict("SELECT * FROM ticket_category WHERE tenant_id = $1 AND code = $2", [scope.tenant_id, code])
    return TicketCategory._init_from_db(**rows[0]) if rows else None


async def categories_by_ids(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TicketCategory]:
    rows = await db.conn().execute_query_dict("SELECT * FROM ticket_category WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
                                              [scope.tenant_id, list(ids)])
    return {r["id"]: TicketCategory._init_from_db(**r) for r in rows}


async def add_category(scope: Scope, *, code: str, name: str, name_zh: str | None, parent_id: uuid.UUID | None) -> TicketCategory | None:
    """None when the code is taken (also by a concurrent request)."""
    rows = await db.conn().execute_query_dict(
        "WITH i AS (INSERT INTO ticket_category (id, tenant_id, parent_id, code, name, name_zh, position) "
        "SELECT gen_random_uuid(), $1, $2, $3, $4, $5, coalesce(max(position), 0) + 1 FROM ticket_category WHERE tenant_id = $1 "
        "ON CONFLICT (tenant_id, code) DO NOTHING RETURNING *) SELECT * FROM i", [scope.tenant_id, parent_id, code, name, name_zh])
    return TicketCategory._init_from_db(**rows[0]) if rows else None


async def policy(scope: Scope) -> TicketPolicy | None:
    return await TicketPolicy.get_or_none(tenant_id=scope.tenant_id)


async def save_policy(scope: Scope, max_rounds: int, approval_threshold) -> None:
    await db.fetch(
        "INSERT INTO ticket_policy (id, tenant_id, max_rounds, approval_threshold, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, $4) "
        "ON CONFLICT (tenant_id) DO UPDATE SET max_rounds = EXCLUDED.max_rounds, approval_threshold = EXCLUDED.approval_threshold, "
        "updated_at = EXCLUDED.updated_at", [scope.tenant_id, max_rounds, approval_threshold, clock.now()])
