"""Database setup run with DATABASE_ADMIN_URL: create the database, apply migrations, create
the unprivileged service role and grant it data access (never ownership, never BYPASSRLS)."""
from __future__ import annotations

import logging

from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

from app.core.db import PgTarget, is_privileged, tortoise_config
from app.domains import function_prefixes

log = logging.getLogger(__name__)

APPEND_ONLY = ("domain_event",)


async def ensure_database(admin: PgTarget) -> None:
    conn = await admin.with_(database="postgres").connect()
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", admin.database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{admin.database}"')
            log.info("database created", extra={"database": admin.database})
    finally:
        await conn.close()


async def drop_database(admin: PgTarget) -> None:
    conn = await admin.with_(database="postgres").connect()
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            admin.database,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{admin.database}"')
    finally:
        await conn.close()


async def apply_migrations(admin: PgTarget) -> None:
    await tortoise_migrate(config=tortoise_config(admin, minsize=1, maxsize=2))
    await Tortoise.close_connections()


async def setup_app_role(admin: PgTarget, service: PgTarget, app_role: str) -> str:
    """Returns the role the service will connect as."""
    grantee = service.user
    if await is_privileged(service):
        grantee = app_role
    if grantee == admin.user:
        log.warning("the service connects as the migrating role; FORCE RLS still applies to it")
        return grantee
    conn = await admin.connect()
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", grantee)
        if not exists:
            await conn.execute(f'CREATE ROLE "{grantee}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE')
            log.info("service role created", extra={"role": grantee})
        flags = await conn.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", grantee)
        if flags["rolsuper"] or flags["rolbypassrls"]:
            raise RuntimeError(f"role {grantee} bypasses row-level security; refusing to use it")
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if not r["tablename"].startswith("tortoise")
        ]
        await conn.execute(f'GRANT CONNECT ON DATABASE "{admin.database}" TO "{grantee}"')
        await conn.execute(f'GRANT USAGE ON SCHEMA public TO "{grantee}"')
        for t in tables:
            await conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{t}" TO "{grantee}"')
        for t in APPEND_ONLY:  # a record of what happened: added to, never changed
            await conn.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{t}" FROM "{grantee}"')
        await conn.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{grantee}"')
        # each module's SQL functions are named after it (app/domains.py)
        patterns = [f"{prefix}\\_%" for prefix in function_prefixes()]
        for fn in await conn.fetch("SELECT p.oid::regprocedure::text AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                                   "WHERE n.nspname = 'public' AND p.prokind = 'f' AND p.proname LIKE ANY($1::text[])", patterns):
            await conn.execute(f'GRANT EXECUTE ON FUNCTION {fn["sig"]} TO "{grantee}"')
    finally:
        await conn.close()
    return grantee


async def setup(admin_url: str, database_url: str, app_role: str) -> list[str]:
    """Returns warnings an operator should read."""
    admin = PgTarget.parse(admin_url)
    await ensure_database(admin)
    await apply_migrations(admin)
    role = await setup_app_role(admin, PgTarget.parse(database_url), app_role)
    warnings = []
    conn = await admin.connect()
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = 'huifang_search'"):
            warnings.append("migrations did not run as a superuser: customer search is not index-assisted and "
                            "tenant_ids() returns nothing, so scheduled per-tenant jobs will not run (README, "
                            "'Against external PostgreSQL and Redis')")
        if not await conn.fetchval("SELECT to_regcollation('public.zh_pinyin') IS NOT NULL"):
            warnings.append("this PostgreSQL has neither ICU nor a zh_CN.UTF-8 locale: Chinese names and regions sort "
                            "by code point, not pinyin (README, 'GraphQL API'; the embedded server of `make run` is built without ICU)")
        owner = await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'customer'")
        if role == owner:
            warnings.append(f"the service connects as {role}, the tables' owner: use a separate non-owner role")
    finally:
        await conn.close()
    for w in warnings:
        log.warning(w)
    return warnings


