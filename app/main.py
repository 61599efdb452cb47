"""The ASGI application: routes, middleware, lifespan (ORM pool, jobs pool). Composition root:
the only module of `app` that imports the GraphQL layer."""
from __future__ import annotations

import gc
import logging
import re
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.core import db, jobs, ratelimit
from app.core.ids import uuid7
from app.core.logging import actor_var, configure_logging, request_id_var, tenant_var
from app.settings import get_settings

log = logging.getLogger("huifang.http")
_RID_OK = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Request id (from X-Request-ID if sane, else new), access log line, and the id echoed back."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = None
        for k, v in scope["headers"]:
            if k == b"x-request-id":
                candidate = v.decode("latin-1")
                rid = candidate if _RID_OK.match(candidate) else None
                break
        rid = rid or uuid7().hex
        t_rid = request_id_var.set(rid)
        t_tenant = tenant_var.set(None)
        t_actor = actor_var.set(None)
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if scope["path"] not in ("/healthz", "/readyz"):
                log.info("request", extra={
                    "method": scope["method"], "path": scope["path"], "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                })
            request_id_var.reset(t_rid)
            tenant_var.reset(t_tenant)
            actor_var.reset(t_actor)

    def __getattr__(self, name):  # the application's attributes (`router`, `state`)
        return getattr(self.app, name)


async def internal_error(request: Request | None, exc: Exception) -> JSONResponse:
    """Every route's answer to an unexpected failure (Starlette's error middleware calls it; so
    does the direct GraphQL path): JSON with the request id, nothing of the error itself."""
    return JSONResponse({"errors": [{"message": "Internal server error.", "extensions": {
        "code": "INTERNAL_SERVER_ERROR", "requestId": request_id_var.get()}}]}, status_code=500)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    checks = {}
    try:
        await db.conn().execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as e:  # noqa: BLE001 - readiness reports, never raises
        checks["database"] = f"error: {type(e).__name__}"
    try:
        await jobs.pool().ping()
        checks["redis"] = "ok"
    except Exception as e:  # noqa: BLE001
        checks["redis"] = f"error: {type(e).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


def create_app() -> Starlette:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    import os

    if settings.env == "production":
        if not settings.base_url.startswith("https://"):
            raise RuntimeError("PUBLIC_URL must be an https:// URL in production (OAuth refuses plain http)")
    else:
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # http on a LAN address during development
    from app.core import upload
    from app.oauth import http as oauth
    from app.oauth.resource import caller
    from app.sla import http as sla_http
    from schema.http import graphiql_asset_endpoint, graphql_direct, graphql_endpoint, takes_direct

    @asynccontextmanager
    async def lifespan(app):
        if not settings.database_url or not settings.redis_url:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be set (`make run` sets them for you)")
        target = await db.service_target(settings.database_url, settings.app_db_role)
        await db.init_orm(target, minsize=settings.db_pool_min, maxsize=settings.db_pool_max)
        await jobs.init(settings.redis_url, settings.queue_name)
        await ratelimit.init(settings.redis_url)
        from app.core.auth.keys import keyring

        keyring()  # fail at startup, not on the first request, if keys are missing
        thresholds = gc.get_threshold()
        gc.set_threshold(settings.gc_young_threshold, *thresholds[1:])
        if settings.gc_freeze:
            # what startup built (schema, plans' types, modules) lives as long as the process:
            # out of the collector's generations, a full collection no longer walks it (a 100 ms
            # pause every few seconds under load otherwise; README, "Operations")
            gc.collect()
            gc.freeze()
        log.info("api started", extra={"db_user": target.user})
        try:
            yield
        finally:
            log.info("api shutting down")
            try:
                await jobs.close()
                await ratelimit.close()
                await db.close_orm()
            finally:
                # an app started again in this process (tests) starts from the same state
                gc.set_threshold(*thresholds)
                if settings.gc_freeze:
                    gc.unfreeze()

    dev_routes = []
    if settings.env == "development":  # the demo apps' redirect URI (app/demo.py)
        dev_routes.append(Route("/dev/callback", oauth.dev_callback_endpoint, methods=["GET"]))
    site = Starlette(
        routes=[
            *dev_routes,
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            Route("/graphiql/assets/{name}", graphiql_asset_endpoint, methods=["GET", "HEAD"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/oauth/authorize", oauth.authorize_endpoint, methods=["GET", "POST"]),
            Route("/oauth/token", oauth.token_endpoint, methods=["POST"]),
            Route("/oauth/revoke", oauth.revoke_endpoint, methods=["POST"]),
            Route("/oauth/introspect", oauth.introspect_endpoint, methods=["POST"]),
            Route("/.well-known/oauth-authorization-server", oauth.metadata_endpoint),
            Route("/.well-known/jwks.json", oauth.jwks_endpoint),
            Route("/imports/{kind}", upload.endpoint(caller), methods=["POST"]),
            Route("/exports/sla-report", sla_http.endpoint(caller), methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={500: internal_error},
    )
    return RequestContextMiddleware(GraphQLFirst(site, graphql_direct, takes_direct))


class GraphQLFirst:
    """POST /graphql with a JSON body (the API's every-day request) goes straight to the GraphQL
    layer's direct path, not through Starlette's routing and error middleware (schema.http,
    `graphql_direct`); everything else, the other /graphql requests included, to the Starlette
    application. Metrics still label it with its route. Attributes are the Starlette app's."""

    def __init__(self, site: Starlette, direct, takes):
        self.site, self.direct, self.takes = site, direct, takes
        self.route = next(r for r in site.routes if getattr(r, "path", None) == "/graphql")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/graphql" and self.takes(scope):
            scope["route"] = self.route
            started = False

            async def sending(message):
                nonlocal started
                started = True
                await send(message)

            try:
                return await self.direct(scope, receive, sending)
            except Exception as e:
                # what Starlette's error middleware does for the other routes: log, answer 500
                log.exception("unhandled error in GraphQL request")
                if started:
                    raise
                await (await internal_error(None, e))(scope, receive, send)
                return
        return await self.site(scope, receive, send)

    def __getattr__(self, name):
        return getattr(self.site, name)
