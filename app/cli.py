"""Operator CLI: `python -m app <command>`. See README, "Operator commands"."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid

from app.settings import get_settings

# PUBLIC_URL and JWT_ISSUER too: a token minted in another terminal carries the issuer the API expects
DEV_ENV_KEYS = ("DATABASE_URL", "DATABASE_ADMIN_URL", "REDIS_URL", "JWT_KEYS_FILE", "PUBLIC_URL", "JWT_ISSUER")


def dev_env_path():
    return get_settings().data_dir / "dev.env"


def write_dev_env(values: dict) -> None:
    """`make run` records where its embedded servers listen, so that operator commands typed in
    another terminal (`python -m app token ...`) find them without DATABASE_URL."""
    path = dev_env_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # single-quoted, so that the file can also be sourced in a shell (URLs hold '&')
    tmp.write_text("".join(f"{k}='{values[k]}'\n" for k in DEV_ENV_KEYS if values.get(k) and "'" not in values[k]))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def load_dev_env() -> bool:
    """In development, with DATABASE_URL unset, use the servers of a running `make run`."""
    s = get_settings()
    if s.database_url or s.env != "development":
        return False
    path = dev_env_path()
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        key, sep, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        if sep and key in DEV_ENV_KEYS and not os.environ.get(key):
            os.environ[key] = value
    get_settings.cache_clear()
    print(f"(using the development servers of `make run`, from {path})", file=sys.stderr)
    return True


def _need_db() -> tuple[str, str]:
    s = get_settings()
    if not s.database_url:
        sys.exit("DATABASE_URL is not set (for a local setup use `make run`, which starts an embedded server)")
    return s.admin_url, s.database_url


async def _with_orm(fn, *, writes: bool = True):
    """ORM as the service role, and (for writes, which may enqueue jobs after commit) the queue."""
    from app.core import db, jobs

    s = get_settings()
    if writes and not s.redis_url:
        sys.exit("REDIS_URL is not set (jobs are enqueued after each change)")
    target = await db.service_target(s.database_url, s.app_db_role)
    await db.init_orm(target, minsize=1, maxsize=2)
    if writes:
        await jobs.init(s.redis_url, s.queue_name)
    try:
        return await fn()
    finally:
        if writes:
            await jobs.close()
        await db.close_orm()


async def brand_id_by_slug(slug: str | None) -> tuple[uuid.UUID, str]:
    """Operator lookup across tenants (admin connection; the service role cannot do this)."""
    from app.core.db import PgTarget

    conn = await PgTarget.parse(get_settings().admin_url).connect()
    try:
        if slug:
            row = await conn.fetchrow("SELECT id, slug FROM brand WHERE slug = $1", slug)
            if row is None:
                sys.exit(f"no brand with slug {slug!r}")
        else:
            rows = await conn.fetch("SELECT id, slug FROM brand ORDER BY created_at LIMIT 2")
            if len(rows) != 1:
                sys.exit("pass --brand SLUG (there is not exactly one brand)")
            row = rows[0]
        return row["id"], row["slug"]
    finally:
        await conn.close()


async def cmd_migrate(args) -> None:
    from app.core.setup import setup

    admin, url = _need_db()
    warnings = await setup(admin, url, get_settings().app_db_role)
    print("migrations applied; service role ready")
    for w in warnings:
        print(f"WARNING: {w}", file=sys.stderr)


async def cmd_brand_create(args) -> None:
    from app.core.errors import AppError
    from app.tenant.provision import provision_brand

    _need_db()
    try:
        brand, admin = await _with_orm(lambda: provision_brand(args.slug, args.name, args.admin))
    except AppError as e:
        sys.exit(f"error [{e.code}]: {e.message}")
    print(f"brand {brand.slug} created (tenant id {brand.id}); admin {admin.email}")


async def ensure_demo(slug: str, name: str = "Demo Motors 演示汽车") -> tuple[uuid.UUID, dict]:
    from app import demo
    from app.core.db import PgTarget
    from app.tenant.provision import provision_brand

    conn = await PgTarget.parse(get_settings().admin_url).connect()
    try:
        tid = await conn.fetchval("SELECT id FROM brand WHERE slug = $1", slug)
    finally:
        await conn.close()

    async def run():
        nonlocal tid
        if tid is None:
            brand, _ = await provision_brand(slug, name, f"admin@{slug}.example")
            tid = brand.id
        return await demo.seed(tid, slug)

    created = await _with_orm(run)
    return tid, created


async def cmd_demo_seed(args) -> None:
    _need_db()
    tid, created = await ensure_demo(args.brand)
    apps = created.pop("partner_apps")
    print(f"demo data for {args.brand} (tenant {tid}): created {created}")
    print(f"partner app 'Demo call centre': client_id={apps['call_centre_id']} client_secret={apps['call_centre_secret']}")
    print(f"partner app 'Demo brand console' (public, PKCE, first-party): client_id={apps['console_id']}")
    print(f"partner app 'Demo partner portal' (public, PKCE, third-party: consent page): client_id={apps['portal_id']}")
    print(f"redirect_uri for both: {apps['redirect_uri']}")


async def mint_user_token(email: str, slug: str | None, ttl: int | None, scope: str | None) -> str:
    from app.core import db
    from app.core.auth.tokens import mint_access_token
    from app.tenant.models import User

    tid, _ = await brand_id_by_slug(slug)

    async def find():
        async with db.tenant_transaction(tid):
            return await User.get_or_none(tenant_id=tid, email=email.lower())

    user = await _with_orm(find, writes=False)
    if user is None:
        sys.exit(f"no user {email} in that brand")
    return mint_access_token(tenant_id=tid, subject=str(user.id), scope=scope, ttl_seconds=ttl)


async def cmd_token(args) -> None:
    _need_db()
    print(await mint_user_token(args.user, args.brand, args.ttl, args.scope))


async def cmd_set_password(args) -> None:
    """Set a user's password for the OAuth login page (read from stdin, never from argv)."""
    import getpass

    from app.core import db
    from app.core.secrets import hash_password
    from app.tenant.models import User

    _need_db()
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("New password: ")
    if len(password) < 10:
        sys.exit("a password needs at least 10 characters")
    tid, _ = await brand_id_by_slug(args.brand)

    async def run():
        async with db.tenant_transaction(tid):
            return await User.filter(tenant_id=tid, email=args.email.lower()).update(password_hash=hash_password(password))

    if not await _with_orm(run, writes=False):
        sys.exit(f"no user {args.email} in that brand")
    print(f"password set for {args.email}")


def cmd_export_schema(args) -> None:
    from app.settings import ROOT
    from schema import schema

    path = ROOT / "schema" / "schema.graphql"
    path.write_text(schema.as_str() + "\n")
    print(f"wrote {path}")


def cmd_serve(args) -> None:
    from app.core import serve

    # --host/--port are the settings HOST/PORT: the advertised URLs (PUBLIC_URL's default, the
    # token issuer, the OAuth metadata) follow them
    for flag, name in ((args.host, "HOST"), (args.port, "PORT")):
        if flag:
            os.environ[name] = str(flag)
    get_settings.cache_clear()
    s = get_settings()
    code = serve.run(host=args.host or s.host, port=args.port or s.port, workers=args.workers)
    if code:
        sys.exit(code)


# -- trusted documents (issue #12 item 4): `documents register | list | allow-list` -----------

def add_documents_commands(sub) -> None:
    d = sub.add_parser("documents", help="trusted GraphQL documents and allow-list mode").add_subparsers(
        dest="documents_cmd", required=True)
    r = d.add_parser("register", help="register documents: .graphql files, or an Apollo / Relay persisted-query manifest (.json)")
    r.add_argument("files", nargs="+")
    ls = d.add_parser("list", help="the registered documents and who is in allow-list mode")
    al = d.add_parser("allow-list", help="turn allow-list mode on or off (only registered documents run)")
    al.add_argument("state", choices=["on", "off"])
    for p in (r, ls, al):
        p.add_argument("--brand", help="brand slug (needed when there is more than one brand)")
        p.add_argument("--app", help="an OAuth app's client id: a partner's, or the brand's first-party front-end "
                                     "(without it: documents for operator-minted tokens; allow-list mode for every caller)")


async def cmd_documents(args) -> None:
    from app.core import db, documents
    from app.core.tenancy import Actor, scope_for
    from app.oauth.models import PartnerApp
    from schema import persisted

    _need_db()
    tid, slug = await brand_id_by_slug(args.brand)
    client_id = args.app or documents.BRAND
    docs = []
    if args.documents_cmd == "register":
        try:
            docs = persisted.read_documents(args.files)
        except (OSError, ValueError) as e:
            sys.exit(f"error: {e}")
        problems = persisted.check_documents(docs)
        if problems:
            sys.exit("not registered, these documents do not validate against the schema:\n  " + "\n  ".join(problems))

    async def run():
        async with db.tenant_transaction(tid):
            scope = scope_for(Actor.system(tid))
            if client_id and not await PartnerApp.filter(tenant_id=tid, client_id=client_id).exists():
                sys.exit(f"no partner app {client_id} in brand {slug}")
            if args.documents_cmd == "register":
                return await documents.register(scope, client_id, docs)
            if args.documents_cmd == "allow-list":
                return await documents.set_allow_list(scope, client_id, args.state == "on")
            return await documents.enforced(scope), await documents.list_documents(scope, args.app)

    who = f"app {client_id}" if client_id else f"brand {slug}"
    result = await _with_orm(run, writes=False)
    if args.documents_cmd == "register":
        print(f"{who}: {result[0]} documents registered, {result[1]} already were")
    elif args.documents_cmd == "allow-list":
        state = "on" if args.state == "on" else "off"
        print(f"allow-list mode {state} for {'every caller of ' if not client_id else ''}{who}"
              + ("" if result else " (it already was)")
              + f"; running API processes apply it within {get_settings().graphql_documents_cache_seconds:g} s")
    else:
        enforced, rows = result
        print("allow-list mode: " + (", ".join("the whole brand" if c == documents.BRAND else c for c in enforced) or "off"))
        for row in rows:
            print(f"{row['sha256']}  {row['client_id'] or '(brand)'}  {row['created_at']:%Y-%m-%d %H:%M}  {row['name'] or ''}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m app", description="Huifang operator commands")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="create the database if missing, apply migrations, set up the service role")
    b = sub.add_parser("brand", help="brand (tenant) provisioning").add_subparsers(dest="brand_cmd", required=True)
    bc = b.add_parser("create", help="provision a brand with its first admin")
    bc.add_argument("slug")
    bc.add_argument("--name", required=True)
    bc.add_argument("--admin", required=True, help="e-mail of the first brand admin")
    ds = sub.add_parser("demo-seed", help="fill a brand with demo data (idempotent; creates the brand if missing)")
    ds.add_argument("--brand", default="demo")
    t = sub.add_parser("token", help="mint an access token for a user")
    t.add_argument("--user", required=True)
    t.add_argument("--brand", help="brand slug (needed when there is more than one brand)")
    t.add_argument("--ttl", type=int, help="lifetime in seconds (default ACCESS_TOKEN_TTL_SECONDS)")
    t.add_argument("--scope", help="restrict the token to these space-separated scopes")
    u = sub.add_parser("user", help="user accounts").add_subparsers(dest="user_cmd", required=True)
    sp = u.add_parser("set-password", help="set a user's login password (read from stdin or prompted)")
    sp.add_argument("--email", required=True)
    sp.add_argument("--brand", help="brand slug (needed when there is more than one brand)")
    sub.add_parser("export-schema", help="write schema/schema.graphql")
    sv = sub.add_parser("serve", help="run the API (production entry point)")
    sv.add_argument("--host")
    sv.add_argument("--port", type=int)
    sv.add_argument("--workers", type=int, help="worker processes (default WEB_CONCURRENCY; else the cores in production, 1 otherwise)")
    sub.add_parser("dev", help="local supervisor: embedded servers, migrate, seed, API + worker (`make run`)")
    add_documents_commands(sub)
    args = p.parse_args(argv)

    if args.cmd == "dev":
        from app.dev import main as dev_main

        return dev_main()
    if args.cmd == "export-schema":
        return cmd_export_schema(args)
    if args.cmd in ("token", "user", "demo-seed", "brand", "migrate", "serve", "documents"):
        load_dev_env()
    if args.cmd == "serve":
        return cmd_serve(args)
    handlers = {"migrate": cmd_migrate, "demo-seed": cmd_demo_seed, "token": cmd_token}
    handlers["user"] = cmd_set_password
    handlers["documents"] = cmd_documents
    handler = cmd_brand_create if args.cmd == "brand" else handlers[args.cmd]
    from app.core.logging import configure_logging

    configure_logging("WARNING", json_logs=False)
    asyncio.run(handler(args))
