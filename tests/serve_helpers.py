"""`python -m app serve` in its own process group, for the tests of serving (workers, reloads,
PgBouncer). Shared by tests/core/test_serve.py and tests/core/test_pgbouncer.py."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    proc: subprocess.Popen
    base: str
    metrics: str | None
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_gauge(self, name: str = "huifang_worker_ready_time_seconds") -> dict[int, float]:
        """{pid: value} of a per-worker gauge, from the supervisor's metrics port."""
        text = httpx.get(f"{self.metrics}/metrics", timeout=5).text
        return {int(pid): float(v) for pid, v in re.findall(rf'^{name}{{pid="(\d+)"}} (\S+)$', text, re.M)}

    def ready_workers(self) -> set[int]:
        """The workers that have finished their startup (the gauge is 0 before that)."""
        return {pid for pid, t in self.worker_gauge().items() if t > 0}

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: the supervisor and its workers
            self.proc.wait(10)
            raise


def _stop_with_the_test_session() -> None:
    """In the child before exec: SIGTERM when the test process dies (a killed pytest runs no
    fixture teardown; the supervisor would serve on, orphaned, holding database connections)."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_serve(tmp_path: Path, *, workers: int, env: dict | None = None, metrics: bool = True,
                ready_timeout: float = 60) -> Served:
    """Starts the supervisor with `workers` workers on a free port and waits until every worker
    has finished its startup (with metrics) or /readyz answers 200 (without)."""
    port = free_port()
    full_env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", PUBLIC_URL=f"http://127.0.0.1:{port}",
                    LOG_LEVEL="INFO", LOG_JSON="false", **(env or {}))
    full_env.pop("WEB_CONCURRENCY", None)
    metrics_url = None
    if metrics:
        mport = free_port()
        full_env["METRICS_PORT"] = str(mport)
        metrics_url = f"http://127.0.0.1:{mport}"
    log = tmp_path / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--workers", str(workers)], env=full_env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_stop_with_the_test_session)
    served = Served(proc, f"http://127.0.0.1:{port}", metrics_url, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with {proc.returncode}:\n{served.log_text()}")
        try:
            if metrics:
                if len(served.ready_workers()) >= workers:
                    return served
            elif httpx.get(f"{served.base}/readyz", timeout=1).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"serve did not become ready:\n{served.log_text()}")
