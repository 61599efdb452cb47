"""Count SQL statements sent through Tortoise's asyncpg client and the tenant transaction's read
path (app.core.db.fetch): the app's only ways to the database (BEGIN and COMMIT aside)."""
from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper

from app.core import db


class Counter:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries():
    counter = Counter()
    originals = {}
    for cls in (AsyncpgDBClient, TransactionWrapper):
        for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many", "execute_script"):
            if name in cls.__dict__:
                originals[(cls, name)] = cls.__dict__[name]

    def wrap(fn):
        async def inner(self, query, *args, **kwargs):
            counter.statements.append(query)
            return await fn(self, query, *args, **kwargs)

        return inner

    patches = [mock.patch.object(cls, name, wrap(fn)) for (cls, name), fn in originals.items()]
    # db.fetch sends its statements without execute_query (app.core.db._fetch_on)
    fast = db._fetch_on

    async def fast_counted(client, sql, params, *args):
        counter.statements.append(sql)
        return await fast(client, sql, params, *args)

    patches.append(mock.patch.object(db, "_fetch_on", fast_counted))
    for p in patches:
        p.start()
    try:
        yield counter
    finally:
        for p in patches:
            p.stop()
