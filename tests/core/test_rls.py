"""Wall two, checked with raw SQL as the service role: fails closed without a tenant."""
import contextlib
import re
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from app.complaint import service as complaint_service
from app.core import db, documents, events, imports
from app.core.tenancy import Actor, scope_for
from app.customer import service as customer_service
from app.customer.models import ExternalRef
from app.oauth import repository as oauth_repo
from app.sla import engine as sla_engine
from app.survey import service as survey_service
from tests.factories import make_app, make_customer


async def tenant_tables(conn) -> list[str]:
    """Every table with a tenant_id column: new tables are covered without editing this test."""
    return [r["table_name"] for r in await conn.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1")]


RLS_CONSUMER = "tests.rls_probe"


@events.consumer(RLS_CONSUMER, types={"customer.rls_probe"})
async def _probe(scope, event) -> None:
    """Only here so that event_cursor gets a row per brand."""


async def populate(brand):
    """A row in every tenant table (brand factories fill the tenancy tables)."""
    app, _ = await make_app(brand)  # partner_app + audit_event
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    async with db.tenant_transaction(brand.tenant_id):
        scope = scope_for(Actor.system(brand.tenant_id))
        await oauth_repo.insert_code(scope, code_hash=uuid.uuid4().hex, client_id=app.client_id, user_id=brand.users["admin"].id,
                                     redirect_uri="https://x.test/cb", scope="customers:read", code_challenge="c" * 43,
                                     code_challenge_method="S256", family_id=uuid.uuid4(), expires_at=later)
        await oauth_repo.insert_refresh(scope, token_hash=uuid.uuid4().hex, family_id=uuid.uuid4(), client_id=app.client_id,
                                        user_id=brand.users["admin"].id, scope="customers:read", expires_at=later)
        await oauth_repo.revoke_jti(scope, uuid.uuid4().hex, later)
    c = await make_customer(brand, service_spend=50000)
    async with db.tenant_transaction(brand.tenant_id):
        scope = scope_for(Actor.system(brand.tenant_id))
        await customer_service.add_product(scope, c.id, product_model="M")
        await customer_service.add_promise(scope, c.id, description="p", due_date=None, promised_by=None)
        await customer_service.add_interaction(scope, c.id, kind="call", outcome="reached", notes=None, occurred_at=None)
        await customer_service.add_winback(scope, c.id, action="contact", notes=None, outcome="pending")
        await customer_service.update_tier_policy(scope, a_min=41)
        await customer_service.recompute_tiers(scope)
        await imports.create_import(scope, "customers", b"external_source,external_id,name\n", "csv", None, "0" * 64)
    async with db.tenant_transaction(brand.tenant_id):  # domain_event, and event_cursor below
        await events.record(scope_for(Actor.system(brand.tenant_id)), "customer.rls_probe", subject_type="Customer", subject_id=c.id)
    await events.deliver(brand.tenant_id, [RLS_CONSUMER])
    async with db.tenant_transaction(brand.tenant_id):  # ticket, ticket_category, ticket_counter
        await complaint_service.create_ticket(scope_for(Actor.system(brand.tenant_id)), customer_id=c.id, source="hotline",
                                              title="t", category_code="misuse")
    await events.deliver(brand.tenant_id, ["notification.tickets"])  # notification
    # sla_ticket, sla_clock, sla_calendar, sla_calendar_version and sla_policy came with the ticket; sla_firing:
    await sla_engine.process_due(brand.tenant_id, datetime.now(timezone.utc) + timedelta(days=60))
    async with db.tenant_transaction(brand.tenant_id):  # survey_template, _selection_rule, _result, ticket_survey_result, ticket_assignment_rule
        scope = scope_for(Actor.system(brand.tenant_id))
        await survey_service.save_template(scope, code="t", name="t", questions=[
            {"key": "nps", "text": "?", "kind": "score_10", "role": "overall"}])
        await survey_service.create_rule(scope, survey_service.RuleInput(name="low", conditions=[
            {"field": "overall", "op": "lte", "value": 6}]))
        await survey_service.submit_results(scope, [survey_service.ResultInput(
            template_code="t", source="s", response_id="r1", answers={"nps": 1}, external_source="crm",
            external_id=(await ExternalRef.get(tenant_id=brand.tenant_id, customer_id=c.id)).external_id)])
        await complaint_service.save_assignment_rule(scope, name="r", dealer_id=brand.dealers["d1"].id, region="north")
    async with db.tenant_transaction(brand.tenant_id):  # ticket_policy
        await complaint_service.update_policy(scope_for(Actor.system(brand.tenant_id)), max_rounds=3)
    async with db.tenant_transaction(brand.tenant_id):  # trusted_document, document_policy
        await documents.register(scope_for(Actor.system(brand.tenant_id)), documents.BRAND, [(None, "{ viewer { roles } }")])
        await documents.set_allow_list(scope_for(Actor.system(brand.tenant_id)), app.client_id, True)
    gone = await make_customer(brand)
    async with db.tenant_transaction(brand.tenant_id):
        await customer_service.erase_customer(scope_for(Actor.system(brand.tenant_id)), gone.id)  # leaves a tombstone


@pytest.fixture
async def app_conn(orm):
    conn = await orm.connect()
    yield conn
    await conn.close()


@pytest.fixture
async def populated(brand_a, brand_b):
    await populate(brand_a)
    await populate(brand_b)


async def test_no_tenant_set_reads_nothing(app_conn, populated):
    tables = await tenant_tables(app_conn)
    assert len(tables) >= 20
    for t in tables + ["brand"]:
        assert await app_conn.fetchval(f'SELECT count(*) FROM "{t}"') == 0, t


async def test_tenant_a_sees_none_of_b(app_conn, brand_a, brand_b, populated):
    TENANT_TABLES = await tenant_tables(app_conn)
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(brand_a.tenant_id))
        for t in TENANT_TABLES:
            assert await app_conn.fetchval(f'SELECT count(*) FROM "{t}" WHERE tenant_id <> $1', brand_a.tenant_id) == 0
            assert await app_conn.fetchval(f'SELECT count(*) FROM "{t}" WHERE tenant_id = $1', brand_a.tenant_id) > 0
        assert await app_conn.fetchval("SELECT count(*) FROM brand") == 1
        # another tenant's row cannot be updated or deleted either
        assert await app_conn.execute("UPDATE dealer SET name = 'x' WHERE id = $1", brand_b.dealers["d1"].id) == "UPDATE 0"
        assert await app_conn.execute("DELETE FROM customer WHERE tenant_id = $1", brand_b.tenant_id) == "DELETE 0"


async def test_insert_with_other_tenant_id_is_rejected(app_conn, brand_a, brand_b):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(brand_a.tenant_id))
            await app_conn.execute(
                "INSERT INTO dealer (id, tenant_id, code, name, region, time_zone, customer_count, created_at, updated_at) "
                "VALUES ($1, $2, 'X-1', 'x', 'north', 'UTC', 0, now(), now())", uuid.uuid4(), brand_b.tenant_id)


async def test_insert_without_tenant_is_rejected(app_conn, brand_a):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute(
            "INSERT INTO dealer (id, tenant_id, code, name, region, time_zone, customer_count, created_at, updated_at) "
            "VALUES ($1, $2, 'X-2', 'x', 'north', 'UTC', 0, now(), now())", uuid.uuid4(), brand_a.tenant_id)


async def test_moving_a_row_to_another_tenant_is_rejected(app_conn, brand_a, brand_b):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(brand_a.tenant_id))
            await app_conn.execute("UPDATE customer SET tenant_id = $1 WHERE tenant_id = $2", brand_b.tenant_id, brand_a.tenant_id)


async def test_setting_is_transaction_local(app_conn, brand_a):
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(brand_a.tenant_id))
        assert await app_conn.fetchval("SELECT count(*) FROM dealer") == 3
    assert await app_conn.fetchval("SELECT count(*) FROM dealer") == 0


async def test_a_pooled_connection_given_back_carries_no_tenant(brand_a):
    """The pool skips asyncpg's reset query (app.core.db.pool_options): what a transaction set
    must end with it. Every idle connection of the service's pool, after brand A's work (and
    one that failed), reads no tenant and the default statement timeout."""
    from tortoise import connections

    for fail in (False, True, False):
        with pytest.raises(ZeroDivisionError) if fail else contextlib.nullcontext():
            async with db.tenant_transaction(brand_a.tenant_id):
                assert len(await db.fetch("SELECT id FROM dealer", [])) == 3
                if fail:
                    1 / 0
    pool = connections.get("default")._pool
    idle = [h._con for h in pool._holders if h._con is not None and not h._in_use]
    assert idle
    default = await idle[0].fetchval("SELECT reset_val FROM pg_settings WHERE name = 'statement_timeout'")
    for conn in idle:
        row = await conn.fetchrow("SELECT current_setting('app.tenant_id', true) AS tenant, current_setting('statement_timeout') AS st, "
                                  "(SELECT count(*) FROM dealer) AS dealers, pg_current_xact_id_if_assigned() AS xact")
        assert row["tenant"] in (None, "") and row["dealers"] == 0 and row["xact"] is None, dict(row)
        assert row["st"] == default or row["st"] == f"{default}ms", (row["st"], default)


_SESSION_STATE = [  # what would outlive a transaction on a pooled connection that is never reset
    # SET / SET SESSION at a statement's start (UPDATE ... SET is not), in any case, when it sets
    # something (`SET x = ...`, `SET x TO ...`): a description's "Set when ..." is not SQL
    re.compile(r"(^|;)\s*SET\s+(SESSION\s+)?(?!LOCAL\b)[a-z_.\"]+\s*(=|TO\b)", re.I),
    re.compile(r"(^|;)\s*SET\s+(SESSION\s+)?(ROLE|SESSION\s+AUTHORIZATION|TIME\s+ZONE|NAMES|SCHEMA)\b", re.I),
    # LISTEN x, PREPARE x, RESET x, DISCARD x, DEALLOCATE x: in capitals as all SQL here, or in any
    # case when what follows is a single word and the end (a key named "reset" is not SQL)
    re.compile(r"(^|;)\s*(LISTEN|PREPARE|RESET|DISCARD|DEALLOCATE)\s+\S"),
    re.compile(r"(^|;)\s*(listen|prepare|reset|discard|deallocate)\s+[a-z_*]+\s*(;|$)", re.I),
    re.compile(r"\bWITH\s+HOLD\b", re.I),
    re.compile(r"\bpg_(try_)?advisory_lock(_shared)?\s*\(", re.I),  # session-level; pg_advisory_xact_lock is fine
    re.compile(r"\bCREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\s+TABLE\b(?![^;]*ON\s+COMMIT\s+DROP)", re.I),
]


def _session_settings(sql: str) -> list[str]:
    """set_config calls whose third argument is anything but `true` (transaction-local)."""
    found = []
    for m in re.finditer(r"set_config\s*\(", sql, re.I):
        depth, args, start = 1, [], m.end()
        for i in range(m.end(), len(sql)):
            if sql[i] == "(":
                depth += 1
            elif sql[i] == ")":
                depth -= 1
                if depth == 0:
                    args.append(sql[start:i])
                    break
            elif sql[i] == "," and depth == 1:
                args.append(sql[start:i])
                start = i + 1
        if len(args) != 3 or args[2].strip().lower() != "true":
            found.append(f"set_config({','.join(args)})")
    return found


def _session_state(sql: str) -> list[str]:
    return [p.pattern for p in _SESSION_STATE if p.search(sql)] + _session_settings(sql)


def test_no_code_of_the_service_leaves_session_state_on_a_connection():
    """The companion of the test above, for what it cannot see: a connection given back is not
    reset (asyncpg only rolls back a transaction left open), so no SQL of the service may set
    session state (a session SET or set_config, LISTEN, a prepared statement by name, DISCARD or
    DEALLOCATE, a held cursor, a session advisory lock, a temporary table). Every string
    constant of app/, schema/ and workers/ is checked (f-strings' text included); the checker
    itself is checked on examples of each. Not scanned: the SQL that Tortoise builds (queries
    and DML, no session state) and SQL assembled from pieces at run time."""
    import ast
    from pathlib import Path

    for bad in ("SET statement_timeout = 0", "BEGIN; SET search_path TO x", "SELECT set_config('app.tenant_id', $1, false)",
                "set search_path to x", "SET SESSION ROLE other", "SELECT set_config('x', $1, 'false')", "SELECT set_config('x', $1, $2)",
                "DISCARD ALL", "DEALLOCATE q", "SET TIME ZONE 'UTC'", "discard all", "listen ticket_events;",
                "LISTEN ticket_events", "PREPARE q AS SELECT 1", "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
                "SELECT pg_advisory_lock(hashtext($1))", "SELECT pg_try_advisory_lock(1)", "CREATE TEMP TABLE t (id int)"):
        assert _session_state(bad), bad
    for fine in ("SET LOCAL synchronous_commit = off", "UPDATE ticket SET status = $1 WHERE id = $2",
                 "Set when this record was merged into another: follow it.", "reset", "Reset the password of a user.",
                 "SELECT set_config('app.tenant_id', lower($1), true)",
                 "SELECT set_config('app.tenant_id', $1, true), set_config('statement_timeout', $2, true)",
                 "SELECT pg_advisory_xact_lock(hashtext('x' || $1::text))", "CREATE TEMP TABLE t (id int) ON COMMIT DROP"):
        assert not _session_state(fine), fine
    root = Path(__file__).resolve().parents[2]
    found, scanned = [], 0
    for top in ("app", "schema", "workers"):
        for path in (root / top).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            skip = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}  # docstrings: text, not SQL
            for node in ast.walk(tree):
                if isinstance(node, ast.JoinedStr):  # an f-string checked whole, its values as "x"
                    skip.update(id(v) for v in node.values)
                    text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                    text = node.value
                else:
                    continue
                scanned += 1
                if hit := _session_state(text):
                    found.append((str(path.relative_to(root)), node.lineno, hit))
    assert scanned > 1000 and not found, found


async def test_composite_foreign_key_blocks_cross_tenant_reference(app_conn, brand_a, brand_b):
    """Even a bug that names another tenant's dealer cannot link rows across tenants."""
    with pytest.raises((asyncpg.ForeignKeyViolationError, asyncpg.InsufficientPrivilegeError)):
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(brand_a.tenant_id))
            await app_conn.execute(
                "INSERT INTO customer (id, tenant_id, dealer_id, name, tags, service_spend, referrals, churn_status, open_ticket_count, "
                "search_text, created_at, updated_at) VALUES ($1, $2, $3, 'x', '{}', 0, 0, 'active', 0, '', now(), now())",
                uuid.uuid4(), brand_a.tenant_id, brand_b.dealers["d1"].id)


async def test_search_function_is_tenant_bound(app_conn, brand_a, brand_b):
    """customer_search_ids bypasses RLS to use its index, so it must filter by tenant itself."""
    from tests.factories import make_customer

    a = await make_customer(brand_a, name="Searchable Shared-Name")
    await make_customer(brand_b, name="Searchable Shared-Name")
    assert await app_conn.fetch("SELECT customer_search_ids('%searchable shared-name%', true)") == []  # no tenant: nothing
    assert await app_conn.fetch("SELECT customer_search_ids('%searchable shared-name%', false)") == []
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(brand_a.tenant_id))
        for with_contacts in (True, False):
            rows = await app_conn.fetch("SELECT customer_search_ids('%searchable shared-name%', $1) AS id", with_contacts)
            assert [r["id"] for r in rows] == [a.id]
