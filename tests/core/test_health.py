async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_checks_database_and_redis(client):
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_request_id_is_echoed_or_generated(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc12345-req"})
    assert r.headers["x-request-id"] == "abc12345-req"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces" and len(r.headers["x-request-id"]) == 32


async def test_access_log_carries_request_tenant_and_actor(client, brand_a, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="huifang.http")
    await client.post("/graphql", json={"query": "{ viewer { roles } }"},
                      headers={"Authorization": f"Bearer {brand_a.token()}", "X-Request-ID": "log-check-0001"})
    from app.core.logging import JsonFormatter

    line = next(r for r in caplog.records if r.name == "huifang.http" and r.getMessage() == "request")
    import json

    record = json.loads(JsonFormatter().format(line))
    assert record["request_id"] == "log-check-0001" and record["tenant_id"] == str(brand_a.tenant_id)
    assert record["actor"] == f"user:{brand_a.users['admin'].id}" and record["status"] == 200
    assert "Bearer" not in json.dumps(record)
