"""Survey queries. Results are customer data: a dealer-bound caller reads only the results of
the dealers it may see (dealer_visibility_sql); templates and rules are the brand's."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Sequence

import orjson

from app.core import db
from app.core.pagination import Page, PageArgs, build_page, keyset_clause, parse_datetime, validate
from app.core.tenancy import Scope, dealer_visibility_sql
from app.survey.models import ResultRow, SelectionRule, SurveyTemplate


async def templates(scope: Scope) -> list[SurveyTemplate]:
    return await SurveyTemplate.filter(tenant_id=scope.tenant_id).order_by("code")


async def templates_by_ids(scope: Scope, ids) -> dict[uuid.UUID, SurveyTemplate]:
    return {t.id: t for t in await SurveyTemplate.filter(tenant_id=scope.tenant_id, id__in=list(ids))}


async def template_by_code(scope: Scope, code: str, *, lock: bool = False) -> SurveyTemplate | None:
    q = SurveyTemplate.filter(tenant_id=scope.tenant_id, code=code)
    return await (q.select_for_update() if lock else q).first()


async def add_template(scope: Scope, **values) -> SurveyTemplate | None:
    """None when the code was taken meanwhile."""
    rows = await db.conn().execute_query_dict(
        "WITH i AS (INSERT INTO survey_template (id, tenant_id, code, name, questions, active, created_at, updated_at) "
        "VALUES (gen_random_uuid(), $1, $2, $3, $4::jsonb, $5, now(), now()) ON CONFLICT (tenant_id, code) DO NOTHING RETURNING *) "
        "SELECT * FROM i", [scope.tenant_id, values["code"], values["name"], orjson.dumps(values["questions"]).decode(), values["active"]])
    return SurveyTemplate._init_from_db(**rows[0]) if rows else None


async def rules(scope: Scope, *, lock: bool = False) -> list[SelectionRule]:
    q = SelectionRule.filter(tenant_id=scope.tenant_id).order_by("position", "created_at", "id")
    return list(await (q.select_for_update() if lock else q))


async def rule_for_update(scope: Scope, rule_id: uuid.UUID) -> SelectionRule | None:
    return await SelectionRule.filter(tenant_id=scope.tenant_id, id=rule_id).select_for_update().first()


async def insert_rule(scope: Scope, values: dict, position: int) -> SelectionRule:
    """At `position`, moving the rules from there on one down (the brand's rules locked meanwhile)."""
    await rules(scope, lock=True)
    await db.fetch("UPDATE survey_selection_rule SET position = position + 1 WHERE tenant_id = $1 AND position >= $2",
                   [scope.tenant_id, position])
    return await SelectionRule.create(tenant_id=scope.tenant_id, position=position, **values)


async def set_positions(scope: Scope, ids: Sequence[uuid.UUID]) -> None:
    await db.fetch("UPDATE survey_selection_rule r SET position = x.n - 1 FROM unnest($2::uuid[]) WITH ORDINALITY AS x(id, n) "
                   "WHERE r.tenant_id = $1 AND r.id = x.id", [scope.tenant_id, list(ids)])


async def delete_rule(scope: Scope, rule_id: uuid.UUID) -> bool:
    return bool(await SelectionRule.filter(tenant_id=scope.tenant_id, id=rule_id).delete())


# ---- results ------------------------------------------------------------------------------------

def _visible(scope: Scope, params: list) -> str:
    return dealer_visibility_sql(scope, params, "dealer_id")


async def results_by_ids(scope: Scope, ids) -> dict[uuid.UUID, ResultRow]:
    params: list = [scope.tenant_id, list(ids)]
    rows = await db.conn().execute_query_dict(
        "SELECT * FROM survey_result WHERE tenant_id = $1 AND id = ANY($2::uuid[])" + _visible(scope, params), params)
    return {r["id"]: ResultRow.of(r) for r in rows}


async def results_by_response(scope: Scope, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], ResultRow]:
    if not keys:
        return {}
    rows = await db.conn().execute_query_dict(
        # one probe of the unique key per response (an IN over unnest is planned as a hash join over
        # every result of the brand once it has many)
        "SELECT x.* FROM unnest($2::text[], $3::text[]) AS k(s, r) CROSS JOIN LATERAL ("
        "SELECT * FROM survey_result WHERE tenant_id = $1 AND source = k.s AND response_id = k.r) x",
        [scope.tenant_id, [k[0] for k in keys], [k[1] for k in keys]])
    return {(r["source"], r["response_id"]): ResultRow.of(r) for r in rows}


_COLUMNS = ("id", "template_id", "source", "response_id", "customer_id", "dealer_id", "episode", "product_line", "answered_at",
            "answers", "overall_score", "dimension_scores", "unresolved", "selected", "selection_reason", "rule_id", "priority",
            "import_id")
_TYPES = ("uuid", "uuid", "text", "text", "uuid", "uuid", "text", "text", "timestamptz", "jsonb", "float8", "jsonb", "bool", "bool",
          "text", "uuid", "text", "uuid")


async def insert_results(scope: Scope, rows: Sequence[ResultRow]) -> set[uuid.UUID]:
    """One statement for the batch; a response id stored meanwhile (a concurrent delivery) is
    skipped. Returns the ids inserted."""
    if not rows:
        return set()
    columns = []
    for c, t in zip(_COLUMNS, _TYPES):
        values = [getattr(r, c) for r in rows]
        if t == "jsonb":
            values = [orjson.dumps(v).decode() for v in values]
        columns.append(values)
    unnest = ", ".join(f"${i + 3}::{'text' if t == 'jsonb' else t}[]" for i, t in enumerate(_TYPES))
    select = ", ".join(f"x.{c}::jsonb" if t == "jsonb" else f"x.{c}" for c, t in zip(_COLUMNS, _TYPES))
    got = await db.fetch(
        f"WITH i AS (INSERT INTO survey_result (tenant_id, created_at, {', '.join(_COLUMNS)}) "
        f"SELECT $1, $2, {select} FROM unnest({unnest}) AS x({', '.join(_COLUMNS)}) "
        "ON CONFLICT (tenant_id, source, response_id) DO NOTHING RETURNING id) SELECT id FROM i",
        [scope.tenant_id, rows[0].created_at, *columns])
    return {r[0] for r in got}


async def recent_results(scope: Scope, since: datetime | None, until: datetime | None, limit: int) -> list[ResultRow]:
    params: list = [scope.tenant_id]
    sql = "SELECT * FROM survey_result WHERE tenant_id = $1"
    if since is not None:
        params.append(since)
        sql += f" AND answered_at >= ${len(params)}"
    if until is not None:
        params.append(until)
        sql += f" AND answered_at < ${len(params)}"
    rows = await db.conn().execute_query_dict(sql + _visible(scope, params) + f" ORDER BY answered_at DESC, id DESC LIMIT {int(limit)}",
                                              params)
    return [ResultRow.of(r) for r in rows]


async def list_results(scope: Scope, page: PageArgs, *, customer_id: uuid.UUID | None = None, selected: bool | None = None,
                       max_size: int = 100) -> Page:
    """Newest first, by (answered_at, id): one index range scan per page."""
    limit, _ = validate(page, default=20, maximum=max_size)
    params: list = [scope.tenant_id]
    sql = "SELECT * FROM survey_result WHERE tenant_id = $1"
    if customer_id is not None:
        params.append(customer_id)
        sql += f" AND customer_id = ${len(params)}"
    if selected is not None:
        params.append(selected)
        sql += f" AND selected = ${len(params)}"
    sql += _visible(scope, params)
    where, extra, order, backwards = keyset_clause(("answered_at", "id"), page, len(params) + 1, descending=True,
                                                   parsers=(parse_datetime, None))
    rows = await db.conn().execute_query_dict(f"{sql}{where} ORDER BY {order} LIMIT {limit + 1}", [*params, *extra])
    items = [ResultRow.of(r) for r in rows]
    return build_page(items, limit, backwards, page, key=lambda r: [r.answered_at.isoformat(), r.id])
