"""`db.fetch` never goes through Tortoise's `execute_query` (which answers no rows for a write):
in a tenant transaction straight to the transaction's connection, under the client's lock;
outside one, or when another client was made the current one, on the connection Tortoise
acquires for its current client; errors translated as Tortoise translates them either way."""
from __future__ import annotations

import asyncio

import pytest
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from app.core import db
from app.core.ids import uuid7


@pytest.fixture
def tortoise_calls(monkeypatch):
    """The statements that went through Tortoise's execute_query."""
    seen: list[str] = []
    for cls in (AsyncpgDBClient, TransactionWrapper):
        if "execute_query" not in cls.__dict__:
            continue
        original = cls.__dict__["execute_query"]

        async def counted(self, query, values=None, _original=original):
            seen.append(query)
            return await _original(self, query, values)

        monkeypatch.setattr(cls, "execute_query", counted)
    return seen


async def test_reads_in_a_tenant_transaction_skip_tortoises_layers_and_see_the_transaction(brand_a, tortoise_calls):
    async with db.tenant_transaction(brand_a.tenant_id):
        rows = await db.fetch("SELECT current_setting('app.tenant_id') AS t, $1::int + 1 AS n", [41])
        assert rows[0]["t"] == str(brand_a.tenant_id) and rows[0][1] == 42  # asyncpg records, the RLS setting in force
        names = await db.fetch("SELECT name FROM dealer ORDER BY code", [])
        assert [r["name"] for r in names] == sorted(d.name for d in brand_a.dealers.values())
    rows = await db.fetch("SELECT current_setting('app.tenant_id', true) AS t", [])  # no transaction: the pool's connection
    assert rows[0]["t"] in (None, "")
    assert tortoise_calls == []


@pytest.mark.parametrize("sql, params", [("SELEC nothing", []), ("SELECT 1 / $1::int", [0])])
async def test_errors_are_translated_as_tortoise_translates_them(brand_a, sql, params, tortoise_calls):
    for read in (db.fetch, db.conn().execute_query):  # the fast way, then Tortoise's own: the same error
        async with db.tenant_transaction(brand_a.tenant_id):
            with pytest.raises(OperationalError):
                await read(sql, params)
            raise db.Rollback()  # the failed statement aborted the transaction: end it quietly
    assert tortoise_calls == [sql]  # the first went the fast way


async def test_an_integrity_error_is_tortoises_and_a_write_answers_its_returning_rows(brand_a, tortoise_calls):
    from tortoise.exceptions import IntegrityError

    dealer = brand_a.dealers["d1"]
    sql = ("INSERT INTO dealer (id, tenant_id, code, name, region, time_zone, customer_count, created_at, updated_at) "
           "VALUES ($1, $2, $3, 'x', 'north', 'Asia/Shanghai', 0, now(), now()) RETURNING code")
    async with db.tenant_transaction(brand_a.tenant_id):
        with pytest.raises(IntegrityError):  # the code is taken
            await db.fetch(sql, [uuid7(), brand_a.tenant_id, dealer.code])
        raise db.Rollback()
    async with db.tenant_transaction(brand_a.tenant_id):
        rows = await db.fetch(sql, [uuid7(), brand_a.tenant_id, "Z-RET"])
        assert [r["code"] for r in rows] == ["Z-RET"]  # Tortoise's execute_query would answer no rows
        raise db.Rollback()
    assert tortoise_calls == []


async def test_outside_a_tenant_transaction_a_write_answers_its_rows_too(tortoise_calls):
    rows = await db.fetch("WITH x AS (SELECT 1 AS n) SELECT n FROM x", [])
    assert rows[0]["n"] == 1
    rows = await db.fetch("DELETE FROM oauth_revocation WHERE false RETURNING jti", [])
    assert rows == [] and tortoise_calls == []  # on the pool's connection, through the same function


async def test_concurrent_reads_of_one_transaction_take_turns(brand_a, tortoise_calls):
    async with db.tenant_transaction(brand_a.tenant_id):
        a, b, c = await asyncio.gather(db.fetch("SELECT pg_sleep(0.05), 1 AS x", []), db.fetch("SELECT 2 AS x", []),
                                       db.fetch("SELECT 3 AS x", []))
        assert (a[0]["x"], b[0]["x"], c[0]["x"]) == (1, 2, 3)  # no "another operation is in progress"
    assert tortoise_calls == []


async def test_another_client_made_current_inside_is_the_one_used(brand_a, tortoise_calls):
    """The fast way is taken only while the transaction's own client is Tortoise's current one
    (a Tortoise transaction cannot nest in a tenant transaction, asyncpg refuses it; anything
    else that sets a client of its own is followed)."""
    from tortoise.connection import get_connections

    async with db.tenant_transaction(brand_a.tenant_id):
        with pytest.raises(Exception, match="manually started transaction"):
            async with in_transaction("default"):
                pass
        raise db.Rollback()
    handler = get_connections()
    pool_client = handler.get("default")
    async with db.tenant_transaction(brand_a.tenant_id):
        token = handler.set("default", pool_client)
        try:
            rows = await db.fetch("SELECT current_setting('app.tenant_id', true) AS t", [])
        finally:
            handler.reset(token)
        assert rows[0]["t"] in (None, "")  # the pool's connection: not in the tenant's transaction
        assert (await db.fetch("SELECT current_setting('app.tenant_id') AS t", []))[0]["t"] == str(brand_a.tenant_id)
    assert tortoise_calls == []  # both through db._fetch_on: the first on the pool's connection
