"""`db.fetch` in a tenant transaction: straight to the transaction's connection (not through
Tortoise's `execute_query`), under the client's lock, its errors translated as Tortoise
translates them; outside any, or when another client was made the current one, through
Tortoise."""
from __future__ import annotations

import asyncio

import pytest
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from app.core import db


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
    assert tortoise_calls == []
    rows = await db.fetch("SELECT 1 AS one", [])  # no transaction: Tortoise's pool, as before
    assert rows[0]["one"] == 1 and tortoise_calls == ["SELECT 1 AS one"]


@pytest.mark.parametrize("sql, params", [("SELEC nothing", []), ("SELECT 1 / $1::int", [0])])
async def test_errors_are_translated_as_tortoise_translates_them(brand_a, sql, params):
    for read in (db.fetch, db.conn().execute_query):  # the fast way, then Tortoise's own: the same error
        async with db.tenant_transaction(brand_a.tenant_id):
            with pytest.raises(OperationalError):
                await read(sql, params)
            raise db.Rollback()  # the failed statement aborted the transaction: end it quietly


async def test_concurrent_reads_of_one_transaction_take_turns(brand_a):
    async with db.tenant_transaction(brand_a.tenant_id):
        a, b, c = await asyncio.gather(db.fetch("SELECT pg_sleep(0.05), 1 AS x", []), db.fetch("SELECT 2 AS x", []),
                                       db.fetch("SELECT 3 AS x", []))
        assert (a[0]["x"], b[0]["x"], c[0]["x"]) == (1, 2, 3)  # no "another operation is in progress"


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
    assert tortoise_calls == ["SELECT current_setting('app.tenant_id', true) AS t"]
