"""`python -m app serve`: the API's worker processes under one supervisor.

The supervisor (uvicorn's `Multiprocess`, this process) binds the listening socket once and runs
N workers on it (`--workers`, else WEB_CONCURRENCY, else the cores this process may use in
production and one elsewhere); each worker is a fresh interpreter with its own DB pool
(DB_POOL_MAX per worker) and Redis pools. It never imports the application itself.

- SIGHUP: graceful reload. Workers are replaced one at a time: a new worker starts (fresh code,
  `.env` read again) and only once it has finished its startup (pools open, keys loaded) is the
  old one sent SIGTERM; the old one stops accepting, finishes its in-flight requests (up to
  GRACEFUL_SHUTDOWN_SECONDS) and closes its pools. The socket stays open throughout, so no
  connection is refused. A new worker that is not ready within WORKER_STARTUP_SECONDS is killed
  and the reload stops there, the old workers serving on.
- SIGTERM / SIGINT: every worker drains the same way, then the supervisor exits 0. It exits 3
  when a worker fails its startup (bad settings, database unreachable).
- SIGTTIN / SIGTTOU: one worker more / fewer. A worker that dies is replaced.
- Metrics: with METRICS_PORT (or PROMETHEUS_MULTIPROC_DIR) set, workers record in
  prometheus_client's multiprocess mode and the supervisor serves the sum over all of them
  (app/core/metrics.py); the directory is emptied at every start, and a replaced worker's
  per-worker gauges are removed as soon as it has exited."""
from __future__ import annotations

import glob
import logging
import math
import os
import shutil
import tempfile

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess

from app.settings import Settings, get_settings

log = logging.getLogger("huifang.serve")

WORKER_STARTUP_SECONDS = 30  # a replacement worker must be ready within this, or the reload stops
PING_SECONDS = 5  # a worker whose supervision thread does not answer within this is replaced
GRACEFUL_SHUTDOWN_SECONDS = 20  # in-flight requests of a stopping worker get this long
FIRST_REQUEST_GRACE_SECONDS = 2  # a connection accepted just before a stop may still send its request


def create_app():
    """What each worker serves: the application of app.main, counted and timed."""
    from app.core.metrics import MetricsMiddleware
    from app.main import create_app as build

    _stop_with_the_supervisor()
    return MetricsMiddleware(build())


def _stop_with_the_supervisor() -> None:
    """A worker whose supervisor dies (SIGKILL, OOM) gets SIGTERM and drains, instead of
    serving on, orphaned, on the inherited socket (Linux: PR_SET_PDEATHSIG)."""
    import ctypes
    import multiprocessing
    import signal

    supervisor = multiprocessing.parent_process()
    if supervisor is None:  # not started by the supervisor
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != supervisor.pid:  # it died before the call
        os.kill(os.getpid(), signal.SIGTERM)


class DrainingHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools), with one change to its graceful stop.

    uvicorn closes every connection that has no request under way at once. For a keep-alive
    connection between requests that is the usual HTTP race (a client may retry on a reused
    connection). For a connection accepted just before the stop, whose first request is still
    in the socket buffer, it is a request that fails for no reason: under load, a few per reload.
    Such a connection gets FIRST_REQUEST_GRACE_SECONDS to send its request, which is answered
    with `Connection: close` (Go's http.Server.Shutdown does the same for new connections)."""

    _answered = False  # a request has begun on this connection
    _stopping = False

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._answered = True
        if self._stopping and self.cycle is not None:
            self.cycle.keep_alive = False

    def shutdown(self) -> None:
        if self.cycle is None and not self._answered:
            self._stopping = True
            self.loop.call_later(FIRST_REQUEST_GRACE_SECONDS, self._close_if_idle)
            return
        super().shutdown()

    def _close_if_idle(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


def available_cores() -> int:
    """The cores this process may use: its CPU affinity (`taskset`, cpusets), capped by a
    cgroup CPU quota (a container's CPU limit, e.g. Kubernetes `resources.limits.cpu`: 2.5
    CPUs make 3 workers)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def _cgroup_cpu_quota(root: str = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the cgroup (v2 `cpu.max`, v1 `cpu.cfs_quota_us`), None when unlimited."""
    try:
        with open(os.path.join(root, "cpu.max")) as f:  # v2: "<quota> <period>" or "max <period>"
            quota, period = f.read().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(root, "cpu", "cpu.cfs_quota_us")) as q, open(os.path.join(root, "cpu", "cpu.cfs_period_us")) as p:
            quota, period = int(q.read()), int(p.read())
            return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def worker_count(settings: Settings, flag: int | None = None) -> int:
    n = flag or settings.web_concurrency
    if n is None:
        n = available_cores() if settings.env == "production" else 1
    if n < 1:
        raise SystemExit(f"the number of workers must be at least 1, not {n}")
    return n


class Supervisor(Multiprocess):
    """uvicorn's supervisor, plus: the exit status says why it stopped, and the per-worker
    gauges of a worker that exited leave the metrics."""

    def __init__(self, config: Config, sockets: list, metrics_dir: str | None) -> None:
        super().__init__(config, sockets)
        self.metrics_dir = metrics_dir
        self.stopped_by_signal = False
        self._seen: set[int] = set()

    def handle_int(self) -> None:
        self.stopped_by_signal = True
        super().handle_int()

    def handle_term(self) -> None:
        self.stopped_by_signal = True
        super().handle_term()

    def restart_all(self) -> None:
        # uvicorn uses one timeout for both the liveness ping and a replacement's startup: a
        # short ping (a worker dying mid-ping is noticed soon), a long startup (a loaded machine)
        self.config.timeout_worker_healthcheck = WORKER_STARTUP_SECONDS
        try:
            super().restart_all()
        finally:
            self.config.timeout_worker_healthcheck = PING_SECONDS

    def handle_signals(self) -> None:
        super().handle_signals()
        self._forget_exited()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self._forget_exited()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._forget_exited()

    def _forget_exited(self) -> None:
        if not self.metrics_dir:
            return
        from prometheus_client import multiprocess

        live = {p.pid for p in self.processes if p.pid is not None and p.exitcode is None}
        self._seen |= live
        for pid in self._seen - live:
            multiprocess.mark_process_dead(pid, self.metrics_dir)
        self._seen &= live


def _prepare_metrics_dir(settings: Settings) -> tuple[str | None, bool]:
    """(directory, whether it is ours to delete). Set in the environment before any worker
    starts: prometheus_client picks its multiprocess mode when a worker imports it."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path and settings.metrics_port is None:
        return None, False
    created = not path
    if created:
        path = tempfile.mkdtemp(prefix="huifang-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):  # an earlier run's workers, or reused pids
        os.remove(stale)
    return path, created


def _serve_metrics(settings: Settings, path: str):
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    host = settings.metrics_host or settings.host
    server, _ = start_http_server(settings.metrics_port, addr=host, registry=registry)
    log.info("metrics served", extra={"metrics_url": f"http://{host}:{settings.metrics_port}/metrics"})
    return server


def run(*, host: str, port: int, workers: int | None = None) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit status."""
    from app.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    n = worker_count(settings, workers)
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from 127.0.0.1 as the
    # client address; app/core/netaddr.client_ip believes it only from TRUSTED_PROXIES
    config = Config("app.core.serve:create_app", factory=True, host=host, port=port, workers=n,
                    http="app.core.serve:DrainingHttpProtocol",
                    log_config=None, access_log=False, proxy_headers=False, server_header=False,
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS, timeout_worker_healthcheck=PING_SECONDS)
    metrics_dir, own_dir = _prepare_metrics_dir(settings)
    sock = config.bind_socket()
    metrics_server = None
    try:
        if metrics_dir and settings.metrics_port is not None:
            metrics_server = _serve_metrics(settings, metrics_dir)
        supervisor = Supervisor(config, [sock], metrics_dir)
        log.info("api supervisor started", extra={"workers": n, "pid": os.getpid(), "db_pool_max_per_worker": settings.db_pool_max})
        supervisor.run()
    finally:
        sock.close()
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        if own_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    if not supervisor.stopped_by_signal:
        log.error("a worker failed its startup; stopped")
        return STARTUP_FAILURE
    return 0
