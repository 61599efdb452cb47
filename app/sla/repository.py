"""Queries of the SLA engine. Scope first; everything is the brand's (RLS and `tenant_id`).

Lock order. A ticket change locks the `ticket` row (the complaint module's UPDATE) and then,
in the SLA handler, the ticket's clocks. Whatever else changes clocks (the deadline jobs, the
sweep, a recompute) takes the same order: it first locks the tickets' rows (`FOR NO KEY
UPDATE`, skipping the ones being changed right now), then their clocks, and only then records
`sla.ticket_clocks` (whose handler writes the ticket). The other order would deadlock with a
ticket action. The complaint module's `ticket` table is read here for that lock alone.

Set-based: each function is one statement, whatever the number of rows."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Iterable, Sequence

import orjson

from app.core import clock, db
from app.core.ids import uuid7
from app.core.pagination import Page, PageArgs, build_page, keyset_clause, parse_datetime, validate
from app.core.tenancy import Scope, dealer_visibility_sql
from app.sla.clocks import Clock
from app.sla.enums import OPEN_STATES, Notice

_OPEN = "('" + "', '".join(sorted(OPEN_STATES)) + "')"


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# ---- calendars ---------------------------------------------------------------------------------

# The calendar cache's key of a version (app/sla/engine.py): versions never change, and a version
# row is only ever replaced by another transaction (a rolled-back change's number taken again):
# its xmin then differs, so equal keys are equal specs without hashing every row's spec.
_VERSION_KEY = "(v.calendar_id::text || ':' || v.version::text || ':' || v.xmin::text)"
CALENDAR_COLUMNS = ("id, tenant_id, name, kind, dealer_id, spec::text AS spec, version, seed_report::text AS seed_report, "
                    "created_at, updated_at, (SELECT " + _VERSION_KEY + " FROM sla_calendar_version v WHERE v.tenant_id = "
                    "sla_calendar.tenant_id AND v.calendar_id = sla_calendar.id AND v.version = sla_calendar.version) AS digest")


def _calendar(r) -> dict:
    out = dict(r)
    out["spec"] = _json(out["spec"])
    out["seed_report"] = _json(out["seed_report"])
    return out


async def calendars(scope: Scope, *, dealer_ids: Sequence[uuid.UUID] | None = None) -> list[dict]:
    """The brand's calendars (dealer ones only for `dealer_ids`, when given), spec decoded."""
    params: list = [scope.tenant_id]
    only = ""
    if dealer_ids is not None:
        params.append(list(dealer_ids))
        only = " AND (kind <> 'dealer' OR dealer_id = ANY($2::uuid[]))"
    rows = await db.fetch(f"SELECT {CALENDAR_COLUMNS} FROM sla_calendar WHERE tenant_id = $1{only} ORDER BY kind, name, id", params)
    return [_calendar(r) for r in rows]


async def calendar(scope: Scope, calendar_id: uuid.UUID, *, for_update: bool = False) -> dict | None:
    rows = await db.fetch(f"SELECT {CALENDAR_COLUMNS} FROM sla_calendar WHERE tenant_id = $1 AND id = $2"
                          + (" FOR UPDATE" if for_update else ""), [scope.tenant_id, calendar_id])
    return _calendar(rows[0]) if rows else None


async def calendars_by_ids(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict]:
    rows = await db.fetch(f"SELECT {CALENDAR_COLUMNS} FROM sla_calendar WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
                          [scope.tenant_id, list(ids)])
    return {r["id"]: _calendar(r) for r in rows}


async def calendar_specs(scope: Scope, keys: Iterable[tuple[uuid.UUID, int]]) -> dict[tuple[uuid.UUID, int], str]:
    """The spec (JSON text) of calendar versions."""
    keys = list(keys)
    if not keys:
        return {}
    rows = await db.fetch(
        "SELECT v.calendar_id, v.version, v.spec::text FROM sla_calendar_version v "
        "JOIN unnest($2::uuid[], $3::int[]) AS k(calendar_id, version) ON k.calendar_id = v.calendar_id AND k.version = v.version "
        "WHERE v.tenant_id = $1", [scope.tenant_id, [k[0] for k in keys], [k[1] for k in keys]])
    return {(r[0], r[1]): r[2] for r in rows}


async def insert_calendar(scope: Scope, *, name: str, kind: str, dealer_id: uuid.UUID | None, spec: dict,
                          seed_report: dict | None = None, calendar_id: uuid.UUID | None = None) -> dict | None:
    """A new calendar at version 1 (and that version). None when the name, or the dealer's (or
    the brand's) one calendar, is taken (also by a concurrent request)."""
    now = clock.now()
    rows = await db.fetch(
        "WITH c AS (INSERT INTO sla_calendar (id, tenant_id, name, kind, dealer_id, spec, version, seed_report, created_at, updated_at) "
        "VALUES ($2, $1, $3, $4, $5, $6::jsonb, 1, $7::jsonb, $8, $8) ON CONFLICT DO NOTHING "
        f"RETURNING {CALENDAR_COLUMNS}), "
        "v AS (INSERT INTO sla_calendar_version (id, tenant_id, calendar_id, version, spec, created_at) "
        "SELECT $9, $1, c.id, 1, $6::jsonb, $8 FROM c) SELECT * FROM c",
        [scope.tenant_id, calendar_id or uuid7(), name, kind, dealer_id, _dumps(spec),
         _dumps(seed_report) if seed_report is not None else None, now, uuid7()])
    return _calendar(rows[0]) if rows else None


async def update_calendar(scope: Scope, calendar_id: uuid.UUID, *, name: str, spec: dict, seed_report: dict | None,
                          new_version: bool) -> dict | None:
    """Rename it, or give it a new spec (the next version, written as such). None when the name
    is taken."""
    now = clock.now()
    bump = "version + 1" if new_version else "version"
    rows = await db.fetch(
        f"WITH c AS (UPDATE sla_calendar SET name = $3, spec = $4::jsonb, version = {bump}, "
        "seed_report = coalesce($5::jsonb, seed_report), updated_at = $6 WHERE tenant_id = $1 AND id = $2 "
        "AND NOT EXISTS (SELECT 1 FROM sla_calendar o WHERE o.tenant_id = $1 AND o.name = $3 AND o.id <> $2) "
        f"RETURNING {CALENDAR_COLUMNS}), "
        "v AS (INSERT INTO sla_calendar_version (id, tenant_id, calendar_id, version, spec, created_at) "
        "SELECT $7, $1, c.id, c.version, $4::jsonb, $6 FROM c WHERE $8 ON CONFLICT DO NOTHING) SELECT * FROM c",
        [scope.tenant_id, calendar_id, name, _dumps(spec), _dumps(seed_report) if seed_report is not None else None, now,
         uuid7(), new_version])
    return _calendar(rows[0]) if rows else None


async def delete_calendar(scope: Scope, calendar_id: uuid.UUID) -> bool:
    """Its versions stay: clocks that kept it count on them."""
    rows = await db.fetch("WITH d AS (DELETE FROM sla_calendar WHERE tenant_id = $1 AND id = $2 RETURNING 1) SELECT count(*) FROM d",
                          [scope.tenant_id, calendar_id])
    return rows[0][0] > 0


async def calendar_in_use(scope: Scope, calendar_id: uuid.UUID) -> bool:
    rows = await db.fetch("SELECT 1 FROM sla_policy WHERE tenant_id = $1 AND notification_calendar_id = $2 AND deleted_at IS NULL LIMIT 1",
                          [scope.tenant_id, calendar_id])
    return bool(rows)


async def lock_brand_setup(scope: Scope) -> None:
    """Serialise the first seeding of a brand's calendars and policies."""
    await db.fetch("SELECT pg_advisory_xact_lock(hashtext('sla_setup:' || $1::text))", [str(scope.tenant_id)])


async def has_brand_calendar(scope: Scope) -> bool:
    return bool(await db.fetch("SELECT 1 FROM sla_calendar WHERE tenant_id = $1 AND kind = 'brand'", [scope.tenant_id]))


# ---- policies ----------------------------------------------------------------------------------

POLICY_COLUMNS = ("id, tenant_id, name, position, enabled, version, conditions::text AS conditions, targets::text AS targets, "
                  "pauses::text AS pauses, warnings::text AS warnings, escalation::text AS escalation, calendar, "
                  "notification_calendar_id, open_clocks, deleted_at, created_at, updated_at")


def _policy(r) -> dict:
    out = dict(r)
    for key in ("conditions", "targets", "pauses", "warnings", "escalation"):
        out[key] = _json(out[key])
    return out


async def policies(scope: Scope, *, include_deleted: bool = False) -> list[dict]:
    rows = await db.fetch(f"SELECT {POLICY_COLUMNS} FROM sla_policy WHERE tenant_id = $1"
                          + ("" if include_deleted else " AND deleted_at IS NULL") + " ORDER BY position, id", [scope.tenant_id])
    return [_policy(r) for r in rows]


async def policies_by_ids(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict]:
    rows = await db.fetch(f"SELECT {POLICY_COLUMNS} FROM sla_policy WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
                          [scope.tenant_id, list(ids)])
    return {r["id"]: _policy(r) for r in rows}


async def policy_for_update(scope: Scope, policy_id: uuid.UUID) -> dict | None:
    rows = await db.fetch(f"SELECT {POLICY_COLUMNS} FROM sla_policy WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
                          [scope.tenant_id, policy_id])
    return _policy(rows[0]) if rows else None


async def count_policies(scope: Scope) -> int:
    return (await db.fetch("SELECT count(*) FROM sla_policy WHERE tenant_id = $1 AND deleted_at IS NULL", [scope.tenant_id]))[0][0]


_POLICY_FIELDS = ("name", "position", "enabled", "conditions", "targets", "pauses", "warnings", "escalation", "calendar",
                  "notification_calendar_id", "open_clocks")
_JSON_FIELDS = {"conditions", "targets", "pauses", "warnings", "escalation"}


async def insert_policies(scope: Scope, rows: Sequence[dict]) -> list[dict]:
    if not rows:
        return []
    now = clock.now()
    cols = ", ".join(_POLICY_FIELDS)
    values = [[(_dumps(r[f]) if f in _JSON_FIELDS else r[f]) for r in rows] for f in _POLICY_FIELDS]
    types = ("text", "int", "bool", "text", "text", "text", "text", "text", "text", "uuid", "text")
    unnest = ", ".join(f"${i + 4}::{t}[]" for i, t in enumerate(types))
    select = ", ".join(f"x.{f}::jsonb" if f in _JSON_FIELDS else f"x.{f}" for f in _POLICY_FIELDS)
    got = await db.fetch(
        f"WITH i AS (INSERT INTO sla_policy (id, tenant_id, version, created_at, updated_at, {cols}) "
        f"SELECT x.id, $1, 1, $2, $2, {select} FROM unnest($3::uuid[], {unnest}) AS x(id, {cols}) "
        f"RETURNING {POLICY_COLUMNS}) SELECT * FROM i ORDER BY position, id",
        [scope.tenant_id, now, [uuid7() for _ in rows], *values])
    return [_policy(r) for r in got]


async def update_policy(scope: Scope, policy_id: uuid.UUID, values: dict) -> dict | None:
    params: list = [scope.tenant_id, policy_id, clock.now()]
    sets = []
    for f in _POLICY_FIELDS:
        if f in values:
            params.append(_dumps(values[f]) if f in _JSON_FIELDS else values[f])
            sets.append(f"{f} = ${len(params)}" + ("::jsonb" if f in _JSON_FIELDS else ""))
    rows = await db.fetch(
        f"WITH u AS (UPDATE sla_policy SET {', '.join(sets)}, version = version + 1, updated_at = $3 "
        f"WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING {POLICY_COLUMNS}) SELECT * FROM u", params)
    return _policy(rows[0]) if rows else None


async def delete_policy(scope: Scope, policy_id: uuid.UUID, open_clocks: str) -> bool:
    rows = await db.fetch(
        "WITH u AS (UPDATE sla_policy SET deleted_at = $3, enabled = false, open_clocks = $4, version = version + 1, updated_at = $3 "
        "WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING 1) SELECT count(*) FROM u",
        [scope.tenant_id, policy_id, clock.now(), open_clocks])
    return rows[0][0] > 0


# ---- the engine's picture of tickets -----------------------------------------------------------

TICKET_FIELDS = ("number", "status", "round", "customer_id", "dealer_id", "agent_id", "priority", "category_id", "dimension",
                 "source", "opened_at", "updated_at")
_TICKET_TYPES = ("text", "text", "int", "uuid", "uuid", "uuid", "text", "uuid", "text", "text", "timestamptz", "timestamptz")


async def projections(scope: Scope, ticket_ids: Sequence[uuid.UUID], *, for_update: bool = False) -> dict[uuid.UUID, dict]:
    rows = await db.fetch("SELECT * FROM sla_ticket WHERE tenant_id = $1 AND id = ANY($2::uuid[])" + (" FOR UPDATE" if for_update else ""),
                          [scope.tenant_id, list(ticket_ids)])
    return {r["id"]: dict(r) for r in rows}


async def save_projections(scope: Scope, rows: Sequence[dict]) -> None:
    """Insert or replace the engine's picture of these tickets."""
    if not rows:
        return
    cols = ", ".join(TICKET_FIELDS)
    unnest = ", ".join(f"${i + 3}::{t}[]" for i, t in enumerate(_TICKET_TYPES))
    await db.fetch(
        f"INSERT INTO sla_ticket (tenant_id, id, {cols}) SELECT $1, x.* FROM unnest($2::uuid[], {unnest}) AS x(id, {cols}) "
        f"ON CONFLICT (tenant_id, id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in TICKET_FIELDS if c != "opened_at"),
        [scope.tenant_id, [r["id"] for r in rows], *([r[c] for r in rows] for c in TICKET_FIELDS)])


async def lock_tickets(scope: Scope, ticket_ids: Sequence[uuid.UUID], *, skip_locked: bool) -> list[uuid.UUID]:
    """Lock the tickets' rows (see the module docstring: the lock order), skipping those a
    ticket change holds when `skip_locked`. Returns the ids locked."""
    if not ticket_ids:
        return []
    rows = await db.fetch("SELECT id FROM ticket WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR NO KEY UPDATE"
                          + (" SKIP LOCKED" if skip_locked else ""), [scope.tenant_id, list(ticket_ids)])
    return [r[0] for r in rows]


async def due_ticket_ids(scope: Scope, now: datetime, limit: int) -> list[uuid.UUID]:
    """Tickets with a clock due by `now`, soonest first: one range scan of the partial index
    on (tenant_id, next_check_at)."""
    rows = await db.fetch(
        "SELECT ticket_id FROM (SELECT ticket_id, next_check_at FROM sla_clock WHERE tenant_id = $1 AND next_check_at <= $2 "
        "ORDER BY next_check_at LIMIT $3) d GROUP BY ticket_id ORDER BY min(next_check_at)", [scope.tenant_id, now, limit])
    return [r[0] for r in rows]


async def upcoming_checks(scope: Scope, after: datetime, until: datetime, limit: int = 1000) -> list[datetime]:
    """The distinct next checks in (after, until]: a range scan of the same partial index."""
    rows = await db.fetch("SELECT DISTINCT next_check_at FROM (SELECT next_check_at FROM sla_clock WHERE tenant_id = $1 "
                          "AND next_check_at > $2 AND next_check_at <= $3 ORDER BY next_check_at LIMIT $4) d",
                          [scope.tenant_id, after, until, limit])
    return [r[0] for r in rows]


async def open_clock_tickets(scope: Scope, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
    """Tickets with an open clock, by id after `after` (a recompute's keyset)."""
    rows = await db.fetch(
        f"SELECT DISTINCT ticket_id FROM sla_clock WHERE tenant_id = $1 AND state IN {_OPEN} AND ticket_id > $2 "
        "ORDER BY ticket_id LIMIT $3", [scope.tenant_id, after or uuid.UUID(int=0), limit])
    return [r[0] for r in rows]


# ---- clocks ------------------------------------------------------------------------------------

CLOCK_FIELDS = (
    ("ticket_id", "uuid"), ("metric", "text"), ("round", "int"), ("policy_id", "uuid"), ("policy_version", "int"),
    ("dealer_id", "uuid"), ("calendar_id", "uuid"), ("calendar_version", "int"), ("calendar_mode", "text"),
    ("target_us", "int8"), ("consumed_us", "int8"), ("running_since", "timestamptz"), ("started_at", "timestamptz"),
    ("due_at", "timestamptz"), ("stopped_at", "timestamptz"), ("state", "text"), ("breached_at", "timestamptz"),
    ("warned_at", "timestamptz"), ("checked_us", "int8"), ("next_check_at", "timestamptz"), ("notice_at", "timestamptz"),
    ("pauses", "jsonb"), ("warnings", "jsonb"), ("escalation", "jsonb"), ("notification_calendar_id", "uuid"),
)
_MUTABLE = {"policy_id", "policy_version", "dealer_id", "calendar_id", "calendar_version", "calendar_mode", "target_us",
            "consumed_us", "running_since", "due_at", "stopped_at", "state", "breached_at", "warned_at", "checked_us",
            "next_check_at", "notice_at", "pauses", "warnings", "escalation", "notification_calendar_id"}


def _clock_value(c: Clock, name: str):
    value = getattr(c, name)
    if name in ("pauses", "warnings"):
        return _dumps(list(value))
    if name == "escalation":
        return _dumps([{"level": level, "after_seconds": after} for level, after in value])
    return value


def _clock_arrays(clocks: Sequence[Clock]) -> list[list]:
    return [[_clock_value(c, name) for c in clocks] for name, _ in CLOCK_FIELDS]


async def clock_rows(scope: Scope, ticket_ids: Sequence[uuid.UUID], *, for_update: bool = False) -> list[dict]:
    """Every clock of these tickets, with whether its policy is active (enabled, not deleted),
    what its policy's last change asked for open clocks, and its calendar version's cache key."""
    rows = await db.fetch(
        "SELECT c.*, coalesce(p.enabled AND p.deleted_at IS NULL, false) AS policy_active, p.open_clocks AS policy_mode, "
        f"{_VERSION_KEY} AS calendar_digest FROM sla_clock c "
        "LEFT JOIN sla_policy p ON p.tenant_id = c.tenant_id AND p.id = c.policy_id "
        "LEFT JOIN sla_calendar_version v ON v.tenant_id = c.tenant_id AND v.calendar_id = c.calendar_id AND v.version = c.calendar_version "
        "WHERE c.tenant_id = $1 AND c.ticket_id = ANY($2::uuid[]) ORDER BY c.ticket_id, c.round, c.metric"
        + (" FOR UPDATE OF c" if for_update else ""), [scope.tenant_id, list(ticket_ids)])
    out = []
    for r in rows:
        d = dict(r)
        for key in ("pauses", "warnings", "escalation"):
            d[key] = _json(d[key])
        out.append(d)
    return out


async def insert_clocks(scope: Scope, clocks: Sequence[Clock]) -> None:
    if not clocks:
        return
    names = ", ".join(n for n, _ in CLOCK_FIELDS)
    unnest = ", ".join(f"${i + 4}::{'text' if t == 'jsonb' else t}[]" for i, (_, t) in enumerate(CLOCK_FIELDS))
    select = ", ".join(f"x.{n}::jsonb" if t == "jsonb" else f"x.{n}" for n, t in CLOCK_FIELDS)
    await db.fetch(
        f"INSERT INTO sla_clock (tenant_id, updated_at, id, {names}) SELECT $1, $2, x.id, {select} "
        f"FROM unnest($3::uuid[], {unnest}) AS x(id, {names}) ON CONFLICT (tenant_id, ticket_id, metric, round) DO NOTHING",
        [scope.tenant_id, clock.now(), [c.id for c in clocks], *_clock_arrays(clocks)])


async def update_clocks(scope: Scope, clocks: Sequence[Clock]) -> None:
    if not clocks:
        return
    fields = [(n, t) for n, t in CLOCK_FIELDS if n in _MUTABLE]
    names = ", ".join(n for n, _ in fields)
    unnest = ", ".join(f"${i + 4}::{'text' if t == 'jsonb' else t}[]" for i, (_, t) in enumerate(fields))
    sets = ", ".join(f"{n} = x.{n}::jsonb" if t == "jsonb" else f"{n} = x.{n}" for n, t in fields)
    await db.fetch(
        f"UPDATE sla_clock c SET {sets}, updated_at = $2 FROM unnest($3::uuid[], {unnest}) AS x(id, {names}) "
        "WHERE c.tenant_id = $1 AND c.id = x.id",
        [scope.tenant_id, clock.now(), [c.id for c in clocks], *[[_clock_value(c, n) for c in clocks] for n, _ in fields]])


# ---- firings -----------------------------------------------------------------------------------

async def insert_firings(scope: Scope, rows: Sequence[dict]) -> set[uuid.UUID]:
    """Insert each firing unless its (ticket, metric, round, kind, level) fired before;
    returns the ids of those inserted (the ones that happen now)."""
    if not rows:
        return set()
    cols = ("id", "clock_id", "ticket_id", "metric", "round", "kind", "level", "reached_at", "notify_at", "notice", "noticed_at")
    types = ("uuid", "uuid", "uuid", "text", "int", "text", "int", "timestamptz", "timestamptz", "text", "timestamptz")
    unnest = ", ".join(f"${i + 3}::{t}[]" for i, t in enumerate(types))
    got = await db.fetch(
        f"WITH i AS (INSERT INTO sla_firing (tenant_id, fired_at, {', '.join(cols)}) SELECT $1, $2, x.* FROM unnest({unnest}) "
        f"AS x({', '.join(cols)}) ON CONFLICT (tenant_id, ticket_id, metric, round, kind, level) DO NOTHING RETURNING id) "
        "SELECT id FROM i", [scope.tenant_id, clock.now(), *([r[c] for r in rows] for c in cols)])
    return {r[0] for r in got}


async def due_notices(scope: Scope, clock_ids: Sequence[uuid.UUID], now: datetime) -> list[dict]:
    """The waiting notifications of these clocks whose time has come."""
    if not clock_ids:
        return []
    rows = await db.fetch("SELECT * FROM sla_firing WHERE tenant_id = $1 AND clock_id = ANY($2::uuid[]) AND notice = 'pending' "
                          "AND notify_at <= $3 ORDER BY reached_at, id", [scope.tenant_id, list(clock_ids), now])
    return [dict(r) for r in rows]


async def set_notices(scope: Scope, items: Sequence[tuple[uuid.UUID, str]]) -> None:
    """(firing id, sent or dropped): a waiting notification's end (only from pending)."""
    if items:
        await db.fetch(
            "UPDATE sla_firing f SET notice = x.notice, noticed_at = $2 FROM unnest($3::uuid[], $4::text[]) AS x(id, notice) "
            "WHERE f.tenant_id = $1 AND f.id = x.id AND f.notice = 'pending'",
            [scope.tenant_id, clock.now(), [i for i, _ in items], [n for _, n in items]])


async def drop_notices(scope: Scope, clock_ids: Sequence[uuid.UUID], *, warnings_only: bool = False) -> None:
    """A stopped clock's waiting notifications go unsent (a met clock's breach and escalation
    notices are still owed: `warnings_only`)."""
    if clock_ids:
        await db.fetch("UPDATE sla_firing SET notice = $3, noticed_at = $4 WHERE tenant_id = $1 AND clock_id = ANY($2::uuid[]) "
                       "AND notice = 'pending'" + (" AND kind = 'warning'" if warnings_only else ""),
                       [scope.tenant_id, list(clock_ids), Notice.DROPPED.value, clock.now()])


async def waiting_notices(scope: Scope, clock_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Each clock's earliest notification still waiting."""
    if not clock_ids:
        return {}
    rows = await db.fetch("SELECT clock_id, min(notify_at) FROM sla_firing WHERE tenant_id = $1 AND clock_id = ANY($2::uuid[]) "
                          "AND notice = 'pending' GROUP BY clock_id", [scope.tenant_id, list(clock_ids)])
    return {r[0]: r[1] for r in rows}


async def firings_of_tickets(scope: Scope, ticket_ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = await db.fetch("SELECT * FROM sla_firing WHERE tenant_id = $1 AND ticket_id = ANY($2::uuid[]) ORDER BY reached_at, id",
                          [scope.tenant_id, list(ticket_ids)])
    return [dict(r) for r in rows]


# ---- the people a firing tells -----------------------------------------------------------------

async def staff(scope: Scope, dealer_ids: Sequence[uuid.UUID], user_ids: Sequence[uuid.UUID]) -> list[tuple]:
    """(user id, role, dealer id, regions) of the active staff who may be told about tickets of
    these dealers: their managers and agents, every regional manager and brand admin, and the
    users named (the tickets' agents). The tenant module publishes `dealer_staff` (managers and
    agents together) only, so the roles are read here from its membership table."""
    rows = await db.fetch(
        "SELECT m.user_id, m.role, m.dealer_id, m.regions FROM membership m JOIN app_user u ON u.tenant_id = m.tenant_id AND u.id = m.user_id "
        "WHERE m.tenant_id = $1 AND u.is_active AND (m.dealer_id = ANY($2::uuid[]) OR m.role IN ('regional_manager', 'brand_admin') "
        "OR m.user_id = ANY($3::uuid[])) ORDER BY m.user_id", [scope.tenant_id, list(dealer_ids), list(user_ids)])
    return [(r[0], r[1], r[2], list(r[3] or ())) for r in rows]


# ---- the GraphQL view and reports --------------------------------------------------------------

async def visible_clocks(scope: Scope, ticket_ids: Sequence[uuid.UUID]) -> list[dict]:
    """The clocks of these tickets the scope may see (by the ticket's dealer)."""
    params: list = [scope.tenant_id, list(ticket_ids)]
    vis = dealer_visibility_sql(scope, params, "t.dealer_id")
    rows = await db.fetch(
        "SELECT c.*, " + _VERSION_KEY + " AS calendar_digest FROM sla_clock c JOIN sla_ticket t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id "
        "LEFT JOIN sla_calendar_version v ON v.tenant_id = c.tenant_id AND v.calendar_id = c.calendar_id AND v.version = c.calendar_version "
        f"WHERE c.tenant_id = $1 AND c.ticket_id = ANY($2::uuid[]){vis} ORDER BY c.ticket_id, c.round DESC, c.metric", params)
    return [_clock_dict(r) for r in rows]


async def clocks_by_ids(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict]:
    params: list = [scope.tenant_id, list(ids)]
    vis = dealer_visibility_sql(scope, params, "t.dealer_id")
    rows = await db.fetch(
        "SELECT c.*, " + _VERSION_KEY + " AS calendar_digest, t.number FROM sla_clock c JOIN sla_ticket t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id "
        "LEFT JOIN sla_calendar_version v ON v.tenant_id = c.tenant_id AND v.calendar_id = c.calendar_id AND v.version = c.calendar_version "
        f"WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]){vis}", params)
    return {r["id"]: _clock_dict(r) for r in rows}


def _clock_dict(r) -> dict:
    d = dict(r)
    for key in ("pauses", "warnings", "escalation"):
        d[key] = _json(d[key])
    return d


_OUTCOME_SQL = {
    "met": "c.state = 'met' AND c.breached_at IS NULL",
    "breached": "c.breached_at IS NOT NULL",
    "open": f"c.state IN {_OPEN} AND c.breached_at IS NULL",
    "cancelled": "c.state = 'cancelled' AND c.breached_at IS NULL",
}


def _report_where(scope: Scope, params: list, *, start: datetime, end: datetime, metrics: Sequence[str] | None,
                  dealer_ids: Sequence[uuid.UUID] | None = None, regions: Sequence[str] | None = None,
                  outcome: str | None = None, brand_only: bool = False) -> str:
    params += [start, end]
    sql = f" WHERE c.tenant_id = $1 AND c.started_at >= ${len(params) - 1} AND c.started_at < ${len(params)}"
    sql += dealer_visibility_sql(scope, params, "c.dealer_id")
    if metrics:
        params.append(list(metrics))
        sql += f" AND c.metric = ANY(${len(params)}::text[])"
    if dealer_ids:
        params.append(list(dealer_ids))
        sql += f" AND c.dealer_id = ANY(${len(params)}::uuid[])"
    if brand_only:
        sql += " AND c.dealer_id IS NULL"
    if regions:
        params.append(list(regions))
        sql += f" AND d.region = ANY(${len(params)}::text[])"
    if outcome:
        sql += f" AND {_OUTCOME_SQL[outcome]}"
    return sql


async def report(scope: Scope, *, start: datetime, end: datetime, tz: str, period: str, group: str,
                 metrics: Sequence[str] | None) -> list[dict]:
    """SLA outcomes by period (of the local date a clock started, in `tz`), dealer or region,
    and metric: one GROUP BY over the clocks that started in [start, end)."""
    params: list = [scope.tenant_id]
    where = _report_where(scope, params, start=start, end=end, metrics=metrics)
    params += [tz, period]
    tz_p, period_p = len(params) - 1, len(params)
    key = "c.dealer_id, d.code, d.name, d.region" if group == "dealer" else "d.region"
    rows = await db.fetch(
        f"SELECT date_trunc(${period_p}, c.started_at AT TIME ZONE ${tz_p})::date AS period, {key}, c.metric, count(*) AS total, "
        f"count(*) FILTER (WHERE {_OUTCOME_SQL['met']}) AS met, count(*) FILTER (WHERE {_OUTCOME_SQL['breached']}) AS breached, "
        f"count(*) FILTER (WHERE {_OUTCOME_SQL['open']}) AS open, count(*) FILTER (WHERE {_OUTCOME_SQL['cancelled']}) AS cancelled "
        "FROM sla_clock c LEFT JOIN dealer d ON d.tenant_id = c.tenant_id AND d.id = c.dealer_id"
        f"{where} GROUP BY 1, {key}, c.metric ORDER BY 1, {'d.code, c.dealer_id' if group == 'dealer' else 'd.region'}, c.metric",
        params)
    return [dict(r) for r in rows]


async def report_clocks(scope: Scope, *, start: datetime, end: datetime, metrics: Sequence[str] | None,
                        dealer_ids: Sequence[uuid.UUID] | None, regions: Sequence[str] | None, outcome: str | None,
                        brand_only: bool, page: PageArgs, max_size: int = 100) -> Page:
    """The clocks behind a report's cells, newest start first, keyset on (started_at, id)."""
    limit, _ = validate(page, default=20, maximum=max_size)
    params: list = [scope.tenant_id]
    where = _report_where(scope, params, start=start, end=end, metrics=metrics, dealer_ids=dealer_ids, regions=regions,
                          outcome=outcome, brand_only=brand_only)
    keyset, extra, order, backwards = keyset_clause(("c.started_at", "c.id"), page, len(params) + 1, descending=True,
                                                    parsers=(parse_datetime, None))
    params.extend(extra)
    rows = await db.fetch(
        "SELECT c.*, " + _VERSION_KEY + " AS calendar_digest, t.number, d.code AS dealer_code, d.name AS dealer_name, d.region "
        "FROM sla_clock c JOIN sla_ticket t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id "
        "LEFT JOIN dealer d ON d.tenant_id = c.tenant_id AND d.id = c.dealer_id "
        "LEFT JOIN sla_calendar_version v ON v.tenant_id = c.tenant_id AND v.calendar_id = c.calendar_id AND v.version = c.calendar_version"
        f"{where}{keyset} ORDER BY {order} LIMIT {limit + 1}", params)
    return build_page([_clock_dict(r) for r in rows], limit, backwards, page,
                      key=lambda r: [r["started_at"].isoformat(), r["id"]])
