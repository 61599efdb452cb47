"""`python -m app serve` in production shape: several workers on one socket, a graceful reload on
SIGHUP (workers replaced one by one, an in-flight request finishes, no request fails), a
graceful stop on SIGTERM, and metrics summed over the workers by the supervisor."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import psutil

from app.core import serve
from app.settings import Settings
from tests.serve_helpers import ROOT, free_port, start_serve

VIEWER = b'{"query": "{ viewer { brand { name } } }"}'


def test_worker_count_defaults_to_the_cores_in_production_only():
    cores = serve.available_cores()
    assert serve.worker_count(Settings(env="production")) == cores
    assert serve.worker_count(Settings(env="development")) == 1
    assert serve.worker_count(Settings(env="test")) == 1
    assert serve.worker_count(Settings(env="production", web_concurrency=3)) == 3
    assert serve.worker_count(Settings(env="production", web_concurrency=3), flag=2) == 2
    try:
        serve.worker_count(Settings(web_concurrency=0))
    except SystemExit as e:
        assert "at least 1" in str(e)
    else:
        raise AssertionError("0 workers accepted")


def test_the_cores_follow_a_cgroup_cpu_limit(tmp_path):
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("250000 100000\n")
    assert serve._cgroup_cpu_quota(str(v2)) == 2.5
    (v2 / "cpu.max").write_text("max 100000\n")
    assert serve._cgroup_cpu_quota(str(v2)) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("150000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert serve._cgroup_cpu_quota(str(v1)) == 1.5
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert serve._cgroup_cpu_quota(str(v1)) is None
    assert serve._cgroup_cpu_quota(str(tmp_path / "none")) is None


async def _hammer(base: str, stop: threading.Event, results: list, clients: int = 4) -> None:
    """/healthz from `clients` clients, on a fresh connection each time, until told to stop."""
    limits = httpx.Limits(max_keepalive_connections=0)

    async def one(c):
        while not stop.is_set():
            try:
                results.append((await c.get("/healthz")).status_code)
            except httpx.HTTPError as e:
                results.append(repr(e))
            await asyncio.sleep(0.005)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as c:
        await asyncio.gather(*(one(c) for _ in range(clients)))


def _gone(pid: int) -> bool:
    """Exited (a zombie counts: an orphan's reaper may be slow, or absent in a container)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _holder(pids, local_port: int) -> int | None:
    """Which worker holds the connection from our `local_port`."""
    for pid in pids:
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == local_port:
                return pid
    return None


def _wait(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_two_workers_reload_on_sighup_and_stop_on_sigterm(tmp_path, brand_a):
    metrics_dir = tmp_path / "metrics"
    served = start_serve(tmp_path, workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    try:
        first = served.ready_workers()
        assert len(first) == 2 and set(first) <= {c.pid for c in psutil.Process(served.proc.pid).children()}

        # both workers answer on the one socket (fresh connections until each has served some)
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=served.base, limits=limits, timeout=10) as c:
            for _ in range(40):
                codes = await asyncio.gather(*(c.get("/healthz") for _ in range(10)))
                assert {r.status_code for r in codes} == {200}
                per_worker = served.worker_gauge("huifang_worker_requests")
                if all(per_worker.get(pid, 0) > 0 for pid in first):
                    break
            else:
                raise AssertionError(f"not every worker answered: {per_worker}")

        # a request in flight: headers and half its body sent, held by one of the old workers
        token = brand_a.token()
        slow = socket.create_connection(("127.0.0.1", int(served.base.rsplit(":", 1)[1])))
        slow.sendall(f"POST /graphql HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(VIEWER)}\r\n\r\n".encode() + VIEWER[:10])
        holder = _wait(lambda: _holder(first, slow.getsockname()[1]), 10, "a worker to accept the slow request")

        stop = threading.Event()
        results: list = []
        hammer = threading.Thread(target=lambda: asyncio.run(_hammer(served.base, stop, results)))
        hammer.start()
        try:
            served.proc.send_signal(signal.SIGHUP)
            # the supervisor tells the holder to stop only once its replacement is ready; the
            # holder then drains: our request still gets its answer, with `Connection: close`
            _wait(lambda: f"Terminated child process [{holder}]" in served.log_text(), 60, "the holder to be stopped")
            time.sleep(0.5)
            assert not _gone(holder)  # still draining: our request holds it
            slow.sendall(VIEWER[10:])
            slow.settimeout(10)
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = slow.recv(65536)
                if not chunk:
                    break
                answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), answer
            assert b"connection: close" in head.lower(), head
            assert f"Brand {brand_a.slug}".encode() in body, body

            # every worker replaced (new pids only), the old ones' per-worker gauges gone
            def replaced():
                now = served.worker_gauge()
                return set(now) if len(now) == 2 and not set(now) & first and served.ready_workers() == set(now) else None

            second = _wait(replaced, 60, "two new workers")
            assert all(_gone(p) for p in first)
            time.sleep(0.3)
        finally:
            stop.set()
            hammer.join(30)
            slow.close()
        assert len(results) > 20 and set(results) == {200}, [r for r in results if r != 200][:5]
        # the counters kept the old workers' requests; the new workers answer
        async with httpx.AsyncClient(base_url=served.base, timeout=10) as c:
            assert (await c.get("/readyz")).status_code == 200
        text = httpx.get(f"{served.metrics}/metrics", timeout=5).text
        healthz = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                      if line.startswith('huifang_http_requests_total{method="GET",route="/healthz",status="200"}'))
        assert healthz >= len(results)
        assert set(served.worker_gauge()) == second
    finally:
        started = time.monotonic()
        code = served.stop(timeout=40)
    assert code == 0, served.log_text()[-3000:]
    assert time.monotonic() - started < 30
    assert not list(metrics_dir.glob("gauge_live*.db"))  # no worker left behind in the metrics
    assert all(_gone(p) for p in (*first, *second))


def test_a_worker_that_cannot_start_stops_the_supervisor_with_status_3():
    closed = free_port()  # nothing listens there
    env = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}
    env.update(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed}/nothing", PORT=str(free_port()), LOG_LEVEL="WARNING")
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--workers", "2"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 3, r.stdout + r.stderr


def test_workers_stop_when_the_supervisor_is_killed(tmp_path):
    # its own metrics directory: a killed supervisor cannot remove the one it would make
    served = start_serve(tmp_path, workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")})
    workers = served.ready_workers()
    served.proc.kill()  # SIGKILL: no chance to stop its workers
    served.proc.wait(10)
    try:
        _wait(lambda: all(_gone(p) for p in workers), 30, "the orphaned workers to exit")
    finally:
        for pid in workers:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_startup_takes_what_it_built_out_of_the_garbage_collector():
    """GC_FREEZE (default on): a full collection no longer walks the schema and modules built at
    startup (it paused a worker for up to 100 ms every few seconds under load)."""
    code = ("import asyncio, gc\nfrom app.main import create_app\n"
            "async def main():\n    app = create_app()\n    async with app.router.lifespan_context(app):\n"
            "        print(gc.get_freeze_count())\nasyncio.run(main())\n")
    frozen = {}
    for flag in ("true", "false"):
        r = subprocess.run([sys.executable, "-c", code], env={**os.environ, "GC_FREEZE": flag, "LOG_LEVEL": "WARNING"},
                           cwd=ROOT, capture_output=True, text=True, timeout=90)
        assert r.returncode == 0, r.stdout + r.stderr
        frozen[flag] = int(r.stdout.split()[-1])
    assert frozen["false"] == 0
    assert frozen["true"] > 10_000, frozen  # the schema alone is tens of thousands of objects


def test_the_young_generations_threshold_is_a_setting_and_restored_at_shutdown():
    code = ("import asyncio, gc\nfrom app.main import create_app\n"
            "async def main():\n    before = gc.get_threshold()\n    app = create_app()\n"
            "    async with app.router.lifespan_context(app):\n        during = gc.get_threshold()\n"
            "    print(before[0], during[0], gc.get_threshold() == before, during[1:] == before[1:])\nasyncio.run(main())\n")
    seen = {}
    for value in (None, "5000"):
        env = {k: v for k, v in os.environ.items() if k != "GC_YOUNG_THRESHOLD"} | {"LOG_LEVEL": "WARNING"}
        if value:
            env["GC_YOUNG_THRESHOLD"] = value
        r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=90)
        assert r.returncode == 0, r.stdout + r.stderr
        seen[value] = r.stdout.split()[-4:]
    assert seen[None] == ["700", "20000", "True", "True"]  # Python's 700 before, the default while serving, restored
    assert seen["5000"] == ["700", "5000", "True", "True"]
