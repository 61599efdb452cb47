"""Wall two, checked with raw SQL as the service role: fails closed without a tenant."""
import uuid

import asyncpg
import pytest

TENANT_TABLES = ["dealer", "app_user", "membership", "customer"]


@pytest.fixture
async def app_conn(orm):
    conn = await orm.connect()
    yield conn
    await conn.close()


async def test_no_tenant_set_reads_nothing(app_conn, brand_a, brand_b):
    for t in TENANT_TABLES + ["brand"]:
        assert await app_conn.fetchval(f'SELECT count(*) FROM "{t}"') == 0, t


async def test_tenant_a_sees_none_of_b(app_conn, brand_a, brand_b):
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


async def test_composite_foreign_key_blocks_cross_tenant_reference(app_conn, brand_a, brand_b):
    """Even a bug that names another tenant's dealer cannot link rows across tenants."""
    with pytest.raises((asyncpg.ForeignKeyViolationError, asyncpg.InsufficientPrivilegeError)):
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(brand_a.tenant_id))
            await app_conn.execute(
                "INSERT INTO customer (id, tenant_id, dealer_id, name, created_at, updated_at) VALUES ($1, $2, $3, 'x', now(), now())",
                uuid.uuid4(), brand_a.tenant_id, brand_b.dealers["d1"].id)
