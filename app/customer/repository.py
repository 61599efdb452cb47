"""The only place that queries customer-archive models. Scope first, always."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from app.core import clock, db
from app.core.ids import uuid7
from app.core.pagination import Page, PageArgs, build_page, keyset_clause, parse_datetime, validate
from app.core.permissions import Perm
from app.core.rows import reader
from app.core.tenancy import Scope, dealer_visibility_sql
from app.customer import links
from app.customer.models import (
    ContactPoint,
    Customer,
    CustomerEvent,
    ExternalRef,
    Interaction,
    OwnedProduct,
    Promise,
    TierChange,
    TierPolicy,
    WinbackAction,
)

ORDERS = {
    # name: (columns, descending, parsers, extra where)
    "NAME": (("name", "id"), False, None, ""),
    "CREATED_AT": (("created_at", "id"), True, (parse_datetime, None), ""),
    "LAST_SURVEY_SCORE": (("last_survey_score", "id"), False, (float, None), " AND c.last_survey_score IS NOT NULL"),
}


@dataclass
class CustomerFilter:
    tiers: Sequence[str] | None = None
    dealer_ids: Sequence[uuid.UUID] | None = None
    regions: Sequence[str] | None = None
    tags: Sequence[str] | None = None
    churn_statuses: Sequence[str] | None = None
    has_open_ticket: bool | None = None
    last_survey_score_below: float | None = None
    search: str | None = None
    include_merged: bool = False


def visibility_sql(scope: Scope, params: list, alias: str = "c.") -> str:
    """Dealer staff: their dealers' customers; regional managers: customers of dealers in their
    regions; brand staff and unrestricted apps: every customer of the brand."""
    return dealer_visibility_sql(scope, params, f"{alias}dealer_id")


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_pattern(term: str) -> str:
    """Phone-like terms match on digits (spaces, dashes, +86 written any way, digits of any
    script). A Chinese number with its country code (+86 / 0086 / 86 and eleven digits) is
    searched by its national digits: the E.164 form stored since migration 0014 contains them,
    and so do older rows that were stored without +86."""
    from app.customer.service import ascii_digits

    t = ascii_digits(term.strip().lower())
    digits = "".join(ch for ch in t if ch.isascii() and ch.isdigit())
    if len(digits) >= 4 and len(digits) >= len(t.replace(" ", "").replace("-", "").replace("+", "")) - 1:
        t = digits
        for prefix in ("0086", "86"):
            if t.startswith(prefix) and len(t) == len(prefix) + 11 and t[len(prefix)] == "1":
                t = t[len(prefix):]
                break
    return f"%{_escape_like(t)}%"


async def _visible_dealers(scope: Scope, f: CustomerFilter) -> set[uuid.UUID] | None:
    """The dealer set a list may return, resolved to ids up front (None = no restriction), so
    the query can use the (tenant_id, dealer_id, name, id) index instead of an OR of subqueries."""
    allowed: set[uuid.UUID] | None = None
    if not scope.all_dealers:
        allowed = set(scope.dealer_ids or ())
        if scope.regions:
            rows = await db.fetch("SELECT id FROM dealer WHERE tenant_id = $1 AND region = ANY($2::text[])",
                                  [scope.tenant_id, list(scope.regions)])
            allowed |= {r[0] for r in rows}
    if f.dealer_ids is not None:
        allowed = set(f.dealer_ids) if allowed is None else allowed & set(f.dealer_ids)
    if f.regions:
        rows = await db.fetch("SELECT id FROM dealer WHERE tenant_id = $1 AND region = ANY($2::text[])",
                              [scope.tenant_id, list(f.regions)])
        region_ids = {r[0] for r in rows}
        allowed = region_ids if allowed is None else allowed & region_ids
    return allowed


def _one_or_any(column: str, values: Sequence, params: list, cast: str) -> str:
    params.append(values[0] if len(values) == 1 else list(values))
    n = len(params)
    return f" AND {column} = ${n}" if len(values) == 1 else f" AND {column} = ANY(${n}::{cast}[])"


async def list_customers(scope: Scope, page: PageArgs, f: CustomerFilter, *, order: str = "NAME", max_size: int = 100) -> Page:
    limit, _ = validate(page, default=20, maximum=max_size)
    columns, descending, parsers, extra = ORDERS[order]
    params: list = [scope.tenant_id]
    head = ""
    r = reader(Customer)
    sql = f"SELECT {r.columns('c')} FROM customer c WHERE c.tenant_id = $1" + extra
    dealers = await _visible_dealers(scope, f)
    if dealers is not None:
        if not dealers:
            return build_page([], limit, False, page, key=lambda c: [])
        sql += _one_or_any("c.dealer_id", sorted(dealers), params, "uuid")
    if not f.include_merged:
        sql += " AND c.merged_into_id IS NULL"
    if f.tiers:
        sql += _one_or_any("c.tier", sorted(set(f.tiers)), params, "text")
    if f.tags:
        params.append(list(f.tags))
        sql += f" AND c.tags @> ${len(params)}::text[]"
    if f.churn_statuses:
        statuses = sorted(set(f.churn_statuses))
        sql += _one_or_any("c.churn_status", statuses, params, "text")
        if "active" not in statuses:
            sql += " AND c.churn_status <> 'active'"  # lets the partial index serve it
    if f.has_open_ticket is True:
        sql += " AND c.open_ticket_count > 0"
    elif f.has_open_ticket is False:
        sql += " AND c.open_ticket_count = 0"
    if f.last_survey_score_below is not None:
        params.append(f.last_survey_score_below)
        sql += f" AND c.last_survey_score < ${len(params)}"
    if f.search:
        # without customers:pii only names and external ids are searched: substring search over
        # contact details would let a caller who sees them masked probe them digit by digit
        pii = scope.can(Perm.CUSTOMERS_PII)
        params.append(search_pattern(f.search) if pii else f"%{_escape_like(f.search.strip().lower())}%")
        n = len(params)
        if len(f.search.strip()) >= 3 and await _sparse_hits(params[-1], pii):
            # few hits: the trigram index finds them first (customer_search_ids, migrations 0007,
            # 0008, 0015: index-assisted under RLS, tenant-filtered); ordering touches only those
            params.append(pii)
            head = f"WITH hits AS MATERIALIZED (SELECT customer_search_ids(${n}, ${n + 1}) AS id) "
            sql += " AND c.id IN (SELECT id FROM hits)"
        else:
            # short or common terms: walk the ordering index and test each row, stopping at the
            # page; with hits this dense a page is found within a few thousand rows
            sql += f" AND c.{'search_text' if pii else 'search_name'} LIKE ${n}"
    qualified = tuple(f"c.{c}" for c in columns)
    where, extra_params, order_by, backwards = keyset_clause(qualified, page, len(params) + 1, descending=descending, parsers=parsers)
    params.extend(extra_params)
    sql = f"{head}{sql}{where} ORDER BY {order_by} LIMIT {limit + 1}"
    customers = [r.row(rec) for rec in await db.fetch(sql, params)]

    def key(c):
        return [getattr(c, col).isoformat() if isinstance(getattr(c, col), datetime) else getattr(c, col) for col in columns]

    return build_page(customers, limit, backwards, page, key=key)


SEARCH_DENSE_HITS = 2000


async def _sparse_hits(pattern: str, pii: bool) -> bool:
    """At most SEARCH_DENSE_HITS matches? Counting stops one past the bound (the function
    streams), so a term matching half a million customers costs what one matching 2,001 does."""
    rows = await db.fetch(f"SELECT count(*) FROM (SELECT customer_search_ids($1, $2) LIMIT {SEARCH_DENSE_HITS + 1}) h",
                          [pattern, pii])
    return rows[0][0] <= SEARCH_DENSE_HITS


async def customers_by_ids(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """Read rows (app.core.rows: the customer's attributes, immutable); `customer_for_update` for a write."""
    r = reader(Customer)
    params: list = [scope.tenant_id, list(ids)]
    sql = f"SELECT {r.columns('c')} FROM customer c WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[])" + visibility_sql(scope, params)
    return {c.id: c for c in map(r.row, await db.fetch(sql, params))}


async def customer_for_update(scope: Scope, customer_id: uuid.UUID) -> Customer | None:
    params: list = [scope.tenant_id, customer_id]
    sql = "SELECT c.* FROM customer c WHERE c.tenant_id = $1 AND c.id = $2" + visibility_sql(scope, params) + " FOR UPDATE"
    rows = await db.conn().execute_query_dict(sql, params)
    return Customer._init_from_db(**rows[0]) if rows else None


async def customers_for_update(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    params: list = [scope.tenant_id, list(ids)]
    sql = ("SELECT c.* FROM customer c WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[])" + visibility_sql(scope, params)
           + " ORDER BY c.id FOR UPDATE")
    rows = await db.conn().execute_query_dict(sql, params)
    return {r["id"]: Customer._init_from_db(**r) for r in rows}


async def merged_into(scope: Scope, customer_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await db.fetch("SELECT id FROM customer WHERE tenant_id = $1 AND merged_into_id = $2", [scope.tenant_id, customer_id])
    return [r[0] for r in rows]


async def all_events(scope: Scope, customer_id: uuid.UUID) -> list[CustomerEvent]:
    return await CustomerEvent.filter(tenant_id=scope.tenant_id, customer_id=customer_id).order_by("occurred_at", "id")


async def create_customer(scope: Scope, /, **values) -> Customer:
    return await Customer.create(tenant_id=scope.tenant_id, **values)


async def save_customer(scope: Scope, c: Customer, fields: list[str]) -> None:
    assert c.tenant_id == scope.tenant_id
    await c.save(update_fields=[*fields, "updated_at"])


async def _children(model, scope: Scope, ids: Sequence[uuid.UUID], order: tuple[str, ...]) -> dict[uuid.UUID, list]:
    out: dict[uuid.UUID, list] = {i: [] for i in ids}
    for row in await model.filter(tenant_id=scope.tenant_id, customer_id__in=list(ids)).order_by(*order):
        out[row.customer_id].append(row)
    return out


async def contacts_of(scope: Scope, ids) -> dict[uuid.UUID, list[ContactPoint]]:
    return await _children(ContactPoint, scope, ids, ("-is_primary", "channel", "created_at"))


async def external_refs_of(scope: Scope, ids) -> dict[uuid.UUID, list[ExternalRef]]:
    return await _children(ExternalRef, scope, ids, ("source", "external_id"))


async def products_of(scope: Scope, ids) -> dict[uuid.UUID, list[OwnedProduct]]:
    return await _children(OwnedProduct, scope, ids, ("purchase_date", "created_at"))


async def promises_of(scope: Scope, ids) -> dict[uuid.UUID, list[Promise]]:
    return await _children(Promise, scope, ids, ("-created_at",))


async def interactions_of(scope: Scope, ids) -> dict[uuid.UUID, list[Interaction]]:
    return await _children(Interaction, scope, ids, ("-occurred_at",))


async def winbacks_of(scope: Scope, ids) -> dict[uuid.UUID, list[WinbackAction]]:
    return await _children(WinbackAction, scope, ids, ("-occurred_at",))


async def tier_history_of(scope: Scope, ids) -> dict[uuid.UUID, list[TierChange]]:
    return await _children(TierChange, scope, ids, ("-at",))


# ---- capped child lists for the API: the first n rows per customer, one statement per batch ------

LIMITED = {
    # name: (model, ORDER BY within one customer, filter column or None)
    "external_refs": (ExternalRef, "t.source, t.external_id", None),
    "products": (OwnedProduct, "t.purchase_date NULLS LAST, t.created_at, t.id", None),
    "promises": (Promise, "t.created_at DESC, t.id DESC", "status"),
    "interactions": (Interaction, "t.occurred_at DESC, t.id DESC", None),
    "winbacks": (WinbackAction, "t.occurred_at DESC, t.id DESC", None),
    "tier_history": (TierChange, "t.at DESC, t.id DESC", None),
}


async def children_limited(scope: Scope, name: str, keys: Sequence[tuple]) -> dict[tuple, list]:
    """`keys` are (customer_id, n) or, for lists with a filter, (customer_id, n, value or None).
    Returns {key: the first n rows of that customer} from ONE statement: the limit is applied in
    SQL per customer (row_number() over a partition per key), never by loading every row."""
    model, order, filter_col = LIMITED[name]
    keys = list(dict.fromkeys(keys))
    out: dict[tuple, list] = {k: [] for k in keys}
    if not keys:
        return out
    params: list = [scope.tenant_id, [k[0] for k in keys], [int(k[1]) for k in keys]]
    cols, cond = "customer_id, n", ""
    if filter_col:
        params.append([k[2] for k in keys])
        cols += ", f"
        cond = f" AND (k.f IS NULL OR t.{filter_col} = k.f)"
    table = model._meta.db_table
    unnest = "unnest($2::uuid[], $3::int[]" + (", $4::text[]" if filter_col else "") + ")"
    sql = f"""SELECT x.* FROM (
                SELECT t.*, k.n AS _k_n{', k.f AS _k_f' if filter_col else ''},
                       row_number() OVER (PARTITION BY k.customer_id, k.n{', k.f' if filter_col else ''} ORDER BY {order}) AS _k_rn
                  FROM {unnest} AS k({cols})
                  JOIN {table} t ON t.tenant_id = $1 AND t.customer_id = k.customer_id{cond}) x
             WHERE x._k_rn <= x._k_n ORDER BY x._k_rn"""
    for r in await db.conn().execute_query_dict(sql, params):
        key = (r.pop("customer_id"), r.pop("_k_n")) + ((r.pop("_k_f"),) if filter_col else ())
        r.pop("_k_rn")
        out[key].append(model._init_from_db(customer_id=key[0], **r))
    return out


async def first_purchase_dates(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime | None]:
    rows = await db.fetch("SELECT customer_id, min(purchase_date) FROM customer_product WHERE tenant_id = $1 "
                          "AND customer_id = ANY($2::uuid[]) GROUP BY customer_id", [scope.tenant_id, list(ids)])
    return {r[0]: r[1] for r in rows}


async def replace_contacts(scope: Scope, customer_id: uuid.UUID, contacts: list[dict]) -> None:
    await ContactPoint.filter(tenant_id=scope.tenant_id, customer_id=customer_id).delete()
    for c in contacts:
        await ContactPoint.create(tenant_id=scope.tenant_id, customer_id=customer_id, **c)


async def replace_external_refs(scope: Scope, customer_id: uuid.UUID, refs: list[dict]) -> None:
    """In a savepoint: when a concurrent writer took a reference the unique constraint fails
    this unit alone and the transaction stays usable (tortoise IntegrityError is re-raised)."""
    async with db.savepoint():
        await ExternalRef.filter(tenant_id=scope.tenant_id, customer_id=customer_id).delete()
        for r in refs:
            await ExternalRef.create(tenant_id=scope.tenant_id, customer_id=customer_id, **r)


async def external_ref_owner(scope: Scope, source: str, external_id: str) -> uuid.UUID | None:
    ref = await ExternalRef.get_or_none(tenant_id=scope.tenant_id, source=source, external_id=external_id)
    return ref.customer_id if ref else None


async def add(scope: Scope, model, /, **values):
    return await model.create(tenant_id=scope.tenant_id, **values)


async def promise_for_update(scope: Scope, promise_id: uuid.UUID) -> Promise | None:
    rows = await db.conn().execute_query_dict(
        "SELECT * FROM customer_promise WHERE tenant_id = $1 AND id = $2 FOR UPDATE", [scope.tenant_id, promise_id])
    return Promise._init_from_db(**rows[0]) if rows else None


async def add_event(scope: Scope, customer_id: uuid.UUID, kind: str, occurred_at: datetime, *,
                    ref_type: str | None = None, ref_id: uuid.UUID | None = None, summary: dict | None = None) -> None:
    summary = dict(summary or {})
    summary.setdefault("by", scope.actor.label)  # who did it: shown as TimelineEntry.actor
    await CustomerEvent.create(tenant_id=scope.tenant_id, customer_id=customer_id, kind=kind, occurred_at=occurred_at,
                               ref_type=ref_type, ref_id=ref_id, summary=summary)


async def timeline(scope: Scope, customer_id: uuid.UUID, page: PageArgs, kinds: Sequence[str] | None = None,
                   max_size: int = 100) -> Page:
    limit, _ = validate(page, default=20, maximum=max_size)
    params: list = [scope.tenant_id, customer_id]
    sql = "SELECT * FROM customer_event WHERE tenant_id = $1 AND customer_id = $2"
    if kinds:
        params.append([k for k in kinds if k != links.OTHER_KIND])
        match = f"kind = ANY(${len(params)}::text[])"
        if links.OTHER_KIND in kinds:  # OTHER: the kinds no module registered
            params.append(list(links.TIMELINE_KINDS))
            match = f"({match} OR kind <> ALL(${len(params)}::text[]))"
        sql += f" AND {match}"
    where, extra, order, backwards = keyset_clause(("occurred_at", "id"), page, len(params) + 1, descending=True,
                                                   parsers=(parse_datetime, None))
    params.extend(extra)
    rows = await db.conn().execute_query_dict(f"{sql}{where} ORDER BY {order} LIMIT {limit + 1}", params)
    events = [CustomerEvent._init_from_db(**r) for r in rows]
    return build_page(events, limit, backwards, page, key=lambda e: [e.occurred_at.isoformat(), e.id])


async def move_children(scope: Scope, from_id: uuid.UUID, to_id: uuid.UUID) -> None:
    conn = db.conn()
    # a contact point the survivor already has would collide: keep the survivor's
    await conn.execute_query(
        """DELETE FROM customer_contact d WHERE d.tenant_id = $1 AND d.customer_id = $2 AND EXISTS (
             SELECT 1 FROM customer_contact s WHERE s.tenant_id = $1 AND s.customer_id = $3
               AND s.channel = d.channel AND s.normalized = d.normalized)""", [scope.tenant_id, from_id, to_id])
    # every table that points at a customer, whichever module registered it (app/customer/links)
    for t in links.CUSTOMER_TABLES.values():
        if t.on_merge == "move":
            keep = f" AND ({t.merge_where})" if t.merge_where else ""
            await conn.execute_query(f"UPDATE {t.table} SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2{keep}",
                                     [scope.tenant_id, from_id, to_id])
    # exactly one primary contact point per channel afterwards: the earliest-created primary
    await conn.execute_query(
        """UPDATE customer_contact x SET is_primary = (x.id = p.keep)
             FROM (SELECT DISTINCT ON (channel) channel,
                          first_value(id) OVER (PARTITION BY channel ORDER BY is_primary DESC, created_at, id) AS keep
                     FROM customer_contact WHERE tenant_id = $1 AND customer_id = $2) p
            WHERE x.tenant_id = $1 AND x.customer_id = $2 AND x.channel = p.channel""", [scope.tenant_id, to_id])
    await conn.execute_query("UPDATE customer SET merged_into_id = $3 WHERE tenant_id = $1 AND merged_into_id = $2",
                             [scope.tenant_id, from_id, to_id])


async def erase_children(scope: Scope, customer_id: uuid.UUID) -> None:
    """Delete what only identifies the person; keep anonymous history rows for aggregates. What
    each table does is registered with it (app/customer/links.customer_table)."""
    conn = db.conn()
    for t in links.CUSTOMER_TABLES.values():
        for statement in t.erase:
            await conn.execute_query(statement, [scope.tenant_id, customer_id])


async def tier_policy(scope: Scope) -> TierPolicy | None:
    return await TierPolicy.get_or_none(tenant_id=scope.tenant_id)


async def save_tier_policy(scope: Scope, values: dict) -> TierPolicy:
    policy = await TierPolicy.get_or_none(tenant_id=scope.tenant_id)
    if policy is None:
        return await TierPolicy.create(tenant_id=scope.tenant_id, **values)
    for k, v in values.items():
        setattr(policy, k, v)
    await policy.save()
    return policy


async def recompute_tiers(scope: Scope, p: TierPolicy | dict, customer_ids: Sequence[uuid.UUID] | None = None) -> int:
    """One statement per brand: score every customer from the formula, write the new tier where
    it changed, and record history and timeline entries for exactly those rows."""
    from decimal import Decimal

    get = (lambda k: p[k]) if isinstance(p, dict) else (lambda k: getattr(p, k))
    # numeric throughout (parameters cast explicitly): fractional weights are not truncated to
    # the type PostgreSQL would infer from count(*), and large weights cannot overflow an integer
    params: list = [scope.tenant_id, *(Decimal(repr(float(get(k)))) for k in
                                       ("w_purchases", "w_spend", "w_tenure", "w_referrals", "a_min", "b_min")), clock.now()]
    at = "$8::timestamptz"  # the one clock, not the database's now()
    only = ""
    if customer_ids is not None:
        params.append(list(customer_ids))
        only = f" AND c.id = ANY(${len(params)}::uuid[])"
    rows = await db.conn().execute_query_dict(f"""
        WITH facts AS (
          SELECT c.id, c.tier AS old_tier,
                 (SELECT count(*) FROM customer_product p WHERE p.tenant_id = c.tenant_id AND p.customer_id = c.id) AS purchases,
                 (SELECT min(p.purchase_date) FROM customer_product p WHERE p.tenant_id = c.tenant_id AND p.customer_id = c.id) AS first_purchase,
                 c.service_spend, c.referrals, c.created_at
            FROM customer c
           WHERE c.tenant_id = $1 AND c.merged_into_id IS NULL AND c.erased_at IS NULL{only}
        ), scored AS (
          SELECT id, old_tier,
                 round($2::numeric * purchases::numeric + $3::numeric * service_spend::numeric / 1000 +
                       $4::numeric * GREATEST(0, EXTRACT(EPOCH FROM {at} - COALESCE(first_purchase::timestamptz, created_at)) / 31557600)::numeric +
                       $5::numeric * referrals::numeric, 2) AS exact
            FROM facts
        ), tiered AS (
          SELECT id, old_tier, exact::float8 AS score,
                 CASE WHEN exact >= $6::numeric THEN 'A' WHEN exact >= $7::numeric THEN 'B' ELSE 'C' END AS tier FROM scored
        ), updated AS (
          UPDATE customer c SET tier = t.tier, tier_score = t.score, tier_updated_at = {at}
            FROM tiered t WHERE c.tenant_id = $1 AND c.id = t.id
             AND (c.tier IS DISTINCT FROM t.tier OR c.tier_score IS DISTINCT FROM t.score)
          RETURNING c.id, t.old_tier, t.tier, t.score
        ), history AS (
          INSERT INTO customer_tier_change (id, tenant_id, customer_id, from_tier, to_tier, score, at)
          SELECT gen_random_uuid(), $1, id, old_tier, tier, score, {at} FROM updated WHERE old_tier IS DISTINCT FROM tier
          RETURNING customer_id, from_tier, to_tier
        ), events AS (
          INSERT INTO customer_event (id, tenant_id, customer_id, kind, occurred_at, ref_type, summary)
          SELECT gen_random_uuid(), $1, customer_id, 'tier_changed', {at}, 'tier',
                 jsonb_build_object('from', from_tier, 'to', to_tier) FROM history
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM history) AS changed""", params)
    return rows[0]["changed"]


async def child_row(scope: Scope, model, pk: uuid.UUID):
    """A promise or product by id; callers check the owning customer's visibility."""
    return await model.get_or_none(tenant_id=scope.tenant_id, id=pk)


async def add_tombstones(scope: Scope, hashes: Sequence[str], at: datetime) -> None:
    for h in hashes:
        await db.conn().execute_query(
            "INSERT INTO customer_tombstone (id, tenant_id, ref_hash, erased_at) VALUES (gen_random_uuid(), $1, $2, $3) "
            "ON CONFLICT (tenant_id, ref_hash) DO NOTHING", [scope.tenant_id, h, at])


async def tombstoned(scope: Scope, hashes: Sequence[str]) -> set[str]:
    rows = await db.fetch("SELECT ref_hash FROM customer_tombstone WHERE tenant_id = $1 AND ref_hash = ANY($2::text[])",
                          [scope.tenant_id, list(hashes)])
    return {r[0] for r in rows}


async def adjust_open_tickets(scope: Scope, customer_id: uuid.UUID, delta: int) -> None:
    await db.fetch("UPDATE customer SET open_ticket_count = GREATEST(0, open_ticket_count + $3) WHERE tenant_id = $1 AND id = $2",
                   [scope.tenant_id, customer_id, delta])


# ---- batches other modules write through the service (survey intake, ticket events) -------------

async def adjust_open_tickets_many(scope: Scope, deltas: dict[uuid.UUID, int]) -> None:
    if deltas:
        await db.fetch(
            "UPDATE customer c SET open_ticket_count = GREATEST(0, c.open_ticket_count + d.delta) "
            "FROM unnest($2::uuid[], $3::int[]) AS d(id, delta) WHERE c.tenant_id = $1 AND c.id = d.id",
            [scope.tenant_id, list(deltas), list(deltas.values())])


async def add_events_many(scope: Scope, rows: Sequence[tuple]) -> None:
    """Timeline entries: (customer_id, kind, occurred_at, ref_type, ref_id, summary dict)."""
    if not rows:
        return
    import orjson

    by = scope.actor.label
    await db.fetch(
        "INSERT INTO customer_event (id, tenant_id, customer_id, kind, occurred_at, ref_type, ref_id, summary) "
        "SELECT e.id, $1, e.customer_id, e.kind, e.at, e.ref_type, e.ref_id, e.summary::jsonb "
        "FROM unnest($8::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::uuid[], $7::text[]) "
        "AS e(id, customer_id, kind, at, ref_type, ref_id, summary)",
        [scope.tenant_id, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
         [r[4] for r in rows], [orjson.dumps({"by": by, **(r[5] or {})}).decode() for r in rows],
         [uuid7() for _ in rows]])  # time-ordered ids: appended to the key's right edge, not scattered over it


async def set_latest_scores(scope: Scope, rows: Sequence[tuple]) -> None:
    """(customer_id, score, at): each customer's latest score, where it is newer than the stored one."""
    if rows:
        await db.fetch(
            "UPDATE customer c SET last_survey_score = s.score, last_survey_at = s.at, updated_at = now() FROM ("
            "  SELECT DISTINCT ON (id) id, score, at FROM unnest($2::uuid[], $3::float8[], $4::timestamptz[]) AS x(id, score, at)"
            "  ORDER BY id, at DESC) s "
            "WHERE c.tenant_id = $1 AND c.id = s.id AND (c.last_survey_at IS NULL OR c.last_survey_at <= s.at)",
            [scope.tenant_id, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]])


async def match_customers(scope: Scope, refs: Sequence[tuple[str, str]], phones: Sequence[str], emails: Sequence[str]):
    """Live customers (not merged away, not erased) the scope may see, by external reference,
    normalised phone and normalised e-mail: three index lookups for a whole batch. Where a phone
    or e-mail is shared, the most recently created customer is taken."""
    params: list = [scope.tenant_id, [r[0] for r in refs], [r[1] for r in refs], list(phones), list(emails)]
    vis = dealer_visibility_sql(scope, params, "c.dealer_id")
    live = "c.merged_into_id IS NULL AND c.erased_at IS NULL" + vis
    rows = await db.fetch(
        # one probe of the unique key per reference, whatever the planner thinks of the brand's size
        "SELECT 'ref', r.source || chr(31) || r.external_id, c.id, c.dealer_id, c.tier, c.created_at "
        "FROM unnest($2::text[], $3::text[]) AS k(s, e) CROSS JOIN LATERAL (SELECT * FROM customer_external_ref "
        "WHERE tenant_id = $1 AND source = k.s AND external_id = k.e) r "
        f"JOIN customer c ON c.tenant_id = r.tenant_id AND c.id = r.customer_id WHERE {live} "
        "UNION ALL SELECT x.channel, x.normalized, c.id, c.dealer_id, c.tier, c.created_at FROM customer_contact x "
        "JOIN customer c ON c.tenant_id = x.tenant_id AND c.id = x.customer_id WHERE x.tenant_id = $1 "
        f"AND ((x.channel = 'phone' AND x.normalized = ANY($4::text[])) OR (x.channel = 'email' AND x.normalized = ANY($5::text[]))) "
        f"AND {live} ORDER BY 6", params)
    found: dict[tuple[str, str], tuple] = {}
    for kind, key, cid, dealer_id, tier, _ in rows:  # ascending creation: the newest wins
        found[(kind, key)] = (cid, dealer_id, tier)
    return found
