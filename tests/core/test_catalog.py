"""Walks the PostgreSQL catalog: every tenant-owned table must be isolated and Citus-ready."""

# tables that are not tenant-owned, and why
NOT_TENANT_OWNED = {"tortoise_migrations": "migration history (no tenant data; the service role has no access)"}
# unique constraints allowed without tenant_id, and why
GLOBAL_UNIQUES = {("brand", "brand_slug_key"): "a brand's slug is its global address", ("brand", "brand_pkey"): "id is the tenant id"}


# policies beyond the tenant policy, and why (each must be SELECT-only and not granted to the service)
ALLOWED_POLICIES = {("brand", "operator_lookup"): "the migrating role looks brands up by slug (CLI)"}


async def test_every_tenant_table_has_forced_rls_policy_and_tenant_keys(admin_conn, orm):
    service_role = orm.user
    tables = [r["relname"] for r in await admin_conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1")]
    assert {"brand", "dealer", "app_user", "membership", "customer"} <= set(tables)
    problems = []
    for t in tables:
        if t in NOT_TENANT_OWNED or t.startswith("tortoise"):
            continue
        key = "id" if t == "brand" else "tenant_id"
        cols = {r["attname"] for r in await admin_conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped", t)}
        if key not in cols:
            problems.append(f"{t}: no {key} column")
            continue
        rls = await admin_conn.fetchrow("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass", t)
        if not (rls["relrowsecurity"] and rls["relforcerowsecurity"]):
            problems.append(f"{t}: row-level security not enabled and forced")
        policies = await admin_conn.fetch(
            "SELECT polname, polcmd, pg_get_expr(polqual, polrelid) AS q, pg_get_expr(polwithcheck, polrelid) AS c, "
            "ARRAY(SELECT rolname FROM pg_roles WHERE oid = ANY(polroles)) AS roles FROM pg_policy WHERE polrelid = $1::regclass", t)
        expected = f"({key} = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)"
        if not any(p["q"] == expected and p["c"] == expected for p in policies):
            problems.append(f"{t}: no policy USING and WITH CHECK {expected}")
        for p in policies:  # every other policy is a known, role-bound exception
            if (p["q"], p["c"]) != (expected, expected) and (t, p["polname"]) not in ALLOWED_POLICIES:
                problems.append(f"{t}: unexpected policy {p['polname']}: {p['q']}")
            if (t, p["polname"]) in ALLOWED_POLICIES:
                assert p["polcmd"] in ("r", b"r") and service_role not in p["roles"] and "public" not in p["roles"], p
        for c in await admin_conn.fetch(
            "SELECT conname, contype, ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = conrelid AND attnum = ANY(conkey)) AS cols "
            "FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'f')", t):
            if (t, c["conname"]) in GLOBAL_UNIQUES:
                continue
            if key not in c["cols"]:
                problems.append(f"{t}: constraint {c['conname']} ({c['contype']}) lacks {key}: {c['cols']}")
        for idx in await admin_conn.fetch(
            "SELECT i.relname, ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = x.indrelid AND attnum = ANY(x.indkey)) AS cols "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::regclass AND x.indisunique", t):
            if (t, idx["relname"]) in GLOBAL_UNIQUES:
                continue
            if key not in idx["cols"]:
                problems.append(f"{t}: unique index {idx['relname']} lacks {key}: {idx['cols']}")
        if t == "brand":
            pk = await admin_conn.fetchval("SELECT conname FROM pg_constraint WHERE conrelid = 'brand'::regclass AND contype = 'p'")
            assert pk
    assert not problems, "\n".join(problems)


async def test_service_role_is_neither_superuser_nor_owner(orm, admin_conn):
    role = orm.user
    flags = await admin_conn.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role)
    assert flags is not None and not flags["rolsuper"] and not flags["rolbypassrls"]
    owned = await admin_conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1", role)
    assert owned == []
    privs = await admin_conn.fetchval(
        "SELECT has_table_privilege($1, 'tortoise_migrations', 'SELECT')", role) if await admin_conn.fetchval(
        "SELECT to_regclass('tortoise_migrations') IS NOT NULL") else False
    assert privs is False
