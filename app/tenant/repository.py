"""The only place that queries tenant models. Every function takes the Scope first."""
from __future__ import annotations

import uuid
from typing import Iterable, Sequence

from tortoise.exceptions import IntegrityError

from app.core import clock, db
from app.core.pagination import Page, PageArgs, build_page, keyset_clause, validate
from app.core.permissions import Role
from app.core.tenancy import Membership as MembershipGrant
from app.core.tenancy import Scope
from app.tenant import errors as err
from app.tenant.models import BRAND_COLUMNS, DEALER_COLUMNS, BrandRow, Dealer, DealerRow, Membership, User

DEALER_ORDERS = {"NAME": ("name", "id"), "CODE": ("code", "id")}


def _dealer_visibility(scope: Scope, params: list, alias: str = "") -> str:
    if scope.all_dealers:
        return ""
    params.append(list(scope.dealer_ids or ()))
    params.append(list(scope.regions))
    n = len(params)
    return f" AND ({alias}id = ANY(${n - 1}::uuid[]) OR {alias}region = ANY(${n}::text[]))"


async def get_brand(scope: Scope) -> BrandRow | None:
    rows = await db.fetch(f"SELECT {BRAND_COLUMNS} FROM brand WHERE id = $1", [scope.tenant_id])
    return BrandRow(*rows[0]) if rows else None


async def dealers_by_ids(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, DealerRow]:
    params: list = [scope.tenant_id, list(ids)]
    sql = f"SELECT {DEALER_COLUMNS} FROM dealer WHERE tenant_id = $1 AND id = ANY($2::uuid[])" + _dealer_visibility(scope, params)
    return {r[0]: DealerRow(*r) for r in await db.fetch(sql, params)}


async def dealer_for_update(scope: Scope, dealer_id: uuid.UUID) -> Dealer | None:
    """The ORM object, locked for the rest of the transaction, if the scope may see it."""
    params: list = [scope.tenant_id, dealer_id]
    sql = "SELECT * FROM dealer WHERE tenant_id = $1 AND id = $2" + _dealer_visibility(scope, params) + " FOR UPDATE"
    rows = await db.conn().execute_query_dict(sql, params)
    return Dealer._init_from_db(**rows[0]) if rows else None


async def list_dealers(
    scope: Scope, page: PageArgs, *, regions: Iterable[str] | None = None, search: str | None = None,
    order: str = "NAME", default_size: int = 20, max_size: int = 100,
) -> Page:
    limit, _ = validate(page, default=default_size, maximum=max_size)
    params: list = [scope.tenant_id]
    sql = f"SELECT {DEALER_COLUMNS} FROM dealer WHERE tenant_id = $1" + _dealer_visibility(scope, params)
    if regions:
        params.append(list(regions))
        sql += f" AND region = ANY(${len(params)}::text[])"
    if search:
        params.append(f"%{_escape_like(search)}%")
        sql += f" AND (name ILIKE ${len(params)} OR code ILIKE ${len(params)})"
    columns = DEALER_ORDERS[order]
    where, extra, order_by, backwards = keyset_clause(columns, page, len(params) + 1)
    params.extend(extra)
    sql += f"{where} ORDER BY {order_by} LIMIT {limit + 1}"
    dealers = [DealerRow(*r) for r in await db.fetch(sql, params)]
    return build_page(dealers, limit, backwards, page, key=lambda d: [getattr(d, c) for c in columns])


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def create_dealer(scope: Scope, **values) -> Dealer:
    try:
        return await Dealer.create(tenant_id=scope.tenant_id, **values)
    except IntegrityError:
        raise err.CodeTaken("A dealer with this code already exists.", field="code") from None


async def save_dealer(scope: Scope, dealer: Dealer, fields: list[str]) -> Dealer:
    assert dealer.tenant_id == scope.tenant_id
    try:
        await dealer.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise err.CodeTaken("A dealer with this code already exists.", field="code") from None
    return dealer


async def recount_customers(scope: Scope, dealer_id: uuid.UUID) -> int | None:
    rows = await db.conn().execute_query_dict(
        """UPDATE dealer SET customer_count = (
               SELECT count(*) FROM customer WHERE tenant_id = $1 AND dealer_id = $2),
             customer_count_at = $3
           WHERE tenant_id = $1 AND id = $2 RETURNING customer_count""",
        [scope.tenant_id, dealer_id, clock.now()],
    )
    return rows[0]["customer_count"] if rows else None


async def users_by_ids(scope: Scope, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
    qs = User.filter(tenant_id=scope.tenant_id, id__in=list(ids))
    if not scope.all_dealers:
        # staff below brand level see themselves only
        qs = qs.filter(id=scope.actor.user_id)
    return {u.id: u for u in await qs}


async def memberships_of_users(scope: Scope, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[MembershipGrant]]:
    rows = await db.conn().execute_query_dict(
        "SELECT user_id, role, dealer_id, regions FROM membership WHERE tenant_id = $1 AND user_id = ANY($2::uuid[]) ORDER BY role",
        [scope.tenant_id, list(user_ids)],
    )
    out: dict[uuid.UUID, list[MembershipGrant]] = {}
    for r in rows:
        out.setdefault(r["user_id"], []).append(MembershipGrant(Role(r["role"]), r["dealer_id"], frozenset(r["regions"] or ())))
    return out


async def dealer_ids_by_code(scope: Scope) -> dict[str, uuid.UUID]:
    rows = await db.fetch("SELECT code, id FROM dealer WHERE tenant_id = $1", [scope.tenant_id])
    return {r["code"]: r["id"] for r in rows}


async def list_users(scope: Scope, page: PageArgs, *, max_size: int = 100) -> Page:
    limit, _ = validate(page, default=20, maximum=max_size)
    if not scope.all_dealers:
        return build_page([], limit, False, page, key=lambda u: [])
    where, extra, order, backwards = keyset_clause(("email", "id"), page, 2)
    rows = await db.conn().execute_query_dict(
        f"SELECT * FROM app_user WHERE tenant_id = $1{where} ORDER BY {order} LIMIT {limit + 1}", [scope.tenant_id, *extra])
    users = [User._init_from_db(**r) for r in rows]
    return build_page(users, limit, backwards, page, key=lambda u: [u.email, u.id])


async def user_for_update(scope: Scope, user_id: uuid.UUID) -> User | None:
    rows = await db.conn().execute_query_dict("SELECT * FROM app_user WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                                              [scope.tenant_id, user_id])
    return User._init_from_db(**rows[0]) if rows else None


async def create_user(scope: Scope, /, **values) -> User:
    try:
        return await User.create(tenant_id=scope.tenant_id, **values)
    except IntegrityError:
        raise err.EmailTaken("A user with this e-mail already exists.", field="email") from None


async def save_user(scope: Scope, user: User, fields: list[str]) -> None:
    assert user.tenant_id == scope.tenant_id
    await user.save(update_fields=fields)


async def replace_memberships(scope: Scope, user_id: uuid.UUID, grants: list[MembershipGrant]) -> None:
    await Membership.filter(tenant_id=scope.tenant_id, user_id=user_id).delete()
    for g in grants:
        await Membership.create(tenant_id=scope.tenant_id, user_id=user_id, role=g.role, dealer_id=g.dealer_id,
                                regions=sorted(g.regions))


async def is_dealer_staff(scope: Scope, user_id: uuid.UUID, dealer_id: uuid.UUID) -> bool:
    rows = await db.fetch(
        "SELECT 1 FROM membership m JOIN app_user u ON u.tenant_id = m.tenant_id AND u.id = m.user_id "
        "WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.dealer_id = $3 AND m.role IN ('dealer_manager', 'dealer_agent') "
        "AND u.is_active", [scope.tenant_id, user_id, dealer_id])
    return bool(rows)


async def dealer_staff_ids(scope: Scope, dealer_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await db.fetch(
        "SELECT DISTINCT m.user_id FROM membership m JOIN app_user u ON u.tenant_id = m.tenant_id AND u.id = m.user_id "
        "WHERE m.tenant_id = $1 AND m.dealer_id = $2 AND m.role IN ('dealer_manager', 'dealer_agent') AND u.is_active "
        "ORDER BY m.user_id", [scope.tenant_id, dealer_id])
    return [r[0] for r in rows]
