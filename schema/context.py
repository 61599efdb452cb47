"""Per-request GraphQL context: the actor, its scope, fresh DataLoaders, the request id, and
what the limits decided about the operation (its cost, a throttle's wait)."""
from __future__ import annotations

import asyncio
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.requests import Request
from strawberry.dataloader import AbstractCache, DataLoader

from app.core.auth.tokens import AccessClaims
from app.core.secrets import PREFIX_CLIENT, tenant_of
from app.core.tenancy import Actor, Scope


def partner_app_of(claims: AccessClaims) -> str | None:
    """The client id of the partner app a token was issued to (acting for itself or for a
    user), None for first-party tokens. From the verified token alone: no database (the app's
    status is checked with the actor, app.oauth.resource)."""
    cid = claims.client_id
    return cid if cid and tenant_of(cid, PREFIX_CLIENT) == claims.tenant_id else None


def caller_key(claims: AccessClaims) -> str:
    """Whose budget an operation spends: an app acting for itself has its own (Shopify's
    per-app bucket), a user acting through an app has one per app (the brand's own first-party
    front-end is an app too: each of its users has a budget; a third-party app acting for a
    user never spends what the user's own front-end needs), a user with an operator-minted
    token has the user's."""
    app = partner_app_of(claims)
    if app is None:
        return f"user:{claims.subject}"
    return f"app:{app}" if claims.subject == app else f"app:{app}:user:{claims.subject}"


def _by_ids(fetch):
    async def load(ids: list[uuid.UUID]) -> list[Any]:
        found = await fetch(ids)
        return [found.get(i) for i in ids]

    return load


_MISSING = object()


class RowCache(AbstractCache):
    """A request's loader cache: strawberry's futures by key (what `load` asks for and sets),
    plus the rows a page primed (`prime`), kept as plain values. A page primes a hundred or more
    keys and its fields read them at once through `load_as`; strawberry's `prime_many` makes a
    future per key for that (a third of the work of priming a tickets page). A primed row
    becomes a future only if `load` asks for it."""

    __slots__ = ("futures", "values")

    def __init__(self) -> None:
        self.futures: dict = {}
        self.values: dict = {}

    def get(self, key):
        fut = self.futures.get(key)
        if fut is None:
            value = self.values.get(key, _MISSING)
            if value is not _MISSING:
                fut = self.futures[key] = asyncio.get_running_loop().create_future()
                fut.set_result(value)
        return fut

    def set(self, key, value) -> None:
        self.values.pop(key, None)  # a future set for a primed key (prime_many with force) replaces the row
        self.futures[key] = value

    def delete(self, key) -> None:
        # a key the cache does not hold is no error (strawberry's DefaultCache raises KeyError;
        # DataLoader.clear of a key never loaded then failed)
        self.futures.pop(key, None)
        self.values.pop(key, None)

    def clear(self) -> None:
        self.futures.clear()
        self.values.clear()

    def has(self, key) -> bool:
        return key in self.values or key in self.futures


class Loaders:
    """Built for each request (a loader caches per request, never across tenants), each one
    lazily on first use: most operations need two or three of them."""

    FETCHERS: dict = {}  # name -> fetch(scope, ids); each domain's schema PART adds its own

    @classmethod
    def register(cls, fetchers: dict) -> None:
        for name, fetch in fetchers.items():
            if cls.FETCHERS.get(name, fetch) is not fetch:
                raise ValueError(f"two domains register the loader {name!r}")
            cls.FETCHERS[name] = fetch

    def __init__(self, scope: Scope):
        self._scope = scope

    def __getattr__(self, name: str) -> DataLoader:
        fetch = self.FETCHERS.get(name)
        if fetch is None:
            raise AttributeError(name)
        scope = self._scope
        loader = DataLoader(_by_ids(lambda ids: fetch(scope, ids)), cache_map=RowCache())
        setattr(self, name, loader)
        return loader


async def _converted(pending, convert: Callable):
    row = await pending
    return convert(row) if row is not None else None


def load_as(loader: DataLoader, key, convert: Callable):
    """`convert(row)` (None when the loader found nothing) for `key`: at once when the loader
    already holds it (a page primed it: `prime`, `prefetch`), so the field completes without a
    coroutine, a future and an await per row; otherwise an awaitable of it (the loader batches
    as before). A resolver returns this from a plain `def`."""
    cache: RowCache = loader.cache_map
    row = cache.values.get(key, _MISSING)
    if row is _MISSING:
        fut = cache.futures.get(key)
        if fut is None or not fut.done() or fut.cancelled() or fut.exception() is not None:
            return _converted(loader.load(key), convert)
        row = fut.result()
    return convert(row) if row is not None else None


def prime(loader: DataLoader, rows: dict) -> None:
    """strawberry's `prime_many` for the loaders of `Loaders`: rows by key, kept as values (no
    future per key), a key the loader already holds left as it is; a key waiting in a batch not
    yet sent is answered with its row and taken out of the batch, as `prime_many` does."""
    cache: RowCache = loader.cache_map
    values, futures = cache.values, cache.futures
    for key, row in rows.items():
        if key not in futures and key not in values:
            values[key] = row
    batch = loader.batch
    if batch is not None and not batch.dispatched:
        answered = False
        for task in batch.tasks:
            # a task already answered (or cancelled) is left as it is, where strawberry's
            # prime_many would set it again and fail with InvalidStateError
            if task.key in rows and not task.future.done():
                task.future.set_result(rows[task.key])
                answered = True
        if answered:
            batch.tasks = [task for task in batch.tasks if not task.future.done()]


async def prefetch(wanted: dict) -> None:
    """Warm loaders for a page before its rows are completed: `{loader: keys}`, one batch
    per loader (a resolver asks for it only when the document selects the field, and only with
    keys the caller may read)."""
    for loader, keys in wanted.items():
        has = loader.cache_map.has
        keys = [k for k in dict.fromkeys(k for k in keys if k is not None) if not has(k)]
        if keys:
            # the loader's own batch function, then the rows primed: what `load_many` ends
            # with, without a task, a future and a callback per key on the way
            prime(loader, dict(zip(keys, await loader.load_fn(keys), strict=True)))


@dataclass
class Context:
    request: Request | None
    claims: AccessClaims | None
    request_id: str
    actor: Actor | None = None
    scope: Scope | None = None
    loaders: Loaders | None = None
    is_mutation: bool = False  # set before execution (schema.limits)
    pii_reads: set = field(default_factory=set)  # customers whose personal data an app read unmasked
    extra: dict = field(default_factory=dict)
    # set by the HTTP view: (context) -> async context manager that runs the execution in the
    # tenant transaction; schema.limits enters it only once the operation passed its limits
    unit_of_work: Callable[["Context"], AbstractAsyncContextManager] | None = None
    validated: bool = False  # parsed and validated (schema.limits, at the start of execution)
    executed: bool = False  # the tenant transaction opened and the resolvers ran
    throttled: float | None = None  # THROTTLED: seconds until the caller's bucket holds the cost
    refusal: BaseException | None = None  # an HTTP refusal (401, 503) met inside the unit of work
    deadline: float | None = None  # event-loop time by which the operation must be answered

    @property
    def client_ip(self) -> str | None:
        """The caller's address for audit records: the peer, or the forwarded client when the
        peer is one of TRUSTED_PROXIES (app/core/netaddr)."""
        from app.core.netaddr import client_ip

        return client_ip(self.request) if self.request is not None else None

    def bind(self, actor: Actor, scope: Scope) -> None:
        self.actor = actor
        self.scope = scope
        self.loaders = Loaders(scope)
