"""The job outbox: a job enqueued by a committed transaction survives a Redis outage between
COMMIT and the relay, and runs once Redis is back (issue 9, "No lost jobs")."""
import socket

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from app.core import db, jobs
from app.core.embedded import start_valkey
from app.customer.models import Customer
from app.tenant.models import Dealer
from app.tenant.service import RECOUNT_JOB

RECOUNT = "mutation($id: ID!) { dealerRecountCustomers(input: {id: $id}) { dealer { id } errors { code } } }"
QUEUE = "huifang:outbox-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _outbox(brand) -> list:
    async with db.tenant_transaction(brand.tenant_id):
        return await db.fetch("SELECT name, job_id, relays FROM job_outbox WHERE tenant_id = $1", [brand.tenant_id])


async def _count(brand, key) -> int:
    async with db.tenant_transaction(brand.tenant_id):
        return (await Dealer.get(tenant_id=brand.tenant_id, id=brand.dealers[key].id)).customer_count


async def test_a_redis_outage_after_commit_delays_the_job_and_loses_nothing(gql, brand_a, brand_b, monkeypatch, tmp_path):
    port = _free_port()
    server, url = start_valkey(tmp_path / "valkey", port=port)
    pool = await create_pool(RedisSettings.from_dsn(url), default_queue_name=QUEUE)
    monkeypatch.setattr(jobs, "_pool", pool)
    monkeypatch.setattr(jobs, "_queue_name", QUEUE)
    try:
        async with db.tenant_transaction(brand_a.tenant_id):
            await Customer.create(tenant_id=brand_a.tenant_id, dealer_id=brand_a.dealers["d1"].id, name="counted after the outage")
        server.stop()  # Redis dies: the mutation commits, its relay fails

        body = await gql(brand_a.token(), RECOUNT, {"id": brand_a.gid("Dealer", "d1")})
        assert body["data"]["dealerRecountCustomers"]["errors"] == []  # the caller's normal answer, no 500
        assert [r[0] for r in await _outbox(brand_a)] == [RECOUNT_JOB]
        assert await _outbox(brand_b) == []
        assert await _count(brand_a, "d1") == 0

        server, _ = start_valkey(tmp_path / "valkey-again", port=port)  # Redis is back, empty
        assert await pool.zcard(QUEUE) == 0
        # the sweep finds the brand through outbox_tenants() (other tests' brands may be there too)
        assert brand_a.tenant_id in {r[0] for r in await db.fetch("SELECT outbox_tenants(make_interval(secs => 0))", [])}
        assert await jobs.relay_outbox(overdue_seconds=60, tenants=[brand_a.tenant_id]) == 0  # not overdue yet
        assert await jobs.relay_outbox(overdue_seconds=0, tenants=[brand_a.tenant_id]) == 1
        w = Worker(functions=list(jobs.REGISTRY.values()), redis_pool=pool, queue_name=QUEUE,
                   burst=True, handle_signals=False, poll_delay=0.05)
        await w.main()
        assert w.jobs_complete == 1 and w.jobs_failed == 0
        assert await _count(brand_a, "d1") == 3
        assert await _outbox(brand_a) == []  # the job took its row with it
        assert await jobs.relay_outbox(overdue_seconds=0, tenants=[brand_a.tenant_id]) == 0  # nothing runs twice
    finally:
        await pool.aclose()
        server.stop()


async def test_a_relayed_job_removes_its_row_and_a_rolled_back_one_writes_none(gql, brand_a):
    body = await gql(brand_a.token(), RECOUNT, {"id": brand_a.gid("Dealer", "d2")})
    assert body["data"]["dealerRecountCustomers"]["errors"] == []
    rows = await _outbox(brand_a)
    assert len(rows) == 1 and rows[0][1] is not None  # relayed with the job's own id, not yet run
    try:
        async with db.tenant_transaction(brand_a.tenant_id):
            jobs.enqueue(RECOUNT_JOB, brand_a.tenant_id, brand_a.dealers["d1"].id)
            raise db.Rollback()
    except db.Rollback:
        pass
    assert len(await _outbox(brand_a)) == 1
    w = Worker(functions=list(jobs.REGISTRY.values()), redis_pool=jobs.pool(), queue_name=jobs._queue_name,
               burst=True, handle_signals=False, poll_delay=0.05)
    await w.main()
    assert await _outbox(brand_a) == []


def test_the_worker_sweeps_the_outbox_every_minute():
    import workers

    sweep = [c for c in workers.worker_settings().cron_jobs if c.name == "outbox:relay"]
    assert sweep and sweep[0].second == 30 and sweep[0].minute is None
