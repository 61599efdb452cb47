"""The floor: plain Starlette + asyncpg doing the benchmark's reads in the same RLS transaction.

Same work as the GraphQL request minus GraphQL and the ORM: verify the same JWT, BEGIN,
set_config('app.tenant_id'), load the user's roles, then the query's reads (the same SQL the
repositories and DataLoaders send), COMMIT, answer JSON of the same shape (the benchmark checks
both answers are equal):
- `dealers`: the brand and the first dealers page;
- `tickets`: a page of 50 tickets, then their dealers and customers, one batch each."""
from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.core.auth.tokens import InvalidToken, verify_access_token
from app.core.db import PgTarget
from app.core.ids import to_global_id
from app.core.pagination import encode_cursor

pool: asyncpg.Pool | None = None


async def endpoint(request: Request) -> Response:
    await request.body()
    try:
        claims = verify_access_token(request.headers["authorization"].split(" ", 1)[1])
    except (InvalidToken, KeyError, IndexError):
        return Response(status_code=401)
    tid = claims.tenant_id
    if b"tickets" in await request.body():
        return await tickets(claims)
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tid))
            roles = await conn.fetch(
                """SELECT u.is_active, m.role, m.dealer_id, m.regions
                     FROM app_user u LEFT JOIN membership m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
                    WHERE u.tenant_id = $1 AND u.id = $2""", tid, uuid.UUID(claims.subject))
            brand = await conn.fetchrow("SELECT * FROM brand WHERE id = $1 LIMIT 2", tid)
            dealers = await conn.fetch("SELECT * FROM dealer WHERE tenant_id = $1 ORDER BY name ASC, id ASC LIMIT 21", tid)
    page = dealers[:20]
    data = {"data": {
        "viewer": {"roles": [r["role"].upper() for r in roles if r["role"]], "brand": {"id": to_global_id("Brand", brand["id"]), "name": brand["name"]}},
        "dealers": {
            "edges": [{"cursor": encode_cursor([d["name"], d["id"]]), "node": {"id": to_global_id("Dealer", d["id"]), "code": d["code"], "name": d["name"], "region": d["region"]}} for d in page],
            "pageInfo": {"hasNextPage": len(dealers) > 20},
        },
    }}
    return Response(orjson.dumps(data), media_type="application/json")


async def tickets(claims) -> Response:
    tid = claims.tenant_id
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tid))
            await conn.fetch(
                """SELECT u.is_active, m.role, m.dealer_id, m.regions
                     FROM app_user u LEFT JOIN membership m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
                    WHERE u.tenant_id = $1 AND u.id = $2""", tid, uuid.UUID(claims.subject))
            rows = await conn.fetch("SELECT t.* FROM ticket t WHERE t.tenant_id = $1 ORDER BY t.created_at DESC, t.id DESC LIMIT 51", tid)
            page = rows[:50]
            dealers = {d["id"]: d for d in await conn.fetch(
                "SELECT id, tenant_id, code, name, region, time_zone, city, customer_count, customer_count_at, created_at, updated_at "
                "FROM dealer WHERE tenant_id = $1 AND id = ANY($2::uuid[])", tid, list({t["dealer_id"] for t in page if t["dealer_id"]}))}
            customers = {c["id"]: c for c in await conn.fetch("SELECT c.* FROM customer c WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[])",
                                                              tid, list({t["customer_id"] for t in page}))}

    def node(t):
        d, c = dealers.get(t["dealer_id"]), customers.get(t["customer_id"])
        return {"id": to_global_id("Ticket", t["id"]), "number": t["number"], "title": t["title"], "status": t["status"].upper(),
                "priority": t["priority"].upper(), "createdAt": t["created_at"].isoformat(),
                "dealer": d and {"id": to_global_id("Dealer", d["id"]), "code": d["code"], "name": d["name"]},
                "customer": c and {"id": to_global_id("Customer", c["id"]), "name": c["name"]}}

    data = {"data": {"tickets": {
        "edges": [{"cursor": encode_cursor([t["created_at"].isoformat(), t["id"]]), "node": node(t)} for t in page],
        "pageInfo": {"hasNextPage": len(rows) > 50},
    }}}
    return Response(orjson.dumps(data), media_type="application/json")


@asynccontextmanager
async def lifespan(app):
    global pool
    t = PgTarget.parse(os.environ["FLOOR_DATABASE_URL"])
    pool = await asyncpg.create_pool(user=t.user, password=t.password, host=t.host, port=t.port, database=t.database, min_size=10, max_size=10)
    yield
    await pool.close()


app = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])], lifespan=lifespan)
