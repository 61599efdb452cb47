"""Structured logs: one JSON object per line, carrying request id, tenant and actor."""
from __future__ import annotations

import atexit
import contextvars
import logging
import logging.handlers
import queue
import sys
import time

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
tenant_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant_id", default=None)
actor_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("actor", default=None)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "color_message", "request_id", "tenant_id", "actor"}
_base_factory = logging.getLogRecordFactory()


def _record_factory(*args, **kwargs) -> logging.LogRecord:
    """Capture request id, tenant and actor when the record is made, not when it is formatted
    (a queue handler or a test may format it later, outside the request's context)."""
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    record.tenant_id = tenant_var.get()
    record.actor = actor_var.get()
    return record


logging.setLogRecordFactory(_record_factory)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "tenant_id": getattr(record, "tenant_id", None),
            "actor": getattr(record, "actor", None),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{base} [rid={rid} tenant={getattr(record, 'tenant_id', None)} actor={getattr(record, 'actor', None)}]" if rid else base


QUEUE_MAX = 10_000  # log lines waiting for the writer thread; past it lines are dropped (and counted)


class _Handoff(logging.handlers.QueueHandler):
    """The line is made where it is logged (request id, tenant and actor are that moment's), then
    written to stdout by a thread of its own: a slow or stalled reader of stdout (a container's
    log pipe) can never block the event loop. A full queue drops the line rather than wait."""

    dropped = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            _Handoff.dropped += 1
            from app.core.metrics import LOG_LINES_DROPPED  # metrics import nothing of this module

            LOG_LINES_DROPPED.inc()


_listener: logging.handlers.QueueListener | None = None


def _stop_writer() -> None:
    """Write out what is queued and stop the writer thread (at exit; a new configuration)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    global _listener
    _stop_writer()
    out = logging.StreamHandler(sys.stdout)
    out.setFormatter(logging.Formatter("%(message)s"))  # the line as _Handoff made it
    lines: queue.Queue = queue.Queue(QUEUE_MAX)
    handler = _Handoff(lines)
    handler.setFormatter(JsonFormatter() if json_logs else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _listener = logging.handlers.QueueListener(lines, out)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log duplicates ours (which carries request and tenant ids)
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("tortoise", "asyncpg", "arq.jobs"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


atexit.register(_stop_writer)
