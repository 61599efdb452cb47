"""Request limits: depth, tokens, aliases, a cost budget and the caller's cost bucket.

The validation rules are built ONCE, at import. strawberry's ValidationCache keys on the rule
classes; the stock limiters build a new rule class per instance, so passing them as per-request
factories makes every request miss the cache (measured here at ~14x slower per request). This
extension is instantiated per request (no shared state) but appends the same classes each time."""
from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Iterator

from graphql import GraphQLError, ValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from app.core import throttle
from app.core.redisconn import PoolExhausted
from app.settings import get_settings
from schema.cost import DEFAULT_PAGE, SEARCH_COST, operation_cost, price_operation

# the cost model lives in schema/cost.py; these names stay importable from here
__all__ = ["DEFAULT_PAGE", "SEARCH_COST", "Limits", "RULES", "operation_cost"]


class NoNulStrings(ValidationRule):
    """A NUL written as a GraphQL escape (`\\u{0}`) passes the HTTP-level filter; PostgreSQL
    text cannot hold it. Cached with the document like every other validation rule."""

    def enter_string_value(self, node, *_args) -> None:
        if "\x00" in node.value:
            self.report_error(GraphQLError("Strings must not contain NUL characters.", node,
                                           extensions={"code": "BAD_REQUEST"}))


_s = get_settings()
RULES: tuple[type[ValidationRule], ...] = (
    depth_validator(_s.graphql_max_depth, None, None),
    alias_validator(_s.graphql_max_aliases),
    NoNulStrings,
)
if not _s.introspection_enabled:
    # production: the schema is published (schema/schema.graphql), not explorable by any caller
    from graphql.validation import NoSchemaIntrospectionCustomRule

    RULES += (NoSchemaIntrospectionCustomRule,)
if not _s.suggestions_enabled:
    # no "Did you mean 'phoneNumber'?" in errors: graphql-core's one switch for every message
    # that suggests names (validation and variable coercion alike)
    import sys

    import graphql.pyutils.did_you_mean  # noqa: F401 - the module, not the function it exports

    sys.modules["graphql.pyutils.did_you_mean"].MAX_LENGTH = 0
MAX_COST, MAX_PAGE = _s.graphql_max_cost, _s.graphql_page_max
MAX_TOKENS = _s.graphql_max_tokens
BUSY_RETRY_SECONDS = 1.0  # THROTTLED when this process's throttle calls wait on Redis too long (app.core.redispipe)
CACHE_SIZE = 1024  # documents parsed, and validated, kept (per process)
parse_document = _get_parse_cache(CACHE_SIZE)


class ValidationCache:
    """graphql-core's validation of a document, kept per document object, least recently used
    dropped past `maxsize`. strawberry's cache (an lru_cache) keys on the document itself, and a
    graphql-core AST hashes by walking every node of it on every lookup: for the benchmark's
    dealers page that walk was 4 % of an operation. The parser cache hands back the same object
    for the same text, so the object is the key here (an entry keeps its document and schema
    alive: their ids cannot be reused while it is kept); the answer is strawberry's
    `validate_document`'s, run on a miss."""

    def __init__(self, maxsize: int):
        from collections import OrderedDict

        from strawberry.schema.schema import validate_document

        self.maxsize = maxsize
        self._validate = validate_document
        self._entries: OrderedDict = OrderedDict()
        self.hits = self.misses = 0

    def __call__(self, schema, document, rules):
        key = (id(schema), id(document), rules)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is document and hit[1] is schema:
            self._entries.move_to_end(key)
            self.hits += 1
            return hit[2]
        self.misses += 1
        errors = self._validate(schema, document, rules)
        self._entries[key] = (document, schema, errors)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return errors


validate_document = ValidationCache(CACHE_SIZE)
log = logging.getLogger("huifang.graphql")


class Limits(SchemaExtension):
    """Before execution: the cost (variables included) against the static budget, then against
    the caller's bucket (THROTTLED); only then the view's unit of work (the tenant transaction)
    is entered, so a refused operation never touches the database. After: the actual cost,
    the unused points given back, and `extensions.cost`."""

    cost: dict | None = None

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        ec.parse_options["max_tokens"] = MAX_TOKENS
        ec.validation_rules = ec.validation_rules + RULES
        yield

    # strawberry's ParserCache and ValidationCache, here instead of as two more extensions
    # (the same shared LRU caches): strawberry builds every extension's hooks for every
    # request, and three extensions cost about 2.5 times one
    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        ec.graphql_document = parse_document(ec.query, **ec.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        ec.pre_execution_errors = validate_document(ec.schema._schema, ec.graphql_document, ec.validation_rules)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        async with guarded(self.execution_context, self):
            yield

    def get_results(self) -> dict:
        return {"cost": self.cost} if self.cost is not None else {}


@asynccontextmanager
async def guarded(ec, holder) -> AsyncIterator[None]:
    """What `Limits` does around an execution (its `on_execute`), for strawberry's execution
    context `ec` (document, operation name, variables, context; `ec.result` set by the
    execution, or here when refused): price, refuse or charge the bucket, enter the view's unit
    of work, then give back the unused points; `extensions.cost` goes to `holder.cost`. Shared
    by the extension and Schema.execute_direct (schema/__init__.py)."""
    from schema.context import Context

    ctx = ec.context if isinstance(ec.context, Context) else None
    if ec.graphql_document is None or ec.result:
        yield
        return
    priced = price_operation(ec.graphql_document, ec.operation_name, ec.variables, MAX_PAGE)
    requested = priced.requested()
    if ctx is not None:
        ctx.is_mutation = priced.is_mutation
        ctx.validated = True
    bucket = _Bucket.of(ctx)
    limit = MAX_COST if bucket is None else min(MAX_COST, bucket.capacity)
    if requested > limit:
        ec.result = _refused(f"Query cost {requested} exceeds the budget of {limit}: request smaller pages, fewer ids or fewer fields.",
                             code="QUERY_TOO_COSTLY", cost=requested, maxCost=limit)
        holder.cost = _extension(requested, 0, await bucket.take(0) if bucket else None)
        yield
        return
    try:
        status = await bucket.take(requested, refuse_when_busy=True) if bucket else None
    except PoolExhausted:  # this process is overloaded: refused, never let through unthrottled
        ctx.throttled = BUSY_RETRY_SECONDS
        ec.result = _refused(f"Throttled: too many operations are waiting for the throttle at once; retry in {BUSY_RETRY_SECONDS:g} s.",
                             code="THROTTLED", retryAfterSeconds=BUSY_RETRY_SECONDS)
        holder.cost = _extension(requested, 0, None)
        yield
        return
    if status is not None and not status.allowed:
        ctx.throttled = status.retry_after
        ec.result = _refused(
            f"Throttled: this operation costs {requested} and {int(status.available)} of {status.capacity} are available "
            f"(restoring {status.rate:g} a second); retry in {status.retry_after:g} s.",
            code="THROTTLED", retryAfterSeconds=status.retry_after)
        holder.cost = _extension(requested, 0, status)
        yield
        return
    actual = requested  # unless the answer shows less was done
    try:
        if ctx is not None and ctx.unit_of_work is not None:
            async with ctx.unit_of_work(ctx) as work:
                yield
                work.result = ec.result
        else:
            yield
        if ctx is not None and ctx.unit_of_work is not None and not ctx.executed:
            actual = 0  # refused before anything ran (401, 503)
        elif ec.result is not None and hasattr(ec.result, "data"):
            actual = priced.actual(ec.result.data, [e.path for e in ec.result.errors or ()])
    finally:
        if status is not None and actual < requested:
            status = await bucket.take(actual - requested) or status
        holder.cost = _extension(requested, actual, status)


class _Bucket:
    """The caller's leaky bucket (app.core.throttle). Redis unavailable: the operation runs
    unthrottled (fail open) and a warning is logged, at most once a minute."""

    _warned_at = float("-inf")

    def __init__(self, key: str, capacity: int, rate: float):
        self.key, self.capacity, self.rate = key, capacity, rate

    @classmethod
    def of(cls, ctx) -> "_Bucket | None":
        s = get_settings()
        if ctx is None or ctx.claims is None or not s.graphql_throttle:
            return None
        from schema.context import caller_key

        return cls(throttle.bucket_key(ctx.claims.tenant_id, caller_key(ctx.claims)), s.cost_bucket_size, s.graphql_cost_restore_rate)

    async def take(self, cost: float, refuse_when_busy: bool = False) -> throttle.Status | None:
        try:
            return await throttle.take(self.key, cost, self.capacity, self.rate)
        except PoolExhausted:
            if refuse_when_busy:
                raise
            log.warning("cost throttle: no Redis connection free in time (%s)",
                        f"{-cost:g} points not given back" if cost < 0 else "the bucket was not read")
            return None
        except Exception as e:  # noqa: BLE001 - any Redis failure: fail open, loudly
            now = time.monotonic()
            if now - _Bucket._warned_at > 60:
                _Bucket._warned_at = now
                log.warning("cost throttling unavailable, operations run unthrottled: %s", type(e).__name__)
            return None


def _refused(message: str, **extensions):
    from strawberry.types import ExecutionResult

    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions=extensions)])


def _extension(requested: int, actual: int, status: throttle.Status | None) -> dict:
    """Shopify's shape; `throttleStatus` is null when the bucket could not be read (Redis down)."""
    return {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": None if status is None else {
        "maximumAvailable": status.capacity, "currentlyAvailable": int(status.available),
        "restoreRate": status.rate}}
