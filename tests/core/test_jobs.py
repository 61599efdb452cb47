"""Jobs: enqueued only after commit, run in the enqueuing tenant's transaction, idempotent."""

from arq.worker import Worker

from app.core import db, jobs
from app.customer.models import Customer
from app.settings import get_settings
from app.tenant.models import Dealer
from app.tenant.service import RECOUNT_JOB

RECOUNT = "mutation($id: ID!) { dealerRecountCustomers(input: {id: $id}) { dealer { id } errors { code } } }"
BAD_CREATE = 'mutation { dealerCreate(input: {code: "!!", name: "", region: ""}) { errors { code } } }'


async def queued() -> int:
    return await jobs.pool().zcard(get_settings().queue_name)


async def drain():
    await jobs.pool().delete(get_settings().queue_name)


async def run_worker():
    w = Worker(functions=list(jobs.REGISTRY.values()), redis_pool=jobs.pool(), queue_name=get_settings().queue_name,
               burst=True, handle_signals=False, poll_delay=0.05)  # production keep_result default (3600 s)
    await w.main()
    return w


async def customer_count(brand, key):
    async with db.tenant_transaction(brand.tenant_id):
        return (await Dealer.get(tenant_id=brand.tenant_id, id=brand.dealers[key].id)).customer_count


async def test_rolled_back_work_enqueues_nothing(gql, brand_a):
    """A failing root mutation drops the jobs it enqueued (its savepoint rolls back); a
    succeeding sibling keeps its own; a transaction that raises sends nothing at all."""
    await drain()
    doc = "mutation($id: ID!) { a: dealerRecountCustomers(input: {id: $id}) { errors { code } } b: dealerCreate(input: {code: \"!!\", name: \"\", region: \"\"}) { errors { code } } }"
    body = await gql(brand_a.token(), doc, {"id": brand_a.gid("Dealer", "d1")})
    assert body["data"]["a"]["errors"] == [] and body["data"]["b"]["errors"]
    assert await queued() == 1  # a's recount was kept: it succeeded in its own savepoint
    await drain()
    kept, dropped = f"sp-kept-{brand_a.slug}", f"sp-dropped-{brand_a.slug}"  # arq remembers job ids across runs
    async with db.tenant_transaction(brand_a.tenant_id):
        try:
            async with db.savepoint():
                jobs.enqueue(RECOUNT_JOB, brand_a.tenant_id, brand_a.dealers["d1"].id, job_id=dropped)
                raise RuntimeError("this unit of work fails")
        except RuntimeError:
            pass
        jobs.enqueue(RECOUNT_JOB, brand_a.tenant_id, brand_a.dealers["d2"].id, job_id=kept)
    assert await queued() == 1
    assert await jobs.pool().zscore(get_settings().queue_name, kept) is not None
    await drain()
    try:
        async with db.tenant_transaction(brand_a.tenant_id):
            jobs.enqueue(RECOUNT_JOB, brand_a.tenant_id, brand_a.dealers["d1"].id)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert await queued() == 0


async def test_committed_mutation_enqueues_once_and_job_runs_in_tenant(gql, brand_a, brand_b):
    await drain()
    async with db.tenant_transaction(brand_a.tenant_id):
        await Customer.create(tenant_id=brand_a.tenant_id, dealer_id=brand_a.dealers["d1"].id, name="late arrival")
    assert await customer_count(brand_a, "d1") == 0  # factories do not count
    for _ in range(3):  # duplicate requests collapse into one queued job
        body = await gql(brand_a.token(), RECOUNT, {"id": brand_a.gid("Dealer", "d1")})
        assert body["data"]["dealerRecountCustomers"]["errors"] == []
    assert await queued() == 1
    w = await run_worker()
    assert w.jobs_complete == 1 and w.jobs_failed == 0
    assert await customer_count(brand_a, "d1") == 3
    assert await customer_count(brand_b, "d1") == 0  # the other tenant is untouched


async def test_job_run_twice_has_the_effect_of_once(brand_a):
    fn = jobs.REGISTRY[RECOUNT_JOB].coroutine
    ctx = {"job_id": "t"}
    first = await fn(ctx, str(brand_a.tenant_id), str(brand_a.dealers["d2"].id))
    second = await fn(ctx, str(brand_a.tenant_id), str(brand_a.dealers["d2"].id))
    assert first == second == 2 == await customer_count(brand_a, "d2")


async def test_job_for_another_tenants_dealer_changes_nothing(brand_a, brand_b):
    """A job carrying tenant A with B's dealer id runs under A's RLS and finds nothing."""
    fn = jobs.REGISTRY[RECOUNT_JOB].coroutine
    assert await fn({}, str(brand_a.tenant_id), str(brand_b.dealers["d1"].id)) is None
    assert await customer_count(brand_b, "d1") == 0


def test_enqueue_outside_a_transaction_is_refused(brand_a):
    import pytest

    with pytest.raises(RuntimeError):
        jobs.enqueue(RECOUNT_JOB, brand_a.tenant_id, brand_a.dealers["d1"].id)


async def test_worker_settings_collect_task_modules():
    import workers

    ws = workers.worker_settings()
    assert RECOUNT_JOB in {f.name for f in ws.functions}
    assert ws.queue_name == get_settings().queue_name


async def test_the_same_job_can_run_again_after_it_finished(gql, brand_a):
    """Job ids deduplicate while queued only: the next recount after a finished one is queued."""
    await drain()
    q = RECOUNT
    await gql(brand_a.token(), q, {"id": brand_a.gid("Dealer", "d3")})
    await run_worker()
    assert await queued() == 0
    await gql(brand_a.token(), q, {"id": brand_a.gid("Dealer", "d3")})
    assert await queued() == 1
    await run_worker()


async def test_periodic_jobs_fan_out_per_tenant_and_purge(brand_a, brand_b):
    """The fan-out lists every tenant through tenant_ids() and enqueues one job each; the
    purge deletes only what expired, in its own tenant."""
    import uuid as _uuid
    from datetime import timedelta

    from app.core import clock
    from app.core.tenancy import Actor, scope_for
    from app.oauth import repository as oauth_repo
    from app.oauth.models import TokenRevocation

    await drain()
    for brand in (brand_a, brand_b):
        async with db.tenant_transaction(brand.tenant_id):
            scope = scope_for(Actor.system(brand.tenant_id))
            await oauth_repo.revoke_jti(scope, _uuid.uuid4().hex, clock.now() - timedelta(minutes=1))  # expired
            await oauth_repo.revoke_jti(scope, _uuid.uuid4().hex, clock.now() + timedelta(hours=1))    # still needed
    n = await jobs.fan_out("oauth.purge_expired", "test-run")
    assert n >= 2
    assert await jobs.fan_out("oauth.purge_expired", "test-run") == n and await queued() == n  # same run: nothing twice
    w = await run_worker()
    assert w.jobs_failed == 0
    for brand in (brand_a, brand_b):
        async with db.tenant_transaction(brand.tenant_id):
            left = await TokenRevocation.filter(tenant_id=brand.tenant_id).all()
        assert len(left) == 1 and left[0].expires_at > clock.now()
    # a second run (a duplicated delivery) deletes nothing more
    purge = jobs.REGISTRY["oauth.purge_expired"].coroutine
    assert await purge({}, str(brand_a.tenant_id)) == {"revocations": 0, "codes": 0, "refresh_tokens": 0}
    import workers

    assert {c.name for c in workers.worker_settings().cron_jobs} >= {"fanout:oauth.purge_expired"}


async def test_tenant_ids_lists_brands_and_nothing_else(orm, brand_a):
    conn = await orm.connect()
    try:
        ids = {r[0] for r in await conn.fetch("SELECT tenant_ids()")}
        assert brand_a.tenant_id in ids
        assert await conn.fetchval("SELECT count(*) FROM brand") == 0  # the table itself stays closed
    finally:
        await conn.close()
