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


_STALLED_STDOUT = """
import json, logging, os, sys, time
sys.path.insert(0, os.getcwd())
from app.core import logging as hl
hl.configure_logging("INFO", True)
token = hl.request_id_var.set("rid-stalled-0001")
log = logging.getLogger("huifang.test")
started = time.perf_counter()
for i in range(30000):
    log.info("line %d %s", i, "x" * 150, extra={"n": i})
elapsed = time.perf_counter() - started
sys.stderr.write(json.dumps({"elapsed": elapsed, "dropped": hl._Handoff.dropped}) + "\\n")
sys.stderr.flush()
os._exit(0)
"""


def test_a_stalled_stdout_never_blocks_the_process_that_logs():
    """Log lines are made where they are logged and written to stdout by a thread of their own:
    with nobody reading stdout (a container's log pipe stalled), 30,000 lines (several MB, far
    past a pipe's buffer) are logged at once, the ones beyond the queue dropped and counted,
    instead of the event loop blocking on the first full write. The lines that go out are the
    JSON lines, with the request id of the moment they were logged."""
    import json
    import select
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", _STALLED_STDOUT], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([proc.stderr], [], [], 30)
        assert ready, "the process blocked logging to a stalled stdout"
        report = json.loads(proc.stderr.readline())
        assert report["elapsed"] < 10 and report["dropped"] > 0, report
        first = json.loads(proc.stdout.readline())
        assert first["request_id"] == "rid-stalled-0001" and first["msg"].startswith("line 0 ") and first["n"] == 0
    finally:
        proc.kill()
        proc.wait(10)
