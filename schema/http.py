"""GraphQL over HTTP: bearer authentication, body limit, one tenant transaction per operation.

Order of a request, nothing touching the database until the last steps:
1. verify the JWT (signature, expiry, tenant claim; 401 on failure);
2. the document: a persisted query's hash resolved, allow-list mode applied (schema.persisted);
3. strawberry parses and validates it (cached), then schema.limits prices it with its variables
   (QUERY_TOO_COSTLY) and charges the caller's cost bucket in Redis (THROTTLED, HTTP 429);
4. the unit of work (`_unit_of_work`, entered by schema.limits): open the tenant transaction
   (`set_config('app.tenant_id')`), load the actor (user + roles) under RLS, execute, then
   COMMIT, or ROLLBACK when the operation reported errors; jobs enqueued during it go out after
   COMMIT. All of it under the request's deadline (DEADLINE_EXCEEDED);
5. the actual cost is known: the unused points go back to the bucket; `extensions.cost`."""
from __future__ import annotations

import asyncio
import contextvars
import logging
import math
from contextlib import asynccontextmanager

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData

from app.core import db
from app.core.auth.bearer import BearerError, bearer_claims
from app.core.errors import Unauthenticated
from app.core.logging import request_id_var
from app.oauth.resource import caller
from app.settings import get_settings
from schema import graphiql, persisted, schema
from schema.context import Context
from schema.errors import format_errors

log = logging.getLogger("huifang.graphql")


def _unauthorized(e: BearerError) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": e.message, "extensions": {"code": e.code}}]},
        status_code=401,
        headers=e.headers,
    )


_kept_writes: contextvars.ContextVar[bool] = contextvars.ContextVar("kept_writes", default=False)


class HuifangGraphQL(GraphQL):
    def encode_json(self, data: object) -> str:
        return self.encode(data).decode()

    def encode(self, data: object) -> bytes:
        body = orjson.dumps(data)
        limit = get_settings().graphql_max_response_bytes
        if len(body) > limit:
            # the cost limit bounds rows, not their size: a page of long texts could still be
            # megabytes; it is refused whole (a cut answer would be a lie), saying whether the
            # mutations in it were kept
            kept = _kept_writes.get()
            log.warning("response of %d bytes refused (limit %d)", len(body), limit)
            body = orjson.dumps({"data": None, "errors": [{
                "message": f"The response exceeds {limit} bytes: request fewer fields or smaller pages."
                           + (" The mutations in this request were applied; read their results separately." if kept else ""),
                "extensions": {"code": "RESPONSE_TOO_LARGE", "maxBytes": limit, "mutationsApplied": kept,
                               "requestId": request_id_var.get()}}]})
        return body

    def parse_json(self, data: str | bytes) -> dict:
        parsed = orjson.loads(data)  # orjson.JSONDecodeError is a json.JSONDecodeError: 400 upstream
        if not isinstance(parsed, dict):
            raise HTTPException(400, "The request body must be a JSON object (batching is not supported).")
        return parsed

    async def process_result(self, request, result):
        if result.errors:
            result.errors = format_errors(result.errors, request_id_var.get())
        return await super().process_result(request, result)

    def should_render_graphql_ide(self, request) -> bool:
        # graphql_endpoint alone decides (GraphiQL enabled, a browser asking for HTML); strawberry
        # would also answer any GET without `query` and with `Accept: */*` (Apollo's persisted
        # query GETs) with the IDE
        return False

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # our page on vendored assets (schema/graphiql), not strawberry's CDN template: it works
        # offline and keeps a strict CSP (no other origin, no inline script)
        return graphiql.render_page(endpoint=request.url.path)

    async def get_context(self, request: Request, response: Response) -> Context:
        return Context(request=request, claims=request.state.claims, request_id=request_id_var.get() or "-",
                       deadline=getattr(request.state, "deadline", None))

    async def execute_single(self, request, request_adapter, sub_response, context: Context, root_value, request_data):
        # the document first: persisted queries and allow-list mode (no database; schema.persisted)
        try:
            resolved = await persisted.resolve(request_data, context.claims)
        except persisted.Refused as refused:
            sub_response.status_code = refused.status if refused.status != 200 else None
            sub_response.headers["Cache-Control"] = "no-store"
            return refused.result()
        # strawberry parses and validates; schema.limits prices the operation and charges the
        # caller's bucket, and only then enters this unit of work: the tenant transaction
        context.unit_of_work = _unit_of_work  # called with the context: no closure over it (no reference cycle)
        if request_adapter is _Post:  # the direct path (graphql_direct): no extension runner
            result = await _execute_direct(context, resolved.data)
        else:
            result = await super().execute_single(
                request=request, request_adapter=request_adapter, sub_response=sub_response,
                context=context, root_value=root_value, request_data=resolved.data,
            )
        if context.refusal is not None:
            raise context.refusal  # 401 / 503, answered by graphql_endpoint
        if context.throttled is not None:
            sub_response.status_code = 429
            sub_response.headers["Retry-After"] = str(max(1, math.ceil(context.throttled)))
        if resolved.store_as and context.validated:
            await persisted.remember(context.claims.tenant_id, resolved.store_as, resolved.data.query)
        return result


async def _execute_direct(context: Context, data: GraphQLRequestData):
    """Schema.execute_direct, its refusals answered as strawberry's `execute_single` answers them."""
    from strawberry.exceptions import MissingQueryError
    from strawberry.schema.exceptions import CannotGetOperationTypeError

    try:
        return await schema.execute_direct(data.query, data.variables, context, data.operation_name, data.extensions)
    except CannotGetOperationTypeError as e:
        raise HTTPException(400, e.as_http_error_reason()) from e
    except MissingQueryError as e:
        raise HTTPException(400, "No GraphQL query found in the request") from e


@asynccontextmanager
async def _unit_of_work(context: Context):
    """The operation's execution in one tenant transaction: load the actor under RLS, run the
    resolvers (the body of this block), then COMMIT, or ROLLBACK when a query reported errors.
    The request's deadline covers it all, waiting for a connection included: on expiry the
    running statement is cancelled in PostgreSQL and the transaction rolled back."""
    settings = get_settings()
    loop = asyncio.get_running_loop()
    work = _Work()
    committed = body_done = False
    timeout_ms = settings.statement_timeout_ms
    if context.deadline is not None:  # no statement may outlive the operation
        timeout_ms = max(1, min(timeout_ms, int((context.deadline - loop.time()) * 1000)))
    t_timeout = db.statement_timeout_ms.set(timeout_ms)
    expiry = None
    try:
        async with asyncio.timeout(None) as deadline:
            if context.deadline is not None:
                def expire() -> None:
                    # the operation is cancelled, its running statement with it (asyncpg cancels
                    # it in PostgreSQL); the transaction only rolls back
                    deadline.reschedule(loop.time())

                expiry = loop.call_at(context.deadline, expire)
            async with db.tenant_transaction(context.claims.tenant_id):
                actor, scope = await caller(context.claims)
                context.bind(actor, scope)
                context.executed = True
                yield work
                result = work.result
                if context.is_mutation:
                    # each root mutation ran in its own savepoint: a failed one is already undone
                    # and the others' answers are true; unless the transaction itself is broken
                    if result.errors and not await db.healthy():
                        raise _Aborted()
                elif result.errors:
                    raise db.Rollback()  # a query writes nothing worth keeping when it failed
                if context.pii_reads:
                    await _audit_pii(context)
                if expiry is not None:
                    # COMMIT is never interrupted: its answer would be unknown. The timer may
                    # have fired in this very loop iteration with its cancellation still queued:
                    # that is withdrawn too (had it run, this task would not be here)
                    expiry.cancel()
                    deadline.reschedule(None)
                body_done = True
            committed = body_done
            _kept_writes.set(committed and context.is_mutation)
    except (db.TenantBusy, Unauthenticated) as e:
        context.refusal = e
        raise
    except _Aborted:
        raise _not_committed() from None
    except TimeoutError:
        if not deadline.expired():
            raise
        log.warning("operation stopped at its deadline of %d ms", settings.graphql_deadline_ms)
        raise GraphQLError(
            f"The operation did not finish within its deadline of {settings.graphql_deadline_ms} ms and was stopped; "
            f"nothing of it was kept. Ask for less, or retry later. Request id {request_id_var.get()}.",
            extensions={"code": "DEADLINE_EXCEEDED", "deadlineMs": settings.graphql_deadline_ms,
                        "requestId": request_id_var.get()}) from None
    except Exception:
        if not body_done:
            raise
        # COMMIT itself failed: nothing of the operation was kept, so no payload may say so
        log.exception("commit failed")
        raise _not_committed() from None
    finally:
        if expiry is not None:
            expiry.cancel()
        db.statement_timeout_ms.reset(t_timeout)
        if context.pii_reads and not committed:
            async with db.tenant_transaction(context.claims.tenant_id):  # the read happened all the same
                await _audit_pii(context)


class _Work:
    """What the unit of work hands to schema.limits: the execution's result goes back in it."""

    result = None


class _Aborted(Exception):
    pass


def _not_committed() -> GraphQLError:
    return GraphQLError(
        f"The operation could not be committed and nothing of it was kept; retry it. Request id {request_id_var.get()}.",
        extensions={"code": "NOT_COMMITTED", "requestId": request_id_var.get()})


async def _audit_pii(context: Context) -> None:
    """Every unmasked read of personal data by a partner app is audit-logged (one event per request)."""
    from app.audit import service as audit

    await audit.record(context.scope, "customer.pii_read", target_type="Customer",
                       ip=context.client_ip,
                       details={"customer_ids": sorted(str(c) for c in context.pii_reads)})


view = HuifangGraphQL(
    schema,
    graphql_ide="graphiql",  # served only when settings.graphiql_enabled (see endpoint); page: schema/graphiql
    allow_queries_via_get=True,
)


async def graphql_endpoint(request: Request) -> Response:
    """GET /graphql, and the POSTs `graphql_direct` leaves to strawberry's view (multipart,
    other content types, streaming `Accept`s)."""
    settings = get_settings()
    deadline = _deadline(settings)
    if (request.method == "GET" and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params and "extensions" not in request.query_params):
        if settings.graphiql_enabled:
            return await view.render_graphql_ide(request)
        return JSONResponse({"errors": [{"message": "Not found", "extensions": {"code": "NOT_FOUND"}}]}, status_code=404)
    if request.method == "POST":
        if (refused := await _read_body(request, settings)) is not None:
            return refused
        raw = await request.body()
    else:
        raw = "".join(request.query_params.values()).encode("utf-8", "replace")
    if (refused := _refuse_nul(raw)) is not None:
        return refused
    try:
        request.state.claims = bearer_claims(request.headers.get("authorization"))
    except BearerError as e:
        return _unauthorized(e)
    request.state.deadline = deadline
    try:
        return await view.run(request)
    except _REFUSALS as e:
        return _refusal(e)
    except UnicodeDecodeError:
        return _bad_request("The request body is not valid UTF-8 JSON.")


def takes_direct(scope) -> bool:
    """Whether `graphql_direct` serves this request: a POST whose body is JSON, not asking for a
    streamed answer (`Accept: multipart/mixed` or `text/event-stream`). Everything else takes
    strawberry's view (`graphql_endpoint`), as before."""
    if scope["method"] != "POST":
        return False
    json_body = None
    for key, value in scope["headers"]:
        if key == b"content-type":
            if json_body is None:  # the first one, as Starlette and strawberry read it
                # strawberry's own test, to the letter (case-sensitive, a substring of the type)
                json_body = b"application/json" in value.split(b";", 1)[0]
        elif key == b"accept" and (b"multipart/mixed" in value.lower() or b"text/event-stream" in value.lower()):
            return False
    return bool(json_body)


class _Post:
    """What strawberry's `execute_single` reads of its request adapter: the method (POST: queries
    and mutations)."""

    method = "POST"


class _SubResponse:
    """Where `HuifangGraphQL.execute_single` puts the status and headers it decides (a persisted
    query's refusal, THROTTLED's Retry-After)."""

    __slots__ = ("status_code", "headers")

    def __init__(self):
        self.status_code = None
        self.headers = {}


async def graphql_direct(scope, receive, send) -> None:
    """POST /graphql with a JSON body, the API's every-day request (issue 12, "Speed"): the
    same steps as `graphql_endpoint` and strawberry's view, the same answers, without the
    layers between the ASGI call and the operation (Starlette's routing and error middleware,
    strawberry's request adapter, content negotiation and response building: about a tenth of
    a page of dealers, a fifth of an operation that reads little). The view's own
    `execute_single` (persisted queries, the tenant transaction) and `process_result` run it,
    the document executed by Schema.execute_direct (the same steps without strawberry's
    extension runner); tests/core/test_graphql_http.py holds both paths to the same answers.
    Mounted by app.main for the requests `takes_direct` accepts."""
    response = await _direct(Request(scope, receive))
    await response(scope, receive, send)


async def _direct(request: Request) -> Response:
    settings = get_settings()
    deadline = _deadline(settings)
    if (refused := await _read_body(request, settings)) is not None:
        return refused
    raw = request._body
    if (refused := _refuse_nul(raw)) is not None:
        return refused
    try:
        claims = bearer_claims(request.headers.get("authorization"))
    except BearerError as e:
        return _unauthorized(e)
    try:
        data = view.parse_json(raw)
        query, variables, extensions = data.get("query"), data.get("variables"), data.get("extensions")
        for value, name, kind, types in ((query, "query", "a string", str), (variables, "variables", "an object", dict),
                                         (extensions, "extensions", "an object", dict)):
            if value is not None and not isinstance(value, types):  # strawberry's checks and words
                return _bad_request(f"The GraphQL operation's `{name}` must be {kind} or null, if provided.")
        context = Context(request=request, claims=claims, request_id=request_id_var.get() or "-", deadline=deadline)
        sub_response = _SubResponse()
        result = await view.execute_single(
            request=request, request_adapter=_Post, sub_response=sub_response, context=context, root_value=None,
            request_data=GraphQLRequestData(query=query, variables=variables, operation_name=data.get("operationName"),
                                            extensions=extensions, protocol="http"))
        answer = await view.process_result(request, result)
    except orjson.JSONDecodeError:
        return _bad_request("Unable to parse request body as JSON")
    except _REFUSALS as e:
        return _refusal(e)
    return Response(view.encode(answer), status_code=sub_response.status_code or 200, headers=sub_response.headers,
                    media_type="application/json")


def _deadline(settings) -> float | None:
    if settings.graphql_deadline_ms > 0:
        return asyncio.get_running_loop().time() + settings.graphql_deadline_ms / 1000
    return None


async def _read_body(request: Request, settings) -> Response | None:
    """The body, bounded by GRAPHQL_MAX_BODY_BYTES whether or not a Content-Length says so (413)."""
    length = request.headers.get("content-length")
    if length and (not length.isdigit() or int(length) > settings.graphql_max_body_bytes):
        return JSONResponse(
            {"errors": [{"message": f"Request body exceeds {settings.graphql_max_body_bytes} bytes.", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]},
            status_code=413,
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.graphql_max_body_bytes:
            return JSONResponse({"errors": [{"message": "Request body too large.", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}, status_code=413)
    request._body = bytes(body)
    return None


def _refuse_nul(raw: bytes) -> Response | None:
    # PostgreSQL text cannot hold NUL: refuse it up front, never as a 500 from the driver
    if b"\x00" in raw or b"\\u0000" in raw:
        return _bad_request("Strings must not contain NUL characters.")
    return None


_REFUSALS = (db.TenantBusy, Unauthenticated, HTTPException)


def _refusal(e: Exception) -> Response:
    if isinstance(e, db.TenantBusy):
        return JSONResponse({"errors": [{"message": "Too many operations of this brand are running at once; retry shortly.",
                                         "extensions": {"code": "TENANT_BUSY"}}]}, status_code=503, headers={"Retry-After": "1"})
    if isinstance(e, Unauthenticated):  # the token's user or app refused (app.oauth.resource)
        return _unauthorized(BearerError.of(e))
    return _bad_request(e.reason, e.status_code)


graphiql_asset_endpoint = graphiql.asset_endpoint  # GET /graphiql/assets/{name}, 404 unless graphiql_enabled


def _bad_request(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}, status_code=status)
