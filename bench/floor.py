"""The floor: plain Starlette + asyncpg doing the benchmark's reads in the same RLS transaction.

Same work as the GraphQL request minus GraphQL and the ORM: verify the same JWT, BEGIN,
set_config('app.tenant_id'), load the user's roles, the brand and the first dealers page
(the same SQL the repositories send), COMMIT, answer JSON of the same shape."""
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


@asynccontextmanager
async def lifespan(app):
    global pool
    t = PgTarget.parse(os.environ["FLOOR_DATABASE_URL"])
    pool = await asyncpg.create_pool(user=t.user, password=t.password, host=t.host, port=t.port, database=t.database, min_size=10, max_size=10)
    yield
    await pool.close()


app = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])], lifespan=lifespan)
