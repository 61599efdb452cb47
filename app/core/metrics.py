"""Prometheus metrics of the API, correct with several worker processes.

Every worker records into its own memory-mapped files under `PROMETHEUS_MULTIPROC_DIR`
(prometheus_client's multiprocess mode; `app.core.serve` sets the directory up before the first
worker starts), and the supervisor serves the sum over all workers on `METRICS_PORT`
(`app.core.serve`, which never imports this module: its own process records nothing): a scrape sees every worker, whichever one would have answered on the API port,
and counters keep the counts of workers that a reload replaced. Gauges per worker
(`multiprocess_mode="liveall"`) carry a `pid` label and vanish with their worker.

Labels stay bounded: the route is the matched route's path template (`/graphql`,
`/imports/{kind}`), or `unmatched`; never the raw path."""
from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

from app.core import clock

REQUESTS = Counter("huifang_http_requests", "HTTP requests answered", ["method", "route", "status"])
DURATION = Histogram("huifang_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
IN_FLIGHT = Gauge("huifang_http_requests_in_flight", "Requests being answered", multiprocess_mode="livesum")
WORKER_REQUESTS = Gauge("huifang_worker_requests", "Requests answered by each live worker process (starts at 0 "
                        "when a worker is replaced)", multiprocess_mode="liveall")
LOG_LINES_DROPPED = Counter("huifang_log_lines_dropped", "Log lines dropped because stdout was not read fast enough "
                            "(app.core.logging: the writer thread's queue was full)")
WORKER_READY = Gauge("huifang_worker_ready_time_seconds", "When each live worker process finished its startup "
                     "(Unix time)", multiprocess_mode="liveall")


def _route(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class MetricsMiddleware:
    """Counts and times every HTTP request; wraps the whole application."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, self._lifespan_send(send))
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            IN_FLIGHT.dec()
            route = _route(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            DURATION.labels(scope["method"], route).observe(time.perf_counter() - start)
            WORKER_REQUESTS.inc()

    @staticmethod
    def _lifespan_send(send):
        async def lifespan_send(message):
            if message["type"] == "lifespan.startup.complete":
                WORKER_READY.set(clock.timestamp())
            await send(message)

        return lifespan_send
