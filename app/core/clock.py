"""The one clock. Tests move time with `clock.freeze(...)`; code calls `clock.now()`."""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import date, datetime, timezone, tzinfo

_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("frozen_now", default=None)


def now() -> datetime:
    frozen = _frozen.get()
    return frozen if frozen is not None else datetime.now(timezone.utc)


def timestamp() -> int:
    """Seconds since the epoch, for JWT claims and caches."""
    return int(now().timestamp())


def today(tz: tzinfo | None = None) -> date:
    """Today's date, in `tz` (UTC by default)."""
    return now().astimezone(tz or timezone.utc).date()


@contextmanager
def freeze(at: datetime):
    token = _frozen.set(at)
    try:
        yield
    finally:
        _frozen.reset(token)
