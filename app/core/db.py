"""PostgreSQL: Tortoise configuration, the tenant transaction (wall two), role setup.

Every GraphQL operation and every job runs inside `tenant_transaction(tenant_id)`: one pinned
connection, `set_config('app.tenant_id', ..., true)` first, so row-level security scopes every
statement, DataLoader batches included. Jobs enqueued inside are sent only after COMMIT."""
from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator
from urllib.parse import parse_qs, quote, unquote, urlparse

import asyncpg
from tortoise import Tortoise, connections
from tortoise.transactions import in_transaction

from app.core.logging import tenant_var
from app.domains import app_modules

log = logging.getLogger(__name__)

MODEL_MODULES = ["app.core.models", *app_modules("models")]  # app/domains.py: one list of modules
APP_LABEL = "huifang"
MIGRATIONS_TABLE_HINT = "tortoise"


@dataclass(frozen=True)
class PgTarget:
    user: str
    password: str | None
    host: str
    port: int
    database: str

    @classmethod
    def parse(cls, url: str) -> "PgTarget":
        u = urlparse(url)
        if u.scheme not in ("postgres", "postgresql", "asyncpg"):
            raise ValueError(f"not a PostgreSQL URL: {u.scheme}://...")
        q = parse_qs(u.query)
        host = q.get("host", [None])[0] or u.hostname or "127.0.0.1"
        return cls(
            user=unquote(u.username or q.get("user", ["postgres"])[0]),
            password=unquote(u.password) if u.password else None,
            host=unquote(host),
            port=int(q.get("port", [u.port or 5432])[0]),
            database=(u.path or "/").lstrip("/") or "postgres",
        )

    def with_(self, **kw) -> "PgTarget":
        return PgTarget(**{**self.__dict__, **kw})

    def url(self) -> str:
        auth = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        if self.host.startswith("/"):
            return f"postgresql://{auth}@/{self.database}?host={quote(self.host, safe='/')}&port={self.port}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.database}"

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            user=self.user, password=self.password, host=self.host, port=self.port, database=self.database,
            **connect_options(),
        )


def connect_options() -> dict[str, Any]:
    """asyncpg options for every connection this process opens (the pool and single ones).

    Behind PgBouncer in transaction-pooling mode (DB_PGBOUNCER) each transaction, and each
    statement outside one, may run on another server connection: a named prepared statement
    (asyncpg's statement cache) would be missing there, or collide with another client's. With
    the cache off asyncpg uses the unnamed statement and parses it again with every execution
    (PgBouncer 1.21's `max_prepared_statements` would allow the cache; this does not rely on
    it). Everything else already fits transaction pooling: the tenant and the statement timeout
    are `set_config(..., true)` (transaction-local), advisory locks are `pg_advisory_xact_lock`,
    and nothing LISTENs or keeps session state."""
    from app.settings import get_settings

    return {"statement_cache_size": 0} if get_settings().db_pgbouncer else {}


async def _nothing_to_reset(conn) -> None:
    """The pool's reset of a connection given back: asyncpg has already rolled back a
    transaction left open (it always does); its default reset query (`RESET ALL`, `UNLISTEN *`,
    `CLOSE ALL`, advisory unlock) would undo session state that this service never makes (see
    `connect_options`), at the price of one more round trip per request. The tenant and the
    statement timeout are transaction-local: they end with the transaction
    (tests/core/test_rls.py checks a connection given back carries neither). Only the service's
    pool (`init_orm`): migrations keep asyncpg's reset."""


def pool_options() -> dict[str, Any]:
    """asyncpg pool options of the ORM's pool (on top of `connect_options`)."""
    return {"reset": _nothing_to_reset}


def tortoise_config(target: PgTarget, *, minsize: int = 1, maxsize: int = 10, service: bool = False) -> dict[str, Any]:
    return {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": {
                    "host": target.host,
                    "port": target.port,
                    "user": target.user,
                    "password": target.password,
                    "database": target.database,
                    "minsize": minsize,
                    "maxsize": maxsize,
                    "server_settings": {"application_name": "huifang"},
                    **connect_options(),
                    **(pool_options() if service else {}),
                },
            }
        },
        "apps": {
            APP_LABEL: {"models": MODEL_MODULES, "default_connection": "default", "migrations": "migrations"}
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def is_privileged(target: PgTarget) -> bool:
    conn = await target.connect()
    try:
        return bool(
            await conn.fetchval(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
        )
    finally:
        await conn.close()


async def service_target(database_url: str, app_role: str) -> PgTarget:
    """What the service connects as: DATABASE_URL, or the unprivileged app role when that URL
    names a superuser (development, CI). Never a role that bypasses row-level security."""
    target = PgTarget.parse(database_url)
    if await is_privileged(target):
        return target.with_(user=app_role, password=None)
    return target


def _orm_reads_the_clock() -> None:
    """The ORM's auto_now / auto_now_add fields (created_at, updated_at) take their time from
    app.core.clock like everything else (Tortoise's timezone.localtime() calls its now())."""
    import tortoise.timezone

    from app.core import clock

    tortoise.timezone.now = clock.now


_KEEP_UTC = [False]  # the ORM runs in UTC (set by init_orm from its config)


def _orm_takes_utc_datetimes_as_they_come(config: dict) -> None:
    """asyncpg reads every `timestamptz` as an aware datetime in UTC; Tortoise's DatetimeField
    would still convert each one (`astimezone` to the configured zone, UTC here: the same
    instant). A page of 100 tickets reads about 800 of them: 4 % of the request. Such a value is
    now kept as it is, only while the ORM's configured zone is UTC with `use_tz` (otherwise
    Tortoise's conversion is what the zone asks for); anything else (naive values, other
    zones, strings) is converted as before."""
    import datetime as dt

    from tortoise.fields.data import DatetimeField

    _KEEP_UTC[0] = bool(config.get("use_tz")) and config.get("timezone") == "UTC"
    convert = getattr(DatetimeField.to_python_value, "_hf_original", DatetimeField.to_python_value)
    utc = dt.timezone.utc
    keep = _KEEP_UTC

    def to_python_value(self, value):
        if value.__class__ is dt.datetime and value.tzinfo is utc and keep[0]:
            return value
        return convert(self, value)

    to_python_value._hf_original = convert
    DatetimeField.to_python_value = to_python_value


async def init_orm(target: PgTarget, *, minsize: int = 1, maxsize: int = 10) -> None:
    _orm_reads_the_clock()
    config = tortoise_config(target, minsize=minsize, maxsize=maxsize, service=True)
    _orm_takes_utc_datetimes_as_they_come(config)
    await Tortoise.init(config=config, _enable_global_fallback=True)


async def close_orm() -> None:
    await Tortoise.close_connections()


class Rollback(Exception):
    """Raise inside `tenant_transaction` to roll back quietly (e.g. a mutation whose payload
    carries business errors). Pending jobs are dropped."""


_pending_jobs: contextvars.ContextVar[list | None] = contextvars.ContextVar("pending_jobs", default=None)
_current_tenant: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar("current_tenant", default=None)


def pending_jobs() -> list | None:
    return _pending_jobs.get()


class JobHooks:
    """What a transaction does with the jobs buffered in it: `before_commit(conn, tenant_id,
    buffer)` writes them in the transaction (the outbox), `after_commit(buffer)` relays them.
    app.core.jobs installs both when it is imported (anything that buffers a job has imported
    it), so this module never imports the job layer."""

    before_commit = None
    after_commit = None


def current_tenant() -> uuid.UUID | None:
    return _current_tenant.get()


class _Sealed:
    """Stands in for the connection of a finished transaction: the connection went back to the
    pool and may already serve another tenant, so anything still holding the transaction
    (a stray task) fails here instead of running on it."""

    def __getattr__(self, name):
        raise RuntimeError("this tenant transaction has ended; its connection is no longer usable")


class RolledBack(Exception):
    """COMMIT answered ROLLBACK: the transaction had been aborted (a statement in it failed or
    was cancelled, and the error was swallowed), so nothing of it was kept. Raised instead of
    ending quietly: no caller may report work that PostgreSQL threw away."""


def _seal(conn) -> None:
    conn._connection = _Sealed()
    conn._finalized = True
    if conn._lock.locked():
        conn._lock.release()


class TenantBusy(Exception):
    """The tenant already holds its share of this process's connections for too long."""


_tenant_slots: dict[uuid.UUID, asyncio.Semaphore] = {}
statement_timeout_ms: contextvars.ContextVar[int | None] = contextvars.ContextVar("statement_timeout_ms", default=None)


def _slots(tenant_id: uuid.UUID) -> asyncio.Semaphore:
    sem = _tenant_slots.get(tenant_id)
    if sem is None:
        from app.settings import get_settings

        s = get_settings()
        share = s.db_tenant_max_connections or max(1, s.db_pool_max - 2)
        sem = _tenant_slots[tenant_id] = asyncio.Semaphore(share)
    return sem


@asynccontextmanager
async def tenant_transaction(tenant_id: uuid.UUID) -> AsyncIterator[Any]:
    """One transaction, one connection, RLS scoped to `tenant_id`. Jobs go out after COMMIT.
    A tenant holds at most its share of the pool at once, and every statement runs under a
    `statement_timeout` (requests and jobs have their own settings)."""
    if not isinstance(tenant_id, uuid.UUID):
        raise TypeError("tenant_transaction needs a UUID tenant id")
    from app.settings import get_settings

    settings = get_settings()
    slots = _slots(tenant_id)
    if slots.locked():  # the tenant's share is taken: wait for a slot, a bounded time
        try:
            await asyncio.wait_for(slots.acquire(), timeout=settings.tenant_wait_seconds)
        except TimeoutError:
            raise TenantBusy() from None
    else:
        await slots.acquire()  # free: taken at once (wait_for would run it as a task of its own)
    try:
        async with _tenant_transaction(tenant_id, statement_timeout_ms.get() or settings.statement_timeout_ms) as conn:
            yield conn
    finally:
        slots.release()


@asynccontextmanager
async def _tenant_transaction(tenant_id: uuid.UUID, timeout_ms: int) -> AsyncIterator[Any]:
    buffer: list = []
    t_jobs = _pending_jobs.set(buffer)
    t_tenant = _current_tenant.set(tenant_id)
    tenant_var.set(str(tenant_id))  # kept for the rest of the request's logs (the middleware resets it)
    committed = False
    conn = None
    try:
        try:
            async with _opened(tenant_id, timeout_ms) as conn:
                try:
                    if not getattr(conn, "_hf_configured", False):  # a nested transaction (savepoint)
                        await conn.execute_query("SELECT set_config('app.tenant_id', $1, true), set_config('statement_timeout', $2, true)",
                                                 [str(tenant_id), str(int(timeout_ms))])
                    yield conn
                    if buffer:
                        # written in the transaction: COMMIT keeps the jobs with the work
                        await JobHooks.before_commit(conn, tenant_id, buffer)
                finally:
                    # no statement may start once the body is done (one already running ends
                    # first): COMMIT/ROLLBACK below must be the connection's last word
                    await conn._lock.acquire()
            committed = True
        except Rollback:
            committed = False
    finally:
        if conn is not None:
            _seal(conn)
        _pending_jobs.reset(t_jobs)
        _current_tenant.reset(t_tenant)
    if committed and buffer:
        await JobHooks.after_commit(buffer)


def _opened(tenant_id: uuid.UUID, timeout_ms: int):
    """The transaction's context: on a pooled connection, BEGIN and both settings go to the
    server as one simple-protocol query (one round trip instead of two; the statements still run
    in order, each seeing the ones before). The values are a UUID and an integer, typed above:
    nothing a caller writes reaches that text. Nested in another transaction: Tortoise's
    savepoint, configured by a statement of its own as before."""
    from tortoise.backends.asyncpg.client import AsyncpgDBClient

    parent = connections.get("default")
    if type(parent) is not AsyncpgDBClient:
        return in_transaction("default")
    opening = (f"BEGIN; SELECT set_config('app.tenant_id', '{uuid.UUID(str(tenant_id))}', true), "
               f"set_config('statement_timeout', '{int(timeout_ms)}', true)")
    return _pooled(parent, opening)


@asynccontextmanager
async def _pooled(parent, opening: str) -> AsyncIterator[Any]:
    """Tortoise's pooled transaction context (TransactionContextPooled), opening with `opening`;
    the connection goes back to the pool whatever happens, a failed opening included."""
    from tortoise.connection import get_connections

    if not parent._pool:
        async with parent._pool_init_lock:
            if not parent._pool:
                await parent.create_connection(with_db=True)
    client = _TenantTransactionWrapper(parent)
    raw = client._connection = await parent._pool.acquire()
    handler = get_connections()
    token = handler.set(client.connection_name, client)
    opened = _opened_client.set((client, handler._storage_var))
    try:
        await raw.execute(opening)  # no arguments: the simple protocol, several statements
        client._hf_configured = True
        client.transaction = _Opened(raw)
        try:
            yield client
        except BaseException:
            if not client._finalized:
                await client.rollback()
            raise
        if not client._finalized:
            await client.commit()
    finally:
        try:
            await parent._pool.release(raw)  # asyncpg rolls back anything left open
        finally:
            _opened_client.reset(opened)
            handler.reset(token)


# the client `_pooled` opened and the Tortoise context variable holding the current clients:
# `fetch` takes the fast way only while that client is still the current one (asyncpg refuses a
# Tortoise transaction nested inside; whatever else sets a client of its own there is followed)
_opened_client: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("hf_opened_client", default=None)


def _wrapper_class():
    from tortoise.backends.asyncpg.client import TransactionWrapper

    class TenantTransactionWrapper(TransactionWrapper):
        """Tortoise's transaction client, opened by `_pooled` (BEGIN with the settings)."""

        _hf_configured = False

    return TenantTransactionWrapper


class _Opened:
    """What Tortoise's transaction client calls to end the transaction `_pooled` opened. A
    nested Connection.transaction() on it is refused by asyncpg (a manually started
    transaction), so nothing can COMMIT it from inside."""

    __slots__ = ("_conn",)

    def __init__(self, conn):
        self._conn = conn

    async def commit(self) -> None:
        if await self._conn.execute("COMMIT") != "COMMIT":
            raise RolledBack()

    async def rollback(self) -> None:
        await self._conn.execute("ROLLBACK")


_TenantTransactionWrapper = _wrapper_class()
_savepoints = itertools.count(1)


@asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """A unit of work inside the tenant transaction that rolls back alone: each root mutation
    of a GraphQL document runs in one, so a failing mutation undoes only its own writes (and
    drops the jobs it enqueued) while the others' answers stay true."""
    conn = connections.get("default")
    buffer = _pending_jobs.get()
    mark = len(buffer) if buffer is not None else 0
    name = f"hf_sp_{next(_savepoints)}"
    await conn.execute_query(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        await conn.execute_query(f"ROLLBACK TO SAVEPOINT {name}")
        if buffer is not None:
            del buffer[mark:]
        raise
    await conn.execute_query(f"RELEASE SAVEPOINT {name}")


async def healthy() -> bool:
    """False when the current transaction is aborted (COMMIT would silently roll it back)."""
    try:
        await connections.get("default").execute_query("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means the transaction cannot commit
        return False


async def fetch(sql: str, params: list) -> list:
    """SELECT through the current transaction's connection; asyncpg records (positional).

    In a tenant transaction (`_pooled`'s client is the current one), the statement goes to its
    connection as Tortoise's `execute_query` sends it (under the client's lock, so fields
    resolved concurrently still take turns; its errors translated by Tortoise's own
    `_translate_exceptions`), without the layers around it: the alias lookup that checks the
    event loop (a system call on Python 3.11), two wrappers, the lock's context object and the
    statement's upper-cased copy to tell a read from a write. Anywhere else (no transaction,
    another client made the current one), on the connection Tortoise acquires for its current
    client. A write with RETURNING answers its rows either way."""
    opened = _opened_client.get()
    if opened is not None:
        client, storage = opened
        if storage.get().get("default") is client and client._connection is not None:
            return await client._translate_exceptions(_fetch_on, sql, params, False)
    client = connections.get("default")
    return await client._translate_exceptions(_fetch_on, sql, params, True)


async def _fetch_on(client, sql: str, params: list, through_tortoise: bool) -> list:
    """The statement's rows, a write's RETURNING rows included (Tortoise's `execute_query` sends
    an INSERT, UPDATE or DELETE with `execute` and answers no rows: both ways here answer them)."""
    if client.log.isEnabledFor(logging.DEBUG):
        client.log.debug("%s: %s", sql, params)
    if through_tortoise:  # the pool's connection, or another client's, as Tortoise acquires it
        async with client.acquire_connection() as connection:
            return await connection.fetch(sql, *params)
    async with client._lock:
        return await client._connection.fetch(sql, *params)


def conn():
    """The connection of the current transaction (or the pool outside one)."""
    return connections.get("default")
